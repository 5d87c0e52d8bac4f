//! The HTTP API, in process (`tower::ServiceExt::oneshot`) against a real SQLite database in a
//! temporary folder.

use std::path::Path;

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderMap, Method, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt as _;
use pipeline_canvas::{app, AppState};
use serde_json::{json, Value};
use tower::ServiceExt as _;

const SEED: &str = include_str!("../../../examples/pytorch-text-classification.pipeline.json");
const SEED_ID: &str = "pytorch-text-classification";

/// A fresh data folder and the app over it.
struct Fixture {
    dir: tempfile::TempDir,
    app: Router,
    /// The server's API token, sent by [`Fixture::send`] as a script would.
    token: String,
}

impl Fixture {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let state = AppState::open(dir.path()).expect("open app state");
        Self::over(state, dir)
    }

    fn over(state: AppState, dir: tempfile::TempDir) -> Self {
        Self {
            token: state.guard.token().to_string(),
            app: app(state),
            dir,
        }
    }

    fn data(&self) -> &Path {
        self.dir.path()
    }

    async fn send(&self, method: Method, uri: &str, body: impl Into<Body>) -> Reply {
        self.send_as(method, uri, "application/json", body).await
    }

    /// Sends a body of type `media`, with the token, as a script would.
    async fn send_as(
        &self,
        method: Method,
        uri: &str,
        media: &str,
        body: impl Into<Body>,
    ) -> Reply {
        let request = Request::builder()
            .method(method)
            .uri(uri)
            .header(header::HOST, "127.0.0.1:8080")
            .header(header::AUTHORIZATION, format!("Bearer {}", self.token))
            .header(header::CONTENT_TYPE, media)
            .body(body.into())
            .expect("request");
        self.call(request).await
    }

    /// Sends `request` as it is and collects the answer.
    async fn call(&self, request: Request<Body>) -> Reply {
        let response = self
            .app
            .clone()
            .oneshot(request)
            .await
            .expect("infallible service");
        let status = response.status();
        let headers = response.headers().clone();
        let body = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        Reply {
            status,
            headers,
            body,
        }
    }

    async fn get(&self, uri: &str) -> Reply {
        self.send(Method::GET, uri, Body::empty()).await
    }

    async fn post(&self, uri: &str, body: impl Into<Body>) -> Reply {
        self.send(Method::POST, uri, body).await
    }

    /// The saved pipelines, asserting the list call itself succeeds.
    async fn saved(&self) -> Vec<Value> {
        let r = self.get("/api/pipelines").await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        r.json().as_array().expect("a list").clone()
    }
}

struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

impl Reply {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }

    fn content_type(&self) -> &str {
        self.headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    /// The `error` message of a JSON error body.
    fn error(&self) -> String {
        self.json()["error"]
            .as_str()
            .unwrap_or_else(|| panic!("no error message in {}", self.text()))
            .to_string()
    }
}

/// A minimal document that compiles: one task running the built-in MAR file component with
/// every input given.
fn small_document(name: &str) -> Value {
    let entry = components::builtin()
        .expect("built-in catalog")
        .into_iter()
        .find(|e| e.id == "get-training-job-details")
        .expect("get-training-job-details is built in");
    let component = serde_json::to_value(&entry.component).expect("component JSON");
    let inputs: serde_json::Map<String, Value> = entry
        .component
        .input_definitions
        .parameters
        .keys()
        .map(|k| (k.clone(), json!({ "value": "x" })))
        .collect();
    let mut doc = json!({
        "format": "pipeline-canvas/v1",
        "name": name,
        "components": { "details": component },
        "nodes": [{
            "id": "n1",
            "name": "get-training-job-details",
            "component": "details",
            "position": { "x": 10.0, "y": 20.0 },
            "inputs": inputs,
        }],
    });
    // The job resource is wired in the real pipeline; here it comes from a pipeline parameter.
    if entry
        .component
        .input_definitions
        .parameters
        .contains_key("job_resource")
    {
        doc["parameters"] = json!([{ "name": "job_resource", "type": "STRING" }]);
        doc["nodes"][0]["inputs"]["job_resource"] = json!({ "parameter": "job_resource" });
    }
    doc
}

/// The seed example with the wire into `get-training-job-details.job_resource` removed.
fn seed_missing_job_resource() -> Value {
    let mut doc: Value = serde_json::from_str(SEED).expect("seed JSON");
    let wires = doc["wires"].as_array_mut().expect("wires");
    let before = wires.len();
    wires.retain(|w| !(w["to"]["node"] == "n3" && w["to"]["port"] == "job_resource"));
    assert_eq!(wires.len(), before - 1, "the seed wires n3.job_resource");
    doc
}

#[tokio::test]
async fn lists_builtin_then_user_components() {
    let f = Fixture::new();
    let r = f.get("/api/components").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.content_type().starts_with("application/json"));
    let list = r.json();
    let list = list.as_array().expect("list");
    let builtin = components::builtin().expect("catalog");
    assert_eq!(list.len(), builtin.len());
    assert_eq!(list[0]["id"], "build-container-image");
    assert_eq!(list[0]["title"], "Build container image");
    assert_eq!(list[0]["category"], "Build");
    for (entry, want) in list.iter().zip(&builtin) {
        assert_eq!(entry["id"], want.id.as_str());
        assert!(entry["description"].as_str().is_some_and(|d| !d.is_empty()));
        assert!(entry["component"]["executor"].is_object(), "{entry}");
    }

    // A user component file shows up after the built-ins, without a restart; a broken file
    // is skipped.
    let user_dir = f.data().join("components");
    assert!(user_dir.is_dir(), "the user components folder is created");
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../components/builtin/generate_mar_file.yaml"),
        user_dir.join("my_mar.yaml"),
    )
    .expect("copy component");
    std::fs::write(user_dir.join("broken.yaml"), "not: [a component").expect("write");
    let list = f.get("/api/components").await.json();
    let list = list.as_array().expect("list");
    assert_eq!(list.len(), builtin.len() + 1);
    let user = list.last().expect("user entry");
    assert_eq!(user["id"], "user/my_mar.yaml");
    assert_eq!(user["category"], "User");
    assert_eq!(user["component"]["name"], "generate-mar-file");
}

#[tokio::test]
async fn serves_the_examples() {
    let f = Fixture::new();
    let list = f.get("/api/examples").await.json();
    let seed = list
        .as_array()
        .expect("list")
        .iter()
        .find(|e| e["id"] == SEED_ID)
        .unwrap_or_else(|| panic!("seed missing from {list}"))
        .clone();
    assert_eq!(seed["title"], "PyTorch text classification on Vertex AI");

    let r = f.get(&format!("/api/examples/{SEED_ID}")).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.content_type(), "application/json");
    let served: pipeline::Document = pipeline::Document::from_json(&r.text()).expect("a document");
    let file = pipeline::Document::from_json(SEED).expect("seed parses");
    assert_eq!(served, file);

    let r = f.get("/api/examples/no-such-example").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(r.error().contains("no-such-example"), "{}", r.text());
}

#[tokio::test]
async fn compiles_the_seed_example_to_json_and_yaml() {
    let f = Fixture::new();
    let r = f.post("/api/compile", SEED).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.content_type(), "application/json");
    let spec = r.json();
    assert_eq!(
        spec["pipelineInfo"]["name"],
        "pytorch-text-classifier-pipeline"
    );
    assert!(spec["root"]["dag"]["tasks"]["get-training-job-details"].is_object());
    assert!(spec["root"]["dag"]["tasks"]["condition-1"].is_object());
    // Same as the core compiler's own output.
    let doc = pipeline::Document::from_json(SEED).expect("seed");
    let expected = pipeline::to_json(&pipeline::compile(&doc).spec.expect("compiles"));
    assert_eq!(r.text(), expected);

    let r = f.post("/api/compile?format=yaml", SEED).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.content_type(), "application/yaml");
    assert!(r
        .text()
        .starts_with("# PIPELINE DEFINITION\n# Name: pytorch-text-classifier-pipeline"));

    let r = f
        .post(
            "/api/compile?format=json",
            small_document("small").to_string(),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["pipelineInfo"]["name"], "small");

    let r = f.post("/api/compile?format=xml", SEED).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.error().contains("xml"), "{}", r.text());
}

#[tokio::test]
async fn yaml_documents_come_back_as_json() {
    let f = Fixture::new();
    // A compiled pipeline with its platform spec: two documents, in order.
    let text = "# PIPELINE DEFINITION\npipelineInfo:\n  name: p\nschemaVersion: 2.1.0\n---\nplatforms:\n  kubernetes: {}\n";
    let yaml = |body: Body| f.send_as(Method::POST, "/api/yaml", "application/yaml", body);
    let r = yaml(text.into()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(
        r.json(),
        json!([
            {"pipelineInfo": {"name": "p"}, "schemaVersion": "2.1.0"},
            {"platforms": {"kubernetes": {}}}
        ])
    );
    // What the importer refuses, it refuses here with the same words.
    for (body, says) in [
        ("a: [1, 2\nb: 3\n", "line 2"),
        ("", "empty"),
        ("PK\u{3}\u{4}zip", "binary"),
    ] {
        let r = yaml(body.into()).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{body:?}: {}", r.text());
        assert!(r.error().contains(says), "{body:?}: {}", r.text());
    }
    let r = yaml(vec![0xffu8, 0xfe, 0x00].into()).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.error().contains("UTF-8"), "{}", r.text());
}

#[tokio::test]
async fn compile_errors_are_422_with_node_ids() {
    let f = Fixture::new();
    let r = f
        .post("/api/compile", seed_missing_job_resource().to_string())
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    let body = r.json();
    assert_eq!(body["error"], "pipeline has errors");
    let diags = body["diagnostics"].as_array().expect("diagnostics");
    assert!(
        diags.iter().any(|d| d["severity"] == "error"
            && d["node"] == "n3"
            && d["port"] == "job_resource"
            && d["message"].as_str().is_some_and(|m| !m.is_empty())),
        "{body:#}"
    );

    // A node running a component the document does not have.
    let mut doc = small_document("broken");
    doc["nodes"][0]["component"] = json!("missing");
    let r = f.post("/api/compile", doc.to_string()).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let diags = r.json()["diagnostics"].clone();
    assert!(
        diags
            .as_array()
            .expect("diagnostics")
            .iter()
            .any(|d| d["node"] == "n1"),
        "{diags:#}"
    );
}

#[tokio::test]
async fn save_list_load_update_delete_round_trip() {
    let f = Fixture::new();
    assert!(f.saved().await.is_empty());

    let r = f.post("/api/pipelines", SEED).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let id = r.json()["id"].as_str().expect("id").to_string();
    assert_eq!(
        r.headers
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok()),
        Some(format!("/api/pipelines/{id}").as_str())
    );

    let list = f.saved().await;
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["id"], id.as_str());
    assert_eq!(list[0]["name"], "pytorch-text-classifier-pipeline");
    let first_saved = list[0]["updatedAt"]
        .as_str()
        .expect("updatedAt")
        .to_string();
    assert!(
        first_saved.ends_with('Z') && first_saved.contains('T'),
        "{first_saved}"
    );

    let r = f.get(&format!("/api/pipelines/{id}")).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.content_type(), "application/json");
    let loaded = pipeline::Document::from_json(&r.text()).expect("document");
    assert_eq!(loaded, pipeline::Document::from_json(SEED).expect("seed"));

    // Update: a renamed work-in-progress document that does not compile can still be saved.
    let mut wip = seed_missing_job_resource();
    wip["name"] = json!("renamed-pipeline");
    let r = f
        .send(
            Method::PUT,
            &format!("/api/pipelines/{id}"),
            wip.to_string(),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json(), json!({ "id": id }));
    let list = f.saved().await;
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["name"], "renamed-pipeline");
    // Refreshed, by the clock (which may not have moved in between: no ordering by time here).
    assert!(list[0]["updatedAt"].as_str().expect("updatedAt") >= first_saved.as_str());
    let loaded: Value = f.get(&format!("/api/pipelines/{id}")).await.json();
    assert_eq!(loaded["name"], "renamed-pipeline");
    assert_eq!(loaded["wires"], wip["wires"]);

    // A second pipeline lists first (most recent).
    let r = f
        .post("/api/pipelines", small_document("second").to_string())
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let second = r.json()["id"].as_str().expect("id").to_string();
    assert_ne!(second, id);
    let names: Vec<Value> = f.saved().await.iter().map(|p| p["name"].clone()).collect();
    assert_eq!(names, [json!("second"), json!("renamed-pipeline")]);

    let r = f
        .send(
            Method::DELETE,
            &format!("/api/pipelines/{id}"),
            Body::empty(),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert!(r.body.is_empty());
    assert_eq!(
        f.get(&format!("/api/pipelines/{id}")).await.status,
        StatusCode::NOT_FOUND
    );
    let r = f
        .send(
            Method::DELETE,
            &format!("/api/pipelines/{id}"),
            Body::empty(),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(f.saved().await.len(), 1);

    // Saved data survives a restart over the same folder.
    let reopened = Fixture::over(
        AppState::open(f.data()).expect("reopen"),
        tempfile::tempdir().expect("tempdir"),
    );
    let r = reopened.get(&format!("/api/pipelines/{second}")).await;
    assert_eq!(r.status, StatusCode::OK);
}

#[tokio::test]
async fn malformed_json_is_400_naming_line_and_column_and_stores_nothing() {
    let f = Fixture::new();
    let body = "{\n  \"format\": \"pipeline-canvas/v1\",\n  \"name\": \"x\",\n  \"nodes\": [,]\n}";
    let r = f.post("/api/pipelines", body).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
    assert!(r.content_type().starts_with("application/json"));
    let msg = r.error();
    assert!(msg.contains("line 4, column 13"), "{msg}");
    assert!(f.saved().await.is_empty());

    let r = f.post("/api/compile", body).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.error().contains("line 4"), "{}", r.text());

    // Truncated JSON, an empty body and non-UTF-8 bytes are refused the same way.
    let r = f.post("/api/pipelines", &SEED[..SEED.len() / 2]).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.error().contains("line "), "{}", r.text());
    let r = f.post("/api/pipelines", "").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = f.post("/api/pipelines", vec![b'{', 0xff, b'}']).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.error().contains("UTF-8"), "{}", r.text());
    assert!(f.saved().await.is_empty());
}

#[tokio::test]
async fn unknown_fields_and_wrong_format_are_400() {
    let f = Fixture::new();
    let mut doc = small_document("strict");
    doc["nodes"][0]["colour"] = json!("red");
    let r = f.post("/api/pipelines", doc.to_string()).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
    assert!(r.error().contains("colour"), "{}", r.text());

    let mut doc = small_document("strict");
    doc["extra"] = json!(1);
    let r = f.post("/api/compile", doc.to_string()).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.error().contains("extra"), "{}", r.text());

    let mut doc = small_document("strict");
    doc["format"] = json!("pipeline-canvas/v2");
    let r = f.post("/api/pipelines", doc.to_string()).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.error().contains("pipeline-canvas/v2"), "{}", r.text());

    // A bad update leaves the saved document as it was.
    let id = f.post("/api/pipelines", SEED).await.json()["id"]
        .as_str()
        .expect("id")
        .to_string();
    let mut doc = small_document("strict");
    doc["unknown"] = json!(true);
    let r = f
        .send(
            Method::PUT,
            &format!("/api/pipelines/{id}"),
            doc.to_string(),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let list = f.saved().await;
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["name"], "pytorch-text-classifier-pipeline");
}

#[tokio::test]
async fn oversized_bodies_are_413_with_a_json_error() {
    let f = Fixture::new();
    let big = format!(
        "{{\"format\":\"pipeline-canvas/v1\",\"name\":\"big\",\"description\":\"{}\"}}",
        "x".repeat(9 * 1024 * 1024)
    );
    for uri in ["/api/pipelines", "/api/compile"] {
        let r = f.post(uri, big.clone()).await;
        assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{uri}");
        assert!(r.error().contains("8 MiB"), "{}", r.text());
    }
    // A body that says it is too large is refused before it is read.
    let claim = Request::builder()
        .method(Method::POST)
        .uri("/api/pipelines")
        .header(header::HOST, "127.0.0.1:8080")
        .header(header::AUTHORIZATION, format!("Bearer {}", f.token))
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::CONTENT_LENGTH, "99999999999")
        .body(Body::from("{"))
        .expect("request");
    let r = f.call(claim).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.text());
    assert!(f.saved().await.is_empty());
    // Just under the limit is fine.
    let fits = format!(
        "{{\"format\":\"pipeline-canvas/v1\",\"name\":\"big\",\"description\":\"{}\"}}",
        "x".repeat(7 * 1024 * 1024)
    );
    assert_eq!(
        f.post("/api/pipelines", fits).await.status,
        StatusCode::CREATED
    );
}

#[tokio::test]
async fn unknown_ids_and_routes_are_404() {
    let f = Fixture::new();
    let r = f.get("/api/pipelines/does-not-exist").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(r.error().contains("does-not-exist"), "{}", r.text());

    // Updating an unknown id does not create it.
    let r = f
        .send(Method::PUT, "/api/pipelines/does-not-exist", SEED)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(f.saved().await.is_empty());

    let r = f.get("/api/nothing-here").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(r.error().contains("/api/nothing-here"), "{}", r.text());

    let r = f
        .send(Method::DELETE, "/api/components", Body::empty())
        .await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(r.error(), "method not allowed");
}

#[tokio::test]
async fn keeps_answering_after_bad_requests() {
    let f = Fixture::new();
    let bad: [(Method, &str, Body); 6] = [
        (Method::POST, "/api/pipelines", Body::from("{")),
        (Method::POST, "/api/compile", Body::from("[1,2,3]")),
        (Method::PUT, "/api/pipelines/x", Body::from("null")),
        (Method::GET, "/api/pipelines/%ff%fe", Body::empty()),
        (Method::POST, "/api/compile?format=%zz", Body::from(SEED)),
        (
            Method::POST,
            "/api/pipelines",
            Body::from(vec![b'a'; 9 * 1024 * 1024]),
        ),
    ];
    for (method, uri, body) in bad {
        let r = f.send(method.clone(), uri, body).await;
        assert!(
            r.status.is_client_error(),
            "{method} {uri}: {} {}",
            r.status,
            r.text()
        );
        assert!(
            r.json()["error"].is_string(),
            "{method} {uri}: {}",
            r.text()
        );
        // And a good request right after each bad one.
        let ok = f.get("/api/pipelines").await;
        assert_eq!(ok.status, StatusCode::OK);
    }
    assert_eq!(
        f.post("/api/pipelines", SEED).await.status,
        StatusCode::CREATED
    );
    assert_eq!(f.post("/api/compile", SEED).await.status, StatusCode::OK);
}

#[tokio::test]
async fn front_end_or_help_page_at_root() {
    // No front end built: a page saying how to build it; the API still works.
    let f = Fixture::new();
    let r = f.get("/").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.content_type().starts_with("text/html"));
    assert!(r.text().contains("./scripts/setup"), "{}", r.text());
    assert_eq!(f.get("/app.wasm").await.status, StatusCode::NOT_FOUND);

    // With a built front end, its files are served.
    let dist = f.data().join("dist");
    std::fs::create_dir_all(&dist).expect("mkdir");
    std::fs::write(dist.join("index.html"), "<html>canvas</html>").expect("write");
    std::fs::write(dist.join("app.wasm"), b"\0asm").expect("write");
    let state = AppState::open(f.data())
        .expect("state")
        .with_static_dir(dist);
    let served = Fixture::over(state, tempfile::tempdir().expect("tempdir"));
    let r = served.get("/").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.text(), "<html>canvas</html>");
    let r = served.get("/app.wasm").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.content_type(), "application/wasm");
    assert_eq!(served.get("/api/components").await.status, StatusCode::OK);
    assert_eq!(served.get("/api/nope").await.status, StatusCode::NOT_FOUND);
}

// ---- The request guard (issue 13): only the app's own page, or a client with the token. ----

/// A request with exactly these headers (no token unless given).
fn raw(
    method: Method,
    uri: &str,
    headers: &[(&str, &str)],
    body: impl Into<Body>,
) -> Request<Body> {
    let mut b = Request::builder().method(method).uri(uri);
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    b.body(body.into()).expect("request")
}

const RUN_BODY: &str = r#"{"spec": {"pipelineInfo": {"name": "x"}}}"#;

/// The runs the store holds, asked with the token.
async fn run_count(f: &Fixture) -> usize {
    let r = f.get("/api/runs").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    r.json().as_array().expect("a list").len()
}

#[tokio::test]
async fn a_cross_site_simple_request_cannot_start_a_run() {
    let f = Fixture::new();
    // What `fetch(url, {method: 'POST', mode: 'no-cors', body})` from another site sends: no
    // cookie (SameSite=Strict), a text/plain body, the page's Origin.
    let attack = raw(
        Method::POST,
        "/api/runs",
        &[
            ("host", "127.0.0.1:8080"),
            ("origin", "https://evil.example"),
            ("content-type", "text/plain;charset=UTF-8"),
            ("sec-fetch-site", "cross-site"),
        ],
        RUN_BODY,
    );
    let r = f.call(attack).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text());
    assert!(r.error().contains("token"), "{}", r.text());
    // Even with the page's cookie (a same-site page on another port would send it), the other
    // origin is refused.
    let cookie = format!("pipeline-canvas-token-0={}", f.token);
    let r = f
        .call(raw(
            Method::POST,
            "/api/runs",
            &[
                ("host", "localhost:8080"),
                ("origin", "http://localhost:3000"),
                ("cookie", &cookie),
                ("content-type", "application/json"),
                ("sec-fetch-site", "same-site"),
            ],
            RUN_BODY,
        ))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
    assert!(r.error().contains("http://localhost:3000"), "{}", r.text());
    // A text/plain body is refused even with the token.
    let r = f
        .call(raw(
            Method::POST,
            "/api/runs",
            &[
                ("host", "127.0.0.1:8080"),
                ("authorization", &format!("Bearer {}", f.token)),
                ("content-type", "text/plain"),
            ],
            RUN_BODY,
        ))
        .await;
    assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{}", r.text());
    assert!(r.error().contains("application/json"), "{}", r.text());
    assert_eq!(run_count(&f).await, 0, "no run may have started");
}

#[tokio::test]
async fn dns_rebinding_hosts_are_refused_everywhere() {
    let f = Fixture::new();
    let bearer = format!("Bearer {}", f.token);
    for uri in ["/api/targets", "/", "/api/runs", "/app.wasm"] {
        let r = f
            .call(raw(
                Method::GET,
                uri,
                &[("host", "evil.example:8080"), ("authorization", &bearer)],
                Body::empty(),
            ))
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{uri}: {}", r.text());
        assert!(r.text().contains("evil.example"), "{uri}: {}", r.text());
        assert_eq!(r.headers["x-content-type-options"], "nosniff", "{uri}");
    }
    // No Host at all (not HTTP/1.1): refused too.
    let r = f
        .call(raw(
            Method::GET,
            "/api/targets",
            &[("authorization", &bearer)],
            Body::empty(),
        ))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
    // Loopback names are this server.
    for host in ["localhost:8080", "127.0.0.1:8080", "[::1]:8080"] {
        let r = f
            .call(raw(
                Method::GET,
                "/api/targets",
                &[("host", host), ("authorization", &bearer)],
                Body::empty(),
            ))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{host}: {}", r.text());
    }
}

#[tokio::test]
async fn the_api_needs_the_token_or_the_pages_cookie() {
    let f = Fixture::new();
    let host = ("host", "127.0.0.1:8080");
    let r = f
        .call(raw(Method::GET, "/api/targets", &[host], Body::empty()))
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.error().contains("Authorization: Bearer"), "{}", r.text());
    let r = f
        .call(raw(
            Method::GET,
            "/api/targets",
            &[host, ("authorization", "Bearer not-the-token-at-all")],
            Body::empty(),
        ))
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let wrong_cookie = "pipeline-canvas-token-0=0000000000000000";
    let r = f
        .call(raw(
            Method::GET,
            "/api/targets",
            &[host, ("cookie", wrong_cookie)],
            Body::empty(),
        ))
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);

    // The page's own requests: the cookie, same origin.
    let cookie = format!("other=1; pipeline-canvas-token-0={}", f.token);
    let page_get = |uri: &str, site: &str| {
        raw(
            Method::GET,
            uri,
            &[host, ("cookie", &cookie), ("sec-fetch-site", site)],
            Body::empty(),
        )
    };
    assert_eq!(
        f.call(page_get("/api/targets", "same-origin")).await.status,
        StatusCode::OK
    );
    // A typed address (an artifact opened in a tab) is the user's own navigation.
    assert_eq!(
        f.call(page_get("/api/targets", "none")).await.status,
        StatusCode::OK
    );
    let r = f.call(page_get("/api/targets", "cross-site")).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
    let r = f.call(page_get("/api/runs/x/events", "same-site")).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());

    let post = |origin: Option<&str>| {
        let mut h = vec![
            host,
            ("cookie", cookie.as_str()),
            ("content-type", "application/json; charset=utf-8"),
        ];
        if let Some(o) = origin {
            h.push(("origin", o));
        }
        raw(
            Method::POST,
            "/api/pipelines",
            &h,
            small_document("guarded").to_string(),
        )
    };
    let r = f.call(post(Some("http://127.0.0.1:8080"))).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    // With the cookie but no Origin: not from the page.
    let r = f.call(post(None)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
    let r = f.call(post(Some("http://127.0.0.1:9999"))).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
    assert_eq!(f.saved().await.len(), 1);
}

#[tokio::test]
async fn yaml_bodies_need_a_yaml_type() {
    let f = Fixture::new();
    let r = f.post("/api/yaml", "a: 1\n").await;
    assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{}", r.text());
    assert!(r.error().contains("application/yaml"), "{}", r.text());
    let r = f
        .send_as(Method::POST, "/api/pipelines", "application/yaml", "a: 1\n")
        .await;
    assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{}", r.text());
    // A POST with no body needs no type (cancel, rerun).
    let r = f
        .call(raw(
            Method::POST,
            "/api/runs/nope/cancel",
            &[
                ("host", "127.0.0.1:8080"),
                ("authorization", &format!("Bearer {}", f.token)),
            ],
            Body::empty(),
        ))
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text());
}

#[tokio::test]
async fn every_answer_has_security_headers_and_the_page_sets_the_cookie() {
    let f = Fixture::new();
    let dist = f.data().join("dist");
    std::fs::create_dir_all(&dist).expect("mkdir");
    let index =
        "<html><script type=\"module\">import init from '/frontend.js'; init();</script></html>";
    std::fs::write(dist.join("index.html"), index).expect("write");
    let state = AppState::open(f.data())
        .expect("state")
        .with_static_dir(dist);
    let served = Fixture::over(state, tempfile::tempdir().expect("tempdir"));
    let page = served
        .call(raw(
            Method::GET,
            "/",
            &[("host", "localhost:8080")],
            Body::empty(),
        ))
        .await;
    assert_eq!(page.status, StatusCode::OK);
    let set_cookie = page.headers[header::SET_COOKIE].to_str().expect("ascii");
    assert!(
        set_cookie.starts_with(&format!("pipeline-canvas-token-0={};", served.token)),
        "{set_cookie}"
    );
    assert!(
        set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Strict"),
        "{set_cookie}"
    );
    let csp = page.headers[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .expect("ascii");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(
        csp.contains("'sha256-"),
        "the inline loader is allowed by its hash: {csp}"
    );
    assert!(
        !csp.contains("'unsafe-inline' 'unsafe-eval'") && !csp.contains("script-src *"),
        "{csp}"
    );
    for r in [
        page,
        served.get("/api/components").await,
        served.get("/api/nope").await,
    ] {
        assert_eq!(r.headers["x-content-type-options"], "nosniff");
        assert_eq!(r.headers["x-frame-options"], "DENY");
        assert_eq!(r.headers["referrer-policy"], "no-referrer");
        assert!(r.headers.contains_key(header::CONTENT_SECURITY_POLICY));
    }
}

#[tokio::test]
async fn beyond_loopback_the_page_needs_the_token_once() {
    use pipeline_canvas::guard::{Guard, GuardConfig};
    let f = Fixture::new();
    let dist = f.data().join("dist");
    std::fs::create_dir_all(&dist).expect("mkdir");
    std::fs::write(dist.join("index.html"), "<html>canvas</html>").expect("write");
    let guard = Guard::new(GuardConfig {
        token: Some("a-token-given-by-the-user".into()),
        ..GuardConfig::new("0.0.0.0:8080".parse().expect("addr"))
    })
    .expect("guard");
    let state = AppState::open(f.data())
        .expect("state")
        .with_static_dir(dist)
        .with_guard(guard);
    let served = Fixture::over(state, tempfile::tempdir().expect("tempdir"));
    let host = ("host", "192.168.1.20:8080");
    let get = |uri: &str, extra: &[(&'static str, &str)]| {
        let mut h = vec![host];
        h.extend_from_slice(extra);
        raw(Method::GET, uri, &h, Body::empty())
    };
    let r = served.call(get("/", &[])).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.text().contains("token"), "{}", r.text());
    assert!(!r.headers.contains_key(header::SET_COOKIE));
    let r = served.call(get("/?token=wrong-token-0000000", &[])).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.text().contains("not this server"), "{}", r.text());
    let r = served
        .call(get("/?token=a-token-given-by-the-user", &[]))
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.headers[header::LOCATION], "/");
    let cookie = r.headers[header::SET_COOKIE].to_str().expect("ascii");
    assert!(
        cookie.starts_with("pipeline-canvas-token-8080=a-token-given-by-the-user;"),
        "{cookie}"
    );
    let r = served
        .call(get(
            "/",
            &[(
                "cookie",
                "pipeline-canvas-token-8080=a-token-given-by-the-user",
            )],
        ))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.text(), "<html>canvas</html>");
    // A host name needs --allow-host, even with the token.
    let r = served
        .call(raw(
            Method::GET,
            "/api/components",
            &[
                ("host", "my-box.lan:8080"),
                ("authorization", "Bearer a-token-given-by-the-user"),
            ],
            Body::empty(),
        ))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

/// A Python component draft in its wire form.
fn add_draft(name: &str) -> Value {
    json!({
        "name": name,
        "description": "Adds two numbers.",
        "inputs": [{"name": "a", "type": "int"}, {"name": "b", "type": "int", "default": "2"}],
        "outputs": [{"name": "Output", "type": "int"}],
        "implementation": {"kind": "python", "baseImage": "python:3.11", "body": "return a + b"}
    })
}

#[tokio::test]
async fn previews_a_component_draft_or_says_what_is_wrong() {
    let f = Fixture::new();
    let r = f
        .post(
            "/api/components/preview",
            add_draft("add_numbers").to_string(),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let preview = r.json();
    let yaml = preview["yaml"].as_str().expect("yaml");
    assert!(
        yaml.starts_with("# PIPELINE DEFINITION\n# Name: add-numbers\n"),
        "{yaml}"
    );
    assert!(yaml.contains("defaultValue: 2.0"), "{yaml}");
    let python = preview["python"].as_str().expect("python");
    assert!(
        python.starts_with("def add_numbers(\n    a: int,\n    b: int = 2,\n) -> int:\n"),
        "{python}"
    );
    assert_eq!(preview["problems"], json!([]));

    // Problems are an answer, each naming its field.
    let mut bad = add_draft("Add");
    bad["inputs"][1]["default"] = json!("two");
    bad["implementation"]["baseImage"] = json!("");
    let preview = f
        .post("/api/components/preview", bad.to_string())
        .await
        .json();
    assert!(preview.get("yaml").is_none(), "{preview}");
    let fields: Vec<&str> = preview["problems"]
        .as_array()
        .expect("problems")
        .iter()
        .filter_map(|p| p["field"].as_str())
        .collect();
    assert_eq!(
        fields,
        ["name", "inputs[1].default", "baseImage"],
        "{preview}"
    );

    // Not a draft at all: 400 naming what is wrong.
    let r = f
        .post(
            "/api/components/preview",
            r#"{"name": "x", "implementation": {"kind": "rust"}}"#,
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(
        r.error().starts_with("invalid component draft: "),
        "{}",
        r.text()
    );
}

#[tokio::test]
async fn saves_an_authored_component_to_the_library() {
    let f = Fixture::new();
    let save =
        |draft: Value, replace: bool| json!({"draft": draft, "replace": replace}).to_string();
    let r = f
        .post("/api/components", save(add_draft("add_numbers"), false))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    assert_eq!(r.json()["id"], "user/add_numbers.yaml");
    let file = f.data().join("components/add_numbers.yaml");
    let text = std::fs::read_to_string(&file).expect("the component file");
    assert!(
        text.starts_with("# PIPELINE DEFINITION\n# Name: add-numbers\n"),
        "{text}"
    );

    // It is in the palette at once, under User, with its interface.
    let list = f.get("/api/components").await.json();
    let entry = list
        .as_array()
        .expect("list")
        .iter()
        .find(|e| e["id"] == "user/add_numbers.yaml")
        .unwrap_or_else(|| panic!("not listed: {list}"))
        .clone();
    assert_eq!(entry["category"], "User");
    assert_eq!(entry["description"], "Adds two numbers.");
    assert_eq!(entry["component"]["name"], "add-numbers");
    assert_eq!(
        entry["component"]["inputDefinitions"]["parameters"]["b"]["defaultValue"],
        json!(2.0)
    );

    // A second save of the same name is refused, and leaves the file as it was; replace wins.
    let mut changed = add_draft("add_numbers");
    changed["description"] = json!("Adds them again.");
    let r = f
        .post("/api/components", save(changed.clone(), false))
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text());
    assert!(r.error().contains("add_numbers.yaml"), "{}", r.text());
    assert_eq!(std::fs::read_to_string(&file).expect("file"), text);
    let r = f.post("/api/components", save(changed, true)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    assert!(std::fs::read_to_string(&file)
        .expect("file")
        .contains("Adds them again."));

    // A draft with problems is 422 with every problem; a name is never a path.
    for name in ["../escape", "a/b", "nul\u{0}", ""] {
        let r = f
            .post("/api/components", save(add_draft(name), false))
            .await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{name:?}: {}",
            r.text()
        );
        assert_eq!(r.json()["problems"][0]["field"], "name", "{}", r.text());
    }
    let names: Vec<String> = std::fs::read_dir(f.data().join("components"))
        .expect("list")
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect();
    assert_eq!(names, ["add_numbers.yaml"], "nothing else was written");
    assert!(!f.data().join("escape.yaml").exists());
}

#[tokio::test]
async fn a_saved_component_reopens_as_its_draft_and_saves_again() {
    let f = Fixture::new();
    let save =
        |draft: Value, replace: bool| json!({"draft": draft, "replace": replace}).to_string();
    let r = f
        .post("/api/components", save(add_draft("add_numbers"), false))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());

    // The draft comes back as it was written.
    let r = f.get("/api/components/add_numbers/draft").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let mut written = add_draft("add_numbers");
    written["implementation"]["packages"] = json!([]);
    assert_eq!(r.json(), written);

    // Edited (an input added, the body changed) and saved over it: the new draft comes back.
    let mut changed = r.json();
    changed["inputs"]
        .as_array_mut()
        .expect("inputs")
        .push(json!({"name": "c", "type": "int", "default": "0"}));
    changed["implementation"]["body"] = json!("return a + b + c");
    let r = f.post("/api/components", save(changed.clone(), true)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let file = f.data().join("components/add_numbers.yaml");
    let text = std::fs::read_to_string(&file).expect("the file");
    assert!(text.contains("return a + b + c"), "{text}");
    let r = f.get("/api/components/add_numbers/draft").await;
    assert_eq!(r.json(), changed);

    // A file the form cannot show is 422, saying where and why; one that is not a component
    // at all too.
    let Ok(pipeline::import::KfpFile::Spec(mut edited)) = pipeline::import::read_file(&text) else {
        panic!("not a spec: {text}");
    };
    for executor in edited
        .spec
        .deployment_spec
        .iter_mut()
        .flat_map(|d| d.executors.values_mut())
    {
        if let pipeline::ir::ExecutorSpec::Container(c) = executor {
            if let Some(program) = c.command.last_mut() {
                program.push_str("x = 1\n");
            }
        }
    }
    std::fs::write(&file, pipeline::to_json(&edited.spec)).expect("hand-edit");
    let r = f.get("/api/components/add_numbers/draft").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    let problem = &r.json()["problems"][0];
    assert!(
        problem["field"]
            .as_str()
            .is_some_and(|f| f.starts_with("command[6] line ")),
        "{problem}"
    );
    assert!(
        problem["message"]
            .as_str()
            .is_some_and(|m| m.contains("outside the function add_numbers")),
        "{problem}"
    );
    std::fs::write(f.data().join("components/broken.yaml"), "not: [a component").expect("write");
    let r = f.get("/api/components/broken/draft").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    assert_eq!(r.json()["problems"][0]["field"], "file", "{}", r.text());

    // Built-in components are not in the library; absent names are 404.
    for name in ["generate_mar_file", "model_upload", "nothing_here"] {
        let r = f.get(&format!("/api/components/{name}/draft")).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{name}: {}", r.text());
        assert!(r.error().contains("not editable"), "{}", r.text());
    }

    // A name is never a path: only a component's function name is looked up.
    std::fs::write(f.data().join("secret.yaml"), text).expect("write");
    for name in [
        "..%2Fsecret",
        "..%2F..%2Fetc%2Fpasswd",
        "%2Fetc%2Fpasswd",
        "add_numbers.yaml",
        "Add_numbers",
        "_private",
        "class",
        "a%00b",
        "a%20b",
        "%E2%80%AE",
        "..",
    ] {
        let r = f.get(&format!("/api/components/{name}/draft")).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{name}: {}", r.text());
        assert!(
            r.error().contains("is not a component name"),
            "{}",
            r.text()
        );
    }
    for path in [
        "/api/components/../secret/draft",
        "/api/components/a/b/draft",
        "/api/components//draft",
    ] {
        let r = f.get(path).await;
        assert!(
            r.status == StatusCode::NOT_FOUND || r.status == StatusCode::BAD_REQUEST,
            "{path}: {}",
            r.text()
        );
        assert!(!r.text().contains("add_numbers"), "{path}: {}", r.text());
    }
}
