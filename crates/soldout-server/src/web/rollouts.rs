//! `/rollouts` and `/rollouts/{id}` (admin): each OS rollout's state, its current
//! wave, each wave's progress (eligible, offered, installed, failed), and devices
//! installed and failed over time.

use super::{respond, turn_away_unless_admin, PageResult};
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use maud::{html, PreEscaped};
use soldout_core::RolloutId;
use soldout_engine::charts;
use soldout_engine::rollouts::RolloutView;

fn rate(view: &RolloutView) -> String {
    view.failure_rate
        .map(|r| format!("{:.1}%", 100.0 * r))
        .unwrap_or_else(|| "no result yet".into())
}

/// Why a clerk may not open these pages.
const NOT_A_CLERKS: &str = "OS rollouts are the company's; a clerk sees their store's pages.";

pub async fn list(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Some(response) = turn_away_unless_admin(&headers, &state, NOT_A_CLERKS).await {
        return response;
    }
    let mut views = Vec::new();
    for id in state.rollouts.rollout_ids() {
        match state.rollouts.view(&id).await {
            Ok(view) => views.push(view),
            Err(e) => return respond("OS rollouts", Err(super::failed(e)), html! {}),
        }
    }
    respond(
        "OS rollouts",
        Ok(html! {
            @if views.is_empty() {
                p.empty { "No rollout yet. Create a release and a rollout with " code { "soldout rollout release|create" } " or " code { "POST /v1/os/rollouts" } "." }
            } @else {
                table {
                    thead { tr { th { "Rollout" } th { "Release" } th { "State" } th.n { "Wave" } th.n { "Installed" } th.n { "Failure rate" } } }
                    tbody {
                        @for v in &views {
                            tr {
                                td { a href={ "/rollouts/" (v.terms.id) } { (v.terms.id) } }
                                td { (v.terms.release) } td { (v.state) }
                                td.n { (v.wave) " (" (v.percent) "%)" }
                                td.n { (v.waves.last().map(|w| w.progress.installed).unwrap_or(0)) }
                                td.n { (rate(v)) }
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
    Path(id): Path<String>,
) -> Response {
    if let Some(response) = turn_away_unless_admin(&headers, &state, NOT_A_CLERKS).await {
        return response;
    }
    let title = format!("Rollout {id}");
    respond(
        &title,
        render(&state, &id).await,
        html! {
            p { a href="/rollouts" { "Every rollout" } }
        },
    )
}

async fn render(state: &AppState, id: &str) -> PageResult {
    let unknown = || {
        (
            StatusCode::NOT_FOUND,
            format!("There is no rollout {id:?}."),
        )
    };
    let id = RolloutId::parse(id).map_err(|_| unknown())?;
    let view = state.rollouts.view(&id).await.map_err(|_| unknown())?;
    let (installed, failed) = state.rollouts.history(&id).await.map_err(super::failed)?;
    let chart = charts::devices_over_time(
        &format!("{} of {}", view.terms.id, view.terms.release),
        &installed,
        &failed,
    );
    let terms = &view.terms;
    Ok(html! {
        p {
            "Release " strong { (terms.release) } " in " (terms.markets.iter().map(|m| m.as_str()).collect::<Vec<_>>().join(", "))
            " from " (terms.starts_at.format("%Y-%m-%d %H:%M UTC")) ", moving on "
            (if terms.advance == soldout_core::rollout::Advance::Auto { "automatically after each soak" } else { "by hand" })
            ", halting above " (format!("{:.1}%", 100.0 * terms.error_threshold)) " failures once "
            (terms.min_reports) " devices have reported."
        }
        section.figures aria-label="State" {
            div.figure { "State" b { (view.state) } }
            div.figure { "Wave" b { (view.wave) " of " (terms.waves.len()) " (" (view.percent) "%)" } }
            div.figure { "Failure rate" b { (rate(&view)) } }
            div.figure { "Results" b { (view.reports) } }
        }
        @if let Some(reason) = &view.halt_reason {
            p.error role="alert" { "Halted: " (reason) }
        }
        h2 { "Waves (each includes the earlier ones)" }
        table {
            thead { tr { th { "Wave" } th.n { "Devices" } th.n { "Eligible" } th.n { "Offered" } th.n { "Downloading" } th.n { "Installed" } th.n { "Failed" } th { "Installed of eligible" } } }
            tbody {
                @for (i, w) in view.waves.iter().enumerate() {
                    @let reached = i < view.wave;
                    tr class=[(!reached).then_some("pending")] {
                        td { (i + 1) @if i + 1 == view.wave { " (current)" } }
                        td.n { (w.progress.percent) "%" }
                        td.n { (w.eligible) }
                        td.n { (w.progress.offered) }
                        td.n { (w.progress.downloading) }
                        td.n { (w.progress.installed) }
                        td.n { (w.progress.failed) }
                        td {
                            progress max=(w.eligible.max(1)) value=(w.progress.installed.min(w.eligible))
                                aria-label={ "Wave " (i + 1) " installed" } {}
                        }
                    }
                }
            }
        }
        h2 { "Devices over time" }
        @if installed.is_empty() {
            p.empty { "No device has reported yet." }
        } @else {
            div role="img" aria-label="Devices installed and failed over time" { (PreEscaped(chart)) }
        }
    })
}
