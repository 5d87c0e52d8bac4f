#!/usr/bin/env bash
# The canvas benchmark (issue 18): opens generated KFP pipelines of 200, 1,000 and 2,000 tasks in
# headless Chromium through the app's Open file and prints open time, drag and pan frame times
# and keystroke times per size; the last line is `frame_p95_ms=<drag p95 at 2,000 tasks>`.
# Needs the release server (cargo build --release -p pipeline-canvas) and the front end in dist/
# (scripts/setup); `CANVAS_BENCH_SIZES=200,1000` picks other sizes.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
bin=${PIPELINE_CANVAS_BIN:-${CARGO_TARGET_DIR:-$root/target}/release/pipeline-canvas}
if [ ! -x "$bin" ]; then
  echo "no server binary at $bin: run cargo build --release -p pipeline-canvas" >&2
  exit 1
fi
if [ ! -d tests/e2e/node_modules ]; then
  (cd tests/e2e && npm ci --no-audit --no-fund --silent)
fi
PIPELINE_CANVAS_BIN="$bin" exec node tests/e2e/canvas-bench.mjs
