//! Managed Python environments shared between engines and processes: an environment being
//! installed is never removed or reinstalled under another installer or its users (the lock
//! `<env>.lock` is taken across processes), and a waiting task says so in its log.

use std::path::Path;
use std::time::Duration;

use engine::python_env::PythonEnvs;

use crate::common::python;

/// Writes a minimal wheel of the package `canvas_probe` (one module) into `dir`, so the
/// environments install offline (`--no-index --find-links dir`).
fn write_wheel(dir: &Path) -> Vec<String> {
    let script = r#"
import sys, zipfile
dest = sys.argv[1]
name = "canvas_probe-0.1-py3-none-any.whl"
files = {
    "canvas_probe/__init__.py": "VALUE = 42\n",
    "canvas_probe-0.1.dist-info/METADATA": "Metadata-Version: 2.1\nName: canvas_probe\nVersion: 0.1\n",
    "canvas_probe-0.1.dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
}
record = "".join(f"{p},,\n" for p in files) + "canvas_probe-0.1.dist-info/RECORD,,\n"
files["canvas_probe-0.1.dist-info/RECORD"] = record
with zipfile.ZipFile(f"{dest}/{name}", "w") as z:
    for p, text in files.items():
        z.writestr(p, text)
"#;
    let out = std::process::Command::new(python())
        .arg("-c")
        .arg(script)
        .arg(dir)
        .output()
        .expect("run python");
    assert!(
        out.status.success(),
        "cannot build the wheel: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    vec![
        "--no-index".into(),
        "--find-links".into(),
        dir.display().to_string(),
    ]
}

fn imports_probe(python: &Path) -> bool {
    std::process::Command::new(python)
        .args(["-c", "import canvas_probe; assert canvas_probe.VALUE == 42"])
        .status()
        .is_ok_and(|s| s.success())
}

/// Another process holding an environment's lock (here: this test, through its own file
/// handle) keeps an engine from touching the environment until it lets go; the waiting task's
/// log says what it waits for, and the environment works afterwards.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_environment_another_process_installs_is_waited_for_not_removed() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let wheels = tmp.path().join("wheels");
    std::fs::create_dir_all(&wheels).expect("wheels folder");
    let pip_args = write_wheel(&wheels);
    let envs_dir = tmp.path().join("envs");
    let envs = PythonEnvs::new(&envs_dir, python());
    let packages = vec!["canvas_probe".to_string()];

    // Learn the environment's folder by creating it once, then start over with its lock held.
    let first = envs
        .env_for(&packages, &pip_args, None)
        .await
        .expect("first install");
    let env_dir = first.bin_dir.parent().expect("env folder").to_path_buf();
    std::fs::remove_file(env_dir.join(".ready")).expect("forget it is ready");
    let marker = env_dir.join("installed-by-the-other-process");
    std::fs::write(&marker, "").expect("marker");

    let lock = std::fs::OpenOptions::new()
        .write(true)
        .open(env_dir.with_extension("lock"))
        .expect("the lock file exists beside the environment");
    lock.lock().expect("hold the lock");

    let log = tmp.path().join("task.log");
    let other = PythonEnvs::new(&envs_dir, python());
    let waiting = tokio::spawn({
        let (packages, pip_args, log) = (packages.clone(), pip_args.clone(), log.clone());
        async move { other.env_for(&packages, &pip_args, Some(&log)).await }
    });
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(
        !waiting.is_finished(),
        "the engine did not wait for the lock"
    );
    assert!(
        marker.is_file(),
        "the environment was removed while another process held its lock"
    );
    let said = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(
        said.contains("Waiting for the Python environment")
            && said.contains("another task or process"),
        "the task's log does not say it waits: {said:?}"
    );

    drop(lock);
    let env = tokio::time::timeout(Duration::from_secs(120), waiting)
        .await
        .expect("the engine went on once the lock was released")
        .expect("join")
        .expect("install after the wait");
    assert!(env_dir.join(".ready").is_file());
    assert!(
        imports_probe(&env.python),
        "the reinstalled environment does not import its package"
    );
}

/// Engines of separate processes (separate `PythonEnvs`) asking for the same missing
/// environment at once: one installs, the others wait, and every one of them gets an
/// environment that works while the others finish.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_first_uses_install_once_and_all_work() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let wheels = tmp.path().join("wheels");
    std::fs::create_dir_all(&wheels).expect("wheels folder");
    let pip_args = write_wheel(&wheels);
    let envs_dir = tmp.path().join("envs");
    let packages = vec!["canvas_probe".to_string()];

    let mut tasks = Vec::new();
    for i in 0..3 {
        let envs = PythonEnvs::new(&envs_dir, python());
        let (packages, pip_args) = (packages.clone(), pip_args.clone());
        let log = tmp.path().join(format!("task-{i}.log"));
        tasks.push(tokio::spawn(async move {
            let env = envs.env_for(&packages, &pip_args, Some(&log)).await?;
            // Use it at once, while the others may still be returning from their wait.
            Ok::<_, String>((env.python.clone(), imports_probe(&env.python)))
        }));
    }
    let mut installs = 0;
    for (i, task) in tasks.into_iter().enumerate() {
        let (python, works) = task.await.expect("join").expect("install");
        assert!(works, "{} does not import its package", python.display());
        let said =
            std::fs::read_to_string(tmp.path().join(format!("task-{i}.log"))).unwrap_or_default();
        installs += said.matches("Installing the Python environment").count();
    }
    assert_eq!(installs, 1, "the environment was installed more than once");
}
