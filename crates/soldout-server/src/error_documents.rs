//! The last word on errors: a 4xx or 5xx answer that is not already a problem
//! document or a dashboard page (one an extractor or a layer wrote as plain text, or
//! with no body at all) becomes one, so a caller never gets an empty body or bare
//! text: a problem for the API, an HTML page for the dashboard and the shop.

use crate::problem::Problem;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

/// The most of a plain-text error body kept as the document's detail.
const DETAIL_BYTES_MAX: usize = 4096;

/// Rewrites an error answer that is not a document into one: an HTML page when the
/// request was for a `page`, else a problem.
pub(crate) async fn as_document(page: bool, response: Response) -> Response {
    let status = response.status();
    if status.as_u16() < 400 || is_document(response.headers()) {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, DETAIL_BYTES_MAX)
        .await
        .map(|bytes| String::from_utf8_lossy(&bytes).trim().to_owned())
        .unwrap_or_default();
    let title = status.canonical_reason().unwrap_or("Error");
    let detail = if status.is_server_error() {
        tracing::error!(%status, body = %text, "an error answer without a document");
        Problem::internal().detail
    } else if text.is_empty() {
        format!("{title}.")
    } else {
        text
    };
    let mut rewritten = if page {
        let body = maud::html! { p.error role="alert" { (detail) } };
        (status, crate::web::page(title, false, body)).into_response()
    } else {
        Problem::new(status, &slug(status), title, detail).into_response()
    };
    // What the original said about the connection and retrying still holds.
    for name in [header::RETRY_AFTER, header::ALLOW, header::CONNECTION] {
        if let Some(value) = parts.headers.get(&name) {
            rewritten.headers_mut().insert(name, value.clone());
        }
    }
    rewritten
}

/// Whether an answer already is a problem document or a page.
fn is_document(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("application/problem+json") || t.starts_with("text/html"))
}

/// Whether `path` is one of the dashboard's or the shop's pages rather than the API.
pub(crate) fn is_page(path: &str) -> bool {
    !(path.starts_with("/v1/") || matches!(path, "/healthz" | "/metrics" | "/openapi.json"))
}

/// A problem type named after the status: `not-found`, `payload-too-large`.
fn slug(status: StatusCode) -> String {
    status
        .canonical_reason()
        .unwrap_or("error")
        .to_ascii_lowercase()
        .replace([' ', '\''], "-")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_name_their_problem_and_pages_are_told_from_the_api() {
        assert_eq!(slug(StatusCode::PAYLOAD_TOO_LARGE), "payload-too-large");
        assert_eq!(slug(StatusCode::BAD_REQUEST), "bad-request");
        assert!(is_page("/sales/12"));
        assert!(is_page("/shop/sales/1"));
        assert!(!is_page("/v1/sales/1"));
        assert!(!is_page("/healthz"));
    }
}
