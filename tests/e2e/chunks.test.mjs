// The front end is split (scripts/split-wasm): the editor loads at start, the importer and the
// run views are wasm chunks fetched on first use. A chunk that cannot be fetched gives a clear
// message, loses nothing, and loads on the next try.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

import {
  e2e,
  nextStatus,
  nodeIds,
  openApp,
  openExample,
  status,
  until,
  uploadDocument,
  CORPUS,
} from './harness.mjs';

const FLIP_COIN = readFileSync(path.join(CORPUS, 'critical', 'flip_coin.yaml'), 'utf8');

/**
 * The wasm files the page has fetched so far (their names without the content hash), apart from
 * the compile worker's (the start wasm again, its `worker` chunk) and the chunk reading its
 * answers.
 */
function wasmFetches(page) {
  const seen = [];
  page.on('request', (r) => {
    const name = new URL(r.url()).pathname.split('/').pop();
    if (!name.endsWith('.wasm')) return;
    const file = name.replace(/-[0-9a-f]{1,16}(_bg)?\.wasm$/, '$1.wasm');
    if (/^split_(worker|compile_answer)\.wasm$/.test(file)) return;
    if (file === 'frontend_bg.wasm' && seen.includes(file)) return;
    seen.push(file);
  });
  return seen;
}

test(
  'the importer and the run views load on first use; an unreachable chunk is reported and retried',
  { timeout: 180_000 },
  e2e('chunks', async (app) => {
    const { page } = app;
    const fetched = wasmFetches(page);
    await openApp(app);
    assert.deepEqual(fetched, ['frontend_bg.wasm'], 'only the editor is fetched at start');
    await openExample(page, 'pytorch-text-classification');
    await until(async () => (await nodeIds(page)).length > 5, 'the seed example opens');
    const seed = await nodeIds(page);
    // The Examples menu is a small chunk of its own (and the pieces it shares with others).
    assert.deepEqual(
      fetched.filter((f) => !/^chunk_\d+\.wasm$/.test(f)),
      ['frontend_bg.wasm', 'split_menus.wasm'],
      'the editor and the menus',
    );

    // The importer cannot be fetched: the file is refused with a message naming it, and the
    // canvas keeps the pipeline it had.
    // The blocked chunk's failed fetch is reported on the console; that is expected here.
    app.expectErrors(/ERR_CONNECTION_REFUSED/, /Failed to fetch/);
    await page.route('**/split_import-*.wasm', (route) => route.abort('connectionrefused'));
    // The browser reports the refused fetch itself.
    app.expectErrors(/ERR_CONNECTION_REFUSED/, /TypeError: Failed to fetch/);
    let before = await status(page);
    await uploadDocument(page, { name: 'flip_coin.yaml', text: FLIP_COIN });
    let shown = await nextStatus(page, before, 'a message after the failed open');
    assert.equal(shown.kind, 'error', shown.text);
    assert.match(shown.text, /flip_coin\.yaml/);
    assert.match(shown.text, /did not load from the server/);
    assert.deepEqual(await nodeIds(page), seed, 'the canvas is unchanged');

    // Reachable again: the same file opens.
    await page.unroute('**/split_import-*.wasm');
    before = await status(page);
    await uploadDocument(page, { name: 'flip_coin.yaml', text: FLIP_COIN });
    shown = await nextStatus(page, before, 'a message after opening flip_coin.yaml');
    assert.equal(shown.kind, 'success', shown.text);
    assert.ok((await nodeIds(page)).length >= 4, 'the imported tasks are drawn');
    assert.ok(fetched.includes('split_import.wasm'), `the importer was fetched: ${fetched}`);
    assert.ok(!fetched.includes('split_runs.wasm'), 'the run views are not fetched yet');

    // The Runs tab fetches the run views and shows the run list.
    await page.locator('[data-testid=tab-runs]').click();
    await page.locator('[data-testid=runs-page]').waitFor({ state: 'visible', timeout: 30_000 });
    assert.ok(fetched.includes('split_runs.wasm'), `the run views were fetched: ${fetched}`);
  }),
);

test(
  'the press that starts a drag fetches no editor: the properties follow on the release',
  { timeout: 120_000 },
  e2e('chunks-drag', async (app) => {
    const { page } = app;
    const fetched = wasmFetches(page);
    await openApp(app);
    await openExample(page, 'pytorch-text-classification');
    await until(async () => (await nodeIds(page)).length > 5, 'the seed example opens');
    await page.locator('[data-testid=properties-empty]').waitFor({ state: 'visible' });
    const [id] = await nodeIds(page);
    const box = await page.locator(`[data-testid=node-header-${id}]`).boundingBox();
    const at = { x: box.x + 30, y: box.y + box.height / 2 };
    await page.mouse.move(at.x, at.y);
    await page.mouse.down();
    for (let i = 1; i <= 8; i++) await page.mouse.move(at.x + 5 * i, at.y + 3 * i);
    // Long enough for a fetch the press started to show up.
    await page.waitForTimeout(500);
    assert.ok(!fetched.includes('split_props.wasm'), `no editor fetched mid-drag: ${fetched}`);
    assert.ok(
      await page.locator('[data-testid=properties-empty]').isVisible(),
      'the panel keeps what it showed while the task moves',
    );
    await page.mouse.up();
    const props = page.locator(`[data-testid=node-properties][data-node-id="${id}"]`);
    await props.waitFor({ state: 'visible', timeout: 30_000 });
    assert.ok(fetched.includes('split_props.wasm'), `the editor is fetched on release: ${fetched}`);
  }),
);
