//! The `pipeline-canvas` binary; see [`pipeline_canvas::cli`].

fn main() -> std::process::ExitCode {
    pipeline_canvas::cli::main()
}
