//! `/stores` and `/stores/{id}`: each signature store's stock per SKU (low stock
//! highlighted), incoming transfers, today's sales (by the server's clock, UTC day)
//! and open discrepancies. An admin sees every store; a clerk only their own (another
//! store's page is a 403, and `/stores` leads straight to theirs).

use super::{failed, forbidden, respond, session, PageResult};
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use soldout_core::transfer::TransferStatus;
use soldout_core::{LocationId, LocationKind, Principal};
use soldout_engine::reports::human_units;

/// Available units at or below which a SKU is low on stock.
pub const LOW_STOCK: i64 = 5;
/// Sales a store page reads, newest first.
const SALES_READ: u32 = 200;

pub async fn list(State(state): State<AppState>, headers: HeaderMap) -> Response {
    match session(&headers, &state).await {
        None => Redirect::to("/login").into_response(),
        Some(Principal::Clerk { store, .. }) => {
            Redirect::to(&format!("/stores/{store}")).into_response()
        }
        Some(Principal::Admin) => respond("Stores", list_markup(&state).await, html! {}),
        Some(_) => forbidden(true, "The stores' pages are for staff."),
    }
}

async fn list_markup(state: &AppState) -> PageResult {
    let store = state.store.as_ref();
    let stores: Vec<_> = store
        .locations()
        .await
        .map_err(failed)?
        .into_iter()
        .filter(|l| l.kind == LocationKind::Store)
        .collect();
    let mut rows = Vec::new();
    for location in &stores {
        let stock = store.stock(&location.id).await.map_err(failed)?;
        let low = stock.iter().filter(|s| s.available <= LOW_STOCK).count();
        let on_hand: i64 = stock.iter().map(|s| s.on_hand).sum();
        rows.push((location, on_hand, low));
    }
    Ok(html! {
        @if rows.is_empty() {
            p.empty { "No signature stores yet: create one with " code { "POST /v1/locations" } " (kind " code { "store" } ")." }
        } @else {
            table {
                thead { tr { th { "Store" } th { "City" } th { "Market" } th.n { "On hand" } th.n { "SKUs low" } } }
                tbody {
                    @for (location, on_hand, low) in &rows {
                        tr {
                            td { a href={ "/stores/" (location.id) } { (location.name) } }
                            td { (location.city) }
                            td { (location.market) }
                            td.n { (human_units(*on_hand)) }
                            td.n class=[(*low > 0).then_some("low")] { (low) }
                        }
                    }
                }
            }
        }
    })
}

pub async fn show(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let Some(principal) = session(&headers, &state).await else {
        return Redirect::to("/login").into_response();
    };
    let Ok(id) = LocationId::parse(&id) else {
        return respond(
            "Store",
            Err((StatusCode::NOT_FOUND, "there is no such store".into())),
            html! {},
        );
    };
    if !principal.may_act_at(&id) {
        return forbidden(true, "This is another store's page.");
    }
    respond("Store", store_markup(&state, &id).await, html! {})
}

async fn store_markup(state: &AppState, id: &LocationId) -> PageResult {
    let store = state.store.as_ref();
    let location = store
        .location(id)
        .await
        .map_err(failed)?
        .filter(|l| l.kind == LocationKind::Store)
        .ok_or_else(|| (StatusCode::NOT_FOUND, format!("there is no store {id}")))?;
    let stock = store.stock(id).await.map_err(failed)?;
    let incoming: Vec<_> = store
        .transfers(id)
        .await
        .map_err(failed)?
        .into_iter()
        .filter(|t| &t.to == id && t.status == TransferStatus::InTransit)
        .collect();
    let today = state.clock.now().date_naive();
    let sales: Vec<_> = store
        .pos_sales(id, SALES_READ)
        .await
        .map_err(failed)?
        .into_iter()
        .filter(|s| s.occurred_at.date_naive() == today)
        .collect();
    let open: Vec<_> = store
        .discrepancies(Some(id))
        .await
        .map_err(failed)?
        .into_iter()
        .filter(|d| d.resolved_at.is_none())
        .collect();
    Ok(html! {
        h2 { (location.name) ", " (location.city) " (" (location.market) ")" }
        h3 { "Stock" }
        @if stock.is_empty() {
            p.empty { "No stock here yet: a transfer from a warehouse brings some." }
        } @else {
            table {
                thead { tr { th { "SKU" } th.n { "Available" } th.n { "On hand" } th.n { "Reserved" } th.n { "Incoming" } th.n { "Damaged" } } }
                tbody {
                    @for s in &stock {
                        tr class=[(s.available <= LOW_STOCK).then_some("low")] {
                            td { (s.sku) @if s.available <= LOW_STOCK { " (low)" } }
                            td.n { (s.available) } td.n { (s.on_hand) } td.n { (s.reserved) }
                            td.n { (s.incoming) } td.n { (s.damaged) }
                        }
                    }
                }
            }
        }
        h3 { "Incoming transfers" }
        @if incoming.is_empty() {
            p.empty { "Nothing on its way." }
        } @else {
            ul { @for t in &incoming {
                li { "Transfer " (t.id) " from " (t.from) ": "
                    @for (i, l) in t.lines.iter().enumerate() { @if i > 0 { ", " } (l.quantity) " × " (l.sku) } }
            } }
        }
        h3 { "Today's sales (" (today) ")" }
        @if sales.is_empty() {
            p.empty { "No sales yet today." }
        } @else {
            table {
                thead { tr { th { "Receipt" } th { "At (UTC)" } th { "Items" } th.n { "Total" } } }
                tbody { @for s in &sales {
                    tr {
                        td { (s.id) @if s.offline { " (synced)" } }
                        td { (s.occurred_at.format("%H:%M")) }
                        td { @for (i, l) in s.lines.iter().enumerate() { @if i > 0 { ", " } (l.quantity) " × " (l.sku) } }
                        td.n { (s.total) " " (s.currency) " (minor units)" }
                    }
                } }
            }
        }
        h3 { "Open discrepancies" }
        @if open.is_empty() {
            p.empty { "None open." }
        } @else {
            ul { @for d in &open {
                li { (d.kind.as_str()) ": " (d.quantity) " × " (d.sku) " (" (d.reference) ")" }
            } }
        }
    })
}
