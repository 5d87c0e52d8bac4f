"""The body the official Vertex AI SDK sends to create a pipeline job: the test oracle of
`pipeline-canvas submit --target vertex` (targets/tests/targets/oracle.rs).

    vertex_submit_body.py SPEC.json --project P --region R --pipeline-root gs://... \
        [--param NAME=JSON]... [--label K=V]... [--service-account SA] [--network N]
        [--encryption-key K] [--enable-caching true|false] [--display-name NAME]

Starts a local HTTP server that answers like Vertex AI (REST, v1), points
`aiplatform.PipelineJob(...).submit()` at it with anonymous credentials, and writes one JSON
object, {"method", "path", "query", "body"} of the create request, to --out (the SDK prints
its own progress lines on standard output).
"""

import argparse
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import parse_qs, urlparse

captured = {}


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        url = urlparse(self.path)
        body = json.loads(raw or b"{}")
        if url.path.endswith("/pipelineJobs"):
            captured.update(
                method="POST",
                path=url.path,
                query={k: v[0] for k, v in parse_qs(url.query).items()},
                body=body,
            )
        job_id = parse_qs(url.query).get("pipelineJobId", ["job"])[0]
        answer = dict(body)
        answer["name"] = url.path[len("/v1/"):] + "/" + job_id
        answer["state"] = "PIPELINE_STATE_PENDING"
        data = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST


def main():
    p = argparse.ArgumentParser()
    p.add_argument("spec")
    p.add_argument("--project", required=True)
    p.add_argument("--region", required=True)
    p.add_argument("--pipeline-root", required=True)
    p.add_argument("--param", action="append", default=[])
    p.add_argument("--label", action="append", default=[])
    p.add_argument("--service-account")
    p.add_argument("--network")
    p.add_argument("--encryption-key")
    p.add_argument("--enable-caching")
    p.add_argument("--display-name")
    p.add_argument("--out", required=True)
    a = p.parse_args()

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]

    from google.auth.credentials import AnonymousCredentials
    from google.cloud import aiplatform
    from google.cloud.aiplatform.utils import gcs_utils

    # The SDK checks (and creates) the pipeline root's bucket through Cloud Storage before it
    # submits; there is no Cloud Storage here, and that call is not part of the create request.
    gcs_utils.create_gcs_bucket_for_pipeline_artifacts_if_it_does_not_exist = (
        lambda *args, **kwargs: None
    )

    aiplatform.init(
        project=a.project,
        location=a.region,
        credentials=AnonymousCredentials(),
        api_endpoint=f"http://127.0.0.1:{port}",
        api_transport="rest",
        encryption_spec_key_name=a.encryption_key,
    )
    params = {}
    for item in a.param:
        k, v = item.split("=", 1)
        params[k] = json.loads(v)
    labels = dict(item.split("=", 1) for item in a.label) or None
    caching = None if a.enable_caching is None else a.enable_caching.lower() == "true"
    job = aiplatform.PipelineJob(
        display_name=a.display_name,
        template_path=a.spec,
        pipeline_root=a.pipeline_root,
        parameter_values=params,
        labels=labels,
        enable_caching=caching,
    )
    try:
        job.submit(service_account=a.service_account, network=a.network)
    except Exception as e:  # the fake answer may not satisfy everything the SDK reads after
        if not captured:
            raise
        print(f"note: after the create request: {e!r}", file=sys.stderr)
    server.shutdown()
    with open(a.out, "w", encoding="utf-8") as f:
        json.dump(captured, f, sort_keys=True)


if __name__ == "__main__":
    main()
