//! Sign-up: an email in, a customer id and a bearer token out.

use super::ApiResult;
use crate::connections::ClientConnection;
use crate::problem::extract::Json;
use crate::problem::Problem;
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Extension;
use serde::{Deserialize, Serialize};
use soldout_core::{CustomerId, Email};
use utoipa::ToSchema;

/// Sign-ups per client address: a token bucket per address (governor's GCRA), a
/// minute's worth as its burst. Addresses not seen for a while are forgotten as new
/// ones come, so a flood of addresses cannot grow it without bound.
pub struct SignUpLimiter {
    limiter: governor::DefaultKeyedRateLimiter<std::net::IpAddr>,
}

/// Addresses remembered before the ones whose buckets are full again are dropped.
const SIGN_UP_ADDRESSES_KEPT: usize = 100_000;

impl SignUpLimiter {
    pub fn per_minute(sign_ups: std::num::NonZeroU32) -> Self {
        SignUpLimiter {
            limiter: governor::RateLimiter::keyed(governor::Quota::per_minute(sign_ups)),
        }
    }

    /// One more sign-up from the client of `connection` (none for a request made in
    /// process), or the 429 that says when to retry.
    pub fn admit(&self, connection: Option<&ClientConnection>) -> Result<(), Problem> {
        use governor::clock::Clock;
        let Some(connection) = connection else {
            return Ok(());
        };
        if self.limiter.len() > SIGN_UP_ADDRESSES_KEPT {
            self.limiter.retain_recent();
        }
        self.limiter
            .check_key(&connection.peer.ip())
            .map_err(|not_until| {
                let wait = not_until.wait_time_from(self.limiter.clock().now());
                Problem::too_many_sign_ups(wait.as_secs_f64().ceil() as u64)
            })
    }
}

/// Admits one sign-up under the server's limit, if it has one.
pub(crate) fn admit_sign_up(
    state: &AppState,
    connection: Option<&ClientConnection>,
) -> Result<(), Problem> {
    match &state.sign_ups {
        Some(limiter) => limiter.admit(connection),
        None => Ok(()),
    }
}

/// Body of `POST /v1/customers`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignUp {
    #[schema(
        example = "buyer@example.com",
        min_length = 1,
        max_length = 254,
        pattern = r"^[^@\s\u0000-\u001f\u007f-\u009f]+@[^@\s.\u0000-\u001f\u007f-\u009f][^@\s\u0000-\u001f\u007f-\u009f]*\.[^@\s\u0000-\u001f\u007f-\u009f]*[^@\s.\u0000-\u001f\u007f-\u009f]$"
    )]
    pub email: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SignedUp {
    pub id: CustomerId,
    /// Send as `Authorization: Bearer <token>`. It expires at `token_expires_at`; a
    /// successful request made in its second half answers with a fresh one in the
    /// `Soldout-Customer-Token` header.
    pub token: String,
    pub token_expires_at: chrono::DateTime<chrono::Utc>,
}

/// Signs a customer up (public).
#[utoipa::path(post, path = "/v1/customers", tag = "customers", request_body = SignUp,
    responses(
        (status = 201, description = "Signed up", body = SignedUp),
        (status = 409, description = "The email is already registered", body = Problem),
        (status = 422, description = "Not an email address", body = Problem),
        (status = 429, description = "too-many-sign-ups from this address; see Retry-After", body = Problem)))]
pub async fn sign_up(
    State(state): State<AppState>,
    connection: Option<Extension<ClientConnection>>,
    Json(body): Json<SignUp>,
) -> ApiResult<(StatusCode, axum::Json<SignedUp>)> {
    admit_sign_up(&state, connection.as_deref())?;
    let email = Email::parse(&body.email).map_err(|e| Problem::invalid(e.to_string()))?;
    let now = state.clock.now();
    let id = state.store.create_customer(&email, now).await?;
    Ok((StatusCode::CREATED, axum::Json(signed_up(&state, id, now))))
}

/// A customer's new token and when it expires.
fn signed_up(state: &AppState, id: CustomerId, now: chrono::DateTime<chrono::Utc>) -> SignedUp {
    let token = state.tokens.customer_token(id, now);
    SignedUp {
        id,
        token_expires_at: state.tokens.customer_expires_at(&token).unwrap_or(now),
        token,
    }
}

/// A new token for a customer (admin: the shop's support desk, for a buyer whose
/// token expired or was lost). Earlier tokens keep working until they expire.
#[utoipa::path(post, path = "/v1/customers/{id}/token", tag = "customers", operation_id = "reissue_customer_token",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Customer id")),
    responses(
        (status = 201, description = "A new token", body = SignedUp),
        (status = 404, description = "Unknown customer", body = Problem)))]
pub async fn reissue_token(
    _: crate::auth::AdminOnly,
    State(state): State<AppState>,
    crate::problem::extract::Path(id): crate::problem::extract::Path<i64>,
) -> ApiResult<(StatusCode, axum::Json<SignedUp>)> {
    let id = CustomerId(id);
    if state.store.customer(id).await?.is_none() {
        return Err(Problem::not_found(format!("customer {id} does not exist")));
    }
    let now = state.clock.now();
    Ok((StatusCode::CREATED, axum::Json(signed_up(&state, id, now))))
}
