// Nothing lost (issue 18): unsaved work comes back after a reload and in a new tab once the old
// one is closed; leaving with unsaved changes asks first; New and Examples are one Undo step.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { e2e, expectNodeCount, nodeIds, openApp, openExample, selectNode, status, unsavedCopy, until } from './harness.mjs';

const EXAMPLE = 'pytorch-text-classification';

test(
  'unsaved work survives a reload and a closed tab; leaving asks; New and Examples undo',
  { timeout: 180_000 },
  e2e('canvas-safety', async (app) => {
    const { page, server, context } = app;
    await openApp(app);
    const doc = (await server.api('GET', `/api/examples/${EXAMPLE}`)).json;
    await openExample(page, EXAMPLE);
    await expectNodeCount(page, doc.nodes.length);

    // An unsaved change: delete a task.
    const gone = doc.nodes[0].id;
    await selectNode(page, gone);
    await page.keyboard.press('Delete');
    await expectNodeCount(page, doc.nodes.length - 1);
    assert.match(await page.locator('[data-testid=save-state]').textContent(), /unsaved/);
    // The copy is written once changes pause, once: to this tab's slot in localStorage
    // (sessionStorage keeps only the tab's id, which names the slot).
    await page.waitForTimeout(700);
    const copy = await unsavedCopy(page);
    assert.equal(copy?.nodes?.length, doc.nodes.length - 1, 'the copy holds the change');
    assert.deepEqual(await page.evaluate(() => Object.keys(sessionStorage)), ['pipeline-canvas.tab']);

    // Reload: the page asks first, then the change is still there.
    await page.reload();
    assert.ok(app.dialogs.includes('beforeunload'), `leaving asked first: ${app.dialogs}`);
    await page.locator('[data-testid^=palette-]').first().waitFor({ state: 'visible', timeout: 30_000 });
    await expectNodeCount(page, doc.nodes.length - 1);
    assert.ok(!(await nodeIds(page)).includes(gone), 'the deleted task stays deleted');
    const recovered = await status(page);
    assert.match(recovered.text, /Recovered your unsaved changes/, recovered.text);

    // New is one Undo step: the pipeline comes back.
    await page.locator('[data-testid=btn-new]').click();
    await expectNodeCount(page, 0);
    await page.locator('[data-testid=btn-undo]').click();
    await expectNodeCount(page, doc.nodes.length - 1);

    // So is opening an example over it.
    await openExample(page, EXAMPLE);
    await expectNodeCount(page, doc.nodes.length);
    await page.keyboard.press('Control+z');
    await expectNodeCount(page, doc.nodes.length - 1);
    await page.waitForTimeout(700);

    // Close the tab (it asks), open the app in a new one: the work is there.
    const dialogsBefore = app.dialogs.length;
    await page.close({ runBeforeUnload: true });
    await until(() => app.dialogs.length > dialogsBefore, 'closing with unsaved changes asked first');
    const second = await context.newPage();
    app.watchDialogs(second);
    second.on('pageerror', (e) => app.errors.push(`pageerror: ${e.message}`));
    await openApp({ page: second, server });
    await expectNodeCount(second, doc.nodes.length - 1);
    assert.match((await status(second)).text, /Recovered/);

    // Saved work is not recovered again: after Save, a reload shows the saved pipeline.
    await second.locator('[data-testid=btn-save]').click();
    await until(async () => /saved/.test(await second.locator('[data-testid=save-state]').textContent()) &&
      !/unsaved/.test(await second.locator('[data-testid=save-state]').textContent()), 'saved');
    assert.equal(await unsavedCopy(second), null, 'saved work leaves no copy behind');
    const before = app.dialogs.length;
    await second.reload();
    await second.locator('[data-testid^=palette-]').first().waitFor({ state: 'visible', timeout: 30_000 });
    await expectNodeCount(second, doc.nodes.length - 1);
    assert.equal(app.dialogs.length, before, 'a saved pipeline reloads without asking');
    assert.doesNotMatch((await status(second)).text, /Recovered/);
  }),
);
