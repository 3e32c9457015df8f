//! The world benchmarks and simulations start from: the Redmi Note 4 launched and
//! priced in India, and stock received at the Sri City warehouse.

use crate::{Store, StoreError};
use chrono::{DateTime, Duration, Utc};
use soldout_core::catalog::{NewMarket, NewSku};
use soldout_core::{
    Currency, Launch, LocationId, LocationKind, MarketCode, MovementKind, NewLocation, NewMovement,
    NewProduct, OsVersion, ProductId, SkuCode, Specs,
};

/// The SKU on sale.
pub const SKU: &str = "RN4-3-32-GLD";
/// The warehouse its units are at.
pub const WAREHOUSE: &str = "wh-in-sricity";
/// Its list price in India, in paise.
pub const LIST_PRICE: i64 = 1_099_900;

fn invalid(e: impl std::fmt::Display) -> StoreError {
    StoreError::Invalid(e.to_string())
}

/// Creates the market, the product with its one SKU, its launch (on sale from 180
/// days before `now`), its price and the warehouse, and receives `stock` units there.
pub async fn redmi_note_4_in_india(
    store: &dyn Store,
    now: DateTime<Utc>,
    stock: i64,
) -> Result<(), StoreError> {
    let market = NewMarket {
        code: MarketCode::parse("IN").map_err(invalid)?,
        name: "India".into(),
        currency: Currency::parse("INR").map_err(invalid)?,
        return_window_days: None,
    }
    .validate()
    .map_err(invalid)?;
    store.create_market(&market).await?;
    let product = NewProduct {
        id: ProductId::parse("redmi-note-4").map_err(invalid)?,
        name: "Redmi Note 4".into(),
        specs: Specs {
            soc: "Snapdragon 625".into(),
            battery_mah: 4100,
            fast_charging: false,
            main_camera_mp: 13,
            port: "Micro-USB".into(),
            os_name: "MIUI".into(),
            os_base: "Android 6.0".into(),
            os_version: OsVersion::parse("8.1.0").map_err(invalid)?,
        },
        skus: vec![NewSku {
            sku: SkuCode::parse(SKU).map_err(invalid)?,
            colour: "Gold".into(),
            ram_gb: 3,
            storage_gb: 32,
        }],
    }
    .validate()
    .map_err(invalid)?;
    store.create_product(&product).await?;
    store
        .put_launch(
            &product.id,
            &market.code,
            &Launch {
                teaser_at: now - Duration::days(200),
                unveil_at: now - Duration::days(190),
                sale_from: now - Duration::days(180),
            },
        )
        .await?;
    store
        .set_price(&market.code, &product.skus[0].sku, LIST_PRICE, now)
        .await?;
    let location = NewLocation {
        id: LocationId::parse(WAREHOUSE).map_err(invalid)?,
        kind: LocationKind::Warehouse,
        market: market.code.clone(),
        name: "Sri City Warehouse".into(),
        city: "Sri City".into(),
    }
    .validate()
    .map_err(invalid)?;
    store.create_location(&location).await?;
    let mut left = stock;
    let mut receipts = Vec::new();
    while left > 0 {
        let quantity = left.min(soldout_core::QUANTITY_MAX);
        receipts.push(NewMovement {
            location: location.id.clone(),
            sku: product.skus[0].sku.clone(),
            kind: MovementKind::Receipt,
            quantity,
            reference: Some("fixture".into()),
            at: now,
        });
        left -= quantity;
    }
    store.record_movements(&receipts).await?;
    Ok(())
}
