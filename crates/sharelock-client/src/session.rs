//! The owner's account: register, log in, the unlocked session, change the master password, log out
//! (docs/protocol.md §2, §7.1).
//!
//! An [`OwnerSession`] holds the session token **and the vault's data key DK**: whoever holds it can read
//! every record. Saved with [`OwnerSession::to_bytes`] it is the unlocked vault, like a logged-in password
//! manager; the CLI keeps it in a file readable by its owner only and deletes it at logout.

use crate::error::{ClientError, Result};
use crate::http::Transport;
use crate::versions::VersionMemory;
use reqwest::{Method, RequestBuilder};
use serde::{Deserialize, Serialize};
use sharelock_api::account::{
    ChangePassword, KdfAlg, KdfParams as ApiKdf, LoginRequest, LoginResponse, PreloginRequest,
    PreloginResponse, RegisterRequest, RegisterResponse,
};
use sharelock_core::account::{
    AuthKey, DataKey, KdfParams, MasterKey, OwnerKey, WrapKey, check_new_master_password,
    normalize_email, normalize_secret_text,
};
use sharelock_core::crypto::{ct_eq, random_array};
use sharelock_core::encoding::{b64u, b64u_decode, b64u_decode_array};
use time::OffsetDateTime;
use uuid::Uuid;
use zeroize::Zeroizing;

/// A logged-in owner: the server, the bearer token and the unlocked data key.
pub struct OwnerSession {
    pub(crate) api: Transport,
    token: Zeroizing<String>,
    account_id: Uuid,
    email: String,
    expires_at: OffsetDateTime,
    pub(crate) dk: DataKey,
    pub(crate) k_own: OwnerKey,
    pub(crate) versions: VersionMemory,
    /// How the password opens the vault, as of this session's login; `None` in a session saved by an
    /// older version. It cannot go stale while the session lives: a password change ends every session.
    unlock: Option<Unlock>,
}

/// The account's KDF parameters, r16 and wrapped data key: what checking the current password needs.
#[derive(Clone)]
struct Unlock {
    kdf: KdfParams,
    r16: [u8; 16],
    wrapped_data_key: Vec<u8>,
}

impl std::fmt::Debug for OwnerSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OwnerSession")
            .field("server", &self.api.base())
            .field("account_id", &self.account_id)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// The saved form. `data_key` is the vault's key in b64u: the file is as sensitive as the vault.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Saved {
    format: u32,
    server: String,
    email: String,
    account_id: Uuid,
    token: String,
    #[serde(with = "time::serde::rfc3339")]
    expires_at: OffsetDateTime,
    data_key: String,
    /// Absent in sessions saved before password changes existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    unlock: Option<SavedUnlock>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SavedUnlock {
    kdf: ApiKdf,
    kdf_salt: String,
    wrapped_data_key: String,
}

impl Drop for Saved {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.token);
        zeroize::Zeroize::zeroize(&mut self.data_key);
    }
}

fn api_kdf(p: &KdfParams) -> ApiKdf {
    ApiKdf {
        alg: KdfAlg::Argon2id,
        m: p.m,
        t: p.t,
        p: p.p,
    }
}

fn core_kdf(p: &ApiKdf) -> KdfParams {
    KdfParams {
        m: p.m,
        t: p.t,
        p: p.p,
    }
}

/// The parameters for a new password: the account's current ones, raised to the default where they are
/// lower, so a password change never weakens the derivation (an account may use more than the default).
fn raised(current: &KdfParams) -> KdfParams {
    let d = KdfParams::DEFAULT;
    KdfParams {
        m: current.m.max(d.m),
        t: current.t.max(d.t),
        p: current.p.max(d.p),
    }
}

/// Runs Argon2id off the async threads (about 0.2 s and 64 MiB by default) and splits MK into AK and WK.
async fn derive_keys(
    password: &str,
    email: &str,
    r16: [u8; 16],
    params: KdfParams,
) -> Result<(AuthKey, WrapKey)> {
    let password = Zeroizing::new(password.to_owned());
    let email = email.to_owned();
    tokio::task::spawn_blocking(move || {
        let mk = MasterKey::derive(&password, &email, &r16, &params)?;
        Ok((mk.auth_key(), mk.wrap_key()))
    })
    .await
    .map_err(|e| ClientError::State(format!("the key derivation task failed: {e}")))?
}

/// Creates an account on `server` and logs in to it. Costs one Argon2id run.
pub async fn register(server: &str, email: &str, password: &str) -> Result<OwnerSession> {
    register_invited(server, email, password, None).await
}

/// [`register`] with a one-time invitation code, which a server whose policy says `invite_required`
/// needs (`invite_required` without one, `invalid_invite` for a wrong, used or expired one).
pub async fn register_invited(
    server: &str,
    email: &str,
    password: &str,
    invite: Option<&str>,
) -> Result<OwnerSession> {
    check_new_master_password(password).map_err(|e| ClientError::Invalid(e.to_string()))?;
    let api = Transport::new(server)?;
    let params = KdfParams::DEFAULT;
    let r16: [u8; 16] = random_array()?;
    let (ak, wk) = derive_keys(password, email, r16, params).await?;
    let dk = DataKey::generate()?;
    let wrapped = wk.wrap_data_key(&dk, &r16)?;
    let request = RegisterRequest {
        email: email.to_owned(),
        kdf: api_kdf(&params),
        kdf_salt: r16.to_vec().into(),
        auth_key: ak.expose().to_vec().into(),
        wrapped_data_key: wrapped.into(),
        invite: invite.map(str::to_owned),
    };
    let _: RegisterResponse = api.post_json(Method::POST, "/accounts", &request).await?;
    open_session(api, email, &ak, &wk, &r16, params).await
}

/// Logs in: pre-login (salt and parameters, refused if weaker than the protocol allows), Argon2id, the
/// login proof AK, then the data key unwrapped with WK. Costs one Argon2id run.
pub async fn login(server: &str, email: &str, password: &str) -> Result<OwnerSession> {
    let api = Transport::new(server)?;
    let pre: PreloginResponse = api
        .post_json(
            Method::POST,
            "/accounts/prelogin",
            &PreloginRequest {
                email: email.to_owned(),
            },
        )
        .await?;
    let params = core_kdf(&pre.kdf);
    params.check_for_client()?;
    let r16 = pre
        .kdf_salt
        .to_array::<16>()
        .ok_or_else(|| ClientError::Unexpected("the account's salt is not 16 bytes".into()))?;
    let (ak, wk) = derive_keys(password, email, r16, params).await?;
    open_session(api, email, &ak, &wk, &r16, params).await
}

async fn open_session(
    api: Transport,
    email: &str,
    ak: &AuthKey,
    wk: &WrapKey,
    r16: &[u8; 16],
    params: KdfParams,
) -> Result<OwnerSession> {
    let request = LoginRequest {
        email: email.to_owned(),
        auth_key: ak.expose().to_vec().into(),
    };
    let response: LoginResponse = api.post_json(Method::POST, "/sessions", &request).await?;
    if response.kdf_salt.as_slice() != r16 {
        return Err(ClientError::Unexpected(
            "the server changed the account's salt during login".into(),
        ));
    }
    let dk = wk
        .unwrap_data_key(response.wrapped_data_key.as_slice(), r16)
        .map_err(|_| {
            ClientError::Unexpected(
                "the account's data key does not open with this password".into(),
            )
        })?;
    Ok(OwnerSession {
        api,
        token: Zeroizing::new(response.token),
        account_id: response.account_id,
        email: normalize_email(email),
        expires_at: response.expires_at,
        k_own: dk.owner_key(),
        dk,
        versions: VersionMemory::new(),
        unlock: Some(Unlock {
            kdf: params,
            r16: *r16,
            wrapped_data_key: response.wrapped_data_key.into_vec(),
        }),
    })
}

impl OwnerSession {
    /// What the server allows (`GET /policy`, unauthenticated).
    pub async fn policy(&self) -> Result<sharelock_api::policy::Policy> {
        self.api
            .json(self.api.request(Method::GET, "/policy"))
            .await
    }

    /// The server's base URL.
    pub fn server(&self) -> &str {
        self.api.base()
    }

    /// The account's email (normalised).
    pub fn email(&self) -> &str {
        &self.email
    }

    /// The account id.
    pub fn account_id(&self) -> Uuid {
        self.account_id
    }

    /// When the server's session ends.
    pub fn expires_at(&self) -> OffsetDateTime {
        self.expires_at
    }

    /// The server's time as best known (for one-time codes).
    pub fn server_now(&self) -> i64 {
        self.api.server_now()
    }

    /// The anti-rollback memory in use.
    pub fn versions(&self) -> &VersionMemory {
        &self.versions
    }

    /// Replaces the anti-rollback memory (load it from where it was saved before using the session).
    pub fn set_versions(&mut self, versions: VersionMemory) {
        self.versions = versions;
    }

    /// An authenticated request to an owner endpoint.
    pub(crate) fn authed(&self, method: Method, path: &str) -> RequestBuilder {
        self.api
            .request(method, path)
            .bearer_auth(self.token.as_str())
    }

    pub(crate) fn token(&self) -> &str {
        &self.token
    }

    /// The session as bytes, **including the data key**: store them where only the owner can read.
    pub fn to_bytes(&self) -> Result<Zeroizing<Vec<u8>>> {
        let saved = Saved {
            format: 1,
            server: self.api.base().to_owned(),
            email: self.email.clone(),
            account_id: self.account_id,
            token: self.token.to_string(),
            expires_at: self.expires_at,
            data_key: b64u(self.dk.expose()),
            unlock: self.unlock.as_ref().map(|u| SavedUnlock {
                kdf: api_kdf(&u.kdf),
                kdf_salt: b64u(&u.r16),
                wrapped_data_key: b64u(&u.wrapped_data_key),
            }),
        };
        serde_json::to_vec_pretty(&saved)
            .map(Zeroizing::new)
            .map_err(|e| ClientError::State(format!("cannot encode the session: {e}")))
    }

    /// Restores a session saved with [`OwnerSession::to_bytes`]. The anti-rollback memory starts empty;
    /// set the saved one with [`OwnerSession::set_versions`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let damaged =
            |why: String| ClientError::State(format!("the saved session is damaged: {why}"));
        let mut saved: Saved = serde_json::from_slice(bytes).map_err(|e| damaged(e.to_string()))?;
        if saved.format != 1 {
            return Err(damaged(format!("unknown format {}", saved.format)));
        }
        let mut dk_bytes = Zeroizing::new(
            b64u_decode_array::<32>("data key", &saved.data_key)
                .map_err(|e| damaged(e.to_string()))?,
        );
        let dk = DataKey::from_bytes(*dk_bytes);
        zeroize::Zeroize::zeroize(&mut *dk_bytes);
        let unlock = match &saved.unlock {
            Some(u) => Some(Unlock {
                kdf: core_kdf(&u.kdf),
                r16: b64u_decode_array::<16>("kdf salt", &u.kdf_salt)
                    .map_err(|e| damaged(e.to_string()))?,
                wrapped_data_key: b64u_decode("wrapped data key", &u.wrapped_data_key)
                    .map_err(|e| damaged(e.to_string()))?,
            }),
            None => None,
        };
        Ok(OwnerSession {
            api: Transport::new(&saved.server)?,
            token: Zeroizing::new(std::mem::take(&mut saved.token)),
            account_id: saved.account_id,
            email: std::mem::take(&mut saved.email),
            expires_at: saved.expires_at,
            k_own: dk.owner_key(),
            dk,
            versions: VersionMemory::new(),
            unlock,
        })
    }

    /// Changes the master password (docs/protocol.md §7.1) and logs in with the new one; returns the new
    /// session, with this one's anti-rollback memory. Costs two Argon2id runs.
    ///
    /// The current password is checked here first, by opening the account's wrapped data key with it, so
    /// a mistyped one never reaches the server (where it would count as a failed login). Then a new r16,
    /// MK, AK and WK, the same DK rewrapped, and the request, which proves the current AK. The server ends
    /// every session of the account, this one included. [`ClientError::WrongPassword`]: nothing was sent;
    /// [`ClientError::LoginAfterChange`]: the password was changed but the new session could not be opened.
    pub async fn change_password(
        self,
        current_password: &str,
        new_password: &str,
    ) -> Result<OwnerSession> {
        if new_password.is_empty() {
            return Err(ClientError::Invalid(
                "the new password must not be empty".into(),
            ));
        }
        if *normalize_secret_text(new_password) == *normalize_secret_text(current_password) {
            return Err(ClientError::Invalid(
                "the new password is the same as the current one".into(),
            ));
        }
        let unlock = self.unlock.clone().ok_or_else(|| {
            ClientError::State(
                "this session was saved by an older version: log in again, then change the password"
                    .into(),
            )
        })?;
        let (current_ak, current_wk) =
            derive_keys(current_password, &self.email, unlock.r16, unlock.kdf).await?;
        let opened = current_wk
            .unwrap_data_key(&unlock.wrapped_data_key, &unlock.r16)
            .map_err(|_| ClientError::WrongPassword)?;
        if !ct_eq(opened.expose(), self.dk.expose()) {
            return Err(ClientError::Unexpected(
                "the account's data key is not the one this session holds".into(),
            ));
        }

        let params = raised(&unlock.kdf);
        let r16: [u8; 16] = random_array()?;
        let (ak, wk) = derive_keys(new_password, &self.email, r16, params).await?;
        let request = ChangePassword {
            current_auth_key: current_ak.expose().to_vec().into(),
            kdf: api_kdf(&params),
            kdf_salt: r16.to_vec().into(),
            auth_key: ak.expose().to_vec().into(),
            wrapped_data_key: wk.wrap_data_key(&self.dk, &r16)?.into(),
        };
        self.api
            .send(
                self.authed(Method::POST, "/accounts/password")
                    .json(&request),
            )
            .await?;

        let api = self.api.clone();
        let mut session = open_session(api, &self.email, &ak, &wk, &r16, params)
            .await
            .map_err(|e| ClientError::LoginAfterChange(Box::new(e)))?;
        session.versions = self.versions;
        Ok(session)
    }

    /// Ends this session on the server.
    pub async fn logout(self) -> Result<()> {
        self.api
            .send(self.authed(Method::DELETE, "/sessions/current"))
            .await?;
        Ok(())
    }
}
