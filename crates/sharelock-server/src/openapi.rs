//! The OpenAPI document, generated from the handlers' annotations and the wire types, served at
//! `/api/v1/openapi.json`.

use crate::handlers::{
    accounts, admin, events, files, health, recipient, records, shares, webhooks,
};
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
        webhooks::create, webhooks::list, webhooks::delete, webhooks::ping, webhooks::deliveries,
        admin::accounts, admin::disable, admin::enable, admin::delete, admin::invites, admin::create_invite,
        admin::revoke_invite, admin::config,
    ),
    components(schemas(
        sharelock_api::ErrorBody, sharelock_api::ErrorDetail,
        // The data of each `GET /events` server-sent event (a stream has no JSON body to attach them to).
        sharelock_api::events::Event, sharelock_api::events::EventKind,
        // The body of every webhook delivery (sent by the server, not answered by it).
        sharelock_api::webhooks::WebhookPayload,
    )),
    modifiers(&BearerAuth, &CommonErrors, &ErrorCodes, &OperationIds),
    tags(
        (name = "accounts", description = "Registration, login, password change and sessions"),
        (name = "records", description = "The owner's encrypted vault"),
        (name = "shares", description = "The owner's one-time shares"),
        (name = "recipient", description = "The link holder: status, bind, fetch, edit, end (signed, RFC 9421)"),
        (name = "files", description = "Encrypted file streams in parts"),
        (name = "events", description = "Live events for the owner (server-sent events)"),
        (name = "webhooks", description = "Signed webhooks: endpoints and their deliveries (docs/protocol.md §9.9)"),
        (name = "server", description = "Server policy"),
        (name = "admin", description = "The operator's API (admin token; off unless one is configured)"),
    )
)]
pub struct ApiDoc;

struct BearerAuth;

/// Operation ids unique across the document (`<tag>_<handler>`, e.g. `shares_delete`): the handlers of
/// different resources share names, and generators (the web app's openapi-typescript) key operations by id.
struct OperationIds;

impl Modify for OperationIds {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for item in openapi.paths.paths.values_mut() {
            for op in [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ]
            .into_iter()
            .flatten()
            {
                let tag = op
                    .tags
                    .as_ref()
                    .and_then(|t| t.first())
                    .cloned()
                    .unwrap_or_default();
                if let Some(id) = &op.operation_id
                    && !tag.is_empty()
                    && !id.starts_with(&format!("{tag}_"))
                {
                    op.operation_id = Some(format!("{tag}_{id}"));
                }
            }
        }
    }
}

/// The error codes as a schema of their own (`ErrorCode`, a string enum of every code), which
/// `ErrorDetail.code` names: clients generate their list of codes from it (the web app's
/// `src/client/api.gen.ts`).
struct ErrorCodes;

impl Modify for ErrorCodes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use sharelock_api::ErrorCode;
        use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
        use utoipa::openapi::{Ref, RefOr};
        let components = openapi.components.get_or_insert_with(Default::default);
        let codes = ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some(
                "A stable error code; each is always sent with the same HTTP status (docs/protocol.md §10).",
            ))
            .enum_values(Some(ErrorCode::ALL.iter().map(|c| c.as_str())))
            .build();
        components
            .schemas
            .insert("ErrorCode".to_string(), RefOr::T(Schema::Object(codes)));
        if let Some(RefOr::T(Schema::Object(detail))) = components.schemas.get_mut("ErrorDetail") {
            detail.properties.insert(
                "code".to_string(),
                RefOr::Ref(Ref::from_schema_name("ErrorCode")),
            );
        }
    }
}

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        // The admin token, configured on the server (`admin_token`), in the same header.
        components.add_security_scheme(
            "admin",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("The server's admin token (admin_token)"))
                    .build(),
            ),
        );
    }
}

/// The refusals any operation of a kind can get, added where its own annotation does not list them, so the
/// document names every status the server sends (checked by the API fuzzing run, scripts/api-fuzz):
/// 400 for a malformed path, header or body; 401 for a missing or bad session or signature; 404 for an id in
/// the path that names nothing of the caller's; 408, 413 and 503
/// for a body sent too slowly, too large, or while the server is at its upload bounds; 429 for the
/// per-address limit of the unauthenticated routes.
struct CommonErrors;

/// Routes behind the per-address limit (`PerAddressLimit`).
const PER_ADDRESS_LIMITED: &[&str] = &[
    "/api/v1/accounts/prelogin",
    "/api/v1/accounts",
    "/api/v1/sessions",
    "/api/v1/recipient/status",
    "/api/v1/recipient/bind",
    "/api/v1/admin/accounts",
    "/api/v1/admin/accounts/disable",
    "/api/v1/admin/accounts/enable",
    "/api/v1/admin/accounts/delete",
    "/api/v1/admin/invites",
    "/api/v1/admin/invites/revoke",
    "/api/v1/admin/config",
];

impl Modify for CommonErrors {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::path::ParameterIn;
        use utoipa::openapi::{RefOr, ResponseBuilder};
        let error = |description: &str| {
            RefOr::T(
                ResponseBuilder::new()
                    .description(description)
                    .content(
                        "application/json",
                        utoipa::openapi::ContentBuilder::new()
                            .schema(Some(utoipa::openapi::Ref::from_schema_name("ErrorBody")))
                            .build(),
                    )
                    .build(),
            )
        };
        for (path, item) in openapi.paths.paths.iter_mut() {
            let operations = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ];
            for operation in operations.into_iter().flatten() {
                let params = operation.parameters.as_deref().unwrap_or_default();
                let has_body = operation.request_body.is_some();
                let signed = params.iter().any(|p| {
                    p.parameter_in == ParameterIn::Header && p.name == sharelock_api::SHARE_HEADER
                });
                let session = operation.security.is_some();
                let mut add = Vec::new();
                if has_body || !params.is_empty() {
                    add.push((
                        "400",
                        "malformed_request: a path parameter, header or body is not valid",
                    ));
                }
                let in_path = params.iter().any(|p| p.parameter_in == ParameterIn::Path);
                if in_path {
                    add.push((
                        "404",
                        "not_found: no such record, file or share of this account",
                    ));
                }
                if signed || session {
                    add.push(("401", "no valid session, access token or request signature"));
                }
                if has_body {
                    add.push(("408", "request_timeout: the body was not sent in time"));
                    add.push(("413", "payload_too_large: the body is over its limit"));
                    add.push((
                        "503",
                        "server_busy: the server is at its upload bounds; retry after Retry-After",
                    ));
                }
                if PER_ADDRESS_LIMITED.contains(&path.as_str()) {
                    add.push(("429", "too_many_attempts: wait Retry-After seconds"));
                }
                for (status, description) in add {
                    operation
                        .responses
                        .responses
                        .entry(status.to_owned())
                        .or_insert_with(|| error(description));
                }
            }
        }
    }
}

/// `GET /api/v1/openapi.json`
pub async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::expect_used)]
    use super::*;
    use utoipa::openapi::path::{Operation, ParameterIn};

    fn operations() -> Vec<(String, Operation)> {
        let doc = ApiDoc::openapi();
        let mut out = Vec::new();
        for (path, item) in doc.paths.paths {
            for op in [item.get, item.put, item.post, item.delete, item.patch]
                .into_iter()
                .flatten()
            {
                out.push((path.clone(), op));
            }
        }
        out
    }

    /// The web app's wire types are generated from `web/openapi.json` (scripts/gen-api-types): it must be
    /// the document this server serves. `SHARELOCK_WRITE_OPENAPI=1` writes it instead of comparing.
    #[test]
    fn the_web_app_types_come_from_the_served_document() {
        let served = format!(
            "{}\n",
            serde_json::to_string_pretty(&ApiDoc::openapi()).expect("the document serialises")
        );
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../web/openapi.json");
        if std::env::var_os("SHARELOCK_WRITE_OPENAPI").is_some() {
            std::fs::write(&path, &served).expect("write web/openapi.json");
            return;
        }
        let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            checked_in == served,
            "web/openapi.json is not the document the server serves: run scripts/gen-api-types"
        );
    }

    #[test]
    fn operation_ids_are_unique() {
        let ids: Vec<String> = operations()
            .into_iter()
            .filter_map(|(_, op)| op.operation_id)
            .collect();
        let unique: std::collections::HashSet<&String> = ids.iter().collect();
        assert_eq!(unique.len(), ids.len(), "{ids:?}");
        assert!(ids.contains(&"recipient_fetch".to_string()), "{ids:?}");
    }

    #[test]
    fn every_error_code_is_in_the_document() {
        let doc = serde_json::to_value(ApiDoc::openapi()).expect("serialises");
        let listed: Vec<&str> = doc["components"]["schemas"]["ErrorCode"]["enum"]
            .as_array()
            .expect("an enum of codes")
            .iter()
            .filter_map(|v| v.as_str())
            .collect();
        let all: Vec<&str> = sharelock_api::ErrorCode::ALL
            .iter()
            .map(|c| c.as_str())
            .collect();
        assert_eq!(listed, all);
        assert_eq!(
            doc["components"]["schemas"]["ErrorDetail"]["properties"]["code"]["$ref"],
            "#/components/schemas/ErrorCode"
        );
    }

    /// Found by the API fuzzing run: the filter of `GET /api/v1/shares` was documented as a path parameter.
    #[test]
    fn the_share_list_filter_is_a_query_parameter() {
        let (_, list) = operations()
            .into_iter()
            .find(|(path, op)| {
                path == "/api/v1/shares" && op.operation_id.as_deref() == Some("shares_list")
            })
            .unwrap_or_else(|| panic!("GET /api/v1/shares is documented"));
        let params = list.parameters.unwrap_or_default();
        assert!(
            params
                .iter()
                .any(|p| p.name == "record" && p.parameter_in == ParameterIn::Query)
        );
    }

    /// Found by the API fuzzing run: the file routes answer 404 for an unknown record or file, and the body
    /// routes 400/413 for a bad body, without the document saying so.
    #[test]
    fn every_operation_documents_the_refusals_of_its_kind() {
        for (path, op) in operations() {
            let has = |status: &str| op.responses.responses.contains_key(status);
            let params = op.parameters.clone().unwrap_or_default();
            if params.iter().any(|p| p.parameter_in == ParameterIn::Path) {
                assert!(has("404"), "{path}");
            }
            if op.request_body.is_some() {
                for status in ["400", "408", "413", "503"] {
                    assert!(has(status), "{path} {status}");
                }
            }
            if op.security.is_some() {
                assert!(has("401"), "{path}");
            }
        }
    }
}
