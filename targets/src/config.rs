//! Settings of the remote targets, kept in `<data-dir>/targets.json` and edited through
//! `GET/PUT /api/targets` or overridden by `submit` flags. They never hold secrets: credentials
//! come from the environment (see [`super::auth`]).
//!
//! The Vertex AI region becomes part of the service's host name
//! (`https://{region}-aiplatform.googleapis.com`) and the project part of its request paths,
//! so both are checked ([`check_region`], [`check_project`]) wherever they enter: when settings
//! are saved, and when a run is planned from the file merged with the flags or request.

use std::path::{Path, PathBuf};

use crate::TargetError;

/// The settings file inside the data folder.
pub const TARGETS_FILE: &str = "targets.json";

pub use api::{KfpSettings, TargetsConfig, VertexSettings};

/// Checks a Vertex AI region name: lowercase letters, digits and hyphens only (`us-central1`),
/// at most 63 characters, so it cannot change the host the bearer token is sent to.
pub fn check_region(region: &str) -> Result<(), TargetError> {
    let ok = !region.is_empty()
        && region.len() <= 63
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(TargetError::Setting(format!(
            "the Vertex AI region {region:?} is not a region name (lowercase letters, digits \
             and hyphens, such as us-central1); check --region or \"region\" in the vertex \
             settings (targets.json, PUT /api/targets)"
        )))
    }
}

/// Checks a Google Cloud project id, lightly (the project becomes part of request paths):
/// 1 to 63 lowercase letters, digits and hyphens, not starting or ending with a hyphen (a
/// project id such as `my-project`, or a project number), optionally after a domain
/// (`example.com:my-project`).
pub fn check_project(project: &str) -> Result<(), TargetError> {
    let (domain, id) = match project.rsplit_once(':') {
        Some((d, id)) => (Some(d), id),
        None => (None, project),
    };
    let domain_ok = domain.is_none_or(|d| {
        !d.is_empty()
            && d.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
    });
    let id_ok = (1..=63).contains(&id.len())
        && !id.starts_with('-')
        && !id.ends_with('-')
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if domain_ok && id_ok {
        Ok(())
    } else {
        Err(TargetError::Setting(format!(
            "the Vertex AI project {project:?} is not a Google Cloud project id (lowercase \
             letters, digits and hyphens, such as my-project) or number; check --project or \
             \"project\" in the vertex settings (targets.json, PUT /api/targets)"
        )))
    }
}

/// Checks the region and project of Vertex AI settings, when set.
pub fn validate_vertex(settings: &VertexSettings) -> Result<(), TargetError> {
    if let Some(r) = settings
        .region
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty())
    {
        check_region(r)?;
    }
    if let Some(p) = settings
        .project
        .as_deref()
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        check_project(p)?;
    }
    Ok(())
}

/// Reads and writes `targets.json`.
#[derive(Debug, Clone)]
pub struct ConfigFile {
    path: PathBuf,
}

impl ConfigFile {
    /// The settings file of a data folder.
    pub fn in_data_dir(data_dir: &Path) -> Self {
        Self {
            path: data_dir.join(TARGETS_FILE),
        }
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The settings; defaults when the file does not exist.
    pub fn load(&self) -> Result<TargetsConfig, TargetError> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(TargetsConfig::default())
            }
            Err(e) => {
                return Err(TargetError::Config(format!(
                    "cannot read {}: {e}",
                    self.path.display()
                )))
            }
        };
        serde_json::from_str(&text)
            .map_err(|e| TargetError::Config(format!("{}: {e}", self.path.display())))
    }

    /// Checks the settings (the Vertex AI region and project) and writes them (atomically: a
    /// temporary file renamed over the old one).
    pub fn save(&self, config: &TargetsConfig) -> Result<(), TargetError> {
        validate_vertex(&config.vertex)?;
        let text = serde_json::to_string_pretty(config)
            .map_err(|e| TargetError::Config(format!("cannot serialize the settings: {e}")))?;
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| {
                TargetError::Config(format!("cannot create {}: {e}", dir.display()))
            })?;
        }
        let tmp = self
            .path
            .with_file_name(format!(".{TARGETS_FILE}.{}.tmp", std::process::id()));
        std::fs::write(&tmp, text.as_bytes())
            .and_then(|()| std::fs::rename(&tmp, &self.path))
            .map_err(|e| {
                let _ = std::fs::remove_file(&tmp);
                TargetError::Config(format!("cannot write {}: {e}", self.path.display()))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_override_the_file_and_labels_merge() {
        let base = VertexSettings {
            project: Some("p".into()),
            region: Some("us-central1".into()),
            labels: [("team".to_string(), "ml".to_string())].into(),
            ..VertexSettings::default()
        };
        let over = VertexSettings {
            region: Some("europe-west4".into()),
            labels: [("run".to_string(), "1".to_string())].into(),
            ..VertexSettings::default()
        };
        let got = base.overridden_by(&over);
        assert_eq!(got.project.as_deref(), Some("p"));
        assert_eq!(got.region.as_deref(), Some("europe-west4"));
        assert_eq!(got.labels.len(), 2);
    }

    #[test]
    fn regions_and_projects_are_checked() {
        for ok in ["us-central1", "europe-west4", "global"] {
            assert!(check_region(ok).is_ok(), "{ok}");
        }
        for bad in [
            "evil.example/",
            "evil.example",
            "us-central1.evil.com#",
            "US-CENTRAL1",
            "",
            "a b",
            "x/../y",
        ] {
            let err = check_region(bad).expect_err(bad).to_string();
            assert!(err.contains(&format!("{bad:?}")), "{err}");
        }
        for ok in ["my-project", "p", "example.com:my-project", "123456789012"] {
            assert!(check_project(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "my-project-",
            "My-Project",
            "my_project",
            "p/../x",
            "a?b=c",
            ":abcdef",
        ] {
            assert!(check_project(bad).is_err(), "{bad}");
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let file = ConfigFile::in_data_dir(dir.path());
        let mut config = TargetsConfig::default();
        config.vertex.region = Some("evil.example/".into());
        assert!(matches!(file.save(&config), Err(TargetError::Setting(_))));
        assert!(!file.path().exists(), "nothing is written");
    }

    #[test]
    fn settings_round_trip_through_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = ConfigFile::in_data_dir(dir.path());
        assert_eq!(file.load().expect("defaults"), TargetsConfig::default());
        let mut config = TargetsConfig::default();
        config.kfp.host = Some("http://kfp".into());
        config.vertex.enable_caching = Some(false);
        file.save(&config).expect("save");
        assert_eq!(file.load().expect("load"), config);
        std::fs::write(file.path(), "{\"vertex\": {\"token\": \"x\"}}").expect("write");
        assert!(file.load().is_err(), "unknown fields are refused");
    }
}
