//! Stock transfers between two locations of one market. An admin's transfer ships
//! at once; a clerk requests one into their own store and an admin ships it. The
//! destination's clerk counts it in; a shortfall becomes a discrepancy.

use super::locations::existing_location;
use super::ApiResult;
use crate::auth::{AdminOnly, Staff};
use crate::problem::extract::{Json, Path};
use crate::problem::Problem;
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use soldout_core::transfer::{NewTransfer, Transfer, UnitCount};
use soldout_core::{LocationId, Principal};
use utoipa::ToSchema;

/// Creates a transfer: an admin's ships at once (`in_transit`); a clerk's, into
/// their own store, is `requested` until an admin ships it.
#[utoipa::path(post, path = "/v1/transfers", tag = "transfers", request_body = NewTransfer,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Created", body = Transfer),
        (status = 403, description = "A clerk asking for another store", body = Problem),
        (status = 404, description = "Unknown location or SKU", body = Problem),
        (status = 409, description = "Not enough available stock at the source", body = Problem),
        (status = 422, description = "Same location, different markets, bad lines", body = Problem)))]
pub async fn create_transfer(
    staff: Staff,
    State(state): State<AppState>,
    Json(body): Json<NewTransfer>,
) -> ApiResult<(StatusCode, axum::Json<Transfer>)> {
    let ship = match &staff.0 {
        Principal::Admin => true,
        _ => {
            staff.check_at(&body.to).map_err(|_| {
                Problem::forbidden(format!(
                    "a clerk may only request transfers into their own store, not into {}",
                    body.to
                ))
            })?;
            false
        }
    };
    body.validate()
        .map_err(|e| Problem::invalid(e.to_string()))?;
    let transfer = state
        .store
        .create_transfer(&body, ship, state.clock.now())
        .await?;
    Ok((StatusCode::CREATED, axum::Json(transfer)))
}

async fn visible_transfer(state: &AppState, staff: &Staff, id: i64) -> ApiResult<Transfer> {
    let transfer = state
        .store
        .transfer(id)
        .await?
        .ok_or_else(|| Problem::not_found(format!("transfer {id} does not exist")))?;
    if staff.check_at(&transfer.from).is_err() && staff.check_at(&transfer.to).is_err() {
        return Err(Problem::forbidden(format!(
            "transfer {id} is between {} and {}, not your store",
            transfer.from, transfer.to
        )));
    }
    Ok(transfer)
}

/// A transfer (admin, or a clerk of either end).
#[utoipa::path(get, path = "/v1/transfers/{id}", tag = "transfers", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Transfer id")),
    responses(
        (status = 200, description = "The transfer", body = Transfer),
        (status = 403, description = "A clerk of neither end", body = Problem),
        (status = 404, description = "Unknown transfer", body = Problem)))]
pub async fn get_transfer(
    staff: Staff,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> ApiResult<axum::Json<Transfer>> {
    Ok(axum::Json(visible_transfer(&state, &staff, id).await?))
}

/// Ships a requested transfer (admin): out of the source, incoming at the destination.
#[utoipa::path(post, path = "/v1/transfers/{id}/ship", tag = "transfers", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Transfer id")),
    responses(
        (status = 200, description = "Shipped", body = Transfer),
        (status = 404, description = "Unknown transfer", body = Problem),
        (status = 409, description = "Not requested any more, or not enough stock", body = Problem)))]
pub async fn ship_transfer(
    _: AdminOnly,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> ApiResult<axum::Json<Transfer>> {
    Ok(axum::Json(
        state.store.ship_transfer(id, state.clock.now()).await?,
    ))
}

/// Body of `POST /v1/transfers/{id}/receive`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReceiveBody {
    /// The units actually counted in, per SKU; a SKU left out arrived with none.
    pub lines: Vec<UnitCount>,
}

/// Counts a transfer in at its destination (its clerk, or an admin): what arrived
/// goes on hand; a shortfall becomes a discrepancy.
#[utoipa::path(post, path = "/v1/transfers/{id}/receive", tag = "transfers",
    request_body = ReceiveBody, security(("bearer" = [])),
    params(("id" = i64, Path, description = "Transfer id")),
    responses(
        (status = 200, description = "Received", body = Transfer),
        (status = 403, description = "Not the destination's clerk", body = Problem),
        (status = 404, description = "Unknown transfer", body = Problem),
        (status = 409, description = "Not in transit", body = Problem),
        (status = 422, description = "More than shipped, or a SKU not on the transfer", body = Problem)))]
pub async fn receive_transfer(
    staff: Staff,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Json(body): Json<ReceiveBody>,
) -> ApiResult<axum::Json<Transfer>> {
    let transfer = visible_transfer(&state, &staff, id).await?;
    staff.check_at(&transfer.to).map_err(|_| {
        Problem::forbidden(format!(
            "transfer {id} is received by {}'s clerk",
            transfer.to
        ))
    })?;
    Ok(axum::Json(
        state
            .store
            .receive_transfer(id, &body.lines, state.clock.now())
            .await?,
    ))
}

/// Transfers from or to a location, newest first (admin, or the store's clerk).
#[utoipa::path(get, path = "/v1/locations/{id}/transfers", tag = "transfers",
    security(("bearer" = [])),
    params(("id" = soldout_core::ids::LocationId, Path, description = "Location id")),
    responses(
        (status = 200, description = "Transfers", body = [Transfer]),
        (status = 403, description = "Another store's clerk", body = Problem),
        (status = 404, description = "Unknown location", body = Problem)))]
pub async fn location_transfers(
    staff: Staff,
    State(state): State<AppState>,
    Path(id): Path<LocationId>,
) -> ApiResult<axum::Json<Vec<Transfer>>> {
    staff.check_at(&id)?;
    existing_location(&state, &id).await?;
    Ok(axum::Json(state.store.transfers(&id).await?))
}
