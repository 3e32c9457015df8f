//! The one middleware every request passes, in one future so a request pays for one
//! layer, not four: the operators' reserve (a connection admitted past the cap gets
//! only operator requests), the renewed customer token, the metrics, and the rule that
//! every error answer is a document, and the request's id on the answer (and in any
//! problem made while answering).

use crate::problem::{Problem, StoreFailed};
use crate::{auth, connections, error_documents, request_id, AppState};
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::time::Instant;

pub(crate) async fn gate(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let route = state.metrics.route_of(&request);
    let id = request_id::of(request.headers());
    // The access log (the trace layer inside) reads it from the request.
    request
        .headers_mut()
        .insert(request_id::REQUEST_ID, id.clone());
    let mut response = request_id::scope(id.clone(), async {
        if refused_in_reserve(&state, &request) {
            return Problem::connection_limit().into_response();
        }
        let page = error_documents::is_page(request.uri().path());
        let renewed = auth::renewal(&state, request.headers());
        let mut response = next.run(request).await;
        if let Some(token) = renewed {
            auth::hand_renewal(&mut response, &token);
        }
        error_documents::as_document(page, response).await
    })
    .await;
    response.headers_mut().insert(request_id::REQUEST_ID, id);
    if response.extensions().get::<StoreFailed>().is_some() {
        state.metrics.count_store_error();
    }
    state
        .metrics
        .record(route, response.status().as_u16(), started.elapsed());
    response
}

/// Whether `request` came on a connection admitted into the operators' reserve (the
/// server is at its connection cap) and is not an operator's: only `/healthz`,
/// `/metrics` and admin-token requests are answered there.
fn refused_in_reserve(state: &AppState, request: &Request) -> bool {
    let in_reserve = request
        .extensions()
        .get::<connections::ClientConnection>()
        .is_some_and(|c| c.admission == connections::Admission::Reserve);
    in_reserve
        && !(matches!(request.uri().path(), "/healthz" | "/metrics")
            || auth::bearer_token(request.headers()).is_ok_and(|token| {
                state.tokens.resolve(token, state.clock.now())
                    == Some(soldout_core::Principal::Admin)
            }))
}
