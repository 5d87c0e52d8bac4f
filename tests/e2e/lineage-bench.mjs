// The lineage view drawn and panned at 5,000 nodes (issue 16: laid out and drawn ≤ 1 s, panning
// at 60 fps), in headless Chromium at 1600×1000: the real view, opened from the Runs tab, with
// the server's answers for one run replaced by a generated lineage of the shape of a
// hyper-parameter sweep (one data set read by 1,250 trainings, each writing a model that an
// evaluation reads and turns into metrics: 5,001 nodes within 4 hops). The server's query
// speed is measured apart (tests/bench/speed.rs); this measures the browser.
//   open  time from the click on the run's Lineage button until every node is in the page and
//         the frame is drawn
//   pan   frame times while the drawing is dragged with one pointer move per animation frame,
//         fitted (every node in view) and at 100 % zoom

import { frameTimes } from './canvas-bench.mjs';
import { openApp, VIEWPORT } from './harness.mjs';

/** Nodes of the generated lineage. */
export const LINEAGE_NODES = 5001;
const RUN = 'bench-lineage-run';

/** A `Lineage` answer (api::Lineage JSON) of the sweep shape with `trainings` trainings. */
export function sweepLineage(trainings) {
  const artifacts = [];
  const executions = [];
  const events = [];
  const artifact = (id, name, schemaTitle) =>
    artifacts.push({ id, uri: `/runs/${RUN}/${name}-${id}`, name, schemaTitle, metadata: {}, state: 'LIVE', createdAt: '2026-12-01T00:00:00Z' });
  const execution = (id, name) =>
    executions.push({
      id,
      runId: RUN,
      pipelineName: 'sweep',
      taskPath: `for-loop-1[${id}]/${name}`,
      name,
      component: `comp-${name}`,
      executionType: 'system.ContainerExecution',
      state: 'SUCCEEDED',
      parameters: { lr: id / 1e5 },
      outputParameters: {},
    });
  const event = (executionId, artifactId, type, port) => events.push({ executionId, artifactId, type, port, index: 0 });
  artifact(1, 'dataset', 'system.Dataset');
  for (let i = 0; i < trainings; i++) {
    const base = 2 + i * 4;
    execution(base, 'train');
    event(base, 1, 'INPUT', 'data');
    artifact(base + 1, 'model', 'system.Model');
    event(base, base + 1, 'OUTPUT', 'model');
    execution(base + 2, 'evaluate');
    event(base + 2, base + 1, 'INPUT', 'model');
    artifact(base + 3, 'metrics', 'system.Metrics');
    event(base + 2, base + 3, 'OUTPUT', 'metrics');
  }
  return { artifacts, executions, events, truncated: false };
}

/** Drags the lineage drawing by `step` px per animation frame from its middle; the frame times. */
async function panFrames(page, step) {
  const box = await page.locator('[data-testid=lineage-svg]').boundingBox();
  const at = { x: box.x + box.width / 2, y: box.y + box.height / 2 };
  return frameTimes(page, at, { x: step, y: 0 }, { onTarget: true });
}

/**
 * Opens the view on the generated lineage `opens` times; returns the open times, the frame
 * times of panning fitted and at 100 %, and the number of node elements in the page at each.
 */
export async function benchLineageView(browser, server, opens = 3) {
  const page = await browser.newPage({ viewport: VIEWPORT });
  try {
    const answer = JSON.stringify(sweepLineage((LINEAGE_NODES - 1) / 4));
    const table = JSON.stringify({
      columns: ['pipeline_name', 'run_name', 'state', 'target', 'start_time', 'duration'],
      rows: [{ id: RUN, cells: ['sweep', RUN, 'SUCCEEDED', 'local', '2026-12-01T00:00:00Z', 60] }],
      total: 1,
    });
    const json = (body) => ({ status: 200, contentType: 'application/json', body });
    await page.route('**/api/runs/table?*', (route) => route.fulfill(json(table)));
    await page.route('**/api/lineage?*', (route) => route.fulfill(json(answer)));
    await openApp({ page, server });
    await page.locator('[data-testid=btn-runs]').click();
    const button = page.locator(`[data-testid=run-lineage-${RUN}]`);
    await button.waitFor();
    const open = [];
    for (let i = 0; i < opens; i++) {
      const ms = await page.evaluate(
        ({ run, nodes }) =>
          new Promise((resolve, reject) => {
            const start = performance.now();
            document.querySelector(`[data-testid=run-lineage-${run}]`).click();
            const check = () => {
              const count = document.querySelector('[data-testid=lineage-count]')?.textContent ?? '';
              if (count.startsWith(`${nodes} of ${nodes} nodes`)) {
                requestAnimationFrame(() => setTimeout(() => resolve(performance.now() - start), 0));
              } else if (performance.now() - start > 30_000) {
                const error = document.querySelector('[data-testid=lineage-error]')?.textContent ?? '';
                reject(new Error(`the lineage view did not show ${nodes} nodes: ${count} ${error}`));
              } else {
                requestAnimationFrame(check);
              }
            };
            check();
          }),
        { run: RUN, nodes: LINEAGE_NODES },
      );
      open.push(ms);
      if (i + 1 < opens) {
        await page.locator('[data-testid=lineage-close]').click();
        await page.locator('[data-testid=lineage-view]').waitFor({ state: 'detached' });
      }
    }
    const drawn = () => page.locator('[data-testid^=lineage-node-]').count();
    const fittedNodes = await drawn();
    const fitted = await panFrames(page, 3);
    // 100 %: zoom in around the middle of the drawing.
    await page.evaluate(() => {
      const svg = document.querySelector('[data-testid=lineage-svg]');
      const g = svg.querySelector('g');
      const scale = Number(/scale\(([\d.]+)\)/.exec(g.getAttribute('transform'))?.[1] ?? 1);
      // Around the middle of the drawing (or of the view, where less of it shows).
      const view = svg.getBoundingClientRect();
      const drawing = g.getBoundingClientRect();
      const box = {
        left: Math.max(view.left, drawing.left),
        top: Math.max(view.top, drawing.top),
        width: Math.min(view.right, drawing.right) - Math.max(view.left, drawing.left),
        height: Math.min(view.bottom, drawing.bottom) - Math.max(view.top, drawing.top),
      };
      // The view zooms by exp(-deltaY × 0.0015).
      const deltaY = Math.log(scale) / 0.0015;
      svg.dispatchEvent(new WheelEvent('wheel', { deltaY, clientX: box.left + box.width / 2, clientY: box.top + box.height / 2, bubbles: true, cancelable: true }));
    });
    await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
    const zoomedNodes = await drawn();
    const zoomed = await panFrames(page, 3);
    return { open, fitted, zoomed, fittedNodes, zoomedNodes };
  } finally {
    await page.close();
  }
}
