//! The OpenAPI document, generated from the handlers' annotations and the wire types, served at
//! `/api/v1/openapi.json`.

use crate::handlers::{accounts, events, files, health, recipient, records, shares};
use axum::Json;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Sharelock API",
        description = "Zero-knowledge, device-locked one-time shares. Every byte field is ciphertext or a hash; \
                       docs/protocol.md specifies what each holds. Errors are {\"error\":{\"code\",\"message\"}} \
                       with a stable code.",
    ),
    paths(
        accounts::prelogin, accounts::register, accounts::change_password, accounts::login, accounts::logout,
        accounts::logout_everywhere,
        records::list, records::create, records::get, records::update, records::rotate, records::delete,
        records::history,
        shares::create, shares::list, shares::get, shares::delete,
        recipient::status, recipient::bind, recipient::fetch, recipient::edit, recipient::end,
        files::owner_put_part, files::owner_complete, files::owner_get,
        files::recipient_put_part, files::recipient_complete, files::recipient_get,
        events::stream, events::recipient_stream, health::policy,
    ),
    components(schemas(sharelock_api::ErrorBody, sharelock_api::ErrorDetail)),
    modifiers(&BearerAuth),
    tags(
        (name = "accounts", description = "Registration, login, password change and sessions"),
        (name = "records", description = "The owner's encrypted vault"),
        (name = "shares", description = "The owner's one-time shares"),
        (name = "recipient", description = "The link holder: status, bind, fetch, edit, end (signed, RFC 9421)"),
        (name = "files", description = "Encrypted file streams in parts"),
        (name = "events", description = "Live events for the owner (server-sent events)"),
        (name = "server", description = "Server policy"),
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// `GET /api/v1/openapi.json`
pub async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
