//! Python function components: the executors `kfp` writes for `@dsl.component` functions,
//!
//! ```text
//! sh -c "<pip install packages_to_install, then kfp> && \"$0\" \"$@\""
//!   sh -ec "program_path=$(mktemp -d) … python3 -m kfp.dsl.executor_main
//!           --component_module_path \"$program_path/ephemeral_component.py\" \"$@\""
//!   "<the function's source>"
//!   --executor_input "{{$}}" --function_to_execute <name>
//! ```
//!
//! run without any shell: the packages are read off the install line (the `kfp` pin itself
//! is dropped; the managed environment provides the KFP runtime), and the source and the
//! executor arguments go to a warm worker of that environment, which forks and runs
//! `kfp.dsl.executor_main` in the task's folder with its output in the task's log.

use std::collections::BTreeMap;

use pipeline::ir::ContainerSpec;

use super::launcher::Launch;
use super::python_env::{Env, PythonEnvs, Started, WorkerJob};

/// A Python function component, taken apart.
#[derive(Debug, Clone, PartialEq)]
pub struct PythonProgram {
    /// The component's module source.
    pub program: String,
    /// The arguments after the source: `--executor_input {{$}} --function_to_execute f`.
    pub args: Vec<String>,
    /// Packages to install (`packages_to_install`), without the KFP runtime itself.
    pub packages: Vec<String>,
    /// Index options for the installer (`--index-url`, `--extra-index-url`).
    pub pip_args: Vec<String>,
}

/// Recognises a KFP Python function component's container spec.
pub fn detect(c: &ContainerSpec) -> Option<PythonProgram> {
    let full: Vec<&String> = c.command.iter().chain(&c.args).collect();
    let at = full.iter().position(|s| {
        s.contains("kfp.dsl.executor_main") && s.contains("ephemeral_component.py")
    })?;
    let program = full.get(at + 1)?.to_string();
    let args = full[at + 2..].iter().map(|s| s.to_string()).collect();
    let mut packages = Vec::new();
    let mut pip_args = Vec::new();
    for part in &full[..at] {
        install_line(part, &mut packages, &mut pip_args);
    }
    Some(PythonProgram {
        program,
        args,
        packages,
        pip_args,
    })
}

/// Splits a shell fragment into words (single and double quotes, backslashes).
fn words(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut has = false;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                has = true;
                for c in chars.by_ref() {
                    if c == '\'' {
                        break;
                    }
                    cur.push(c);
                }
            }
            '"' => {
                has = true;
                while let Some(c) = chars.next() {
                    match c {
                        '"' => break,
                        '\\' => {
                            if let Some(n) = chars.next() {
                                cur.push(n);
                            }
                        }
                        c => cur.push(c),
                    }
                }
            }
            '\\' => {
                if let Some(n) = chars.next() {
                    if n != '\n' {
                        cur.push(n);
                        has = true;
                    }
                }
            }
            c if c.is_whitespace() => {
                if has {
                    out.push(std::mem::take(&mut cur));
                    has = false;
                }
            }
            c => {
                cur.push(c);
                has = true;
            }
        }
    }
    if has {
        out.push(cur);
    }
    out
}

fn requirement_name(req: &str) -> String {
    req.chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        .collect::<String>()
        .to_ascii_lowercase()
        .replace('_', "-")
}

/// Collects the packages of every `pip install` in a shell script.
fn install_line(script: &str, packages: &mut Vec<String>, pip_args: &mut Vec<String>) {
    for segment in script.split("pip install").skip(1) {
        let segment = segment.split("&&").next().unwrap_or_default();
        let segment = segment.split('\n').next().unwrap_or_default();
        let w = words(segment);
        let mut reqs = Vec::new();
        let mut i = 0;
        while i < w.len() {
            let a = &w[i];
            match a.as_str() {
                "--index-url" | "-i" | "--extra-index-url" => {
                    if let Some(v) = w.get(i + 1) {
                        let flag = if a == "-i" { "--index-url" } else { a.as_str() };
                        if !pip_args.iter().any(|x| x == v) {
                            pip_args.push(flag.to_string());
                            pip_args.push(v.clone());
                        }
                    }
                    i += 2;
                    continue;
                }
                "--trusted-host" | "-f" | "--find-links" | "-c" | "--constraint" => {
                    i += 2;
                    continue;
                }
                _ if a.starts_with('-') => {}
                _ => reqs.push(a.clone()),
            }
            i += 1;
        }
        // KFP's own runtime line (`kfp==X --no-deps typing-extensions…`): the environment
        // provides the KFP runtime.
        if reqs.iter().any(|r| requirement_name(r) == "kfp") {
            continue;
        }
        for r in reqs {
            if !packages.contains(&r) {
                packages.push(r);
            }
        }
    }
}

/// Starts the component in the warm worker of `env`; its output goes to its log, at most
/// `log_limit` bytes.
pub async fn start(
    envs: &PythonEnvs,
    env: &Env,
    program: &PythonProgram,
    launch: &Launch,
    vars: &BTreeMap<String, String>,
    log_limit: u64,
) -> Result<Started, String> {
    let argv = launch.context().resolve_args(&program.args)?;
    let worker = envs.worker(env).await?;
    let mut env_vars = vars.clone();
    env_vars.insert("_KFP_RUNTIME".into(), "true".into());
    let job = WorkerJob {
        cwd: launch.dir.clone(),
        log: launch.log.clone(),
        module_path: launch.dir.join("ephemeral_component.py"),
        program: program.program.clone(),
        argv,
        env: env_vars,
        log_limit,
    };
    worker.run(&job).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(install: &str) -> ContainerSpec {
        ContainerSpec {
            command: vec![
                "sh".into(),
                "-c".into(),
                install.into(),
                "sh".into(),
                "-ec".into(),
                "program_path=$(mktemp -d)\nprintf \"%s\" \"$0\" > \"$program_path/ephemeral_component.py\"\n_KFP_RUNTIME=true python3 -m kfp.dsl.executor_main --component_module_path \"$program_path/ephemeral_component.py\" \"$@\"\n".into(),
                "def f(): pass\n".into(),
            ],
            args: vec![
                "--executor_input".into(),
                "{{$}}".into(),
                "--function_to_execute".into(),
                "f".into(),
            ],
            image: "python:3.11".into(),
            ..ContainerSpec::default()
        }
    }

    #[test]
    fn plain_components_need_no_packages() {
        let p = detect(&spec("\nif ! [ -x \"$(command -v pip)\" ]; then\n    python3 -m ensurepip\nfi\n\nPIP_DISABLE_PIP_VERSION_CHECK=1 python3 -m pip install --quiet --no-warn-script-location 'kfp==2.14.6' '--no-deps' 'typing-extensions>=3.7.4,<5; python_version<\"3.9\"' && \"$0\" \"$@\"\n")).expect("python component");
        assert_eq!(p.program, "def f(): pass\n");
        assert_eq!(p.args[0], "--executor_input");
        assert_eq!(p.args.len(), 4);
        assert!(p.packages.is_empty(), "{:?}", p.packages);
    }

    #[test]
    fn packages_to_install_and_index_urls_are_read() {
        let p = detect(&spec("PIP_DISABLE_PIP_VERSION_CHECK=1 python3 -m pip install --quiet --no-warn-script-location --index-url https://pypi.org/simple --trusted-host https://pypi.org/simple 'yapf' 'nbclient>=0.10,<1'  &&  python3 -m pip install --quiet --index-url https://pypi.org/simple 'kfp==2.14.3' '--no-deps' 'typing-extensions>=3.7.4,<5; python_version<\"3.9\"' && \"$0\" \"$@\"\n")).expect("python component");
        assert_eq!(p.packages, ["yapf", "nbclient>=0.10,<1"]);
        assert_eq!(p.pip_args, ["--index-url", "https://pypi.org/simple"]);
    }

    #[test]
    fn container_components_are_not_python_components() {
        let c = ContainerSpec {
            command: vec!["echo".into()],
            args: vec!["hi".into()],
            image: "alpine".into(),
            ..ContainerSpec::default()
        };
        assert!(detect(&c).is_none());
    }
}
