// The seed's workflow for real, from the browser: open the PyTorch text-classification example,
// press Run once (every parameter has a default, so no dialog), and watch every node finish on
// the local engine — train, decide, package the MAR, serve it from a real TorchServe, predict.
// The deploy node names its backing, the prediction task shows the predictions, the endpoint
// is listed under Runs and stopped from there, and no TorchServe process outlives the test.
//
// The managed Python environment (PyTorch, TorchServe: about 5 GB) is shared with the Rust
// tests (server/tests/it/seed_local.rs): PIPELINE_CANVAS_TEST_ENVS_DIR, else
// ~/.cache/pipeline-canvas-tests/envs, installed on first use. TorchServe needs Java 17.

import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';

import { centerOf, e2e, expectNodeCount, openApp, openExample, until } from './harness.mjs';

const EXAMPLE = 'pytorch-text-classification';
/** A whole run: ~15 s warm, minutes when the environment is installed first. */
const RUN_TIMEOUT = 600_000;

/** The shared folder of managed environments. */
function envsDir() {
  return (
    process.env.PIPELINE_CANVAS_TEST_ENVS_DIR ||
    path.join(homedir(), '.cache', 'pipeline-canvas-tests', 'envs')
  );
}

/** The pids of the live processes in process group `pgid` (TorchServe leads its own group). */
function groupMembers(pgid) {
  const pids = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let stat;
    try {
      stat = readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue; // gone meanwhile
    }
    // pid (comm) state ppid pgrp …: comm may hold spaces and parentheses, so split after it.
    const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(pgrp) === pgid && state !== 'Z') pids.push(Number(name));
  }
  return pids;
}

/** The `data-state` of the element with `data-testid=testid`. */
async function stateOf(page, testid) {
  return page.locator(`[data-testid="${testid}"]`).getAttribute('data-state');
}

/** Clicks a node's header (selecting it) and waits for its task in the Run tab. */
async function openTask(page, nodeId) {
  const at = await centerOf(page.locator(`[data-testid=node-header-${nodeId}]`));
  await page.mouse.click(at.x, at.y);
  await page.locator('[data-testid=tab-run].active').waitFor();
  await page.locator('[data-testid=task-state]').waitFor();
}

test(
  'the seed example runs locally with one click: every node finishes, TorchServe serves and predicts, Stop ends it',
  { timeout: RUN_TIMEOUT + 120_000 },
  e2e(
    'seed-local',
    async (app) => {
      const { page, server } = app;
      // Process groups of the endpoints seen, so none survives the test, whatever happens.
      const groups = new Set();
      const outlived = [];
      try {
        await openApp(app);
        const example = (await server.api('GET', `/api/examples/${EXAMPLE}`)).json;
        const id = Object.fromEntries(example.nodes.map((n) => [n.name, n.id]));
        await openExample(page, EXAMPLE);
        await expectNodeCount(page, example.nodes.length);
        assert.ok(example.parameters.length > 0, 'the example has parameters (all with defaults)');

        // One click: the run starts with the defaults, no dialog asks for anything.
        const started = Date.now();
        await page.locator('[data-testid=btn-run]').click();
        await page.locator('[data-testid=run-state]').waitFor();
        assert.equal(await page.locator('[data-testid=run-dialog]').count(), 0, 'no parameter dialog');
        await until(
          async () => ['succeeded', 'failed', 'cancelled'].includes(await stateOf(page, 'run-state')),
          async () => `the run should end; the toolbar reads ${await page.locator('[data-testid=run-state]').textContent()}`,
          RUN_TIMEOUT,
        );
        const seconds = ((Date.now() - started) / 1000).toFixed(1);
        console.log(`# the seed example ran in ${seconds} s (Run pressed → run ended)`);
        const states = {};
        for (const n of example.nodes) states[n.name] = await stateOf(page, `node-${n.id}`);
        if ((await stateOf(page, 'run-state')) !== 'succeeded') {
          const [run] = (await server.api('GET', '/api/runs')).json;
          const detail = (await server.api('GET', `/api/runs/${run.id}`)).json;
          const errors = detail.tasks.filter((t) => t.error).map((t) => `${t.path}: ${t.error}`);
          assert.fail(`the run should succeed; node states ${JSON.stringify(states)}\n${errors.join('\n')}`);
        }
        // Every node finished, the condition frame too (the accuracy beat the threshold).
        for (const n of example.nodes) assert.equal(states[n.name], 'succeeded', `${n.name}: ${JSON.stringify(states)}`);
        assert.equal(await stateOf(page, `group-${example.groups[0].id}`), 'succeeded', 'the condition frame');

        // The whole pipeline in view, so every node can be clicked.
        await page.locator('[data-testid=btn-fit]').click();
        // The deploy node names its local backing: TorchServe on a loopback port.
        const badge = page.locator(`[data-testid=node-${id['model-deploy']}] [data-testid=run-backing]`);
        const backing = ((await badge.textContent()) ?? '').trim();
        const port = /^local: TorchServe on 127\.0\.0\.1:(\d+)$/.exec(backing)?.[1];
        assert.ok(port, `the deploy node's backing: ${JSON.stringify(backing)}`);
        await openTask(page, id['model-deploy']);
        assert.equal((await page.locator('[data-testid=task-backing]').textContent())?.trim(), backing);

        // The prediction task's panel shows the predictions: praise, then not.
        await openTask(page, id['make-prediction-request']);
        assert.equal(await page.locator('[data-testid=task-state]').textContent(), 'succeeded');
        assert.match((await page.locator('[data-testid=task-backing]').textContent()) ?? '', /^local: /);
        const outputs = page.locator('[data-testid=task-outputs]');
        const row = outputs.locator('tr', { has: page.locator('th', { hasText: /^predictions$/ }) });
        const predictions = JSON.parse((await row.locator('td').textContent()) ?? 'null');
        assert.deepEqual(
          predictions.map((p) => p.prediction?.label),
          ['positive', 'negative'],
          `predictions shown: ${JSON.stringify(predictions)}`,
        );

        // The endpoint is listed under Runs, serving on the deploy node's port, and answers.
        const [endpoint] = (await server.api('GET', '/api/endpoints')).json;
        assert.ok(endpoint?.pid, `an endpoint with its process: ${JSON.stringify(endpoint)}`);
        groups.add(endpoint.pid);
        assert.ok(groupMembers(endpoint.pid).includes(endpoint.pid), 'TorchServe runs');
        await page.locator('[data-testid=btn-runs]').click();
        const listed = page.locator(`[data-testid=endpoint-${endpoint.id}]`);
        await listed.waitFor();
        assert.equal(await listed.getAttribute('data-state'), 'serving');
        assert.match((await listed.textContent()) ?? '', new RegExp(`127\\.0\\.0\\.1:${port}/`));
        const answer = await fetch(endpoint.url, { method: 'POST', body: 'What a wonderful, moving film.' });
        assert.equal(answer.status, 200);
        assert.match(await answer.text(), /positive/);

        // Stop, from the list: the state turns stopped and TorchServe's processes are gone.
        await page.locator(`[data-testid=endpoint-stop-${endpoint.id}]`).click();
        await until(
          async () => (await listed.getAttribute('data-state')) === 'stopped',
          async () => `the endpoint should show stopped; it shows ${await listed.getAttribute('data-state')}`,
          30_000,
        );
        assert.equal(await page.locator(`[data-testid=endpoint-stop-${endpoint.id}]`).count(), 0, 'no Stop once stopped');
        assert.deepEqual(groupMembers(endpoint.pid), [], 'no TorchServe process is left');

        // The endpoint's lineage: the deploy task, the endpoint and the model it served; more
        // hops reach what the model was made from.
        await page.locator(`[data-testid=endpoint-lineage-${endpoint.id}]`).click();
        await page.locator('[data-testid=lineage-view]').waitFor();
        assert.match(await page.locator('[data-testid=lineage-title]').textContent(), /task (.+\/)?model-deploy of run/);
        const nodesText = () => page.locator('[data-testid=lineage-svg]').textContent();
        await until(
          async () => /VertexModel/.test(await nodesText()) && /VertexEndpoint/.test(await nodesText()),
          async () => `the deploy's model and endpoint should show: ${await nodesText()}`,
        );
        const oneHop = await page.locator('[data-testid^=lineage-node-]').count();
        await page.locator('[data-testid=lineage-depth]').selectOption('6');
        await until(async () => (await page.locator('[data-testid^=lineage-node-]').count()) > oneHop, 'six hops reach further upstream');
        await page.keyboard.press('Escape');
        await page.locator('[data-testid=lineage-view]').waitFor({ state: 'detached' });
      } finally {
        // A failure may leave an endpoint serving: stopping the server stops the ones it
        // started (they are not kept); then nothing of theirs may be left.
        for (const e of (await server.api('GET', '/api/endpoints').catch(() => ({ json: [] }))).json ?? []) {
          if (e.pid) groups.add(e.pid);
        }
        await server.stop();
        for (const pgid of groups) {
          const left = groupMembers(pgid);
          if (left.length) {
            outlived.push(...left);
            process.kill(-pgid, 'SIGKILL');
          }
        }
      }
      assert.deepEqual(outlived, [], 'no TorchServe process outlives the server');
    },
    {
      env: {
        PIPELINE_CANVAS_ENVS_DIR: envsDir(),
        // The example's steps run on their local backings: no container runtime, no host
        // commands needed.
        PIPELINE_CANVAS_CONTAINER_RUNTIME: 'none',
        PIPELINE_CANVAS_ALLOW_HOST_COMMANDS: '0',
      },
    },
  ),
);
