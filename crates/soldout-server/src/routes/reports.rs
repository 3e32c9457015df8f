//! Reports from the shipment ledger (admin).

use super::ApiResult;
use crate::auth::AdminOnly;
use crate::problem::extract::Query;
use crate::problem::Problem;
use crate::AppState;
use axum::extract::State;
use serde::Deserialize;
use soldout_core::report::QuarterReport;
use soldout_core::shipment::{Quarter, QuarterError};
use soldout_core::MarketCode;
use soldout_engine::reports;
use utoipa::IntoParams;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct QuarterQuery {
    /// The quarter, such as `2017Q2`.
    pub period: String,
    /// One market (such as `IN`); all markets when left out.
    #[param(value_type = Option<String>)]
    pub market: Option<MarketCode>,
}

/// A quarter: units, revenue per currency, QoQ and YoY growth, by channel and by model.
#[utoipa::path(get, path = "/v1/reports/quarter", tag = "reports", security(("bearer" = [])),
    params(QuarterQuery),
    responses(
        (status = 200, description = "The report", body = QuarterReport),
        (status = 404, description = "Unknown market", body = Problem),
        (status = 422, description = "Not a quarter", body = Problem)))]
pub async fn quarter(
    _: AdminOnly,
    State(state): State<AppState>,
    Query(query): Query<QuarterQuery>,
) -> ApiResult<axum::Json<QuarterReport>> {
    let period: Quarter = query
        .period
        .parse()
        .map_err(|e: QuarterError| Problem::invalid(e.to_string()))?;
    Ok(axum::Json(
        reports::quarter(state.store.as_ref(), period, query.market.as_ref()).await?,
    ))
}
