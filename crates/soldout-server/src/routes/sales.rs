//! Flash sales: creating and listing them (admin), reading one (public), registering
//! and buying (customers). Buying goes to the sale's owner in the engine and answers
//! only after the decision is durable.

use super::ApiResult;
use crate::auth::{AdminOnly, CustomerOnly};
use crate::problem::extract::{Json, Path, Query};
use crate::problem::Problem;
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use soldout_core::sale::{NewSale, SaleId, SaleStatus};
use soldout_core::{CustomerId, MarketCode};
use soldout_engine::{Admission, OrderView, SaleView};
use utoipa::{IntoParams, ToSchema};

/// Longest `Idempotency-Key` we accept.
pub const IDEMPOTENCY_KEY_LEN_MAX: usize = 200;

/// Creates a flash sale, allotting its units from the location's available stock.
#[utoipa::path(post, path = "/v1/sales", tag = "sales", request_body = NewSale,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Created", body = SaleView),
        (status = 404, description = "Unknown SKU, market or location", body = Problem),
        (status = 409, description = "Not enough available stock, or not launched in the market at starts_at", body = Problem),
        (status = 422, description = "A field is invalid", body = Problem)))]
pub async fn create_sale(
    _: AdminOnly,
    State(state): State<AppState>,
    Json(body): Json<NewSale>,
) -> ApiResult<(StatusCode, axum::Json<SaleView>)> {
    let sale = state.engine.open_sale(body).await?;
    Ok((StatusCode::CREATED, axum::Json(sale)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct SalesQuery {
    /// Only sales in this market.
    pub market: Option<MarketCode>,
    /// Only sales with this status: `scheduled`, `active` or `ended`.
    #[param(pattern = r"^(scheduled|active|ended)$")]
    pub status: Option<String>,
}

/// Lists sales, oldest first.
#[utoipa::path(get, path = "/v1/sales", tag = "sales", security(("bearer" = [])),
    params(SalesQuery),
    responses((status = 200, description = "Sales with their counters", body = [SaleView])))]
pub async fn list_sales(
    _: AdminOnly,
    State(state): State<AppState>,
    Query(query): Query<SalesQuery>,
) -> ApiResult<axum::Json<Vec<SaleView>>> {
    let status = query
        .status
        .as_deref()
        .map(|s| {
            SaleStatus::parse(s).ok_or_else(|| {
                Problem::invalid(format!(
                    "status {s:?} is not one of scheduled, active, ended"
                ))
            })
        })
        .transpose()?;
    let sales = state
        .engine
        .sales()
        .into_iter()
        .filter(|s| query.market.as_ref().is_none_or(|m| &s.market == m))
        .filter(|s| status.is_none_or(|st| s.status == st))
        .collect();
    Ok(axum::Json(sales))
}

fn existing_sale(state: &AppState, id: SaleId) -> ApiResult<SaleView> {
    state
        .engine
        .sale(id)
        .ok_or_else(|| Problem::not_found(format!("sale {id} does not exist")))
}

/// A sale with its live counters (public).
#[utoipa::path(get, path = "/v1/sales/{id}", tag = "sales",
    params(("id" = i64, Path, description = "Sale id")),
    responses(
        (status = 200, description = "The sale", body = SaleView),
        (status = 404, description = "Unknown sale", body = Problem)))]
pub async fn get_sale(
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> ApiResult<axum::Json<SaleView>> {
    Ok(axum::Json(existing_sale(&state, SaleId(id))?))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Registration {
    pub sale: SaleId,
    pub registered: bool,
}

/// Registers the calling customer for a sale, before its start.
#[utoipa::path(post, path = "/v1/sales/{id}/registrations", tag = "sales",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Sale id")),
    responses(
        (status = 201, description = "Registered", body = Registration),
        (status = 200, description = "Already registered", body = Registration),
        (status = 404, description = "Unknown sale", body = Problem),
        (status = 409, description = "The sale has started", body = Problem)))]
pub async fn register(
    CustomerOnly(customer): CustomerOnly,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> ApiResult<(StatusCode, axum::Json<Registration>)> {
    register_customer(&state, customer, SaleId(id)).await
}

/// Registers `customer` for `sale`: 201 when new, 200 when already registered. The API
/// and the storefront both register through here.
pub async fn register_customer(
    state: &AppState,
    customer: CustomerId,
    sale: SaleId,
) -> ApiResult<(StatusCode, axum::Json<Registration>)> {
    let new = state
        .engine
        .register(sale, customer, Admission::RejectWhenFull)
        .await?;
    let status = if new {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        axum::Json(Registration {
            sale,
            registered: true,
        }),
    ))
}

/// Body of `POST /v1/sales/{id}/orders`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BuyBody {
    /// Units to buy, at least 1 and at most the sale's per-customer limit.
    #[schema(example = 1)]
    pub quantity: u32,
}

/// The `Idempotency-Key` header: required, 1 to 200 visible ASCII characters.
/// Extracted on its own so a buy does not copy the whole header map.
pub struct IdempotencyKey(pub String);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for IdempotencyKey {
    type Rejection = Problem;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, Problem> {
        let value = parts.headers.get("idempotency-key").ok_or_else(|| {
            Problem::new(
                StatusCode::BAD_REQUEST,
                "idempotency-key-required",
                "Idempotency-Key required",
                "send an Idempotency-Key header (a new random value per purchase, the same one when retrying)",
            )
        })?;
        let key = value
            .to_str()
            .ok()
            .filter(|k| (1..=IDEMPOTENCY_KEY_LEN_MAX).contains(&k.len()))
            .filter(|k| k.bytes().all(|b| b.is_ascii_graphic()))
            .ok_or_else(|| {
                Problem::bad_request(format!(
                    "the Idempotency-Key must be 1 to {IDEMPOTENCY_KEY_LEN_MAX} visible ASCII characters"
                ))
            })?;
        Ok(IdempotencyKey(key.to_owned()))
    }
}

/// Buys units in a sale. The answer comes only once the reservation is durable; the
/// same `Idempotency-Key` with the same body answers with the same order.
#[utoipa::path(post, path = "/v1/sales/{id}/orders", tag = "sales", request_body = BuyBody,
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Sale id"),
        ("Idempotency-Key" = String, Header, description = "A new value per purchase; resend it when retrying")),
    responses(
        (status = 201, description = "Reserved: pay before pay_by", body = OrderView),
        (status = 403, description = "not-registered", body = Problem),
        (status = 409, description = "sold-out, limit-reached, not-started or ended", body = Problem),
        (status = 422, description = "idempotency-mismatch, or a bad quantity", body = Problem),
        (status = 503, description = "overloaded: retry after Retry-After", body = Problem)))]
pub async fn buy(
    CustomerOnly(customer): CustomerOnly,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    IdempotencyKey(key): IdempotencyKey,
    Json(body): Json<BuyBody>,
) -> ApiResult<(StatusCode, axum::Json<OrderView>)> {
    buy_as(&state, customer, SaleId(id), body.quantity, &key).await
}

/// Buys `quantity` units of `sale` for `customer` under the idempotency `key`: the
/// order once durable (the same one again for the same key). The API and the
/// storefront both buy through here.
pub async fn buy_as(
    state: &AppState,
    customer: CustomerId,
    sale: SaleId,
    quantity: u32,
    key: &str,
) -> ApiResult<(StatusCode, axum::Json<OrderView>)> {
    if quantity == 0 {
        return Err(Problem::invalid("quantity must be at least 1"));
    }
    let (order, _replay) = state
        .engine
        .buy(sale, customer, quantity, key, Admission::RejectWhenFull)
        .await?;
    Ok((StatusCode::CREATED, axum::Json(order)))
}
