//! Sign-up: an email in, a customer id and a bearer token out.

use super::ApiResult;
use crate::problem::extract::Json;
use crate::problem::Problem;
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use soldout_core::{CustomerId, Email};
use utoipa::ToSchema;

/// Body of `POST /v1/customers`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignUp {
    #[schema(example = "buyer@example.com")]
    pub email: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SignedUp {
    pub id: CustomerId,
    /// Send as `Authorization: Bearer <token>`; it does not expire.
    pub token: String,
}

/// Signs a customer up (public).
#[utoipa::path(post, path = "/v1/customers", tag = "customers", request_body = SignUp,
    responses(
        (status = 201, description = "Signed up", body = SignedUp),
        (status = 409, description = "The email is already registered", body = Problem),
        (status = 422, description = "Not an email address", body = Problem)))]
pub async fn sign_up(
    State(state): State<AppState>,
    Json(body): Json<SignUp>,
) -> ApiResult<(StatusCode, axum::Json<SignedUp>)> {
    let email = Email::parse(&body.email).map_err(|e| Problem::invalid(e.to_string()))?;
    let id = state
        .store
        .create_customer(&email, state.clock.now())
        .await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(SignedUp {
            id,
            token: state.tokens.customer_token(id),
        }),
    ))
}
