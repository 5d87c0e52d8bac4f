//! Load on the real server binary: event streams, big logs and malformed requests.
//!
//! Starts `pipeline-canvas serve` (the bench build of the binary) on a free port with a fresh
//! data folder and a known token, then:
//!
//! 1. **A big log**: a task writes 64 MiB of log; it is read whole (`GET …/logs`) and followed
//!    on an event stream from its start. Asserts that every byte arrives both ways and that the
//!    server's peak memory grew by less than half the log (logs are read in bounded pieces).
//! 2. **Streams**: 20 concurrent runs of a small shell pipeline (3 tasks printing a line every
//!    0.2 s; on the host, as no container runtime is used) and 200 concurrent event streams
//!    across them, half also following a task's log. Asserts that every client ends with its
//!    run and every task in the state the final `GET /api/runs/{id}` gives, every log client
//!    with the whole log, and no errors.
//! 3. **Clients that leave**: 50 streams of a quiet running task are dropped; asserts that the
//!    server closes their files and sockets (counted in `/proc/<pid>/fd`).
//! 4. **Malformed requests**: 1,000 of them (bad JSON, wrong types, huge numbers, bad UTF-8,
//!    wrong content types, bad paths and queries, no or a foreign `Host`, bad tokens, oversized
//!    bodies, broken HTTP and random bytes). Asserts each is answered 4xx (or, for bytes that
//!    are not HTTP, that the connection is closed without an answer), that the server still
//!    answers afterwards, and that nothing panicked.
//!
//! Prints timings and the server's peak resident memory (`VmHWM`); asserts nothing about time.
//!
//! `cargo bench -p pipeline-canvas --bench load` (Linux: reads `/proc`).

#[path = "../tests/it/shell.rs"]
mod shell;

use std::collections::BTreeMap;
use std::io::{BufRead as _, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

const TOKEN: &str = "load-bench-token-0123456789abcdef";
const RUNS: usize = 20;
const CLIENTS: usize = 200;
const LEAVERS: usize = 50;
const MALFORMED: usize = 1000;
const BIG_LOG_BYTES: u64 = 64 * 1024 * 1024;
/// Each task of the small pipeline.
const TICKS: &str = "for i in 1 2 3 4 5; do echo \"tick $i\"; sleep 0.2; done";

/// The server process, killed on drop; its output is collected.
struct Server {
    child: Child,
    addr: SocketAddr,
    output: Arc<Mutex<String>>,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    fn start() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let mut child = Command::new(env!("CARGO_BIN_EXE_pipeline-canvas"))
            .arg("serve")
            .arg("--addr")
            .arg(addr.to_string())
            .arg("--data-dir")
            .arg(dir.path())
            .arg("--static-dir")
            .arg(dir.path().join("no-front-end"))
            .env("PIPELINE_CANVAS_TOKEN", TOKEN)
            .env("PIPELINE_CANVAS_CONTAINER_RUNTIME", "none")
            // Its shell tasks run on this machine (no container runtime here).
            .env("PIPELINE_CANVAS_ALLOW_HOST_COMMANDS", "1")
            // Every run's tasks at once, whatever the number of cores.
            .env("PIPELINE_CANVAS_CONCURRENCY", "64")
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the server");
        let output = Arc::new(Mutex::new(String::new()));
        for pipe in [
            child
                .stdout
                .take()
                .map(|p| Box::new(p) as Box<dyn std::io::Read + Send>),
            child
                .stderr
                .take()
                .map(|p| Box::new(p) as Box<dyn std::io::Read + Send>),
        ]
        .into_iter()
        .flatten()
        {
            let output = output.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                    if let Ok(mut o) = output.lock() {
                        o.push_str(&line);
                        o.push('\n');
                    }
                }
            });
        }
        Self {
            child,
            addr,
            output,
            _dir: dir,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn output(&self) -> String {
        self.output.lock().map(|o| o.clone()).unwrap_or_default()
    }

    /// A line of `/proc/<pid>/status` in KiB (`VmHWM`, `VmRSS`).
    fn status_kib(&self, field: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .expect("read the server's /proc status");
        status
            .lines()
            .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or_else(|| panic!("no {field} in /proc/<pid>/status"))
    }

    /// What the server's open file descriptors point at (`socket:[…]`, paths, pipes).
    fn fd_targets(&self) -> Vec<String> {
        std::fs::read_dir(format!("/proc/{}/fd", self.child.id()))
            .expect("read the server's /proc fd folder")
            .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
            .map(|t| t.display().to_string())
            .collect()
    }

    /// How many files and sockets the server has open.
    fn open_fds(&self) -> usize {
        self.fd_targets().len()
    }

    /// The descriptors a stream holds: sockets and the files of runs (logs), not the
    /// database, whose connections come and go with the load.
    fn stream_fds(&self) -> Vec<String> {
        let data = self._dir.path().display().to_string();
        let mut fds: Vec<String> = self
            .fd_targets()
            .into_iter()
            .filter(|t| {
                t.starts_with("socket:")
                    || (t.starts_with(&data)
                        && ![".db", ".sqlite", "-wal", "-shm", "-journal"]
                            .iter()
                            .any(|s| t.ends_with(s)))
            })
            .collect();
        fds.sort();
        fds
    }

    fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

fn client() -> reqwest::Client {
    targets::install_crypto_provider();
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::AUTHORIZATION,
        reqwest::header::HeaderValue::from_static("Bearer load-bench-token-0123456789abcdef"),
    );
    reqwest::Client::builder()
        .default_headers(headers)
        .pool_max_idle_per_host(0)
        .build()
        .expect("an HTTP client")
}

async fn get_json(http: &reqwest::Client, url: &str) -> Value {
    let r = http.get(url).send().await.expect("GET");
    assert!(r.status().is_success(), "GET {url}: {}", r.status());
    r.json().await.expect("JSON")
}

async fn wait_until_up(server: &mut Server, http: &reqwest::Client) {
    for _ in 0..300 {
        assert!(server.alive(), "the server exited:\n{}", server.output());
        if let Ok(r) = http.get(server.url("/api/components")).send().await {
            if r.status().is_success() {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "the server did not answer within 30 s:\n{}",
        server.output()
    );
}

async fn start_run(http: &reqwest::Client, server: &Server, spec: &Value) -> String {
    let r = http
        .post(server.url("/api/runs"))
        .json(&json!({"spec": spec, "options": {"enableCaching": false}}))
        .send()
        .await
        .expect("POST /api/runs");
    assert_eq!(r.status(), reqwest::StatusCode::CREATED);
    let v: Value = r.json().await.expect("JSON");
    v["id"].as_str().expect("id").to_string()
}

/// Reads server-sent events from a response, one `(event, data)` at a time.
struct Events {
    response: reqwest::Response,
    buf: Vec<u8>,
}

impl Events {
    async fn open(http: &reqwest::Client, url: &str) -> Self {
        let response = http.get(url).send().await.expect("open the event stream");
        assert_eq!(response.status(), reqwest::StatusCode::OK, "{url}");
        Self {
            response,
            buf: Vec::new(),
        }
    }

    async fn next(&mut self) -> Option<(String, String)> {
        loop {
            if let Some(end) = self.buf.windows(2).position(|w| w == b"\n\n") {
                let block: Vec<u8> = self.buf.drain(..end + 2).collect();
                let block = String::from_utf8(block).expect("events are UTF-8");
                let mut event = String::from("message");
                let mut data = Vec::new();
                for line in block.lines() {
                    if let Some(e) = line.strip_prefix("event:") {
                        event = e.trim().to_string();
                    } else if let Some(d) = line.strip_prefix("data:") {
                        data.push(d.strip_prefix(' ').unwrap_or(d).to_string());
                    }
                }
                if data.is_empty() {
                    continue;
                }
                return Some((event, data.join("\n")));
            }
            let chunk = tokio::time::timeout(Duration::from_secs(120), self.response.chunk())
                .await
                .expect("an event within two minutes")
                .expect("the stream failed")?;
            self.buf.extend_from_slice(&chunk);
        }
    }
}

/// What one client saw of its run: the states it ends with, the log it got.
#[derive(Default)]
struct Seen {
    run: String,
    tasks: BTreeMap<String, String>,
    events: usize,
    log: String,
    log_ended: bool,
}

/// Follows `url` to the end of the stream.
async fn watch(http: reqwest::Client, url: String) -> Seen {
    let mut stream = Events::open(&http, &url).await;
    let mut seen = Seen::default();
    while let Some((event, data)) = stream.next().await {
        seen.events += 1;
        let v: Value = serde_json::from_str(&data).expect("event JSON");
        match event.as_str() {
            "snapshot" => {
                seen.run = v["state"].as_str().unwrap_or_default().to_string();
                for t in v["tasks"].as_array().into_iter().flatten() {
                    seen.tasks.insert(
                        t["path"].as_str().unwrap_or_default().to_string(),
                        t["state"].as_str().unwrap_or_default().to_string(),
                    );
                }
            }
            "run" => seen.run = v["state"].as_str().unwrap_or_default().to_string(),
            "task" => {
                seen.tasks.insert(
                    v["path"].as_str().unwrap_or_default().to_string(),
                    v["state"].as_str().unwrap_or_default().to_string(),
                );
            }
            "log" => {
                assert!(!seen.log_ended, "log after logEnd");
                seen.log.push_str(v["text"].as_str().unwrap_or_default());
            }
            "logEnd" => seen.log_ended = true,
            other => panic!("unexpected event {other}: {data}"),
        }
    }
    seen
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// 1. A 64 MiB log, read whole and followed.
async fn big_log(server: &Server, http: &reqwest::Client) {
    let script = format!(
        "yes 'a line of a big log, as a chatty training script would write it' | head -c {BIG_LOG_BYTES}"
    );
    let spec = shell::shell_spec("big-log", &[("chatty", script.as_str())]);
    let id = start_run(http, server, &spec).await;
    let ended = watch(http.clone(), server.url(&format!("/api/runs/{id}/events"))).await;
    assert_eq!(ended.run, "SUCCEEDED", "{}", server.output());
    let before = server.status_kib("VmHWM");
    let t = Instant::now();
    let mut r = http
        .get(server.url(&format!("/api/runs/{id}/tasks/chatty/logs")))
        .send()
        .await
        .expect("GET the log");
    assert!(r.status().is_success());
    let mut bytes = 0u64;
    while let Some(chunk) = r.chunk().await.expect("the log body") {
        bytes += chunk.len() as u64;
    }
    let read = t.elapsed();
    assert_eq!(bytes, BIG_LOG_BYTES, "the whole log was read");
    let t = Instant::now();
    let followed = watch(
        http.clone(),
        server.url(&format!("/api/runs/{id}/events?log=chatty")),
    )
    .await;
    let follow = t.elapsed();
    assert!(followed.log_ended);
    assert_eq!(
        followed.log.len() as u64,
        BIG_LOG_BYTES,
        "the whole log was followed"
    );
    let after = server.status_kib("VmHWM");
    println!(
        "big log: {} MiB read in {:.2} s, followed in {:.2} s; server peak memory {:.1} -> {:.1} MiB",
        BIG_LOG_BYTES / (1024 * 1024),
        read.as_secs_f64(),
        follow.as_secs_f64(),
        mib(before),
        mib(after)
    );
    assert!(
        (after - before.min(after)) * 1024 < BIG_LOG_BYTES / 2,
        "reading a log must not hold it in memory: peak {before} -> {after} KiB"
    );
}

/// 2. 20 runs, 200 streams.
async fn streams(server: &Server, http: &reqwest::Client) {
    let tasks = [("first", TICKS), ("second", TICKS), ("third", TICKS)];
    let spec = shell::shell_spec("ticks", &tasks);
    let t = Instant::now();
    let mut ids = Vec::new();
    for _ in 0..RUNS {
        ids.push(start_run(http, server, &spec).await);
    }
    let submitted = t.elapsed();
    let mut clients = Vec::new();
    for c in 0..CLIENTS {
        let id = ids[c % RUNS].clone();
        // Every other client follows a task's log too.
        let log = (c / RUNS % 2 == 1).then(|| tasks[c % tasks.len()].0);
        let url = match log {
            Some(task) => server.url(&format!("/api/runs/{id}/events?log={task}")),
            None => server.url(&format!("/api/runs/{id}/events")),
        };
        let http = http.clone();
        clients.push(tokio::spawn(async move {
            let started = Instant::now();
            let seen = watch(http, url).await;
            (id, log, seen, started.elapsed())
        }));
    }
    let mut events = 0;
    let mut longest = Duration::ZERO;
    let mut finals: BTreeMap<String, Value> = BTreeMap::new();
    for c in clients {
        let (id, log, seen, took) = c.await.expect("a client");
        events += seen.events;
        longest = longest.max(took);
        if !finals.contains_key(&id) {
            let run = get_json(http, &server.url(&format!("/api/runs/{id}"))).await;
            finals.insert(id.clone(), run);
        }
        let run = &finals[&id];
        assert_eq!(
            seen.run,
            run["state"].as_str().unwrap_or_default(),
            "run {id}"
        );
        assert_eq!(seen.run, "SUCCEEDED", "run {id}: {}", server.output());
        let want: BTreeMap<String, String> = run["tasks"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|t| {
                (
                    t["path"].as_str().unwrap_or_default().to_string(),
                    t["state"].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect();
        assert_eq!(
            seen.tasks, want,
            "the tasks of run {id} as a client saw them"
        );
        if let Some(task) = log {
            let r = http
                .get(server.url(&format!("/api/runs/{id}/tasks/{task}/logs")))
                .send()
                .await
                .expect("GET the log");
            let text = r.text().await.expect("the log");
            assert!(seen.log_ended, "the log of {task} in run {id} ended");
            assert_eq!(seen.log, text, "the log of {task} in run {id}");
            assert!(text.contains("tick 5"), "{text}");
        } else {
            assert!(seen.log.is_empty() && !seen.log_ended);
        }
    }
    let all = t.elapsed();
    println!(
        "streams: {RUNS} runs submitted in {:.2} s; {CLIENTS} clients got {events} events, all \
         runs done and checked after {:.2} s (longest stream {:.2} s); server peak memory {:.1} MiB",
        submitted.as_secs_f64(),
        all.as_secs_f64(),
        longest.as_secs_f64(),
        mib(server.status_kib("VmHWM"))
    );
}

/// 3. Streams whose clients leave.
async fn leavers(server: &Server, http: &reqwest::Client) {
    let spec = shell::shell_spec("quiet", &[("quiet", "echo started; sleep 120")]);
    let id = start_run(http, server, &spec).await;
    // Once the task runs and the engine writes its log (the engine's own handle on the log
    // file is then counted before as after).
    let t = Instant::now();
    loop {
        let r = http
            .get(server.url(&format!("/api/runs/{id}/tasks/quiet/logs")))
            .send()
            .await
            .expect("GET the log");
        if r.text().await.is_ok_and(|t| t.contains("started")) {
            break;
        }
        assert!(
            t.elapsed() < Duration::from_secs(60),
            "the task did not start: {}",
            server.output()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let before = server.stream_fds();
    let mut open = Vec::new();
    for _ in 0..LEAVERS {
        let mut s = Events::open(
            http,
            &server.url(&format!("/api/runs/{id}/events?log=quiet")),
        )
        .await;
        // Wait for the log line: the stream is reading the log now.
        while let Some((event, data)) = s.next().await {
            if event == "log" && data.contains("started") {
                break;
            }
        }
        open.push(s);
    }
    let with = server.stream_fds().len();
    let all_with = server.open_fds();
    drop(open);
    let t = Instant::now();
    let mut after = server.stream_fds();
    while after.len() > before.len() && t.elapsed() < Duration::from_secs(30) {
        tokio::time::sleep(Duration::from_millis(100)).await;
        after = server.stream_fds();
    }
    println!(
        "leavers: {LEAVERS} streams held {} sockets and log files ({all_with} descriptors in \
         all); {} open {:.2} s after their clients left ({} before)",
        with - before.len(),
        after.len(),
        t.elapsed().as_secs_f64(),
        before.len()
    );
    assert!(
        with >= before.len() + LEAVERS,
        "each stream holds its socket and log"
    );
    assert!(
        after.len() <= before.len(),
        "the streams of clients that left must end: {after:?} open, {before:?} before"
    );
    let r = http
        .post(server.url(&format!("/api/runs/{id}/cancel")))
        .json(&json!({}))
        .send()
        .await
        .expect("cancel");
    assert!(r.status().is_success());
}

/// A raw request: what the server answered (`None`: it closed the connection without an
/// answer); an error if it did neither within 30 s.
async fn raw(addr: SocketAddr, bytes: Vec<u8>) -> Result<Option<u16>, String> {
    let (mut rx, mut tx) = tokio::net::TcpStream::connect(addr)
        .await
        .expect("connect")
        .into_split();
    let shown = String::from_utf8_lossy(&bytes[..bytes.len().min(120)]).into_owned();
    // Written while the answer is read: the server may answer (and close) before it has read
    // everything, e.g. an oversized body.
    let writer = tokio::spawn(async move {
        let _ = tx.write_all(&bytes).await;
        tx
    });
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = match tokio::time::timeout(Duration::from_secs(30), rx.read(&mut buf)).await {
            Ok(Ok(n)) => n,
            Ok(Err(_)) => 0,
            Err(_) => return Err(format!("no answer within 30 s to {shown:?}")),
        };
        if n == 0 {
            break;
        }
        got.extend_from_slice(&buf[..n]);
        if got.windows(4).any(|w| w == b"\r\n\r\n") {
            break;
        }
    }
    writer.abort();
    let head = String::from_utf8_lossy(&got);
    Ok(head
        .strip_prefix("HTTP/1.1 ")
        .and_then(|h| h.get(..3))
        .and_then(|s| s.parse().ok()))
}

/// How many kinds of malformed request [`malformed`] makes.
const KINDS: usize = 40;

/// Malformed request `i` (kind `i % KINDS`, varied by `i / KINDS`): what it is, its bytes, and
/// whether closing the connection without an answer is right (bytes that are not HTTP).
fn malformed(i: usize, run: &str) -> (&'static str, Vec<u8>, bool) {
    let auth = format!("Authorization: Bearer {TOKEN}\r\n");
    let req = |method: &str, path: &str, headers: &str, body: &[u8]| -> Vec<u8> {
        let mut r = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n{headers}\
             Content-Length: {}\r\n\r\n",
            body.len()
        )
        .into_bytes();
        r.extend_from_slice(body);
        r
    };
    let json = |method: &str, path: &str, body: &[u8]| {
        req(
            method,
            path,
            &format!("{auth}Content-Type: application/json\r\n"),
            body,
        )
    };
    let n = i / KINDS;
    let (what, bytes, may_close) = match i % KINDS {
        0 => (
            "bad JSON",
            json("POST", "/api/runs", format!("{{\"spec\": {n}").as_bytes()),
            false,
        ),
        1 => ("bad JSON", json("POST", "/api/pipelines", b"{,}"), false),
        2 => ("bad JSON", json("POST", "/api/compile", b"[1, 2"), false),
        3 => {
            let deep = format!("{}{}", "[".repeat(10_000 + n), "]".repeat(10_000 + n));
            (
                "deep JSON",
                json("POST", "/api/runs", deep.as_bytes()),
                false,
            )
        }
        4 => (
            "wrong type",
            json("POST", "/api/runs", b"{\"document\": 5}"),
            false,
        ),
        5 => (
            "wrong type",
            json(
                "POST",
                "/api/runs",
                format!("{{\"spec\": [{n}]}}").as_bytes(),
            ),
            false,
        ),
        6 => (
            "wrong type",
            json("POST", "/api/pipelines", b"{\"nodes\": \"many\"}"),
            false,
        ),
        7 => (
            "wrong type",
            json("PUT", "/api/targets", b"{\"vertex\": 7}"),
            false,
        ),
        8 => {
            let body = format!(
                "{{\"spec\": {{}}, \"options\": {{\"taskTimeoutSeconds\": 1e{}}}}}",
                400 + n
            );
            (
                "huge number",
                json("POST", "/api/runs", body.as_bytes()),
                false,
            )
        }
        9 => (
            "huge number",
            json(
                "GET",
                &format!("/api/runs?limit=9999999999999999999999{n}"),
                b"",
            ),
            false,
        ),
        10 => {
            let path = format!(
                "/api/runs/{run}/events?log=quiet&logOffset=1{}",
                "0".repeat(30)
            );
            ("huge number", json("GET", &path, b""), false)
        }
        11 => (
            "bad UTF-8",
            json("POST", "/api/runs", b"{\"spec\": \"\xff\xfe\xfd\"}"),
            false,
        ),
        12 => (
            "bad UTF-8",
            json("POST", "/api/compile", b"{\"name\": \"\xc3\x28\"}"),
            false,
        ),
        13 => (
            "bad UTF-8 in the path",
            json("GET", "/api/runs/%ff%fe%fd", b""),
            false,
        ),
        14 => (
            "content type",
            req(
                "POST",
                "/api/runs",
                &format!("{auth}Content-Type: text/plain\r\n"),
                b"{}",
            ),
            false,
        ),
        15 => {
            let headers = format!("{auth}Content-Type: application/x-www-form-urlencoded\r\n");
            (
                "content type",
                req("POST", "/api/pipelines", &headers, b"a=1"),
                false,
            )
        }
        16 => (
            "content type",
            req("POST", "/api/compile", &auth, b"{}"),
            false,
        ),
        17 => (
            "bad path",
            json("GET", &format!("/api/nope/{n}"), b""),
            false,
        ),
        18 => (
            "bad path",
            json("GET", "/api/runs/../../../etc/passwd", b""),
            false,
        ),
        19 => (
            "bad path",
            json("GET", &format!("/api/runs/{run}/tasks/../../x/logs"), b""),
            false,
        ),
        20 => (
            "bad path",
            json(
                "GET",
                &format!("/api/runs/{run}/artifact?uri=/etc/passwd"),
                b"",
            ),
            false,
        ),
        21 => (
            "long path",
            json("GET", &format!("/api/{}", "a/".repeat(2000 + n)), b""),
            false,
        ),
        22 => ("bad query", json("GET", "/api/runs?state=%zz", b""), false),
        23 => (
            "bad query",
            json("GET", &format!("/api/runs/{run}/events?logTail=x{n}"), b""),
            false,
        ),
        24 => (
            "bad query",
            json(
                "GET",
                &format!("/api/runs/{run}/tasks/quiet/logs?offset=-{n}"),
                b"",
            ),
            false,
        ),
        25 => (
            "unknown run",
            json("GET", &format!("/api/runs/no-such-run-{n}/events"), b""),
            false,
        ),
        26 => ("method", json("DELETE", "/api/runs", b""), false),
        27 => (
            "method",
            json("PATCH", &format!("/api/runs/{run}"), b"{}"),
            false,
        ),
        28 => {
            let r = format!("GET /api/runs HTTP/1.1\r\nConnection: close\r\n{auth}\r\n");
            ("no Host", r.into_bytes(), false)
        }
        29 => {
            let r = format!(
                "GET /api/runs HTTP/1.1\r\nHost: evil.example:{n}\r\nConnection: close\r\n{auth}\r\n"
            );
            ("evil Host", r.into_bytes(), false)
        }
        30 => ("no token", req("GET", "/api/runs", "", b""), false),
        31 => {
            let headers = format!("Authorization: Bearer wrong-token-{n}\r\n");
            ("bad token", req("GET", "/api/runs", &headers, b""), false)
        }
        32 => {
            let headers = format!("Authorization: Basic {TOKEN}\r\n");
            ("bad token", req("GET", "/api/runs", &headers, b""), false)
        }
        33 => {
            let headers = format!("Cookie: pipeline_canvas_token=nope{n}\r\n");
            ("bad cookie", req("GET", "/api/runs", &headers, b""), false)
        }
        // A body over the 8 MiB limit (a few times: it is large), with its length or in
        // chunks; else a claim of one.
        34 if n < 2 => {
            let headers = format!("{auth}Content-Type: application/json\r\n");
            let body = vec![b' '; 9 * 1024 * 1024];
            (
                "oversized body",
                req("POST", "/api/runs", &headers, &body),
                false,
            )
        }
        34 if n < 4 => {
            let mut r = format!(
                "POST /api/runs HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n{auth}\
                 Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
            )
            .into_bytes();
            let chunk = vec![b' '; 64 * 1024];
            for _ in 0..(9 * 16) {
                r.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
                r.extend_from_slice(&chunk);
                r.extend_from_slice(b"\r\n");
            }
            r.extend_from_slice(b"0\r\n\r\n");
            ("oversized chunked body", r, false)
        }
        34 => {
            let r = format!(
                "POST /api/runs HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n{auth}\
                 Content-Type: application/json\r\nContent-Length: 99999999999\r\n\r\n{{"
            );
            ("oversized claim", r.into_bytes(), false)
        }
        35 => (
            "broken HTTP",
            b"GET /api/runs HTTP/9.9\r\nHost: 127.0.0.1\r\n\r\n".to_vec(),
            true,
        ),
        36 => {
            let r = format!(
                "GET /api/runs HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: {}\r\n\r\n",
                "a".repeat(200_000)
            );
            ("huge header", r.into_bytes(), true)
        }
        37 => (
            "broken HTTP",
            b"GET /api/runs HTTP/1.1\r\nHost 127.0.0.1\r\n\r\n".to_vec(),
            true,
        ),
        38 => ("broken HTTP", b"\r\n\r\nGET\r\n\r\n".to_vec(), true),
        _ => {
            let bytes = (0..(64 + n * 7))
                .map(|k| ((k * 7919 + n * 104_729) % 251) as u8)
                .collect();
            ("random bytes", bytes, true)
        }
    };
    (what, bytes, may_close)
}

/// 4. Malformed requests.
async fn malformed_requests(server: &mut Server, http: &reqwest::Client) {
    let spec = shell::shell_spec("quiet", &[("quiet", "echo started; sleep 120")]);
    let run = start_run(http, server, &spec).await;
    let t = Instant::now();
    let mut by_status: BTreeMap<String, usize> = BTreeMap::new();
    let addr = server.addr;
    let mut i = 0;
    while i < MALFORMED {
        let batch: Vec<_> = (i..(i + 20).min(MALFORMED))
            .map(|k| {
                let (what, bytes, may_close) = malformed(k, &run);
                tokio::spawn(async move { (what, raw(addr, bytes).await, may_close) })
            })
            .collect();
        for b in batch {
            let (what, status, may_close) = b.await.expect("a request");
            let status = status.unwrap_or_else(|e| panic!("{what}: {e}\n{}", server.output()));
            match status {
                Some(s) => assert!(
                    (400..500).contains(&s),
                    "{what}: answered {s}, not 4xx\n{}",
                    server.output()
                ),
                None => assert!(may_close, "{what}: closed without an answer"),
            }
            let key = status.map_or_else(|| "closed".to_string(), |s| s.to_string());
            *by_status.entry(key).or_default() += 1;
        }
        i += 20;
    }
    let took = t.elapsed();
    assert!(server.alive(), "the server died:\n{}", server.output());
    let runs = get_json(http, &server.url("/api/runs")).await;
    assert!(
        runs.as_array().is_some_and(|r| !r.is_empty()),
        "still answers"
    );
    let r = http
        .post(server.url(&format!("/api/runs/{run}/cancel")))
        .json(&json!({}))
        .send()
        .await
        .expect("cancel");
    assert!(r.status().is_success());
    let output = server.output();
    assert!(
        !output.contains("panicked"),
        "a handler panicked:\n{output}"
    );
    println!(
        "malformed: {MALFORMED} requests answered in {:.2} s: {by_status:?}; the server still \
         answers; peak memory {:.1} MiB",
        took.as_secs_f64(),
        mib(server.status_kib("VmHWM"))
    );
}

#[tokio::main]
async fn main() {
    if !Path::new("/proc/self/status").exists() {
        println!("load bench: skipped (needs Linux /proc)");
        return;
    }
    let t = Instant::now();
    let mut server = Server::start();
    let http = client();
    wait_until_up(&mut server, &http).await;
    println!(
        "server up in {:.2} s, {:.1} MiB resident",
        t.elapsed().as_secs_f64(),
        mib(server.status_kib("VmRSS"))
    );
    big_log(&server, &http).await;
    streams(&server, &http).await;
    leavers(&server, &http).await;
    malformed_requests(&mut server, &http).await;
    println!("load bench done in {:.1} s", t.elapsed().as_secs_f64());
}
