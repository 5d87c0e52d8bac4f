// Component authoring in the app: a Python-function component written in the form, its
// component file previewed live, problems shown at their fields, the draft kept across Escape
// and a reload, saved to the user's library and used from the palette; a container component's
// {{name}} references become KFP placeholders.

import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

import { e2e, expectNodeCount, nodeIds, openApp, portsOf, status, until } from './harness.mjs';

const yamlOf = (page) => page.locator('[data-testid=author-yaml]').textContent();

/** Fills the last row of the inputs or outputs: name, type and (inputs) default. */
async function lastRow(page, side, name, type, dflt) {
  const row = page.locator(`[data-testid=author-${side}]`).last();
  await row.locator(`[data-testid=author-${side}-name]`).fill(name);
  await row.locator(`[data-testid=author-${side}-type]`).selectOption(type);
  if (dflt !== undefined) await row.locator('[data-testid=author-input-default]').fill(dflt);
}

test(
  'a Python component written in the app is previewed, kept, saved and used',
  { timeout: 120_000 },
  e2e('authoring-python', async (app) => {
    const { page, server } = app;
    await openApp(app);
    await page.locator('[data-testid=btn-new-component]').click();
    const view = page.locator('[data-testid=authoring-view]');
    await view.waitFor();

    await page.locator('[data-testid=author-name]').fill('scale_values');
    await page.locator('[data-testid=author-description]').fill('Scales a dataset.');
    await page.locator('[data-testid=author-add-input]').click();
    await lastRow(page, 'input', 'factor', 'float', '2.5');
    await page.locator('[data-testid=author-add-input]').click();
    await lastRow(page, 'input', 'data', 'Dataset');
    await page.locator('[data-testid=author-add-output]').click();
    await lastRow(page, 'output', 'scaled', 'Dataset');
    await page.locator('[data-testid=author-add-output]').click();
    await lastRow(page, 'output', 'Output', 'int');
    await page.locator('[data-testid=author-packages]').fill('pandas==2.2.2');
    await page
      .locator('[data-testid=author-body]')
      .fill('import pandas as pd\ndf = pd.read_csv(data.path) * factor\ndf.to_csv(scaled.path)\nreturn len(df)');

    // The preview follows the form: the file as the KFP SDK writes it, and the function.
    await until(async () => (await yamlOf(page)).includes('# Name: scale-values'), 'the component file is previewed');
    const yaml = await yamlOf(page);
    for (const part of ['comp-scale-values', 'defaultValue: 2.5', 'schemaTitle: system.Dataset', "'pandas==2.2.2'", 'sdkVersion: kfp-2.17.3']) {
      assert.ok(yaml.includes(part), `${part} in\n${yaml}`);
    }
    const python = await page.locator('[data-testid=author-python]').textContent();
    assert.ok(
      python.startsWith('def scale_values(\n    data: Input[Dataset],\n    scaled: Output[Dataset],\n    factor: float = 2.5,\n) -> int:\n'),
      python,
    );
    assert.ok(python.includes('    return len(df)'), python);

    // A problem is shown at its field, and nothing can be saved until it is fixed.
    await page.locator('[data-testid=author-input-default]').first().fill('lots');
    await until(async () => (await page.locator('[data-testid=author-problem]').count()) === 1, 'one problem shown');
    const problem = await page.locator('[data-testid=author-problem]').textContent();
    assert.ok(problem.startsWith('inputs[0].default: '), problem);
    assert.ok(await page.locator('[data-testid=author-input-default]').first().evaluate((e) => e.classList.contains('invalid')));
    assert.ok(await page.locator('[data-testid=author-save]').isDisabled());
    await page.locator('[data-testid=author-input-default]').first().fill('2.5');
    await until(async () => (await page.locator('[data-testid=author-problem]').count()) === 0, 'the problem is gone');

    // Escape closes the editor and a reload leaves the page; the draft is still there.
    await page.keyboard.press('Escape');
    await view.waitFor({ state: 'detached' });
    await page.reload();
    await openApp(app);
    await page.locator('[data-testid=btn-new-component]').click();
    await until(async () => (await page.locator('[data-testid=author-name]').inputValue()) === 'scale_values', 'the name is kept');
    assert.equal(await page.locator('[data-testid=author-input]').count(), 2);
    assert.equal(await page.locator('[data-testid=author-output-name]').last().inputValue(), 'Output');
    await until(async () => (await yamlOf(page)).includes('# Name: scale-values'), 'the preview is back');

    // Saved to the library: the file is the previewed one, the palette lists it under User.
    const saveButton = page.locator('[data-testid=author-save]');
    await until(async () => !(await saveButton.isDisabled()), 'the save button is enabled');
    await saveButton.click();
    await view.waitFor({ state: 'detached' });
    await until(async () => (await status(page)).text.includes('user/scale_values.yaml'), 'the save is reported');
    const file = path.join(server.dataDir, 'components', 'scale_values.yaml');
    assert.ok(existsSync(file), file);
    assert.equal(readFileSync(file, 'utf8'), yaml);
    const item = page.locator('[data-testid="palette-user/scale_values.yaml"]');
    await item.waitFor();
    await item.focus();
    await page.keyboard.press('Enter');
    await expectNodeCount(page, 1);
    const [id] = await nodeIds(page);
    const ports = await portsOf(page, id);
    const names = (dir) => ports.filter((p) => p.dir === dir).map((p) => p.name).sort();
    // Ports with a default are a click away on a compact node; the rest are drawn.
    assert.ok(names('in').includes('data'), JSON.stringify(ports));
    assert.ok(names('in').every((n) => ['data', 'factor'].includes(n)), JSON.stringify(ports));
    assert.deepEqual(names('out'), ['Output', 'scaled']);

    // A second component of that name is refused unless replacing is ticked; a save clears
    // the draft, so the editor starts empty.
    await page.locator('[data-testid=btn-new-component]').click();
    assert.equal(await page.locator('[data-testid=author-name]').inputValue(), '');
    await page.locator('[data-testid=author-name]').fill('scale_values');
    await page.locator('[data-testid=author-body]').fill('pass');
    await until(async () => !(await saveButton.isDisabled()), 'the save button is enabled');
    app.expectErrors(/409/);
    await saveButton.click();
    await until(
      async () => (await page.locator('[data-testid=author-message]').textContent()).includes('already has a component file scale_values.yaml'),
      'the conflict is explained',
    );
    await page.locator('[data-testid=author-replace]').check();
    await saveButton.click();
    await view.waitFor({ state: 'detached' });
    await until(async () => !readFileSync(file, 'utf8').includes('pandas'), 'the file was replaced');
  }),
);

test(
  'a container component: {{name}} references become KFP placeholders',
  { timeout: 60_000 },
  e2e('authoring-container', async (app) => {
    const { page } = app;
    await openApp(app);
    await page.locator('[data-testid=btn-new-component]').click();
    await page.locator('[data-testid=author-kind-container]').click();
    await page.locator('[data-testid=author-name]').fill('word_count');
    await page.locator('[data-testid=author-add-input]').click();
    await lastRow(page, 'input', 'text', 'Dataset');
    await page.locator('[data-testid=author-add-output]').click();
    await lastRow(page, 'output', 'count', 'int');
    await page.locator('[data-testid=author-image]').fill('alpine:3.20');
    await page.locator('[data-testid=author-command]').fill('sh\n-c\nwc -w < "$0" > "$1"');
    await page.locator('[data-testid=author-args]').fill('{{text}}\n{{count}}\n{{missing}}');
    // The preview follows the typing: wait until it has caught up with the last field.
    const problems = () => page.locator('[data-testid=author-problem]').allTextContents();
    await until(async () => (await problems()).some((p) => p.startsWith('args[2]: ')), 'the unknown reference is a problem');
    const [problem, ...more] = await problems();
    assert.deepEqual(more, []);
    assert.ok(problem.startsWith('args[2]: {{missing}} names no input or output; the names are: text, count'), problem);
    await page.locator('[data-testid=author-args]').fill('{{text}}\n{{count}}');
    await until(async () => (await yamlOf(page)).includes('# Name: word-count'), 'the preview is written');
    const yaml = await yamlOf(page);
    assert.ok(yaml.includes("- '{{$.inputs.artifacts[''text''].path}}'"), yaml);
    assert.ok(yaml.includes("- '{{$.outputs.parameters[''count''].output_file}}'"), yaml);
    assert.ok(yaml.includes('image: alpine:3.20'), yaml);
    assert.equal(await page.locator('[data-testid=author-python]').count(), 0, 'no function for a container');
  }),
);

test(
  'a saved component is reopened with ✎, edited and saved over its file',
  { timeout: 120_000 },
  e2e('authoring-edit', async (app) => {
    const { page, server } = app;
    await openApp(app);
    const view = page.locator('[data-testid=authoring-view]');
    const saveButton = page.locator('[data-testid=author-save]');
    const file = path.join(server.dataDir, 'components', 'double_it.yaml');

    await page.locator('[data-testid=btn-new-component]').click();
    await page.locator('[data-testid=author-name]').fill('double_it');
    await page.locator('[data-testid=author-description]').fill('Doubles a number.');
    await page.locator('[data-testid=author-add-input]').click();
    await lastRow(page, 'input', 'x', 'int');
    await page.locator('[data-testid=author-add-output]').click();
    await lastRow(page, 'output', 'Output', 'int');
    await page.locator('[data-testid=author-body]').fill('return x * 2');
    await until(async () => (await yamlOf(page)).includes('return x * 2'), 'the preview has the body');
    await until(async () => !(await saveButton.isDisabled()), 'the save button is enabled');
    await saveButton.click();
    await view.waitFor({ state: 'detached' });
    assert.ok(readFileSync(file, 'utf8').includes('return x * 2'));

    // Only the user's components have ✎.
    const edit = page.locator('[data-testid="palette-edit-user/double_it.yaml"]');
    await edit.waitFor();
    assert.equal(await page.locator('[data-testid^="palette-edit-"]').count(), 1);
    assert.ok((await edit.getAttribute('aria-label')).startsWith('Edit '));

    // ✎ opens the editor on the saved component, Replace ticked.
    await edit.click();
    await view.waitFor();
    await until(async () => (await page.locator('[data-testid=author-name]').inputValue()) === 'double_it', 'the name is loaded');
    assert.equal(await page.locator('[data-testid=author-title]').textContent(), 'Edit component double_it');
    assert.equal(await page.locator('[data-testid=author-body]').inputValue(), 'return x * 2');
    assert.equal(await page.locator('[data-testid=author-description]').inputValue(), 'Doubles a number.');
    assert.equal(await page.locator('[data-testid=author-input-name]').inputValue(), 'x');
    assert.ok(await page.locator('[data-testid=author-replace]').isChecked());

    // Changed (the body, a new input with a default) and saved over the file.
    await page.locator('[data-testid=author-body]').fill('return x * factor');
    await page.locator('[data-testid=author-add-input]').click();
    await lastRow(page, 'input', 'factor', 'int', '3');
    await until(async () => (await yamlOf(page)).includes('return x * factor'), 'the preview follows');
    const yaml = await yamlOf(page);
    assert.ok(yaml.includes('factor: int = 3'), yaml);
    await until(async () => !(await saveButton.isDisabled()), 'the save button is enabled');
    await saveButton.click();
    await view.waitFor({ state: 'detached' });
    await until(async () => readFileSync(file, 'utf8') === yaml, 'the file is replaced by the previewed one');
    const item = page.locator('[data-testid="palette-user/double_it.yaml"]');
    await until(async () => (await item.getAttribute('title')).includes('2 inputs'), 'the palette has the new input');

    // An unsaved different draft is put aside by ✎, and can be restored.
    await page.locator('[data-testid=btn-new-component]').click();
    await view.waitFor();
    assert.equal(await page.locator('[data-testid=author-name]').inputValue(), '');
    await page.locator('[data-testid=author-name]').fill('half_done');
    await page.keyboard.press('Escape');
    await view.waitFor({ state: 'detached' });
    await edit.click();
    await view.waitFor();
    await until(async () => (await page.locator('[data-testid=author-name]').inputValue()) === 'double_it', 'the edit is loaded');
    assert.equal(await page.locator('[data-testid=author-body]').inputValue(), 'return x * factor');
    const aside = page.locator('[data-testid=author-aside]');
    assert.ok((await aside.textContent()).includes('half_done'), await aside.textContent());
    await page.locator('[data-testid=author-restore]').click();
    assert.equal(await page.locator('[data-testid=author-name]').inputValue(), 'half_done');
    assert.ok(!(await page.locator('[data-testid=author-replace]').isChecked()));
    assert.equal(await page.locator('[data-testid=author-title]').textContent(), 'New component');
    assert.equal(await aside.count(), 0);
  }),
);
