//! The shipment ledger's rows, a quarter at a time (admin): what every channel
//! handed over and took back.

use super::ApiResult;
use crate::auth::AdminOnly;
use crate::problem::extract::Query;
use crate::problem::Problem;
use crate::AppState;
use axum::extract::State;
use serde::Deserialize;
use soldout_core::shipment::{Quarter, Shipment};
use utoipa::IntoParams;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ShipmentsQuery {
    /// The quarter, such as `2017Q3`.
    #[param(pattern = r"^[0-9]{4}Q[1-4]$")]
    pub period: String,
}

/// The ledger's rows in a quarter, oldest first: units handed over in every channel,
/// returns as negative rows.
#[utoipa::path(get, path = "/v1/shipments", tag = "shipments", security(("bearer" = [])),
    params(ShipmentsQuery),
    responses(
        (status = 200, description = "Rows", body = [Shipment]),
        (status = 422, description = "Not a quarter", body = Problem)))]
pub async fn list_shipments(
    _: AdminOnly,
    State(state): State<AppState>,
    Query(query): Query<ShipmentsQuery>,
) -> ApiResult<axum::Json<Vec<Shipment>>> {
    let quarter: Quarter = query
        .period
        .parse()
        .map_err(|e: soldout_core::shipment::QuarterError| Problem::invalid(e.to_string()))?;
    Ok(axum::Json(state.store.shipments(quarter).await?))
}
