//! Signature stores: clerks, the point of sale (online and synced after an outage),
//! returns and refunds, stock discrepancies, and the device registry. A clerk acts
//! only in their own store; an admin acts anywhere.

use super::locations::existing_location;
use super::ApiResult;
use crate::auth::{AdminOnly, Staff};
use crate::problem::extract::{Json, Path, Query};
use crate::problem::Problem;
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use soldout_core::device::{Device, NewReturn, Refund, ReturnError};
use soldout_core::discrepancy::Discrepancy;
use soldout_core::ids::bounded_text;
use soldout_core::pos::{NewPosSale, Receipt, SYNC_BATCH_MAX};
use soldout_core::{Location, LocationId, LocationKind, Market, Serial};
use soldout_engine::pos;
use soldout_store::{PosOutcome, ReturnRecord, StoreError};
use utoipa::{IntoParams, ToSchema};

/// Receipts per page when `limit` is left out, and the most one page holds.
const RECEIPTS_PAGE_DEFAULT: u32 = 100;
const RECEIPTS_PAGE_MAX: u32 = 1_000;

/// A store (not a warehouse) that exists, with its market.
pub(super) async fn existing_store(
    state: &AppState,
    id: &LocationId,
) -> ApiResult<(Location, Market)> {
    let location = existing_location(state, id).await?;
    if location.kind != LocationKind::Store {
        return Err(Problem::invalid(format!(
            "{id} is a {}, not a store",
            location.kind.as_str()
        )));
    }
    let market = state
        .store
        .market(&location.market)
        .await?
        .ok_or_else(Problem::internal)?;
    Ok((location, market))
}

/// Records a sale at `store` through the engine's point of sale.
async fn record_sale(
    state: &AppState,
    staff: &Staff,
    (store, market): (&Location, &Market),
    body: NewPosSale,
    offline: bool,
) -> ApiResult<PosOutcome> {
    Ok(pos::record_sale(
        state.store.as_ref(),
        state.clock,
        (store, market),
        staff.clerk(),
        body,
        offline,
    )
    .await?)
}

/// Sells over the counter from the store's stock and records each unit's serial.
/// The same `client_id` again records nothing and answers with the first receipt.
#[utoipa::path(post, path = "/v1/locations/{store}/sales", tag = "stores",
    request_body = NewPosSale, security(("bearer" = [])),
    params(("store" = soldout_core::ids::LocationId, Path, description = "Store id")),
    responses(
        (status = 201, description = "Recorded: the receipt, with a device token per serial", body = ReceiptWithDevices),
        (status = 200, description = "This client_id was recorded before: its receipt", body = ReceiptWithDevices),
        (status = 403, description = "Another store's clerk", body = Problem),
        (status = 409, description = "insufficient-stock, serial-sold, not-launched or no-price", body = Problem),
        (status = 422, description = "Serials do not match quantities, or a bad field", body = Problem)))]
pub async fn sell(
    staff: Staff,
    State(state): State<AppState>,
    Path(store): Path<LocationId>,
    Json(body): Json<NewPosSale>,
) -> ApiResult<(StatusCode, axum::Json<ReceiptWithDevices>)> {
    staff.check_at(&store)?;
    let (location, market) = existing_store(&state, &store).await?;
    let (status, receipt) =
        match record_sale(&state, &staff, (&location, &market), body, false).await? {
            PosOutcome::Recorded(receipt) => (StatusCode::CREATED, receipt),
            PosOutcome::Duplicate(receipt) => (StatusCode::OK, receipt),
        };
    let serials: Vec<_> = receipt
        .lines
        .iter()
        .flat_map(|l| l.serials.clone())
        .collect();
    let device_tokens = super::os::device_tokens(&state, &serials).await?;
    Ok((
        status,
        axum::Json(ReceiptWithDevices {
            receipt,
            device_tokens,
        }),
    ))
}

/// A receipt, and the token each unit it handed over checks in with.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ReceiptWithDevices {
    #[serde(flatten)]
    pub receipt: Receipt,
    pub device_tokens: Vec<super::os::DeviceToken>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ReceiptsQuery {
    /// Most receipts to return, newest first (1 to 1,000; default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
}

/// A store's receipts, newest first.
#[utoipa::path(get, path = "/v1/locations/{store}/sales", tag = "stores", operation_id = "list_store_sales",
    security(("bearer" = [])),
    params(("store" = soldout_core::ids::LocationId, Path, description = "Store id"), ReceiptsQuery),
    responses(
        (status = 200, description = "Receipts", body = [Receipt]),
        (status = 403, description = "Another store's clerk", body = Problem)))]
pub async fn list_sales(
    staff: Staff,
    State(state): State<AppState>,
    Path(store): Path<LocationId>,
    Query(query): Query<ReceiptsQuery>,
) -> ApiResult<axum::Json<Vec<Receipt>>> {
    staff.check_at(&store)?;
    let limit = query.limit.unwrap_or(RECEIPTS_PAGE_DEFAULT);
    if !(1..=RECEIPTS_PAGE_MAX).contains(&limit) {
        return Err(Problem::invalid(format!(
            "limit {limit} must be between 1 and {RECEIPTS_PAGE_MAX}"
        )));
    }
    existing_store(&state, &store).await?;
    Ok(axum::Json(state.store.pos_sales(&store, limit).await?))
}

/// Body of `POST /v1/locations/{store}/sales:sync`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SyncBody {
    /// Up to 1,000 sales as `POST .../sales` takes them, each with `occurred_at`.
    #[schema(value_type = Vec<NewPosSale>)]
    pub sales: Vec<serde_json::Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SyncStatus {
    /// Recorded by this request.
    Applied,
    /// Recorded before, by an earlier sync or an online sale: nothing changed.
    Duplicate,
    /// Not recorded; `reason` says why.
    Rejected,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SyncResult {
    /// The sale's `client_id` (`null` when the entry had none).
    pub client_id: Option<String>,
    pub status: SyncStatus,
    /// The receipt's id, when there is one.
    pub sale: Option<i64>,
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$"
    )]
    pub reason: Option<String>,
    /// The token each unit of the receipt checks in with for OS updates.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub device_tokens: Vec<super::os::DeviceToken>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SyncAnswer {
    pub results: Vec<SyncResult>,
}

/// Syncs sales a store made while it was offline. Each is applied exactly once
/// whatever the order and however often the batch is resent; too little stock on
/// record (or a product not launched yet) is recorded anyway and raises a
/// discrepancy; a sale more than 30 days old is rejected.
#[utoipa::path(post, path = "/v1/locations/{store}/sales:sync", tag = "stores",
    request_body = SyncBody, security(("bearer" = [])),
    params(("store" = soldout_core::ids::LocationId, Path, description = "Store id")),
    responses(
        (status = 200, description = "Each sale's outcome, in the order sent", body = SyncAnswer),
        (status = 403, description = "Another store's clerk", body = Problem),
        (status = 422, description = "More than 1,000 sales", body = Problem)))]
pub async fn sync(
    staff: Staff,
    State(state): State<AppState>,
    Path(store): Path<LocationId>,
    Json(body): Json<SyncBody>,
) -> ApiResult<axum::Json<SyncAnswer>> {
    staff.check_at(&store)?;
    if body.sales.len() > SYNC_BATCH_MAX {
        return Err(Problem::invalid(format!(
            "a sync carries at most {SYNC_BATCH_MAX} sales; this one has {}",
            body.sales.len()
        )));
    }
    let (location, market) = existing_store(&state, &store).await?;
    let mut results = Vec::with_capacity(body.sales.len());
    for value in body.sales {
        let client_id = value
            .get("client_id")
            .and_then(|c| c.as_str())
            .map(|c| c.chars().take(200).collect());
        let rejected = |reason: String| SyncResult {
            client_id: client_id.clone(),
            status: SyncStatus::Rejected,
            sale: None,
            reason: Some(reason),
            device_tokens: Vec::new(),
        };
        let sale: NewPosSale = match serde_json::from_value(value) {
            Ok(sale) => sale,
            Err(e) => {
                results.push(rejected(e.to_string()));
                continue;
            }
        };
        let result = match record_sale(&state, &staff, (&location, &market), sale, true).await {
            Ok(PosOutcome::Recorded(r)) => applied(&state, r, SyncStatus::Applied).await?,
            Ok(PosOutcome::Duplicate(r)) => applied(&state, r, SyncStatus::Duplicate).await?,
            Err(problem) if problem.status < 500 => rejected(problem.detail),
            Err(problem) => return Err(problem),
        };
        results.push(result);
    }
    Ok(axum::Json(SyncAnswer { results }))
}

/// A synced sale that has a receipt, with its units' device tokens.
async fn applied(state: &AppState, receipt: Receipt, status: SyncStatus) -> ApiResult<SyncResult> {
    let serials: Vec<_> = receipt
        .lines
        .iter()
        .flat_map(|l| l.serials.clone())
        .collect();
    Ok(SyncResult {
        device_tokens: super::os::device_tokens(state, &serials).await?,
        client_id: Some(receipt.client_id),
        status,
        sale: Some(receipt.id),
        reason: None,
    })
}

/// Takes a unit back within the market's return window and refunds what was paid:
/// a resellable unit goes back to available stock, a damaged one to the damaged
/// count. The serial may then be sold again.
#[utoipa::path(post, path = "/v1/locations/{store}/returns", tag = "stores",
    request_body = NewReturn, security(("bearer" = [])),
    params(("store" = soldout_core::ids::LocationId, Path, description = "Store id")),
    responses(
        (status = 201, description = "Returned: the refund", body = Refund),
        (status = 403, description = "Another store's clerk", body = Problem),
        (status = 404, description = "The serial was never sold", body = Problem),
        (status = 409, description = "not-sold (already returned), return-window-closed, other-market", body = Problem)))]
pub async fn take_return(
    staff: Staff,
    State(state): State<AppState>,
    Path(store): Path<LocationId>,
    Json(body): Json<NewReturn>,
) -> ApiResult<(StatusCode, axum::Json<Refund>)> {
    staff.check_at(&store)?;
    let reason = body.reason().map_err(|e| Problem::invalid(e.to_string()))?;
    let (_, market) = existing_store(&state, &store).await?;
    let device = state
        .store
        .device(&body.serial)
        .await?
        .ok_or_else(|| Problem::not_found(format!("serial {} was never sold", body.serial)))?;
    let now = state.clock.now();
    device
        .check_return(&market.code, market.return_window_days, now)
        .map_err(|e| {
            let (slug, title) = match e {
                ReturnError::NotSold(_) => ("not-sold", "Not sold"),
                ReturnError::WindowClosed { .. } => {
                    ("return-window-closed", "Return window closed")
                }
                ReturnError::OtherMarket { .. } => ("other-market", "Sold in another market"),
            };
            Problem::new(StatusCode::CONFLICT, slug, title, e.to_string())
        })?;
    let refund = state
        .store
        .record_return(&ReturnRecord {
            store,
            serial: body.serial,
            sold_on: device.sold_on,
            reason,
            condition: body.condition,
            at: now,
        })
        .await?;
    Ok((StatusCode::CREATED, axum::Json(refund)))
}

/// Refunds, newest first: all for an admin, their store's for a clerk.
#[utoipa::path(get, path = "/v1/refunds", tag = "stores", security(("bearer" = [])),
    responses((status = 200, description = "Refunds", body = [Refund])))]
pub async fn list_refunds(
    staff: Staff,
    State(state): State<AppState>,
) -> ApiResult<axum::Json<Vec<Refund>>> {
    Ok(axum::Json(state.store.refunds(staff.store()).await?))
}

/// Stock discrepancies, newest first: all for an admin, their store's for a clerk.
#[utoipa::path(get, path = "/v1/discrepancies", tag = "stores", security(("bearer" = [])),
    responses((status = 200, description = "Discrepancies", body = [Discrepancy])))]
pub async fn list_discrepancies(
    staff: Staff,
    State(state): State<AppState>,
) -> ApiResult<axum::Json<Vec<Discrepancy>>> {
    Ok(axum::Json(state.store.discrepancies(staff.store()).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Resolution {
    /// What was found: a recount, a late delivery note.
    #[schema(
        example = "recounted: two boxes were in the back room",
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$"
    )]
    pub note: String,
}

/// Resolves a discrepancy with a note (admin).
#[utoipa::path(post, path = "/v1/discrepancies/{id}/resolve", tag = "stores",
    request_body = Resolution, security(("bearer" = [])),
    params(("id" = i64, Path, description = "Discrepancy id")),
    responses(
        (status = 200, description = "Resolved", body = Discrepancy),
        (status = 404, description = "Unknown discrepancy", body = Problem),
        (status = 409, description = "Already resolved", body = Problem)))]
pub async fn resolve_discrepancy(
    _: AdminOnly,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Json(body): Json<Resolution>,
) -> ApiResult<axum::Json<Discrepancy>> {
    let note = bounded_text("note", &body.note).map_err(|e| Problem::invalid(e.to_string()))?;
    let resolved = state
        .store
        .resolve_discrepancy(id, &note, state.clock.now())
        .await?;
    Ok(axum::Json(resolved))
}

/// A device by serial (admin).
#[utoipa::path(get, path = "/v1/devices/{serial}", tag = "stores", security(("bearer" = [])),
    params(("serial" = soldout_core::ids::Serial, Path, description = "Serial or IMEI")),
    responses(
        (status = 200, description = "The device", body = Device),
        (status = 404, description = "Never sold", body = Problem)))]
pub async fn get_device(
    _: AdminOnly,
    State(state): State<AppState>,
    Path(serial): Path<Serial>,
) -> ApiResult<axum::Json<Device>> {
    state
        .store
        .device(&serial)
        .await?
        .map(axum::Json)
        .ok_or_else(|| StoreError::NotFound {
            what: "device",
            id: serial.to_string(),
        })
        .map_err(Problem::from)
}
