// Panels that close while their answers are on the way: picking task after task while each
// panel's request, log stream and scroll-to-bottom are still pending must never touch a panel
// that is gone. (Issue 13: "a run colours the nodes…" failed under load with 13 panics,
// "Tried to access a reactive value that has already been disposed", from a task panel's
// answer and the log view's scroll arriving after the panel had closed.) The harness fails the
// test on any page error, panics included.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

import { REPO, centerOf, e2e, expectNodeCount, openApp, until } from './harness.mjs';

const FIXTURES = path.join(REPO, 'tests', 'e2e', 'fixtures');

test(
  'switching tasks and tabs while their answers arrive never uses a closed panel',
  { timeout: 300_000 },
  e2e('panels-switch', async (app) => {
    const { page, server } = app;
    // The evaluate task's HTML artifact has a script, which the sandboxed frame blocks.
    app.expectErrors(/Blocked script execution in 'about:srcdoc'/);
    const text = readFileSync(path.join(FIXTURES, 'run-ok.pipeline.json'), 'utf8');
    const doc = JSON.parse(text);
    const saved = await server.api('POST', '/api/pipelines', text);
    assert.equal(saved.status, 201, saved.text);
    await openApp(app, `#/pipelines/${saved.json.id}`);
    await expectNodeCount(page, doc.nodes.length);

    const started = await server.api('POST', '/api/runs', { document: doc, parameters: { name: 'e2e' } });
    assert.equal(started.status, 201, started.text);
    // Follow it on the canvas (the Runs tab's Open), then pick tasks as fast as a user can
    // click, without waiting for any panel to finish loading.
    await page.locator('[data-testid=btn-runs]').click();
    const open = page.locator(`[data-testid="run-open-${started.json.id}"]`);
    await open.click();
    const headers = doc.nodes.map((n) => page.locator(`[data-testid=node-header-${n.id}]`));
    for (let round = 0; round < 12; round++) {
      for (const h of headers) {
        const at = await centerOf(h);
        await page.mouse.click(at.x, at.y);
      }
      // Away to the Spec tab (its YAML view asks the server too) and back.
      await page.locator('[data-testid=tab-spec]').click();
      await page.locator('[data-testid=tab-run]').click();
    }
    await until(
      async () => {
        const r = await server.api('GET', `/api/runs/${started.json.id}`);
        return ['SUCCEEDED', 'FAILED'].includes(r.json?.state) && r.json.state;
      },
      'the run should end',
      150_000,
    );
    // Once more after the end, when each panel's log arrives whole at once.
    for (let round = 0; round < 12; round++) {
      for (const h of headers) {
        const at = await centerOf(h);
        await page.mouse.click(at.x, at.y);
      }
    }
    await page.waitForTimeout(500);
    assert.equal(await page.locator('[data-testid=panic-banner]').count(), 0, 'no panic');

    // A laptop's window, with the run's state in the toolbar: the toolbar's last button and
    // the panel's last tab are in view.
    await page.setViewportSize({ width: 1280, height: 800 });
    for (const testid of ['btn-download-yaml', 'tab-runs']) {
      await until(
        async () => {
          const box = await page.locator(`[data-testid=${testid}]`).boundingBox();
          return box && box.x + box.width <= 1280;
        },
        async () =>
          `${testid} is in a 1280-pixel window: ${JSON.stringify(await page.locator(`[data-testid=${testid}]`).boundingBox())}`,
      );
    }
  }),
);
