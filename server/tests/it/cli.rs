//! The real `pipeline-canvas` binary: `compile` and `serve`.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Output, Stdio};
use std::time::Duration;

use serde_json::Value;

fn seed_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../examples/pytorch-text-classification.pipeline.json")
}

fn run(args: &[&str]) -> Output {
    crate::binary::command()
        .args(args)
        .env_remove("RUST_LOG")
        .output()
        .expect("run pipeline-canvas")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The seed example with the wire into `get-training-job-details.job_resource` removed.
fn write_broken_seed(dir: &Path) -> PathBuf {
    let mut doc: Value =
        serde_json::from_str(&std::fs::read_to_string(seed_path()).expect("read seed"))
            .expect("seed JSON");
    doc["wires"]
        .as_array_mut()
        .expect("wires")
        .retain(|w| !(w["to"]["node"] == "n3" && w["to"]["port"] == "job_resource"));
    let path = dir.join("broken.pipeline.json");
    std::fs::write(&path, serde_json::to_string_pretty(&doc).expect("JSON")).expect("write");
    path
}

#[test]
fn compile_writes_json_to_stdout() {
    let seed = seed_path();
    let o = run(&["compile", seed.to_str().expect("UTF-8 path")]);
    assert!(o.status.success(), "{}", stderr(&o));
    let spec: Value = serde_json::from_slice(&o.stdout).expect("stdout is JSON");
    assert_eq!(
        spec["pipelineInfo"]["name"],
        "pytorch-text-classifier-pipeline"
    );
    assert!(spec["deploymentSpec"]["executors"].is_object());
    // Exactly the core compiler's output.
    let doc = pipeline::Document::from_json(&std::fs::read_to_string(&seed).expect("read"))
        .expect("document");
    let expected = pipeline::to_json(&pipeline::compile(&doc).spec.expect("compiles"));
    assert_eq!(stdout(&o), expected);
    assert!(o.stderr.is_empty(), "{}", stderr(&o));

    // --format yaml to stdout; the document may come from stdin.
    let mut child = crate::binary::command()
        .args(["compile", "-", "--format", "yaml"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(&std::fs::read(&seed).expect("read"))
        .expect("write stdin");
    let o = child.wait_with_output().expect("wait");
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).starts_with("# PIPELINE DEFINITION\n"));
}

#[test]
fn compile_output_extension_picks_yaml() {
    let dir = tempfile::tempdir().expect("tempdir");
    let seed = seed_path();
    let out = dir.path().join("spec.yaml");
    let o = run(&[
        "compile",
        seed.to_str().expect("path"),
        "-o",
        out.to_str().expect("path"),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(o.stdout.is_empty(), "nothing on stdout with -o");
    let yaml = std::fs::read_to_string(&out).expect("spec written");
    assert!(yaml.starts_with("# PIPELINE DEFINITION\n# Name: pytorch-text-classifier-pipeline\n"));
    assert!(yaml.contains("\npipelineInfo:\n"), "{yaml}");
    // No temporary files left behind.
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .expect("list")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(names, ["spec.yaml"]);

    // .json (or anything else) gives JSON; --format wins over the extension.
    let out = dir.path().join("spec.out");
    let o = run(&[
        "compile",
        seed.to_str().expect("path"),
        "-o",
        out.to_str().expect("path"),
    ]);
    assert!(o.status.success());
    let _: Value =
        serde_json::from_str(&std::fs::read_to_string(&out).expect("written")).expect("JSON");
    let out = dir.path().join("forced.yaml");
    let o = run(&[
        "compile",
        seed.to_str().expect("path"),
        "-o",
        out.to_str().expect("path"),
        "--format",
        "json",
    ]);
    assert!(o.status.success());
    assert!(std::fs::read_to_string(&out)
        .expect("written")
        .starts_with('{'));
}

#[test]
fn compile_reports_every_diagnostic_readably() {
    let dir = tempfile::tempdir().expect("tempdir");
    let doc = write_broken_seed(dir.path());
    let out = dir.path().join("spec.json");
    let o = run(&[
        "compile",
        doc.to_str().expect("path"),
        "-o",
        out.to_str().expect("path"),
    ]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(
        err.contains("error [node n3 (get-training-job-details), port job_resource]: "),
        "{err}"
    );
    assert!(err.contains("broken.pipeline.json"), "{err}");
    assert!(err.contains("1 error"), "{err}");
    assert!(o.stdout.is_empty());
    assert!(!out.exists(), "no spec written for a bad document");
}

#[test]
fn compile_names_file_line_and_column_of_bad_json() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("bad.pipeline.json");
    std::fs::write(
        &path,
        "{\n  \"format\": \"pipeline-canvas/v1\",\n  \"name\": \"x\",\n  \"nodez\": []\n}\n",
    )
    .expect("write");
    let o = run(&["compile", path.to_str().expect("path")]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(err.contains("bad.pipeline.json:4:"), "{err}");
    assert!(err.contains("nodez"), "{err}");
    assert!(!err.contains("panicked"), "{err}");

    std::fs::write(&path, "{ not json").expect("write");
    let o = run(&["compile", path.to_str().expect("path")]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("bad.pipeline.json:1:3"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn compile_missing_file_names_it() {
    let o = run(&["compile", "/definitely/not/here.pipeline.json"]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(err.contains("/definitely/not/here.pipeline.json"), "{err}");
    assert!(err.starts_with("error: cannot read"), "{err}");

    // Unwritable output: the error names the output file.
    let seed = seed_path();
    let o = run(&[
        "compile",
        seed.to_str().expect("path"),
        "-o",
        "/definitely/not/here/spec.json",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("cannot write /definitely/not/here/spec.json"));

    // Usage errors are clap's (status 2).
    let o = run(&["compile"]);
    assert_eq!(o.status.code(), Some(2));
}

/// A `serve` process, killed on drop.
struct Server {
    child: Child,
    base: String,
    /// The API token it wrote to `<data>/token`.
    token: String,
    /// What it printed at start.
    banner: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    fn start(data: &Path, static_dir: &Path) -> Self {
        Self::start_on(data, static_dir, "127.0.0.1:0")
    }

    fn start_on(data: &Path, static_dir: &Path, addr: &str) -> Self {
        let mut child = crate::binary::command()
            .args(["serve", "--addr", addr])
            .env("PIPELINE_CANVAS_DATA_DIR", data)
            .env("PIPELINE_CANVAS_STATIC_DIR", static_dir)
            .env("PIPELINE_CANVAS_CONTAINER_RUNTIME", "none")
            .env_remove("RUST_LOG")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn serve");
        let mut out = BufReader::new(child.stdout.take().expect("stdout"));
        let mut banner = String::new();
        // The address line, then what to do with the token.
        while !banner.contains("Bearer") {
            let mut line = String::new();
            if out.read_line(&mut line).expect("read the banner") == 0 {
                panic!("serve ended before printing its banner: {banner:?}");
            }
            banner.push_str(&line);
        }
        let first = banner.lines().next().unwrap_or_default();
        let url = first
            .trim()
            .strip_prefix("Pipeline Canvas is running at http://")
            .unwrap_or_else(|| panic!("unexpected first line {first:?}"));
        let base = url.split('/').next().unwrap_or_default().to_string();
        let token = std::fs::read_to_string(data.join("token"))
            .expect("the token file")
            .trim()
            .to_string();
        Self {
            child,
            base,
            token,
            banner,
        }
    }

    /// Sends one HTTP/1.1 request with the token, as a script does, and returns (status, body).
    fn request(&self, method: &str, path: &str, body: &[u8]) -> (u16, String) {
        let auth = format!("Bearer {}", self.token);
        let headers = [
            ("Host", self.base.as_str()),
            ("Authorization", auth.as_str()),
            ("Content-Type", "application/json"),
        ];
        self.request_with(method, path, &headers, body)
    }

    /// Sends one HTTP/1.1 request with exactly these headers (and `Content-Length`).
    fn request_with(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> (u16, String) {
        let mut stream = TcpStream::connect(&self.base).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .expect("timeout");
        let mut head = format!("{method} {path} HTTP/1.1\r\n");
        for (k, v) in headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str(&format!(
            "Content-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        ));
        stream.write_all(head.as_bytes()).expect("send head");
        // The server may answer (413) before reading all of a large body.
        let _ = stream.write_all(body);
        let mut response = Vec::new();
        let _ = stream.read_to_end(&mut response);
        let response = String::from_utf8_lossy(&response).into_owned();
        let status = response
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("no status in {response:?}"));
        let body = response
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_string())
            .unwrap_or_default();
        (status, body)
    }
}

#[test]
fn serve_answers_over_http_and_survives_bad_requests() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let server = Server::start(&data, &dir.path().join("no-dist"));
    assert!(data.join("pipelines.db").is_file(), "database created");

    let (status, body) = server.request("GET", "/", b"");
    assert_eq!(status, 200);
    assert!(body.contains("./scripts/setup"), "{body}");

    let (status, body) = server.request("POST", "/api/pipelines", b"{\"format\": ");
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("line 1, column 11"), "{body}");
    let (status, _) = server.request("POST", "/api/pipelines", &vec![b' '; 9 << 20]);
    assert_eq!(status, 413);
    let (status, _) = server.request("GET", "/api/pipelines/nope", b"");
    assert_eq!(status, 404);

    let seed = std::fs::read(seed_path()).expect("seed");
    let (status, body) = server.request("POST", "/api/pipelines", &seed);
    assert_eq!(status, 201, "{body}");
    let (status, body) = server.request("GET", "/api/pipelines", b"");
    assert_eq!(status, 200);
    let list: Value = serde_json::from_str(&body).expect("JSON list");
    assert_eq!(list.as_array().map(Vec::len), Some(1));
    let (status, body) = server.request("POST", "/api/compile?format=yaml", &seed);
    assert_eq!(status, 200);
    assert!(body.starts_with("# PIPELINE DEFINITION"), "{body}");
}

#[test]
fn serve_guards_the_api_over_real_http() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let server = Server::start(&data, &dir.path().join("no-dist"));
    assert!(
        server
            .banner
            .contains(&data.join("token").display().to_string()),
        "{}",
        server.banner
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(data.join("token"))
            .expect("token file")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "the token file is the owner's only");
    }
    // The attack of issue 13: a page elsewhere posts a run as text/plain, without the token.
    let run = br#"{"spec": {"pipelineInfo": {"name": "x"}, "root": {"dag": {"tasks": {}}}}}"#;
    let host = server.base.clone();
    let (status, body) = server.request_with(
        "POST",
        "/api/runs",
        &[
            ("Host", &host),
            ("Origin", "https://evil.example"),
            ("Content-Type", "text/plain"),
        ],
        run,
    );
    assert_eq!(status, 401, "{body}");
    // DNS rebinding: the right token cannot help a request naming another host.
    let auth = format!("Bearer {}", server.token);
    let (status, body) = server.request_with(
        "GET",
        "/api/targets",
        &[("Host", "evil.example:8080"), ("Authorization", &auth)],
        b"",
    );
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("evil.example"), "{body}");
    let (status, body) = server.request("GET", "/api/runs", b"");
    assert_eq!((status, body.as_str()), (200, "[]"), "no run was started");
}

#[test]
fn serve_beyond_loopback_prints_a_url_with_its_token() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let server = Server::start_on(&data, &dir.path().join("no-dist"), "0.0.0.0:0");
    let first = server.banner.lines().next().unwrap_or_default();
    assert!(
        first.ends_with(&format!("/?token={}", server.token)),
        "the address to open holds the token: {first:?}"
    );
    assert_eq!(server.token.len(), 64, "a random token: {:?}", server.token);
    assert!(
        server.banner.contains("beyond this machine"),
        "{}",
        server.banner
    );
    let again = Server::start_on(
        &dir.path().join("data2"),
        &dir.path().join("no-dist"),
        "0.0.0.0:0",
    );
    assert_ne!(server.token, again.token, "a new token each start");
}

/// A pipeline whose one task (a container component, run on the host) sleeps 30 s.
const SLEEPER: &str = r#"{"spec": {
  "pipelineInfo": {"name": "sleeper"}, "schemaVersion": "2.1.0", "sdkVersion": "kfp-2.17.0",
  "root": {"dag": {"tasks": {"sleep": {"taskInfo": {"name": "sleep"},
    "componentRef": {"name": "comp-sleep"}, "cachingOptions": {}}}}},
  "components": {"comp-sleep": {"executorLabel": "exec-sleep"}},
  "deploymentSpec": {"executors": {"exec-sleep": {"container": {"image": "alpine",
    "command": ["sh", "-c", "sleep 30"]}}}}}}"#;

#[cfg(unix)]
#[test]
fn serve_stops_at_once_with_an_event_stream_open() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let mut server = Server::start(&data, &dir.path().join("no-dist"));
    let (status, body) = server.request("POST", "/api/runs", SLEEPER.as_bytes());
    assert_eq!(status, 201, "{body}");
    let id: Value = serde_json::from_str(&body).expect("JSON");
    let id = id["id"].as_str().expect("id").to_string();
    // A browser tab following the run.
    let mut stream = TcpStream::connect(&server.base).expect("connect");
    let head = format!(
        "GET /api/runs/{id}/events HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\n\r\n",
        server.base, server.token
    );
    stream.write_all(head.as_bytes()).expect("send");
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    let mut first = [0u8; 512];
    let n = stream.read(&mut first).expect("the stream answers");
    let answer = String::from_utf8_lossy(&first[..n]);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("text/event-stream"), "{answer}");

    // Ctrl-C: the server ends the stream and exits, rather than waiting for it forever.
    let pid = i32::try_from(server.child.id()).expect("pid");
    // SAFETY: sending a signal to our own child process.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGINT) }, 0);
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    let status = loop {
        if let Some(s) = server.child.try_wait().expect("wait") {
            break s;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the server is still running 15 s after Ctrl-C with a stream open"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status:?}");
    let mut rest = Vec::new();
    let _ = stream.read_to_end(&mut rest);
    // The connection was closed (read_to_end returned), not left hanging.
}

#[test]
fn serve_refuses_a_bad_token_or_host_option() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (args, says) in [
        (vec!["--token", "short"], "16 to 256"),
        (vec!["--allow-host", "http://x/"], "--allow-host"),
    ] {
        let o = crate::binary::command()
            .args(["serve", "--addr", "127.0.0.1:0"])
            .args(&args)
            .env("PIPELINE_CANVAS_DATA_DIR", dir.path())
            .env_remove("RUST_LOG")
            .output()
            .expect("run serve");
        assert_eq!(o.status.code(), Some(1), "{args:?}");
        assert!(stderr(&o).contains(says), "{args:?}: {}", stderr(&o));
    }
}

#[test]
fn import_then_compile_reproduces_a_kfp_spec() {
    let dir = tempfile::tempdir().expect("tempdir");
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/kfp-conformance/critical/flip_coin.yaml");
    let doc_path = dir.path().join("flip.pipeline.json");
    let o = run(&[
        "import",
        corpus.to_str().expect("UTF-8"),
        "-o",
        doc_path.to_str().expect("UTF-8"),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let doc: Value =
        serde_json::from_str(&std::fs::read_to_string(&doc_path).expect("doc")).expect("JSON");
    assert_eq!(doc["format"], "pipeline-canvas/v1");
    assert!(doc["groups"].as_array().is_some_and(|g| g.len() >= 2));
    let o = run(&[
        "compile",
        doc_path.to_str().expect("UTF-8"),
        "--format",
        "yaml",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let ours: Value = serde_yaml_ng::from_str(&stdout(&o)).expect("YAML");
    let theirs: Value =
        serde_yaml_ng::from_str(&std::fs::read_to_string(&corpus).expect("corpus")).expect("YAML");
    for key in ["root", "components", "deploymentSpec", "pipelineInfo"] {
        assert_eq!(ours[key], theirs[key], "{key}");
    }
}

#[test]
fn import_refuses_bad_files_naming_them() {
    let dir = tempfile::tempdir().expect("tempdir");
    let empty = dir.path().join("empty.yaml");
    std::fs::write(&empty, "").expect("write");
    let out = dir.path().join("out.json");
    let o = run(&[
        "import",
        empty.to_str().expect("UTF-8"),
        "-o",
        out.to_str().expect("UTF-8"),
    ]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("empty.yaml: cannot import: the file is empty"),
        "{}",
        stderr(&o)
    );
    assert!(!out.exists(), "nothing written");
    let o = run(&["import", "/no/such/file.yaml"]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("cannot read /no/such/file.yaml"),
        "{}",
        stderr(&o)
    );
}

/// A condition nested 20,000 parentheses deep once overflowed the stack (the process died of
/// SIGABRT); it is an error like any other.
#[test]
fn compile_reports_a_condition_nested_too_deep() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut doc: Value =
        serde_json::from_str(&std::fs::read_to_string(seed_path()).expect("read seed"))
            .expect("seed JSON");
    let expression = &mut doc["groups"][0]["kind"]["condition"]["expression"];
    let e = expression
        .as_str()
        .expect("the seed's condition")
        .to_string();
    *expression = Value::String(format!("{}{e}{}", "(".repeat(20_000), ")".repeat(20_000)));
    let path = dir.path().join("deep.pipeline.json");
    std::fs::write(&path, serde_json::to_string(&doc).expect("JSON")).expect("write");
    let o = run(&["compile", path.to_str().expect("path")]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("the condition nests deeper than 100 levels (at character 101)"),
        "{err}"
    );
    assert!(err.contains("1 error"), "{err}");
    assert!(o.stdout.is_empty());
}

#[test]
fn cancel_reaches_a_run_of_serve_through_its_api() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let mut server = Server::start(&data, &dir.path().join("no-dist"));
    // The server says where it listens, for `cancel`.
    let about: Value = serde_json::from_str(
        &std::fs::read_to_string(data.join("server.json")).expect("server.json"),
    )
    .expect("JSON");
    assert_eq!(about["addr"], server.base.as_str());
    assert_eq!(about["pid"], server.child.id());
    let spec = crate::shell::shell_spec("slow", &[("nap", "sleep 60")]);
    let (status, body) = server.request(
        "POST",
        "/api/runs",
        serde_json::json!({ "spec": spec }).to_string().as_bytes(),
    );
    assert_eq!(status, 201, "{body}");
    let id = serde_json::from_str::<Value>(&body).expect("JSON")["id"]
        .as_str()
        .expect("id")
        .to_string();
    let store = runs::RunStore::open(&data).expect("store");
    let mut started = false;
    for _ in 0..1200 {
        if !store.task_pids(&id).expect("pids").is_empty() {
            started = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(started, "the task did not start");
    let o = crate::binary::command()
        .args(["cancel", &id, "--data-dir"])
        .arg(&data)
        .env_remove("RUST_LOG")
        .output()
        .expect("run cancel");
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), format!("run {id} CANCELLED\n"));
    // A clean stop removes server.json.
    let pid = i32::try_from(server.child.id()).expect("pid");
    // SAFETY: kill only sends SIGINT to the server this test started.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGINT) }, 0);
    let _ = server.child.wait();
    assert!(!data.join("server.json").exists());
}
