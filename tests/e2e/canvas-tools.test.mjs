// Canvas tools (issue 18): the context menu, duplicate, copy and paste (also into another tab),
// align, auto-layout, collapsing a frame, the minimap, the keyboard shortcut overlay and the
// light and dark themes following the operating system.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { openFile, syntheticDocument } from './canvas-bench.mjs';
import { ARTIFACTS, e2e, expectNodeCount, groupIds, nodeIds, openApp, openExample, selectNode, status, unsavedCopy, until, wireIds } from './harness.mjs';

const EXAMPLE = 'pytorch-text-classification';

test(
  'context menu, duplicate, copy and paste between tabs, align',
  { timeout: 180_000 },
  e2e('canvas-tools-edit', async (app) => {
    const { page, server, context } = app;
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.url });
    await openApp(app);
    const doc = (await server.api('GET', `/api/examples/${EXAMPLE}`)).json;
    const n = doc.nodes.length;
    await openExample(page, EXAMPLE);
    await expectNodeCount(page, n);

    // Right-click on a task: it becomes the selection and the menu opens there.
    await page.locator('[data-testid=node-n1]').click({ button: 'right' });
    const menu = page.locator('[data-testid=context-menu]');
    await menu.waitFor({ state: 'visible' });
    assert.match((await page.locator('[data-testid=node-n1]').getAttribute('class')) ?? '', /\bselected\b/);
    // One task selected: aligning needs two, so those entries are off.
    assert.ok(await page.locator('[data-testid=menu-align-left]').isDisabled(), 'align needs two');
    await page.locator('[data-testid=menu-duplicate]').click();
    await expectNodeCount(page, n + 1);
    assert.equal(await menu.count(), 0, 'the menu closes after an action');
    // The copy is one Undo step.
    await page.keyboard.press('Control+z');
    await expectNodeCount(page, n);

    // Escape closes the menu without doing anything.
    await page.locator('[data-testid=node-n2]').click({ button: 'right' });
    await menu.waitFor({ state: 'visible' });
    await page.keyboard.press('Escape');
    await until(async () => (await menu.count()) === 0, 'Escape closed the menu');
    await expectNodeCount(page, n);

    // Ctrl+D duplicates too.
    await selectNode(page, 'n3');
    await page.keyboard.press('Control+d');
    await expectNodeCount(page, n + 1);
    await page.keyboard.press('Control+z');
    await expectNodeCount(page, n);

    // Copy two wired tasks with Ctrl+C, paste them with Ctrl+V: new tasks, the wire between them.
    const before = new Set(await nodeIds(page));
    const wiresBefore = (await wireIds(page)).length;
    await selectNode(page, 'n2');
    await page.locator('[data-testid=node-n3]').click({ modifiers: ['Shift'] });
    await page.keyboard.press('Control+c');
    assert.match((await status(page)).text, /Copied 2 items/);
    await page.mouse.move(300, 700);
    await page.keyboard.press('Control+v');
    await expectNodeCount(page, n + 2);
    const pasted = (await nodeIds(page)).filter((id) => !before.has(id));
    assert.equal(pasted.length, 2, `two new tasks: ${pasted}`);
    for (const id of pasted) {
      assert.match((await page.locator(`[data-testid=node-${id}]`).getAttribute('class')) ?? '', /\bselected\b/, 'the pasted tasks are selected');
    }
    await until(async () => (await wireIds(page)).length === wiresBefore + 1, 'the wire between the copied tasks came along');

    // Align the two pasted tasks (still selected; a right-click on one keeps the selection):
    // left edges on the leftmost.
    const xs = async () =>
      Promise.all(pasted.map(async (id) => (await page.locator(`[data-testid=node-${id}]`).boundingBox()).x));
    const [a0, b0] = await xs();
    assert.notEqual(Math.round(a0), Math.round(b0), 'not lined up yet');
    await page.locator(`[data-testid=node-${pasted[0]}]`).click({ button: 'right' });
    await page.locator('[data-testid=menu-align-left]').click();
    await until(async () => {
      const [a, b] = await xs();
      return Math.abs(a - b) < 1 && Math.abs(Math.min(a0, b0) - a) < 1;
    }, 'left edges lined up on the leftmost');

    // Lay out the pipeline from the keyboard menu (nothing selected): the pasted pair, wired one
    // into the other, goes into two columns again; one Undo puts it back.
    await page.keyboard.press('Escape');
    await page.keyboard.press('Shift+F10');
    await page.locator('[data-testid=menu-layout-all]').click();
    await until(async () => {
      const [a, b] = await xs();
      return Math.abs(a - b) > 50;
    }, 'the laid-out pair is in two columns');
    await page.keyboard.press('Control+z');
    await until(async () => {
      const [a, b] = await xs();
      return Math.abs(a - b) < 1;
    }, 'Undo put the aligned pair back');

    // Paste into a second tab: the clipboard holds a pipeline fragment.
    const second = await context.newPage();
    second.on('pageerror', (e) => app.errors.push(`pageerror: ${e.message}`));
    await openApp({ page: second, server });
    const there = (await nodeIds(second)).length;
    await second.mouse.move(600, 400);
    await second.keyboard.press('Control+v');
    await expectNodeCount(second, there + 2);
    await second.close();
  }),
);

test(
  'collapse a frame, the minimap, the shortcut overlay and the keyboard menu',
  { timeout: 120_000 },
  e2e('canvas-tools-view', async (app) => {
    const { page, server } = app;
    await openApp(app);
    const doc = (await server.api('GET', `/api/examples/${EXAMPLE}`)).json;
    const n = doc.nodes.length;
    const inFrame = doc.nodes.filter((x) => x.group === 'g1').length;
    await openExample(page, EXAMPLE);
    await expectNodeCount(page, n);

    // Collapse the frame: its tasks are not drawn, its title bar says how many are hidden.
    await page.locator('[data-testid=group-toggle-g1]').click();
    await expectNodeCount(page, n - inFrame);
    assert.equal(
      (await page.locator('[data-testid=group-g1] [data-testid=group-hidden]').textContent()).trim(),
      `${inFrame} tasks hidden`,
    );
    assert.equal(await page.locator('[data-testid=group-toggle-g1]').getAttribute('aria-expanded'), 'false');
    await page.locator('[data-testid=group-toggle-g1]').click();
    await expectNodeCount(page, n);
    assert.equal(await page.locator('[data-testid=group-g1] [data-testid=group-hidden]').isVisible(), false);

    // The minimap (off at start; the Map button shows it): pressing in a corner of it moves
    // the view there.
    const minimap = page.locator('[data-testid=minimap]');
    assert.equal(await minimap.count(), 0);
    await page.locator('[data-testid=btn-minimap]').click();
    await minimap.waitFor({ state: 'visible' });
    const view = page.locator('[data-testid=minimap-view]');
    const x0 = Number(await view.getAttribute('x'));
    const box = await minimap.boundingBox();
    await page.mouse.click(box.x + box.width - 4, box.y + box.height / 2);
    await until(async () => Number(await view.getAttribute('x')) > x0 + 10, 'the view moved right');
    // M hides it and shows it again.
    await page.keyboard.press('m');
    await until(async () => (await minimap.count()) === 0, 'M hid the minimap');
    await page.keyboard.press('m');
    await minimap.waitFor({ state: 'visible' });

    // ? opens the shortcut overlay, Escape closes it.
    await page.keyboard.press('?');
    const overlay = page.locator('[data-testid=shortcuts]');
    await overlay.waitFor({ state: 'visible' });
    assert.match(await overlay.textContent(), /Duplicate the selection/);
    await page.keyboard.press('Escape');
    await until(async () => (await overlay.count()) === 0, 'Escape closed the overlay');

    // Shift+F10 opens the menu for the selection from the keyboard, its first entry focused.
    await page.locator('[data-testid=btn-fit]').click();
    await selectNode(page, 'n2');
    await page.keyboard.press('Shift+F10');
    const menu = page.locator('[data-testid=context-menu]');
    await menu.waitFor({ state: 'visible' });
    await until(
      async () => (await page.evaluate(() => document.activeElement?.getAttribute('role'))) === 'menuitem',
      'a menu entry has the focus',
    );
    await page.keyboard.press('Escape');
    await until(async () => (await menu.count()) === 0, 'Escape closed the menu');
    await expectNodeCount(page, n);
  }),
);

test(
  'the theme follows the operating system: light and dark',
  { timeout: 60_000 },
  e2e('canvas-theme', async (app) => {
    const { page } = app;
    const background = () => page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    // Relative luminance of an rgb() colour, 0 (black) to 1 (white).
    const light = (rgb) => {
      const [r, g, b] = rgb.match(/\d+/g).map(Number);
      return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255;
    };
    await page.emulateMedia({ colorScheme: 'dark' });
    await openApp(app);
    await openExample(page, EXAMPLE);
    assert.ok(light(await background()) < 0.2, `dark: ${await background()}`);
    await page.screenshot({ path: `${ARTIFACTS}/theme-dark.png` });
    await page.emulateMedia({ colorScheme: 'light' });
    await until(async () => light(await background()) > 0.8, 'the light theme applies at once');
    await page.waitForTimeout(400); // the controls' colour transitions
    await page.screenshot({ path: `${ARTIFACTS}/theme-light.png` });
    // Text stays readable: dark text on the light panels.
    const text = await page.evaluate(() => getComputedStyle(document.body).color);
    assert.ok(light(text) < 0.3, `text in the light theme: ${text}`);
  }),
);

test(
  'palette items are added from the keyboard',
  { timeout: 60_000 },
  e2e('canvas-palette-keys', async (app) => {
    const { page } = app;
    await openApp(app);
    // / focuses the search; Tab moves on to the first palette item; Enter adds it.
    await page.locator('[data-testid=canvas]').click({ position: { x: 300, y: 300 } });
    await page.keyboard.press('/');
    await until(
      async () => (await page.evaluate(() => document.activeElement?.getAttribute('data-testid'))) === 'search-components',
      '/ focused the palette search',
    );
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('data-testid')), 'palette-condition');
    await page.keyboard.press('Enter');
    await until(async () => (await groupIds(page)).length === 1, 'Enter added a condition frame');
    // A component: focus its item, Space adds a task.
    const item = page.locator('[data-testid^=palette-]:not([data-testid=palette-condition]):not([data-testid=palette-loop]):not([data-testid=palette-exit-handler]):not([data-testid^=palette-star-])').nth(1);
    await item.focus();
    await page.keyboard.press(' ');
    await expectNodeCount(page, 1);
    await page.keyboard.press('Control+z');
    await expectNodeCount(page, 0);
  }),
);

test(
  'a two-task pipeline built from the keyboard alone: add, wire, edit',
  { timeout: 90_000 },
  e2e('canvas-keyboard-build', async (app) => {
    const { page } = app;
    await openApp(app);
    const active = () => page.evaluate(() => document.activeElement?.getAttribute('data-testid') ?? document.activeElement?.tagName);
    /** Presses Tab until the element `testid` has the focus (at most 150 times). */
    const tabTo = async (testid) => {
      for (let i = 0; i < 150; i++) {
        if ((await active()) === testid) return;
        await page.keyboard.press('Tab');
      }
      throw new Error(`Tab never reached ${testid}; the focus is on ${await active()}`);
    };
    /** Searches the palette for `text` and adds the item `id` with Enter. */
    const add = async (text, id) => {
      await page.keyboard.press('/');
      await until(async () => (await active()) === 'search-components', '/ focused the palette search');
      await page.keyboard.press('Control+a');
      await page.keyboard.type(text);
      await tabTo(`palette-${id}`);
      await page.keyboard.press('Enter');
    };
    await add('endpoint', 'endpoint-create');
    await expectNodeCount(page, 1);
    await add('deploy', 'model-deploy');
    await expectNodeCount(page, 2);
    // The new task is selected: its properties are a Tab away; its endpoint input is connected
    // from the list of the outputs that can feed it (only the endpoint's: the type decides).
    await tabTo('connect-endpoint');
    const options = await page.locator('[data-testid=connect-endpoint] option').allTextContents();
    assert.deepEqual(options, ['Connect from…', 'endpoint-create.endpoint (google.VertexEndpoint)'], 'only the compatible output');
    await page.keyboard.press('ArrowDown');
    await until(async () => (await wireIds(page)).length === 1, 'the wire was made');
    assert.match((await status(page)).text, /Connected endpoint-create\.endpoint → model-deploy\.endpoint/);
    assert.match(await page.locator('[data-testid=prop-endpoint]').textContent(), /wired from endpoint-create\.endpoint/);
    // The model input has no compatible output here.
    await tabTo('connect-model');
    assert.deepEqual(await page.locator('[data-testid=connect-model] option').allTextContents(), ['Connect from…', 'no compatible output']);
    // Undo from the keyboard, right there, takes the wire back.
    await page.keyboard.press('Control+z');
    await until(async () => (await wireIds(page)).length === 0, 'undo removed the wire');
    await expectNodeCount(page, 2);
  }),
);

test(
  'palette search covers every item, word by word, and says when nothing matches',
  { timeout: 60_000 },
  e2e('canvas-palette-search', async (app) => {
    const { page } = app;
    await openApp(app);
    const search = page.locator('[data-testid=search-components]');
    const shown = (testid) => page.locator(`[data-testid=${testid}]`).isVisible();
    // Control flow is searched too.
    await search.fill('loop');
    await until(async () => !(await shown('palette-condition')), 'the condition is filtered out');
    assert.ok(await shown('palette-loop'));
    assert.equal(await page.locator('[data-testid=components-empty]').count(), 0);
    // Words match anywhere, in any order; the tooltip tells the interface.
    await search.fill('endpoint deploy');
    await until(async () => await shown('palette-model-deploy'), 'deploy matches');
    assert.ok(!(await shown('palette-loop')) && !(await shown('palette-endpoint-create')));
    assert.match(await page.locator('[data-testid=palette-model-deploy]').getAttribute('title'), /\d+ inputs · \d+ outputs · model-deploy/);
    // Nothing matches: said so.
    await search.fill('no such thing');
    await until(async () => await shown('components-empty'), 'no match is said');
    assert.match(await page.locator('[data-testid=components-empty]').textContent(), /No component matches “no such thing”/);
    await search.fill('');
    await until(async () => await shown('palette-condition'), 'all shown again');
    await expectNodeCount(page, 0);
  }),
);

test(
  'favourite components are listed first and kept in the browser',
  { timeout: 60_000 },
  e2e('canvas-favourites', async (app) => {
    const { page } = app;
    await openApp(app);
    const favourites = () => page.locator('[data-testid^=favourite-]:not([data-testid^=favourite-star-])');
    assert.equal(await favourites().count(), 0, 'none at first');
    // The star of a component: it is listed under Favourites, first, and still in its category.
    const first = page.locator('[data-testid^=palette-star-]').nth(2);
    const id = (await first.getAttribute('data-testid')).slice('palette-star-'.length);
    await first.click();
    await until(async () => (await favourites().count()) === 1, 'one favourite');
    assert.equal(await favourites().first().getAttribute('data-testid'), `favourite-${id}`);
    const firstCategory = (await page.locator('.palette-cat-title').nth(1).textContent()).trim();
    assert.ok(firstCategory.startsWith('Favourites'), `after control flow: ${firstCategory}`);
    assert.equal(await page.locator(`[data-testid="palette-${id}"]`).count(), 1, 'still in its category');
    assert.equal(await page.locator(`[data-testid="palette-star-${id}"]`).getAttribute('aria-pressed'), 'true');
    // F on a focused item toggles too.
    const other = page.locator('[data-testid^=palette-star-]').nth(4);
    const otherId = (await other.getAttribute('data-testid')).slice('palette-star-'.length);
    await page.locator(`[data-testid="palette-${otherId}"]`).focus();
    await page.keyboard.press('f');
    await until(async () => (await favourites().count()) === 2, 'F added a favourite');
    // The search filters favourites like everything else; kept across a reload.
    await page.reload();
    await openApp(app);
    await until(async () => (await favourites().count()) === 2, 'kept after a reload');
    // Enter on a favourite adds its task; the star again removes it.
    await favourites().first().focus();
    await page.keyboard.press('Enter');
    await expectNodeCount(page, 1);
    await page.locator(`[data-testid="favourite-star-${id}"]`).click();
    await until(async () => (await favourites().count()) === 1, 'the star removed it');
  }),
);

test(
  'comments: a Markdown note on a task moves with it, is edited in place, saved and undone',
  { timeout: 90_000 },
  e2e('canvas-comments', async (app) => {
    const { page, server, context } = app;
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.url });
    await openApp(app);
    await openExample(page, EXAMPLE);
    const menu = page.locator('[data-testid=context-menu]');

    // On a task: "Comment on the task" adds a note above it, open for writing.
    await page.locator('[data-testid=node-n1]').click({ button: 'right' });
    await menu.waitFor({ state: 'visible' });
    assert.equal((await page.locator('[data-testid=menu-comment]').textContent()).trim(), 'Comment on the task');
    await page.locator('[data-testid=menu-comment]').click();
    const note = page.locator('[data-testid=comment-c1]');
    const field = note.locator('[data-testid=comment-text]');
    await field.waitFor();
    await until(async () => (await page.evaluate(() => document.activeElement?.getAttribute('data-testid'))) === 'comment-text', 'the new note has the focus');
    await field.fill('**Threshold** chosen from the eval set\n- see `eval_acc_threshold`');
    // Delete while writing is text editing, not a canvas command.
    await page.keyboard.press('End');
    await page.keyboard.press('Delete');
    await page.keyboard.press('Control+Enter');
    const body = note.locator('[data-testid=comment-body]');
    await body.waitFor();
    assert.equal(await body.locator('strong').textContent(), 'Threshold');
    assert.equal(await body.locator('li code').textContent(), 'eval_acc_threshold');
    assert.match(await note.textContent(), /Comment on /);
    assert.equal(await page.locator('[data-testid=node-n1]').count(), 1, 'the task is still there');

    // Attached: it moves with its task.
    const before = await note.boundingBox();
    const header = page.locator('[data-testid=node-header-n1]');
    const h = await header.boundingBox();
    await page.mouse.move(h.x + 20, h.y + h.height / 2);
    await page.mouse.down();
    await page.mouse.move(h.x + 120, h.y + h.height / 2 + 60, { steps: 8 });
    await page.mouse.up();
    await until(async () => {
      const after = await note.boundingBox();
      return Math.abs(after.x - before.x - 100) < 2 && Math.abs(after.y - before.y - 60) < 2;
    }, 'the note followed its task');

    // Its bar moves it alone (one Undo step).
    const moved = await note.boundingBox();
    const bar = note.locator('.comment-bar');
    const b = await bar.boundingBox();
    await page.mouse.move(b.x + 30, b.y + b.height / 2);
    await page.mouse.down();
    await page.mouse.move(b.x + 30 - 80, b.y + b.height / 2 - 40, { steps: 6 });
    await page.mouse.up();
    await until(async () => Math.abs((await note.boundingBox()).x - (moved.x - 80)) < 2, 'the note moved by its bar');
    await page.keyboard.press('Control+z');
    await until(async () => Math.abs((await note.boundingBox()).x - moved.x) < 2, 'Undo put it back');

    // Saved with the pipeline and read back; the compiled spec has no trace of it.
    await page.keyboard.press('Control+s');
    await until(async () => /Saved/.test((await status(page)).text), 'saved');
    const saved = (await server.api('GET', '/api/pipelines')).json;
    const stored = (await server.api('GET', `/api/pipelines/${saved[0].id}`)).json;
    assert.equal(stored.comments.length, 1);
    assert.equal(stored.comments[0].node, 'n1');
    assert.match(stored.comments[0].text, /\*\*Threshold\*\*/);
    const compiled = await server.api('POST', '/api/compile', JSON.stringify(stored));
    assert.ok(!JSON.stringify(compiled.json).includes('Threshold'), 'not in the spec');
    // Reload: the URL's hash names the saved pipeline.
    await page.reload();
    await until(async () => (await page.locator('[data-testid=comment-c1] strong').count()) === 1, 'the note is back after a reload', 30_000);

    // Escape drops a change; Delete on the focused note removes it, Ctrl+Z brings it back.
    await page.locator('[data-testid=comment-c1] [data-testid=comment-body]').dblclick();
    await page.locator('[data-testid=comment-text]').fill('changed');
    await page.keyboard.press('Escape');
    await until(async () => (await page.locator('[data-testid=comment-c1] strong').count()) === 1, 'Escape kept the old text');
    await page.locator('[data-testid=comment-c1] [data-testid=comment-body]').focus();
    await page.keyboard.press('Delete');
    await until(async () => (await page.locator('[data-testid=comment-c1]').count()) === 0, 'Delete removed the note');
    assert.equal(await page.locator('[data-testid=node-n1]').count(), 1, 'and only the note');
    await page.keyboard.press('Control+z');
    await page.locator('[data-testid=comment-c1]').waitFor();

    // Copy and paste the task: its note comes along, on the copy (a new note, the same text).
    await selectNode(page, 'n1');
    const ids = new Set(await nodeIds(page));
    await page.keyboard.press('Control+c');
    await page.mouse.move(500, 650);
    await page.keyboard.press('Control+v');
    const copy = await until(async () => (await nodeIds(page)).find((id) => !ids.has(id)), 'the task was pasted');
    const pastedNote = page.locator('[data-testid=comment-c2]');
    await until(async () => (await pastedNote.locator('strong').count()) === 1, 'the note came along');
    assert.equal(await page.locator('[data-testid=comment-c1] strong').count(), 1, 'the original note stays');
    // In the document (the tab's unsaved copy), the new note is on the pasted task.
    const notes = await until(async () => {
      const doc = await unsavedCopy(page);
      return doc?.comments?.length === 2 ? doc.comments : null;
    }, 'the unsaved copy holds both notes');
    assert.deepEqual(
      notes.map((c) => [c.id, c.node]),
      [
        ['c1', 'n1'],
        ['c2', copy],
      ],
    );
  }),
);

test(
  'a sub-pipeline task opens to show the tasks inside it, and its wires follow its new edge',
  { timeout: 120_000 },
  e2e('canvas-sub-pipeline', async (app) => {
    const { page } = app;
    await openApp(app);
    // A pipeline whose first task runs a sub-pipeline of 6 tasks (wired in a chain, a frame
    // around five of them); the second task reads its output.
    const sub = syntheticDocument(6);
    for (const n of sub.nodes) n.position = { x: n.position.x * 1.5, y: 40 };
    Object.assign(sub.groups[0], { position: { x: 330, y: 0 }, size: { width: 2000, height: 200 } });
    sub.outputs = [{ name: 'total', from: [{ node: 'n0', port: 'sum' }] }];
    const doc = syntheticDocument(1);
    doc.name = 'outer';
    doc.components.chain = {
      name: 'chain',
      inputDefinitions: { parameters: { threshold: { parameterType: 'NUMBER_INTEGER', isOptional: true, defaultValue: 3 } } },
      outputDefinitions: { parameters: { total: { parameterType: 'NUMBER_INTEGER' } } },
      pipeline: sub,
    };
    doc.nodes = [
      { id: 'n1', name: 'chain', component: 'chain', position: { x: 40, y: 40 } },
      { id: 'n2', name: 'add', component: 'add', position: { x: 360, y: 40 } },
    ];
    doc.wires = [{ id: 'w1', from: { node: 'n1', port: 'total' }, to: { node: 'n2', port: 'a' } }];
    await openFile(page, 'outer.pipeline.json', JSON.stringify(doc), 2);

    const node = page.locator('[data-testid=node-n1]');
    const toggle = page.locator('[data-testid=node-open-n1]');
    const inner = node.locator('[data-testid=node-inner]');
    assert.equal(await toggle.getAttribute('aria-expanded'), 'false');
    assert.equal(await toggle.getAttribute('aria-label'), 'Show the 6 tasks inside');
    assert.equal(await inner.count(), 0, 'closed: no drawing');
    assert.equal(await page.locator('[data-testid=node-open-n2]').count(), 0, 'a plain task has no toggle');
    // World geometry from the node's style, and where the wire out of it starts.
    const styleBox = async (loc) =>
      loc.evaluate((e) => ({ x: parseFloat(e.style.left), y: parseFloat(e.style.top), w: parseFloat(e.style.width), h: parseFloat(e.style.height) }));
    const wireStart = async () => {
      const d = await page.locator('[data-testid=wire-w1] path').first().getAttribute('d');
      return Number(/^M\s*(-?[\d.]+)/.exec(d)[1]);
    };
    const closed = await styleBox(node);
    assert.equal(closed.w, 240);
    assert.equal(await wireStart(), closed.x + closed.w, 'the wire leaves the right edge');

    // Open: the six tasks, the frame and the five wires inside are drawn; the box grows and the
    // wire out of it leaves its new right edge.
    await toggle.click();
    await inner.waitFor();
    assert.equal(await toggle.getAttribute('aria-expanded'), 'true');
    const labels = await inner.locator('[data-inner-task]').evaluateAll((els) => els.map((e) => e.getAttribute('data-inner-task')));
    assert.deepEqual(labels, ['add-0', 'add-1', 'add-2', 'add-3', 'add-4', 'add-5']);
    assert.equal(await inner.locator('.inner-frame').count(), 1);
    assert.equal(await inner.locator('.inner-link').count(), sub.wires.length);
    const open = await styleBox(node);
    assert.ok(open.w > closed.w && open.h > closed.h, `${JSON.stringify(open)} > ${JSON.stringify(closed)}`);
    await until(async () => (await wireStart()) === open.x + open.w, 'the wire follows the open edge');
    // No two inner tasks at one place.
    const spots = await inner.locator('.inner-task rect').evaluateAll((els) => els.map((e) => `${e.getAttribute('x')},${e.getAttribute('y')}`));
    assert.equal(new Set(spots).size, 6, spots.join(' '));

    // Laying out the pipeline makes room for the open task.
    await page.keyboard.press('Escape');
    await page.keyboard.press('Shift+F10');
    await page.locator('[data-testid=menu-layout-all]').click();
    await until(async () => {
      const [a, b] = [await styleBox(node), await styleBox(page.locator('[data-testid=node-n2]'))];
      return b.x >= a.x + a.w;
    }, 'the next task is placed past the open one');

    // Kept in the document (the tab's unsaved copy), never in the spec.
    const saved = await until(async () => {
      const d = await unsavedCopy(page);
      return d?.nodes?.[0]?.expanded ? d : null;
    }, 'the open task is in the unsaved copy');
    const compiled = await app.server.api('POST', '/api/compile', JSON.stringify(saved));
    assert.equal(compiled.status, 200, compiled.text.slice(0, 300));
    assert.ok(!compiled.text.includes('expanded'), 'not in the spec');

    // The context menu closes it; Undo opens it again.
    await node.locator('[data-testid=node-header-n1]').click({ button: 'right' });
    const entry = page.locator('[data-testid=menu-open-sub]');
    assert.equal((await entry.textContent()).trim(), 'Hide tasks inside');
    await entry.click();
    await until(async () => (await inner.count()) === 0, 'closed from the menu');
    await until(async () => (await wireStart()) === (await styleBox(node)).x + 240, 'the wire is back on the closed edge');
    await page.keyboard.press('Control+z');
    await inner.waitFor();
  }),
);
