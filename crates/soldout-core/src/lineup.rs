//! A market's lineup: every product launched there (once: a launch is keyed by
//! product and market), with its status at `now`,
//! its launch dates and its SKUs' prices in the market's currency.

use crate::catalog::{Market, Product, Specs};
use crate::ids::{MarketCode, ProductId, SkuCode};
use crate::launch::{Launch, LaunchStatus};
use crate::money::{Amount, Currency};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use utoipa::ToSchema;

/// What the store knows about one product in one market.
#[derive(Debug, Clone)]
pub struct LineupEntry {
    pub product: Product,
    pub launch: Launch,
    /// Prices set in this market, by SKU, in minor units.
    pub prices: HashMap<SkuCode, Amount>,
}

/// `GET /v1/markets/{code}/lineup`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Lineup {
    #[schema(example = "IN")]
    pub market: MarketCode,
    /// Currency of every price below.
    #[schema(value_type = String, example = "INR")]
    pub currency: Currency,
    /// The instant the statuses were computed for.
    pub as_of: DateTime<Utc>,
    pub products: Vec<LineupProduct>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct LineupProduct {
    #[schema(example = "redmi-note-4")]
    pub id: ProductId,
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$"
    )]
    pub name: String,
    pub status: LaunchStatus,
    pub launch: Launch,
    pub specs: Specs,
    pub skus: Vec<LineupSku>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct LineupSku {
    #[schema(example = "RN4-3-32-GLD")]
    pub sku: SkuCode,
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$"
    )]
    pub colour: String,
    pub ram_gb: u32,
    pub storage_gb: u32,
    /// Price in minor units of the market's currency; `null` when none is set yet.
    pub price: Option<Amount>,
}

impl Lineup {
    /// Builds the lineup at `now`, products in launch order (first sale, then id).
    pub fn build(market: &Market, entries: Vec<LineupEntry>, now: DateTime<Utc>) -> Lineup {
        let mut products: Vec<LineupProduct> = entries
            .into_iter()
            .map(|entry| LineupProduct {
                status: entry.launch.status(now),
                skus: entry
                    .product
                    .skus
                    .iter()
                    .map(|s| LineupSku {
                        sku: s.sku.clone(),
                        colour: s.colour.clone(),
                        ram_gb: s.ram_gb,
                        storage_gb: s.storage_gb,
                        price: entry.prices.get(&s.sku).copied(),
                    })
                    .collect(),
                id: entry.product.id,
                name: entry.product.name,
                launch: entry.launch,
                specs: entry.product.specs,
            })
            .collect();
        products.sort_by(|a, b| (a.launch.sale_from, &a.id).cmp(&(b.launch.sale_from, &b.id)));
        Lineup {
            market: market.code.clone(),
            currency: market.currency,
            as_of: now,
            products,
        }
    }
}
