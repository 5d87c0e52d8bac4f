// Problems are shown where they are: a removed wire or a cleared required field is listed in the
// diagnostics, naming the task and the input; a bad uploaded file is refused clearly and the
// pipeline being edited is kept.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  clickWire,
  diagnosticsText,
  download,
  errorCount,
  e2e,
  expectNodeCount,
  expectWireCount,
  nodeIds,
  openApp,
  openExample,
  selectNode,
  setProp,
  specText,
  status,
  nextStatus,
  until,
  uploadDocument,
  wireIds,
} from './harness.mjs';

const EXAMPLE = 'pytorch-text-classification';

/** Opens the seed example and returns its document (from the API) once it is drawn. */
async function openSeed(app) {
  const { page, server } = app;
  await openApp(app);
  const doc = (await server.api('GET', `/api/examples/${EXAMPLE}`)).json;
  await openExample(page, EXAMPLE);
  await expectNodeCount(page, doc.nodes.length);
  await expectWireCount(page, doc.wires.length);
  assert.equal(await page.locator('.node.has-error').count(), 0, 'the example starts without errors');
  assert.equal(await errorCount(page), 0, 'the example starts without error diagnostics');
  return doc;
}

/** Waits for the diagnostics list to mention every string in `needles`. */
async function expectDiagnostics(page, needles) {
  return until(
    async () => {
      const t = await diagnosticsText(page);
      return needles.every((n) => t.includes(n)) && t;
    },
    async () => `diagnostics should name ${JSON.stringify(needles)}; they read: ${await diagnosticsText(page)}`,
  );
}

test(
  'removing a required wire is reported on the task and input, and Undo puts it back',
  { timeout: 180_000 },
  e2e('errors-wire', async (app) => {
    const { page } = app;
    const doc = await openSeed(app);
    // The wire feeding the MAR file step its trained model (a required artifact input).
    const wire = doc.wires.find((w) => w.to.port === 'model' && w.from.port === 'model');
    const consumer = doc.nodes.find((n) => n.id === wire.to.node);
    assert.ok(wire && consumer);

    await clickWire(page, wire.id);
    await until(
      async () => /\bselected\b/.test((await page.locator(`[data-testid=wire-${wire.id}]`).getAttribute('class')) ?? ''),
      `wire ${wire.id} did not become selected`,
    );
    await page.keyboard.press('Delete');
    await expectWireCount(page, doc.wires.length - 1);
    assert.ok(!(await wireIds(page)).includes(wire.id));

    const diags = await expectDiagnostics(page, [consumer.name, 'model']);
    assert.match(diags, /required/i, `the problem is a missing required input: ${diags}`);
    await until(
      async () => /\bhas-error\b/.test((await page.locator(`[data-testid=node-${consumer.id}]`).getAttribute('class')) ?? ''),
      `node ${consumer.name} is not marked with an error`,
    );
    assert.equal(await page.locator('.node.has-error').count(), 1, 'only that task is marked');
    assert.equal(await errorCount(page), 1, `exactly one error: ${await diagnosticsText(page)}`);
    const spec = await specText(page);
    assert.ok(!spec.includes('schemaVersion'), 'no spec is offered while the pipeline has errors');
    // Exporting is refused with the reason, and no file is downloaded.
    const beforeExport = await status(page);
    let downloaded = false;
    const onDownload = () => {
      downloaded = true;
    };
    page.on('download', onDownload);
    await page.locator('[data-testid=btn-download-json]').click();
    const refusal = await nextStatus(page, beforeExport, 'a refusal to export a broken pipeline');
    assert.equal(refusal.kind, 'error');
    assert.match(refusal.text, /error/i, refusal.text);
    await page.waitForTimeout(500);
    page.off('download', onDownload);
    assert.equal(downloaded, false, 'no spec file is downloaded while the pipeline has errors');

    // Undo brings the wire back and the problem goes away.
    await page.locator('[data-testid=canvas]').click({ position: { x: 5, y: 5 } });
    await page.keyboard.press('Control+z');
    await expectWireCount(page, doc.wires.length);
    await until(async () => (await page.locator('.node.has-error').count()) === 0, 'Undo did not clear the error');
    assert.equal(await errorCount(page), 0, 'no error diagnostics after Undo');
    assert.ok((await specText(page)).includes('schemaVersion'), 'the spec is back after Undo');
    const json = await download(page, 'btn-download-json');
    assert.equal(JSON.parse(json.text).schemaVersion, '2.1.0');
  }),
);

test(
  'clearing a required field is reported on the task and input',
  { timeout: 180_000 },
  e2e('errors-field', async (app) => {
    const { page } = app;
    const doc = await openSeed(app);
    // The MAR file step: model_display_name is a required string set to a value, handler a
    // required string bound to a pipeline parameter.
    const node = doc.nodes.find((n) => n.component === 'create-mar-file');
    const typed = node.inputs.model_display_name;
    assert.ok(typed && 'value' in typed, 'the example sets model_display_name to a value');
    assert.ok(node.inputs.handler && 'parameter' in node.inputs.handler, 'the example binds handler');

    // Erase the typed value.
    await selectNode(page, node.id);
    await setProp(page, 'model_display_name', '');
    let diags = await expectDiagnostics(page, [node.name, 'model_display_name']);
    assert.match(diags, /required/i, diags);
    assert.equal(await errorCount(page), 1, `exactly one error: ${diags}`);
    await until(
      async () => /\bhas-error\b/.test((await page.locator(`[data-testid=node-${node.id}]`).getAttribute('class')) ?? ''),
      `node ${node.name} is not marked with an error`,
    );
    assert.match(
      (await page.locator('[data-testid=prop-model_display_name-diagnostic]').textContent()) ?? '',
      /required/i,
      'the field itself shows the problem',
    );

    // Typing a value again clears the problem and the spec uses it.
    await setProp(page, 'model_display_name', 'e2e-classifier');
    await until(async () => (await errorCount(page)) === 0, 'the error did not clear');
    assert.equal(await page.locator('.node.has-error').count(), 0);
    assert.ok((await specText(page)).includes('e2e-classifier'), 'the spec uses the new value');

    // Clear the parameter binding of another required input with its clear button.
    await selectNode(page, node.id);
    await page.locator('[data-testid=prop-handler-clear]').click();
    diags = await expectDiagnostics(page, [node.name, 'handler']);
    assert.match(diags, /required/i, diags);
    assert.equal(await errorCount(page), 1, `exactly one error: ${diags}`);
  }),
);

test(
  'a bad uploaded document is refused with a clear message and nothing is lost',
  { timeout: 180_000 },
  e2e('errors-upload', async (app) => {
    const { page } = app;
    const doc = await openSeed(app);
    const ids = (await nodeIds(page)).sort();
    const spec = await specText(page);

    const cases = [
      { name: 'broken.pipeline.json', text: '{"format": "pipeline-canvas/v1", "nodes": [', why: /json|pars|invalid|EOF|expected/i },
      { name: 'notes.pipeline.json', text: 'just some notes, not JSON', why: /json|pars|invalid|expected/i },
      {
        name: 'future.pipeline.json',
        text: JSON.stringify({ ...doc, format: 'pipeline-canvas/v99' }),
        why: /format|version|v99/i,
      },
      {
        name: 'wrong-shape.pipeline.json',
        text: JSON.stringify({ format: 'pipeline-canvas/v1', name: 'x', nodes: 'not a list' }),
        why: /nodes|invalid|expected/i,
      },
    ];
    for (const c of cases) {
      const before = await status(page);
      await uploadDocument(page, c);
      const shown = await nextStatus(page, before, `a message after uploading ${c.name}`);
      assert.equal(shown.kind, 'error', `uploading ${c.name} is reported as an error: ${shown.text}`);
      const msg = shown.text;
      assert.match(msg, c.why, `uploading ${c.name} explains what is wrong: ${msg}`);
      assert.ok(msg.includes(c.name), `the message names the file ${c.name}: ${msg}`);
      // Nothing lost: the same pipeline, the same spec.
      assert.deepEqual((await nodeIds(page)).sort(), ids, `the nodes are kept after ${c.name}`);
      await expectWireCount(page, doc.wires.length);
      assert.equal(await specText(page), spec, `the spec is unchanged after ${c.name}`);
    }

    // A good document uploads and replaces the canvas.
    const small = {
      ...doc,
      name: 'uploaded-pipeline',
      nodes: doc.nodes.filter((n) => ['n1', 'n2'].includes(n.id)),
      wires: [],
      groups: [],
    };
    await uploadDocument(page, { name: 'small.pipeline.json', text: JSON.stringify(small) });
    await expectNodeCount(page, 2);
    await expectWireCount(page, 0);
    assert.ok((await specText(page)).includes('uploaded-pipeline'));
  }),
);
