//! `/sales` and the live sale page `/sales/{id}`: units available, reserved, paid and
//! fulfilled, registrations, buy answers by kind and requests per second, and units
//! sold over time. The page is complete as served; `/sales/{id}/events` (server-sent
//! events) then refreshes it at most [`UPDATES_PER_SECOND`] times a second however
//! busy the sale, and sends the chart again only when the curve moved.

use super::{respond, turn_away_unless_admin, PageResult};
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::stream::{self, Stream, StreamExt};
use maud::{html, Markup, PreEscaped};
use serde::Serialize;
use soldout_core::sale::{to_ms, SaleId};
use soldout_engine::{charts, Answers, LiveSale, SaleView};
use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Most updates the live page gets a second.
pub const UPDATES_PER_SECOND: u32 = 2;

/// Why a clerk may not open these pages.
const NOT_A_CLERKS: &str = "Flash sales are the company's; a clerk sees their store's pages.";

pub async fn list(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Some(response) = turn_away_unless_admin(&headers, &state, NOT_A_CLERKS).await {
        return response;
    }
    let sales = state.engine.sales();
    respond(
        "Flash sales",
        Ok(html! {
            @if sales.is_empty() {
                p.empty { "No flash sale yet. Create one with " code { "soldout sale create" } " or " code { "POST /v1/sales" } "." }
            } @else {
                table {
                    thead { tr { th { "Sale" } th { "SKU" } th { "Market" } th { "Status" } th { "Starts" } th.n { "Units" } th.n { "Available" } } }
                    tbody {
                        @for s in sales.iter().rev() {
                            tr {
                                td { a href={ "/sales/" (s.id) } { "#" (s.id) } }
                                td { (s.sku) } td { (s.market) } td { (status_word(s)) }
                                td { (s.starts_at.format("%Y-%m-%d %H:%M UTC")) }
                                td.n { (s.quantity) } td.n { (s.available) }
                            }
                        }
                    }
                }
            }
        }),
        html! {},
    )
}

pub async fn show(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Response {
    if let Some(response) = turn_away_unless_admin(&headers, &state, NOT_A_CLERKS).await {
        return response;
    }
    let title = format!("Sale #{id}");
    respond(
        &title,
        render(&state, SaleId(id)),
        html! {
            p { a href="/sales" { "Every sale" } }
        },
    )
}

fn unknown(id: SaleId) -> (StatusCode, String) {
    (StatusCode::NOT_FOUND, format!("There is no sale {id}."))
}

fn status_word(sale: &SaleView) -> &'static str {
    if sale.sold_out_at.is_some() && sale.available == 0 && sale.released == 0 {
        "sold out"
    } else {
        sale.status.as_str()
    }
}

fn render(state: &AppState, id: SaleId) -> PageResult {
    let live = state.engine.live(id).ok_or_else(|| unknown(id))?;
    let update = Update::of(&live, 0.0, true);
    let s = &live.sale;
    Ok(html! {
        p {
            (s.sku) " in " (s.market) " from " (s.location) ", "
            (s.starts_at.format("%Y-%m-%d %H:%M:%S UTC")) " to " (s.ends_at.format("%Y-%m-%d %H:%M:%S UTC"))
            ". " a href={ "/shop/sales/" (s.id) } { "Its storefront page" } "."
        }
        p { "Status: " strong data-field="status" { (update.status) } " · "
            span data-live="state" { "live updates starting…" } }
        section.figures aria-label="Units" {
            (figure("Available", "available", update.available))
            (figure("Reserved", "reserved", update.reserved))
            (figure("Paid", "paid", update.paid))
            (figure("Fulfilled", "fulfilled", update.fulfilled))
            (figure("Registrations", "registrations", update.registrations))
        }
        h2 { "Buy answers since the server started" }
        section.figures aria-label="Answers" {
            div.figure { "Requests per second" b data-field="rps" { "0" } }
            (figure("Sold", "sold", update.answers.sold))
            (figure("Replays", "replayed", update.answers.replayed))
            (figure("Sold out", "sold_out", update.answers.sold_out))
            (figure("Limit reached", "limit", update.answers.limit))
            (figure("Overloaded", "overloaded", update.answers.overloaded))
            (figure("Other refusals", "other", update.answers.other))
        }
        h2 { "Units sold over time" }
        div #sold-chart role="img" aria-label="Units sold over time" {
            (PreEscaped(update.chart.as_deref().unwrap_or_default()))
        }
        script { (PreEscaped(LIVE_SCRIPT.replace("{ID}", &id.to_string()))) }
    })
}

fn figure(label: &str, field: &str, value: impl std::fmt::Display) -> Markup {
    html! { div.figure { (label) b data-field=(field) { (value) } } }
}

/// Fills `[data-field]` elements from each update, and the chart when one comes.
const LIVE_SCRIPT: &str = r#"
(function () {
  var state = document.querySelector('[data-live=state]');
  var source = new EventSource('/sales/{ID}/events');
  source.onopen = function () { state.textContent = 'live'; };
  source.onerror = function () {
    state.textContent = source.readyState === EventSource.CLOSED
      ? 'stopped: reload the page (signed out, or the server stopped)'
      : 'reconnecting…';
  };
  source.addEventListener('update', function (e) {
    var u = JSON.parse(e.data);
    var values = Object.assign({}, u, u.answers);
    document.querySelectorAll('[data-field]').forEach(function (el) {
      var v = values[el.dataset.field];
      if (v !== undefined && v !== null) el.textContent = v;
    });
    if (u.chart) document.getElementById('sold-chart').innerHTML = u.chart;
  });
})();
"#;

/// One refresh of the live page.
#[derive(Debug, Serialize)]
struct Update {
    status: &'static str,
    available: u32,
    reserved: u32,
    paid: u32,
    fulfilled: u32,
    registrations: u32,
    answers: Answers,
    /// Buy answers per second since the previous update.
    rps: String,
    /// The chart, when the curve moved since the previous update.
    chart: Option<String>,
}

impl Update {
    fn of(live: &LiveSale, rps: f64, with_chart: bool) -> Self {
        let s = &live.sale;
        Update {
            status: status_word(s),
            available: s.available,
            reserved: s.reserved,
            paid: s.paid,
            fulfilled: s.fulfilled,
            registrations: s.registrations,
            answers: live.answers,
            rps: format!("{rps:.0}"),
            chart: with_chart.then(|| sold_chart(live)),
        }
    }
}

/// The step chart of units held for buyers, from zero at the start.
fn sold_chart(live: &LiveSale) -> String {
    let start_ms = to_ms(live.sale.starts_at);
    let points: Vec<(f64, i64)> = std::iter::once((0.0, 0))
        .chain(
            live.sold_curve
                .iter()
                .map(|&(at, units)| ((at - start_ms) as f64 / 1000.0, i64::from(units))),
        )
        .collect();
    charts::units_over_time(
        &format!("{} in {}", live.sale.sku, live.sale.market),
        &points,
    )
}

/// What the stream remembers between ticks.
struct Tick {
    interval: tokio::time::Interval,
    last: Option<Seen>,
}

/// What the previous update showed.
struct Seen {
    at: Instant,
    requests: u64,
    curve: Arc<Vec<(i64, u32)>>,
}

pub async fn events(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Response {
    if let Some(response) = turn_away_unless_admin(&headers, &state, NOT_A_CLERKS).await {
        return response;
    }
    let id = SaleId(id);
    if state.engine.sale(id).is_none() {
        return (StatusCode::NOT_FOUND, unknown(id).1).into_response();
    }
    let closed = state.streams_closed();
    Sse::new(updates(state, id).take_until(closed))
        .keep_alive(KeepAlive::default())
        .into_response()
}

fn updates(state: AppState, id: SaleId) -> impl Stream<Item = Result<Event, Infallible>> {
    let mut interval = tokio::time::interval(Duration::from_secs(1) / UPDATES_PER_SECOND);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let start = Tick {
        interval,
        last: None,
    };
    stream::unfold(start, move |mut tick| {
        let state = state.clone();
        async move {
            tick.interval.tick().await;
            let live = state.engine.live(id)?;
            let now = Instant::now();
            let (rps, chart_moved) = match &tick.last {
                Some(seen) => {
                    let seconds = now.duration_since(seen.at).as_secs_f64().max(1e-3);
                    let asked = live.answers.requests.saturating_sub(seen.requests);
                    let moved = !Arc::ptr_eq(&seen.curve, &live.sold_curve);
                    (asked as f64 / seconds, moved)
                }
                None => (0.0, true),
            };
            tick.last = Some(Seen {
                at: now,
                requests: live.answers.requests,
                curve: live.sold_curve.clone(),
            });
            let update = Update::of(&live, rps, chart_moved);
            let event = Event::default()
                .event("update")
                .json_data(&update)
                .unwrap_or_else(|_| Event::default().comment("unserializable update"));
            Some((Ok(event), tick))
        }
    })
}
