// The canvas at scale (issue 18): a large pipeline is drawn in part (what is in view), a drag
// moves only its node until release and is one step in Undo, and zoomed out nodes are drawn
// compact.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { syntheticDocument } from './canvas-bench.mjs';
import { centerOf, e2e, openApp, status, until, uploadDocument } from './harness.mjs';

/** The node elements in the page. */
async function drawnNodes(page) {
  return page.$$eval('.node[data-node-id]', (els) => els.map((e) => e.getAttribute('data-node-id')));
}

test(
  'a 600-task pipeline is drawn in part, pans, drags and zooms out to compact nodes',
  { timeout: 180_000 },
  e2e('canvas-scale', async (app) => {
    const { page } = app;
    await openApp(app);
    const doc = syntheticDocument(600);
    // Spread out as a pipeline of that size is laid out: 50 tasks a row.
    doc.nodes.forEach((n, i) => {
      n.position = { x: (i % 50) * 320, y: Math.floor(i / 50) * 260 };
    });
    const before = await status(page);
    await uploadDocument(page, { name: 'chain-600.pipeline.json', text: JSON.stringify(doc) });
    await until(async () => (await status(page)).seq > before.seq, 'the pipeline opened');
    assert.match((await status(page)).text, /600 tasks/);

    // Drawn in part: the nodes in view (and a margin), not all 600.
    const drawn = await until(async () => {
      const d = await drawnNodes(page);
      return d.length > 0 && d;
    }, 'nodes are drawn');
    assert.ok(drawn.length < 200, `only the nodes near the view are in the page: ${drawn.length}`);
    assert.ok(drawn.includes('n0'), 'the first task is in view when the pipeline opens');
    const far = doc.nodes[599].id;
    assert.ok(!drawn.includes(far), `the last task (${far}) is not drawn while out of view`);
    // Readable: the pipeline opens at a legible zoom.
    const zoom = Number((await page.locator('[data-testid=zoom-level]').textContent()).replace('%', ''));
    assert.ok(zoom >= 60, `opens at a legible zoom: ${zoom}%`);

    // Drag the first task: the node follows the pointer, and the document changes once, on
    // release — one Undo puts it back.
    const header = page.locator('[data-testid=node-header-n0]');
    const from = await centerOf(header);
    const box0 = await page.locator('[data-testid=node-n0]').boundingBox();
    await page.mouse.move(from.x, from.y);
    await page.mouse.down();
    await page.mouse.move(from.x + 40, from.y + 30, { steps: 5 });
    await page.mouse.move(from.x + 80, from.y + 60, { steps: 5 });
    const mid = await page.locator('[data-testid=node-n0]').boundingBox();
    assert.ok(mid.x > box0.x + 40, `the node follows the pointer during the drag: ${mid.x} vs ${box0.x}`);
    await page.mouse.up();
    const undo = page.locator('[data-testid=btn-undo]');
    await undo.click();
    await until(async () => {
      const b = await page.locator('[data-testid=node-n0]').boundingBox();
      return Math.abs(b.x - box0.x) < 2 && Math.abs(b.y - box0.y) < 2;
    }, 'one Undo puts the dragged node back');
    // That was the only step: opening onto the empty canvas is none.
    assert.ok(await undo.isDisabled(), 'nothing more to undo');
    await page.locator('[data-testid=btn-redo]').click();
    await until(async () => {
      const b = await page.locator('[data-testid=node-n0]').boundingBox();
      return Math.abs(b.x - box0.x) > 40;
    }, 'Redo moves it again');

    // Fit shows the whole pipeline: every node is drawn, compact (no port rows), and the last
    // task lies in view (the zoom goes as far out as needed).
    await page.locator('[data-testid=btn-fit]').click();
    await until(async () => (await drawnNodes(page)).length === 600, 'Fit draws every node');
    const canvas = page.locator('[data-testid=canvas]');
    assert.match((await canvas.getAttribute('class')) ?? '', /lod-(compact|tiny)/, 'zoomed out: compact nodes');
    assert.equal(await page.locator('.port-row').count(), 0, 'no port rows are drawn when zoomed out');
    const lastBox = await page.locator(`[data-testid=node-${far}]`).boundingBox();
    const cbox = await canvas.boundingBox();
    assert.ok(
      lastBox.x >= cbox.x && lastBox.x + lastBox.width <= cbox.x + cbox.width + 1,
      `the last task lies in view after Fit: ${JSON.stringify(lastBox)} in ${JSON.stringify(cbox)}`,
    );

    // Lay out all leaves the view as the pipeline opens: too large to fit legibly, so its start
    // at a legible zoom, drawn in part again (not every task as a dot).
    await page.mouse.click(cbox.x + cbox.width - 20, cbox.y + cbox.height - 20, { button: 'right' });
    await page.locator('[data-testid=menu-layout-all]').click();
    await until(async () => /Laid out the pipeline/.test((await status(page)).text), 'laid out');
    const laidOut = await until(async () => {
      const d = await drawnNodes(page);
      return d.length < 200 && d.includes('n0') && d;
    }, 'the start of the pipeline is drawn, in part');
    assert.ok(!laidOut.includes(far), 'the last task is not drawn');
    const after = Number((await page.locator('[data-testid=zoom-level]').textContent()).replace('%', ''));
    assert.ok(after >= 60, `laid out at a legible zoom: ${after}%`);
  }),
);
