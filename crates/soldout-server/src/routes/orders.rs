//! A flash-sale order, for its owner or an admin, and its cancellation.

use super::ApiResult;
use crate::auth::{Caller, CustomerOnly};
use crate::problem::extract::Path;
use crate::problem::Problem;
use crate::AppState;
use axum::extract::State;
use soldout_core::sale::OrderId;
use soldout_core::Principal;
use soldout_engine::OrderView;

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
    match caller {
        Principal::Admin => {}
        Principal::Customer(customer) if customer == order.customer => {}
        Principal::Customer(_) | Principal::Clerk { .. } => {
            return Err(Problem::not_found(format!("order {id} does not exist")))
        }
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
