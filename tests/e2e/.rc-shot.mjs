import { readFileSync } from 'node:fs';
import { Server, launchBrowser, VIEWPORT, openApp, until } from './harness.mjs';
const server = await new Server().start();
const browser = await launchBrowser();
try {
  const page = await (await browser.newContext({ viewport: VIEWPORT })).newPage();
  const text = readFileSync('tests/e2e/fixtures/run-ok.pipeline.json', 'utf8');
  const saved = await server.api('POST', '/api/pipelines', text);
  await openApp({ page, server }, `#/pipelines/${saved.json.id}`);
  await page.locator('[data-testid=btn-run]').click();
  await page.screenshot({ path: '/tmp/rc-shot-0.png' });
  await page.locator('[data-testid=btn-run-start]').click();
  await page.waitForTimeout(2500);
  await page.screenshot({ path: '/tmp/rc-shot-1.png' });
  await until(async () => (await page.locator('[data-testid=run-state]').getAttribute('data-state')) === 'succeeded', 'done', 120000);
  const doc = JSON.parse(text);
  const ev = doc.nodes.find((n) => n.name === 'evaluate').id;
  await page.locator(`[data-testid=node-header-${ev}]`).click();
  await page.waitForTimeout(1500);
  await page.screenshot({ path: '/tmp/rc-shot-2.png' });
  console.log(await page.locator('[data-testid=metrics-table]').evaluate((e) => e.outerHTML + ' ' + getComputedStyle(e).display + ' ' + getComputedStyle(e.querySelector('tr')).display));
  await page.locator('[data-testid=btn-runs]').click();
  await page.waitForTimeout(800);
  await page.screenshot({ path: '/tmp/rc-shot-3.png' });
} finally {
  await browser.close();
  await server.dispose();
}
