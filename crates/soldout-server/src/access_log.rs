//! The access log: one event per request, through tower-http's trace layer, with the
//! method, the route template (never the raw path), the status, the latency and the
//! request id, under the target `soldout::access` (silence it with
//! `SOLDOUT_LOG=info,soldout::access=off`). Nothing else of the request is logged: no
//! header, so no token, cookie or `Authorization` value ever reaches a log line.

use crate::request_id::REQUEST_ID;
use axum::extract::MatchedPath;
use axum::http::{Request, Response};
use std::time::Duration;
use tower_http::classify::{ServerErrorsAsFailures, SharedClassifier};
use tower_http::trace::{MakeSpan, OnResponse, TraceLayer};
use tracing::Span;

#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct RequestSpan;

impl<B> MakeSpan<B> for RequestSpan {
    fn make_span(&mut self, request: &Request<B>) -> Span {
        let route = request
            .extensions()
            .get::<MatchedPath>()
            .map_or("unmatched", |p| p.as_str());
        let id = request
            .headers()
            .get(REQUEST_ID)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        tracing::info_span!(target: "soldout::access", "request",
            method = %request.method(), route, request_id = id)
    }
}

#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Answered;

impl<B> OnResponse<B> for Answered {
    fn on_response(self, response: &Response<B>, latency: Duration, _span: &Span) {
        tracing::info!(target: "soldout::access",
            status = response.status().as_u16(),
            latency_ms = latency.as_secs_f64() * 1000.0,
            "answered");
    }
}

pub(crate) type AccessLog =
    TraceLayer<SharedClassifier<ServerErrorsAsFailures>, RequestSpan, (), Answered, (), (), ()>;

/// The layer that writes the access log.
pub(crate) fn layer() -> AccessLog {
    TraceLayer::new_for_http()
        .make_span_with(RequestSpan)
        .on_request(())
        .on_response(Answered)
        .on_body_chunk(())
        .on_eos(())
        .on_failure(())
}
