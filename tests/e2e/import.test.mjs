// Importing on the canvas (issue 4): a compiled KFP pipeline opens from a file with its control
// flow drawn as frames; a component YAML dropped on the canvas becomes a task; a URL imports a
// component; bad files are refused naming the file and nothing is lost; loop (also over artifacts) and exit-handler
// frames are created from the palette and compile to what KFP writes.

import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import path from 'node:path';
import { test } from 'node:test';

import {
  REPO,
  centerOf,
  drag,
  e2e,
  expectNodeCount,
  groupIds,
  nextStatus,
  nodeIds,
  openApp,
  selectNode,
  setProp,
  specText,
  status,
  until,
  uploadDocument,
  CORPUS,
} from './harness.mjs';

const COMPONENT = readFileSync(path.join(REPO, 'components', 'builtin', 'generate_mar_file.yaml'), 'utf8');

/** A compiled pipeline of the conformance corpus with conditions (flip_coin) as text. */
function corpusFile(rel) {
  const file = path.join(CORPUS, rel);
  assert.ok(existsSync(file), `the conformance corpus file ${file} exists (set PIPELINE_CANVAS_SHARED)`);
  return readFileSync(file, 'utf8');
}

/** Drops a file on the canvas at a client point, as the browser does for a dragged file. */
async function dropFile(page, { name, text }, at) {
  await page.evaluate(
    ({ name, text, at }) => {
      const dt = new DataTransfer();
      dt.items.add(new File([text], name, { type: 'application/yaml' }));
      const canvas = document.querySelector('[data-testid=canvas]');
      for (const type of ['dragenter', 'dragover', 'drop']) {
        canvas.dispatchEvent(
          new DragEvent(type, { dataTransfer: dt, clientX: at.x, clientY: at.y, bubbles: true, cancelable: true }),
        );
      }
    },
    { name, text, at },
  );
}

test(
  'a compiled pipeline opens from a file with its conditions as frames and compiles back',
  { timeout: 180_000 },
  e2e('import-open-file', async (app) => {
    const { page } = app;
    await openApp(app);
    const before = await status(page);
    await uploadDocument(page, { name: 'flip_coin.yaml', text: corpusFile('critical/flip_coin.yaml') });
    const shown = await nextStatus(page, before, 'a message after opening flip_coin.yaml');
    assert.equal(shown.kind, 'success', shown.text);
    assert.match(shown.text, /flip_coin\.yaml/);
    const nodes = await nodeIds(page);
    assert.ok(nodes.length >= 4, `the pipeline's tasks are drawn: ${nodes}`);
    const groups = await groupIds(page);
    assert.ok(groups.length >= 2, `its conditions are drawn as frames: ${groups}`);
    const spec = await specText(page);
    assert.match(spec, /condition-\d/, 'the live spec has the condition sub-DAGs');
    assert.match(spec, /triggerPolicy/, 'and their trigger policies');
    // Frames hold their tasks: every task in a frame lies inside the frame's box.
    const inside = await page.$$eval('[data-testid^=group-]', (frames) =>
      frames
        .filter((f) => f.getAttribute('data-group-id'))
        .map((f) => f.getBoundingClientRect().height > 40),
    );
    assert.ok(inside.every(Boolean), 'frames are drawn with room for their tasks');
  }),
);

test(
  'bad files are refused naming the file, and the canvas keeps what it had',
  { timeout: 180_000 },
  e2e('import-bad-files', async (app) => {
    // The server refuses the bad YAML (HTTP 400); the browser logs each refused request.
    app.expectErrors(/Failed to load resource.*status of 400/);
    const { page } = app;
    await openApp(app);
    await uploadDocument(page, { name: 'flip_coin.yaml', text: corpusFile('critical/flip_coin.yaml') });
    await until(async () => (await nodeIds(page)).length >= 4, 'the pipeline opened');
    const ids = (await nodeIds(page)).sort();
    const cases = [
      { name: 'empty.yaml', text: '', why: /empty/i },
      { name: 'archive.zip', text: 'PK\u0003\u0004binary', why: /zip|binary/i },
      { name: 'notes.yaml', text: 'just: [an, unclosed', why: /line|yaml|not/i },
      { name: 'other.yaml', text: 'apiVersion: v1\nkind: Pod\n', why: /unknown field|KFP|spec/i },
    ];
    for (const c of cases) {
      const before = await status(page);
      await uploadDocument(page, c);
      const shown = await nextStatus(page, before, `a message after opening ${c.name}`);
      assert.equal(shown.kind, 'error', `${c.name}: ${shown.text}`);
      assert.ok(shown.text.includes(c.name), `the message names ${c.name}: ${shown.text}`);
      assert.match(shown.text, c.why, `the message says what is wrong with ${c.name}: ${shown.text}`);
      assert.deepEqual((await nodeIds(page)).sort(), ids, `nothing lost after ${c.name}`);
    }
  }),
);

test(
  'a component YAML dropped on the canvas, or fetched from a URL, becomes a task',
  { timeout: 180_000 },
  e2e('import-drop-url', async (app, t) => {
    // A URL that is not there (HTTP 404) is tried on purpose; the browser logs it.
    app.expectErrors(/Failed to load resource.*status of 404/);
    const { page } = app;
    await openApp(app, '');
    await page.locator('[data-testid=btn-examples]').click();
    await page.locator('[data-testid=example-pytorch-text-classification]').click();
    await until(async () => (await nodeIds(page)).length > 5, 'the seed example opened');
    const n = (await nodeIds(page)).length;

    const box = await page.locator('[data-testid=canvas]').boundingBox();
    await dropFile(page, { name: 'generate_mar_file.yaml', text: COMPONENT }, { x: box.x + 80, y: box.y + box.height - 80 });
    await expectNodeCount(page, n + 1);
    assert.match((await status(page)).text, /generate_mar_file\.yaml/);

    // A URL on a server that allows cross-origin requests (as raw.githubusercontent.com does).
    const server = createServer((req, res) => {
      res.setHeader('Access-Control-Allow-Origin', '*');
      if (req.url === '/component.yaml') {
        res.setHeader('Content-Type', 'text/yaml');
        res.end(COMPONENT);
      } else {
        res.statusCode = 404;
        res.end('not found');
      }
    });
    await new Promise((r) => server.listen(0, '127.0.0.1', r));
    t.after(() => server.close());
    const base = `http://127.0.0.1:${server.address().port}`;

    await page.locator('[data-testid=btn-import-url]').click();
    await page.locator('[data-testid=input-import-url]').fill(`${base}/component.yaml`);
    await page.locator('[data-testid=btn-import-url-go]').click();
    await expectNodeCount(page, n + 2);

    const before = await status(page);
    await page.locator('[data-testid=btn-import-url]').click();
    await page.locator('[data-testid=input-import-url]').fill(`${base}/missing.yaml`);
    await page.locator('[data-testid=btn-import-url-go]').click();
    const shown = await until(async () => {
      const s = await status(page);
      return s.seq > before.seq && s.kind === 'error' && s;
    }, 'an error for a missing URL');
    assert.match(shown.text, /missing\.yaml/);
    assert.match(shown.text, /404|not found/i);
    assert.equal((await nodeIds(page)).length, n + 2, 'nothing changed');
  }),
);

test(
  'loop and exit-handler frames from the palette compile to ParallelFor and an exit handler',
  { timeout: 180_000 },
  e2e('import-frames', async (app) => {
    const { page } = app;
    await openApp(app);
    const canvas = await page.locator('[data-testid=canvas]').boundingBox();
    // A loop frame, then a task dropped inside it.
    await drag(page, await centerOf(page.locator('[data-testid=palette-loop]')), {
      x: canvas.x + 200,
      y: canvas.y + 120,
    });
    const [loop] = await groupIds(page);
    assert.ok(loop, 'a loop frame was added');
    const items = page.locator('[data-testid=prop-loop-items]');
    await items.fill('[1, 2, 3]');
    await items.press('Enter');
    await items.blur();
    await page.locator('[data-testid=prop-loop-parallelism]').fill('2');
    await page.locator('[data-testid=prop-loop-parallelism]').blur();
    const frame = await page.locator(`[data-testid=group-${loop}]`).boundingBox();
    const item = page.locator('[data-testid=palette-build-container-image]');
    await drag(page, await centerOf(item), { x: frame.x + frame.width / 2, y: frame.y + frame.height / 2 });
    await expectNodeCount(page, 1);
    assert.match((await status(page)).text, /inside loop/, 'the task went into the loop');
    // Its inputs: one reads the loop item, the others are values.
    await page.locator('[data-testid=prop-training_image_uri-mode]').selectOption('loop');
    await until(
      async () => /loop item/.test((await page.locator('[data-testid=prop-training_image_uri-special]').textContent()) ?? ''),
      'the input reads the loop item',
    );
    await setProp(page, 'project', 'my-project');
    await setProp(page, 'gs_train_src_path', 'gs://bucket/src');
    const spec = await specText(page);
    assert.match(spec, /comp-for-loop-\d/, `the loop compiles to a for-loop sub-DAG: ${spec.slice(0, 400)}`);
    assert.match(spec, /pipelinechannel--loop-item-param-\d/, 'the task reads the loop item');
    assert.match(spec, /parallelismLimit/, 'with its parallelism');
    assert.match(spec, /\[1,\s*2,\s*3\]|"\[1, 2, 3\]"/, 'over the literal list');

    // An exit handler needs an exit task: the panel says so until one is chosen.
    await drag(page, await centerOf(page.locator('[data-testid=palette-exit-handler]')), {
      x: canvas.x + 200,
      y: canvas.y + 560,
    });
    await until(async () => (await groupIds(page)).length === 2, 'an exit handler frame was added');
    const diag = page.locator('[data-testid=group-properties]');
    await until(async () => /choose the exit task/.test((await diag.textContent()) ?? ''), 'the exit handler asks for its exit task');
  }),
);

test(
  'a loop over artifacts opens, binds its item to an artifact input, and compiles to an artifact iterator',
  { timeout: 180_000 },
  e2e('import-artifact-loop', async (app) => {
    const { page } = app;
    await openApp(app);
    const text = readFileSync(path.join(REPO, 'tests', 'oracle', 'pipelines', 'artifact_loops.pipeline.json'), 'utf8');
    const doc = JSON.parse(text);
    await uploadDocument(page, { name: 'artifact_loops.pipeline.json', text });
    await until(async () => (await nodeIds(page)).length === doc.nodes.length, 'the pipeline opened');
    const spec = await specText(page);
    assert.match(spec, /artifactIterator/, 'the live spec iterates artifacts');
    // The task in the loop over the sub-pipeline's datasets reads the loop item.
    const inLoop = doc.nodes.find((n) => n.inputs && n.inputs.d && n.inputs.d.loopItem);
    await selectNode(page, inLoop.id);
    const item = page.locator('[data-testid=prop-d-loop-item]');
    await until(async () => await item.isChecked(), 'the artifact input shows it reads the loop item');
    // Unbinding it is an error on that input; binding it again clears the error.
    await item.uncheck();
    await until(
      async () => /required input "d"/.test((await page.locator('[data-testid=prop-d-diagnostic]').textContent()) ?? ''),
      'the unbound artifact input is reported',
    );
    await item.check();
    await until(async () => (await page.locator('[data-testid=prop-d-diagnostic]').count()) === 0, 'the error is gone');
  }),
);

test(
  'a condition inside a loop reads the loop item: offered as a value, typed by the loop, mistakes explained',
  { timeout: 180_000 },
  e2e('import-loop-conditions', async (app) => {
    const { page } = app;
    await openApp(app);
    const text = readFileSync(path.join(REPO, 'tests', 'oracle', 'pipelines', 'loop_conditions.pipeline.json'), 'utf8');
    const doc = JSON.parse(text);
    await uploadDocument(page, { name: 'loop_conditions.pipeline.json', text });
    await until(async () => (await nodeIds(page)).length === doc.nodes.length, 'the pipeline opened');
    const cond = doc.groups.find((g) => g.kind.condition && g.kind.condition.expression === 'item > limit');
    const loop = doc.groups.find((g) => g.id === cond.parent);
    assert.equal(loop.kind.loop.itemType, 'NUMBER_INTEGER', 'the loop over a List[int] output is typed int');
    const itemCel = "int(inputs.parameter_values['pipelinechannel--nums-Output-loop-item']) > int(";
    assert.ok((await specText(page)).includes(itemCel), 'the live spec reads the int item');

    await page.locator(`[data-testid=group-${cond.id}] .group-name`).click();
    const expr = page.locator('[data-testid=prop-group-expression]');
    await until(async () => (await expr.inputValue()) === 'item > limit', 'the condition shows item > limit');
    const chips = page.locator('[data-testid=group-properties] .chip');
    await until(async () => (await chips.allTextContents()).includes('item'), 'the loop item is offered as a value');
    // A field written the Python way is explained.
    await expr.fill('item.x > limit');
    const error = page.locator('[data-testid=prop-group-expression-error]');
    await until(async () => /write item\['x'\]/.test((await error.textContent()) ?? ''), 'item.x is explained');
    await expr.fill('item > limit');
    await until(async () => (await error.count()) === 0, 'the error is gone');

    // The loop's item type decides how the condition reads the item.
    await page.locator(`[data-testid=group-${loop.id}] .group-name`).first().click();
    const itemType = page.locator('[data-testid=prop-loop-item-type]');
    await until(async () => (await itemType.inputValue()) === 'int', 'the loop shows its item type');
    await itemType.selectOption('str');
    await until(
      async () => (await specText(page)).includes("inputs.parameter_values['pipelinechannel--nums-Output-loop-item'] > int("),
      'the condition reads the item as a string',
    );
  }),
);
