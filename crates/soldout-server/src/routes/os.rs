//! OS releases and staged rollouts (admin), and the devices' side: check-in and
//! progress reports with a device token, the installed base's import, and a device
//! token reissued by an admin.

use super::ApiResult;
use crate::auth::{AdminOnly, DeviceOnly};
use crate::problem::extract::{Body, Json, Path};
use crate::problem::Problem;
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use soldout_core::rollout::{DeviceStatus, Release, RolloutTerms};
use soldout_core::{OsVersion, RolloutId, Serial};
use soldout_engine::rollouts::{self, DeviceClaim, Offer, RolloutAction, RolloutView};
use utoipa::ToSchema;

/// Creates an OS release: a build per group of models.
#[utoipa::path(post, path = "/v1/os/releases", tag = "os", request_body = Release,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Created", body = Release),
        (status = 409, description = "A release with this id exists", body = Problem),
        (status = 422, description = "A field is invalid", body = Problem)))]
pub async fn create_release(
    _: AdminOnly,
    State(state): State<AppState>,
    Json(release): Json<Release>,
) -> ApiResult<(StatusCode, axum::Json<Release>)> {
    let release = state.rollouts.create_release(release).await?;
    Ok((StatusCode::CREATED, axum::Json(release)))
}

/// Every release.
#[utoipa::path(get, path = "/v1/os/releases", tag = "os", security(("bearer" = [])),
    responses((status = 200, description = "Releases", body = [Release])))]
pub async fn list_releases(
    _: AdminOnly,
    State(state): State<AppState>,
) -> axum::Json<Vec<Release>> {
    axum::Json(state.rollouts.releases())
}

/// Creates a staged rollout of a release.
#[utoipa::path(post, path = "/v1/os/rollouts", tag = "os", request_body = RolloutTerms,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Created", body = RolloutView),
        (status = 404, description = "Unknown release", body = Problem),
        (status = 409, description = "A rollout that is not halted covers a model in one of these markets, or the id is taken", body = Problem),
        (status = 422, description = "A field is invalid", body = Problem)))]
pub async fn create_rollout(
    _: AdminOnly,
    State(state): State<AppState>,
    Json(terms): Json<RolloutTerms>,
) -> ApiResult<(StatusCode, axum::Json<RolloutView>)> {
    let view = state.rollouts.create_rollout(terms).await?;
    Ok((StatusCode::CREATED, axum::Json(view)))
}

fn rollout_id(text: &str) -> Result<RolloutId, Problem> {
    RolloutId::parse(text)
        .map_err(|_| Problem::not_found(format!("rollout {text:?} does not exist")))
}

/// A rollout: its state, current wave, and per wave (cumulative) the devices
/// eligible, offered, downloading, installed and failed.
#[utoipa::path(get, path = "/v1/os/rollouts/{id}", tag = "os", security(("bearer" = [])),
    params(("id" = soldout_core::ids::RolloutId, Path, description = "Rollout id")),
    responses(
        (status = 200, description = "The rollout", body = RolloutView),
        (status = 404, description = "Unknown rollout", body = Problem)))]
pub async fn get_rollout(
    _: AdminOnly,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<RolloutView>> {
    Ok(axum::Json(state.rollouts.view(&rollout_id(&id)?).await?))
}

/// `advance`, `pause`, `resume` or `halt` a rollout.
#[utoipa::path(post, path = "/v1/os/rollouts/{id}/{action}", tag = "os", security(("bearer" = [])),
    params(("id" = soldout_core::ids::RolloutId, Path, description = "Rollout id"),
        ("action" = String, Path, description = "advance, pause, resume or halt")),
    responses(
        (status = 200, description = "Done: the rollout now", body = RolloutView),
        (status = 404, description = "Unknown rollout or action", body = Problem),
        (status = 409, description = "rollout-state: not possible in the rollout's state", body = Problem)))]
pub async fn act(
    _: AdminOnly,
    State(state): State<AppState>,
    Path((id, action)): Path<(String, String)>,
) -> ApiResult<axum::Json<RolloutView>> {
    let action = RolloutAction::parse(&action).ok_or_else(|| {
        Problem::not_found(format!(
            "no action {action:?}: advance, pause, resume or halt"
        ))
    })?;
    Ok(axum::Json(
        state.rollouts.act(&rollout_id(&id)?, action).await?,
    ))
}

/// Body of `POST /v1/devices/check-in`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckIn {
    /// The OS version the device runs now; the registry takes it as given.
    #[schema(value_type = String, example = "8.5.1", pattern = r"^[0-9]{1,9}(\.[0-9]{1,9}){0,7}$")]
    pub version: OsVersion,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CheckInAnswer {
    /// The build to install, or `null`.
    #[schema(value_type = Option<Offer>)]
    pub update: Option<std::sync::Arc<Offer>>,
}

/// A device checks in (device token): the build to install, if any.
#[utoipa::path(post, path = "/v1/devices/check-in", tag = "devices", request_body = CheckIn,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The update to install, or null", body = CheckInAnswer),
        (status = 401, description = "No valid token", body = Problem),
        (status = 403, description = "Not a device token", body = Problem),
        (status = 503, description = "overloaded: the rollouts' writer is far behind; retry", body = Problem)))]
pub async fn check_in(
    DeviceOnly(device): DeviceOnly,
    State(state): State<AppState>,
    Json(body): Json<CheckIn>,
) -> ApiResult<axum::Json<CheckInAnswer>> {
    let update = state.rollouts.check_in(&device, body.version)?;
    state
        .metrics
        .count_checkin(update.as_ref().map(|offer| offer.rollout.as_str()));
    Ok(axum::Json(CheckInAnswer { update }))
}

/// Body of `POST /v1/devices/updates`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateReport {
    #[schema(example = "miui-9-in")]
    pub rollout: RolloutId,
    /// `downloading`, `installed` or `failed`.
    pub status: DeviceStatus,
    /// What went wrong, for `failed` (kept in the server's log).
    pub error: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UpdateAck {
    pub rollout: RolloutId,
    pub status: DeviceStatus,
    /// The rollout's state after the report (`halted` when this report halted it).
    pub rollout_state: &'static str,
}

/// A device reports progress on its update (device token). Reports are idempotent;
/// `installed` makes the build the device's version.
#[utoipa::path(post, path = "/v1/devices/updates", tag = "devices", request_body = UpdateReport,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Recorded (or recorded before)", body = UpdateAck),
        (status = 403, description = "Not a device token", body = Problem),
        (status = 404, description = "Unknown rollout", body = Problem),
        (status = 409, description = "not-offered: the rollout never offered this device a build", body = Problem)))]
pub async fn report(
    DeviceOnly(device): DeviceOnly,
    State(state): State<AppState>,
    Json(body): Json<UpdateReport>,
) -> ApiResult<axum::Json<UpdateAck>> {
    if let Some(error) = body
        .error
        .as_deref()
        .filter(|_| body.status == DeviceStatus::Failed)
    {
        let error: String = error.chars().take(200).collect();
        tracing::info!(serial = %device.serial, rollout = %body.rollout, %error, "device update failed");
    }
    let rollout_state = state
        .rollouts
        .report(&device, &body.rollout, body.status)
        .await?;
    Ok(axum::Json(UpdateAck {
        rollout: body.rollout,
        status: body.status,
        rollout_state,
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeviceToken {
    pub serial: Serial,
    /// Send as `Authorization: Bearer <token>` from the device.
    pub token: String,
}

/// Issues a device's token again (admin): a device with a buyer only.
#[utoipa::path(post, path = "/v1/devices/{serial}/token", tag = "devices", operation_id = "reissue_device_token", security(("bearer" = [])),
    params(("serial" = soldout_core::ids::Serial, Path, description = "The device's serial")),
    responses(
        (status = 200, description = "The token", body = DeviceToken),
        (status = 404, description = "No such device with a buyer", body = Problem)))]
pub async fn reissue_token(
    _: AdminOnly,
    State(state): State<AppState>,
    Path(serial): Path<String>,
) -> ApiResult<axum::Json<DeviceToken>> {
    let missing = || Problem::not_found(format!("device {serial:?} is not registered"));
    let serial = Serial::parse(&serial).map_err(|_| missing())?;
    let device = state
        .store
        .registered_device(&serial)
        .await?
        .ok_or_else(missing)?;
    let token = state.tokens.device_token(&DeviceClaim {
        serial: device.serial.clone(),
        product: device.product,
        market: device.market,
    });
    Ok(axum::Json(DeviceToken {
        serial: device.serial,
        token,
    }))
}

/// The device tokens of the units a receipt or a fulfilment handed over, one per serial
/// that the registry holds.
pub async fn device_tokens(
    state: &AppState,
    serials: impl IntoIterator<Item = &Serial>,
) -> ApiResult<Vec<DeviceToken>> {
    let mut tokens = Vec::new();
    for serial in serials {
        if let Some(device) = state.store.registered_device(serial).await? {
            tokens.push(DeviceToken {
                token: state.tokens.device_token(&DeviceClaim {
                    serial: device.serial.clone(),
                    product: device.product,
                    market: device.market,
                }),
                serial: device.serial,
            });
        }
    }
    Ok(tokens)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DevicesImported {
    pub devices: usize,
}

/// Imports the installed base (admin, CSV `serial,sku,market,os_version,sold_at`),
/// all or nothing.
#[utoipa::path(post, path = "/v1/devices:import", tag = "devices", security(("bearer" = [])),
    request_body(content = String, content_type = "text/csv"),
    responses(
        (status = 201, description = "Imported", body = DevicesImported),
        (status = 404, description = "An unknown SKU or market", body = Problem),
        (status = 409, description = "A serial is registered already", body = Problem),
        (status = 422, description = "Bad rows or header: nothing imported", body = Problem)))]
pub async fn import_devices(
    _: AdminOnly,
    State(state): State<AppState>,
    Body(body): Body,
) -> ApiResult<(StatusCode, axum::Json<DevicesImported>)> {
    let devices = rollouts::parse_devices(&body)?;
    let devices = state
        .store
        .import_devices(&devices, state.clock.now())
        .await?;
    Ok((StatusCode::CREATED, axum::Json(DevicesImported { devices })))
}
