//! Reports from the shipment ledger, the company's targets and its settings (admin).

use super::ApiResult;
use crate::auth::AdminOnly;
use crate::problem::extract::Query;
use crate::problem::extract::{Json, Path};
use crate::problem::Problem;
use crate::AppState;
use axum::extract::State;
use serde::Deserialize;
use serde::Serialize;
use soldout_core::report::{QuarterReport, TrendReport, YearReport};
use soldout_core::shipment::{Quarter, QuarterError};
use soldout_core::MarketCode;
use soldout_engine::reports::{self, BRAND_KEY};
use std::collections::BTreeMap;
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct QuarterQuery {
    /// The quarter, such as `2017Q2`.
    #[param(pattern = r"^[0-9]{4}Q[1-4]$")]
    pub period: String,
    /// One market (such as `IN`); all markets when left out.
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
    let period = quarter_param(&query.period)?;
    Ok(axum::Json(
        reports::quarter(state.store.as_ref(), period, query.market.as_ref()).await?,
    ))
}

fn quarter_param(text: &str) -> Result<Quarter, Problem> {
    text.parse()
        .map_err(|e: QuarterError| Problem::invalid(e.to_string()))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct TrendQuery {
    /// The first quarter, such as `2015Q1`.
    #[param(pattern = r"^[0-9]{4}Q[1-4]$")]
    pub from: String,
    /// The last quarter, such as `2017Q4`.
    #[param(pattern = r"^[0-9]{4}Q[1-4]$")]
    pub to: String,
    /// One market (such as `IN`); all markets when left out.
    pub market: Option<MarketCode>,
}

/// Units and revenue per quarter with their QoQ and YoY growth, from one quarter to
/// another.
#[utoipa::path(get, path = "/v1/reports/trend", tag = "reports", security(("bearer" = [])),
    params(TrendQuery),
    responses(
        (status = 200, description = "The report", body = TrendReport),
        (status = 404, description = "Unknown market", body = Problem),
        (status = 422, description = "Not a quarter, or `to` before `from`", body = Problem)))]
pub async fn trend(
    _: AdminOnly,
    State(state): State<AppState>,
    Query(query): Query<TrendQuery>,
) -> ApiResult<axum::Json<TrendReport>> {
    let (from, to) = (quarter_param(&query.from)?, quarter_param(&query.to)?);
    Ok(axum::Json(
        reports::trend(state.store.as_ref(), from, to, query.market.as_ref()).await?,
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct YearQuery {
    /// Such as 2018.
    #[param(minimum = 2000, maximum = 2100)]
    pub year: i32,
}

/// A year against its target: units so far (complete quarters by the clock),
/// progress, forecast, and every target year's outcome.
#[utoipa::path(get, path = "/v1/reports/year", tag = "reports", security(("bearer" = [])),
    params(YearQuery),
    responses(
        (status = 200, description = "The report", body = YearReport),
        (status = 422, description = "A year out of range", body = Problem)))]
pub async fn year(
    _: AdminOnly,
    State(state): State<AppState>,
    Query(query): Query<YearQuery>,
) -> ApiResult<axum::Json<YearReport>> {
    Ok(axum::Json(
        reports::year(state.store.as_ref(), state.clock, query.year).await?,
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TargetBody {
    /// Units the company aims to ship that year.
    #[schema(example = 100_000_000, minimum = 1, maximum = 1000000000000.0)]
    pub units: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Target {
    pub year: i32,
    pub units: i64,
}

/// Sets (or replaces) a year's unit target.
#[utoipa::path(put, path = "/v1/targets/{year}", tag = "reports", request_body = TargetBody,
    security(("bearer" = [])),
    params(("year" = i32, Path, description = "The year, 2000 to 2100", minimum = 2000, maximum = 2100)),
    responses(
        (status = 200, description = "Set", body = Target),
        (status = 422, description = "A year or units out of range", body = Problem)))]
pub async fn set_target(
    _: AdminOnly,
    State(state): State<AppState>,
    Path(year): Path<i32>,
    Json(body): Json<TargetBody>,
) -> ApiResult<axum::Json<Target>> {
    reports::set_target(state.store.as_ref(), state.clock, year, body.units).await?;
    Ok(axum::Json(Target {
        year,
        units: body.units,
    }))
}

/// Every year's target, oldest first.
#[utoipa::path(get, path = "/v1/targets", tag = "reports", security(("bearer" = [])),
    responses((status = 200, description = "Targets", body = [Target])))]
pub async fn list_targets(
    _: AdminOnly,
    State(state): State<AppState>,
) -> ApiResult<axum::Json<Vec<Target>>> {
    let targets: BTreeMap<i32, i64> = state.store.targets().await?;
    Ok(axum::Json(
        targets
            .into_iter()
            .map(|(year, units)| Target { year, units })
            .collect(),
    ))
}

/// The company's settings.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Our brand's name as market trackers write it (its tracker rows are replaced by
    /// the ledger's units).
    #[schema(
        example = "Xiaomi",
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$"
    )]
    pub brand: Option<String>,
}

/// Changes the company's settings; a field left out stays as it is.
#[utoipa::path(put, path = "/v1/settings", tag = "reports", request_body = Settings,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The settings now", body = Settings),
        (status = 422, description = "A bad value", body = Problem)))]
pub async fn put_settings(
    _: AdminOnly,
    State(state): State<AppState>,
    Json(body): Json<Settings>,
) -> ApiResult<axum::Json<Settings>> {
    if let Some(brand) = &body.brand {
        let brand = soldout_core::ids::bounded_text("brand", brand)
            .map_err(|e| Problem::invalid(e.to_string()))?;
        state.store.set_meta(BRAND_KEY, &brand).await?;
    }
    Ok(axum::Json(Settings {
        brand: state.store.meta(BRAND_KEY).await?,
    }))
}

/// The company's settings.
#[utoipa::path(get, path = "/v1/settings", tag = "reports", security(("bearer" = [])),
    responses((status = 200, description = "The settings", body = Settings)))]
pub async fn get_settings(
    _: AdminOnly,
    State(state): State<AppState>,
) -> ApiResult<axum::Json<Settings>> {
    Ok(axum::Json(Settings {
        brand: state.store.meta(BRAND_KEY).await?,
    }))
}
