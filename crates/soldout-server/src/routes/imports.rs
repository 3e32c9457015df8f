//! Imports over HTTP (admin): the same all-or-nothing import as
//! `soldout import shipments|tracker|fx FILE`, with the CSV as the request body (1 MiB
//! at most; larger files go through the command line, which streams them).

use super::ApiResult;
use crate::auth::AdminOnly;
use crate::problem::extract::Query;
use crate::problem::extract::{Csv, Path};
use crate::problem::Problem;
use crate::AppState;
use axum::extract::{FromRequest, State};
use axum::http::StatusCode;
use serde::Deserialize;
use soldout_engine::imports::{
    self, ImportError, ImportKind, ImportReport, ImportStatus, InMemory,
};
use std::sync::Arc;
use utoipa::IntoParams;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ImportQuery {
    /// A batch name: importing under it again replaces the batch.
    pub batch: Option<String>,
}

impl From<ImportError> for Problem {
    fn from(e: ImportError) -> Self {
        match e {
            ImportError::Rows { errors, bad_rows } => Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid-rows",
                "Bad rows: nothing imported",
                format!(
                    "{bad_rows} rows are wrong; the first are listed in errors (line, column, what)"
                ),
            )
            .with_errors(serde_json::to_value(errors).unwrap_or_default()),
            ImportError::Engine(e) => e.into(),
            other => Problem::invalid(other.to_string()),
        }
    }
}

/// Imports a CSV all or nothing: `shipments`
/// (`date,market,channel,product,sku,units,revenue,currency`), `tracker`
/// (`period,market,vendor,units[,model]`, each period, market, vendor and model once) or
/// `fx` (`period,currency,per_usd`, one rate per quarter and currency); the same content
/// again changes nothing. A file with a header and no rows is refused.
#[utoipa::path(post, path = "/v1/imports/{kind}", tag = "shipments",
    request_body(content = String, content_type = "text/csv"),
    security(("bearer" = [])),
    params(("kind" = String, Path, description = "shipments, tracker or fx"), ImportQuery),
    responses(
        (status = 201, description = "Imported (or a named batch replaced)", body = ImportReport),
        (status = 200, description = "The same content was imported before: nothing changed", body = ImportReport),
        (status = 404, description = "No such kind of import", body = Problem),
        (status = 413, description = "Larger than 1 MiB: import it with the command line", body = Problem),
        (status = 415, description = "Not sent as text/csv", body = Problem),
        (status = 422, description = "Bad header or rows: nothing imported; errors lists the first lines", body = Problem)))]
pub async fn import(
    _: AdminOnly,
    State(state): State<AppState>,
    Path(kind): Path<String>,
    Query(query): Query<ImportQuery>,
    request: axum::extract::Request,
) -> ApiResult<(StatusCode, axum::Json<ImportReport>)> {
    let kind = match kind.as_str() {
        "shipments" => ImportKind::Shipments,
        "tracker" => ImportKind::Tracker,
        "fx" => ImportKind::Fx,
        other => {
            return Err(Problem::not_found(format!(
                "there is no import of {other:?}: shipments, tracker or fx"
            )))
        }
    };
    // The kind first: an unknown one is a 404 whatever the body.
    let Csv(body) = Csv::from_request(request, &()).await?;
    let report = imports::import(
        kind,
        state.store.clone(),
        state.clock,
        Arc::new(InMemory(body.to_vec().into())),
        query.batch,
        Arc::new(|_| {}),
    )
    .await?;
    let status = match report.status {
        ImportStatus::AlreadyImported => StatusCode::OK,
        ImportStatus::Imported | ImportStatus::Replaced => StatusCode::CREATED,
    };
    Ok((status, axum::Json(report)))
}
