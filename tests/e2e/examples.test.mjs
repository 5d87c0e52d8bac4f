// The seed example opens fully wired, compiles without errors in the browser, and downloads as
// the same KFP v2 spec the server compiles. Also takes the README screenshot.

import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

import {
  ARTIFACTS,
  REPO,
  VIEWPORT,
  diagnosticsText,
  errorCount,
  download,
  e2e,
  expectNodeCount,
  expectWireCount,
  groupIds,
  openApp,
  openExample,
  showSpec,
  specText,
} from './harness.mjs';

const EXAMPLE = 'pytorch-text-classification';

test(
  'the seed example opens, compiles and downloads as JSON and YAML',
  { timeout: 180_000 },
  e2e('examples', async (app) => {
    const { page, server } = app;
    await openApp(app);

    const example = await server.api('GET', `/api/examples/${EXAMPLE}`);
    assert.equal(example.status, 200, 'the server has the seed example');
    const doc = example.json;

    await openExample(page, EXAMPLE);
    await expectNodeCount(page, 10);
    await expectWireCount(page, doc.wires.length);
    assert.deepEqual(await groupIds(page), doc.groups.map((g) => g.id), 'one condition frame');
    const group = page.locator(`[data-testid=group-${doc.groups[0].id}]`);
    assert.match((await group.textContent()) ?? '', /model-deploy-decision/);
    assert.match((await group.textContent()) ?? '', /eval_metric > eval_acc_threshold/);
    // No problems: no node is marked, no error in the diagnostics list, and a spec is shown.
    assert.equal(await page.locator('.node.has-error').count(), 0, 'no node is marked with an error');
    assert.equal(await errorCount(page), 0, `no error diagnostics: ${await diagnosticsText(page)}`);
    await showSpec(page);
    const spec = await specText(page);
    assert.ok(spec.includes('condition-1'), 'the spec has the condition-1 sub-DAG');
    assert.ok(spec.includes('model-deploy-decision'), 'the spec names the condition');

    // The same compiler runs in the browser and on the server: downloads match /api/compile.
    const json = await download(page, 'btn-download-json');
    assert.match(json.name, /\.json$/, `JSON download name: ${json.name}`);
    const parsed = JSON.parse(json.text);
    assert.equal(parsed.schemaVersion, '2.1.0');
    assert.equal(parsed.pipelineInfo.name, doc.name);
    assert.ok(parsed.root.dag.tasks['condition-1'], 'root DAG runs condition-1');
    assert.equal(
      parsed.root.dag.tasks['condition-1'].taskInfo.name,
      'model-deploy-decision',
      'condition-1 is the model-deploy-decision condition',
    );
    const serverJson = await server.api('POST', '/api/compile?format=json', example.text);
    assert.equal(serverJson.status, 200, serverJson.text);
    assert.equal(json.text.trimEnd(), serverJson.text.trimEnd(), 'browser and server compile the same spec');

    const yaml = await download(page, 'btn-download-yaml');
    assert.match(yaml.name, /\.ya?ml$/, `YAML download name: ${yaml.name}`);
    assert.match(yaml.text, /^schemaVersion: 2\.1\.0$/m);
    assert.ok(yaml.text.includes('condition-1'));
    const serverYaml = await server.api('POST', '/api/compile?format=yaml', example.text);
    assert.equal(serverYaml.status, 200, serverYaml.text);
    assert.equal(yaml.text.trimEnd(), serverYaml.text.trimEnd(), 'browser and server write the same YAML');

    // The README screenshot: the seed example open, its spec showing as YAML.
    await showSpec(page);
    await page.locator('[data-testid=spec-format-yaml]').click();
    assert.match((await specText(page)) ?? '', /^# PIPELINE DEFINITION/, 'the spec panel shows YAML');
    mkdirSync(path.join(REPO, 'docs'), { recursive: true });
    mkdirSync(ARTIFACTS, { recursive: true });
    assert.deepEqual(page.viewportSize(), VIEWPORT);
    // The theme follows the OS (Playwright's default is light); the README shows the dark one.
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.waitForTimeout(400);
    await page.screenshot({ path: path.join(ARTIFACTS, 'examples.png') });
    await page.screenshot({ path: path.join(REPO, 'docs', 'screenshot.png') });
    assert.deepEqual(app.errors, [], 'no errors in the browser console');
  }),
);

test(
  'the tasks of the seed example\'s condition are drawn inside its frame',
  { timeout: 120_000 },
  e2e('examples-frame', async (app) => {
    const { page, server } = app;
    await openApp(app);
    const doc = (await server.api('GET', `/api/examples/${EXAMPLE}`)).json;
    await openExample(page, EXAMPLE);
    await expectNodeCount(page, doc.nodes.length);
    const group = page.locator(`[data-testid=group-${doc.groups[0].id}]`);
    const frame = await group.boundingBox();
    const outside = [];
    for (const n of doc.nodes.filter((n) => n.group === doc.groups[0].id)) {
      const box = await page.locator(`[data-testid=node-${n.id}]`).boundingBox();
      const inside =
        box.x >= frame.x - 1 &&
        box.y >= frame.y - 1 &&
        box.x + box.width <= frame.x + frame.width + 1 &&
        box.y + box.height <= frame.y + frame.height + 1;
      if (!inside) {
        // Report in canvas pixels (the view is zoomed to fit).
        const zoom = frame.width / doc.groups[0].size.width;
        const px = (v) => Math.round(v / zoom);
        const sides = [
          ['left', px(frame.x - box.x)],
          ['top', px(frame.y - box.y)],
          ['right', px(box.x + box.width - frame.x - frame.width)],
          ['bottom', px(box.y + box.height - frame.y - frame.height)],
        ].filter(([, d]) => d > 0);
        outside.push(`${n.name}: ${sides.map(([side, d]) => `${d} px past the ${side}`).join(', ')}`);
      }
    }
    assert.deepEqual(outside, [], 'the tasks of the condition are drawn inside its frame');
  }),
);
