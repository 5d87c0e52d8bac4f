// Test harness for the browser end-to-end tests: runs the real `pipeline-canvas` server on a
// free loopback port with a fresh data directory, drives headless Chromium through
// playwright-core, and cleans everything up after each test, also when it fails.
//
// Environment:
//   PIPELINE_CANVAS_BIN   server binary (default: target/release/pipeline-canvas in the repo)
//   PIPELINE_CANVAS_DIST  built front end (default: dist in the repo)
//   CHROMIUM              browser executable (default: /usr/bin/chromium)
//   E2E_KEEP_DATA=1       keep the temporary data directories (their paths are printed)
//   PIPELINE_CANVAS_PYTHON  Python with kfp for runs on the local engine (default:
//                         PIPELINE_CANVAS_TEST_PYTHON, else .venv/bin/python)
//
// Servers run with PIPELINE_CANVAS_ALLOW_HOST_COMMANDS=1 (container components run their
// commands on this machine) unless a test's `env` says otherwise.

import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

import { chromium } from 'playwright-core';

/** The repository root. */
export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
/** The KFP conformance corpus (`../shared/kfp-conformance`; PIPELINE_CANVAS_SHARED moves it). */
export const CORPUS = path.join(
  process.env.PIPELINE_CANVAS_SHARED || path.join(REPO, '..', 'shared'),
  'kfp-conformance',
);
/** Where failure screenshots and other outputs go (ignored by git). */
export const ARTIFACTS = path.join(REPO, 'tests', 'e2e', 'artifacts');
/** The window size every test uses. */
export const VIEWPORT = { width: 1600, height: 1000 };

const BROWSER_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** The server binary to test. */
export function serverBinary() {
  const bin = process.env.PIPELINE_CANVAS_BIN || path.join('target', 'release', 'pipeline-canvas');
  return path.resolve(REPO, bin);
}

/**
 * The Python the server's local engine runs components with: `PIPELINE_CANVAS_PYTHON`, else
 * `PIPELINE_CANVAS_TEST_PYTHON`, else the repository's `.venv` when it exists.
 */
export function pythonForRuns() {
  const venv = path.join(REPO, '.venv', 'bin', 'python');
  return (
    process.env.PIPELINE_CANVAS_PYTHON ||
    process.env.PIPELINE_CANVAS_TEST_PYTHON ||
    (existsSync(venv) ? venv : undefined)
  );
}

/** The built front end the server serves. */
export function distDir() {
  return path.resolve(REPO, process.env.PIPELINE_CANVAS_DIST || 'dist');
}

/** Fails early, with the command to run, when the binary or the front end is not built. */
export function checkBuilt() {
  const bin = serverBinary();
  if (!existsSync(bin)) {
    throw new Error(
      `server binary ${bin} not found: run \`cargo build --release -p pipeline-canvas\` ` +
        '(or set PIPELINE_CANVAS_BIN)',
    );
  }
  const index = path.join(distDir(), 'index.html');
  if (!existsSync(index)) {
    throw new Error(`${index} not found: build the front end with \`trunk build --release\``);
  }
}

/** A TCP port that is free on 127.0.0.1 right now. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** Every server process started and not yet stopped, killed if the test process exits. */
const live = new Set();
process.on('exit', () => {
  for (const child of live) {
    try {
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
});

/**
 * A running `pipeline-canvas serve`. `stop()` ends it; `restart()` stops it and starts a new
 * process on the same address and data directory.
 */
export class Server {
  /**
   * @param {{ dataDir?: string, port?: number, env?: Record<string, string> }} [opts]
   *   `env`: extra environment variables of the server process.
   */
  constructor(opts = {}) {
    this.env = opts.env ?? {};
    this.ownDataDir = !opts.dataDir;
    this.dataDir = opts.dataDir ?? mkdtempSync(path.join(tmpdir(), 'pipeline-canvas-e2e-'));
    this.port = opts.port ?? 0;
    /** The server's API token (scripts send it as `Authorization: Bearer`; the page gets a cookie). */
    this.token = randomBytes(24).toString('hex');
    this.child = null;
    this.log = '';
  }

  /** Base URL, e.g. `http://127.0.0.1:41234`. */
  get url() {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Starts the server and waits until `GET /api/components` answers 200. */
  async start() {
    checkBuilt();
    if (!this.port) this.port = await freePort();
    const args = [
      'serve',
      '--addr',
      `127.0.0.1:${this.port}`,
      '--data-dir',
      this.dataDir,
      '--static-dir',
      distDir(),
    ];
    const child = spawn(serverBinary(), args, {
      cwd: REPO,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        RUST_LOG: process.env.RUST_LOG ?? 'info',
        // The local engine runs Python components with this interpreter (it needs kfp).
        ...(pythonForRuns() ? { PIPELINE_CANVAS_PYTHON: pythonForRuns() } : {}),
        PIPELINE_CANVAS_TOKEN: this.token,
        // The test pipelines' container components run their commands on this machine (no
        // container runtime has their images here); a test may set it to '0'.
        PIPELINE_CANVAS_ALLOW_HOST_COMMANDS: '1',
        ...this.env,
      },
    });
    this.child = child;
    live.add(child);
    const append = (chunk) => {
      this.log += chunk.toString();
      if (this.log.length > 200_000) this.log = this.log.slice(-100_000);
    };
    child.stdout.on('data', append);
    child.stderr.on('data', append);
    const exited = new Promise((resolve) => child.once('exit', (code, sig) => resolve({ code, sig })));
    this.exited = exited;
    exited.then(() => live.delete(child));

    const deadline = Date.now() + 30_000;
    let lastError = 'no answer yet';
    for (;;) {
      const gone = await Promise.race([exited, sleep(100).then(() => null)]);
      if (gone) {
        throw new Error(
          `server exited (code ${gone.code}, signal ${gone.sig}) before answering:\n${this.log}`,
        );
      }
      try {
        const res = await fetch(`${this.url}/api/components`, { headers: this.authHeaders() });
        if (res.status === 200) return this;
        lastError = `GET /api/components answered ${res.status}`;
      } catch (e) {
        lastError = String(e.cause?.code ?? e.message);
      }
      if (Date.now() > deadline) {
        await this.stop();
        throw new Error(`server did not answer on ${this.url} within 30 s (${lastError}):\n${this.log}`);
      }
    }
  }

  /** Stops the server: SIGTERM, then SIGKILL after 5 s. */
  async stop() {
    const child = this.child;
    if (!child) return;
    this.child = null;
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const done = await Promise.race([this.exited, sleep(5_000).then(() => null)]);
      if (!done) {
        child.kill('SIGKILL');
        await this.exited;
      }
    }
    live.delete(child);
  }

  /** Stops the server and starts a new process on the same port and data directory. */
  async restart() {
    await this.stop();
    // The port was just released; retry briefly in case the OS has not made it free yet.
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.start();
      } catch (e) {
        if (attempt >= 5 || !/address|in use|bind/i.test(e.message)) throw e;
        await sleep(300);
      }
    }
  }

  /** Stops the server and deletes its data directory (unless E2E_KEEP_DATA is set). */
  async dispose() {
    await this.stop();
    if (this.ownDataDir) {
      if (process.env.E2E_KEEP_DATA) {
        console.error(`# kept data directory ${this.dataDir}`);
      } else {
        // Retried: a Python environment the server was preparing may still be written for a
        // moment by its installer after the server stopped (ENOTEMPTY).
        rmSync(this.dataDir, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
      }
    }
  }

  /** The header that proves the token, as a script sends it. */
  authHeaders() {
    return { authorization: `Bearer ${this.token}` };
  }

  /**
   * `fetch` against the server's API: `{ status, text, json }`. A string `body` is sent as it is
   * (JavaScript numbers lose the difference between `7080` and `7080.0`); anything else as JSON.
   */
  async api(method, route, body) {
    const res = await fetch(`${this.url}${route}`, {
      method,
      headers: {
        ...this.authHeaders(),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.text();
    let json;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: res.status, text, json };
  }
}

/** Launches headless Chromium (a fresh temporary profile each time). */
export async function launchBrowser() {
  const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
  if (!existsSync(executablePath)) {
    throw new Error(`Chromium not found at ${executablePath} (apt-get install chromium, or set CHROMIUM)`);
  }
  return chromium.launch({ executablePath, headless: true, args: BROWSER_ARGS });
}

/**
 * Sets up one test: a server with a fresh data directory, a browser and a page, all torn down
 * by `t.after` whether the test passes or fails. The page's console errors and uncaught
 * exceptions are collected in `app.errors`; on failure, call `app.failed(name)` (done by
 * `e2e()`) to save a screenshot and print the server log.
 */
export async function setup(t, opts = {}) {
  const server = new Server(opts);
  // `expectedErrors`: patterns of page errors a test provokes on purpose (`app.expectErrors`).
  const app = { server, browser: null, context: null, page: null, errors: [], expectedErrors: [] };
  app.expectErrors = (...patterns) => app.expectedErrors.push(...patterns);
  t.after(async () => {
    await app.browser?.close().catch(() => {});
    await server.dispose();
  });
  await server.start();
  app.browser = await launchBrowser();
  app.context = await app.browser.newContext({ viewport: VIEWPORT, acceptDownloads: true });
  app.page = await app.context.newPage();
  app.page.setDefaultTimeout(15_000);
  // Leaving a page with unsaved changes asks first (a `beforeunload` dialog): tests leave.
  // `app.dialogs` lists the dialogs seen; others are dismissed, as Playwright does by default.
  app.dialogs = [];
  app.watchDialogs = (page) =>
    page.on('dialog', (d) => {
      app.dialogs.push(d.type());
      (d.type() === 'beforeunload' ? d.accept() : d.dismiss()).catch(() => {});
    });
  app.watchDialogs(app.page);
  app.page.on('pageerror', (e) => app.errors.push(`pageerror: ${e.message}`));
  app.page.on('console', (m) => {
    if (m.type() === 'error') app.errors.push(`console.error: ${m.text()}`);
  });
  app.failed = async (name) => {
    mkdirSync(ARTIFACTS, { recursive: true });
    const shot = path.join(ARTIFACTS, `${name}-failure.png`);
    await app.page?.screenshot({ path: shot, fullPage: true }).catch(() => {});
    writeFileSync(path.join(ARTIFACTS, `${name}-server.log`), server.log);
    console.error(`# ${name} failed: screenshot ${shot}`);
    if (app.errors.length) console.error(`# browser errors:\n#   ${app.errors.join('\n#   ')}`);
  };
  return app;
}

/**
 * Wraps a test body so that a failure leaves a screenshot and the server log in
 * tests/e2e/artifacts before the error propagates. `opts` go to `setup` (e.g. `{ env }`); a
 * function is called first (in the test) to compute them.
 */
export function e2e(name, fn, opts = {}) {
  return async (t) => {
    const app = await setup(t, typeof opts === 'function' ? await opts(t) : opts);
    try {
      await fn(app, t);
      // Every page error fails the test: a Rust panic in the front end, an uncaught exception,
      // a console error (a refused request, a CSP violation) — unless the test expects it.
      const unexpected = app.errors.filter((e) => !app.expectedErrors.some((re) => re.test(e)));
      if (unexpected.length) {
        throw new Error(`the page reported errors:\n  ${unexpected.join('\n  ')}`);
      }
    } catch (e) {
      await app.failed(name);
      throw e;
    }
  };
}

/** Opens the app (optionally at a `#hash`) and waits until the palette has loaded. */
export async function openApp(app, hash = '') {
  const { page, server } = app;
  await page.goto(`${server.url}/${hash}`);
  await page.locator('[data-testid^=palette-]').first().waitFor({ state: 'visible', timeout: 30_000 });
}

/** The centre of a locator's box, in client pixels (it must be visible). */
export async function centerOf(locator) {
  await locator.waitFor({ state: 'visible' });
  const box = await locator.boundingBox();
  if (!box) throw new Error(`${locator} has no bounding box`);
  return { x: box.x + box.width / 2, y: box.y + box.height / 2 };
}

/**
 * A real pointer drag: move to `from`, press, move to `to` in `steps` steps, release. The app
 * listens to pointer events; Chromium makes them from these mouse events.
 */
export async function drag(page, from, to, steps = 12) {
  await page.mouse.move(from.x, from.y);
  await page.mouse.down();
  // A first small move so the app sees the drag start before the long move.
  await page.mouse.move(from.x + 2, from.y + 2, { steps: 2 });
  await page.mouse.move(to.x, to.y, { steps });
  await page.mouse.up();
}

/** The text of the status bar. */
export async function statusText(page) {
  return (await status(page)).text;
}

/**
 * The status-bar message: `{ text, kind, seq }`; `kind` is `info`, `success` or `error`
 * (`data-kind`) and `seq` (`data-seq`) grows with every message, even a repeated one.
 */
export async function status(page) {
  // One read in the page, so text, kind and seq come from the same message (three separate reads
  // could straddle an update and pair a new seq with the old text).
  const { text, kind, seq } = await page.locator('[data-testid=status]').evaluate((el) => ({
    text: el.textContent,
    kind: el.getAttribute('data-kind'),
    seq: el.getAttribute('data-seq'),
  }));
  return { text: text?.trim() ?? '', kind: kind ?? '', seq: seq === null ? -1 : Number(seq) };
}

/** Waits for a status message newer than `after` (a `status()` result) and returns it. */
export async function nextStatus(page, after, what = 'a new status message') {
  return until(
    async () => {
      const s = await status(page);
      const newer = s.seq >= 0 && after.seq >= 0 ? s.seq > after.seq : s.text !== after.text;
      return newer && s;
    },
    async () => `expected ${what}; the status bar still reads ${JSON.stringify(await status(page))}`,
  );
}

/**
 * The ids of the nodes on the canvas, in DOM order: elements `data-testid=node-<id>` holding their
 * header `node-header-<id>`. (Other elements match `[data-testid^=node-]` too: the headers and
 * the properties panel, `node-properties`.)
 */
export async function nodeIds(page) {
  return page.$$eval('[data-testid^=node-]', (els) =>
    els
      .map((e) => [e, e.getAttribute('data-testid').slice('node-'.length)])
      .filter(([e, id]) => e.querySelector(`[data-testid="node-header-${CSS.escape(id)}"]`))
      .map(([, id]) => id),
  );
}

/**
 * The ids of the condition frames: elements `data-testid=group-<id>` holding their resize handle
 * `group-resize-<id>` (the properties panel, `group-properties`, also matches `group-`).
 */
export async function groupIds(page) {
  return page.$$eval('[data-testid^=group-]', (els) =>
    els
      .map((e) => [e, e.getAttribute('data-testid').slice('group-'.length)])
      .filter(([e, id]) => e.querySelector(`[data-testid="group-resize-${CSS.escape(id)}"]`))
      .map(([, id]) => id),
  );
}

/**
 * The ids of the wires on the canvas: the SVG elements `data-testid=wire-<id>` (the properties
 * panel of a selected wire, `wire-properties`, also matches `[data-testid^=wire-]`).
 */
export async function wireIds(page) {
  return page.$$eval('[data-testid^=wire-]', (els) =>
    els
      .filter((e) => e instanceof SVGElement)
      .map((e) => e.getAttribute('data-testid').slice('wire-'.length)),
  );
}

/**
 * The ports of a node as drawn: `{ name, dir: 'in'|'out', type, required }`, read from the port
 * dots (`port-in-<id>-<port>` / `port-out-<id>-<port>`). The type is the row's `data-type`
 * when the front end sets it, else the type label the row shows.
 */
export async function portsOf(page, nodeId) {
  return page.$$eval(
    `[data-testid^="port-in-${nodeId}-"], [data-testid^="port-out-${nodeId}-"]`,
    (dots, nodeId) =>
      dots.map((dot) => {
        const tid = dot.getAttribute('data-testid');
        const dir = tid.startsWith('port-in-') ? 'in' : 'out';
        const name = tid.slice(`port-${dir}-${nodeId}-`.length);
        const row = dot.closest('[data-port-in], [data-port-out]') ?? dot.parentElement;
        const type =
          dot.getAttribute('data-type') ??
          row?.getAttribute('data-type') ??
          row?.querySelector('.port-type')?.textContent?.trim() ??
          '';
        const required = !!row?.querySelector('.required') || row?.getAttribute('data-required') === 'true';
        return { name, dir, type, required };
      }),
    nodeId,
  );
}

const PARAMETER_TYPES = new Map([
  ['str', 'STRING'],
  ['STRING', 'STRING'],
  ['int', 'NUMBER_INTEGER'],
  ['NUMBER_INTEGER', 'NUMBER_INTEGER'],
  ['float', 'NUMBER_DOUBLE'],
  ['NUMBER_DOUBLE', 'NUMBER_DOUBLE'],
  ['bool', 'BOOLEAN'],
  ['BOOLEAN', 'BOOLEAN'],
  ['list', 'LIST'],
  ['LIST', 'LIST'],
  ['dict', 'STRUCT'],
  ['STRUCT', 'STRUCT'],
  ['PipelineTaskFinalStatus', 'TASK_FINAL_STATUS'],
  ['TASK_FINAL_STATUS', 'TASK_FINAL_STATUS'],
]);

/** Parses a port type as shown (`str`, `system.Model`, `List[system.Dataset]`). */
export function parseType(label) {
  if (PARAMETER_TYPES.has(label)) return { kind: 'parameter', type: PARAMETER_TYPES.get(label) };
  const list = /^List\[(.+)\]$/.exec(label);
  if (list) return { kind: 'artifact', type: list[1], list: true };
  return { kind: 'artifact', type: label, list: false };
}

/**
 * Whether an output of type `out` may feed an input of type `inp` — the KFP rules the core
 * applies (`PortType::can_feed`): equal parameter types or int → float; artifacts of the same
 * schema (or either `system.Artifact`) with the same list-ness; never parameter ↔ artifact.
 */
export function canFeed(out, inp) {
  const a = parseType(out);
  const b = parseType(inp);
  if (a.kind !== b.kind) return false;
  if (a.kind === 'parameter') {
    return a.type === b.type || (a.type === 'NUMBER_INTEGER' && b.type === 'NUMBER_DOUBLE');
  }
  if (a.list !== b.list) return false;
  return a.type === b.type || a.type === 'system.Artifact' || b.type === 'system.Artifact';
}

/**
 * Selects a wire with a real click on its curve: finds a point on the path that is not covered
 * by a node and clicks it.
 */
export async function clickWire(page, wireId) {
  const point = await page.evaluate((wireId) => {
    const g = document.querySelector(`[data-testid="wire-${wireId}"]`);
    if (!g) return null;
    const paths = [...g.querySelectorAll('path')];
    for (const p of paths) {
      const len = p.getTotalLength();
      const ctm = p.getScreenCTM();
      if (!len || !ctm) continue;
      for (const f of [0.5, 0.4, 0.6, 0.3, 0.7, 0.2, 0.8, 0.15, 0.85]) {
        const q = p.getPointAtLength(len * f);
        const x = ctm.a * q.x + ctm.c * q.y + ctm.e;
        const y = ctm.b * q.x + ctm.d * q.y + ctm.f;
        const hit = document.elementFromPoint(x, y);
        if (hit && g.contains(hit)) return { x, y };
      }
    }
    return null;
  }, wireId);
  if (!point) throw new Error(`no visible, uncovered point on wire ${wireId} to click`);
  await page.mouse.click(point.x, point.y);
}

/** Waits until `fn()` returns a truthy value (polling), or fails with `message`. */
export async function until(fn, message, timeout = 10_000) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    last = await fn();
    if (last) return last;
    if (Date.now() > deadline) throw new Error(`timed out: ${typeof message === 'function' ? await message() : message}`);
    await sleep(100);
  }
}

/** Waits until the canvas shows exactly `n` nodes. */
export async function expectNodeCount(page, n) {
  await until(
    async () => (await nodeIds(page)).length === n,
    async () => `expected ${n} nodes on the canvas, found ${(await nodeIds(page)).length}`,
  );
}

/** Waits until the canvas shows exactly `n` wires. */
export async function expectWireCount(page, n) {
  await until(
    async () => (await wireIds(page)).length === n,
    async () => `expected ${n} wires on the canvas, found ${(await wireIds(page)).length}`,
  );
}

/** Brings the spec panel into view (its tab, `tab-spec`, when it is not shown). */
export async function showSpec(page) {
  const spec = page.locator('[data-testid=spec-text]');
  if (!(await spec.isVisible())) {
    await page.locator('[data-testid=tab-spec]').click();
  }
  await spec.waitFor({ state: 'visible' });
  return spec;
}

/** The text of the spec panel (switching to it first), once the compile worker has answered. */
export async function specText(page) {
  const spec = await showSpec(page);
  await page.waitForFunction(
    () => document.querySelector('[data-testid=diagnostics]')?.getAttribute('data-pending') !== 'true',
  );
  return (await spec.textContent()) ?? '';
}

/** Selects a node with a real click on its header. */
export async function selectNode(page, id) {
  const at = await centerOf(page.locator(`[data-testid=node-header-${id}]`));
  await page.mouse.click(at.x, at.y);
  await until(
    async () => /\bselected\b/.test((await page.locator(`[data-testid=node-${id}]`).getAttribute('class')) ?? ''),
    `node ${id} did not become selected`,
  );
}

/**
 * Sets a node input in the properties panel (`prop-<input>`), as a user does: type (or pick)
 * the value, then leave the field.
 */
export async function setProp(page, input, value) {
  const field = page.locator(`[data-testid=prop-${input}]`);
  await field.waitFor({ state: 'visible' });
  const tag = await field.evaluate((el) => el.tagName);
  if (tag === 'SELECT') {
    await field.selectOption(String(value));
  } else {
    await field.click();
    await field.fill(String(value));
    await field.press('Tab');
  }
}

/** Opens an example from the Examples menu (`btn-examples`, then `example-<id>`). */
export async function openExample(page, id) {
  const item = page.locator(`[data-testid=example-${id}]`);
  if (!(await item.isVisible())) {
    await page.locator('[data-testid=btn-examples]').click();
  }
  await item.click();
}

/**
 * Uploads a pipeline document file as a user does: Upload (`btn-upload`) opens the file
 * chooser, which is answered with `{ name, text }`.
 */
export async function uploadDocument(page, { name, text }) {
  const [chooser] = await Promise.all([
    page.waitForEvent('filechooser'),
    page.locator('[data-testid=btn-upload]').click(),
  ]);
  await chooser.setFiles({ name, mimeType: 'application/json', buffer: Buffer.from(text) });
}

/** Clicks a download button and returns `{ name, text }` of the file the browser saved. */
export async function download(page, testid) {
  const [dl] = await Promise.all([
    page.waitForEvent('download'),
    page.locator(`[data-testid=${testid}]`).click(),
  ]);
  const file = await dl.path();
  return { name: dl.suggestedFilename(), text: readFileSync(file, 'utf8') };
}

/**
 * The document of this tab's copy of unsaved work (its slot in `localStorage`, named by the tab
 * id `sessionStorage` keeps), or null when there is none.
 */
export async function unsavedCopy(page) {
  const text = await page.evaluate(() =>
    localStorage.getItem(`pipeline-canvas.autosave.${sessionStorage.getItem('pipeline-canvas.tab')}`),
  );
  return text ? JSON.parse(text).doc : null;
}

/** The text of the diagnostics list. */
export async function diagnosticsText(page) {
  const list = page.locator('[data-testid=diagnostics]');
  if (!(await list.count())) return '';
  return (await list.textContent()) ?? '';
}

/** How many errors the diagnostics list shows (items with `data-severity=error`). */
export async function errorCount(page) {
  return page.locator('[data-testid=diagnostics] [data-severity=error]').count();
}
