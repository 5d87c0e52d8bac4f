// Browser tests of the KFP pipeline classes of issue #14 on the canvas: a nested-loop pipeline
// (compiled by the KFP SDK at test time from its oracle twin) shows its loops as nested frames
// and its inner loop's items — a field of the outer loop's item — read back from their text;
// a pipeline with Kubernetes settings (secrets as env) shows them in the task's "Kubernetes"
// section, where they are edited; the compiled spec carries each edit.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';

import {
  REPO,
  e2e,
  errorCount,
  groupIds,
  nextStatus,
  nodeIds,
  openApp,
  pythonForRuns,
  selectNode,
  showSpec,
  status,
  until,
  uploadDocument,
  CORPUS,
} from './harness.mjs';


/** Compiles an oracle twin (tests/oracle/pipelines/<name>.py) with the KFP SDK; its YAML. */
function compileTwin(name) {
  const python = pythonForRuns();
  assert.ok(python, 'a Python with the KFP SDK (set PIPELINE_CANVAS_TEST_PYTHON)');
  const out = path.join(mkdtempSync(path.join(tmpdir(), 'kfp-twin-')), `${name}.yaml`);
  execFileSync(python, [path.join(REPO, 'tests', 'oracle', 'pipelines', `${name}.py`), out], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  return readFileSync(out, 'utf8');
}

/** Opens a pipeline file as a user does and waits for the success message. */
async function open(page, name, text) {
  const before = await status(page);
  await uploadDocument(page, { name, text });
  const shown = await nextStatus(page, before, `a message after opening ${name}`);
  assert.equal(shown.kind, 'success', shown.text);
}

/** The spec as YAML (from the server, with the platform document), once it matches `re`. */
async function yamlSpecMatching(page, re, what) {
  await showSpec(page);
  await page.locator('[data-testid=spec-format-yaml]').click();
  const spec = page.locator('[data-testid=spec-text]');
  let text = '';
  await until(
    async () => re.test((text = (await spec.textContent()) ?? '')),
    async () => `the YAML spec shows ${what}: ${text.slice(0, 600)}`,
  );
  return text;
}

/** Sets a text field as a user does: type, then leave it. */
async function fill(page, testid, value) {
  const field = page.locator(`[data-testid="${testid}"]`);
  await field.fill(value);
  await field.press('Tab');
}

test(
  'a nested-loop pipeline shows nested frames and its inner loop over a field of the outer item stays editable',
  { timeout: 240_000 },
  e2e('kfp14-nested-loops', async (app) => {
    const { page } = app;
    await openApp(app);
    await open(page, 'nested_loops.yaml', compileTwin('nested_loops'));
    assert.equal(await errorCount(page), 0, 'the imported pipeline has no errors');
    // The inner loop iterates a field of the outer loop's item, and is drawn inside it.
    const labels = await page.$$eval('[data-group-id]', (frames) =>
      frames.map((f) => ({ id: f.getAttribute('data-group-id'), label: f.getAttribute('aria-label') ?? '' })),
    );
    const inner = labels.find((g) => /item\([^)]+\)\['children'\]/.test(g.label));
    assert.ok(inner, `a frame loops over item(…)['children']: ${JSON.stringify(labels)}`);
    const outer = /item\(([^)]+)\)/.exec(inner.label)[1];
    assert.ok((await groupIds(page)).includes(outer), `the outer loop ${outer} is a frame`);
    const box = async (id) => page.locator(`[data-testid=group-${id}]`).boundingBox();
    const [o, i] = [await box(outer), await box(inner.id)];
    assert.ok(
      i.x >= o.x && i.y >= o.y && i.x + i.width <= o.x + o.width && i.y + i.height <= o.y + o.height,
      `the inner loop's frame lies inside the outer one's: ${JSON.stringify({ o, i })}`,
    );

    // Its editor shows the items as text; typed again (plain `item` for the enclosing loop),
    // they read back as the same loop item, and a parallelism is added.
    await page.locator(`[data-testid=group-${inner.id}]`).focus();
    const items = page.locator('[data-testid=prop-loop-items]');
    await until(
      async () => (await items.inputValue()) === `item(${outer})['children']`,
      async () => `the loop's items read item(${outer})['children'], not ${await items.inputValue()}`,
    );
    await fill(page, 'prop-loop-items', "item['children']");
    await fill(page, 'prop-loop-parallelism', '3');
    await until(async () => (await items.inputValue()) === `item(${outer})['children']`, 'the items read back');
    assert.equal(await errorCount(page), 0, 'the edit leaves no errors');
    const spec = await yamlSpecMatching(page, /parallelismLimit: 3/, 'the new parallelism');
    assert.match(spec, /parameterExpressionSelector: parseJson\(string_value\)\["children"\]/, 'the loop still reads the field');
  }),
);

test(
  "a task's Kubernetes settings are shown and edited in its properties, and compile into the platform spec",
  { timeout: 240_000 },
  e2e('kfp14-kubernetes', async (app) => {
    const { page } = app;
    const file = path.join(CORPUS, 'critical', 'pipeline_with_secret_as_env.yaml');
    assert.ok(existsSync(file), `the conformance corpus file ${file} exists (set PIPELINE_CANVAS_SHARED)`);
    await openApp(app);
    await open(page, 'pipeline_with_secret_as_env.yaml', readFileSync(file, 'utf8'));
    // The task with the secrets: `comp`.
    let task;
    for (const id of await nodeIds(page)) {
      await selectNode(page, id);
      if ((await page.locator('[data-testid=prop-node-name]').inputValue()) === 'comp') {
        task = id;
        break;
      }
    }
    assert.ok(task, 'the task comp is on the canvas');
    const value = (testid) => page.locator(`[data-testid="${testid}"]`).inputValue();
    // Readable: which secret (or which input it comes from), which key, which env var.
    await page.locator('[data-testid=k8s-section]').waitFor();
    assert.equal(await value('k8s-secretAsEnv-0-0'), '{secret_parm}');
    assert.equal(await value('k8s-secretAsEnv-1-0'), 'test-secret-2');
    assert.equal(await value('k8s-secretAsEnv-1-1'), 'password');
    assert.equal(await value('k8s-secretAsEnv-1-2'), 'PASSWORD_VAR1');
    assert.equal(await value('k8s-secretAsEnv-2-0'), 'generate-secret-name.some_output');

    // Edit an env var, add a node selector label and a PVC mount.
    await fill(page, 'k8s-secretAsEnv-1-2', 'DB_PASSWORD');
    await page.locator('[data-testid=k8s-label-add]').click();
    await fill(page, 'k8s-label-0-key', 'cloud.google.com/gke-accelerator');
    await fill(page, 'k8s-label-0-value', 'nvidia-tesla-t4');
    await page.locator('[data-testid=k8s-pvcMount-add]').click();
    await fill(page, 'k8s-pvcMount-0-0', 'my-data');
    await fill(page, 'k8s-pvcMount-0-1', '/mnt/data');
    assert.equal(await errorCount(page), 0, 'the edits leave no errors');
    const spec = await yamlSpecMatching(page, /envVar: DB_PASSWORD/, 'the edited env var');
    assert.doesNotMatch(spec, /envVar: PASSWORD_VAR1/, 'the old env var is gone');
    assert.match(spec, /nodeSelector:\s+labels:\s+cloud\.google\.com\/gke-accelerator: nvidia-tesla-t4/);
    assert.match(spec, /pvcMount:\s+- constant: my-data\s+mountPath: \/mnt\/data/);

    // The raw editor says what is wrong and where, and changes nothing until it is right.
    await selectNode(page, task);
    await page.locator('[data-testid=k8s-section] summary').click();
    await fill(page, 'k8s-json', '{"nodeSelector": ');
    await until(
      async () => /not valid JSON at line 1/.test((await page.locator('[data-testid=k8s-json-error]').textContent()) ?? ''),
      'the JSON error is shown under the editor',
    );
    assert.equal(await value('k8s-label-0-value'), 'nvidia-tesla-t4', 'the settings are unchanged');
    // Each edit is one undoable step: Undo takes back the mount path, and only it.
    await page.locator('[data-testid=btn-undo]').click();
    await until(async () => (await value('k8s-pvcMount-0-1')) === '', 'Undo takes back the mount path');
    assert.equal(await value('k8s-pvcMount-0-0'), 'my-data');
  }),
);

test(
  "a task's resources set from values show as resource fields, bound to a parameter or a task output",
  { timeout: 240_000 },
  e2e('kfp14-resources', async (app) => {
    const { page } = app;
    await openApp(app);
    await open(page, 'machine_fields.yaml', compileTwin('machine_fields'));
    // The task `train`: its limits and requests come from parameters and task outputs.
    let train;
    for (const id of await nodeIds(page)) {
      await selectNode(page, id);
      if ((await page.locator('[data-testid=prop-node-name]').inputValue()) === 'train') {
        train = id;
        break;
      }
    }
    assert.ok(train, 'the task train is on the canvas');
    const shown = async (input) =>
      page.locator(`[data-testid=prop-resource-${input}]`).evaluate((s) => s.selectedOptions[0]?.textContent ?? '');
    assert.equal(await shown('cpu_limit'), 'parameter cpu');
    assert.equal(await shown('memory_limit'), 'pick-memory.Output');
    // Bound to another parameter, and a limit from a task output to a parameter.
    await page.locator('[data-testid=prop-resource-cpu_limit]').selectOption({ label: 'parameter gpus' });
    await page.locator('[data-testid=prop-resource-memory_limit]').selectOption({ label: 'parameter memory' });
    assert.equal(await shown('cpu_limit'), 'parameter gpus');
    assert.equal(await errorCount(page), 0, 'the edits leave no errors');
    const spec = await yamlSpecMatching(page, /pipelinechannel--cpu:\s+componentInputParameter: gpus/, 'cpu bound to gpus');
    assert.match(spec, /pipelinechannel--pick-memory-Output:\s+componentInputParameter: memory/);

    // A constant instead: the task's input holds the value, the channel it read goes.
    await selectNode(page, train);
    await page.locator('[data-testid=prop-resource-cpu_limit]').selectOption({ label: 'a constant' });
    await fill(page, 'prop-resource-cpu_limit-value', '4');
    assert.equal(await shown('cpu_limit'), 'a constant');
    assert.equal(await errorCount(page), 0, 'a constant leaves no errors');
    const constant = await yamlSpecMatching(page, /cpu_limit:\s+runtimeValue:\s+constant: '4'/, 'cpu_limit constant 4');
    assert.doesNotMatch(constant, /pipelinechannel--cpu:/, 'the channel is gone');
  }),
);
