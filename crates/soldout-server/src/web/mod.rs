//! The dashboard, server-rendered HTML (maud) with charts drawn as SVG on the server:
//! `/login` takes an admin's or a clerk's token and starts a server-side session: the
//! cookie (`HttpOnly`, `SameSite=Strict`, `Secure` when the public URL is https) holds
//! only a random session id, the store keeps its hash with idle and absolute expiry,
//! and signing out deletes it (the token itself never travels in a cookie); `/` is the
//! overview of a quarter; `/stores` and
//! `/stores/{id}` the signature stores (a clerk sees only their own). No asset comes
//! from the network. Forms that change state are refused unless they come from this
//! site (the `Origin` header, which browsers send with every POST, must be ours).

mod catalog;
mod docs;
mod overview;
mod rollouts;
mod sales;
mod shop;
mod stores;

use crate::AppState;
use axum::extract::rejection::FormRejection;
use axum::extract::{Form, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use maud::{html, Markup, DOCTYPE};
use serde::Deserialize;
use soldout_core::Principal;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "soldout_session";

/// The dashboard's routes.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(overview::page))
        .route("/docs", get(docs::page))
        .route("/catalog", get(catalog::page))
        .route("/sales", get(sales::list))
        .route("/sales/{id}", get(sales::show))
        .route("/sales/{id}/events", get(sales::events))
        .route("/rollouts", get(rollouts::list))
        .route("/rollouts/{id}", get(rollouts::show))
        .route("/stores", get(stores::list))
        .route("/stores/{id}", get(stores::show))
        .route("/shop/sales/{id}", get(shop::page))
        .route("/shop/sign-up", axum::routing::post(shop::sign_up))
        .route(
            "/shop/sales/{id}/registration",
            axum::routing::post(shop::register),
        )
        .route("/shop/sales/{id}/orders", axum::routing::post(shop::buy))
        .route("/shop/orders/{id}/pay", axum::routing::post(shop::pay))
        .route("/login", get(login_form).post(log_in))
        .route("/logout", axum::routing::post(log_out))
        .with_state(state)
}

/// A dashboard page: title, the dashboard's navigation, the body.
pub fn page(title: &str, signed_in: bool, body: Markup) -> Html<String> {
    let header = html! {
        nav {
            a href="/" { strong { "soldout" } } " "
            a href="/sales" { "Sales" } " "
            a href="/stores" { "Stores" } " "
            a href="/catalog" { "Catalog" } " "
            a href="/rollouts" { "Rollouts" }
        }
        @if signed_in {
            form method="post" action="/logout" class="inline" {
                button type="submit" { "Sign out" }
            }
        }
    };
    document(title, header, body)
}

/// A whole HTML document: title, a small stylesheet (inline), the header, the body.
fn document(title: &str, header: Markup, body: Markup) -> Html<String> {
    Html(
        html! {
            (DOCTYPE)
            html lang="en" {
                head {
                    meta charset="utf-8";
                    meta name="viewport" content="width=device-width, initial-scale=1";
                    // No icon to fetch: a missing one would be a failed request.
                    link rel="icon" href="data:,";
                    title { (title) " · soldout" }
                    style { (maud::PreEscaped(STYLE)) }
                }
                body {
                    header { (header) }
                    main { h1 { (title) } (body) }
                }
            }
        }
        .into_string(),
    )
}

const STYLE: &str = "
body{font-family:system-ui,sans-serif;margin:0;color:#222}
header{display:flex;justify-content:space-between;align-items:center;padding:.5rem 1rem;background:#f4f4f4}
header a{color:inherit;text-decoration:none}
main{padding:1rem;max-width:1100px;margin:auto}
.inline{display:inline}
.figures{display:grid;grid-template-columns:repeat(auto-fit,minmax(150px,1fr));gap:.75rem}
.figure{border:1px solid #ddd;border-radius:6px;padding:.6rem}
.figure b{display:block;font-size:1.4rem}
table{border-collapse:collapse;width:100%}
td,th{padding:.3rem .5rem;border-bottom:1px solid #eee;text-align:left}
td.n,th.n{text-align:right}
svg{max-width:100%;height:auto}
.empty{padding:1rem;background:#fafafa;border:1px dashed #bbb;border-radius:6px}
.error{color:#a00}
tr.low td,td.low{background:#fff3cd}
tr.pending td{color:#888}
progress{width:100%}
label{margin-right:.5rem}
input,button{font:inherit;padding:.35rem .6rem;margin:.2rem 0;max-width:100%;box-sizing:border-box}
button:not([disabled]){cursor:pointer}
#shop .lead{font-size:1.2rem}
#countdown{font-size:1.3rem;font-weight:600}
#outcome{min-height:1.5em;font-weight:600}
@media (max-width:600px){main{padding:.6rem}table{display:block;overflow-x:auto}td,th{padding:.25rem}table{font-size:.9rem}.figure b{font-size:1.15rem}}
";

/// The value of the request's cookie `name`, if it has one.
fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|h| h.to_str().ok())
        .flat_map(|cookies| cookies.split(';'))
        .find_map(|c| {
            let (key, value) = c.trim().split_once('=')?;
            (key == name).then_some(value)
        })
}

/// Bytes of randomness in a session id (hex in the cookie).
const SESSION_ID_BYTES: usize = 32;

/// What the store keeps of a session id: its SHA-256, hex.
fn session_hash(id: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(id.as_bytes()))
}

/// The session id in the request's cookie, if it has the shape of one.
fn session_id(headers: &HeaderMap) -> Option<&str> {
    cookie(headers, SESSION_COOKIE)
        .filter(|id| id.len() == 2 * SESSION_ID_BYTES && id.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// The admin or clerk whose live session the request's cookie names, if any.
pub async fn session(headers: &HeaderMap, state: &AppState) -> Option<Principal> {
    let id = session_id(headers)?;
    match state
        .store
        .session(&session_hash(id), state.clock.now(), state.sessions)
        .await
    {
        Ok(principal) => principal,
        Err(e) => {
            tracing::error!(error = %e, "reading a dashboard session failed");
            None
        }
    }
}

/// `; Secure` when the server's public URL is https.
fn secure(state: &AppState) -> &'static str {
    if state.secure_cookies {
        "; Secure"
    } else {
        ""
    }
}

/// Whether a form post comes from this site: its `Origin` names the host it was sent
/// to. A post without `Origin` is refused (every current browser sends one).
fn same_origin(headers: &HeaderMap) -> bool {
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    let origin = headers.get(header::ORIGIN).and_then(|o| o.to_str().ok());
    match (host, origin) {
        (Some(host), Some(origin)) => origin
            .strip_prefix("http://")
            .or_else(|| origin.strip_prefix("https://"))
            .is_some_and(|o| o == host),
        _ => false,
    }
}

/// What a page handler makes: its markup, or the status and message of what went wrong.
type PageResult = Result<Markup, (StatusCode, String)>;

/// An unexpected failure behind a page: a 500 with its message.
fn failed(e: impl std::fmt::Display) -> (StatusCode, String) {
    (StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
}

/// A signed-in page: its markup, or its error (with `after_error` below it).
fn respond(title: &str, result: PageResult, after_error: Markup) -> Response {
    match result {
        Ok(markup) => page(title, true, markup).into_response(),
        Err((status, message)) => (
            status,
            page(
                title,
                true,
                html! { p.error role="alert" { (message) } (after_error) },
            ),
        )
            .into_response(),
    }
}

/// Nothing for the admin's session; for anyone else, the response that turns them
/// away: to the sign-in without a session, a 403 saying `why` for a clerk.
async fn turn_away_unless_admin(
    headers: &HeaderMap,
    state: &AppState,
    why: &str,
) -> Option<Response> {
    match session(headers, state).await {
        None => Some(Redirect::to("/login").into_response()),
        Some(Principal::Admin) => None,
        Some(_) => Some(forbidden(true, why)),
    }
}

fn forbidden(signed_in: bool, why: &str) -> Response {
    (
        StatusCode::FORBIDDEN,
        page(
            "Not allowed",
            signed_in,
            html! { p.error { (why) } p { a href="/login" { "Sign in as someone else" } } },
        ),
    )
        .into_response()
}

fn login_markup(error: Option<&str>) -> Markup {
    html! {
        @if let Some(error) = error { p.error role="alert" { (error) } }
        form method="post" action="/login" {
            label for="token" { "Token (admin, or a store clerk's)" }
            input id="token" name="token" type="password" autocomplete="off" required size="40";
            button type="submit" { "Sign in" }
        }
    }
}

async fn login_form() -> Html<String> {
    page("Sign in", false, login_markup(None))
}

#[derive(Deserialize)]
struct LoginForm {
    token: String,
}

async fn log_in(
    State(state): State<AppState>,
    headers: HeaderMap,
    form: Result<Form<LoginForm>, FormRejection>,
) -> Response {
    if !same_origin(&headers) {
        return forbidden(false, "This form must be sent from this site.");
    }
    let refused = |status: StatusCode, why: &str| {
        (status, page("Sign in", false, login_markup(Some(why)))).into_response()
    };
    let Ok(Form(form)) = form else {
        return refused(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Send the form with a token field.",
        );
    };
    let now = state.clock.now();
    let who = match state.tokens.resolve(form.token.trim(), now) {
        Some(who @ (Principal::Admin | Principal::Clerk { .. })) => who,
        _ => {
            return refused(
                StatusCode::UNAUTHORIZED,
                "That is not an admin's or a clerk's token.",
            )
        }
    };
    let id = crate::auth::random_secret();
    let clerk = match &who {
        Principal::Clerk { clerk, .. } => Some(*clerk),
        _ => None,
    };
    if let Err(e) = state
        .store
        .create_session(&session_hash(&id), clerk, now, state.sessions)
        .await
    {
        tracing::error!(error = %e, "starting a dashboard session failed");
        return refused(
            StatusCode::SERVICE_UNAVAILABLE,
            "Signing in failed on our side; try again in a moment.",
        );
    }
    let cookie = format!(
        "{SESSION_COOKIE}={id}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}{}",
        state.sessions.absolute_secs,
        secure(&state)
    );
    // A clerk's start is their store; the company's pages are the admin's.
    let home = if who == Principal::Admin {
        "/"
    } else {
        "/stores"
    };
    ([(header::SET_COOKIE, cookie)], Redirect::to(home)).into_response()
}

async fn log_out(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if !same_origin(&headers) {
        return forbidden(true, "This form must be sent from this site.");
    }
    if let Some(id) = session_id(&headers) {
        if let Err(e) = state.store.end_session(&session_hash(id)).await {
            tracing::error!(error = %e, "ending a dashboard session failed");
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                page(
                    "Sign out",
                    true,
                    html! { p.error role="alert" { "Signing out failed on our side; try again." } },
                ),
            )
                .into_response();
        }
    }
    let expired = format!(
        "{SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0{}",
        secure(&state)
    );
    ([(header::SET_COOKIE, expired)], Redirect::to("/login")).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_this_sites_posts_pass() {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, "127.0.0.1:8080".parse().unwrap());
        assert!(!same_origin(&headers), "no Origin");
        headers.insert(header::ORIGIN, "http://127.0.0.1:8080".parse().unwrap());
        assert!(same_origin(&headers));
        headers.insert(header::ORIGIN, "http://evil.example".parse().unwrap());
        assert!(!same_origin(&headers));
        headers.insert(header::ORIGIN, "null".parse().unwrap());
        assert!(!same_origin(&headers));
    }
}
