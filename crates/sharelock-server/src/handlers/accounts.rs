//! Accounts and sessions: pre-login, register, login, password change, logout.

use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, Owner};
use crate::ratelimit::PerAddressLimit;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use sharelock_api::B64;
use sharelock_api::ErrorCode;
use sharelock_api::account::{
    ChangePassword, KdfAlg, KdfParams, LoginRequest, LoginResponse, PreloginRequest,
    PreloginResponse, RegisterRequest, RegisterResponse,
};
use sharelock_core::account::{KdfParams as CoreKdf, normalize_email, verify_auth_key};
use sharelock_core::crypto::{hmac_sha256, random_array, sha256};
use sharelock_core::encoding::b64u;
use sharelock_store::{Attempt, NewAccount, NewCredentials, NewSession};
use time::OffsetDateTime;
use uuid::Uuid;

fn api_kdf(p: &sharelock_store::KdfParams) -> KdfParams {
    KdfParams {
        alg: KdfAlg::Argon2id,
        m: p.m,
        t: p.t,
        p: p.p,
    }
}

/// Emails are identifiers here, not mailboxes we write to: a sane length, one `@`, no spaces or controls.
fn checked_email(raw: &str) -> ApiResult<String> {
    let email = normalize_email(raw);
    let ok = (3..=254).contains(&email.len())
        && email.matches('@').count() == 1
        && !email.starts_with('@')
        && !email.ends_with('@')
        && !email.chars().any(|c| c.is_whitespace() || c.is_control());
    if ok {
        Ok(email)
    } else {
        Err(ApiError::malformed("email is not a valid address"))
    }
}

#[utoipa::path(post, path = "/api/v1/accounts/prelogin", tag = "accounts",
    request_body = PreloginRequest,
    responses((status = 200, body = PreloginResponse), (status = 429, body = sharelock_api::ErrorBody)))]
pub async fn prelogin(
    State(state): State<AppState>,
    _limit: PerAddressLimit,
    ApiJson(req): ApiJson<PreloginRequest>,
) -> ApiResult<Json<PreloginResponse>> {
    let email = checked_email(&req.email)?;
    let response = match state.store.account_by_email(&email).await? {
        Some(account) => PreloginResponse {
            kdf: api_kdf(&account.kdf),
            kdf_salt: account.kdf_salt.into(),
        },
        None => {
            // Stable made-up values, so the answer does not tell whether the account exists.
            let salt = hmac_sha256(
                &state.prelogin_secret,
                &[b"sharelock/v1/fake-salt", email.as_bytes()],
            );
            let d = CoreKdf::DEFAULT;
            PreloginResponse {
                kdf: KdfParams {
                    alg: KdfAlg::Argon2id,
                    m: d.m,
                    t: d.t,
                    p: d.p,
                },
                kdf_salt: salt[..16].to_vec().into(),
            }
        }
    };
    Ok(Json(response))
}

/// What registration and a password change both send: KDF parameters within the client bounds of
/// docs/protocol.md §2.1 (a server must not store what an honest client refuses), r16, AK and the
/// wrapped data key. Only `H(AK)` is kept.
fn checked_credentials(
    kdf: &KdfParams,
    kdf_salt: &B64,
    auth_key: &B64,
    wrapped_data_key: &B64,
) -> ApiResult<NewCredentials> {
    let kdf = CoreKdf {
        m: kdf.m,
        t: kdf.t,
        p: kdf.p,
    };
    kdf.check_for_client()
        .map_err(|e| ApiError::malformed(e.to_string()))?;
    let kdf_salt = kdf_salt
        .to_array::<16>()
        .ok_or_else(|| ApiError::malformed("kdf_salt must be 16 bytes"))?;
    let auth_key = auth_key
        .to_array::<32>()
        .ok_or_else(|| ApiError::malformed("auth_key must be 32 bytes"))?;
    if wrapped_data_key.len() != 60 {
        return Err(ApiError::malformed(
            "wrapped_data_key must be a 60-byte sealed key",
        ));
    }
    Ok(NewCredentials {
        kdf: sharelock_store::KdfParams {
            m: kdf.m,
            t: kdf.t,
            p: kdf.p,
        },
        kdf_salt: kdf_salt.to_vec(),
        auth_hash: sha256(&auth_key),
        wrapped_data_key: wrapped_data_key.as_slice().to_vec(),
    })
}

#[utoipa::path(post, path = "/api/v1/accounts", tag = "accounts",
    request_body = RegisterRequest,
    responses((status = 201, body = RegisterResponse),
              (status = 403, body = sharelock_api::ErrorBody, description = "signups_closed, invite_required, invalid_invite or email_domain_not_allowed"),
              (status = 409, body = sharelock_api::ErrorBody)))]
pub async fn register(
    State(state): State<AppState>,
    _limit: PerAddressLimit,
    ApiJson(req): ApiJson<RegisterRequest>,
) -> ApiResult<(StatusCode, Json<RegisterResponse>)> {
    if !state.config.signups {
        return Err(ApiError::new(
            ErrorCode::SignupsClosed,
            "sign-ups are closed on this server",
        ));
    }
    let email = checked_email(&req.email)?;
    if !state.config.email_domain_allowed(&email) {
        return Err(ApiError::new(
            ErrorCode::EmailDomainNotAllowed,
            "sign-ups on this server are limited to some email domains, and this email is at another",
        ));
    }
    let credentials = checked_credentials(
        &req.kdf,
        &req.kdf_salt,
        &req.auth_key,
        &req.wrapped_data_key,
    )?;
    let id = Uuid::new_v4();
    let now = state.now();
    let account = NewAccount {
        id,
        email,
        kdf: credentials.kdf,
        kdf_salt: credentials.kdf_salt,
        auth_hash: credentials.auth_hash,
        wrapped_data_key: credentials.wrapped_data_key,
        created_at: now,
    };
    let created = if state.config.invite_only {
        let code = req.invite.as_deref().ok_or_else(|| {
            ApiError::new(
                ErrorCode::InviteRequired,
                "sign-ups on this server need an invitation code",
            )
        })?;
        let (invite, code_hash) = checked_invite(&state, code, now).await?;
        match state
            .store
            .create_account_invited(account, invite, &code_hash)
            .await
        {
            Err(sharelock_store::StoreError::NotFound) => return Err(invalid_invite()),
            other => other,
        }
    } else {
        state.store.create_account(account).await
    };
    match created {
        Ok(()) => Ok((
            StatusCode::CREATED,
            Json(RegisterResponse { account_id: id }),
        )),
        Err(sharelock_store::StoreError::AlreadyExists) => Err(ApiError::new(
            ErrorCode::EmailTaken,
            "an account with this email already exists",
        )),
        Err(e) => Err(e.into()),
    }
}

fn invalid_invite() -> ApiError {
    ApiError::new(
        ErrorCode::InvalidInvite,
        "the invitation code is not valid: it is wrong, used, revoked or expired",
    )
}

/// The invitation a code names, if the code is its own (compared in constant time) and it is unused at
/// `now`. The store then uses it up in the account's transaction, which orders racing uses.
async fn checked_invite(state: &AppState, code: &str, now: i64) -> ApiResult<(Uuid, [u8; 32])> {
    let (id, code_hash) = crate::admin::parse_invite_code(code).ok_or_else(invalid_invite)?;
    let invite = state.store.invite(id).await?.ok_or_else(invalid_invite)?;
    if !crate::admin::invite_matches(&invite, &code_hash, now) {
        return Err(invalid_invite());
    }
    Ok((id, code_hash))
}

/// What login attempts are counted under: a keyed hash of the normalised email, the same for an email
/// with an account and one without, so both are slowed alike and the table holds no address anyone typed.
fn login_key(state: &AppState, email: &str) -> [u8; 32] {
    hmac_sha256(
        &state.prelogin_secret,
        &[b"sharelock/v1/login-attempts", email.as_bytes()],
    )
}

/// The login backoff, then the password proof in constant time (docs/protocol.md §7.1). The attempt is
/// counted and allowed (or refused with 429) by one conditional update before the proof is looked at, so
/// of any number of attempts sent together only the free ones are judged; a right proof clears the count.
/// `expected` is `None` for an unknown email, which takes the same steps (the durable count, one hash and
/// a constant-time comparison) and is always wrong. Login and password change share it, so neither route
/// lets anyone guess faster than the other.
async fn check_proof(
    state: &AppState,
    key: &[u8; 32],
    expected: Option<&[u8; 32]>,
    proof: &[u8; 32],
    now: i64,
    denied: ApiError,
) -> ApiResult<()> {
    if let Attempt::Wait { retry_after } = state.store.reserve_login_attempt(key, now).await? {
        return Err(ApiError::too_many(retry_after.max(1) as u64));
    }
    // `&`, not `&&`: the comparison runs whether or not the account exists.
    let right = verify_auth_key(proof, expected.unwrap_or(&NO_ACCOUNT)) & expected.is_some();
    if !right {
        return Err(denied);
    }
    state.store.clear_login_attempts(key).await?;
    Ok(())
}

/// Compared against when the email has no account; no proof is accepted for it whatever it hashes to.
const NO_ACCOUNT: [u8; 32] = [0; 32];

#[utoipa::path(post, path = "/api/v1/sessions", tag = "accounts",
    request_body = LoginRequest,
    responses((status = 200, body = LoginResponse), (status = 401, body = sharelock_api::ErrorBody),
              (status = 403, body = sharelock_api::ErrorBody, description = "account_disabled (only for the right password)"),
              (status = 429, body = sharelock_api::ErrorBody)))]
pub async fn login(
    State(state): State<AppState>,
    _limit: PerAddressLimit,
    ApiJson(req): ApiJson<LoginRequest>,
) -> ApiResult<Json<LoginResponse>> {
    let email = checked_email(&req.email)?;
    let auth_key = req
        .auth_key
        .to_array::<32>()
        .ok_or_else(|| ApiError::malformed("auth_key must be 32 bytes"))?;
    let now = state.now();
    let denied = || ApiError::new(ErrorCode::InvalidCredentials, "wrong email or password");
    let account = state.store.account_by_email(&email).await?;
    let expected = account.as_ref().map(|a| &a.auth_hash);
    let key = login_key(&state, &email);
    check_proof(&state, &key, expected, &auth_key, now, denied()).await?;
    let Some(account) = account else {
        return Err(denied());
    };
    // Said only to whoever knows the password.
    let disabled = || {
        ApiError::new(
            ErrorCode::AccountDisabled,
            "this account is disabled on this server; ask its operator",
        )
    };
    if account.disabled_at.is_some() {
        return Err(disabled());
    }
    let token = b64u(&random_array::<32>().map_err(|_| ApiError::internal())?);
    let expires_at = now + state.config.session_ttl.as_secs() as i64;
    // The store refuses the session too if the account was disabled since it was read.
    match state
        .store
        .create_session(NewSession {
            token_hash: sha256(token.as_bytes()),
            account_id: account.id,
            created_at: now,
            expires_at,
        })
        .await
    {
        Ok(()) => {}
        Err(sharelock_store::StoreError::AccountDisabled) => return Err(disabled()),
        Err(e) => return Err(e.into()),
    }
    Ok(Json(LoginResponse {
        token,
        expires_at: OffsetDateTime::from_unix_timestamp(expires_at)
            .map_err(|_| ApiError::internal())?,
        account_id: account.id,
        kdf: api_kdf(&account.kdf),
        kdf_salt: account.kdf_salt.into(),
        wrapped_data_key: account.wrapped_data_key.into(),
    }))
}

/// A new master password. The session is not enough: the caller proves the current password too, and a
/// wrong proof counts against the account's login backoff exactly like a failed login, so a stolen
/// session cannot be used to guess it faster than the login route allows.
#[utoipa::path(post, path = "/api/v1/accounts/password", tag = "accounts",
    request_body = ChangePassword,
    responses((status = 204, description = "changed; every session of the account has ended, this one included"),
              (status = 400, body = sharelock_api::ErrorBody), (status = 401, body = sharelock_api::ErrorBody),
              (status = 429, body = sharelock_api::ErrorBody)),
    security(("bearer" = [])))]
pub async fn change_password(
    State(state): State<AppState>,
    owner: Owner,
    ApiJson(req): ApiJson<ChangePassword>,
) -> ApiResult<StatusCode> {
    let current = req
        .current_auth_key
        .to_array::<32>()
        .ok_or_else(|| ApiError::malformed("current_auth_key must be 32 bytes"))?;
    let credentials = checked_credentials(
        &req.kdf,
        &req.kdf_salt,
        &req.auth_key,
        &req.wrapped_data_key,
    )?;
    let now = state.now();
    let account = state
        .store
        .account_by_id(owner.account_id)
        .await?
        .ok_or_else(ApiError::unauthorized)?;
    let denied = || {
        ApiError::new(
            ErrorCode::InvalidCredentials,
            "the current master password is wrong",
        )
    };
    let key = login_key(&state, &account.email);
    check_proof(
        &state,
        &key,
        Some(&account.auth_hash),
        &current,
        now,
        denied(),
    )
    .await?;
    // A fresh salt (§2.1): guesses precomputed against the old salt must not apply to the new password.
    if credentials.kdf_salt == account.kdf_salt {
        return Err(ApiError::malformed(
            "kdf_salt must be new random bytes, not the current salt",
        ));
    }
    // Guarded by the hash just checked: of two racing changes, the second finds another hash and loses.
    if !state
        .store
        .change_credentials(account.id, &account.auth_hash, credentials)
        .await?
    {
        return Err(denied());
    }
    // Open event streams of the ended sessions wake, see their session gone and end.
    state.sessions_ended(account.id);
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(delete, path = "/api/v1/sessions/current", tag = "accounts",
    responses((status = 204), (status = 401, body = sharelock_api::ErrorBody)),
    security(("bearer" = [])))]
pub async fn logout(State(state): State<AppState>, owner: Owner) -> ApiResult<StatusCode> {
    state.store.delete_session(&owner.token_hash).await?;
    // Wakes the session's event stream, which then sees it gone and ends.
    state.sessions_ended(owner.account_id);
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(delete, path = "/api/v1/sessions", tag = "accounts",
    responses((status = 204), (status = 401, body = sharelock_api::ErrorBody)),
    security(("bearer" = [])))]
pub async fn logout_everywhere(
    State(state): State<AppState>,
    owner: Owner,
) -> ApiResult<StatusCode> {
    state.store.delete_sessions(owner.account_id).await?;
    state.sessions_ended(owner.account_id);
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_checks() {
        assert_eq!(
            checked_email("Ada@Example.org").ok().as_deref(),
            Some("ada@example.org")
        );
        assert!(checked_email("no-at-sign").is_err());
        assert!(checked_email("a b@c").is_err());
        assert!(checked_email("@x").is_err());
    }
}
