//! The Kubernetes platform spec on this machine: carries out what the driver found in it
//! ([`crate::driver::Kubernetes`]) from the local sources in the data folder:
//!
//! - a secret `s` is the folder `<data-dir>/secrets/s/`, a config map `m` is
//!   `<data-dir>/config-maps/m/`, one file per key holding the value as is (write it with
//!   `printf`, not `echo`, unless the value ends with a newline);
//! - a PVC `p` is the folder `<data-dir>/volumes/p/` (made when missing; `CreatePVC` makes it,
//!   `DeletePVC` removes it); an empty dir is a folder of the task's own.
//!
//! A task process cannot mount a folder at an absolute path, so the task gets the host folder
//! instead: every input parameter whose value is a path under a mount path (`/data/out.txt`
//! under `/data`) is rewritten to the same path under the folder, and a container runtime
//! mounts the folder at its own path. The task's note says what came from where, what was
//! rewritten, and what the engine ignored (node selectors, tolerations, pod metadata, image
//! pull secrets, …).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use crate::driver::{Kubernetes, Volume};
use crate::values::Io;

/// What a leaf gets from its platform settings here.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Local {
    /// Environment variables from secrets and config maps.
    pub env: BTreeMap<String, String>,
    /// The host folders of its volumes.
    pub folders: Vec<PathBuf>,
    /// What was done and what was ignored, for the task's note (none without settings).
    pub note: Option<String>,
}

/// Carries out `k` for the task whose folder is `task_dir`: reads its environment variables,
/// makes its volumes' folders and rewrites the input `params` that are paths under a mount
/// path. An error (a missing secret or config map that is not optional, a folder that cannot
/// be made) says what is missing and where it is looked for.
pub fn apply(
    k: &Kubernetes,
    data_dir: &Path,
    task_dir: &Path,
    params: &mut BTreeMap<String, Value>,
) -> Result<Local, String> {
    let mut local = Local::default();
    let mut done: Vec<String> = Vec::new();
    let mut missing: Vec<String> = Vec::new();
    for e in &k.env {
        let Some(folder) = e.from.folder(data_dir) else {
            continue;
        };
        let file = folder.join(&e.key);
        if e.name.is_empty() || e.name.contains(['=', '\0']) {
            return Err(format!("{:?} is not an environment variable name", e.name));
        }
        match read_value(&file) {
            Ok(v) => {
                local.env.insert(e.name.clone(), v);
                done.push(format!(
                    "{} from {} key {}",
                    e.name,
                    e.from.describe(),
                    e.key
                ));
            }
            Err(_) if e.optional => {
                missing.push(format!("{} (optional: no file {})", e.name, file.display()))
            }
            Err(err) => {
                return Err(format!(
                    "{} for {} is read from {}: {err}",
                    e.from.describe(),
                    e.name,
                    file.display()
                ))
            }
        }
    }
    // Longer mount paths first, so `/data/x` wins over `/data` for what is under it.
    let mut mounts: Vec<(usize, &crate::driver::Mount)> = k.mounts.iter().enumerate().collect();
    mounts.sort_by_key(|(_, m)| std::cmp::Reverse(m.path.len()));
    let mut rewritten: BTreeSet<String> = BTreeSet::new();
    for (i, m) in mounts {
        // An empty dir is a folder of the task's own.
        let folder = m
            .volume
            .folder(data_dir)
            .unwrap_or_else(|| task_dir.join(format!("empty-dir-{i}")));
        match &m.volume {
            Volume::Secret(_) | Volume::ConfigMap(_) if !folder.is_dir() => {
                if m.optional {
                    missing.push(format!(
                        "{} at {} (optional: no folder {})",
                        m.volume.describe(),
                        m.path,
                        folder.display()
                    ));
                    continue;
                }
                return Err(format!(
                    "{} mounted at {} is the folder {}, which does not exist",
                    m.volume.describe(),
                    m.path,
                    folder.display()
                ));
            }
            Volume::Pvc(_) | Volume::EmptyDir => std::fs::create_dir_all(&folder)
                .map_err(|e| format!("cannot create {}: {e}", folder.display()))?,
            _ => {}
        }
        let mut names = Vec::new();
        for (name, v) in params.iter_mut() {
            if rewritten.contains(name) {
                continue;
            }
            let Some(s) = v.as_str() else { continue };
            let rest = match s.strip_prefix(m.path.as_str()) {
                Some("") => Some(""),
                Some(r) if r.starts_with('/') => Some(r.trim_start_matches('/')),
                _ => None,
            };
            if let Some(rest) = rest {
                let host = if rest.is_empty() {
                    folder.clone()
                } else {
                    folder.join(rest)
                };
                *v = json!(host.to_string_lossy());
                names.push(name.clone());
            }
        }
        let how = if names.is_empty() {
            String::new()
        } else {
            format!("; input {} rewritten to it", names.join(", "))
        };
        rewritten.extend(names);
        done.push(format!(
            "{} at {} is the folder {}{how}",
            m.volume.describe(),
            m.path,
            folder.display()
        ));
        local.folders.push(folder);
    }
    let mut parts = Vec::new();
    if !done.is_empty() {
        parts.push(format!("Kubernetes settings applied: {}.", done.join("; ")));
        if !k.mounts.is_empty() {
            parts.push(
                "Volumes are host folders here (a task process cannot mount one at its path): input values under a mount path are rewritten to the folder."
                    .to_string(),
            );
        }
    }
    if !missing.is_empty() {
        parts.push(format!("Not found: {}.", missing.join("; ")));
    }
    if !k.ignored.is_empty() {
        parts.push(format!(
            "Ignored on this machine: {}.",
            k.ignored.join("; ")
        ));
    }
    if !parts.is_empty() {
        local.note = Some(parts.join(" "));
    }
    Ok(local)
}

/// The most bytes a secret or config map value may hold (Kubernetes' own limit for a whole
/// secret).
pub const MAX_VALUE_BYTES: u64 = 1024 * 1024;

/// The value of a key: the file's text, at most [`MAX_VALUE_BYTES`], without NUL characters
/// (which an environment variable cannot hold).
fn read_value(file: &Path) -> std::io::Result<String> {
    use std::io::{Error, ErrorKind, Read as _};
    let mut text = String::new();
    std::fs::File::open(file)?
        .take(MAX_VALUE_BYTES + 1)
        .read_to_string(&mut text)?;
    if text.len() as u64 > MAX_VALUE_BYTES {
        return Err(Error::new(
            ErrorKind::InvalidData,
            format!("more than {MAX_VALUE_BYTES} bytes"),
        ));
    }
    if text.contains('\0') {
        return Err(Error::new(
            ErrorKind::InvalidData,
            "it holds a NUL character",
        ));
    }
    Ok(text)
}

/// `CreatePVC`: makes the folder of PVC `name`; its outputs (`name`) and a note.
pub fn create_volume(data_dir: &Path, name: &str) -> Result<(Io, String), String> {
    let folder = Volume::Pvc(name.to_string())
        .folder(data_dir)
        .ok_or("a PVC has a folder")?;
    std::fs::create_dir_all(&folder)
        .map_err(|e| format!("cannot create {}: {e}", folder.display()))?;
    let mut io = Io::default();
    io.parameters.insert("name".into(), json!(name));
    let note = format!(
        "PVC {name} is the folder {} on this machine (its size, access modes and storage class do not apply).",
        folder.display()
    );
    Ok((io, note))
}

/// `DeletePVC`: removes the folder of PVC `name` (nothing when it does not exist).
pub fn delete_volume(data_dir: &Path, name: &str) -> Result<(Io, String), String> {
    let folder = Volume::Pvc(name.to_string())
        .folder(data_dir)
        .ok_or("a PVC has a folder")?;
    let note = match std::fs::remove_dir_all(&folder) {
        Ok(()) => format!("PVC {name}: removed the folder {}.", folder.display()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            format!("PVC {name}: no folder {} to remove.", folder.display())
        }
        Err(e) => return Err(format!("cannot remove {}: {e}", folder.display())),
    };
    Ok((Io::default(), note))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::driver::{EnvVar, Mount};

    fn settings() -> Kubernetes {
        Kubernetes {
            env: vec![
                EnvVar {
                    name: "DB_PASSWORD".into(),
                    from: Volume::Secret("db".into()),
                    key: "password".into(),
                    optional: false,
                },
                EnvVar {
                    name: "MODE".into(),
                    from: Volume::ConfigMap("settings".into()),
                    key: "mode".into(),
                    optional: true,
                },
            ],
            mounts: vec![
                Mount {
                    path: "/data".into(),
                    volume: Volume::Pvc("scratch".into()),
                    optional: false,
                },
                Mount {
                    path: "/data/cfg".into(),
                    volume: Volume::ConfigMap("settings".into()),
                    optional: true,
                },
            ],
            ignored: vec!["tolerations [{\"key\":\"gpu\"}]".into()],
        }
    }

    #[test]
    fn secrets_volumes_and_paths_come_from_the_data_folder() {
        let data = tempfile::tempdir().expect("tempdir");
        let task = data.path().join("task");
        std::fs::create_dir_all(data.path().join("secrets/db")).expect("mkdir");
        std::fs::write(data.path().join("secrets/db/password"), "s3cret").expect("write");
        let mut params: BTreeMap<String, Value> = [
            ("out".to_string(), json!("/data/out.txt")),
            ("root".to_string(), json!("/data")),
            ("other".to_string(), json!("/database")),
            ("n".to_string(), json!(3)),
        ]
        .into_iter()
        .collect();
        let local = apply(&settings(), data.path(), &task, &mut params).expect("apply");
        assert_eq!(
            local.env.get("DB_PASSWORD").map(String::as_str),
            Some("s3cret")
        );
        assert!(!local.env.contains_key("MODE"));
        let scratch = data.path().join("volumes/scratch");
        assert!(scratch.is_dir());
        assert_eq!(
            params["out"],
            json!(scratch.join("out.txt").to_string_lossy())
        );
        assert_eq!(params["root"], json!(scratch.to_string_lossy()));
        assert_eq!(params["other"], json!("/database"));
        assert_eq!(local.folders, vec![scratch]);
        let note = local.note.expect("a note");
        assert!(
            note.contains("DB_PASSWORD from secret db key password"),
            "{note}"
        );
        assert!(note.contains("MODE (optional"), "{note}");
        assert!(
            note.contains("Ignored on this machine: tolerations"),
            "{note}"
        );
        assert!(note.contains("input out, root rewritten"), "{note}");
    }

    #[test]
    fn a_missing_secret_fails_the_task_naming_the_file() {
        let data = tempfile::tempdir().expect("tempdir");
        let mut k = settings();
        k.mounts.clear();
        let err = apply(&k, data.path(), data.path(), &mut BTreeMap::new()).expect_err("missing");
        assert!(err.contains("secrets/db/password"), "{err}");
    }

    #[test]
    fn values_too_large_or_with_nul_are_refused() {
        let data = tempfile::tempdir().expect("tempdir");
        let mut k = settings();
        k.mounts.clear();
        k.env.truncate(1);
        let file = data.path().join("secrets/db/password");
        std::fs::create_dir_all(file.parent().expect("a folder")).expect("mkdir");
        std::fs::write(&file, "a\0b").expect("write");
        let err = apply(&k, data.path(), data.path(), &mut BTreeMap::new()).expect_err("NUL");
        assert!(err.contains("NUL"), "{err}");
        let big = usize::try_from(MAX_VALUE_BYTES + 1).expect("fits");
        std::fs::write(&file, "x".repeat(big)).expect("write");
        let err = apply(&k, data.path(), data.path(), &mut BTreeMap::new()).expect_err("big");
        assert!(err.contains("more than"), "{err}");
    }

    #[test]
    fn pvc_folders_are_made_and_removed() {
        let data = tempfile::tempdir().expect("tempdir");
        let (io, note) = create_volume(data.path(), "job-scratch").expect("create");
        assert_eq!(io.parameters["name"], json!("job-scratch"));
        assert!(data.path().join("volumes/job-scratch").is_dir(), "{note}");
        delete_volume(data.path(), "job-scratch").expect("delete");
        assert!(!data.path().join("volumes/job-scratch").exists());
        let (_, note) = delete_volume(data.path(), "job-scratch").expect("again");
        assert!(note.contains("no folder"), "{note}");
    }
}
