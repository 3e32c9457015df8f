//! Orders in every channel: placing a regular online order (shipped or picked up),
//! reading one (its buyer, an admin, or the pickup store's clerk), cancelling it
//! before payment, and handing it over with serials.

use super::sales::IdempotencyKey;
use super::ApiResult;
use crate::auth::{Caller, CustomerOnly, Staff};
use crate::problem::extract::{Json, Path};
use crate::problem::Problem;
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use soldout_core::order::{Fulfillment, HandedOver, NewOrder};
use soldout_core::sale::OrderId;
use soldout_core::{LocationId, Principal};
use soldout_engine::OrderView;
use utoipa::ToSchema;

/// The store an order is picked up at, if it is a pickup order.
fn pickup_store(order: &OrderView) -> Option<&LocationId> {
    match &order.fulfillment {
        Some(Fulfillment::Pickup { store }) => Some(store),
        _ => None,
    }
}

/// Places a regular online order: its units are reserved at the market's warehouse
/// (`ship`) or the chosen store (`pickup`) until `pay_by`, at the list price or a
/// running campaign's. Paid through the same webhook as flash-sale orders.
#[utoipa::path(post, path = "/v1/orders", tag = "orders", request_body = NewOrder,
    security(("bearer" = [])),
    params(("Idempotency-Key" = String, Header, description = "A new value per order; resend it when retrying")),
    responses(
        (status = 201, description = "Reserved: pay before pay_by (a replay answers the same)", body = OrderView),
        (status = 404, description = "Unknown market or SKU", body = Problem),
        (status = 409, description = "insufficient-stock or not-launched", body = Problem),
        (status = 422, description = "Bad lines, a pickup store not in the market, idempotency-mismatch", body = Problem)))]
pub async fn place_order(
    CustomerOnly(customer): CustomerOnly,
    State(state): State<AppState>,
    IdempotencyKey(key): IdempotencyKey,
    Json(body): Json<NewOrder>,
) -> ApiResult<(StatusCode, axum::Json<OrderView>)> {
    let (order, _replay) = state.engine.place_order(customer, &body, &key).await?;
    Ok((StatusCode::CREATED, axum::Json(order)))
}

/// Body of `POST /v1/orders/{id}/fulfill`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FulfilBody {
    /// Each line of the order with the serials handed over, one per unit.
    pub lines: Vec<HandedOver>,
}

/// Hands a paid order over with one serial per unit (an admin for shipped and
/// flash-sale orders, the pickup store's clerk for pickups): the units leave the
/// stock and the serials become devices.
#[utoipa::path(post, path = "/v1/orders/{id}/fulfill", tag = "orders", request_body = FulfilBody,
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Order id")),
    responses(
        (status = 200, description = "Fulfilled, with a device token per serial", body = FulfilledOrder),
        (status = 403, description = "Not the pickup store's clerk", body = Problem),
        (status = 404, description = "Unknown order", body = Problem),
        (status = 409, description = "not-fulfillable (not paid) or serial-sold", body = Problem),
        (status = 422, description = "serial-count: serials do not match the order's lines", body = Problem)))]
pub async fn fulfil_order(
    staff: Staff,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Json(body): Json<FulfilBody>,
) -> ApiResult<axum::Json<FulfilledOrder>> {
    let order_id = parse_order(&id)?;
    let order = state.engine.order(order_id).await?;
    if let Principal::Clerk { store, .. } = &staff.0 {
        if pickup_store(&order) != Some(store) {
            return Err(Problem::forbidden(format!(
                "order {id} is not picked up at {store}; an admin hands over shipped and flash-sale orders"
            )));
        }
    }
    let serials: Vec<_> = body.lines.iter().flat_map(|l| l.serials.clone()).collect();
    let order = state.engine.fulfil(order_id, body.lines).await?;
    let device_tokens = super::os::device_tokens(&state, &serials).await?;
    Ok(axum::Json(FulfilledOrder {
        order,
        device_tokens,
    }))
}

/// A fulfilled order, and the token each unit handed over checks in with.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct FulfilledOrder {
    #[serde(flatten)]
    pub order: OrderView,
    pub device_tokens: Vec<super::os::DeviceToken>,
}

fn parse_order(id: &str) -> ApiResult<OrderId> {
    OrderId::parse(id).ok_or_else(|| Problem::not_found(format!("order {id:?} does not exist")))
}

/// An order: its owner or an admin.
#[utoipa::path(get, path = "/v1/orders/{id}", tag = "orders", security(("bearer" = [])),
    params(("id" = String, Path, description = "Order id")),
    responses(
        (status = 200, description = "The order", body = OrderView),
        (status = 404, description = "No such order of yours", body = Problem)))]
pub async fn get_order(
    Caller(caller): Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<OrderView>> {
    let order = state.engine.order(parse_order(&id)?).await?;
    let visible = match &caller {
        Principal::Admin => true,
        Principal::Customer(customer) => *customer == order.customer,
        Principal::Clerk { store, .. } => pickup_store(&order) == Some(store),
    };
    if !visible {
        return Err(Problem::not_found(format!("order {id} does not exist")));
    }
    Ok(axum::Json(order))
}

/// Cancels an unpaid order of the caller's; its units return to the sale.
#[utoipa::path(post, path = "/v1/orders/{id}/cancel", tag = "orders", security(("bearer" = [])),
    params(("id" = String, Path, description = "Order id")),
    responses(
        (status = 200, description = "Cancelled", body = OrderView),
        (status = 404, description = "No such order of yours", body = Problem),
        (status = 409, description = "Already paid, expired or cancelled", body = Problem)))]
pub async fn cancel_order(
    CustomerOnly(customer): CustomerOnly,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<OrderView>> {
    Ok(axum::Json(
        state.engine.cancel(parse_order(&id)?, customer).await?,
    ))
}
