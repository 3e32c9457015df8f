//! Markets, the prices in each, and a market's lineup.

use super::ApiResult;
use crate::auth::AdminOnly;
use crate::problem::extract::{Json, Path};
use crate::problem::Problem;
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use soldout_core::catalog::NewMarket;
use soldout_core::money::{check_price, Amount};
use soldout_core::{Currency, Lineup, Market, MarketCode, SkuCode};
use utoipa::ToSchema;

/// Creates a market.
#[utoipa::path(post, path = "/v1/markets", tag = "markets", request_body = NewMarket,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Created", body = Market),
        (status = 409, description = "The code is taken", body = Problem),
        (status = 422, description = "A field is invalid", body = Problem)))]
pub async fn create_market(
    _: AdminOnly,
    State(state): State<AppState>,
    Json(body): Json<NewMarket>,
) -> ApiResult<(StatusCode, axum::Json<Market>)> {
    let market = body
        .validate()
        .map_err(|e| Problem::invalid(e.to_string()))?;
    state.store.create_market(&market).await?;
    Ok((StatusCode::CREATED, axum::Json(market)))
}

/// Lists every market (public).
#[utoipa::path(get, path = "/v1/markets", tag = "markets",
    responses((status = 200, description = "All markets", body = [Market])))]
pub async fn list_markets(State(state): State<AppState>) -> ApiResult<axum::Json<Vec<Market>>> {
    Ok(axum::Json(state.store.markets().await?))
}

pub(crate) async fn existing_market(state: &AppState, code: &MarketCode) -> ApiResult<Market> {
    state
        .store
        .market(code)
        .await?
        .ok_or_else(|| Problem::not_found(format!("market {code} does not exist")))
}

/// Body of `PUT /v1/markets/{code}/prices/{sku}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PriceBody {
    /// Unit price in minor units of the market's currency (paise for INR).
    #[schema(example = 1099900, minimum = 0, maximum = 1000000000000.0)]
    pub amount: Amount,
    /// An `amount` of 0 is refused unless this is true.
    #[serde(default)]
    pub allow_zero_price: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Price {
    #[schema(example = "IN")]
    pub market: MarketCode,
    #[schema(example = "RN4-3-32-GLD")]
    pub sku: SkuCode,
    /// Minor units of `currency`.
    pub amount: Amount,
    #[schema(value_type = String, example = "INR")]
    pub currency: Currency,
}

/// Sets a SKU's price in a market.
#[utoipa::path(put, path = "/v1/markets/{code}/prices/{sku}", tag = "markets",
    request_body = PriceBody, security(("bearer" = [])),
    params(("code" = soldout_core::ids::MarketCode, Path, description = "Market code"), ("sku" = soldout_core::ids::SkuCode, Path, description = "SKU code")),
    responses(
        (status = 200, description = "The price now in force", body = Price),
        (status = 404, description = "Unknown market or SKU", body = Problem),
        (status = 422, description = "Negative or absurd amount", body = Problem)))]
pub async fn set_price(
    _: AdminOnly,
    State(state): State<AppState>,
    Path((code, sku)): Path<(MarketCode, SkuCode)>,
    Json(body): Json<PriceBody>,
) -> ApiResult<axum::Json<Price>> {
    let amount = check_price(body.amount, body.allow_zero_price).map_err(Problem::invalid)?;
    let market = existing_market(&state, &code).await?;
    state
        .store
        .set_price(&code, &sku, amount, state.clock.now())
        .await?;
    Ok(axum::Json(Price {
        market: code,
        sku,
        amount,
        currency: market.currency,
    }))
}

/// A market's lineup (public): each launched product once, with its status now, its
/// launch dates and its SKUs' prices.
#[utoipa::path(get, path = "/v1/markets/{code}/lineup", tag = "markets",
    params(("code" = soldout_core::ids::MarketCode, Path, description = "Market code")),
    responses(
        (status = 200, description = "The lineup", body = Lineup),
        (status = 404, description = "Unknown market", body = Problem)))]
pub async fn lineup(
    State(state): State<AppState>,
    Path(code): Path<MarketCode>,
) -> ApiResult<axum::Json<Lineup>> {
    let market = existing_market(&state, &code).await?;
    let entries = state.store.lineup(&code).await?;
    Ok(axum::Json(Lineup::build(
        &market,
        entries,
        state.clock.now(),
    )))
}
