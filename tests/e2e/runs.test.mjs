// Runs on the local engine from the canvas: Run colours each node by its task state as it goes
// (running, then succeeded or failed), a task's panel shows its log, outputs and artifacts,
// runs are listed in the Runs tab (a table with the runs' parameters and metrics, sorted by a
// header, filtered, its columns chosen, exported as CSV) and can be opened, re-run and cancelled.
//
// The pipelines are Python function components (tests/e2e/fixtures/run_pipelines.py) that the
// engine runs with the KFP SDK of PIPELINE_CANVAS_PYTHON (scripts/test sets it to .venv).

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

import { REPO, centerOf, e2e, expectNodeCount, openApp, until } from './harness.mjs';

const FIXTURES = path.join(REPO, 'tests', 'e2e', 'fixtures');
/** A run of real Python processes: generous, the machine may be busy. */
const RUN_TIMEOUT = 150_000;

/** Saves a fixture document on the server and opens it; returns the document. */
async function openFixture(app, name) {
  const text = readFileSync(path.join(FIXTURES, `${name}.pipeline.json`), 'utf8');
  const doc = JSON.parse(text);
  const saved = await app.server.api('POST', '/api/pipelines', text);
  assert.equal(saved.status, 201, saved.text);
  await openApp(app, `#/pipelines/${saved.json.id}`);
  await expectNodeCount(app.page, doc.nodes.length);
  return doc;
}

/** Records every `data-state` each node and group takes, in `window.__states[id]`. */
async function recordStates(page) {
  await page.evaluate(() => {
    window.__states = {};
    const note = (el) => {
      const id = el.getAttribute('data-node-id') ?? el.getAttribute('data-group-id');
      const s = el.getAttribute('data-state');
      if (!id || !s) return;
      const seen = (window.__states[id] ??= []);
      if (seen[seen.length - 1] !== s) seen.push(s);
    };
    new MutationObserver((muts) => muts.forEach((m) => note(m.target))).observe(document.body, {
      subtree: true,
      attributes: true,
      attributeFilter: ['data-state'],
    });
  });
}

async function statesSeen(page) {
  return page.evaluate(() => window.__states);
}

/** The `data-state` of the element with `data-testid=testid`. */
async function stateOf(page, testid) {
  return page.locator(`[data-testid="${testid}"]`).getAttribute('data-state');
}

/** Waits until the run shown in the toolbar is in `state`. */
async function expectRunState(page, state) {
  await until(
    async () => (await stateOf(page, 'run-state')) === state,
    async () => {
      const reading = await page.locator('[data-testid=run-state]').textContent().catch(() => 'none');
      return `the run should be ${state}; the toolbar reads ${reading}`;
    },
    RUN_TIMEOUT,
  );
}

/** Clicks a node's header (selecting it) and waits for its task in the Run tab. */
async function openTask(page, nodeId) {
  const at = await centerOf(page.locator(`[data-testid=node-header-${nodeId}]`));
  await page.mouse.click(at.x, at.y);
  await page.locator('[data-testid=tab-run].active').waitFor();
  await page.locator('[data-testid=task-state]').waitFor();
}

/** Waits for the text of `testid` to include `needle`. */
async function expectText(page, testid, needle, timeout = 20_000) {
  const loc = page.locator(`[data-testid=${testid}]`).first();
  return until(
    async () => {
      const t = (await loc.textContent().catch(() => '')) ?? '';
      return t.includes(needle) && t;
    },
    async () => `${testid} should include ${JSON.stringify(needle)}; it reads ${JSON.stringify(await loc.textContent().catch(() => null))}`,
    timeout,
  );
}

test(
  'a run colours the nodes as they run, shows logs, outputs and artifacts, and is listed',
  { timeout: 300_000 },
  e2e('runs-succeed', async (app) => {
    const { page, server } = app;
    const doc = await openFixture(app, 'run-ok');
    const id = Object.fromEntries(doc.nodes.map((n) => [n.name, n.id]));
    const loop = doc.groups[0].id;
    await recordStates(page);

    // Run with parameter values (▾): a dialog asks for the parameter's value, default filled in.
    // (Run alone starts at once with the defaults: the failing run below.)
    await page.locator('[data-testid=btn-run-params]').click();
    const param = page.locator('[data-testid=run-param-name]');
    assert.equal(await param.inputValue(), 'canvas', 'the default is filled in');
    await param.fill('e2e');
    await page.locator('[data-testid=btn-run-start]').click();
    await page.locator('[data-testid=run-dialog]').waitFor({ state: 'detached' });

    // States arrive live: greet runs (it sleeps 2 s), then everything succeeds.
    await until(
      async () => (await stateOf(page, `node-${id.greet}`)) === 'running',
      async () => `greet should be running; states so far ${JSON.stringify(await statesSeen(page))}`,
      RUN_TIMEOUT,
    );
    assert.ok(await page.locator('[data-testid=btn-cancel-run]').isVisible(), 'Cancel shows while running');
    await expectRunState(page, 'succeeded');
    for (const n of doc.nodes) {
      assert.equal(await stateOf(page, `node-${n.id}`), 'succeeded', `${n.name} succeeded`);
      assert.match(
        (await page.locator(`[data-testid=node-${n.id}]`).getAttribute('class')) ?? '',
        /\bstate-succeeded\b/,
      );
    }
    assert.equal(await stateOf(page, `group-${loop}`), 'succeeded', 'the loop frame has a state');
    const seen = await statesSeen(page);
    for (const n of doc.nodes) {
      assert.ok(seen[n.id]?.includes('running'), `${n.name} was seen running: ${JSON.stringify(seen)}`);
      assert.equal(seen[n.id].at(-1), 'succeeded');
    }
    // The task in the loop aggregates its three iterations; times are shown.
    const squareBadge = await page.locator(`[data-testid=node-${id.square}] [data-testid=run-badge]`).textContent();
    assert.match(squareBadge, /3\/3/, `the square badge shows the iterations: ${squareBadge}`);
    assert.match(squareBadge, /\d+(ms|s)/, `the square badge shows a time: ${squareBadge}`);
    assert.equal(await page.locator('[data-testid=btn-cancel-run]').count(), 0, 'no Cancel once ended');

    // A task: state, inputs, outputs and its log.
    await openTask(page, id.greet);
    await expectText(page, 'task-state', 'succeeded');
    await expectText(page, 'task-inputs', 'e2e');
    await expectText(page, 'task-outputs', 'hello e2e');
    await expectText(page, 'task-log', 'hello from greet, e2e');
    await expectText(page, 'log-state', 'complete');

    // Artifacts: metrics as a table, markdown rendered safely (the script stays text).
    await openTask(page, id.evaluate);
    await expectText(page, 'metrics-table', 'accuracy');
    await expectText(page, 'metrics-table', '0.93');
    await expectText(page, 'markdown', 'Evaluation');
    assert.equal(await page.locator('[data-testid=markdown] h3').first().textContent(), 'Evaluation');
    assert.equal(await page.locator('[data-testid=markdown] strong').first().textContent(), '0.93');
    assert.match(await page.locator('[data-testid=markdown]').textContent(), /<script>alert\(1\)<\/script>/);
    assert.equal(await page.locator('[data-testid=markdown] script').count(), 0, 'no script element');
    await expectText(page, 'task-log', 'evaluating after: hello e2e');
    // A confusion matrix as a table, actual classes down and predicted across.
    const matrix = page.locator('[data-testid=confusion-matrix]');
    await matrix.waitFor();
    const cells = await matrix.locator('tr').evaluateAll((rows) =>
      rows.map((r) => [...r.children].map((c) => c.textContent.trim())),
    );
    assert.deepEqual(cells.slice(1), [
      ['cat', '7', '1'],
      ['dog', '2', '9'],
    ]);
    assert.deepEqual(cells[0].slice(1), ['cat', 'dog']);
    // The ROC curve the task logged, with its area under the curve.
    const roc = page.locator('[data-testid=artifact-classes] [data-testid=roc-curve]');
    await roc.waitFor();
    assert.equal(await roc.locator('polyline').count(), 1);
    assert.match(await roc.locator('.roc-legend').textContent(), /classes\s*AUC 0\.860/);
    // HTML in a sandboxed frame: shown, but its script cannot reach the app.
    const frame = page.locator('[data-testid=artifact-html]');
    await frame.waitFor();
    assert.equal(await frame.getAttribute('sandbox'), '', 'an empty sandbox allows nothing');
    assert.match((await frame.getAttribute('srcdoc')) ?? '', /Report page/);
    const inner = await frame.elementHandle().then((h) => h.contentFrame());
    assert.equal(await inner.locator('#page').textContent(), 'Report page');
    assert.notEqual(await page.title(), 'escaped', 'the artifact script did not touch the app');

    // A task inside the loop: one instance per iteration.
    await openTask(page, id.square);
    await until(
      async () => (await page.locator('[data-testid=task-instances] button').count()) === 3,
      'three iterations to pick from',
    );
    const second = page.locator('[data-testid=task-instances] button').nth(1);
    await second.click();
    await until(
      async () => ((await page.locator('[data-testid=task-detail]').getAttribute('data-path')) ?? '').match(/\[1\]\/square$/),
      'the second iteration is shown',
    );
    await expectText(page, 'task-outputs', '4');
    await expectText(page, 'task-log', 'squaring 2');

    // The Runs list has it, newest first, with its state.
    await page.locator('[data-testid=btn-runs]').click();
    const runs = (await server.api('GET', '/api/runs')).json;
    assert.equal(runs.length, 1);
    const row = page.locator(`[data-testid=run-${runs[0].id}]`);
    await row.waitFor();
    assert.equal(await row.getAttribute('data-state'), 'succeeded');
    assert.match(await row.textContent(), /run-ok/);
    // The runs table: the run's parameter and the metrics its tasks logged are columns.
    await page.locator('[data-testid="runs-col-param.name"]').waitFor();
    await page.locator('[data-testid="runs-col-metric.accuracy"]').waitFor();
    assert.match(await row.textContent(), /e2e/);
    assert.match(await row.textContent(), /0\.93/);
    assert.match(await row.textContent(), /0\.21/);
    // The column chooser hides one.
    await page.locator('[data-testid=runs-columns] summary').click();
    await page.locator('[data-testid="runs-column-metric.loss"]').uncheck();
    await until(
      async () => (await page.locator('[data-testid="runs-col-metric.loss"]').count()) === 0,
      'the loss column is hidden',
    );
    assert.doesNotMatch(await row.textContent(), /0\.21/);
    assert.match(await row.textContent(), /0\.93/, 'the accuracy column stays');
    // The run keeps its document.
    const stored = await server.api('GET', `/api/runs/${runs[0].id}/document`);
    assert.equal(stored.status, 200);
    assert.equal(stored.json.name, 'run-ok');
    // The only message allowed (the harness fails the test on any other): Chromium reporting
    // that the sandbox blocked the artifact's script.
    app.expectErrors(/Blocked script execution in 'about:srcdoc'/);
  }),
);

test(
  'a failing task shows failed with its error; past runs open onto the canvas, re-run and cancel',
  { timeout: 300_000 },
  e2e('runs-fail', async (app) => {
    const { page, server } = app;
    const doc = await openFixture(app, 'run-fail');
    const id = Object.fromEntries(doc.nodes.map((n) => [n.name, n.id]));

    // Run: every parameter has a default, so the run starts at once, without a dialog.
    await page.locator('[data-testid=btn-run]').click();
    await page.locator('[data-testid=run-state]').waitFor();
    assert.equal(await page.locator('[data-testid=run-dialog]').count(), 0, 'no parameter dialog');
    await expectRunState(page, 'failed');
    assert.equal(await stateOf(page, `node-${id.greet}`), 'succeeded');
    assert.equal(await stateOf(page, `node-${id.explode}`), 'failed');
    assert.equal(await stateOf(page, `node-${id.wait}`), 'succeeded');
    assert.match(await page.locator('[data-testid=status]').textContent(), /failed/i);
    await openTask(page, id.explode);
    await expectText(page, 'task-state', 'failed');
    await expectText(page, 'task-error', 'boom');
    await expectText(page, 'task-log', 'about to fail');
    await expectText(page, 'task-log', 'ValueError: boom: the e2e failure');
    const [failed] = (await server.api('GET', '/api/runs')).json;

    // A new, empty pipeline; then open the failed run from the Runs list: its graph comes back.
    await page.locator('[data-testid=btn-new]').click();
    await expectNodeCount(page, 0);
    await page.locator('[data-testid=btn-runs]').click();
    await page.locator('[data-testid=runs-filter-state]').selectOption('FAILED');
    await page.locator(`[data-testid=run-${failed.id}]`).waitFor();
    await page.locator('[data-testid=runs-filter-state]').selectOption('SUCCEEDED');
    await page.locator('[data-testid=runs-empty]').waitFor();
    await page.locator('[data-testid=runs-filter-state]').selectOption('');
    await page.locator(`[data-testid=run-open-${failed.id}]`).click();
    await expectNodeCount(page, doc.nodes.length);
    await until(
      async () => (await stateOf(page, `node-${id.explode}`)) === 'failed',
      'the opened run shows its failed task',
    );
    assert.equal(await stateOf(page, 'run-state'), 'failed');

    // Re-run it: greet comes from the cache; cancel the run while wait is still running.
    await page.locator(`[data-testid=run-rerun-${failed.id}]`).click();
    await until(
      async () => (await server.api('GET', '/api/runs')).json.length === 2,
      'a second run was started',
    );
    await until(
      async () => (await stateOf(page, `node-${id.wait}`)) === 'running',
      'wait runs again in the re-run',
      RUN_TIMEOUT,
    );
    await until(async () => (await stateOf(page, `node-${id.greet}`)) === 'cached', 'greet is cached', RUN_TIMEOUT);
    await page.locator('[data-testid=btn-cancel-run]').click();
    await expectRunState(page, 'cancelled');
    assert.equal(await stateOf(page, `node-${id.wait}`), 'cancelled');
    const [second] = (await server.api('GET', '/api/runs')).json;
    assert.notEqual(second.id, failed.id, 'newest first');
    assert.equal(second.state, 'CANCELLED');
    await until(
      async () => (await stateOf(page, `run-${second.id}`)) === 'cancelled',
      'the Runs list shows the cancelled run',
    );

    // Sort by a column: a header click sorts by state (CANCELLED before FAILED), a second the
    // other way.
    const order = async () =>
      JSON.stringify(
        await page
          .locator('[data-testid=runs-table] tbody tr[data-testid^="run-"]')
          .evaluateAll((rows) => rows.map((r) => r.dataset.testid)),
      );
    const header = page.locator('[data-testid=runs-col-state]');
    await header.click();
    await until(
      async () =>
        (await header.textContent()).includes('▲') &&
        (await order()) === JSON.stringify([`run-${second.id}`, `run-${failed.id}`]),
      async () => `sorted by state, ascending; the rows are ${await order()}`,
    );
    await header.click();
    await until(
      async () => (await order()) === JSON.stringify([`run-${failed.id}`, `run-${second.id}`]),
      async () => `sorted by state, descending; the rows are ${await order()}`,
    );
    // Export CSV: a download of the table as the server writes it, in the order shown.
    const link = page.locator('[data-testid=runs-export-csv]');
    const href = await link.getAttribute('href');
    assert.match(href, /^\/api\/runs\/table\?/);
    assert.match(href, /format=csv/);
    assert.match(href, /sort=state&desc=true/);
    assert.equal(await link.getAttribute('download'), 'runs.csv');
    const csv = await page.evaluate(async (u) => {
      const r = await fetch(u);
      return `${r.headers.get('content-type')}\n${await r.text()}`;
    }, href);
    const [type, ...lines] = csv.trim().split(/\r?\n/);
    assert.equal(type, 'text/csv; charset=utf-8');
    assert.ok(lines[0].startsWith('pipeline_name,run_name,state,target,start_time,duration'), lines[0]);
    assert.ok(lines[1].startsWith(`run-fail,${failed.id},FAILED,local,`), csv);
    assert.ok(lines[2].startsWith(`run-fail,${second.id},CANCELLED,local,`), csv);
    // The text filter: any cell, any case.
    await page.locator('[data-testid=runs-filter-text]').fill('Cancelled');
    await until(
      async () => (await order()) === JSON.stringify([`run-${second.id}`]),
      async () => `the filter keeps the cancelled run; the rows are ${await order()}`,
    );
    assert.deepEqual(app.errors, [], 'no browser errors');
  }),
);
