//! The storefront's sale page, for buyers: `/shop/sales/{id}` shows the phone, its
//! price in the market's currency, a countdown to the start (by the server's clock),
//! and the buttons. Signing up with an email keeps the customer's token in its own
//! `HttpOnly`, `SameSite=Strict` cookie, apart from the dashboard's. Registering,
//! buying and (in demo mode) paying are same-origin `fetch` posts to the `/shop/...`
//! endpoints below, which answer JSON or problems exactly as the API does: the page
//! makes one `Idempotency-Key` per purchase, so a double click or a retry after
//! "overloaded" buys once.

use super::{cookie, document, same_origin};
use crate::problem::extract::{Json, Path as ApiPath};
use crate::problem::Problem;
use crate::routes::payments;
use crate::routes::sales::{self, BuyBody, IdempotencyKey, Registration};
use crate::AppState;
use axum::extract::rejection::FormRejection;
use axum::extract::{Form, Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use maud::{html, Markup, PreEscaped};
use serde::Deserialize;
use serde_json::json;
use soldout_core::sale::{to_ms, OrderId, SaleId, SaleStatus};
use soldout_core::{display_amount, CustomerId, Email, Principal};
use soldout_engine::{OrderView, SaleView};
use soldout_store::StoreError;

/// The buyer's cookie: their customer token, kept as long as the token lives.
pub const CUSTOMER_COOKIE: &str = "soldout_customer";

fn customer(headers: &HeaderMap, state: &AppState) -> Option<CustomerId> {
    match state
        .tokens
        .resolve(cookie(headers, CUSTOMER_COOKIE)?, state.clock.now())?
    {
        Principal::Customer(id) => Some(id),
        _ => None,
    }
}

/// A buyer's post: from this site, by a signed-up customer.
fn buyer(headers: &HeaderMap, state: &AppState) -> Result<CustomerId, Problem> {
    if !same_origin(headers) {
        return Err(Problem::forbidden(
            "this request must come from the shop's own page",
        ));
    }
    customer(headers, state).ok_or_else(|| {
        Problem::unauthorized("sign up on the sale's page first; the shop keeps you in a cookie")
    })
}

/// The buyer's cookie holding `token`. Lax, not Strict: a buyer arriving from the
/// sale's announcement on another site is still signed in; posts are Origin-checked
/// all the same.
fn customer_cookie(state: &AppState, token: &str) -> String {
    let max_age = state
        .tokens
        .customer_expires_at(token)
        .map(|at| (at - state.clock.now()).num_seconds().max(0))
        .unwrap_or(0);
    format!(
        "{CUSTOMER_COOKIE}={token}; HttpOnly; SameSite=Lax; Path=/shop; Max-Age={max_age}{}",
        super::secure(state)
    )
}

fn shop_page(title: &str, body: Markup) -> Html<String> {
    document(title, html! { strong { "soldout store" } }, body)
}

fn missing(id: i64) -> Response {
    (
        StatusCode::NOT_FOUND,
        shop_page(
            "No such sale",
            html! { p.error role="alert" { "There is no sale " (id) "." } },
        ),
    )
        .into_response()
}

pub async fn page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Response {
    let Some(sale) = state.engine.sale(SaleId(id)) else {
        return missing(id);
    };
    let product = match state.store.product(&sale.product).await {
        Ok(Some(product)) => product,
        Ok(None) => return missing(id),
        Err(e) => return Problem::from(e).into_response(),
    };
    let sku = product.skus.iter().find(|s| s.sku == sale.sku);
    let signed_up = customer(&headers, &state).is_some();
    let now = state.clock.now();
    // A buyer who comes back in their token's second half leaves with a fresh one.
    let renewed = cookie(&headers, CUSTOMER_COOKIE)
        .and_then(|token| state.tokens.renewed(token, now))
        .map(|token| customer_cookie(&state, &token));
    let title = format!("{} flash sale", product.name);
    let page = shop_page(
        &title,
        html! {
            div #shop
                data-sale=(sale.id)
                data-server-now=(to_ms(now))
                data-starts-at=(to_ms(sale.starts_at))
                data-ends-at=(to_ms(sale.ends_at))
                data-available=(sale.available)
            {
                p.lead {
                    strong { (product.name) }
                    @if let Some(sku) = sku {
                        ", " (sku.colour) ", " (sku.ram_gb) " GB RAM, " (sku.storage_gb) " GB"
                    }
                }
                p.price { "Price: " strong #price { (display_amount(sale.price, sale.currency)) } }
                p { (sale.quantity) " units in this sale, at most " (sale.per_customer_limit)
                    " per customer. Starts " (sale.starts_at.format("%Y-%m-%d %H:%M:%S UTC")) "." }
                p #countdown role="timer" aria-live="off" { (opening_words(&sale)) }
                @if !signed_up {
                    form method="post" action="/shop/sign-up" {
                        input type="hidden" name="sale" value=(sale.id);
                        label for="email" { "Email, to sign up and buy" }
                        input #email name="email" type="email" autocomplete="email" required;
                        button type="submit" { "Sign up" }
                    }
                } @else {
                    @if sale.registration_required && sale.status == SaleStatus::Scheduled {
                        button #register type="button" { "Register for this sale" }
                        " "
                    }
                    label for="quantity" { "Units" }
                    input #quantity type="number" min="1" max=(sale.per_customer_limit) value="1";
                    button #buy type="button" disabled { "Buy" }
                }
                p #outcome role="status" aria-live="polite" {}
                @if state.demo_payments {
                    button #pay type="button" hidden { "Pay (demo provider)" }
                }
            }
            script { (PreEscaped(SHOP_SCRIPT)) }
        },
    );
    match renewed {
        Some(cookie) => ([(header::SET_COOKIE, cookie)], page).into_response(),
        None => page.into_response(),
    }
}

fn opening_words(sale: &SaleView) -> &'static str {
    match sale.status {
        SaleStatus::Scheduled => "Not started yet.",
        SaleStatus::Active if sale.available == 0 => {
            "Sold out for now: units come back when a buyer does not pay."
        }
        SaleStatus::Active => "On sale now.",
        SaleStatus::Ended => "This sale has ended.",
    }
}

/// The countdowns, the buttons and the outcome. The clock is the server's: its time at
/// load minus the browser's gives the offset.
const SHOP_SCRIPT: &str = r#"
(function () {
  var shop = document.getElementById('shop');
  var sale = shop.dataset.sale;
  var offset = Number(shop.dataset.serverNow) - Date.now();
  var startsAt = Number(shop.dataset.startsAt), endsAt = Number(shop.dataset.endsAt);
  var countdown = document.getElementById('countdown');
  var outcome = document.getElementById('outcome');
  var buy = document.getElementById('buy'), register = document.getElementById('register');
  var pay = document.getElementById('pay'), quantity = document.getElementById('quantity');
  var busy = false, bought = false, unanswered = false, order = null;
  // Sold out as the page was served, or as a refusal since said.
  var soldOut = Number(shop.dataset.available) === 0;
  var limit = quantity ? Number(quantity.max) : 1;
  function now() { return Date.now() + offset; }
  function newKey() {
    var bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.from(bytes, function (b) { return b.toString(16).padStart(2, '0'); }).join('');
  }
  // One key per purchase: a double click, or a retry after no answer or "overloaded",
  // sends the same key, so the server answers with the same order.
  var key = newKey();
  function clock(ms) {
    var s = Math.max(0, Math.ceil(ms / 1000));
    var h = Math.floor(s / 3600), m = Math.floor(s / 60) % 60;
    var mm = String(m).padStart(2, '0'), ss = String(s % 60).padStart(2, '0');
    return h > 0 ? h + ':' + mm + ':' + ss : mm + ':' + ss;
  }
  function tick() {
    var t = now();
    if (t < startsAt) {
      countdown.textContent = 'Starts in ' + clock(startsAt - t);
    } else if (t < endsAt) {
      countdown.textContent = soldOut ? 'Sold out for now' : 'On sale now';
    } else {
      countdown.textContent = 'This sale has ended.';
    }
    if (buy) buy.disabled = busy || bought || t < startsAt || t >= endsAt;
    // A request sent with this key keeps its quantity: the same key with another
    // quantity would be refused as a different purchase.
    if (quantity) quantity.disabled = busy || bought || unanswered;
    if (order && order.status === 'reserved') {
      var left = Date.parse(order.pay_by) - t;
      if (left > 0) {
        outcome.textContent = 'Reserved: ' + order.quantity + ' unit(s). Pay within ' + clock(left) + '.';
      } else {
        outcome.textContent = 'Your reservation lapsed: it was not paid in time.';
        if (pay) pay.hidden = true;
      }
    }
  }
  function say(text) { outcome.textContent = text; }
  function post(path, body, headers) {
    var h = Object.assign({ 'content-type': 'application/json' }, headers || {});
    return fetch(path, { method: 'POST', headers: h, body: JSON.stringify(body || {}), credentials: 'same-origin' })
      .then(function (r) {
        return r.json().catch(function () { return {}; }).then(function (b) { return { status: r.status, body: b }; });
      });
  }
  function refused(b) {
    switch (b.type && b.type.split('/').pop()) {
      case 'sold-out': return 'Sold out: not that many units are left. Units come back when buyers do not pay.';
      case 'limit-reached': return 'That is over this sale\'s limit of ' + limit + ' per customer, counting what you hold.';
      case 'overloaded': return 'Very busy right now: press Buy again in a moment (you will not buy twice).';
      case 'unavailable': return 'Nothing was decided: press Buy again in a moment.';
      case 'not-registered': return 'This sale was for customers who registered before the start.';
      default: return b.detail || 'That did not work.';
    }
  }
  var offline = 'No answer: check the connection and press again (you will not buy twice).';
  if (register) register.addEventListener('click', function () {
    register.disabled = true;
    post('/shop/sales/' + sale + '/registration').then(function (r) {
      if (r.status < 300) { say('You are registered. Come back at the start.'); }
      else { register.disabled = false; say(refused(r.body)); }
    }, function () { register.disabled = false; say(offline); });
  });
  if (buy) buy.addEventListener('click', function () {
    if (busy || bought) return;
    var units = Math.min(limit, Math.max(1, Math.floor(Number(quantity.value)) || 1));
    quantity.value = units;
    busy = true; tick(); say('Buying…');
    post('/shop/sales/' + sale + '/orders', { quantity: units }, { 'Idempotency-Key': key })
      .then(function (r) {
        busy = false;
        unanswered = r.status === 503;
        if (r.status === 201) {
          bought = true; order = r.body;
          if (pay) pay.hidden = false;
        } else {
          if (r.body.type && r.body.type.split('/').pop() === 'sold-out') soldOut = true;
          say(refused(r.body));
        }
        tick();
      }, function () { busy = false; unanswered = true; say(offline); tick(); });
  });
  if (pay) pay.addEventListener('click', function () {
    if (!order) return;
    pay.disabled = true;
    post('/shop/orders/' + order.id + '/pay').then(function (r) {
      if (r.status === 200 && r.body.status === 'paid') { order = r.body; pay.hidden = true; say('Paid. Thank you!'); }
      else { pay.disabled = false; say(r.body.detail || 'The payment did not go through.'); }
    }, function () { pay.disabled = false; say(offline); });
  });
  tick();
  setInterval(tick, 250);
})();
"#;

#[derive(Deserialize)]
pub struct SignUpForm {
    email: String,
    sale: i64,
}

/// Signs a buyer up from the sale page and brings them back to it.
pub async fn sign_up(
    State(state): State<AppState>,
    connection: Option<axum::Extension<crate::connections::ClientConnection>>,
    headers: HeaderMap,
    form: Result<Form<SignUpForm>, FormRejection>,
) -> Response {
    if let Err(problem) = crate::routes::customers::admit_sign_up(&state, connection.as_deref()) {
        return problem.into_response();
    }
    let Ok(Form(form)) = form else {
        return (
            StatusCode::UNPROCESSABLE_ENTITY,
            shop_page(
                "Sign up",
                html! { p.error role="alert" { "Sign up from a sale's page: the form needs an email and the sale." } },
            ),
        )
            .into_response();
    };
    let back = format!("/shop/sales/{}", form.sale);
    let again = |status: StatusCode, why: String| {
        (
            status,
            shop_page(
                "Sign up",
                html! { p.error role="alert" { (why) } p { a href=(back) { "Back to the sale" } } },
            ),
        )
            .into_response()
    };
    if !same_origin(&headers) {
        return again(
            StatusCode::FORBIDDEN,
            "This form must be sent from the shop's own page.".into(),
        );
    }
    let email = match Email::parse(form.email.trim()) {
        Ok(email) => email,
        Err(e) => return again(StatusCode::UNPROCESSABLE_ENTITY, e.to_string()),
    };
    match state.store.create_customer(&email, state.clock.now()).await {
        Ok(id) => {
            let token = state.tokens.customer_token(id, state.clock.now());
            let cookie = customer_cookie(&state, &token);
            ([(header::SET_COOKIE, cookie)], Redirect::to(&back)).into_response()
        }
        Err(StoreError::AlreadyExists { .. }) => again(
            StatusCode::CONFLICT,
            "That email already has an account. Use the browser you signed up with.".into(),
        ),
        Err(e) => Problem::from(e).into_response(),
    }
}

pub async fn register(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiPath(id): ApiPath<i64>,
) -> Result<(StatusCode, axum::Json<Registration>), Problem> {
    let customer = buyer(&headers, &state)?;
    sales::register_customer(&state, customer, SaleId(id)).await
}

pub async fn buy(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiPath(id): ApiPath<i64>,
    IdempotencyKey(key): IdempotencyKey,
    Json(body): Json<BuyBody>,
) -> Result<(StatusCode, axum::Json<OrderView>), Problem> {
    let customer = buyer(&headers, &state)?;
    sales::buy_as(&state, customer, SaleId(id), body.quantity, &key).await
}

/// Demo mode only: pays the buyer's order as the payment provider would, with a webhook
/// signed by the shared secret that goes through the webhook's own checks.
pub async fn pay(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiPath(order): ApiPath<String>,
) -> Result<axum::Json<OrderView>, Problem> {
    if !state.demo_payments {
        return Err(Problem::not_found(
            "paying from the shop is for demos; a real provider calls the webhook",
        ));
    }
    let customer = buyer(&headers, &state)?;
    let not_yours = || Problem::not_found(format!("order {order:?} does not exist"));
    let id = OrderId::parse(&order).ok_or_else(not_yours)?;
    let view = state.engine.order(id).await?;
    if view.customer != customer {
        return Err(not_yours());
    }
    // The order's own spelling, so one order is one event however its id was typed.
    let order = id.to_string();
    let event = json!({
        "event_id": format!("evt_demo_shop_{order}"),
        "type": "payment.succeeded",
        "order_id": order,
        "amount": view.amount,
        "currency": view.currency,
    });
    let body = serde_json::to_vec(&event).expect("an event serializes");
    let signature =
        payments::provider_signature(&state.payment_secret, state.clock.now().timestamp(), &body);
    let mut provider = HeaderMap::new();
    provider.insert(
        "soldout-signature",
        HeaderValue::from_str(&signature).expect("a signature is ASCII"),
    );
    payments::webhook(State(state.clone()), provider, body.into()).await
}
