//! Route handlers, one module per resource, and the helpers they share.

pub mod accounts;
pub mod events;
pub mod files;
pub mod health;
pub mod pages;
pub mod recipient;
pub mod records;
pub mod shares;

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use sharelock_api::records::Author as ApiAuthor;
use sharelock_store::Author;
use std::net::IpAddr;
use time::OffsetDateTime;

/// Applies the per-address limit of unauthenticated endpoints.
pub fn rate_limit(state: &AppState, addr: IpAddr) -> ApiResult<()> {
    state.limiter.check(addr).map_err(ApiError::too_many)
}

/// Unix seconds to a wire time.
pub fn to_time(unix: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(unix).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

pub fn api_author(author: Author) -> ApiAuthor {
    match author {
        Author::Owner => ApiAuthor::Owner,
        Author::Share(share) => ApiAuthor::Share { share },
    }
}
