//! Container components: in podman or docker when one is installed and the image is already
//! there (nothing is pulled); otherwise the command and arguments run on this machine, in the
//! managed Python environment (its `bin` first on `PATH`), with a note on the task that the
//! image was not used.
//!
//! Placeholders are resolved first ([`super::placeholders`]); in a shell script they become
//! environment variables. Every process starts as the leader of its own process group, through
//! [`process::spawn`] (no `PIPELINE_CANVAS_*` variables, killed when the engine dies), with
//! its output capped into the task's log ([`tasklog`]).

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use pipeline::ir::ContainerSpec;
use tokio::process::{Child, Command};

use super::launcher::Launch;
use super::process;
use super::python_env::{which, Env};
use super::tasklog::{self, Pump};

/// A container runtime (podman or docker) that answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerRuntime {
    /// The `docker` or `podman` executable.
    pub program: PathBuf,
}

async fn succeeds(program: &Path, args: &[&str]) -> bool {
    let mut cmd = Command::new(program);
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true);
    let run = async {
        let mut child = process::spawn(cmd, libc::SIGKILL).await?;
        child.wait().await
    };
    matches!(
        tokio::time::timeout(Duration::from_secs(10), run).await,
        Ok(Ok(s)) if s.success()
    )
}

/// Which container runtime runs container components.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum ContainerChoice {
    /// Podman, else Docker, whichever answers first.
    #[default]
    Detect,
    /// Never a runtime: container commands run on the host.
    None,
    /// This program (`docker`, `podman`, or a path), when it answers.
    Program(String),
}

impl ContainerChoice {
    /// Reads a setting: `none`/`off`, empty or `auto` (detect), else a program name or path.
    pub fn parse(text: &str) -> Self {
        match text.trim() {
            "none" | "off" => ContainerChoice::None,
            "" | "auto" => ContainerChoice::Detect,
            other => ContainerChoice::Program(other.to_string()),
        }
    }
}

impl ContainerRuntime {
    /// Finds a working runtime as `choice` says: podman, then docker, when its service
    /// answers; a named program; or none.
    pub async fn detect(choice: &ContainerChoice) -> Option<Self> {
        let candidates: Vec<&str> = match choice {
            ContainerChoice::None => return None,
            ContainerChoice::Detect => vec!["podman", "docker"],
            ContainerChoice::Program(p) => vec![p.as_str()],
        };
        for name in candidates {
            if let Some(program) = which(name, None) {
                if succeeds(&program, &["info"]).await {
                    return Some(Self { program });
                }
            }
        }
        None
    }

    /// Whether `image` is present locally.
    pub async fn has_image(&self, image: &str) -> bool {
        succeeds(&self.program, &["image", "inspect", image]).await
    }

    /// Stops and removes a container by name.
    pub async fn remove(&self, name: &str) {
        let _ = succeeds(&self.program, &["rm", "-f", name]).await;
    }
}

/// A started container task.
#[derive(Debug)]
pub struct StartedProcess {
    /// The process (leader of its own group).
    pub child: Child,
    /// Its pid.
    pub pid: u32,
    /// The copy of its output into its log.
    pub log: Pump,
    /// The container's name when it runs in a container runtime.
    pub container: Option<String>,
    /// A note for the task (e.g. that the image was not used).
    pub note: Option<String>,
}

/// Starts a container component: in `runtime` when it has the image, else on the host when
/// `allow_host` (else it fails saying which runtime to install); its output goes to its log,
/// at most `log_limit` bytes.
#[allow(clippy::too_many_arguments)]
pub async fn start(
    c: &ContainerSpec,
    launch: &Launch,
    env: &Env,
    runtime: Option<&ContainerRuntime>,
    allow_host: bool,
    mounts: &[PathBuf],
    container_name: &str,
    log_limit: u64,
) -> Result<StartedProcess, String> {
    let full: Vec<String> = c.command.iter().chain(&c.args).cloned().collect();
    let (argv, vars) = launch.context().resolve_command(&full)?;
    let env_vars: BTreeMap<String, String> = c
        .env
        .iter()
        .map(|e| (e.name.clone(), e.value.clone()))
        .chain(launch.env.clone())
        .collect();
    let why_not = match runtime {
        Some(rt) if rt.has_image(&c.image).await => {
            let cmd = container_command(
                rt,
                c,
                launch,
                &argv,
                &vars,
                &env_vars,
                mounts,
                container_name,
            );
            let note = format!(
                "Ran in the image {} with {}.",
                c.image,
                rt.program.display()
            );
            return spawn_logged(
                cmd,
                launch,
                log_limit,
                Some(container_name.to_string()),
                note,
            )
            .await
            .map_err(|e| format!("cannot start {}: {e}", rt.program.display()));
        }
        Some(rt) => format!(
            "the image is not present in {} and is not pulled here",
            rt.program.display()
        ),
        None => "no container runtime (podman or docker) is available".to_string(),
    };
    if !allow_host {
        return Err(format!(
            "this task runs in the container image {} and {why_not}. Install a container runtime \
             with the image (`sudo apt-get install podman`, then `podman pull {}`), or allow \
             running its command on this machine: `--allow-host-commands` \
             (PIPELINE_CANVAS_ALLOW_HOST_COMMANDS=1)",
            c.image, c.image
        ));
    }
    let note = format!(
        "Ran on this machine, not in the image {} ({why_not}; host commands are allowed).",
        c.image
    );
    let Some(program) = argv.first() else {
        return Err(format!(
            "the component has no command of its own (it relies on the entry point of the image {}, which was not used: {why_not})",
            c.image
        ));
    };
    let mut path = OsString::from(&env.bin_dir);
    if let Some(p) = std::env::var_os("PATH") {
        path.push(":");
        path.push(p);
    }
    let resolved = which(program, Some(&path)).ok_or_else(|| {
        format!(
            "the component runs `{program}`, which is not installed on this machine (it would come from the image {}, which was not used: {why_not})",
            c.image
        )
    })?;
    let mut cmd = Command::new(&resolved);
    cmd.arg0(program)
        .args(argv.get(1..).unwrap_or_default())
        .current_dir(&launch.dir)
        .env("PATH", &path)
        .envs(&env_vars)
        .envs(&vars);
    spawn_logged(cmd, launch, log_limit, None, note)
        .await
        .map_err(|e| format!("cannot start `{program}`: {e}"))
}

/// Starts `cmd` as the leader of its own process group, its output pumped into the log.
async fn spawn_logged(
    mut cmd: Command,
    launch: &Launch,
    log_limit: u64,
    container: Option<String>,
    note: String,
) -> Result<StartedProcess, String> {
    let (out, log) = tasklog::start(&launch.log, log_limit)
        .map_err(|e| format!("cannot write the log {}: {e}", launch.log.display()))?;
    let err = out
        .try_clone()
        .map_err(|e| format!("cannot write the log {}: {e}", launch.log.display()))?;
    cmd.stdin(Stdio::null())
        .stdout(Stdio::from(out))
        .stderr(Stdio::from(err))
        .process_group(0)
        .kill_on_drop(true);
    let child = process::spawn(cmd, libc::SIGKILL)
        .await
        .map_err(|e| e.to_string())?;
    let pid = child.id().unwrap_or(0);
    Ok(StartedProcess {
        child,
        pid,
        log,
        container,
        note: Some(note),
    })
}

/// The `docker run`/`podman run` command of a task.
#[allow(clippy::too_many_arguments)]
fn container_command(
    rt: &ContainerRuntime,
    c: &ContainerSpec,
    launch: &Launch,
    argv: &[String],
    vars: &BTreeMap<String, String>,
    env_vars: &BTreeMap<String, String>,
    mounts: &[PathBuf],
    name: &str,
) -> Command {
    let mut cmd = Command::new(&rt.program);
    cmd.args(["run", "--rm", "--name", name]);
    // SAFETY: getuid/getgid only read the process's credentials.
    let (uid, gid) = unsafe { (libc::getuid(), libc::getgid()) };
    cmd.arg("--user").arg(format!("{uid}:{gid}"));
    for m in mounts {
        let m = m.display().to_string();
        cmd.arg("-v").arg(format!("{m}:{m}"));
    }
    cmd.arg("-w").arg(&launch.dir);
    for (k, v) in env_vars {
        cmd.arg("-e").arg(format!("{k}={v}"));
    }
    // Placeholder values travel in the client's environment, never on its command line.
    for k in vars.keys() {
        cmd.arg("-e").arg(k);
    }
    let rest = if c.command.is_empty() {
        argv
    } else {
        match argv.split_first() {
            Some((entry, rest)) => {
                cmd.arg("--entrypoint").arg(entry);
                rest
            }
            None => argv,
        }
    };
    cmd.arg(&c.image).args(rest).envs(vars);
    cmd
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::launcher::prepare;
    use crate::placeholders::JobInfo;
    use crate::values::Io;
    use pipeline::ir::ComponentSpec;

    fn env() -> Env {
        Env {
            python: PathBuf::from("python3"),
            bin_dir: PathBuf::from("/nonexistent"),
        }
    }

    #[tokio::test]
    async fn missing_programs_are_named() {
        let dir = tempfile::tempdir().expect("tempdir");
        let launch = prepare(
            dir.path(),
            &ComponentSpec::default(),
            &Io::default(),
            JobInfo::default(),
        )
        .expect("prepare");
        let c = ContainerSpec {
            command: vec!["gcloud-not-installed-here".into(), "ai".into()],
            image: "gcr.io/google.com/cloudsdktool/cloud-sdk".into(),
            ..ContainerSpec::default()
        };
        let err = start(&c, &launch, &env(), None, true, &[], "x", 1000)
            .await
            .expect_err("not installed");
        assert!(err.contains("`gcloud-not-installed-here`"), "{err}");
        assert!(err.contains("cloud-sdk"), "{err}");
    }

    #[tokio::test]
    async fn host_commands_run_with_a_note_only_when_allowed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let launch = prepare(
            dir.path(),
            &ComponentSpec::default(),
            &Io::default(),
            JobInfo::default(),
        )
        .expect("prepare");
        let c = ContainerSpec {
            command: vec!["sh".into(), "-c".into(), "echo hello; pwd".into()],
            image: "alpine".into(),
            ..ContainerSpec::default()
        };
        let refused = start(&c, &launch, &env(), None, false, &[], "x", 1000)
            .await
            .expect_err("host commands are not allowed by default");
        for part in [
            "alpine",
            "no container runtime",
            "podman",
            "--allow-host-commands",
        ] {
            assert!(refused.contains(part), "{part}: {refused}");
        }
        assert!(!launch.log.exists(), "nothing ran");
        let mut p = start(&c, &launch, &env(), None, true, &[], "x", 1000)
            .await
            .expect("starts");
        assert!(p.child.wait().await.expect("wait").success());
        assert!(!p.log.finish(Duration::from_secs(10)).await);
        assert!(p.note.as_deref().unwrap_or_default().contains("alpine"));
        let log = std::fs::read_to_string(&launch.log).expect("log");
        assert!(log.starts_with("hello\n"), "{log}");
        assert!(log.contains(&dir.path().display().to_string()), "{log}");
    }
}
