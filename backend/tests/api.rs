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

const SEED: &str = include_str!("../../examples/pytorch-text-classification.pipeline.json");
const SEED_ID: &str = "pytorch-text-classification";

/// A fresh data folder and the app over it.
struct Fixture {
    dir: tempfile::TempDir,
    app: Router,
}

impl Fixture {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let state = AppState::open(dir.path()).expect("open app state");
        Self {
            app: app(state),
            dir,
        }
    }

    fn data(&self) -> &Path {
        self.dir.path()
    }

    async fn send(&self, method: Method, uri: &str, body: impl Into<Body>) -> Reply {
        let request = Request::builder()
            .method(method)
            .uri(uri)
            .header(header::CONTENT_TYPE, "application/json")
            .body(body.into())
            .expect("request");
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
    let r = f.post("/api/yaml", text).await;
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
        let r = f.post("/api/yaml", body).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{body:?}: {}", r.text());
        assert!(r.error().contains(says), "{body:?}: {}", r.text());
    }
    let r = f.post("/api/yaml", vec![0xffu8, 0xfe, 0x00]).await;
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
    std::thread::sleep(std::time::Duration::from_millis(5));
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
    assert!(list[0]["updatedAt"].as_str().expect("updatedAt") > first_saved.as_str());
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
    let reopened = app(AppState::open(f.data()).expect("reopen"));
    let request = Request::get(format!("/api/pipelines/{second}"))
        .body(Body::empty())
        .expect("request");
    let response = reopened.oneshot(request).await.expect("response");
    assert_eq!(response.status(), StatusCode::OK);
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
    let served = Fixture {
        app: app(state),
        dir: tempfile::tempdir().expect("tempdir"),
    };
    let r = served.get("/").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.text(), "<html>canvas</html>");
    let r = served.get("/app.wasm").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.content_type(), "application/wasm");
    assert_eq!(served.get("/api/components").await.status, StatusCode::OK);
    assert_eq!(served.get("/api/nope").await.status, StatusCode::NOT_FOUND);
}
