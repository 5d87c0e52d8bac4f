// The compile worker (frontend/src/compile_worker.rs): the page's wasm runs again in a module
// Worker that compiles the document off the main thread; its answers update the problems list
// and the Spec tab's JSON, answers made stale by a newer edit are dropped, and without a worker
// the page compiles on the main thread as before.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { e2e, openApp, until } from './harness.mjs';

/** The problems list's revision (counts the compiles shown) and whether a compile waits. */
async function compileState(page) {
  return page.evaluate(() => {
    const list = document.querySelector('[data-testid=diagnostics]');
    return { rev: Number(list?.getAttribute('data-rev')), pending: list?.getAttribute('data-pending') === 'true' };
  });
}

/** Types `value` into the Pipeline tab's name field (one input event) and waits for its compile. */
async function rename(page, value) {
  const before = (await compileState(page)).rev;
  await page.locator('[data-testid=tab-pipeline]').click();
  await page.locator('[data-testid=pipeline-name]').fill(value);
  await until(async () => {
    const s = await compileState(page);
    return s.rev > before && !s.pending;
  }, `the rename to ${value} is compiled`);
}

/** The problems list's messages. */
async function problems(page) {
  return page.locator('[data-testid=diagnostics] li').allTextContents();
}

/** The Spec tab's text (JSON), shown. */
async function specText(page) {
  await page.locator('[data-testid=tab-spec]').click();
  await page.locator('[data-testid=spec-format-json]').click();
  return page.locator('[data-testid=spec-text]').textContent();
}

/** Edits update the problems list and the Spec tab's JSON, whoever compiles. */
async function editsAreCompiled(page) {
  await rename(page, 'Not A Valid Name!');
  await until(async () => (await problems(page)).some((p) => /name/i.test(p)), 'the bad name is a problem');
  assert.match(await specText(page), /does not compile yet/, 'no spec while the name is wrong');
  await rename(page, 'worker-check');
  await until(async () => (await problems(page)).every((p) => !/name/i.test(p)), 'the name problem is gone');
  const spec = JSON.parse(await specText(page));
  assert.equal(spec.pipelineInfo.name, 'worker-check', 'the spec has the new name');
}

test(
  'the compile runs in a worker; its answers update the problems and the spec, stale ones are dropped',
  { timeout: 120_000 },
  e2e('worker-compile', async (app) => {
    const { page } = app;
    const warnings = [];
    page.on('console', (m) => m.type() === 'warning' && warnings.push(m.text()));
    // Counts the worker's answers, and can hold one back (to make it stale).
    await page.addInitScript(() => {
      const Native = window.Worker;
      window.__answers = [];
      window.__holdNextAnswer = 0;
      window.Worker = class extends Native {
        set onmessage(handler) {
          super.onmessage = (e) => {
            window.__answers.push(e.data?.rev);
            const hold = window.__holdNextAnswer;
            window.__holdNextAnswer = 0;
            if (hold) setTimeout(() => handler.call(this, e), hold);
            else handler.call(this, e);
          };
        }
        get onmessage() {
          return super.onmessage;
        }
      };
    });
    await openApp(app);
    await until(() => page.workers().length === 1, 'a worker is running');
    assert.match(page.workers()[0].url(), /^blob:/, 'the worker is the page’s module script');

    await editsAreCompiled(page);
    assert.ok((await page.evaluate(() => window.__answers.length)) >= 2, 'the worker answered the edits');

    // Two quick edits: the first one's answer is held back until the second edit was made, so
    // it arrives stale and must not be shown; the second one's is.
    await page.locator('[data-testid=tab-pipeline]').click();
    const shown = await page.evaluate(async () => {
      const field = document.querySelector('[data-testid=pipeline-name]');
      const list = document.querySelector('[data-testid=diagnostics]');
      const type = (v) => {
        field.value = v;
        field.dispatchEvent(new Event('input', { bubbles: true }));
      };
      // The revisions shown (the spec is read below).
      const seen = [];
      const observer = new MutationObserver(() => seen.push(Number(list.getAttribute('data-rev'))));
      observer.observe(list, { attributes: true, attributeFilter: ['data-rev'] });
      const answers = window.__answers.length;
      window.__holdNextAnswer = 300;
      type('first-name');
      // Its compile is sent after the event; the second edit comes before the answer.
      await new Promise((r) => setTimeout(r, 50));
      type('second-name');
      const deadline = performance.now() + 20_000;
      while (
        (window.__answers.length < answers + 2 || list.getAttribute('data-pending') === 'true') &&
        performance.now() < deadline
      ) {
        await new Promise((r) => setTimeout(r, 10));
      }
      await new Promise((r) => setTimeout(r, 200));
      observer.disconnect();
      return { seen, answers: window.__answers.slice(answers), rev: Number(list.getAttribute('data-rev')) };
    });
    assert.equal(shown.answers.length, 2, `one answer per edit: ${JSON.stringify(shown)}`);
    assert.deepEqual(shown.seen, [shown.answers[1]], `only the second edit's answer is shown: ${JSON.stringify(shown)}`);
    assert.equal(shown.rev, shown.answers[1]);
    const spec = JSON.parse(await specText(page));
    assert.equal(spec.pipelineInfo.name, 'second-name', 'the spec is the latest edit’s');
    assert.deepEqual(
      warnings.filter((w) => /main thread/.test(w)),
      [],
      'no fallback to the main thread',
    );
  }),
);

test(
  'without workers the page compiles on the main thread',
  { timeout: 120_000 },
  e2e('worker-fallback', async (app) => {
    const { page } = app;
    const warnings = [];
    page.on('console', (m) => m.type() === 'warning' && warnings.push(m.text()));
    await page.addInitScript(() => {
      delete window.Worker;
    });
    await openApp(app);
    await editsAreCompiled(page);
    assert.equal(page.workers().length, 0, 'no worker');
    assert.equal(warnings.filter((w) => /compiles on the main thread/.test(w)).length, 1, 'said once');
  }),
);

test(
  'when the worker dies, the page compiles on the main thread',
  { timeout: 120_000 },
  e2e('worker-dies', async (app) => {
    const { page } = app;
    app.expectErrors(/worker-test-crash/);
    const warnings = [];
    page.on('console', (m) => m.type() === 'warning' && warnings.push(m.text()));
    await openApp(app);
    await until(() => page.workers().length === 1, 'a worker is running');
    const worker = page.workers()[0];
    // Once it has answered a compile, crash it.
    await rename(page, 'before-crash');
    await worker.evaluate(() => setTimeout(() => {
      throw new Error('worker-test-crash');
    }, 0));
    await until(() => warnings.some((w) => /compiles on the main thread/.test(w)), 'the page gave the worker up');
    await editsAreCompiled(page);
  }),
);
