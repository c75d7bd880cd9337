//! `sharelock serve`.

use crate::operator::load_config;
use clap::Args;
use sharelock_server::config::{LogFormat, Overrides};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

// Exit codes (crate::operator::exit) besides 0 (stopped cleanly) and 1 (failed while running): 2 the
// configuration is not usable, 8 a secret given twice.

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long, value_name = "ADDR")]
    listen: Option<SocketAddr>,
    /// Directory for the database and blobs [default: ./sharelock-data].
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Database URL: sqlite://PATH, or postgres://USER:PASSWORD@HOST:PORT/DB (TLS with ?sslmode=require
    /// or verify-full) [default: sqlite://<data-dir>/sharelock.db].
    #[arg(long, value_name = "URL")]
    database_url: Option<String>,
    /// The URL clients use to reach this server; links are built on it [default: http://<listen>].
    #[arg(long, value_name = "URL")]
    public_url: Option<String>,
    /// Serve /metrics on this address instead of the main one (e.g. a monitoring network's)
    /// [default: on --listen].
    #[arg(long, value_name = "ADDR")]
    metrics_listen: Option<SocketAddr>,
    /// A TOML configuration file (see docs/sharelock.example.toml).
    #[arg(long, value_name = "FILE", env = "SHARELOCK_CONFIG")]
    config: Option<PathBuf>,
}

pub fn run(args: ServeArgs) -> ExitCode {
    let overrides = Overrides {
        listen: args.listen,
        data_dir: args.data_dir,
        database_url: args.database_url,
        public_url: args.public_url,
        metrics_listen: args.metrics_listen,
    };
    let config = match load_config(args.config.as_deref(), overrides) {
        Ok(c) => c,
        Err(failure) => return failure.exit(),
    };
    init_logging(config.log_format);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("sharelock: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(sharelock_server::serve(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            eprintln!("sharelock: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("SHARELOCK_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Colours only on a terminal: a journal, a container's log or a file gets plain text.
    let colours = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(colours)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
}
