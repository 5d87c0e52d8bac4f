"""prepare_training_environment and prepare_serving_environment: the image build of a local run
reports the Python environment that stands in for the image and returns it."""

import contextlib
import io
import os
import stat
import sys
import tempfile
import unittest

import support

CASES = [
    ("prepare_training_environment", "training_image_uri", "gcr.io/p/train", "training"),
    ("prepare_serving_environment", "serving_image_uri", "gcr.io/p/serve", "serving"),
]


class PrepareTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        support.require_ml_environment()

    def test_returns_and_names_the_environment(self):
        import torch

        for module, image_input, image, kind in CASES:
            with self.subTest(module):
                log = io.StringIO()
                with contextlib.redirect_stdout(log):
                    (uri,) = support.component(module).python_func(
                        project="my-project", **{image_input: image}
                    )
                self.assertEqual(uri, "local-venv:" + sys.prefix)
                text = log.getvalue()
                self.assertIn(
                    f"no container runtime is used and the {kind} image '{image}' is not built",
                    text,
                )
                self.assertIn(f"The Python environment {sys.prefix} stands in for it", text)
                self.assertIn(f"torch {torch.__version__.split('+')[0]}", text)
                self.assertIn("CUDA" if torch.cuda.is_available() else "CPU", text)


FAKE_RUNTIME = """#!/bin/sh
# A stand-in for podman (no container daemon runs here): records its arguments; `info`
# answers, `build` exits with $FAKE_BUILD_EXIT.
echo "$@" >> "$FAKE_RUNTIME_LOG"
case "$1" in
  info) exit 0 ;;
  build) cat "$4/Dockerfile" >> "$FAKE_RUNTIME_LOG"; exit "${FAKE_BUILD_EXIT:-0}" ;;
esac
exit 2
"""


class RuntimeTest(unittest.TestCase):
    """With a working container runtime the image is built; a failed build falls back to the
    environment, saying why."""

    @classmethod
    def setUpClass(cls):
        support.require_ml_environment()

    def run_with_runtime(self, build_exit):
        with tempfile.TemporaryDirectory() as bin_dir:
            fake = os.path.join(bin_dir, "podman")
            with open(fake, "w", encoding="utf-8") as f:
                f.write(FAKE_RUNTIME)
            os.chmod(fake, stat.S_IRWXU)
            calls = os.path.join(bin_dir, "calls.txt")
            saved = dict(os.environ)
            os.environ.update(
                PATH=bin_dir + os.pathsep + saved.get("PATH", ""),
                FAKE_RUNTIME_LOG=calls,
                FAKE_BUILD_EXIT=str(build_exit),
            )
            log = io.StringIO()
            try:
                with contextlib.redirect_stdout(log):
                    (uri,) = support.component("prepare_training_environment").python_func(
                        training_image_uri="gcr.io/p/train"
                    )
            finally:
                os.environ.clear()
                os.environ.update(saved)
            with open(calls, encoding="utf-8") as f:
                return uri, log.getvalue(), f.read()

    def test_a_working_runtime_builds_the_image(self):
        import torch

        uri, log, calls = self.run_with_runtime(0)
        self.assertEqual(uri, "gcr.io/p/train")
        self.assertIn("Built the training image 'gcr.io/p/train' with podman", log)
        self.assertIn("build -t gcr.io/p/train", calls)
        self.assertIn(f"torch=={torch.__version__.split('+')[0]}", calls)
        self.assertIn("FROM python:", calls)

    def test_a_failed_build_falls_back_to_the_environment(self):
        uri, log, _ = self.run_with_runtime(1)
        self.assertEqual(uri, "local-venv:" + sys.prefix)
        self.assertIn("the build with podman failed (exit 1", log)
        self.assertIn(f"The Python environment {sys.prefix} stands in for it", log)


if __name__ == "__main__":
    unittest.main()
