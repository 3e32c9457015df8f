//! `/` (`?period=2017Q2&market=IN`): a quarter at a glance, from the same reports as
//! the API: units, revenue, growth, share and rank per market, the year against its
//! target, units per quarter with the YoY line, and share by vendor in one market.
//! The default quarter is the latest complete one by the server's clock.

use super::{failed, forbidden, respond, session, PageResult};
use crate::AppState;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{html, Markup, PreEscaped};
use serde::Deserialize;
use soldout_core::report::QuarterReport;
use soldout_core::shipment::Quarter;
use soldout_core::{MarketCode, Principal};
use soldout_engine::reports::{self, human_dollars, human_growth, human_units, BRAND_KEY};

/// Quarters the period picker offers.
const PICKER_QUARTERS: usize = 12;
/// Quarters the units chart shows.
const CHART_QUARTERS: usize = 8;

#[derive(Deserialize)]
pub struct OverviewQuery {
    period: Option<String>,
    market: Option<String>,
}

fn back(quarter: Quarter, n: usize) -> Quarter {
    (0..n).fold(quarter, |q, _| q.previous())
}

pub async fn page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<OverviewQuery>,
) -> Response {
    match session(&headers, &state).await {
        None => return Redirect::to("/login").into_response(),
        Some(Principal::Admin) => {}
        Some(_) => {
            return forbidden(
                true,
                "The overview is the company's; a clerk sees their store's pages.",
            )
        }
    }
    respond(
        "Overview",
        render(&state, query).await,
        html! { p { a href="/" { "Back to the latest quarter" } } },
    )
}

async fn render(state: &AppState, query: OverviewQuery) -> PageResult {
    let store = state.store.as_ref();
    let latest = Quarter::of(state.clock.now().date_naive()).previous();
    let period = match query.period.as_deref().filter(|p| !p.is_empty()) {
        Some(text) => text
            .parse::<Quarter>()
            .map_err(|e| (StatusCode::UNPROCESSABLE_ENTITY, e.to_string()))?,
        None => latest,
    };
    let markets = store.markets().await.map_err(failed)?;
    let chosen = match query.market.as_deref().filter(|m| !m.is_empty()) {
        Some(text) => Some(
            MarketCode::parse(text)
                .ok()
                .filter(|m| markets.iter().any(|k| &k.code == m))
                .ok_or_else(|| {
                    (
                        StatusCode::NOT_FOUND,
                        format!("there is no market {text:?}"),
                    )
                })?,
        ),
        None => None,
    };
    let all = reports::quarter(store, period, None)
        .await
        .map_err(failed)?;
    let mut per_market = Vec::new();
    for market in &markets {
        per_market.push(
            reports::quarter(store, period, Some(&market.code))
                .await
                .map_err(failed)?,
        );
    }
    let shown = chosen.as_ref().map_or(&all, |code| {
        per_market
            .iter()
            .find(|r| r.market.as_deref() == Some(code.as_str()))
            .unwrap_or(&all)
    });
    let year = reports::year(store, state.clock, period.year)
        .await
        .map_err(failed)?;
    let trend = reports::trend(
        store,
        back(period, CHART_QUARTERS - 1),
        period,
        chosen.as_ref(),
    )
    .await
    .map_err(failed)?;
    // The share chart: the chosen market, else the first the tracker covers.
    let share_of = match &chosen {
        Some(c) => per_market
            .iter()
            .find(|r| r.market.as_deref() == Some(c.as_str())),
        None => per_market.iter().find(|r| !r.vendors.is_empty()),
    }
    .filter(|r| !r.vendors.is_empty());
    let brand = store.meta(BRAND_KEY).await.map_err(failed)?;
    let place = chosen
        .as_ref()
        .map_or("all markets".to_owned(), |m| m.to_string());
    Ok(html! {
        form method="get" action="/" {
            label for="period" { "Quarter" }
            select id="period" name="period" {
                @for i in 0..PICKER_QUARTERS {
                    @let q = back(latest, i);
                    option value=(q) selected[q == period] { (q) }
                }
            }
            label for="market" { "Market" }
            select id="market" name="market" {
                option value="" selected[chosen.is_none()] { "All markets" }
                @for m in &markets {
                    option value=(m.code) selected[chosen.as_ref() == Some(&m.code)] { (m.name) " (" (m.code) ")" }
                }
            }
            button type="submit" { "Show" }
        }
        h2 { (period) ", " (place) }
        @if shown.units == 0 {
            p.empty { "No shipments in " (period) " yet. Sales write them as units are handed over; history comes in with "
                code { "soldout import shipments FILE.csv" } "." }
        } @else {
            (figures(shown))
        }
        h2 { "Markets" }
        @if markets.is_empty() {
            p.empty { "No markets yet: create one with " code { "POST /v1/markets" } "." }
        } @else {
            table {
                thead { tr { th { "Market" } th.n { "Units" } th.n { "QoQ" } th.n { "YoY" } th.n { "Share" } th.n { "Rank" } } }
                tbody {
                    @for r in &per_market {
                        tr {
                            td { a href={ "/?period=" (period) "&market=" (r.market.as_deref().unwrap_or("")) } { (r.market.as_deref().unwrap_or("")) } }
                            td.n { (human_units(r.units)) }
                            td.n { (human_growth(r.units_qoq)) }
                            td.n { (human_growth(r.units_yoy)) }
                            td.n { (r.share.map_or("n/a".into(), |s| format!("{:.1}%", s * 100.0))) }
                            td.n { (r.rank.map_or("n/a".into(), |n| format!("#{n}"))) }
                        }
                    }
                }
            }
        }
        h2 { (period.year) " against its target" }
        @match year.target {
            None => p.empty { "No target for " (period.year) ": set one with " code { "soldout target set " (period.year) " --units N" } "." },
            Some(target) => p {
                (human_units(year.units)) " of " (human_units(target)) " units in " (year.complete_quarters.len()) " complete quarters ("
                (year.progress.map_or("n/a".into(), |p| format!("{:.1}%", p * 100.0))) "); forecast "
                (year.forecast.map_or("n/a".into(), human_units)) ", "
                (match year.on_track { Some(true) => "on track", Some(false) => "behind", None => "no complete quarter yet" }) "."
            },
        }
        h2 { "Units per quarter" }
        figure { (PreEscaped(reports::trend_chart(&trend))) }
        h2 { "Share by vendor" }
        @match share_of {
            Some(report) => figure { (PreEscaped(reports::quarter_chart(report, brand.as_deref()))) },
            None => p.empty { "No tracker data for " (period) " in " (place) ": import it with " code { "soldout import tracker FILE.csv" } "." },
        }
    })
}

fn figures(r: &QuarterReport) -> Markup {
    html! {
        div.figures {
            div.figure { "Units" b { (human_units(r.units)) } }
            div.figure { "Revenue" b { (r.revenue_usd.map_or("n/a".into(), human_dollars)) } }
            div.figure { "QoQ" b { (human_growth(r.units_qoq)) } }
            div.figure { "YoY" b { (human_growth(r.units_yoy)) } }
            div.figure { "Revenue YoY" b { (human_growth(r.revenue_yoy)) } }
            @if let (Some(share), Some(rank)) = (r.share, r.rank) {
                div.figure { "Share" b { (format!("{:.1}%", share * 100.0)) } }
                div.figure { "Rank" b { "#" (rank) } }
            }
        }
        @if !r.missing_fx.is_empty() {
            p { "No exchange rate for "
                @for (i, m) in r.missing_fx.iter().enumerate() { @if i > 0 { ", " } (m.period) " " (m.currency) } "." }
        }
    }
}
