// The lineage view: a run's artifacts and executions opened from the Runs tab, one hop first;
// a node's details (type, URI, the runs that produced and read it); the path between two nodes;
// search; the type filter; expanding upstream brings the second run that reused an artifact from
// the cache (marked cached); re-centring; the depth control; opening it from a task's artifact.
//
// The pipeline is run-ok (tests/e2e/fixtures), run twice on the local engine with the venv's
// KFP SDK: the second run is served from the cache.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

import { ARTIFACTS, REPO, e2e, expectNodeCount, openApp, until } from './harness.mjs';

const RUN_TIMEOUT = 150_000;

/** The runs of the server, newest first, once `n` of them have ended SUCCEEDED. */
async function succeededRuns(server, n) {
  let runs = [];
  await until(
    async () => {
      runs = (await server.api('GET', '/api/runs')).json;
      return runs.length === n && runs.every((r) => r.state === 'SUCCEEDED');
    },
    async () => `${n} runs should have succeeded: ${JSON.stringify(runs.map((r) => r.state))}`,
    RUN_TIMEOUT,
  );
  return runs;
}

/** The classes of lineage node `token` (`a12`, `e3`). */
async function classesOf(page, token) {
  return (await page.locator(`[data-testid=lineage-node-${token}]`).getAttribute('class')) ?? '';
}

async function nodeCount(page) {
  return page.locator('[data-testid^=lineage-node-]').count();
}

test(
  'lineage: details, path, search, type filter, expand to a cached reuse, re-centre, depth',
  { timeout: 300_000 },
  e2e('lineage', async (app) => {
    const { page, server } = app;
    const text = readFileSync(path.join(REPO, 'tests/e2e/fixtures/run-ok.pipeline.json'), 'utf8');
    const saved = await server.api('POST', '/api/pipelines', text);
    assert.equal(saved.status, 201, saved.text);
    await openApp(app, `#/pipelines/${saved.json.id}`);
    await expectNodeCount(app.page, JSON.parse(text).nodes.length);

    // Two runs: the second is served from the cache.
    await page.locator('[data-testid=btn-run]').click();
    await succeededRuns(server, 1);
    await page.locator('[data-testid=btn-run]').click();
    const [second, first] = await succeededRuns(server, 2);

    // From the Runs tab: the first run's lineage, one hop.
    await page.locator('[data-testid=btn-runs]').click();
    await page.locator(`[data-testid=run-lineage-${first.id}]`).click();
    await page.locator('[data-testid=lineage-view]').waitFor();
    assert.match(await page.locator('[data-testid=lineage-title]').textContent(), new RegExp(first.id));
    const hop = (await server.api('GET', `/api/lineage?run=${first.id}`)).json;
    const byName = (name) => hop.artifacts.find((a) => a.name === name);
    const [metrics, report] = [byName('metrics'), byName('report')];
    assert.ok(metrics && report, `the run made metrics and a report: ${JSON.stringify(hop.artifacts)}`);
    const firstHop = hop.artifacts.length + hop.executions.length;
    await until(async () => (await nodeCount(page)) === firstHop, `the first hop's ${firstHop} nodes are drawn`);
    assert.match(await page.locator('[data-testid=lineage-count]').textContent(), new RegExp(`${firstHop} of ${firstHop} nodes`));

    // A node's details.
    await page.locator(`[data-testid=lineage-node-a${metrics.id}]`).click();
    const details = page.locator('[data-testid=lineage-details]');
    await until(async () => (await details.textContent()).includes('system.Metrics'), 'the metrics details');
    assert.ok((await details.textContent()).includes(metrics.uri), 'its URI');
    assert.match(await page.locator('[data-testid=lineage-producers]').textContent(), new RegExp(`${first.id}.*evaluate`));
    assert.match(await page.locator('[data-testid=lineage-produced-in]').textContent(), new RegExp(first.id));
    assert.match(await classesOf(page, `a${metrics.id}`), /\bselected\b/);

    // Shift-click a second node: the path between them (metrics ← evaluate → report).
    await page.locator(`[data-testid=lineage-node-a${report.id}]`).click({ modifiers: ['Shift'] });
    await until(
      async () => /Path from metrics to report: 2 steps/.test(await page.locator('[data-testid=lineage-path]').textContent()),
      'the path is described',
    );
    assert.equal(await page.locator('.lin-node.on-path').count(), 3, 'three nodes on the path');
    assert.equal(await page.locator('.lin-edge.on-path').count(), 2, 'two edges on the path');

    // Search dims what does not match.
    await page.locator('[data-testid=lineage-search]').fill('report');
    await until(async () => /\bmatch\b/.test(await classesOf(page, `a${report.id}`)), 'the report matches');
    assert.match(await classesOf(page, `a${metrics.id}`), /\bdim\b/);
    await page.locator('[data-testid=lineage-search]').fill('');
    await until(async () => !/\bdim\b/.test(await classesOf(page, `a${metrics.id}`)), 'nothing dimmed');

    // The type filter hides the other artifacts; executions stay.
    await page.locator('[data-testid=lineage-type]').selectOption('system.Metrics');
    await until(
      async () => (await page.locator('.lin-node.artifact').count()) === 1,
      'only the metrics artifact is drawn',
    );
    assert.equal(await page.locator('.lin-node.execution').count(), hop.executions.length);
    await page.locator('[data-testid=lineage-type]').selectOption('');
    await until(async () => (await nodeCount(page)) === firstHop, 'everything is back');

    // Expand upstream from the metrics: the second run's cached evaluate reused it.
    await page.locator(`[data-testid=lineage-node-a${metrics.id}]`).click();
    await page.locator('[data-testid=lineage-upstream]').click();
    await until(async () => (await nodeCount(page)) > firstHop, 'expanding brought more nodes');
    await until(
      async () => (await page.locator('.lin-node.execution.cached').count()) >= 1,
      'the reusing execution is marked cached',
    );
    const producers = await page.locator('[data-testid=lineage-producers]').textContent();
    assert.match(producers, new RegExp(`${second.id}.*reused from cache`), producers);
    assert.match(await page.locator('[data-testid=lineage-produced-in]').textContent(), new RegExp(first.id), 'still produced by the first run');
    await page.screenshot({ path: path.join(ARTIFACTS, 'lineage.png') });

    // Re-centre on the cached execution.
    const cached = page.locator('.lin-node.execution.cached').first();
    await cached.click();
    await page.locator('[data-testid=lineage-recentre]').click();
    await until(
      async () => /Lineage around evaluate/.test(await page.locator('[data-testid=lineage-title]').textContent()),
      'the view is centred on the execution',
    );
    assert.match(await page.locator('[data-testid=lineage-details]').textContent(), new RegExp(second.id));

    // Depth 2 from there reaches the first run's evaluate through the shared artifacts.
    const oneHop = await nodeCount(page);
    await page.locator('[data-testid=lineage-depth]').selectOption('2');
    await until(async () => (await nodeCount(page)) > oneHop, 'two hops show more');

    // Closed; then opened from a task's artifact in the Run tab.
    await page.locator('[data-testid=lineage-close]').click();
    await page.locator('[data-testid=lineage-view]').waitFor({ state: 'detached' });
    await page.locator(`[data-testid=run-open-${first.id}]`).click();
    await page.locator('[data-testid=tab-run]').click();
    await page.locator('[data-testid=run-lineage]').click();
    await page.locator('[data-testid=lineage-view]').waitFor();
    assert.match(await page.locator('[data-testid=lineage-title]').textContent(), new RegExp(first.id));
    await page.keyboard.press('Escape');
    await page.locator('[data-testid=lineage-view]').waitFor({ state: 'detached' });

    // Comparing the two runs: the same metrics (the second reused the first's), so "only
    // differences" hides them; both runs' confusion matrices side by side.
    await page.locator('[data-testid=btn-runs]').click();
    const compare = page.locator('[data-testid=runs-compare]');
    assert.ok(await compare.isDisabled(), 'one run cannot be compared');
    await page.locator(`[data-testid=run-pick-${first.id}]`).check();
    assert.ok(await compare.isDisabled(), 'nor can one ticked run');
    await page.locator(`[data-testid=run-pick-${second.id}]`).check();
    await until(async () => !(await compare.isDisabled()), 'two ticked runs can be compared');
    assert.match(await compare.textContent(), /Compare \(2\)/);
    await compare.click();
    await page.locator('[data-testid=compare-view]').waitFor();
    const table = page.locator('[data-testid=compare-table]');
    await table.waitFor();
    const head = await table.locator('thead th').allTextContents();
    assert.deepEqual(head.slice(1), [first.id.slice(0, 8), second.id.slice(0, 8)], 'the runs in the order ticked');
    const sameRow = page.locator('[data-testid="compare-row-metric.accuracy"]');
    assert.match(await sameRow.textContent(), /0\.93.*0\.93/);
    assert.equal(await sameRow.getAttribute('class'), 'same');
    assert.equal(await page.locator('[data-testid="compare-row-duration"]').getAttribute('class'), 'differs');
    await page.locator('[data-testid=compare-only-diff]').check();
    await until(async () => (await sameRow.count()) === 0, 'equal rows are hidden');
    assert.match(await page.locator('[data-testid=compare-hidden]').textContent(), /equal columns? hidden/);
    await page.locator('[data-testid="compare-row-duration"]').waitFor();
    for (const run of [first, second]) {
      await page.locator(`[data-testid=compare-matrices-${run.id}] [data-testid=confusion-matrix]`).waitFor();
    }
    // Both runs' ROC curves in one chart, each with its area under the curve (the second run
    // reused the first's metrics: the same curve).
    const roc = page.locator('[data-testid=compare-roc] [data-testid=roc-curve]');
    await roc.waitFor();
    assert.equal(await roc.locator('polyline').count(), 2, 'a curve per run');
    const legend = await roc.locator('.roc-legend li').allTextContents();
    assert.deepEqual(legend.map((l) => l.replace(/\s+/g, ' ').trim()), [
      `${first.id.slice(0, 8)} classes AUC 0.860`,
      `${second.id.slice(0, 8)} classes AUC 0.860`,
    ]);
    // The graph diff, first → second: the same tasks, each run by the first and taken from
    // the cache by the second (a cache flip on every node); swapped, the other way round.
    const tasks = (await server.api('GET', `/api/runs/${first.id}`)).json.tasks;
    const again = new Map((await server.api('GET', `/api/runs/${second.id}`)).json.tasks.map((t) => [t.path, t]));
    const flipped = tasks.filter((t) => again.get(t.path)?.cached && !t.cached);
    assert.ok(tasks.length >= 2 && flipped.length >= 2, JSON.stringify(tasks));
    const diffNodes = page.locator('[data-testid=compare-diff] [data-testid^=diff-task-]');
    await until(async () => (await diffNodes.count()) === tasks.length, 'a node per task in the diff');
    assert.match(
      await page.locator('[data-testid=diff-summary]').textContent(),
      new RegExp(`^${flipped.length} cache flips$`),
    );
    for (const t of tasks) {
      const node = page.locator(`[data-testid="diff-task-${t.path}"]`);
      assert.equal(await node.getAttribute('data-change'), 'same', t.path);
      const flip = flipped.includes(t);
      assert.equal(/diff-flip/.test(await node.getAttribute('class')), flip, t.path);
      if (flip) assert.equal(await page.locator(`[data-testid="diff-state-${t.path}"]`).textContent(), 'cached');
    }
    const wires = await page.locator('[data-testid=diff-graph] path.diff-wire').count();
    assert.ok(wires >= 1, 'dependencies are wired');
    await page.locator('[data-testid=compare-diff]').scrollIntoViewIfNeeded();
    await page.screenshot({ path: path.join(ARTIFACTS, 'compare.png') });
    await page.locator('[data-testid=compare-diff-a]').selectOption(second.id);
    await page.locator('[data-testid=compare-diff-b]').selectOption(first.id);
    const firstState = page.locator(`[data-testid="diff-state-${flipped[0].path}"]`);
    await until(async () => (await firstState.count()) === 1 && (await firstState.textContent()) === 'succeeded', 'swapped: B ran it');
    await page.locator('[data-testid=compare-close]').click();
    await page.locator('[data-testid=compare-view]').waitFor({ state: 'detached' });
    // Again, closed by Escape this time; the editor's keys do not reach the canvas meanwhile.
    await compare.click();
    await page.locator('[data-testid=compare-view]').waitFor();
    await page.keyboard.press('Escape');
    await page.locator('[data-testid=compare-view]').waitFor({ state: 'detached' });
  }),
);
