//! Where the server listens and keeps its files.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// The address the server binds when none is given: loopback only.
pub const DEFAULT_ADDR: &str = "127.0.0.1:8080";

/// The folder holding the built front end when none is given (relative to the current folder).
pub const DEFAULT_STATIC_DIR: &str = "dist";

/// The name of the data folder under the user's data directory.
pub const APP_DIR_NAME: &str = "pipeline-canvas";

/// The sub-folder of the data folder holding user component files.
pub const USER_COMPONENTS_DIR: &str = "components";

/// The file in the data folder holding the server's API token (owner-readable only), for
/// scripts.
pub const TOKEN_FILE: &str = "token";

/// The file in the data folder where a running server says where it listens
/// (`{"addr": "127.0.0.1:8080", "pid": 1234}`, owner-readable only), for `cancel`; removed when
/// the server stops cleanly.
pub const SERVER_FILE: &str = "server.json";

/// Why no configuration could be made.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// There is no home or data directory to default to.
    #[error("cannot find the user data directory ($XDG_DATA_HOME or $HOME); pass --data-dir")]
    NoDataDir,
}

/// Everything `serve` needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServeConfig {
    /// The address to bind.
    pub addr: SocketAddr,
    /// The data folder: `pipelines.db` and `components/`.
    pub data_dir: PathBuf,
    /// The built front end (`index.html`, wasm, assets).
    pub static_dir: PathBuf,
    /// The API token; a random one per start when `None`.
    pub token: Option<String>,
    /// More host names the server answers to (beyond loopback names and the bound address).
    pub allowed_hosts: Vec<String>,
    /// Whether the local engine may run a container component's command on this machine when
    /// its image cannot be used (`--allow-host-commands`).
    pub allow_host_commands: bool,
}

/// The default data folder: `$XDG_DATA_HOME/pipeline-canvas`, i.e.
/// `~/.local/share/pipeline-canvas` on Linux (the platform's equivalent elsewhere).
pub fn default_data_dir() -> Result<PathBuf, ConfigError> {
    directories::BaseDirs::new()
        .map(|d| d.data_dir().join(APP_DIR_NAME))
        .ok_or(ConfigError::NoDataDir)
}

/// The local engine's settings for `data_dir`, from the environment:
/// `PIPELINE_CANVAS_CONCURRENCY` (tasks at once), `PIPELINE_CANVAS_PYTHON` (the base Python),
/// `PIPELINE_CANVAS_CONTAINER_RUNTIME` (`podman`, `docker`, a path, or `none`),
/// `PIPELINE_CANVAS_ENVS_DIR` (the managed Python environments, default `<data-dir>/envs`).
/// Whether host commands are allowed is a flag of `serve` and `run` (with its variable,
/// `PIPELINE_CANVAS_ALLOW_HOST_COMMANDS`), set by the caller.
pub fn engine_config(data_dir: &Path) -> engine::EngineConfig {
    let mut config = engine::EngineConfig::new(data_dir);
    if let Some(n) = env_text("PIPELINE_CANVAS_CONCURRENCY")
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|n| *n > 0)
    {
        config.concurrency = n;
    }
    if let Some(python) = env_text("PIPELINE_CANVAS_PYTHON") {
        config.python = PathBuf::from(python);
    }
    if let Some(choice) = env_text("PIPELINE_CANVAS_CONTAINER_RUNTIME") {
        config.containers = engine::ContainerChoice::parse(&choice);
    }
    if let Some(dir) = env_text("PIPELINE_CANVAS_ENVS_DIR") {
        config.envs_dir = PathBuf::from(dir);
    }
    config
}

/// The remote targets' settings, from the environment: `PIPELINE_CANVAS_VERTEX_ENDPOINT` (another
/// Vertex AI endpoint), `PIPELINE_CANVAS_ACCESS_TOKEN` (a Google bearer token, else Application
/// Default Credentials), `PIPELINE_CANVAS_KFP_TOKEN`, and the polling and retry intervals
/// `PIPELINE_CANVAS_POLL_INITIAL_MS`, `PIPELINE_CANVAS_POLL_MAX_MS`,
/// `PIPELINE_CANVAS_RETRY_INITIAL_MS`.
pub fn targets_options() -> targets::TargetsOptions {
    let mut options = targets::TargetsOptions::default();
    let ms = |name: &str| {
        env_text(name)
            .and_then(|v| v.parse::<u64>().ok())
            .map(std::time::Duration::from_millis)
    };
    if let Some(d) = ms("PIPELINE_CANVAS_POLL_INITIAL_MS") {
        options.follow.initial = d;
    }
    if let Some(d) = ms("PIPELINE_CANVAS_POLL_MAX_MS") {
        options.follow.max = d;
    }
    if let Some(d) = ms("PIPELINE_CANVAS_RETRY_INITIAL_MS") {
        options.retry.initial = d;
    }
    options.vertex_endpoint =
        env_text(targets::VERTEX_ENDPOINT_ENV).map(|v| v.trim_end_matches('/').to_string());
    options.auth =
        targets::AuthSource::from_token(env_text(targets::auth::ACCESS_TOKEN_ENV).as_deref());
    options.kfp_token = env_text(targets::auth::KFP_TOKEN_ENV);
    options
}

/// A variable's value, trimmed; `None` when unset or blank.
fn env_text(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_data_dir_ends_with_app_name() {
        if let Ok(dir) = default_data_dir() {
            assert!(dir.ends_with(APP_DIR_NAME), "{}", dir.display());
        }
    }

    #[test]
    fn default_addr_is_loopback() {
        let addr: SocketAddr = DEFAULT_ADDR.parse().expect("valid default address");
        assert!(addr.ip().is_loopback());
    }
}
