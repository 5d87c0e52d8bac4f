// Accessibility, checked by axe-core (the engine of Lighthouse's and Chrome's audits) in the
// real browser: the editor empty, with the seed pipeline open, a task selected and each panel
// shown, the component editor, in the light and the dark theme — no violations of the WCAG 2.1 A and AA rules
// (contrast, names of controls, ARIA roles and attributes, …).

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

import { REPO, e2e, nodeIds, openApp, openExample, selectNode } from './harness.mjs';

const AXE = readFileSync(path.join(REPO, 'tests', 'e2e', 'node_modules', 'axe-core', 'axe.min.js'), 'utf8');

/** The violations axe finds on the page now, one line each (rule, impact, first elements). */
async function violations(page) {
  // Evaluated through the DevTools protocol: the page's Content Security Policy (no inline
  // scripts) stays on.
  if (!(await page.evaluate(() => typeof window.axe === 'object'))) {
    await page.evaluate(AXE);
  }
  const found = await page.evaluate(async () => {
    const r = await window.axe.run(document, {
      resultTypes: ['violations'],
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] },
    });
    return r.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.slice(0, 3).map((n) => n.target.join(' ')),
    }));
  });
  return found.map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.join(', ')}`);
}

for (const scheme of ['light', 'dark']) {
  test(
    `the editor has no accessibility violations (${scheme} theme)`,
    { timeout: 180_000 },
    e2e(`a11y-${scheme}`, async (app) => {
      const { page } = app;
      await page.emulateMedia({ colorScheme: scheme });
      await openApp(app);
      assert.deepEqual(await violations(page), [], 'the empty editor');

      await openExample(page, 'pytorch-text-classification');
      const ids = await nodeIds(page);
      assert.ok(ids.length > 5, 'the seed pipeline is open');
      // Each task in view (beside the panels), selected: its properties panel.
      const canvas = await page.locator('[data-testid=canvas]').boundingBox();
      let checked = 0;
      for (const id of ids) {
        const header = await page.locator(`[data-testid=node-header-${id}]`).boundingBox();
        if (!header || header.x + header.width > canvas.x + canvas.width) continue;
        await selectNode(page, id);
        assert.deepEqual(await violations(page), [], `the seed pipeline with task ${id} selected`);
        checked++;
      }
      assert.ok(checked >= 5, `tasks checked: ${checked}`);

      for (const tab of ['pipeline', 'spec', 'runs']) {
        await page.locator(`[data-testid=tab-${tab}]`).click();
        await page.waitForTimeout(300);
        assert.deepEqual(await violations(page), [], `the ${tab} tab`);
      }

      // The component editor, with a port of each side and a problem shown.
      await page.locator('[data-testid=btn-new-component]').click();
      await page.locator('[data-testid=author-add-input]').click();
      await page.locator('[data-testid=author-add-output]').click();
      await page.locator('[data-testid=author-problem]').first().waitFor();
      assert.deepEqual(await violations(page), [], 'the component editor');
      await page.locator('[data-testid=author-kind-container]').click();
      assert.deepEqual(await violations(page), [], 'the component editor, container');
    }),
  );
}
