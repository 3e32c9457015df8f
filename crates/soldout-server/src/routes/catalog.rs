//! Products, their SKUs, and their launches per market.

use super::ApiResult;
use crate::auth::AdminOnly;
use crate::problem::extract::{Json, Path};
use crate::problem::Problem;
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use soldout_core::catalog::NewSku;
use soldout_core::{Launch, LaunchStatus, MarketCode, NewProduct, Product, ProductId, Sku};
use utoipa::ToSchema;

/// Creates a product, optionally with its SKUs.
#[utoipa::path(post, path = "/v1/products", tag = "catalog", request_body = NewProduct,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Created", body = Product),
        (status = 409, description = "The product id or a SKU code is taken", body = Problem),
        (status = 422, description = "A field is invalid", body = Problem)))]
pub async fn create_product(
    _: AdminOnly,
    State(state): State<AppState>,
    Json(body): Json<NewProduct>,
) -> ApiResult<(StatusCode, axum::Json<Product>)> {
    let product = body
        .validate()
        .map_err(|e| Problem::invalid(e.to_string()))?;
    state.store.create_product(&product).await?;
    Ok((StatusCode::CREATED, axum::Json(product)))
}

/// Lists every product with its SKUs (public).
#[utoipa::path(get, path = "/v1/products", tag = "catalog",
    responses((status = 200, description = "All products", body = [Product])))]
pub async fn list_products(State(state): State<AppState>) -> ApiResult<axum::Json<Vec<Product>>> {
    Ok(axum::Json(state.store.products().await?))
}

async fn existing_product(state: &AppState, id: &ProductId) -> ApiResult<Product> {
    state
        .store
        .product(id)
        .await?
        .ok_or_else(|| Problem::not_found(format!("product {id} does not exist")))
}

/// One product with its SKUs (public).
#[utoipa::path(get, path = "/v1/products/{id}", tag = "catalog",
    params(("id" = soldout_core::ids::ProductId, Path, description = "Product slug, such as mi-6")),
    responses(
        (status = 200, description = "The product", body = Product),
        (status = 404, description = "Unknown product", body = Problem)))]
pub async fn get_product(
    State(state): State<AppState>,
    Path(id): Path<ProductId>,
) -> ApiResult<axum::Json<Product>> {
    Ok(axum::Json(existing_product(&state, &id).await?))
}

/// Adds a SKU to a product.
#[utoipa::path(post, path = "/v1/products/{id}/skus", tag = "catalog", request_body = NewSku,
    security(("bearer" = [])),
    params(("id" = soldout_core::ids::ProductId, Path, description = "Product slug")),
    responses(
        (status = 201, description = "Created", body = Sku),
        (status = 404, description = "Unknown product", body = Problem),
        (status = 409, description = "The SKU code is taken", body = Problem)))]
pub async fn add_sku(
    _: AdminOnly,
    State(state): State<AppState>,
    Path(id): Path<ProductId>,
    Json(body): Json<NewSku>,
) -> ApiResult<(StatusCode, axum::Json<Sku>)> {
    let sku = body
        .validate(&id)
        .map_err(|e| Problem::invalid(e.to_string()))?;
    state.store.add_sku(&sku).await?;
    Ok((StatusCode::CREATED, axum::Json(sku)))
}

/// A product's launch in a market, as stored, with its status now.
#[derive(Debug, Serialize, ToSchema)]
pub struct MarketLaunch {
    #[schema(example = "mi-6")]
    pub product: ProductId,
    #[schema(example = "CN")]
    pub market: MarketCode,
    pub teaser_at: chrono::DateTime<chrono::Utc>,
    pub unveil_at: chrono::DateTime<chrono::Utc>,
    pub sale_from: chrono::DateTime<chrono::Utc>,
    pub status: LaunchStatus,
}

/// Sets (or moves) a product's teaser, unveiling and first-sale dates in a market;
/// from then on the product is in that market's lineup.
#[utoipa::path(put, path = "/v1/products/{id}/launches/{market}", tag = "catalog",
    request_body = Launch, security(("bearer" = [])),
    params(("id" = soldout_core::ids::ProductId, Path, description = "Product slug"), ("market" = soldout_core::ids::MarketCode, Path, description = "Market code")),
    responses(
        (status = 200, description = "The launch now in force", body = MarketLaunch),
        (status = 404, description = "Unknown product or market", body = Problem),
        (status = 422, description = "Dates out of order", body = Problem)))]
pub async fn put_launch(
    _: AdminOnly,
    State(state): State<AppState>,
    Path((id, market)): Path<(ProductId, MarketCode)>,
    Json(body): Json<Launch>,
) -> ApiResult<axum::Json<MarketLaunch>> {
    let launch = body
        .validate()
        .map_err(|e| Problem::invalid(e.to_string()))?;
    state.store.put_launch(&id, &market, &launch).await?;
    Ok(axum::Json(MarketLaunch {
        status: launch.status(state.clock.now()),
        product: id,
        market,
        teaser_at: launch.teaser_at,
        unveil_at: launch.unveil_at,
        sale_from: launch.sale_from,
    }))
}
