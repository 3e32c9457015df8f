//! Time-boxed price campaigns (admin). While one runs, the point of sale and
//! online orders charge its price for its SKUs.

use super::ApiResult;
use crate::auth::AdminOnly;
use crate::problem::extract::{Json, Query};
use crate::problem::Problem;
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use soldout_core::campaign::{Campaign, NewCampaign};
use soldout_core::MarketCode;
use utoipa::IntoParams;

/// Creates a campaign; one that overlaps another on a shared SKU in its market is
/// refused.
#[utoipa::path(post, path = "/v1/campaigns", tag = "campaigns", request_body = NewCampaign,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Created", body = Campaign),
        (status = 404, description = "Unknown market or SKU", body = Problem),
        (status = 409, description = "campaign-overlap", body = Problem),
        (status = 422, description = "Bad terms", body = Problem)))]
pub async fn create_campaign(
    _: AdminOnly,
    State(state): State<AppState>,
    Json(body): Json<NewCampaign>,
) -> ApiResult<(StatusCode, axum::Json<Campaign>)> {
    let campaign = body
        .validate()
        .map_err(|e| Problem::invalid(e.to_string()))?;
    let products = state.store.products().await?;
    if let Some(unknown) = campaign.skus.iter().find(|sku| {
        !products
            .iter()
            .any(|p| p.skus.iter().any(|s| &s.sku == *sku))
    }) {
        return Err(Problem::not_found(format!("sku {unknown} does not exist")));
    }
    let created = state.store.create_campaign(&campaign).await?;
    Ok((StatusCode::CREATED, axum::Json(created)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct CampaignsQuery {
    /// Only this market's campaigns.
    pub market: Option<MarketCode>,
}

/// Campaigns, oldest first.
#[utoipa::path(get, path = "/v1/campaigns", tag = "campaigns", security(("bearer" = [])),
    params(CampaignsQuery),
    responses((status = 200, description = "Campaigns", body = [Campaign])))]
pub async fn list_campaigns(
    _: AdminOnly,
    State(state): State<AppState>,
    Query(query): Query<CampaignsQuery>,
) -> ApiResult<axum::Json<Vec<Campaign>>> {
    Ok(axum::Json(
        state.store.campaigns(query.market.as_ref()).await?,
    ))
}
