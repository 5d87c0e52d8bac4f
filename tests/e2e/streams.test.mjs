// Event streams: a tab follows its run and the selected task's log on one server-sent event
// stream (browsers allow six connections per server over HTTP/1.1, shared by every tab), the
// log view starts at the tail of a big log, and three tabs following runs at once all work.
//
// The pipeline (fixtures/shell-logs.pipeline.json) runs shell commands on the host (the harness
// allows host commands): `talk` prints a tick every 0.25 s for 150 s (the test cancels it), `big`
// writes 1 MB of log at once. It was made with
//   target/release/pipeline-canvas import tests/e2e/fixtures/shell-logs.yaml \
//     -o tests/e2e/fixtures/shell-logs.pipeline.json

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

import { REPO, centerOf, e2e, expectNodeCount, openApp, until } from './harness.mjs';

const FIXTURE = path.join(REPO, 'tests', 'e2e', 'fixtures', 'shell-logs.pipeline.json');
/** Runs of real processes on a busy machine: generous. */
const RUN_TIMEOUT = 120_000;

/**
 * Counts the page's `EventSource`s: every one made (`__streams.urls`) and the most open at
 * once (`__streams.max`).
 */
function countStreams() {
  const Original = window.EventSource;
  const made = [];
  window.__streams = { urls: [], max: 0 };
  window.EventSource = class extends Original {
    constructor(url, init) {
      super(url, init);
      made.push(this);
      window.__streams.urls.push(String(url));
      const open = made.filter((s) => s.readyState !== Original.CLOSED).length;
      window.__streams.max = Math.max(window.__streams.max, open);
    }
  };
  window.__openStreams = () => made.filter((s) => s.readyState !== Original.CLOSED).length;
}

async function streams(page) {
  return page.evaluate(() => window.__streams);
}

/** A new tab with the saved pipeline open. */
async function openTab(app, id) {
  const page = await app.context.newPage();
  page.setDefaultTimeout(15_000);
  page.on('pageerror', (e) => app.errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') app.errors.push(`console.error: ${m.text()}`);
  });
  await openApp({ page, server: app.server }, `#/pipelines/${id}`);
  await expectNodeCount(page, 2);
  return page;
}

/** Selects the node named `name` and waits for its task in the Run tab. */
async function openTask(page, nodeId) {
  const at = await centerOf(page.locator(`[data-testid=node-header-${nodeId}]`));
  await page.mouse.click(at.x, at.y);
  await page.locator('[data-testid=tab-run].active').waitFor();
  await page.locator('[data-testid=task-state]').waitFor();
}

/** Waits until the log view shows a tick after `after`; returns the last tick shown. */
async function nextTick(page, after, timeout = RUN_TIMEOUT) {
  return until(
    async () => {
      const text = (await page.locator('[data-testid=task-log]').textContent().catch(() => '')) ?? '';
      const ticks = [...text.matchAll(/tick (\d+)/g)].map((m) => Number(m[1]));
      const last = ticks.at(-1) ?? 0;
      return last > after && last;
    },
    `a tick after ${after} in the log`,
    timeout,
  );
}

/** Starts a run with the toolbar's Run button (the pipeline has no parameters). */
async function run(page) {
  // The run shown, named in the run state's title ("Run <id> of …").
  const shown = () =>
    page.locator('[data-testid=run-state]').getAttribute('title', { timeout: 500 }).catch(() => null);
  const before = await shown();
  await page.locator('[data-testid=btn-run]').click();
  await until(async () => {
    const now = await shown();
    return now && now !== before;
  }, 'the new run is shown');
}

test(
  'a tab follows its run and a task log on one stream; big logs start at the tail; three tabs all work',
  { timeout: 300_000 },
  e2e(
    'streams-one-per-tab',
    async (app) => {
      const { page, server, context } = app;
      await context.addInitScript(countStreams);
      const text = readFileSync(FIXTURE, 'utf8');
      const doc = JSON.parse(text);
      const node = Object.fromEntries(doc.nodes.map((n) => [n.name, n.id]));
      const saved = await server.api('POST', '/api/pipelines', text);
      assert.equal(saved.status, 201, saved.text);
      const eventRequests = [];
      page.on('request', (r) => {
        if (r.resourceType() === 'eventsource') eventRequests.push(r.url());
      });
      // The init script applies to pages loaded from now on.
      await openApp(app, `#/pipelines/${saved.json.id}`);
      await expectNodeCount(page, 2);

      // Run, select the talking task: its log follows on the run's one stream.
      await run(page);
      await until(
        async () => (await page.locator(`[data-testid=node-${node.talk}]`).getAttribute('data-state')) === 'running',
        'talk runs',
        RUN_TIMEOUT,
      );
      await openTask(page, node.talk);
      const tick = await nextTick(page, 2);
      await nextTick(page, tick);
      let seen = await streams(page);
      assert.equal(seen.max, 1, `one stream at a time: ${JSON.stringify(seen)}`);
      assert.equal(seen.urls.length, 2, `the run's stream, then again with the log: ${seen.urls}`);
      assert.match(seen.urls[1], /\/api\/runs\/[^/]+\/events\?log=talk&logTail=\d+$/);
      assert.deepEqual(
        eventRequests.map((u) => new URL(u).pathname + new URL(u).search),
        seen.urls,
        'the network saw the same event stream requests',
      );
      assert.equal(await page.locator('[data-testid=log-earlier]').count(), 0, 'a short log is whole');

      // A big log that has ended: its tail, with a pointer to the whole log.
      await openTask(page, node.big);
      const log = page.locator('[data-testid=task-log]');
      await until(
        async () => ((await log.textContent()) ?? '').includes('the end of the big log'),
        'the end of the big log is shown',
        RUN_TIMEOUT,
      );
      await page.locator('[data-testid=log-earlier]').waitFor();
      assert.match(await page.locator('[data-testid=log-state]').textContent(), /complete/);
      const shown = ((await log.textContent()) ?? '').length;
      assert.ok(shown > 200_000 && shown < 300_000, `the last 256 KiB are shown, not the whole 1 MB: ${shown}`);
      const raw = await server.api(
        'GET',
        new URL(await page.locator('[data-testid=log-raw]').getAttribute('href'), server.url).pathname,
      );
      assert.equal(raw.status, 200);
      assert.ok(raw.text.length > 1_000_000, 'open raw has the whole log');
      seen = await streams(page);
      assert.equal(seen.max, 1, `still one stream at a time: ${JSON.stringify(seen)}`);
      assert.match(seen.urls.at(-1), /log=big/);

      // Three tabs following runs, each with the talking task's log: the first run and two
      // more, started in two more tabs. All keep going, and other requests are not held up.
      const tabs = [page, await openTab(app, saved.json.id), await openTab(app, saved.json.id)];
      await openTask(page, node.talk);
      for (const [i, tab] of tabs.entries()) {
        if (i > 0) await run(tab);
        await until(
          async () => (await tab.locator(`[data-testid=node-${node.talk}]`).getAttribute('data-state')) === 'running',
          async () => `talk runs in tab ${i + 1}: ${JSON.stringify(await streams(tab))}, ${await tab.evaluate(() => window.__openStreams())} open, run ${await tab.locator('[data-testid=run-state]').textContent()}, talk ${await tab.locator(`[data-testid=node-${node.talk}]`).getAttribute('data-state')}; status ${await tab.locator('[data-testid=status]').textContent()}`,
          RUN_TIMEOUT,
        );
        if (i > 0) await openTask(tab, node.talk);
      }
      const ticks = await Promise.all(tabs.map((t) => nextTick(t, 0)));
      await Promise.all(tabs.map((t, i) => nextTick(t, ticks[i])));
      for (const [i, tab] of tabs.entries()) {
        const status = await tab.evaluate(async () => {
          const ctl = new AbortController();
          const timer = setTimeout(() => ctl.abort(), 10_000);
          const r = await fetch('/api/runs', { signal: ctl.signal });
          clearTimeout(timer);
          return r.status;
        });
        assert.equal(status, 200, `tab ${i + 1} is not held up`);
        const s = await streams(tab);
        assert.equal(s.max, 1, `tab ${i + 1} has one stream at a time: ${JSON.stringify(s)}`);
      }
      // Cancelled, every tab sees its run end and the whole log; then its stream is closed.
      const runs = (await server.api('GET', '/api/runs')).json;
      assert.equal(runs.length, 3);
      for (const r of runs) {
        const c = await server.api('POST', `/api/runs/${r.id}/cancel`, {});
        assert.equal(c.status, 200, c.text);
      }
      for (const [i, tab] of tabs.entries()) {
        await until(
          async () => (await tab.locator('[data-testid=run-state]').getAttribute('data-state')) === 'cancelled',
          `the run of tab ${i + 1} is cancelled`,
          RUN_TIMEOUT,
        );
        await until(
          async () => /complete/.test((await tab.locator('[data-testid=log-state]').textContent()) ?? ''),
          `the log of tab ${i + 1} is complete`,
        );
        const title = (await tab.locator('[data-testid=run-state]').getAttribute('title')) ?? '';
        const id = /^Run (\S+) of/.exec(title)?.[1];
        const whole = await server.api('GET', `/api/runs/${id}/tasks/talk/logs`);
        assert.equal(whole.status, 200, whole.text);
        assert.match(whole.text, /^tick 1\ntick 2\n/, 'at least two ticks were followed');
        assert.equal(await tab.locator('[data-testid=task-log]').textContent(), whole.text, `tab ${i + 1} has the whole log`);
        assert.equal(await tab.evaluate(() => window.__openStreams()), 0, `tab ${i + 1} closed its stream`);
      }
    },
    // Three talking tasks at once, whatever the number of cores.
    { env: { PIPELINE_CANVAS_CONTAINER_RUNTIME: 'none', PIPELINE_CANVAS_CONCURRENCY: '8' } },
  ),
);
