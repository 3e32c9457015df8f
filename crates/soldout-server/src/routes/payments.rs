//! The payment provider's webhook. The provider signs each call:
//! `Soldout-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">` with the
//! shared secret. A bad or stale signature changes nothing; the same event twice is
//! applied once; a 200 is only sent once the payment is durable.

use super::ApiResult;
use crate::problem::Problem;
use crate::AppState;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::Sha256;
use soldout_core::sale::{OrderId, PaymentOutcome};
use soldout_core::Currency;
use soldout_engine::OrderView;
use utoipa::ToSchema;

/// How far the signature's timestamp may be from the server's clock, either way.
pub const SIGNATURE_TOLERANCE_SECS: i64 = 300;
/// Longest provider event id.
const EVENT_ID_LEN_MAX: usize = 200;

/// Body of `POST /v1/payments/webhook`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PaymentEvent {
    /// The provider's id of this event; the same id twice is applied once.
    #[schema(example = "evt_1NXW")]
    pub event_id: String,
    /// `payment.succeeded` or `payment.failed`.
    #[serde(rename = "type")]
    #[schema(example = "payment.succeeded")]
    pub kind: String,
    #[schema(example = "01BX5ZZKBKACTAV9WEVGEMMVRZ")]
    pub order_id: String,
    /// Minor units; must equal the order's amount.
    pub amount: i64,
    #[schema(value_type = String, example = "INR")]
    pub currency: Currency,
}

fn invalid_signature(detail: &str) -> Problem {
    Problem::new(
        StatusCode::UNAUTHORIZED,
        "invalid-signature",
        "Invalid signature",
        detail,
    )
}

/// The `Soldout-Signature` a provider sends with `body` at Unix time `t`: what the
/// demo storefront's "pay" button signs with, acting as the provider.
pub fn provider_signature(secret: &[u8], t: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(format!("{t}.").as_bytes());
    mac.update(body);
    format!("t={t},v1={}", hex::encode(mac.finalize().into_bytes()))
}

/// Checks `Soldout-Signature` against the body, the secret and the clock.
pub fn verify_signature(
    secret: &[u8],
    header: Option<&str>,
    body: &[u8],
    now_unix: i64,
) -> Result<(), Problem> {
    let header =
        header.ok_or_else(|| invalid_signature("the Soldout-Signature header is missing"))?;
    let mut t = None;
    let mut v1 = None;
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", value)) => t = Some(value),
            Some(("v1", value)) => v1 = Some(value),
            _ => {}
        }
    }
    let (Some(t), Some(v1)) = (t, v1) else {
        return Err(invalid_signature(
            "the signature must read t=<unix seconds>,v1=<hex HMAC-SHA256>",
        ));
    };
    let t_secs: i64 = t
        .parse()
        .map_err(|_| invalid_signature("t must be Unix seconds"))?;
    if now_unix.abs_diff(t_secs) > SIGNATURE_TOLERANCE_SECS as u64 {
        return Err(invalid_signature(
            "the signature's timestamp is more than 5 minutes off",
        ));
    }
    let given = hex::decode(v1).map_err(|_| invalid_signature("v1 must be hex"))?;
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(t.as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.verify_slice(&given)
        .map_err(|_| invalid_signature("the signature does not match the body"))
}

/// Receives a payment provider's event about an order.
#[utoipa::path(post, path = "/v1/payments/webhook", tag = "payments", request_body = PaymentEvent,
    params(("Soldout-Signature" = String, Header, description = "t=<unix seconds>,v1=<hex HMAC-SHA256 of \"<t>.<body>\">")),
    responses(
        (status = 200, description = "Applied (or applied before): the order now", body = OrderView),
        (status = 401, description = "invalid-signature", body = Problem),
        (status = 404, description = "Unknown order", body = Problem),
        (status = 422, description = "payment-mismatch, or a malformed event", body = Problem)))]
pub async fn webhook(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<axum::Json<OrderView>> {
    let header = headers
        .get("soldout-signature")
        .and_then(|v| v.to_str().ok());
    verify_signature(
        &state.payment_secret,
        header,
        &body,
        state.clock.now().timestamp(),
    )?;
    let event: PaymentEvent =
        serde_json::from_slice(&body).map_err(|e| Problem::invalid(format!("the event: {e}")))?;
    let outcome = match event.kind.as_str() {
        "payment.succeeded" => PaymentOutcome::Succeeded,
        "payment.failed" => PaymentOutcome::Failed,
        other => {
            return Err(Problem::invalid(format!(
                "type {other:?} is not payment.succeeded or payment.failed"
            )))
        }
    };
    if event.event_id.is_empty() || event.event_id.len() > EVENT_ID_LEN_MAX {
        return Err(Problem::invalid(format!(
            "event_id must be 1 to {EVENT_ID_LEN_MAX} bytes"
        )));
    }
    let order = OrderId::parse(&event.order_id)
        .ok_or_else(|| Problem::not_found(format!("order {:?} does not exist", event.order_id)))?;
    let view = state
        .engine
        .record_payment(order, event.event_id, outcome, event.amount, event.currency)
        .await?;
    Ok(axum::Json(view))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_are_checked_against_body_secret_and_time() {
        let body = br#"{"event_id":"e1"}"#;
        let now = 1_499_130_000;
        let good = provider_signature(b"whsec", now, body);
        assert!(verify_signature(b"whsec", Some(&good), body, now).is_ok());
        assert!(verify_signature(b"whsec", Some(&good), body, now + 300).is_ok());
        assert!(verify_signature(b"whsec", Some(&good), body, now + 301).is_err());
        assert!(verify_signature(b"whsec", Some(&good), body, now - 301).is_err());
        assert!(verify_signature(b"other", Some(&good), body, now).is_err());
        assert!(verify_signature(b"whsec", Some(&good), b"{}", now).is_err());
        assert!(verify_signature(b"whsec", None, body, now).is_err());
        assert!(verify_signature(b"whsec", Some("t=abc,v1=00"), body, now).is_err());
        let far = format!("t={},v1=00", i64::MIN);
        assert!(verify_signature(b"whsec", Some(&far), body, now).is_err());
    }
}
