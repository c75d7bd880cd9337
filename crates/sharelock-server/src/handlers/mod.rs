//! Route handlers, one module per resource, and the helpers they share.

pub mod accounts;
pub mod admin;
pub mod events;
pub mod files;
pub mod health;
pub mod pages;
pub mod recipient;
pub mod records;
pub mod shares;
pub mod webhooks;

use sharelock_api::records::Author as ApiAuthor;
use sharelock_store::Author;
use time::OffsetDateTime;

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
