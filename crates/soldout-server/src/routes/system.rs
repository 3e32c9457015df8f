//! Liveness, metrics and the OpenAPI document.

use crate::problem::Problem;
use crate::AppState;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::{Extension, Json};
use serde::Serialize;
use std::sync::Arc;
use utoipa::ToSchema;

#[derive(Serialize, ToSchema)]
pub struct Health {
    /// `ok` when the server answers and its database does.
    pub status: &'static str,
    /// `up`: the database answered just now (when it does not, the answer is a 503
    /// `database-unavailable` problem instead).
    pub database: &'static str,
    /// The server's clock, which `--clock-start` may have shifted.
    pub now: chrono::DateTime<chrono::Utc>,
}

/// Longest `/healthz` waits for the database to answer before it says it is down.
const DATABASE_PING_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// Health: 200 while the server runs and its database answers; a 503
/// `database-unavailable` problem (with `Retry-After`) while the database does not, so
/// a load balancer takes the node out until it is back.
#[utoipa::path(get, path = "/healthz", tag = "system",
    responses(
        (status = 200, description = "The server and its database are up", body = Health),
        (status = 503, description = "The database does not answer", body = Problem)))]
pub async fn healthz(State(state): State<AppState>) -> Result<Json<Health>, Problem> {
    match tokio::time::timeout(DATABASE_PING_TIMEOUT, state.store.ping()).await {
        Ok(Ok(())) => Ok(Json(Health {
            status: "ok",
            database: "up",
            now: state.clock.now(),
        })),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "health check: the database does not answer");
            Err(Problem::database_unavailable())
        }
        Err(_) => {
            tracing::warn!("health check: the database did not answer in time");
            Err(Problem::database_unavailable())
        }
    }
}

/// Metrics in the OpenMetrics text format (Prometheus reads it): requests, sales,
/// the group commit, the store, rollouts, the build and the process.
#[utoipa::path(get, path = "/metrics", tag = "system",
    responses((status = 200, description = "OpenMetrics text exposition",
        content_type = "application/openmetrics-text; version=1.0.0; charset=utf-8", body = String)))]
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            crate::metrics::OPENMETRICS_CONTENT_TYPE,
        )],
        state.metrics.render(),
    )
}

/// This document: OpenAPI 3.1, generated from the code.
#[utoipa::path(get, path = "/openapi.json", tag = "system",
    responses((status = 200, description = "The OpenAPI document", content_type = "application/json")))]
pub async fn openapi(Extension(doc): Extension<OpenApiJson>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        doc.0.as_str().to_owned(),
    )
}

/// The OpenAPI document, rendered once when the router is built.
#[derive(Clone)]
pub struct OpenApiJson(pub Arc<String>);
