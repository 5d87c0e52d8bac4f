//! Chaos benchmark: the real server is killed with SIGKILL at random points while runs are
//! going, and started again, 20 times. After every kill, no process the server started may
//! survive it, the database must pass `PRAGMA integrity_check`, and after every restart each run
//! of an earlier life must have ended (a local run cut off by the kill is FAILED). Prints what it
//! saw; asserts those properties (nothing about time).
//!
//! `cargo bench -p pipeline-canvas --bench chaos`; `CHAOS_SEED=n` replays a sequence,
//! `CHAOS_ROUNDS=n` changes the number of kills.

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

const BIN: &str = env!("CARGO_BIN_EXE_pipeline-canvas");
const TOKEN: &str = "chaos-benchmark-token-0123456789";

/// A small xorshift generator: the sequence is reproducible from the printed seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// A number in `0..n`.
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// A pipeline of three host tasks (container components run on the host): two sleeping in
/// parallel for `a` and `b` tenths of a second, then one that waits for both.
fn sleeper_spec(a: u64, b: u64) -> Value {
    let task = |name: &str, after: &[&str]| {
        json!({"taskInfo": {"name": name}, "componentRef": {"name": format!("comp-{name}")},
               "dependentTasks": after, "cachingOptions": {}})
    };
    let comp = |name: &str| json!({"executorLabel": format!("exec-{name}")});
    let exec = |tenths: u64| {
        json!({"container": {"image": "alpine", "command": ["sh", "-c",
            format!("echo start; sleep {}.{}; echo done", tenths / 10, tenths % 10)]}})
    };
    json!({
        "pipelineInfo": {"name": "chaos"}, "schemaVersion": "2.1.0", "sdkVersion": "kfp-2.17.0",
        "root": {"dag": {"tasks": {
            "a": task("a", &[]), "b": task("b", &[]), "c": task("c", &["a", "b"])
        }}},
        "components": {"comp-a": comp("a"), "comp-b": comp("b"), "comp-c": comp("c")},
        "deploymentSpec": {"executors": {
            "exec-a": exec(a), "exec-b": exec(b), "exec-c": exec(3)
        }}
    })
}

/// One life of the server.
struct Server {
    child: Child,
    addr: String,
}

impl Server {
    fn start(data: &Path) -> Server {
        let mut cmd = Command::new(BIN);
        cmd.args(["serve", "--addr", "127.0.0.1:0"])
            .env("PIPELINE_CANVAS_DATA_DIR", data)
            .env("PIPELINE_CANVAS_STATIC_DIR", data.join("no-dist"))
            .env("PIPELINE_CANVAS_TOKEN", TOKEN)
            .env("PIPELINE_CANVAS_CONTAINER_RUNTIME", "none")
            // Its shell tasks run on this machine (no container runtime here).
            .env("PIPELINE_CANVAS_ALLOW_HOST_COMMANDS", "1")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        let mut child = cmd.spawn().expect("start the server");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("the address line");
        let addr = line
            .trim()
            .strip_prefix("Pipeline Canvas is running at http://")
            .and_then(|u| u.split('/').next())
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_string();
        Server { child, addr }
    }

    /// One HTTP request with the token; (status, JSON body).
    fn call(&self, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
        let body = body.map(Value::to_string).unwrap_or_default();
        let mut s = TcpStream::connect(&self.addr).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(30)))
            .expect("timeout");
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {TOKEN}\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            self.addr,
            body.len()
        );
        s.write_all(head.as_bytes()).expect("send");
        s.write_all(body.as_bytes()).expect("send body");
        let mut answer = Vec::new();
        let _ = s.read_to_end(&mut answer);
        let answer = String::from_utf8_lossy(&answer);
        let status = answer
            .split(' ')
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        let json = answer
            .split_once("\r\n\r\n")
            .and_then(|(_, b)| serde_json::from_str(b).ok())
            .unwrap_or(Value::Null);
        (status, json)
    }
}

/// `pid → start time` of every process below `root` (its children, theirs, …).
fn descendants(root: u32) -> HashMap<u32, u64> {
    let mut parent_of: HashMap<u32, (u32, u64)> = HashMap::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        if let Some((ppid, start)) = stat(pid) {
            parent_of.insert(pid, (ppid, start));
        }
    }
    let mut found = HashMap::new();
    let mut frontier = vec![root];
    while let Some(p) = frontier.pop() {
        for (&pid, &(ppid, start)) in &parent_of {
            if ppid == p && found.insert(pid, start).is_none() {
                frontier.push(pid);
            }
        }
    }
    found
}

/// (parent pid, start time) of a process, from `/proc/<pid>/stat`.
fn stat(pid: u32) -> Option<(u32, u64)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces and parentheses: fields start after the last ')'.
    let rest = &text[text.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split(' ').collect();
    let ppid = fields.get(1)?.parse().ok()?;
    let start = fields.get(19)?.parse().ok()?;
    Some((ppid, start))
}

/// The processes of `procs` still alive (same pid, same start time), after waiting up to
/// `within` for them to go.
fn survivors(procs: &HashMap<u32, u64>, within: Duration) -> Vec<u32> {
    let deadline = Instant::now() + within;
    loop {
        let alive: Vec<u32> = procs
            .iter()
            .filter(|(pid, start)| {
                stat(**pid).is_some_and(|(_, s)| s == **start)
                    && !std::fs::read_to_string(format!("/proc/{pid}/stat"))
                        .is_ok_and(|t| t.contains(") Z "))
            })
            .map(|(pid, _)| *pid)
            .collect();
        if alive.is_empty() || Instant::now() > deadline {
            return alive;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn integrity(data: &Path) -> String {
    let db = rusqlite::Connection::open(data.join("pipelines.db")).expect("open the database");
    db.query_row("PRAGMA integrity_check", [], |r| r.get::<_, String>(0))
        .expect("integrity_check")
}

fn main() {
    let seed = std::env::var("CHAOS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
                | 1
        });
    let rounds: usize = std::env::var("CHAOS_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20);
    println!("chaos: {rounds} kills, seed {seed} (CHAOS_SEED={seed} replays it)");
    let mut rng = Rng(seed);
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let mut runs: BTreeMap<String, usize> = BTreeMap::new();
    let (mut killed_with_children, mut restart_total) = (0usize, Duration::ZERO);
    let mut states: BTreeMap<String, usize> = BTreeMap::new();
    for round in 0..rounds {
        let t0 = Instant::now();
        let mut server = Server::start(&data);
        restart_total += t0.elapsed();
        // Every run of an earlier life has ended.
        let (status, list) = server.call("GET", "/api/runs?limit=10000", None);
        assert_eq!(
            status, 200,
            "round {round}: GET /api/runs answered {status}"
        );
        for r in list.as_array().into_iter().flatten() {
            let id = r["id"].as_str().unwrap_or_default();
            let state = r["state"].as_str().unwrap_or_default();
            if runs.get(id).is_some_and(|born| *born < round) {
                assert!(
                    matches!(state, "FAILED" | "SUCCEEDED" | "CANCELLED"),
                    "round {round}: run {id} of an earlier life is still {state}"
                );
            }
        }
        for _ in 0..3 {
            let spec = sleeper_spec(rng.below(20) + 1, rng.below(20) + 1);
            let (status, body) = server.call("POST", "/api/runs", Some(&json!({"spec": spec})));
            assert_eq!(
                status, 201,
                "round {round}: starting a run answered {status}: {body}"
            );
            runs.insert(body["id"].as_str().unwrap_or_default().to_string(), round);
        }
        std::thread::sleep(Duration::from_millis(rng.below(1500)));
        let procs = descendants(server.child.id());
        if !procs.is_empty() {
            killed_with_children += 1;
        }
        server.child.kill().expect("SIGKILL the server");
        let _ = server.child.wait();
        let left = survivors(&procs, Duration::from_secs(5));
        assert!(
            left.is_empty(),
            "round {round}: processes {left:?} of the killed server are still running"
        );
        let check = integrity(&data);
        assert_eq!(check, "ok", "round {round}: integrity_check says {check}");
    }
    // A last life: everything has ended.
    let server = Server::start(&data);
    let (_, list) = server.call("GET", "/api/runs?limit=10000", None);
    for r in list.as_array().into_iter().flatten() {
        let state = r["state"].as_str().unwrap_or_default().to_string();
        assert!(
            matches!(state.as_str(), "FAILED" | "SUCCEEDED" | "CANCELLED"),
            "run {} is still {state} after the last restart",
            r["id"]
        );
        *states.entry(state).or_default() += 1;
    }
    drop(server);
    println!(
        "chaos: {} runs over {rounds} lives; {killed_with_children} kills hit running tasks; \
         no process outlived its server; integrity_check ok every time",
        runs.len()
    );
    println!("chaos: final states {states:?}");
    println!(
        "chaos: mean start-up after a kill {:.0} ms",
        restart_total.as_secs_f64() * 1000.0 / rounds.max(1) as f64
    );
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
