//! Running the real `pipeline-canvas` binary on a data folder, for the command-line tests.

use std::path::Path;
use std::process::{Command, Output};

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_pipeline-canvas");

/// Runs `pipeline-canvas <args> --data-dir <data>` with no container runtime, no log filter
/// and no data folder from the environment.
pub fn cli(args: &[&str], data: &Path) -> Output {
    Command::new(BIN)
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
