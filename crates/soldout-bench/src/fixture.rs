//! A soldout database with the Redmi Note 4 on sale in India, stock at a warehouse,
//! and one flash sale of it: what every benchmark starts from.

use chrono::{DateTime, Duration, Utc};
use soldout_core::catalog::{NewMarket, NewSku};
use soldout_core::sale::NewSale;
use soldout_core::{
    Currency, Launch, LocationId, LocationKind, MarketCode, MovementKind, NewLocation, NewMovement,
    NewProduct, OsVersion, ProductId, SkuCode, Specs,
};
use soldout_store::scratch::TestDatabase;
use soldout_store::Store;
use std::sync::Arc;

pub const TOKEN_KEY: &str = "bench-token-key";
pub const ADMIN_TOKEN: &str = "bench-admin-token";

pub fn clock_start() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2017-07-04T09:00:00+08:00")
        .unwrap()
        .with_timezone(&Utc)
}

/// Signed tokens of customers 1 to `count`, as the servers under test check them.
pub fn customer_tokens(count: u64) -> Vec<String> {
    let key = soldout_server::auth::Tokens::new(ADMIN_TOKEN.into(), TOKEN_KEY);
    (1..=count as i64)
        .map(|i| key.customer_token(soldout_core::CustomerId(i), clock_start()))
        .collect()
}

/// A fresh database for one run: an SQLite file of its own, or a scratch database on
/// the PostgreSQL server `postgres` names (dropped when the guard is).
pub async fn fresh_database(postgres: Option<&str>) -> anyhow::Result<TestDatabase> {
    Ok(match postgres {
        None => TestDatabase::sqlite("bench")?,
        Some(server) => TestDatabase::postgres(server, "bench").await?,
    })
}

/// Opens the store at `url` (a fresh database) with the catalog and `stock` units
/// received.
pub async fn store(url: &str, stock: i64) -> anyhow::Result<Arc<dyn Store>> {
    let store = soldout_store::open(url).await?;
    let now = clock_start();
    let market = NewMarket {
        code: MarketCode::parse("IN")?,
        name: "India".into(),
        currency: Currency::parse("INR")?,
        return_window_days: None,
    }
    .validate()?;
    store.create_market(&market).await?;
    let product = NewProduct {
        id: ProductId::parse("redmi-note-4")?,
        name: "Redmi Note 4".into(),
        specs: Specs {
            soc: "Snapdragon 625".into(),
            battery_mah: 4100,
            fast_charging: false,
            main_camera_mp: 13,
            port: "Micro-USB".into(),
            os_name: "MIUI".into(),
            os_base: "Android 6.0".into(),
            os_version: OsVersion::parse("8.1.0")?,
        },
        skus: vec![NewSku {
            sku: SkuCode::parse("RN4-3-32-GLD")?,
            colour: "Gold".into(),
            ram_gb: 3,
            storage_gb: 32,
        }],
    }
    .validate()?;
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
        .set_price(&market.code, &product.skus[0].sku, 1_099_900, now)
        .await?;
    let location = NewLocation {
        id: LocationId::parse("wh-in-sricity")?,
        kind: LocationKind::Warehouse,
        market: market.code.clone(),
        name: "Sri City Warehouse".into(),
        city: "Sri City".into(),
    }
    .validate()?;
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
            reference: Some("bench".into()),
            at: now,
        });
        left -= quantity;
    }
    store.record_movements(&receipts).await?;
    Ok(store)
}

/// A sale that starts `starts_in` after the clock's start (negative: it has already
/// started), at the market's list price.
pub fn new_sale(
    quantity: u32,
    per_customer_limit: u32,
    registration_required: bool,
    starts_in: Duration,
) -> anyhow::Result<NewSale> {
    let now = clock_start();
    Ok(NewSale {
        sku: SkuCode::parse("RN4-3-32-GLD")?,
        market: MarketCode::parse("IN")?,
        location: LocationId::parse("wh-in-sricity")?,
        quantity,
        starts_at: now + starts_in,
        ends_at: now + Duration::days(1),
        per_customer_limit,
        payment_window_secs: 3600,
        registration_required,
        fair_start_secs: 0,
        price: None,
        allow_zero_price: false,
    })
}

/// The token key and clock the fair peers check tokens with: the same as soldout's
/// under test.
pub fn request_work() -> crate::peers::RequestWork {
    crate::peers::RequestWork {
        tokens: soldout_server::auth::Tokens::new(ADMIN_TOKEN.into(), TOKEN_KEY),
        clock: soldout_engine::Clock::starting_at(Some(clock_start())),
    }
}
