//! What a unit costs and whether it may be sold, for every channel but flash sales
//! (which carry their own price): the catalog, the market's launch and list price,
//! and any running campaign, gathered from the store and decided by the core.

use chrono::{DateTime, Utc};
use soldout_core::campaign;
use soldout_core::pos::Channel;
use soldout_core::{Amount, MarketCode, OsVersion, ProductId, SkuCode};
use soldout_store::{Store, StoreError};

/// One SKU's terms in a market at an instant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quote {
    pub sku: SkuCode,
    pub product: ProductId,
    /// The OS version the product ships with.
    pub os_version: OsVersion,
    /// The unit price (a campaign's while one runs), or `None` when the market has
    /// no price for it.
    pub unit_price: Option<Amount>,
    pub campaign: Option<i64>,
    /// Whether the product may be sold in the market at that instant.
    pub launched: bool,
}

/// Quotes each of `skus` in `market` for `channel` at `at`, in order. An unknown SKU
/// is not found.
pub async fn quote(
    store: &dyn Store,
    market: &MarketCode,
    skus: &[SkuCode],
    channel: Channel,
    at: DateTime<Utc>,
) -> Result<Vec<Quote>, StoreError> {
    let products = store.products().await?;
    let lineup = store.lineup(market).await?;
    let prices = store.prices(market).await?;
    let campaigns = store.campaigns(Some(market)).await?;
    skus.iter()
        .map(|sku| {
            let product = products
                .iter()
                .find(|p| p.skus.iter().any(|s| &s.sku == sku))
                .ok_or_else(|| StoreError::NotFound {
                    what: "sku",
                    id: sku.to_string(),
                })?;
            let launched = lineup
                .iter()
                .find(|e| e.product.id == product.id)
                .is_some_and(|e| e.launch.allows_sale_at(at));
            let priced =
                campaign::unit_price(prices.get(sku).copied(), &campaigns, sku, channel, at);
            Ok(Quote {
                sku: sku.clone(),
                product: product.id.clone(),
                os_version: product.specs.os_version.clone(),
                unit_price: priced.map(|(price, _)| price),
                campaign: priced.and_then(|(_, campaign)| campaign),
                launched,
            })
        })
        .collect()
}
