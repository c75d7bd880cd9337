//! `sharelock`: one binary for the server (`sharelock serve`) and for senders and recipients.
#![forbid(unsafe_code)]

mod backup;
mod cli;
mod migrate;
mod operator;
mod serve;

use std::process::ExitCode;

fn main() -> ExitCode {
    cli::main()
}
