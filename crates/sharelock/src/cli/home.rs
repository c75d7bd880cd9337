//! The home directory (`--home`, `SHARELOCK_HOME`, or `<config dir>/sharelock`), readable by its owner only:
//!
//! | file | holds |
//! |---|---|
//! | `settings.json` | the server remembered after login |
//! | `session.json` | the session token **and the vault's data key**: while it exists the vault is unlocked on this machine, as in a logged-in password manager; `logout` deletes it. Also the account's KDF parameters, salt and wrapped data key, which `password` uses to check the current password here |
//! | `versions.json` | the highest version and key generation seen of each record, and the shares seen ended (anti-rollback; no secret) |
//! | `devices/<share>.p8` | one device key per opened share (PKCS#8); losing it loses the share |
//! | `devices/<share>.seen` | the newest version this device accepted through that share (anti-rollback; no secret) |

use super::{CliResult, Failure, Global};
use serde::{Deserialize, Serialize};
use sharelock_client::{
    FileDeviceStore, OwnerSession, VersionMemory, create_private_dir, normalize_base,
    write_private_file,
};
use std::path::{Path, PathBuf};

/// Everything a command needs from the environment.
pub struct Context {
    pub global: Global,
    pub home: PathBuf,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Settings {
    #[serde(default)]
    server: Option<String>,
}

fn read_optional(path: &Path) -> CliResult<Option<Vec<u8>>> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Failure::other(format!(
            "cannot read {}: {e}",
            path.display()
        ))),
    }
}

impl Context {
    pub fn new(global: Global) -> CliResult<Self> {
        let home = match &global.home {
            Some(dir) => dir.clone(),
            None => dirs::config_dir()
                .map(|d| d.join("sharelock"))
                .ok_or_else(|| {
                    Failure::usage("no home directory: give --home DIR or set SHARELOCK_HOME")
                })?,
        };
        Ok(Context { global, home })
    }

    pub fn json(&self) -> bool {
        self.global.json
    }

    /// Creates the home (0700), and makes an existing one private: it holds the data key and device keys.
    fn ensure_home(&self) -> CliResult<()> {
        create_private_dir(&self.home).map_err(Failure::from)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&self.home, std::fs::Permissions::from_mode(0o700)).map_err(
                |e| Failure::other(format!("cannot make {} private: {e}", self.home.display())),
            )?;
        }
        Ok(())
    }

    fn path(&self, name: &str) -> PathBuf {
        self.home.join(name)
    }

    /// The device keys of opened shares.
    pub fn devices(&self) -> FileDeviceStore {
        FileDeviceStore::new(self.path("devices"))
    }

    /// The server to talk to: `--server` / `SHARELOCK_SERVER`, else the one remembered at login.
    pub fn server(&self) -> CliResult<String> {
        if let Some(server) = &self.global.server {
            return normalize_base(server).map_err(|e| Failure::usage(e.to_string()));
        }
        let settings = self.settings()?;
        settings
            .server
            .ok_or_else(|| Failure::usage("no server: give --server URL or set SHARELOCK_SERVER"))
    }

    fn settings(&self) -> CliResult<Settings> {
        match read_optional(&self.path("settings.json"))? {
            Some(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                Failure::other(format!(
                    "{} is damaged: {e}",
                    self.path("settings.json").display()
                ))
            }),
            None => Ok(Settings::default()),
        }
    }

    /// Remembers the server for later commands.
    pub fn remember_server(&self, server: &str) -> CliResult<()> {
        self.ensure_home()?;
        let mut settings = self.settings()?;
        settings.server = Some(server.to_owned());
        let bytes =
            serde_json::to_vec_pretty(&settings).map_err(|e| Failure::other(e.to_string()))?;
        write_private_file(&self.path("settings.json"), &bytes, true).map_err(Failure::from)
    }

    /// Keeps the unlocked session (it holds the data key: the file is readable by its owner only).
    pub fn save_session(&self, session: &OwnerSession) -> CliResult<()> {
        self.ensure_home()?;
        let bytes = session.to_bytes()?;
        write_private_file(&self.path("session.json"), &bytes, true)?;
        self.save_versions(session)
    }

    /// The saved session with its anti-rollback memory, or an authentication failure if there is none.
    pub fn session(&self) -> CliResult<OwnerSession> {
        let bytes = read_optional(&self.path("session.json"))?.ok_or_else(|| {
            Failure::auth("not logged in: run `sharelock login --email EMAIL` first")
        })?;
        let bytes = zeroize::Zeroizing::new(bytes);
        let mut session = OwnerSession::from_bytes(&bytes)?;
        if let Some(server) = &self.global.server {
            let wanted = normalize_base(server).map_err(|e| Failure::usage(e.to_string()))?;
            if wanted != session.server() {
                return Err(Failure::usage(format!(
                    "logged in to {}, not {wanted}: log in to that server first",
                    session.server()
                )));
            }
        }
        if let Some(bytes) = read_optional(&self.path("versions.json"))? {
            session.set_versions(VersionMemory::from_bytes(&bytes)?);
        }
        Ok(session)
    }

    /// Saves what the session learnt about record versions (call after every owner command).
    pub fn save_versions(&self, session: &OwnerSession) -> CliResult<()> {
        if !session.versions().is_changed() {
            return Ok(());
        }
        self.ensure_home()?;
        let bytes = session.versions().to_bytes()?;
        write_private_file(&self.path("versions.json"), &bytes, true).map_err(Failure::from)
    }

    /// Deletes the saved session (the unlocked vault). Returns whether there was one.
    pub fn forget_session(&self) -> CliResult<bool> {
        let path = self.path("session.json");
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(Failure::other(format!(
                "cannot remove {}: {e}",
                path.display()
            ))),
        }
    }
}
