//! `clientele`: parses the command line, loads the configuration, sets up logging and runs the
//! command. Everything else lives in the library crates.

use clap::Parser;
use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

mod bench;
mod cli;
mod commands;
mod config;
mod dataset;
mod demo;
mod keys;
mod wiring;

fn main() -> std::process::ExitCode {
    let cli = cli::Cli::parse();
    let config = match cli.load_config() {
        Ok(config) => config,
        Err(error) => {
            eprintln!("error: {error:#}");
            return std::process::ExitCode::FAILURE;
        }
    };
    // The server logs at the configured level; one-shot commands only say what went wrong.
    let level = match cli.command {
        cli::Command::Serve { .. } => config.log.level.clone(),
        _ => "warn".to_owned(),
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level));
    let logs = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match config.log.format {
        LogFormat::Text => logs.init(),
        LogFormat::Json => logs.json().init(),
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(commands::run(cli, config)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
