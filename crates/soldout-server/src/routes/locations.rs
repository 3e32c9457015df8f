//! Stock locations and their ledger: receipts, adjustments, levels and movements.

use super::ApiResult;
use crate::auth::{AdminOnly, Staff};
use crate::problem::extract::{Json, Path, Query};
use crate::problem::Problem;
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use soldout_core::ids::bounded_text;
use soldout_core::{
    Location, LocationId, Movement, MovementKind, NewLocation, NewMovement, SkuCode, StockLine,
};
use soldout_store::MOVEMENTS_PAGE_MAX;
use utoipa::{IntoParams, ToSchema};

/// Movements per page when `limit` is left out.
const MOVEMENTS_PAGE_DEFAULT: u32 = 100;

/// Creates a warehouse or a store.
#[utoipa::path(post, path = "/v1/locations", tag = "stock", request_body = NewLocation,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Created", body = Location),
        (status = 404, description = "Unknown market", body = Problem),
        (status = 409, description = "The id is taken", body = Problem)))]
pub async fn create_location(
    _: AdminOnly,
    State(state): State<AppState>,
    Json(body): Json<NewLocation>,
) -> ApiResult<(StatusCode, axum::Json<Location>)> {
    let location = body
        .validate()
        .map_err(|e| Problem::invalid(e.to_string()))?;
    state.store.create_location(&location).await?;
    Ok((StatusCode::CREATED, axum::Json(location)))
}

/// Lists every stock location.
#[utoipa::path(get, path = "/v1/locations", tag = "stock", security(("bearer" = [])),
    responses((status = 200, description = "All locations", body = [Location])))]
pub async fn list_locations(
    _: AdminOnly,
    State(state): State<AppState>,
) -> ApiResult<axum::Json<Vec<Location>>> {
    Ok(axum::Json(state.store.locations().await?))
}

pub(crate) async fn existing_location(state: &AppState, id: &LocationId) -> ApiResult<Location> {
    state
        .store
        .location(id)
        .await?
        .ok_or_else(|| Problem::not_found(format!("location {id} does not exist")))
}

/// Body of `POST /v1/locations/{id}/receipts`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReceiptBody {
    #[schema(example = "RN4-3-32-GLD")]
    pub sku: SkuCode,
    /// Units received, 1 to 1,000,000.
    #[schema(example = 5000, minimum = 1, maximum = 1000000)]
    pub quantity: i64,
    /// Delivery note or purchase order.
    #[schema(
        example = "PO-2017-0612",
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$"
    )]
    pub reference: Option<String>,
}

/// Body of `POST /v1/locations/{id}/adjustments`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AdjustmentBody {
    #[schema(example = "RN4-3-32-GLD")]
    pub sku: SkuCode,
    /// Signed change of `on_hand`, not 0, at most 1,000,000 either way.
    #[schema(example = -2, minimum = -1000000, maximum = 1000000)]
    pub delta: i64,
    /// Why: a count, breakage, a found box.
    #[schema(
        example = "cycle count",
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$"
    )]
    pub reason: String,
}

async fn record(
    state: &AppState,
    movement: NewMovement,
) -> ApiResult<(StatusCode, axum::Json<Movement>)> {
    movement
        .delta()
        .map_err(|e| Problem::invalid(e.to_string()))?;
    let mut recorded = state.store.record_movements(&[movement]).await?;
    let movement = recorded.pop().ok_or_else(Problem::internal)?;
    Ok((StatusCode::CREATED, axum::Json(movement)))
}

/// Records goods received at a location: `on_hand` goes up.
#[utoipa::path(post, path = "/v1/locations/{id}/receipts", tag = "stock",
    request_body = ReceiptBody, security(("bearer" = [])),
    params(("id" = soldout_core::ids::LocationId, Path, description = "Location id")),
    responses(
        (status = 201, description = "The movement, with the levels after it", body = Movement),
        (status = 404, description = "Unknown location or SKU", body = Problem),
        (status = 422, description = "Quantity not between 1 and 1,000,000", body = Problem)))]
pub async fn receive(
    _: AdminOnly,
    State(state): State<AppState>,
    Path(id): Path<LocationId>,
    Json(body): Json<ReceiptBody>,
) -> ApiResult<(StatusCode, axum::Json<Movement>)> {
    let reference = body
        .reference
        .as_deref()
        .map(|r| bounded_text("reference", r))
        .transpose()
        .map_err(|e| Problem::invalid(e.to_string()))?;
    let movement = NewMovement {
        location: id,
        sku: body.sku,
        kind: MovementKind::Receipt,
        quantity: body.quantity,
        reference,
        at: state.clock.now(),
    };
    record(&state, movement).await
}

/// Records a counted correction: `on_hand` changes by `delta`, never below what is
/// reserved.
#[utoipa::path(post, path = "/v1/locations/{id}/adjustments", tag = "stock",
    request_body = AdjustmentBody, security(("bearer" = [])),
    params(("id" = soldout_core::ids::LocationId, Path, description = "Location id")),
    responses(
        (status = 201, description = "The movement, with the levels after it", body = Movement),
        (status = 404, description = "Unknown location or SKU", body = Problem),
        (status = 409, description = "Would take available stock below zero", body = Problem),
        (status = 422, description = "Delta 0 or beyond 1,000,000", body = Problem)))]
pub async fn adjust(
    _: AdminOnly,
    State(state): State<AppState>,
    Path(id): Path<LocationId>,
    Json(body): Json<AdjustmentBody>,
) -> ApiResult<(StatusCode, axum::Json<Movement>)> {
    let reason =
        bounded_text("reason", &body.reason).map_err(|e| Problem::invalid(e.to_string()))?;
    let movement = NewMovement {
        location: id,
        sku: body.sku,
        kind: MovementKind::Adjustment,
        quantity: body.delta,
        reference: Some(reason),
        at: state.clock.now(),
    };
    record(&state, movement).await
}

/// A location's levels per SKU (admin, or the store's clerk).
#[utoipa::path(get, path = "/v1/locations/{id}/stock", tag = "stock", security(("bearer" = [])),
    params(("id" = soldout_core::ids::LocationId, Path, description = "Location id")),
    responses(
        (status = 200, description = "Levels per SKU", body = [StockLine]),
        (status = 403, description = "Another store's clerk", body = Problem),
        (status = 404, description = "Unknown location", body = Problem)))]
pub async fn stock(
    staff: Staff,
    State(state): State<AppState>,
    Path(id): Path<LocationId>,
) -> ApiResult<axum::Json<Vec<StockLine>>> {
    staff.check_at(&id)?;
    existing_location(&state, &id).await?;
    Ok(axum::Json(state.store.stock(&id).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct MovementsQuery {
    /// Only movements with an id above this (the previous page's `next_after`).
    pub after: Option<i64>,
    /// Page size, 1 to 1,000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MovementsPage {
    pub movements: Vec<Movement>,
    /// Pass as `after` for the next page; `null` at the end.
    pub next_after: Option<i64>,
}

/// A location's stock ledger, oldest first, a page at a time (admin, or the store's
/// clerk).
#[utoipa::path(get, path = "/v1/locations/{id}/movements", tag = "stock", security(("bearer" = [])),
    params(("id" = soldout_core::ids::LocationId, Path, description = "Location id"), MovementsQuery),
    responses(
        (status = 200, description = "A page of movements", body = MovementsPage),
        (status = 404, description = "Unknown location", body = Problem)))]
pub async fn movements(
    staff: Staff,
    State(state): State<AppState>,
    Path(id): Path<LocationId>,
    Query(query): Query<MovementsQuery>,
) -> ApiResult<axum::Json<MovementsPage>> {
    staff.check_at(&id)?;
    let limit = query.limit.unwrap_or(MOVEMENTS_PAGE_DEFAULT);
    if !(1..=MOVEMENTS_PAGE_MAX).contains(&limit) {
        return Err(Problem::invalid(format!(
            "limit {limit} must be between 1 and {MOVEMENTS_PAGE_MAX}"
        )));
    }
    existing_location(&state, &id).await?;
    let page = state.store.movements(&id, query.after, limit).await?;
    Ok(axum::Json(MovementsPage {
        movements: page.movements,
        next_after: page.next_after,
    }))
}
