"""custom_training_job and get_training_job_details: the local training reaches an accuracy
the seed's condition passes (and a 0.999 threshold does not), writes its files, and the
details step reads them back."""

import csv
import json
import os
import tempfile
import unittest

import support


class TrainingTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        support.require_ml_environment()
        cls.tmp = tempfile.TemporaryDirectory()
        cls.gcp_resources, cls.outputs = support.train(cls.tmp.name)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def job_dir(self):
        (resource,) = json.loads(self.gcp_resources)["resources"]
        self.assertEqual(resource["resourceType"], "LocalCustomJob")
        self.assertTrue(resource["resourceUri"].startswith("file://"))
        return resource["resourceUri"][len("file://") :]

    def test_accuracy_passes_the_default_threshold_but_not_0_999(self):
        with open(os.path.join(self.job_dir(), "metrics.json"), encoding="utf-8") as f:
            metrics = json.load(f)
        self.assertGreater(metrics["eval_accuracy"], 0.8)
        self.assertLess(metrics["eval_accuracy"], 0.999)
        self.assertGreater(metrics["eval_loss"], 0.0)
        logged = self.outputs["metrics"].metadata
        self.assertEqual(logged["accuracy"], metrics["eval_accuracy"])
        self.assertEqual(logged["loss"], metrics["eval_loss"])

    def test_writes_model_confusion_matrix_and_data_set(self):
        model = self.outputs["model"]
        for name in ("model.pt", "vocab.json", "index_to_name.json"):
            self.assertTrue(os.path.isfile(os.path.join(model.path, name)), name)
            self.assertTrue(os.path.isfile(os.path.join(self.job_dir(), "model", name)), name)
        self.assertEqual(model.metadata["framework"], "pytorch")
        self.assertEqual(model.metadata["model_name"], "finetuned-bert-classifier")
        matrix = self.outputs["classification_metrics"].metadata["confusionMatrix"]
        self.assertEqual(
            [s["displayName"] for s in matrix["annotationSpecs"]], ["negative", "positive"]
        )
        with open(self.outputs["dataset"].path, encoding="utf-8", newline="") as f:
            rows = list(csv.DictReader(f))
        eval_rows = [r for r in rows if r["split"] == "eval"]
        self.assertEqual(sum(sum(r["row"]) for r in matrix["rows"]), len(eval_rows))
        self.assertEqual({r["label"] for r in rows}, {"negative", "positive"})
        self.assertGreater(len(rows), len(eval_rows) > 0)

    def test_training_is_deterministic(self):
        with tempfile.TemporaryDirectory() as other:
            _, outputs = support.train(other)
        self.assertEqual(
            outputs["metrics"].metadata["accuracy"], self.outputs["metrics"].metadata["accuracy"]
        )

    def test_rejects_a_bad_epoch_count(self):
        with tempfile.TemporaryDirectory() as other:
            with self.assertRaisesRegex(ValueError, "--num-epochs.*integer.*'two'"):
                support.train(other, ["--num-epochs", "two"])

    def test_details_read_the_job(self):
        from kfp import dsl

        with tempfile.TemporaryDirectory() as folder:
            model = support.artifact(dsl.Model, folder, "model")
            eval_metric, eval_loss = support.component("get_training_job_details").python_func(
                job_resource=self.gcp_resources,
                eval_metric_key="eval_accuracy",
                model_display_name="finetuned-bert-classifier",
                model=model,
                project="my-project",
                location="us-central1",
            )
            self.assertEqual(eval_metric, self.outputs["metrics"].metadata["accuracy"])
            self.assertEqual(eval_loss, self.outputs["metrics"].metadata["loss"])
            self.assertTrue(os.path.isfile(os.path.join(model.path, "model.pt")))
            self.assertEqual(model.metadata["eval_accuracy"], eval_metric)

    def test_details_name_the_available_metrics_for_an_unknown_key(self):
        from kfp import dsl

        with tempfile.TemporaryDirectory() as folder:
            with self.assertRaisesRegex(KeyError, "'f1'.*available: eval_accuracy, eval_loss"):
                support.component("get_training_job_details").python_func(
                    job_resource=self.gcp_resources,
                    eval_metric_key="f1",
                    model_display_name="m",
                    model=support.artifact(dsl.Model, folder, "model"),
                )

    def test_details_refuse_a_vertex_job(self):
        from kfp import dsl

        vertex = json.dumps(
            {"resources": [{"resourceType": "CustomJob", "resourceUri": "https://x/customJobs/2"}]}
        )
        with tempfile.TemporaryDirectory() as folder:
            for job_resource, message in ((vertex, "no local training job"), ("{", "not a gcp")):
                with self.subTest(job_resource):
                    with self.assertRaisesRegex(ValueError, message):
                        support.component("get_training_job_details").python_func(
                            job_resource=job_resource,
                            eval_metric_key="eval_accuracy",
                            model_display_name="m",
                            model=support.artifact(dsl.Model, folder, "model"),
                        )


if __name__ == "__main__":
    unittest.main()
