//! The command line: `pipeline-canvas [serve] [...]`, `pipeline-canvas compile <document>`,
//! `pipeline-canvas import <spec>` and `pipeline-canvas run <pipeline>`.
//!
//! Every error is printed to stderr as one readable message and ends the process with a non-zero
//! status; nothing here panics on bad input.

use std::io::{Read as _, Write as _};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};
use pipeline::import::KfpFile;
use pipeline::{Document, DocumentError, OutputFormat};

use crate::config::{default_data_dir, ConfigError, ServeConfig, DEFAULT_ADDR, DEFAULT_STATIC_DIR};
use crate::server::StartError;

/// Pipeline Canvas: a visual editor for Kubeflow Pipelines v2 / Vertex AI pipelines.
///
/// Without a command, runs `serve`.
#[derive(Debug, Parser)]
#[command(
    name = "pipeline-canvas",
    version,
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Options of `serve`, when no command is given.
    #[command(flatten)]
    pub serve: ServeArgs,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the editor and its HTTP API (the default).
    #[command(after_help = SERVE_EXAMPLES)]
    Serve(ServeArgs),
    /// Compile a pipeline document to a KFP v2 pipeline spec (JSON or YAML).
    #[command(after_help = COMPILE_EXAMPLES)]
    Compile(CompileArgs),
    /// Import a compiled KFP pipeline or a component YAML file as a pipeline document.
    #[command(after_help = IMPORT_EXAMPLES)]
    Import(ImportArgs),
    /// Run a pipeline (spec or document) on the local engine, printing progress.
    #[command(after_help = RUN_EXAMPLES)]
    Run(crate::run_command::RunArgs),
    /// Submit a pipeline (spec or document) to Vertex AI Pipelines or Kubeflow Pipelines.
    #[command(after_help = SUBMIT_EXAMPLES)]
    Submit(Box<crate::submit_command::SubmitArgs>),
    /// Print the lineage (artifacts, executions, events) around a run or an artifact.
    #[command(after_help = LINEAGE_EXAMPLES)]
    Lineage(crate::lineage_command::LineageArgs),
    /// List the runs of the data folder (local and remote) as a table with a column per run
    /// parameter (`param.<name>`) and per metric the tasks logged (`metric.<name>`), newest
    /// first or sorted by any column.
    #[command(after_help = RUNS_EXAMPLES)]
    Runs(crate::runs_command::RunsArgs),
    /// Print a task's log, or every task's log of a run (each line prefixed with its task).
    #[command(after_help = LOGS_EXAMPLES)]
    Logs(crate::runs_command::LogsArgs),
    /// Cancel a run: local (run by `serve` or a `run` command) or remote.
    #[command(after_help = CANCEL_EXAMPLES)]
    Cancel(crate::cancel_command::CancelArgs),
    /// List or stop the local model endpoints (TorchServe servers started by deploy tasks).
    #[command(after_help = ENDPOINTS_EXAMPLES)]
    Endpoints(crate::endpoints_command::EndpointsArgs),
}

const CANCEL_EXAMPLES: &str = "Examples:
  pipeline-canvas cancel 0b7c9e2a-…
  pipeline-canvas cancel \"$(pipeline-canvas runs --state running --format csv | sed -n 2p | cut -d, -f2)\"";

const ENDPOINTS_EXAMPLES: &str = "Examples:
  pipeline-canvas endpoints list
  pipeline-canvas endpoints list --json
  pipeline-canvas endpoints stop ep-1a2b3c4d
  pipeline-canvas endpoints stop --all";

const SERVE_EXAMPLES: &str = "Examples:
  pipeline-canvas serve
  pipeline-canvas serve --addr 0.0.0.0:8080 --allow-host my-machine.example.com
  PIPELINE_CANVAS_DATA_DIR=/srv/canvas pipeline-canvas serve --static-dir /opt/canvas/dist";

const COMPILE_EXAMPLES: &str = "Examples:
  pipeline-canvas compile my.pipeline.json -o spec.yaml
  pipeline-canvas compile my.pipeline.json --format json > spec.json";

const IMPORT_EXAMPLES: &str = "Examples:
  pipeline-canvas import pipeline.yaml -o my.pipeline.json
  curl -s https://example.com/component.yaml | pipeline-canvas import - -o c.pipeline.json";

const RUN_EXAMPLES: &str = "Examples:
  pipeline-canvas run spec.yaml --param epochs=3 --param lr=0.01
  pipeline-canvas run my.pipeline.json --param 'items=[1, 2, 3]' --no-cache
  pipeline-canvas run spec.yaml --json > events.jsonl
Exit status: 0 the run succeeded, 1 it failed, 2 usage, 130 Ctrl-C, 143 SIGTERM (the run is
cancelled and recorded CANCELLED).";

const SUBMIT_EXAMPLES: &str = "Examples:
  pipeline-canvas submit spec.yaml --target vertex --project my-project --region us-central1 \\
      --pipeline-root gs://my-bucket/root --wait
  pipeline-canvas submit spec.yaml --target kfp --host http://localhost:8080 --wait --json
Exit status (with --wait): 0 the run succeeded, 1 it failed, 2 usage, 130 Ctrl-C, 143 SIGTERM
(the run goes on remotely).";

const RUNS_EXAMPLES: &str = "Examples:
  pipeline-canvas runs
  pipeline-canvas runs --state failed --pipeline my-pipeline
  pipeline-canvas runs --pipeline my-pipeline --sort metric.accuracy --desc --limit 5
  pipeline-canvas runs --text baseline --format json
  pipeline-canvas runs --format csv --limit 10000 > runs.csv";

const LINEAGE_EXAMPLES: &str = "Examples:
  pipeline-canvas lineage --latest
  pipeline-canvas lineage 0b7c9e2a-… --depth 2 --direction upstream
  pipeline-canvas lineage --latest --format dot | dot -Tsvg > lineage.svg";

const LOGS_EXAMPLES: &str = "Examples:
  pipeline-canvas logs --latest
  pipeline-canvas logs 0b7c9e2a-… train
  pipeline-canvas logs --latest condition-1/train --follow";

/// Options of `import`.
#[derive(Debug, Clone, Args)]
pub struct ImportArgs {
    /// The compiled pipeline or component (`*.yaml`, `*.json`); `-` reads standard input.
    pub spec: PathBuf,
    /// Write the document to this file instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// Options of `serve`.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "PIPELINE_CANVAS_ADDR", default_value = DEFAULT_ADDR)]
    pub addr: SocketAddr,
    /// Folder for saved pipelines (pipelines.db) and user components (components/).
    /// [default: $XDG_DATA_HOME/pipeline-canvas]
    #[arg(long, env = "PIPELINE_CANVAS_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Folder holding the built front end.
    #[arg(long, env = "PIPELINE_CANVAS_STATIC_DIR", default_value = DEFAULT_STATIC_DIR)]
    pub static_dir: PathBuf,
    /// The API token scripts send as `Authorization: Bearer <token>` (16 to 256 characters of
    /// letters, digits, `-_.~`). [default: a random one per start, written to
    /// <data-dir>/token]
    #[arg(long, env = "PIPELINE_CANVAS_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Also answer requests that name the server by this host name (repeatable): e.g. the
    /// machine's name when listening beyond loopback, or a reverse proxy's name.
    #[arg(
        long = "allow-host",
        value_name = "HOST",
        env = "PIPELINE_CANVAS_ALLOWED_HOSTS",
        value_delimiter = ','
    )]
    pub allowed_hosts: Vec<String>,
    /// Let local runs execute a container component's command on this machine when its image
    /// cannot be used (no podman or docker, or the image is not present). Off: such a task
    /// fails and says which runtime to install.
    #[arg(long, env = "PIPELINE_CANVAS_ALLOW_HOST_COMMANDS", value_parser = clap::builder::BoolishValueParser::new())]
    pub allow_host_commands: bool,
}

/// Options of `compile`.
#[derive(Debug, Clone, Args)]
pub struct CompileArgs {
    /// The pipeline document (`*.pipeline.json`); `-` reads standard input.
    pub document: PathBuf,
    /// Write the spec to this file instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Spec format [default: from the --output extension (.yaml/.yml), else json].
    #[arg(long, value_enum)]
    pub format: Option<FormatArg>,
}

/// `--format` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    /// Pretty JSON.
    Json,
    /// YAML, as the KFP SDK writes it.
    Yaml,
}

impl From<FormatArg> for OutputFormat {
    fn from(f: FormatArg) -> Self {
        match f {
            FormatArg::Json => OutputFormat::Json,
            FormatArg::Yaml => OutputFormat::Yaml,
        }
    }
}

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The document could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file as given.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The document is not JSON or not the document's shape.
    #[error("{path}:{line}:{column}: invalid pipeline document: {message}")]
    Parse {
        /// The file as given.
        path: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What is wrong there.
        message: String,
    },
    /// The file is a compiled KFP spec or a component, not a document.
    #[error("{path}: this is {what}, not a pipeline document: {hint}")]
    NotADocument {
        /// The file as given.
        path: String,
        /// What it is.
        what: &'static str,
        /// What to do with it.
        hint: String,
    },
    /// The document has a format version this build does not read.
    #[error("{path}: {message}")]
    Format {
        /// The file as given.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// The compiled pipeline cannot be written in the format asked for.
    #[error("{path}: {source} (--format yaml, or an output file ending in .yaml)")]
    Output {
        /// The document as given.
        path: String,
        /// Why.
        source: pipeline::OutputError,
    },
    /// The file is not a KFP pipeline or component this version can import.
    #[error("{path}: cannot import: {message}")]
    Import {
        /// The file as given.
        path: String,
        /// What is wrong, and where.
        message: String,
    },
    /// The pipeline has errors (already printed, one per line).
    #[error("{path}: the pipeline has {count} error{s}; no spec written", s = if *count == 1 { "" } else { "s" })]
    Invalid {
        /// The file as given.
        path: String,
        /// How many errors.
        count: usize,
    },
    /// The spec could not be written.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The output file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// No data folder could be found.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The server could not start or failed.
    #[error(transparent)]
    Start(#[from] StartError),
    /// The async runtime could not be created.
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
    /// `run` failed, or the run did not succeed.
    #[error(transparent)]
    Run(#[from] crate::run_command::RunCommandError),
    /// `submit` failed, or the run did not succeed.
    #[error(transparent)]
    Submit(#[from] crate::submit_command::SubmitError),
    /// `lineage` failed.
    #[error(transparent)]
    Lineage(#[from] crate::lineage_command::LineageCommandError),
    /// `cancel` failed.
    #[error(transparent)]
    Cancel(#[from] crate::cancel_command::CancelError),
    /// `runs` or `logs` failed.
    #[error(transparent)]
    Runs(#[from] crate::runs_command::RunsCommandError),
    /// `endpoints` failed.
    #[error(transparent)]
    Endpoints(#[from] crate::endpoints_command::EndpointsCommandError),
}

impl CliError {
    /// The process exit status for this error: 130 (SIGINT) or 143 (SIGTERM) when a signal
    /// stopped `run` or `submit --wait`, else 1.
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Run(e) => e.exit_code(),
            CliError::Submit(e) => e.exit_code(),
            _ => 1,
        }
    }
}

/// Parses the process arguments, runs the command and returns the exit status. Usage errors
/// are reported by clap (status 2); a signal that stopped `run` gives 130 (SIGINT) or 143
/// (SIGTERM); other failures print `error: …` and return 1.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let command = cli.command.unwrap_or(Command::Serve(cli.serve));
    let result = match command {
        Command::Serve(args) => {
            init_logging("info");
            serve(args)
        }
        Command::Compile(args) => {
            init_logging("warn");
            compile(&args)
        }
        Command::Import(args) => {
            init_logging("warn");
            import(&args)
        }
        Command::Run(args) => {
            init_logging("warn");
            crate::run_command::run(&args).map_err(CliError::from)
        }
        Command::Submit(args) => {
            init_logging("warn");
            crate::submit_command::submit(&args).map_err(CliError::from)
        }
        Command::Lineage(args) => {
            init_logging("warn");
            crate::lineage_command::lineage(&args).map_err(CliError::from)
        }
        Command::Runs(args) => {
            init_logging("warn");
            crate::runs_command::list(&args).map_err(CliError::from)
        }
        Command::Cancel(args) => {
            init_logging("warn");
            crate::cancel_command::cancel(&args).map_err(CliError::from)
        }
        Command::Logs(args) => {
            init_logging("warn");
            crate::runs_command::logs(&args).map_err(CliError::from)
        }
        Command::Endpoints(args) => {
            init_logging("warn");
            crate::endpoints_command::endpoints(&args).map_err(CliError::from)
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}

/// Logs to stderr, filtered by `RUST_LOG` (else `default`).
fn init_logging(default: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    // Fails only when a subscriber is already set, which then keeps logging.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}

/// Runs the server until Ctrl-C or SIGTERM.
pub fn serve(args: ServeArgs) -> Result<(), CliError> {
    let data_dir = match args.data_dir {
        Some(d) => d,
        None => default_data_dir()?,
    };
    let config = ServeConfig {
        addr: args.addr,
        data_dir,
        static_dir: args.static_dir,
        token: args.token,
        allowed_hosts: args.allowed_hosts,
        allow_host_commands: args.allow_host_commands,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(CliError::Runtime)?;
    runtime.block_on(crate::server::serve(config))?;
    Ok(())
}

/// Compiles a document file, writing the spec to `--output` or stdout and every diagnostic to
/// stderr.
pub fn compile(args: &CompileArgs) -> Result<(), CliError> {
    let path = args.document.display().to_string();
    let text = read_document(&args.document).map_err(|source| CliError::Read {
        path: path.clone(),
        source,
    })?;
    let doc = Document::from_json(&text)
        .map_err(|e| not_a_document(&path, &text).unwrap_or_else(|| document_error(&path, e)))?;
    let compiled = pipeline::compile(&doc);
    let stderr = std::io::stderr();
    let mut err = stderr.lock();
    for d in &compiled.diagnostics {
        let _ = writeln!(err, "{}", d.describe(&doc));
    }
    let Some(spec) = compiled.spec else {
        return Err(CliError::Invalid {
            path,
            count: compiled.diagnostics.iter().filter(|d| d.is_error()).count(),
        });
    };
    let text = output_format(args)
        .write(&spec, compiled.platform_spec.as_ref())
        .map_err(|source| CliError::Output { path, source })?;
    write_output(args.output.as_deref(), text.as_bytes())
}

/// When `text` is not a document but a compiled KFP pipeline or a component, the error that
/// says so and what to do with it.
fn not_a_document(path: &str, text: &str) -> Option<CliError> {
    let (what, hint) = match pipeline::import::read_file(text).ok()? {
        KfpFile::Spec(_) => (
            "a compiled KFP pipeline spec",
            format!(
                "run it with `pipeline-canvas run {path}`, or turn it into a document with \
                 `pipeline-canvas import {path}`"
            ),
        ),
        KfpFile::V1Component(_) => (
            "a KFP component",
            format!("turn it into a document with `pipeline-canvas import {path}`"),
        ),
        KfpFile::Document(_) => return None,
    };
    Some(CliError::NotADocument {
        path: path.to_string(),
        what,
        hint,
    })
}

/// A document that does not parse, as the error that says where.
fn document_error(path: &str, e: DocumentError) -> CliError {
    match e {
        DocumentError::Json {
            line,
            column,
            message,
        } => {
            let suffix = format!(" at line {line} column {column}");
            let message = message
                .strip_suffix(&suffix)
                .map(str::to_string)
                .unwrap_or(message);
            CliError::Parse {
                path: path.to_string(),
                line,
                column,
                message,
            }
        }
        DocumentError::Format(_) => CliError::Format {
            path: path.to_string(),
            message: e.to_string(),
        },
    }
}

/// Imports a compiled pipeline or component file, writing the laid-out document to `--output`
/// or stdout.
pub fn import(args: &ImportArgs) -> Result<(), CliError> {
    let path = args.spec.display().to_string();
    let text = read_document(&args.spec).map_err(|source| CliError::Read {
        path: path.clone(),
        source,
    })?;
    let doc = pipeline::import::import_pipeline(&text).map_err(|e| CliError::Import {
        path: path.clone(),
        message: e.to_string(),
    })?;
    write_output(args.output.as_deref(), doc.to_json().as_bytes())
}

/// Writes `bytes` to `file` atomically, or to standard output.
fn write_output(file: Option<&Path>, bytes: &[u8]) -> Result<(), CliError> {
    match file {
        Some(file) => write_atomically(file, bytes).map_err(|source| CliError::Write {
            path: file.display().to_string(),
            source,
        }),
        None => {
            let mut stdout = std::io::stdout().lock();
            match stdout.write_all(bytes).and_then(|()| stdout.flush()) {
                // The reader went away (`| head`): nothing more to do, as with other tools.
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
                result => result.map_err(|source| CliError::Write {
                    path: "standard output".into(),
                    source,
                }),
            }
        }
    }
}

/// The spec format: `--format`, else from the output file's extension, else JSON.
pub fn output_format(args: &CompileArgs) -> OutputFormat {
    if let Some(f) = args.format {
        return f.into();
    }
    args.output
        .as_deref()
        .and_then(Path::extension)
        .and_then(|e| e.to_str())
        .and_then(OutputFormat::parse)
        .unwrap_or(OutputFormat::Json)
}

fn read_document(path: &Path) -> std::io::Result<String> {
    if path.as_os_str() == "-" {
        let mut text = String::new();
        std::io::stdin().read_to_string(&mut text)?;
        Ok(text)
    } else {
        std::fs::read_to_string(path)
    }
}

/// Writes `bytes` to a temporary file next to `path`, then renames it over `path`, so a failed
/// write never leaves a half-written spec.
fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "spec".into());
    let tmp = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    let result = std::fs::write(&tmp, bytes).and_then(|()| std::fs::rename(&tmp, path));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory as _;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn no_subcommand_means_serve_with_defaults() {
        let cli = Cli::try_parse_from(["pipeline-canvas"]).expect("parses");
        assert!(cli.command.is_none());
        let cli =
            Cli::try_parse_from(["pipeline-canvas", "--addr", "127.0.0.1:0"]).expect("parses");
        assert_eq!(cli.serve.addr.port(), 0);
        let cli =
            Cli::try_parse_from(["pipeline-canvas", "serve", "--data-dir", "/x"]).expect("parses");
        match cli.command {
            Some(Command::Serve(a)) => assert_eq!(a.data_dir.as_deref(), Some(Path::new("/x"))),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn format_follows_flag_then_extension() {
        let args = |output: Option<&str>, format: Option<FormatArg>| CompileArgs {
            document: "d.json".into(),
            output: output.map(PathBuf::from),
            format,
        };
        assert_eq!(output_format(&args(None, None)), OutputFormat::Json);
        assert_eq!(
            output_format(&args(Some("x.yaml"), None)),
            OutputFormat::Yaml
        );
        assert_eq!(
            output_format(&args(Some("x.YML"), None)),
            OutputFormat::Yaml
        );
        assert_eq!(
            output_format(&args(Some("x.txt"), None)),
            OutputFormat::Json
        );
        assert_eq!(
            output_format(&args(Some("x.yaml"), Some(FormatArg::Json))),
            OutputFormat::Json
        );
    }
}
