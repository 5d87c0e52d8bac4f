//! User components: KFP component YAML files in a folder (`*.yaml`, `*.yml`).

use std::path::{Path, PathBuf};

use pipeline::ImportError;

use crate::CatalogEntry;

/// Files larger than this are not read (the same limit as the API's request bodies).
pub const MAX_FILE_BYTES: u64 = 8 * 1024 * 1024;

/// A file (or the folder) that could not be loaded, and why.
#[derive(Debug, thiserror::Error)]
#[error("{}: {reason}", .file.display())]
pub struct LoadProblem {
    /// The file at fault, or the folder when it cannot be listed.
    pub file: PathBuf,
    /// What went wrong.
    pub reason: LoadReason,
}

/// What went wrong loading a user component.
#[derive(Debug, thiserror::Error)]
pub enum LoadReason {
    /// The folder cannot be listed.
    #[error("cannot list the folder: {0}")]
    ListFolder(std::io::Error),
    /// The file cannot be read (permissions, not UTF-8, …).
    #[error("cannot read the file: {0}")]
    Read(std::io::Error),
    /// The file is larger than [`MAX_FILE_BYTES`].
    #[error("the file is {0} bytes; component files may be at most {MAX_FILE_BYTES} bytes")]
    TooLarge(u64),
    /// The file is not a KFP component.
    #[error("not a KFP component: {0}")]
    Component(ImportError),
}

/// Reads every `*.yaml` / `*.yml` file directly in `dir` as a KFP component file (the YAML
/// `kfp.compiler.Compiler().compile(component, path)` writes), in file-name order.
///
/// Returns the components that loaded, as palette entries with id `user/<file name>` and
/// category `User`, and a problem for each file that did not (or for the folder, when it
/// cannot be listed). Other files and sub-folders are ignored.
pub fn load_user_components(dir: &Path) -> (Vec<CatalogEntry>, Vec<LoadProblem>) {
    let mut entries = Vec::new();
    let mut problems = Vec::new();
    let listing = match std::fs::read_dir(dir) {
        Ok(listing) => listing,
        Err(e) => {
            problems.push(LoadProblem {
                file: dir.to_path_buf(),
                reason: LoadReason::ListFolder(e),
            });
            return (entries, problems);
        }
    };
    let mut files: Vec<PathBuf> = Vec::new();
    for item in listing {
        match item {
            Ok(item) => {
                let path = item.path();
                let yaml = path.extension().and_then(|e| e.to_str()).is_some_and(|e| {
                    e.eq_ignore_ascii_case("yaml") || e.eq_ignore_ascii_case("yml")
                });
                if yaml && path.is_file() {
                    files.push(path);
                }
            }
            Err(e) => problems.push(LoadProblem {
                file: dir.to_path_buf(),
                reason: LoadReason::ListFolder(e),
            }),
        }
    }
    files.sort();
    for path in files {
        match load_file(&path) {
            Ok(entry) => entries.push(entry),
            Err(reason) => problems.push(LoadProblem { file: path, reason }),
        }
    }
    (entries, problems)
}

fn load_file(path: &Path) -> Result<CatalogEntry, LoadReason> {
    let size = std::fs::metadata(path).map_err(LoadReason::Read)?.len();
    if size > MAX_FILE_BYTES {
        return Err(LoadReason::TooLarge(size));
    }
    let text = std::fs::read_to_string(path).map_err(LoadReason::Read)?;
    let mut component = pipeline::component_from_yaml(&text).map_err(LoadReason::Component)?;
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let title = component
        .title
        .clone()
        .unwrap_or_else(|| component.name.clone());
    let description = component
        .description
        .clone()
        .unwrap_or_else(|| format!("User component from {file_name}."));
    component.title = Some(title.clone());
    Ok(CatalogEntry {
        id: format!("user/{file_name}"),
        title,
        category: "User".into(),
        description,
        component,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh empty folder under the system temp folder, removed on drop.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new(tag: &str) -> Self {
            let path = std::env::temp_dir().join(format!(
                "components-user-{tag}-{}-{:?}",
                std::process::id(),
                std::thread::current().id()
            ));
            let _ = std::fs::remove_dir_all(&path);
            std::fs::create_dir_all(&path).expect("create temp dir");
            Self(path)
        }

        fn write(&self, name: &str, text: &[u8]) {
            std::fs::write(self.0.join(name), text).expect("write file");
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    const GOOD: &str = include_str!("../builtin/generate_mar_file.yaml");

    #[test]
    fn loads_yaml_files_in_name_order_and_names_each_bad_one() {
        let dir = TempDir::new("mixed");
        dir.write("b_mar.yml", GOOD.as_bytes());
        dir.write("a_mar.yaml", GOOD.as_bytes());
        dir.write("notes.txt", b"not a component, ignored");
        dir.write("empty.yaml", b"");
        dir.write("broken.yaml", b"components: [unclosed\n");
        dir.write("list.yaml", b"- 1\n- 2\n");
        dir.write("binary.yaml", &[0xff, 0xfe, 0x00, 0x41]);
        let pipeline_text = GOOD.replace("deploymentSpec:", "deploymentSpecX:");
        dir.write("no_executors.yaml", pipeline_text.as_bytes());
        std::fs::create_dir(dir.0.join("folder.yaml")).expect("sub-folder");

        let (entries, problems) = load_user_components(&dir.0);

        let ids: Vec<&str> = entries.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(ids, ["user/a_mar.yaml", "user/b_mar.yml"]);
        let e = &entries[0];
        assert_eq!(e.category, "User");
        assert_eq!(e.title, "generate-mar-file");
        assert_eq!(e.component.title.as_deref(), Some("generate-mar-file"));
        // The description the KFP SDK wrote in the file's header.
        assert!(
            e.description
                .starts_with("Runs torch-model-archiver on the trained model"),
            "{}",
            e.description
        );
        assert!(e.component.input_port("model").is_some());

        let mut seen: Vec<(String, String)> = problems
            .iter()
            .map(|p| {
                let name = p.file.file_name().map(|n| n.to_string_lossy().into_owned());
                (name.unwrap_or_default(), p.to_string())
            })
            .collect();
        seen.sort();
        let names: Vec<&str> = seen.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "binary.yaml",
                "broken.yaml",
                "empty.yaml",
                "list.yaml",
                "no_executors.yaml"
            ]
        );
        for (name, message) in &seen {
            assert!(
                message.starts_with(&dir.0.join(name).display().to_string()),
                "{message}"
            );
        }
        let reason = |n: &str| {
            problems
                .iter()
                .find(|p| p.file.ends_with(n))
                .map(|p| &p.reason)
                .unwrap_or_else(|| panic!("{n}"))
        };
        assert!(matches!(reason("binary.yaml"), LoadReason::Read(_)));
        assert!(matches!(
            reason("empty.yaml"),
            LoadReason::Component(ImportError::Empty)
        ));
        assert!(matches!(
            reason("broken.yaml"),
            LoadReason::Component(ImportError::Syntax(_))
        ));
        assert!(matches!(
            reason("list.yaml"),
            LoadReason::Component(ImportError::Shape(_))
        ));
        assert!(matches!(
            reason("no_executors.yaml"),
            LoadReason::Component(_)
        ));
        assert!(reason("empty.yaml").to_string().contains("empty"));
    }

    #[test]
    fn a_missing_folder_is_one_problem_naming_it() {
        let dir = TempDir::new("missing");
        let missing = dir.0.join("nope");
        let (entries, problems) = load_user_components(&missing);
        assert!(entries.is_empty());
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].file, missing);
        assert!(matches!(problems[0].reason, LoadReason::ListFolder(_)));
        assert!(problems[0].to_string().contains("cannot list the folder"));
    }

    #[test]
    fn oversized_files_are_refused_unread() {
        let dir = TempDir::new("big");
        let file = std::fs::File::create(dir.0.join("huge.yaml")).expect("create");
        file.set_len(MAX_FILE_BYTES + 1).expect("grow");
        let (entries, problems) = load_user_components(&dir.0);
        assert!(entries.is_empty());
        assert_eq!(problems.len(), 1);
        assert!(matches!(problems[0].reason, LoadReason::TooLarge(n) if n == MAX_FILE_BYTES + 1));
    }
}
