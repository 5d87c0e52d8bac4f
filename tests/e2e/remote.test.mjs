// Runs on Vertex AI Pipelines from the canvas: the target picker (remembered in the browser),
// the settings dialog (opened with the backend's message when a setting is missing, checked in
// the browser, saved with PUT /api/targets), the submit itself, the job's states colouring the
// canvas as the server polls them, the console links, and Google's error shown verbatim.
//
// Vertex AI is a small node:http server speaking the REST wire format the Rust client uses
// (targets/tests/targets/fake_remote.rs): `POST /v1/projects/{p}/locations/{r}/pipelineJobs
// ?pipelineJobId=…` creates a job, `GET /v1/{name}` answers its state as an integer
// (`$alt=json;enum-encoding=int`) with `jobDetail.taskDetails`. The app server is pointed at it
// with PIPELINE_CANVAS_VERTEX_ENDPOINT and a static PIPELINE_CANVAS_ACCESS_TOKEN.

import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { test } from 'node:test';

import { e2e, expectNodeCount, openApp, openExample, status, until } from './harness.mjs';

const EXAMPLE = 'pytorch-text-classification';
const TOKEN = 'test-token';
/** Vertex AI `PipelineState` numbers. */
const PIPELINE = { PENDING: 2, RUNNING: 3, SUCCEEDED: 4, FAILED: 5 };
/** Vertex AI `PipelineTaskDetail.State` numbers. */
const TASK = { RUNNING: 2, SUCCEEDED: 3 };
/** GETs of a job answered RUNNING before it succeeds (the server polls every 100–200 ms). */
const RUNNING_POLLS = 6;
const INVALID = {
  error: {
    code: 400,
    message:
      'List of found errors:\t1.Field: pipeline_job.pipeline_spec; Message: The pipeline spec is invalid: e2e refusal "quoted" <b>not html</b>.',
    status: 'INVALID_ARGUMENT',
    details: [
      {
        '@type': 'type.googleapis.com/google.rpc.BadRequest',
        fieldViolations: [{ field: 'pipeline_job.pipeline_spec', description: 'invalid' }],
      },
    ],
  },
};

/** Every task of a compiled spec as Vertex AI reports them (sub-DAG tasks under their DAG). */
function taskDetails(spec, state) {
  const times =
    state === TASK.SUCCEEDED
      ? { startTime: '2026-01-01T00:00:01Z', endTime: '2026-01-01T00:00:09Z' }
      : { startTime: '2026-01-01T00:00:01Z' };
  const out = [{ taskId: '1', taskName: spec.pipelineInfo.name, state, ...times }];
  let next = 2;
  const walk = (dag, parent) => {
    for (const [name, task] of Object.entries(dag.tasks ?? {})) {
      const taskId = String(next++);
      out.push({ taskId, parentTaskId: parent, taskName: name, state, ...times });
      const comp = spec.components?.[task.componentRef?.name];
      if (comp?.dag) walk(comp.dag, taskId);
    }
  };
  walk(spec.root.dag, '1');
  return out;
}

/**
 * The fake Vertex AI: records every request; a created job answers PENDING, then RUNNING with
 * its tasks running for `RUNNING_POLLS` GETs, then SUCCEEDED. `refuseNext` makes the next
 * create fail with that Google error body.
 */
async function startFakeVertex() {
  const fake = { requests: [], jobs: new Map(), refuseNext: null };
  const srv = createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => (raw += c));
    req.on('end', () => {
      const url = new URL(req.url, 'http://fake');
      let body = null;
      try {
        body = raw ? JSON.parse(raw) : null;
      } catch {
        body = raw;
      }
      fake.requests.push({
        method: req.method,
        path: url.pathname,
        query: decodeURIComponent(url.search.slice(1)),
        auth: req.headers.authorization ?? null,
        body,
      });
      const reply = (code, json) => {
        res.writeHead(code, { 'content-type': 'application/json' });
        res.end(JSON.stringify(json));
      };
      if (req.method === 'POST' && url.pathname.endsWith('/pipelineJobs')) {
        if (fake.refuseNext) {
          const error = fake.refuseNext;
          fake.refuseNext = null;
          return reply(400, error);
        }
        const jobId = url.searchParams.get('pipelineJobId') ?? 'job';
        const name = `${url.pathname.slice('/v1/'.length)}/${jobId}`;
        const job = { ...body, name, state: PIPELINE.PENDING, createTime: '2026-01-01T00:00:00Z' };
        fake.jobs.set(name, { job, gets: 0 });
        return reply(200, job);
      }
      const name = url.pathname.slice('/v1/'.length).replace(/:cancel$/, '');
      const entry = fake.jobs.get(name);
      if (!entry) {
        return reply(404, { error: { code: 404, message: `${name} not found`, status: 'NOT_FOUND' } });
      }
      if (req.method === 'POST') return reply(200, {});
      entry.gets += 1;
      const done = entry.gets > RUNNING_POLLS;
      const spec = entry.job.pipelineSpec;
      return reply(200, {
        ...entry.job,
        state: done ? PIPELINE.SUCCEEDED : PIPELINE.RUNNING,
        startTime: '2026-01-01T00:00:01Z',
        ...(done ? { endTime: '2026-01-01T00:00:09Z' } : {}),
        jobDetail: { taskDetails: taskDetails(spec, done ? TASK.SUCCEEDED : TASK.RUNNING) },
      });
    });
  });
  await new Promise((resolve) => srv.listen(0, '127.0.0.1', resolve));
  fake.url = `http://127.0.0.1:${srv.address().port}`;
  fake.close = () => new Promise((resolve) => srv.close(resolve));
  return fake;
}

let fake;

/** Starts the fake for one test; the app server polls it fast with a static token. */
async function withFakeVertex(t) {
  fake = await startFakeVertex();
  t.after(() => fake.close());
  return {
    env: {
      PIPELINE_CANVAS_VERTEX_ENDPOINT: fake.url,
      PIPELINE_CANVAS_ACCESS_TOKEN: TOKEN,
      PIPELINE_CANVAS_POLL_INITIAL_MS: '100',
      PIPELINE_CANVAS_POLL_MAX_MS: '200',
    },
  };
}

/** Waits for an error in the status bar that includes `needle`. */
async function expectStatusError(page, needle) {
  return until(
    async () => {
      const s = await status(page);
      return s.kind === 'error' && s.text.includes(needle) && s;
    },
    async () => `the status bar should show an error with ${JSON.stringify(needle)}; it reads ${JSON.stringify(await status(page))}`,
    20_000,
  );
}

/** Values of the example's parameters for a Vertex AI run (its defaults are placeholders). */
const PARAMS = {
  pipeline_job_id: 'e2e-job',
  gs_train_script_path: 'gs://e2e-bucket/train.py',
  gs_serving_dependencies_path: 'gs://e2e-bucket/deps',
  eval_acc_threshold: '0.8',
};

/**
 * Run → the parameter dialog (a remote run shows the values first, defaults filled in) → the
 * test's values → Start.
 */
async function run(page, title) {
  await page.locator('[data-testid=btn-run]').click();
  const dialog = page.locator('[data-testid=run-dialog]');
  assert.match(await dialog.locator('h3').textContent(), title);
  for (const [name, value] of Object.entries(PARAMS)) {
    await page.locator(`[data-testid=run-param-${name}]`).fill(value);
  }
  await page.locator('[data-testid=btn-run-start]').click();
  await dialog.waitFor({ state: 'detached' });
}

test(
  'a pipeline runs on Vertex AI from the canvas, with its settings, states, console link and errors',
  { timeout: 180_000 },
  e2e(
    'remote-vertex',
    async (app) => {
      const { page, server } = app;
      const exampleRes = await server.api('GET', `/api/examples/${EXAMPLE}`);
      const example = exampleRes.json;
      await openApp(app);

      // The picker offers the three targets and remembers the choice in the browser.
      const picker = page.locator('[data-testid=run-target]');
      assert.deepEqual(
        await picker.locator('option').allTextContents(),
        ['Local', 'Vertex AI', 'Kubeflow'],
      );
      assert.equal(await picker.inputValue(), 'local', 'local by default');
      await picker.selectOption('vertex');
      assert.equal(
        await page.evaluate(() => localStorage.getItem('pipeline-canvas.run-target')),
        'vertex',
      );
      await page.reload();
      await page.locator('[data-testid^=palette-]').first().waitFor();
      assert.equal(await picker.inputValue(), 'vertex', 'the choice survives a reload');

      await openExample(page, EXAMPLE);
      await expectNodeCount(page, example.nodes.length);

      // Nothing is set yet: the backend names the missing setting, the dialog opens on it.
      await run(page, /Run on Vertex AI/);
      await expectStatusError(page, 'the Vertex AI project is not set');
      const settings = page.locator('[data-testid=target-settings]');
      await settings.waitFor();
      assert.match(
        await page.locator('[data-testid=target-error-vertex-project]').textContent(),
        /the Vertex AI project is not set/,
      );
      assert.equal(fake.requests.length, 0, 'nothing was sent to Vertex AI');

      // The browser's own checks, per field.
      await page.locator('[data-testid=target-vertex-project]').fill('e2e-project');
      await page.locator('[data-testid=target-vertex-pipelineRoot]').fill('/tmp/root');
      await page.locator('[data-testid=btn-target-save]').click();
      assert.match(
        await page.locator('[data-testid=target-error-vertex-pipelineRoot]').textContent(),
        /gs:\/\//,
      );
      assert.match(
        await page.locator('[data-testid=target-error-vertex-region]').textContent(),
        /region/,
      );
      assert.deepEqual((await server.api('GET', '/api/targets')).json.vertex, {}, 'nothing saved');

      await page.locator('[data-testid=target-vertex-region]').fill('us-central1');
      await page.locator('[data-testid=target-vertex-pipelineRoot]').fill('gs://e2e-bucket/root');
      await page.locator('[data-testid=target-vertex-labels]').fill('team=ml');
      await page.locator('[data-testid=btn-target-save]').click();
      await settings.waitFor({ state: 'detached' });
      assert.deepEqual((await server.api('GET', '/api/targets')).json.vertex, {
        project: 'e2e-project',
        region: 'us-central1',
        pipelineRoot: 'gs://e2e-bucket/root',
        labels: { team: 'ml' },
      });
      // The dialog shows what is saved.
      await page.locator('[data-testid=btn-target-settings]').click();
      await page.locator('[data-testid=target-settings][data-loaded=true]').waitFor();
      assert.equal(await page.locator('[data-testid=target-vertex-region]').inputValue(), 'us-central1');
      await page.locator('[data-testid=target-settings] button', { hasText: 'Close' }).click();

      // Record every state the nodes take.
      await page.evaluate(() => {
        window.__states = {};
        new MutationObserver((muts) =>
          muts.forEach((m) => {
            const id = m.target.getAttribute('data-node-id');
            const s = m.target.getAttribute('data-state');
            if (!id || !s) return;
            const seen = (window.__states[id] ??= []);
            if (seen[seen.length - 1] !== s) seen.push(s);
          }),
        ).observe(document.body, { subtree: true, attributes: true, attributeFilter: ['data-state'] });
      });

      // Submit: the create request carries the token and the compiled spec.
      await run(page, /Run on Vertex AI/);
      const create = await until(
        async () => fake.requests.find((r) => r.method === 'POST'),
        async () => `Vertex AI got no create request; requests: ${JSON.stringify(fake.requests)}`,
        20_000,
      );
      assert.equal(create.auth, `Bearer ${TOKEN}`);
      assert.equal(create.path, '/v1/projects/e2e-project/locations/us-central1/pipelineJobs');
      assert.match(create.query, /pipelineJobId=[a-z0-9-]+/);
      assert.match(create.query, /\$alt=json;enum-encoding=int/);
      const compiled = await server.api('POST', '/api/compile?format=json', exampleRes.text);
      assert.equal(compiled.status, 200, compiled.text);
      const spec = compiled.json;
      assert.deepEqual(create.body.pipelineSpec.root, spec.root, 'the compiled DAG is sent');
      assert.deepEqual(create.body.pipelineSpec.components, spec.components);
      assert.deepEqual(create.body.pipelineSpec.pipelineInfo, spec.pipelineInfo);
      assert.equal(create.body.runtimeConfig.gcsOutputDirectory, 'gs://e2e-bucket/root');
      assert.equal(create.body.labels?.team, 'ml');
      assert.equal(create.body.runtimeConfig.parameterValues.pipeline_job_id, 'e2e-job');
      assert.equal(create.body.runtimeConfig.parameterValues.eval_acc_threshold, 0.8);

      // The job runs, then succeeds: every node goes running → succeeded on the canvas.
      for (const n of example.nodes) {
        await until(
          async () =>
            (await page.locator(`[data-testid=node-${n.id}]`).getAttribute('data-state')) === 'succeeded',
          async () =>
            `${n.name} should succeed; states seen ${JSON.stringify(await page.evaluate(() => window.__states))}`,
          60_000,
        );
      }
      const seen = await page.evaluate(() => window.__states);
      const ran = example.nodes.filter((n) => seen[n.id]?.includes('running'));
      assert.ok(ran.length > 0, `some node was shown running: ${JSON.stringify(seen)}`);
      await until(
        async () => (await page.locator('[data-testid=run-state]').getAttribute('data-state')) === 'succeeded',
        async () => 'the toolbar should show the run succeeded',
      );

      // The console link: status bar, Run tab, Runs tab.
      const runs = (await server.api('GET', '/api/runs')).json;
      const remote = runs.find((r) => r.target === 'vertex');
      assert.ok(remote?.consoleLink, `the run is listed with its console link: ${JSON.stringify(runs)}`);
      const checkLink = async (testid) => {
        const a = page.locator(`[data-testid="${testid}"]`);
        await a.waitFor();
        assert.equal(await a.getAttribute('href'), remote.consoleLink);
        assert.equal(await a.getAttribute('target'), '_blank');
        assert.equal(await a.getAttribute('rel'), 'noopener');
        assert.match(await a.textContent(), /Vertex AI console/);
      };
      assert.match(remote.consoleLink, /^https:\/\/console\.cloud\.google\.com\//);
      await checkLink('status-console-link');
      await page.locator('[data-testid=tab-run]').click();
      await checkLink('run-console-link');
      assert.equal(await page.locator('[data-testid=run-summary-target]').textContent(), 'Vertex AI');
      await page.locator('[data-testid=tab-runs]').click();
      await checkLink(`run-console-${remote.id}`);
      assert.equal(await page.locator(`[data-testid="run-target-${remote.id}"]`).textContent(), 'Vertex AI');

      // Vertex AI refuses the next one: its message is shown as Google wrote it.
      fake.refuseNext = INVALID;
      await run(page, /Run on Vertex AI/);
      const refused = await expectStatusError(page, INVALID.error.message);
      assert.match(refused.text, /Vertex AI answered HTTP 400 \(INVALID_ARGUMENT\)/);
      assert.equal(await settings.count(), 0, 'a refusal by Google does not open the settings');
      assert.equal(fake.requests.filter((r) => r.method === 'POST').length, 2);
      // The browser logs the refused requests (HTTP 400) itself; nothing else may fail (the
      // harness fails the test on any other page error).
      app.expectErrors(/Failed to load resource.*status of 400/);
    },
    withFakeVertex,
  ),
);
