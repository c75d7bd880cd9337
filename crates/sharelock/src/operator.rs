//! What the operator's commands (`serve`, `admin`, `migrate`, `backup`, `restore`) share: their exit
//! codes, loading the server's configuration, and saying a failure in one line.

use sharelock_server::config::{Config, Overrides, SecretGivenTwice};
use std::path::Path;
use std::process::ExitCode;

/// Exit codes of the operator's commands besides 0 (done). Each command documents which it uses; a
/// code means the same in all of them, so scripts can rely on it.
pub mod exit {
    /// Failed while running (for `migrate`, `backup` and `restore`: part-way, and undone).
    pub const FAILED: u8 = 1;
    /// The command line or the configuration is not usable (a bad value, an unreadable file, a source
    /// that is not a deployment).
    pub const USAGE: u8 = 2;
    /// `migrate`, `restore`, `backup`: the target already holds data.
    pub const TARGET_NOT_EMPTY: u8 = 7;
    /// A secret is given both as `SHARELOCK_<NAME>` and as `SHARELOCK_<NAME>_FILE`.
    pub const SECRET_GIVEN_TWICE: u8 = 8;
    /// `restore`: the backup fails a check (database damaged, a blob missing or cut short).
    pub const DAMAGED: u8 = 10;
    /// `restore`: the backup was made by a newer Sharelock.
    pub const NEWER: u8 = 11;
}

/// An operator command's failure: what to say, and the exit code.
#[derive(Debug)]
pub struct Failure {
    pub code: u8,
    pub message: String,
}

impl Failure {
    pub fn new(code: u8, message: impl Into<String>) -> Self {
        Failure {
            code,
            message: message.into(),
        }
    }

    pub fn usage(message: impl Into<String>) -> Self {
        Self::new(exit::USAGE, message)
    }

    pub fn failed(message: impl Into<String>) -> Self {
        Self::new(exit::FAILED, message)
    }

    /// Says the failure on stderr as one line and gives the exit code.
    pub fn exit(&self) -> ExitCode {
        eprintln!("sharelock: {}", one_line(&self.message));
        ExitCode::from(self.code)
    }
}

/// The server's configuration, from its file, `SHARELOCK_*` variables and the command line's overrides.
pub fn load_config(file: Option<&Path>, overrides: Overrides) -> Result<Config, Failure> {
    Config::load(file, overrides).map_err(|e| {
        let code = if e.downcast_ref::<SecretGivenTwice>().is_some() {
            exit::SECRET_GIVEN_TWICE
        } else {
            exit::USAGE
        };
        Failure::new(code, format!("{e:#}"))
    })
}

/// A message as one line: control characters (a newline in an error from below, say) become spaces.
pub fn one_line(message: &str) -> String {
    message
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_is_said_on_one_line() {
        assert_eq!(one_line("a\nb\tc\u{7}"), "a b c ");
    }
}
