//! A soldout database with the Redmi Note 4 on sale in India, stock at a warehouse,
//! and one flash sale of it: what every benchmark starts from.

use chrono::{DateTime, Duration, Utc};
use soldout_core::sale::NewSale;
use soldout_core::{LocationId, MarketCode, SkuCode};
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
    soldout_store::fixture::redmi_note_4_in_india(store.as_ref(), clock_start(), stock).await?;
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
        sku: SkuCode::parse(soldout_store::fixture::SKU)?,
        market: MarketCode::parse("IN")?,
        location: LocationId::parse(soldout_store::fixture::WAREHOUSE)?,
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
