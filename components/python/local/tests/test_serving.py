"""End to end: a locally trained and archived model served by a real TorchServe on free
loopback ports answers make_prediction_request with the right labels; TorchServe is stopped
with its whole process group afterwards (no orphans). Needs the ML environment and Java 17.
Also the prediction step's errors, which need only kfp."""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request

import support

MODEL = "finetuned-bert-classifier"
POSITIVE = [
    "Jaw dropping visual affects and action! One of the best I have seen to date.",
    "A wonderful, moving film. I loved every minute of this movie.",
]
NEGATIVE = [
    "Take away the CGI and the A-list cast and you end up with film with less punch.",
    "What a boring, awful movie. The plot was terrible.",
]


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def group_members(pgid):
    """The ids of the live processes in process group `pgid`."""
    members = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="utf-8") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # fields after the command: state, ppid, pgrp, ...; zombies are already dead
        if int(fields[2]) == pgid and fields[0] != "Z":
            members.append(int(entry))
    return members


class ServingTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        support.require_ml_environment()
        if shutil.which("java") is None:
            support.skip(
                "java is not installed (TorchServe needs Java 17: "
                "apt-get install openjdk-17-jre-headless)"
            )
        torchserve = os.path.join(os.path.dirname(sys.executable), "torchserve")
        if not os.path.isfile(torchserve):
            support.skip(f"no torchserve next to {sys.executable}")
        cls.tmp = tempfile.TemporaryDirectory()
        gcp_resources, _ = support.train(cls.tmp.name)
        _, mar_folder = support.package(cls.tmp.name, gcp_resources, MODEL)
        # TorchServe also opens two gRPC ports (7070 and 7071 unless told): all five are free
        # loopback ports, so that several TorchServes can run side by side
        ports = [free_port() for _ in range(5)]
        config = os.path.join(cls.tmp.name, "config.properties")
        with open(config, "w", encoding="utf-8") as f:
            f.write(
                f"inference_address=http://127.0.0.1:{ports[0]}\n"
                f"management_address=http://127.0.0.1:{ports[1]}\n"
                f"metrics_address=http://127.0.0.1:{ports[2]}\n"
                "grpc_inference_address=127.0.0.1\n"
                f"grpc_inference_port={ports[3]}\n"
                "grpc_management_address=127.0.0.1\n"
                f"grpc_management_port={ports[4]}\n"
                f"load_models={MODEL}={MODEL}.mar\n"
                "default_workers_per_model=1\n"
                "disable_system_metrics=true\n"
            )
        cls.url = f"http://127.0.0.1:{ports[0]}/predictions/{MODEL}"
        cls.log = open(os.path.join(cls.tmp.name, "torchserve.log"), "wb")
        started = time.monotonic()
        cls.server = subprocess.Popen(
            [
                torchserve,
                "--foreground",
                "--disable-token-auth",
                "--ncs",
                "--ts-config",
                config,
                "--model-store",
                mar_folder,
                "--models",
                f"{MODEL}={MODEL}.mar",
            ],
            cwd=cls.tmp.name,
            stdout=cls.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        status = f"http://127.0.0.1:{ports[1]}/models/{MODEL}"
        deadline = started + 180
        while True:
            try:
                with urllib.request.urlopen(status, timeout=5) as response:
                    workers = json.loads(response.read())[0].get("workers", [])
                if workers and all(w.get("status") == "READY" for w in workers):
                    break
            except (OSError, ValueError, IndexError):
                pass
            if cls.server.poll() is not None or time.monotonic() > deadline:
                cls.stop()
                with open(cls.log.name, encoding="utf-8", errors="replace") as f:
                    tail = f.read()[-3000:]
                raise RuntimeError(f"TorchServe did not get ready:\n{tail}")
            time.sleep(0.5)
        print(f"\nTorchServe ready in {time.monotonic() - started:.1f} s", file=sys.stderr)

    @classmethod
    def stop(cls):
        pgid = cls.server.pid
        try:
            os.killpg(pgid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            cls.server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(pgid, signal.SIGKILL)
            cls.server.wait(timeout=30)
        deadline = time.monotonic() + 30
        while group_members(pgid) and time.monotonic() < deadline:
            time.sleep(0.2)
        for pid in group_members(pgid):
            os.kill(pid, signal.SIGKILL)
        cls.log.close()

    @classmethod
    def tearDownClass(cls):
        if cls.server.poll() is None or group_members(cls.server.pid):
            cls.stop()
        cls.tmp.cleanup()

    def predict(self, instances):
        endpoint = json.dumps(
            {"resources": [{"resourceType": "LocalTorchServeEndpoint", "resourceUri": self.url}]}
        )
        (predictions,) = support.component("make_prediction_request").python_func(
            endpoint=endpoint, instances=instances, project="my-project", bucket="gs://b"
        )
        return predictions

    def test_predicts_the_obvious_labels(self):
        predictions = self.predict(POSITIVE + NEGATIVE)
        self.assertEqual([p["instance"] for p in predictions], POSITIVE + NEGATIVE)
        labels = [p["prediction"]["label"] for p in predictions]
        self.assertEqual(labels, ["positive"] * len(POSITIVE) + ["negative"] * len(NEGATIVE))
        for p in predictions:
            probabilities = p["prediction"]["probabilities"]
            self.assertEqual(set(probabilities), {"negative", "positive"})
            self.assertAlmostEqual(sum(probabilities.values()), 1.0, places=4)
            self.assertGreater(probabilities[p["prediction"]["label"]], 0.5)

    def test_predicts_an_answer_for_text_without_known_words(self):
        for prediction in self.predict(["", "!!!", "zzzz qqq"]):
            probabilities = prediction["prediction"]["probabilities"]
            self.assertAlmostEqual(sum(probabilities.values()), 1.0, places=4)

    def test_stop_leaves_no_process(self):
        # runs last (unittest runs a class's tests in alphabetical order): stopping ends
        # TorchServe's whole process group
        pgid = self.server.pid
        self.assertTrue(group_members(pgid))
        self.stop()
        self.assertEqual(group_members(pgid), [])


class PredictionErrorTest(unittest.TestCase):
    def setUp(self):
        if importlib_missing("kfp"):
            support.skip(f"{sys.executable} has no kfp")
        self.predict = support.component("make_prediction_request").python_func

    def test_unreachable_endpoint_says_so(self):
        url = f"http://127.0.0.1:{free_port()}/predictions/{MODEL}"
        endpoint = json.dumps(
            {"resources": [{"resourceType": "LocalTorchServeEndpoint", "resourceUri": url}]}
        )
        with self.assertRaisesRegex(RuntimeError, f"the endpoint {url} is not reachable"):
            self.predict(endpoint=endpoint, instances=["good"])

    def test_refuses_a_vertex_endpoint_and_no_instances(self):
        vertex = json.dumps(
            {"resources": [{"resourceType": "DeployModel", "resourceUri": "https://x/endpoints/1"}]}
        )
        local = json.dumps(
            {
                "resources": [
                    {
                        "resourceType": "LocalTorchServeEndpoint",
                        "resourceUri": "http://127.0.0.1:1/predictions/m",
                    }
                ]
            }
        )
        cases = [
            (vertex, ["good"], "no local TorchServe endpoint"),
            ("nonsense", ["good"], "not a gcp_resources JSON"),
            (local, [], "no instances"),
        ]
        for endpoint, instances, message in cases:
            with self.subTest(message):
                with self.assertRaisesRegex(ValueError, message):
                    self.predict(endpoint=endpoint, instances=instances)


def importlib_missing(name):
    import importlib.util

    return importlib.util.find_spec(name) is None


if __name__ == "__main__":
    unittest.main()
