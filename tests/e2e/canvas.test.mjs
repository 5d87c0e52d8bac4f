// What a new user does: drag components onto the canvas, wire them, set parameters, watch the
// spec follow, save, and find the pipeline again after a reload and a server restart.

import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

import {
  ARTIFACTS,
  canFeed,
  centerOf,
  drag,
  e2e,
  expectNodeCount,
  expectWireCount,
  nodeIds,
  openApp,
  portsOf,
  selectNode,
  nextStatus,
  setProp,
  specText,
  status,
  until,
  wireIds,
} from './harness.mjs';

/** The palette entries of the seed workflow. */
const SEED_PALETTE = [
  'build-container-image',
  'custom-training-job',
  'create-mar-file',
  'model-deploy',
  'online-prediction',
  'condition',
];

/** Values a user would type for string inputs, by input name (others get a generic value). */
const VALUES = {
  project: 'e2e-project-4711',
  gs_train_src_path: 'gs://e2e-bucket/train-src',
  training_image_uri: 'europe-docker.pkg.dev/e2e/train:1',
};

/** Whether a port dot lies inside the canvas, where a pointer can reach it. */
async function reachable(page, canvasBox, testid) {
  const box = await page.locator(`[data-testid="${testid}"]`).boundingBox();
  if (!box) return false;
  const x = box.x + box.width / 2;
  const y = box.y + box.height / 2;
  return (
    x > canvasBox.x && x < canvasBox.x + canvasBox.width && y > canvasBox.y && y < canvasBox.y + canvasBox.height
  );
}

/** Drags palette entry `id` onto the canvas at client point `at`; returns the new node's id. */
async function dropFromPalette(page, id, at) {
  const before = new Set(await nodeIds(page));
  const from = await centerOf(page.locator(`[data-testid=palette-${id}]`));
  await drag(page, from, at, 15);
  await expectNodeCount(page, before.size + 1);
  const added = (await nodeIds(page)).filter((n) => !before.has(n));
  assert.equal(added.length, 1, `one node added by dropping ${id}`);
  const node = added[0];
  // It landed where it was dropped: the drop point lies on the new node.
  const box = await page.locator(`[data-testid=node-${node}]`).boundingBox();
  assert.ok(
    at.x >= box.x && at.x <= box.x + box.width && at.y >= box.y && at.y <= box.y + box.height,
    `node ${node} (${JSON.stringify(box)}) is where ${id} was dropped (${at.x}, ${at.y})`,
  );
  return node;
}

/** Checks the saved pipeline is shown: both nodes, the wire, and the value set. */
async function expectPipelineShown(page, { a, b, wire, input, value }) {
  await expectNodeCount(page, 2);
  await expectWireCount(page, 1);
  assert.deepEqual((await nodeIds(page)).sort(), [a, b].sort(), 'the same nodes');
  assert.deepEqual(await wireIds(page), [wire], 'the same wire');
  const spec = await specText(page);
  assert.ok(spec.includes(value), `spec shows ${input} = ${value}`);
}

test(
  'a new user builds, wires, edits, saves and reopens a pipeline',
  { timeout: 180_000 },
  e2e('canvas', async (app) => {
    const { page, server } = app;
    await openApp(app);

    // The palette offers the seed workflow's components.
    for (const id of SEED_PALETTE) {
      await page.locator(`[data-testid=palette-${id}]`).waitFor({ state: 'visible' });
    }
    assert.deepEqual(await nodeIds(page), [], 'a new pipeline starts empty');

    // Drag two components onto the canvas with real pointer moves.
    const canvas = page.locator('[data-testid=canvas]');
    const cbox = await canvas.boundingBox();
    assert.ok(cbox && cbox.width > 700 && cbox.height > 500, `canvas is large: ${JSON.stringify(cbox)}`);
    const a = await dropFromPalette(page, 'build-container-image', { x: cbox.x + 220, y: cbox.y + 90 });
    const b = await dropFromPalette(page, 'custom-training-job', { x: cbox.x + 680, y: cbox.y + 90 });
    assert.notEqual(a, b);

    // Read the ports from the DOM and pick a compatible and an incompatible pair.
    const outs = (await portsOf(page, a)).filter((p) => p.dir === 'out');
    const ins = (await portsOf(page, b)).filter((p) => p.dir === 'in');
    assert.ok(outs.length > 0, `${a} shows output ports`);
    assert.ok(ins.length > 0, `${b} shows input ports`);
    for (const p of [...outs, ...ins]) assert.ok(p.type, `port ${p.name} shows its type`);
    const pairs = [];
    for (const o of outs) {
      if (!(await reachable(page, cbox, `port-out-${a}-${o.name}`))) continue;
      for (const i of ins) {
        if (!(await reachable(page, cbox, `port-in-${b}-${i.name}`))) continue;
        pairs.push({ out: o, in: i, ok: canFeed(o.type, i.type) });
      }
    }
    // Prefer a required input for the good wire, so the wire matters to the spec.
    const good = pairs.filter((p) => p.ok).sort((x, y) => Number(y.in.required) - Number(x.in.required))[0];
    const bad = pairs.find((p) => !p.ok && p.in.name !== good?.in.name);
    assert.ok(good, `a type-compatible pair between ${a} and ${b}: ${JSON.stringify(pairs)}`);
    assert.ok(bad, `a type-incompatible pair between ${a} and ${b}: ${JSON.stringify(pairs)}`);

    // Wire the compatible pair.
    const beforeWire = await status(page);
    await drag(
      page,
      await centerOf(page.locator(`[data-testid=port-out-${a}-${good.out.name}]`)),
      await centerOf(page.locator(`[data-testid=port-in-${b}-${good.in.name}]`)),
      15,
    );
    await expectWireCount(page, 1);
    const [wire] = await wireIds(page);
    const connected = await nextStatus(page, beforeWire, 'a message about the new wire');
    assert.notEqual(connected.kind, 'error', `connecting is not an error: ${connected.text}`);
    assert.ok(
      connected.text.includes(good.out.name) && connected.text.includes(good.in.name),
      `status reports the connection: ${connected.text}`,
    );

    // The incompatible pair is refused, with the reason in the status bar.
    await drag(
      page,
      await centerOf(page.locator(`[data-testid=port-out-${a}-${bad.out.name}]`)),
      await centerOf(page.locator(`[data-testid=port-in-${b}-${bad.in.name}]`)),
      15,
    );
    const refusal = await nextStatus(page, connected, 'a refusal of the incompatible wire');
    assert.equal(refusal.kind, 'error', `the refusal is shown as an error: ${refusal.text}`);
    const refused = refusal.text;
    assert.match(refused, /cannot/i, `refusal explains itself: ${refused}`);
    assert.ok(refused.includes(bad.in.name), `refusal names the input ${bad.in.name}: ${refused}`);
    assert.ok(refused.includes(bad.out.type) && refused.includes(bad.in.type), `refusal names both types: ${refused}`);
    assert.equal((await wireIds(page)).length, 1, 'no wire was added');

    // Fill the first task's required inputs in its properties panel.
    const wiredInputs = new Set([good.in.name]);
    const required = (await portsOf(page, a)).filter((p) => p.dir === 'in' && p.required);
    await selectNode(page, a);
    for (const p of required) {
      await setProp(page, p.name, VALUES[p.name] ?? `e2e-${p.name}`);
    }
    for (const p of (await portsOf(page, b)).filter((p) => p.dir === 'in' && p.required)) {
      if (wiredInputs.has(p.name)) continue;
      await selectNode(page, b);
      await setProp(page, p.name, VALUES[p.name] ?? `e2e-${p.name}`);
    }
    const before = await specText(page);
    assert.ok(before.includes(VALUES.project), `the spec shows the project just set:\n${before.slice(0, 500)}`);
    assert.ok(before.includes('schemaVersion'), 'the spec panel shows a compiled spec');

    // Set a parameter of the second task: the spec follows.
    const target = (await portsOf(page, b)).find(
      (p) => p.dir === 'in' && p.type === 'str' && !wiredInputs.has(p.name) && !p.required,
    );
    assert.ok(target, `${b} has an optional string input to set`);
    const value = 'europe-west4-e2e';
    assert.ok(!before.includes(value));
    await selectNode(page, b);
    await setProp(page, target.name, value);
    const after = await until(async () => {
      const s = await specText(page);
      return s !== before && s;
    }, `the spec did not change after setting ${target.name}`);
    assert.ok(after.includes(value), `the spec contains ${target.name} = ${value}`);

    // Save: the pipeline gets an id, kept in the URL hash, and is stored on the server.
    await page.locator('[data-testid=btn-save]').click();
    const saved = await until(async () => {
      const r = await server.api('GET', '/api/pipelines');
      return r.status === 200 && r.json.length === 1 && r.json[0];
    }, 'the pipeline was not saved on the server');
    await until(
      async () => (await page.evaluate(() => location.hash)).includes(saved.id),
      async () => `URL hash ${await page.evaluate(() => location.hash)} does not name pipeline ${saved.id}`,
    );
    const stored = (await server.api('GET', `/api/pipelines/${encodeURIComponent(saved.id)}`)).json;
    assert.equal(stored.format, 'pipeline-canvas/v1');
    assert.equal(stored.nodes.length, 2);
    assert.equal(stored.wires.length, 1);
    assert.deepEqual(stored.wires[0].from, { node: a, port: good.out.name });
    assert.deepEqual(stored.wires[0].to, { node: b, port: good.in.name });
    const storedB = stored.nodes.find((n) => n.id === b);
    assert.deepEqual(storedB.inputs[target.name], { value });

    const shown = { a, b, wire, input: target.name, value };

    // Reload: the hash brings the pipeline back.
    await page.reload();
    await expectPipelineShown(page, shown);

    // Restart the server on the same data directory and reload again.
    await server.restart();
    await page.reload();
    await expectPipelineShown(page, shown);
    await selectNode(page, b);
    assert.equal(await page.locator(`[data-testid=prop-${target.name}]`).inputValue(), value);

    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: path.join(ARTIFACTS, 'canvas.png') });
    assert.deepEqual(app.errors, [], 'no errors in the browser console');
  }),
);
