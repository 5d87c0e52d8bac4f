//! Running the real `pipeline-canvas` binary on a data folder, for the command-line tests.

use std::path::Path;
use std::process::{Command, Output};

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_pipeline-canvas");

/// The binary as the tests start it: the test pipelines' container components run their
/// commands on this machine (there is no container runtime here), so host commands are
/// allowed (`PIPELINE_CANVAS_ALLOW_HOST_COMMANDS`, read by `run` and `serve`).
pub fn command() -> Command {
    let mut c = Command::new(BIN);
    c.env("PIPELINE_CANVAS_ALLOW_HOST_COMMANDS", "1");
    c
}

/// Runs `pipeline-canvas <args> --data-dir <data>` with no container runtime, no log filter
/// and no data folder from the environment.
pub fn cli(args: &[&str], data: &Path) -> Output {
    command()
        .args(args)
        .arg("--data-dir")
        .arg(data)
        .env("PIPELINE_CANVAS_CONTAINER_RUNTIME", "none")
        .env_remove("RUST_LOG")
        .env_remove("PIPELINE_CANVAS_DATA_DIR")
        .output()
        .expect("run pipeline-canvas")
}

/// What it printed on stdout.
pub fn out(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// What it printed on stderr.
pub fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}
