//! `/catalog`: the lineup of every market (each product's launch status, its teaser,
//! unveiling and first sale day, its prices) and a calendar of what comes next: the
//! teasers, unveilings and first sales still ahead, and the flash sales not yet begun.

use super::{failed, respond, session, PageResult};
use crate::AppState;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, Utc};
use maud::{html, Markup};
use soldout_core::lineup::{Lineup, LineupProduct};
use soldout_core::sale::SaleStatus;
use soldout_core::{display_amount, Currency};

pub async fn page(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if session(&headers, &state).await.is_none() {
        return Redirect::to("/login").into_response();
    }
    respond("Catalog & launches", render(&state).await, html! {})
}

/// One dated thing on the calendar.
struct Happening {
    at: DateTime<Utc>,
    what: String,
    market: String,
    link: Option<String>,
}

async fn render(state: &AppState) -> PageResult {
    let now = state.clock.now();
    let mut lineups = Vec::new();
    for market in state.store.markets().await.map_err(failed)? {
        let entries = state.store.lineup(&market.code).await.map_err(failed)?;
        lineups.push(Lineup::build(&market, entries, now));
    }
    let mut calendar: Vec<Happening> = Vec::new();
    for lineup in &lineups {
        for p in &lineup.products {
            let l = &p.launch;
            for (at, step) in [
                (l.teaser_at, "teaser"),
                (l.unveil_at, "unveiling"),
                (l.sale_from, "first sale day"),
            ] {
                if at > now {
                    calendar.push(Happening {
                        at,
                        what: format!("{}: {step}", p.name),
                        market: lineup.market.to_string(),
                        link: None,
                    });
                }
            }
        }
    }
    for sale in state.engine.sales() {
        if sale.status == SaleStatus::Scheduled {
            calendar.push(Happening {
                at: sale.starts_at,
                what: format!(
                    "Flash sale #{}: {} units of {}",
                    sale.id, sale.quantity, sale.sku
                ),
                market: sale.market.to_string(),
                link: Some(format!("/shop/sales/{}", sale.id)),
            });
        }
    }
    calendar.sort_by(|a, b| (a.at, &a.what).cmp(&(b.at, &b.what)));
    Ok(html! {
        p { "As of " (now.format("%Y-%m-%d %H:%M UTC")) "." }
        h2 { "Coming up" }
        @if calendar.is_empty() {
            p.empty { "Nothing is scheduled: no teaser, unveiling, first sale day or flash sale lies ahead." }
        } @else {
            table {
                thead { tr { th { "When (UTC)" } th { "Market" } th { "What" } } }
                tbody {
                    @for h in &calendar {
                        tr {
                            td { time datetime=(h.at.to_rfc3339()) { (h.at.format("%a %Y-%m-%d %H:%M")) } }
                            td { (h.market) }
                            td { @if let Some(link) = &h.link { a href=(link) { (h.what) } } @else { (h.what) } }
                        }
                    }
                }
            }
        }
        @if lineups.is_empty() {
            p.empty { "No market yet. Add one with " code { "POST /v1/markets" } "." }
        }
        @for lineup in &lineups {
            h2 { "Lineup in " (lineup.market) " (" (lineup.currency) ")" }
            @if lineup.products.is_empty() {
                p.empty { "Nothing launched or planned in " (lineup.market) " yet." }
            } @else {
                table {
                    thead { tr { th { "Product" } th { "Status" } th { "Teaser" } th { "Unveiled" } th { "On sale from" } th.n { "Price" } } }
                    tbody {
                        @for p in &lineup.products {
                            tr {
                                td { (p.name) }
                                td { (p.status.as_str().replace('_', " ")) }
                                td { (day(p.launch.teaser_at)) }
                                td { (day(p.launch.unveil_at)) }
                                td { (day(p.launch.sale_from)) }
                                td.n { (price_range(p, lineup.currency)) }
                            }
                        }
                    }
                }
            }
        }
    })
}

fn day(at: DateTime<Utc>) -> Markup {
    html! { time datetime=(at.to_rfc3339()) { (at.format("%Y-%m-%d")) } }
}

/// `INR 9,999.00`, or `INR 9,999.00 – 12,999.00` over the SKUs, or "no price yet".
fn price_range(product: &LineupProduct, currency: Currency) -> String {
    let prices = product.skus.iter().filter_map(|s| s.price);
    match (prices.clone().min(), prices.max()) {
        (Some(low), Some(high)) if low == high => display_amount(low, currency),
        (Some(low), Some(high)) => format!(
            "{} – {}",
            display_amount(low, currency),
            display_amount(high, currency)
        ),
        _ => "no price yet".to_owned(),
    }
}
