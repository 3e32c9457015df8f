//! The OpenAPI document's frame (title, the bearer scheme, the problem schema) and the
//! answers every operation can give besides its own: after the routes are collected,
//! each operation gets the problem answers that can happen to it (400, 408, 422, 429
//! and 503 to any; 401 and 403 with a token; 404 with an id in the path; 413 and 415
//! with a body), and every error answer is typed `application/problem+json`.

use crate::problem::Problem;
use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{Content, OpenApi, Ref, RefOr, Response};
use utoipa::OpenApi as _;

/// The media type of every error answer.
pub const PROBLEM_JSON: &str = "application/problem+json";

#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "soldout",
        description = "The sales system of a device maker: catalog, markets, launches, stock. \
            Errors are application/problem+json (RFC 9457)."
    ),
    components(schemas(Problem)),
    modifiers(&BearerScheme)
)]
struct ApiDoc;

struct BearerScheme;

impl utoipa::Modify for BearerScheme {
    fn modify(&self, openapi: &mut OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            crate::routes::BEARER,
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

/// The document before the routes are added.
pub fn frame() -> OpenApi {
    ApiDoc::openapi()
}

/// Adds to every operation the problem answers it can give, and types every error
/// answer as a problem document.
pub fn document_problems(doc: &mut OpenApi) {
    for (path, item) in doc.paths.paths.iter_mut() {
        let has_id = path.contains('{');
        for operation in [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ]
        .into_iter()
        .flatten()
        {
            add_problems(operation, has_id);
        }
    }
}

fn add_problems(operation: &mut Operation, has_id: bool) {
    let with_token = operation.security.as_ref().is_some_and(|s| !s.is_empty());
    let with_body = operation.request_body.is_some();
    let with_input =
        with_body || has_id || operation.parameters.as_ref().is_some_and(|p| !p.is_empty());
    let answers = [
        (
            true,
            "400",
            "Malformed: a body that is not JSON, or a header given twice",
        ),
        (
            true,
            "408",
            "The request's head or body was not sent in time",
        ),
        (
            with_input,
            "422",
            "A value that does not fit: a wrong type, a missing or unknown field, out of range",
        ),
        (true, "429", "Too many connections from one address"),
        (
            true,
            "503",
            "At the connection limit, or briefly unable to decide: retry after Retry-After",
        ),
        (
            with_token,
            "401",
            "No token, or an unknown, expired or revoked one",
        ),
        (with_token, "403", "A token whose role may not do this"),
        (has_id, "404", "Nothing with that id"),
        (with_body, "413", "The body is larger than the limit"),
        (
            with_body,
            "415",
            "The body is not in the media type this operation takes",
        ),
    ];
    let responses = &mut operation.responses.responses;
    for (applies, status, description) in answers {
        if applies && !responses.contains_key(status) {
            responses.insert(status.to_owned(), RefOr::T(Response::new(description)));
        }
    }
    for (status, response) in responses.iter_mut() {
        let RefOr::T(response) = response else {
            continue;
        };
        if !status.starts_with(['4', '5']) {
            continue;
        }
        response.content.shift_remove("application/json");
        response.content.insert(
            PROBLEM_JSON.to_owned(),
            Content::new(Some(Ref::from_schema_name("Problem"))),
        );
    }
}
