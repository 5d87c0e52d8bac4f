"""generate_mar_file, model_upload and endpoint_create: the real torch-model-archiver packages
the local model with its handler, and the upload and endpoint steps describe what the local
deploy step serves."""

import json
import os
import tempfile
import unittest
import zipfile

import support


class PackagingTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        support.require_ml_environment()
        cls.tmp = tempfile.TemporaryDirectory()
        gcp_resources, _ = support.train(cls.tmp.name)
        _, cls.mar_folder = support.package(cls.tmp.name, gcp_resources)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_archive_holds_model_handler_and_vocabulary(self):
        mar = os.path.join(self.mar_folder, "finetuned-bert-classifier.mar")
        with zipfile.ZipFile(mar) as archive:
            names = set(archive.namelist())
            manifest = json.loads(archive.read("MAR-INF/MANIFEST.json"))
            handler = archive.read("sentiment_handler.py").decode("utf-8")
        self.assertTrue({"model.pt", "vocab.json", "index_to_name.json"} <= names, names)
        self.assertEqual(manifest["model"]["modelName"], "finetuned-bert-classifier")
        self.assertEqual(manifest["model"]["handler"], "sentiment_handler.py")
        self.assertIn("def text_features(", handler)
        self.assertIn("def handle(data, context)", handler)

    def test_rejects_a_model_name_torchserve_cannot_serve(self):
        from kfp import dsl

        with tempfile.TemporaryDirectory() as folder:
            with self.assertRaisesRegex(ValueError, "model_display_name.*'my model/1'"):
                support.component("generate_mar_file").python_func(
                    model_display_name="my model/1",
                    model_version="1",
                    model=dsl.Model(uri=os.path.join(self.tmp.name, "details_model")),
                    model_mar=support.artifact(dsl.Model, folder, "mar"),
                )

    def test_rejects_a_folder_without_the_local_model(self):
        from kfp import dsl

        with tempfile.TemporaryDirectory() as folder:
            with self.assertRaisesRegex(FileNotFoundError, "lacks model.pt, vocab.json"):
                support.component("generate_mar_file").python_func(
                    model_display_name="m",
                    model_version="1",
                    model=dsl.Model(uri=folder),
                    model_mar=support.artifact(dsl.Model, folder, "mar"),
                )

    def test_model_upload_names_the_archive(self):
        from kfp import dsl

        with tempfile.TemporaryDirectory() as folder:
            model = support.artifact(dsl.Artifact, folder, "model")
            (gcp_resources,) = support.component("model_upload").python_func(
                display_name="finetuned-bert-classifier",
                model=model,
                unmanaged_container_model=dsl.Artifact(uri=self.mar_folder),
            )
        self.assertEqual(model.uri, os.path.abspath(self.mar_folder))
        self.assertEqual(
            model.metadata,
            {
                "resourceName": "local/models/finetuned-bert-classifier",
                "displayName": "finetuned-bert-classifier",
                "marFolder": os.path.abspath(self.mar_folder),
                "modelName": "finetuned-bert-classifier",
            },
        )
        (resource,) = json.loads(gcp_resources)["resources"]
        self.assertEqual(resource["resourceType"], "LocalModel")

    def test_model_upload_refuses_a_cloud_or_empty_folder(self):
        from kfp import dsl

        upload = support.component("model_upload").python_func
        with tempfile.TemporaryDirectory() as folder:
            cases = [
                (dsl.Artifact(uri="gs://bucket/mar"), ValueError, "must be local"),
                (dsl.Artifact(uri=folder), ValueError, "exactly one .mar file, it holds 0"),
                (None, ValueError, "unmanaged_container_model is required"),
            ]
            for source, error, message in cases:
                with self.subTest(message):
                    with self.assertRaisesRegex(error, message):
                        upload(
                            display_name="m",
                            model=support.artifact(dsl.Artifact, folder, "model"),
                            unmanaged_container_model=source,
                        )

    def test_endpoint_create_names_the_local_endpoint(self):
        from kfp import dsl

        endpoint = dsl.Artifact(uri=os.path.join(self.tmp.name, "endpoint"))
        (gcp_resources,) = support.component("endpoint_create").python_func(
            display_name="pytorch-endpoint", endpoint=endpoint
        )
        self.assertEqual(endpoint.metadata["resourceName"], "local/endpoints/pytorch-endpoint")
        (resource,) = json.loads(gcp_resources)["resources"]
        self.assertEqual(resource["resourceUri"], "local/endpoints/pytorch-endpoint")


if __name__ == "__main__":
    unittest.main()
