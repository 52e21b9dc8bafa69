use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = keel::cli::Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("keel: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let code = runtime.block_on(keel::cli::run(cli));
    // Blocking work still running (a chart being drawn) must not hold the exit.
    runtime.shutdown_timeout(std::time::Duration::from_millis(500));
    code
}
