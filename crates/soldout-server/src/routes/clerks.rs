//! Store clerks (admin): created with a token valid in their store only, listed, and
//! revoked one at a time (their token gets a 401 at once and their dashboard sessions
//! end).

use super::stores::existing_store;
use super::ApiResult;
use crate::auth::AdminOnly;
use crate::problem::extract::{Json, Path};
use crate::problem::Problem;
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use soldout_core::ids::bounded_text;
use soldout_core::{Clerk, ClerkId, LocationId};
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewClerk {
    #[schema(
        example = "Priya",
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$"
    )]
    pub name: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ClerkCreated {
    pub id: ClerkId,
    pub store: LocationId,
    pub name: String,
    /// The clerk's bearer token: shown once, valid for this store only, until the
    /// clerk is revoked.
    pub token: String,
}

/// Creates a clerk of a store and returns their token (admin).
#[utoipa::path(post, path = "/v1/locations/{store}/clerks", tag = "stores",
    request_body = NewClerk, security(("bearer" = [])),
    params(("store" = soldout_core::ids::LocationId, Path, description = "Store id")),
    responses(
        (status = 201, description = "Created", body = ClerkCreated),
        (status = 404, description = "Unknown store", body = Problem),
        (status = 422, description = "Not a store, or a bad name", body = Problem)))]
pub async fn create_clerk(
    _: AdminOnly,
    State(state): State<AppState>,
    Path(store): Path<LocationId>,
    Json(body): Json<NewClerk>,
) -> ApiResult<(StatusCode, axum::Json<ClerkCreated>)> {
    let name = bounded_text("name", &body.name).map_err(|e| Problem::invalid(e.to_string()))?;
    existing_store(&state, &store).await?;
    let id = state
        .store
        .create_clerk(&store, &name, state.clock.now())
        .await?;
    let token = state.tokens.clerk_token(id, &store);
    Ok((
        StatusCode::CREATED,
        axum::Json(ClerkCreated {
            id,
            store,
            name,
            token,
        }),
    ))
}

/// A store's clerks, revoked ones included (admin).
#[utoipa::path(get, path = "/v1/locations/{store}/clerks", tag = "stores",
    security(("bearer" = [])),
    params(("store" = soldout_core::ids::LocationId, Path, description = "Store id")),
    responses(
        (status = 200, description = "The store's clerks, oldest first", body = [Clerk]),
        (status = 404, description = "Unknown store", body = Problem)))]
pub async fn list_clerks(
    _: AdminOnly,
    State(state): State<AppState>,
    Path(store): Path<LocationId>,
) -> ApiResult<axum::Json<Vec<Clerk>>> {
    existing_store(&state, &store).await?;
    Ok(axum::Json(state.store.clerks(Some(&store)).await?))
}

/// Revokes a clerk (admin): their token is refused from now on and their dashboard
/// sessions end. Revoking again changes nothing.
#[utoipa::path(post, path = "/v1/clerks/{id}/revoke", tag = "stores",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Clerk id")),
    responses(
        (status = 200, description = "Revoked", body = Clerk),
        (status = 404, description = "Unknown clerk", body = Problem)))]
pub async fn revoke_clerk(
    _: AdminOnly,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> ApiResult<axum::Json<Clerk>> {
    let clerk = state
        .store
        .revoke_clerk(ClerkId(id), state.clock.now())
        .await?;
    state.tokens.revoke_clerk(clerk.id);
    Ok(axum::Json(clerk))
}
