//! Where the server listens and keeps its files.

use std::net::SocketAddr;
use std::path::PathBuf;

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
}

/// The default data folder: `$XDG_DATA_HOME/pipeline-canvas`, i.e.
/// `~/.local/share/pipeline-canvas` on Linux (the platform's equivalent elsewhere).
pub fn default_data_dir() -> Result<PathBuf, ConfigError> {
    directories::BaseDirs::new()
        .map(|d| d.data_dir().join(APP_DIR_NAME))
        .ok_or(ConfigError::NoDataDir)
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
