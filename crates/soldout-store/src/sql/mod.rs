//! The SQL of both backends, written once. This directory is compiled twice: as
//! `sqlite::sql` and as `postgres::sql`. Each parent names its own `Db` (the sqlx
//! database), `Backend` (its store, with `reader`, `writer` and `begin_write`) and the
//! few statements that differ between the two databases (the [`dialect`] module it
//! defines); everything here runs unchanged on both. The rules themselves are calls
//! into `soldout-core`.

mod access;
mod draws;
mod leased_orders;
mod leases;
mod orders;
mod payments;
mod rollouts;
mod shipments;
mod stores;

use super::{dialect, Backend, Db, DbConnection, DbRow};
use crate::leases::{DrawEntries, Lease, LeasedBuy, LeasedOutcome, PoolState, SaleSignal};
use crate::{
    DeviceVersion, ImportChunk, ImportKind, ImportedDevice, MovementPage, NewOnlineOrder,
    PosOutcome, PosSaleRecord, RegisteredDevice, ReturnRecord, Store, StoreError,
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use soldout_core::campaign::Campaign;
use soldout_core::device::{Device, Refund};
use soldout_core::discrepancy::Discrepancy;
use soldout_core::order::{HandedOver, OnlineOrder, PaymentReport};
use soldout_core::pos::Receipt;
use soldout_core::report::TotalRow;
use soldout_core::rollout::{Release, RolloutEvent, RolloutTerms};
use soldout_core::sale::draw::HeldBuy;
use soldout_core::sale::{Order, OrderId, PaymentOutcome, SaleId, SaleTerms};
use soldout_core::shipment::{Quarter, Shipment};
use soldout_core::tracker::TrackerRow;
use soldout_core::transfer::{NewTransfer, Transfer, UnitCount};
use soldout_core::{
    Clerk, ClerkId, Currency, CustomerId, Email, Launch, LineupEntry, Location, LocationId,
    LocationKind, Market, MarketCode, Movement, MovementKind, NewMovement, OsVersion, Principal,
    Product, ProductId, RolloutId, Serial, SessionPolicy, Sku, SkuCode, Specs, StockLevels,
    StockLine,
};
use sqlx::{Row, Transaction};
use std::collections::HashMap;

fn corrupt(what: &str, value: &str) -> StoreError {
    StoreError::Backend(format!("stored {what} {value:?} is not valid").into())
}

/// A text column parsed into its type; a value that does not parse is corrupt.
fn column<T>(
    row: &DbRow,
    name: &str,
    parse: impl FnOnce(&str) -> Option<T>,
) -> Result<T, StoreError> {
    let text: String = row.try_get(name)?;
    parse(&text).ok_or_else(|| corrupt(name, &text))
}

/// Maps a unique-constraint violation to "already exists", anything else to a
/// backend error.
fn taken(what: &'static str, id: impl ToString) -> impl FnOnce(sqlx::Error) -> StoreError {
    move |e| {
        if is_unique_violation(&e) {
            StoreError::exists(what, id)
        } else {
            e.into()
        }
    }
}

fn is_unique_violation(e: &sqlx::Error) -> bool {
    e.as_database_error()
        .is_some_and(|d| d.is_unique_violation())
}

fn market_from_row(row: &DbRow) -> Result<Market, StoreError> {
    let code: String = row.try_get("code")?;
    let currency: String = row.try_get("currency")?;
    Ok(Market {
        code: MarketCode::parse(&code).map_err(|_| corrupt("market code", &code))?,
        name: row.try_get("name")?,
        currency: Currency::parse(&currency).map_err(|_| corrupt("currency", &currency))?,
        return_window_days: row.try_get::<i64, _>("return_window_days")? as u32,
    })
}

fn product_from_row(row: &DbRow, skus: Vec<Sku>) -> Result<Product, StoreError> {
    let id: String = row.try_get("id")?;
    let os_version: String = row.try_get("os_version")?;
    Ok(Product {
        id: ProductId::parse(&id).map_err(|_| corrupt("product id", &id))?,
        name: row.try_get("name")?,
        specs: Specs {
            soc: row.try_get("soc")?,
            battery_mah: row.try_get::<i64, _>("battery_mah")? as u32,
            fast_charging: row.try_get("fast_charging")?,
            main_camera_mp: row.try_get::<i64, _>("main_camera_mp")? as u32,
            port: row.try_get("port")?,
            os_name: row.try_get("os_name")?,
            os_base: row.try_get("os_base")?,
            os_version: OsVersion::parse(&os_version)
                .map_err(|_| corrupt("os version", &os_version))?,
        },
        skus,
    })
}

fn sku_from_row(row: &DbRow) -> Result<Sku, StoreError> {
    let sku: String = row.try_get("sku")?;
    let product: String = row.try_get("product")?;
    Ok(Sku {
        sku: SkuCode::parse(&sku).map_err(|_| corrupt("sku", &sku))?,
        product: ProductId::parse(&product).map_err(|_| corrupt("product id", &product))?,
        colour: row.try_get("colour")?,
        ram_gb: row.try_get::<i64, _>("ram_gb")? as u32,
        storage_gb: row.try_get::<i64, _>("storage_gb")? as u32,
    })
}

fn location_from_row(row: &DbRow) -> Result<Location, StoreError> {
    let id: String = row.try_get("id")?;
    let kind: String = row.try_get("kind")?;
    let market: String = row.try_get("market")?;
    Ok(Location {
        id: LocationId::parse(&id).map_err(|_| corrupt("location id", &id))?,
        kind: LocationKind::parse(&kind).ok_or_else(|| corrupt("location kind", &kind))?,
        market: MarketCode::parse(&market).map_err(|_| corrupt("market code", &market))?,
        name: row.try_get("name")?,
        city: row.try_get("city")?,
    })
}

fn levels_from_row(row: &DbRow, prefix: &str) -> Result<StockLevels, StoreError> {
    Ok(StockLevels {
        on_hand: row.try_get(format!("on_hand{prefix}").as_str())?,
        reserved: row.try_get(format!("reserved{prefix}").as_str())?,
        incoming: row.try_get(format!("incoming{prefix}").as_str())?,
        damaged: row.try_get(format!("damaged{prefix}").as_str())?,
    })
}

fn movement_from_row(row: &DbRow) -> Result<Movement, StoreError> {
    let location: String = row.try_get("location")?;
    let sku: String = row.try_get("sku")?;
    let kind: String = row.try_get("kind")?;
    let sku = SkuCode::parse(&sku).map_err(|_| corrupt("sku", &sku))?;
    Ok(Movement {
        id: row.try_get("id")?,
        location: LocationId::parse(&location).map_err(|_| corrupt("location id", &location))?,
        kind: MovementKind::parse(&kind).ok_or_else(|| corrupt("movement kind", &kind))?,
        quantity: row.try_get("quantity")?,
        reference: row.try_get("reference")?,
        at: row.try_get("at")?,
        levels_after: StockLine::new(sku.clone(), levels_from_row(row, "_after")?),
        sku,
    })
}

async fn insert_sku(tx: &mut Transaction<'_, Db>, sku: &Sku) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO skus (sku, product, colour, ram_gb, storage_gb) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(sku.sku.as_str())
    .bind(sku.product.as_str())
    .bind(&sku.colour)
    .bind(i64::from(sku.ram_gb))
    .bind(i64::from(sku.storage_gb))
    .execute(&mut **tx)
    .await
    .map_err(taken("sku", &sku.sku))?;
    Ok(())
}

async fn exists(conn: &mut DbConnection, sql: &str, key: &str) -> Result<bool, StoreError> {
    Ok(sqlx::query(sql)
        .bind(key)
        .fetch_optional(conn)
        .await?
        .is_some())
}

/// A SKU's levels at a location as the writer's transaction sees them; an unknown
/// location or SKU is not found.
async fn levels_in(
    tx: &mut Transaction<'_, Db>,
    location: &LocationId,
    sku: &SkuCode,
) -> Result<StockLevels, StoreError> {
    if !exists(
        tx,
        "SELECT 1 FROM locations WHERE id = $1",
        location.as_str(),
    )
    .await?
    {
        return Err(StoreError::not_found("location", location));
    }
    if !exists(tx, "SELECT 1 FROM skus WHERE sku = $1", sku.as_str()).await? {
        return Err(StoreError::not_found("sku", sku));
    }
    sqlx::query(
        "SELECT on_hand, reserved, incoming, damaged FROM stock_levels WHERE location = $1 AND sku = $2",
    )
    .bind(location.as_str())
    .bind(sku.as_str())
    .fetch_optional(&mut **tx)
    .await?
    .map(|row| levels_from_row(&row, ""))
    .transpose()
    .map(Option::unwrap_or_default)
}

/// Applies one movement inside the writer's transaction: read the levels, let the
/// core decide, write the levels and the ledger row.
async fn apply_movement(
    tx: &mut Transaction<'_, Db>,
    movement: &NewMovement,
) -> Result<Movement, StoreError> {
    let stock_error = |source| StoreError::Stock {
        location: movement.location.to_string(),
        sku: movement.sku.to_string(),
        source,
    };
    let delta = movement.delta().map_err(stock_error)?;
    let location = movement.location.as_str();
    let sku = movement.sku.as_str();
    let current = levels_in(tx, &movement.location, &movement.sku).await?;
    let next = current.apply(movement.kind, delta).map_err(stock_error)?;
    sqlx::query(
        "INSERT INTO stock_levels (location, sku, on_hand, reserved, incoming, damaged)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (location, sku) DO UPDATE SET
           on_hand = excluded.on_hand, reserved = excluded.reserved,
           incoming = excluded.incoming, damaged = excluded.damaged",
    )
    .bind(location)
    .bind(sku)
    .bind(next.on_hand)
    .bind(next.reserved)
    .bind(next.incoming)
    .bind(next.damaged)
    .execute(&mut **tx)
    .await?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO stock_movements
           (location, sku, kind, quantity, reference, at,
            on_hand_after, reserved_after, incoming_after, damaged_after)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
    )
    .bind(location)
    .bind(sku)
    .bind(movement.kind.as_str())
    .bind(movement.quantity)
    .bind(movement.reference.as_deref())
    .bind(movement.at)
    .bind(next.on_hand)
    .bind(next.reserved)
    .bind(next.incoming)
    .bind(next.damaged)
    .fetch_one(&mut **tx)
    .await?;
    Ok(Movement {
        id,
        location: movement.location.clone(),
        sku: movement.sku.clone(),
        kind: movement.kind,
        quantity: movement.quantity,
        reference: movement.reference.clone(),
        at: movement.at,
        levels_after: StockLine::new(movement.sku.clone(), next),
    })
}

fn sale_from_row(row: &DbRow) -> Result<SaleTerms, StoreError> {
    let text = |column: &str| -> Result<String, StoreError> { Ok(row.try_get(column)?) };
    let sku = text("sku")?;
    let product = text("product")?;
    let market = text("market")?;
    let location = text("location")?;
    let currency = text("currency")?;
    let count = |column: &str| -> Result<u32, StoreError> {
        let value: i64 = row.try_get(column)?;
        u32::try_from(value).map_err(|_| corrupt(column, &value.to_string()))
    };
    Ok(SaleTerms {
        id: SaleId(row.try_get("id")?),
        sku: SkuCode::parse(&sku).map_err(|_| corrupt("sku", &sku))?,
        product: ProductId::parse(&product).map_err(|_| corrupt("product id", &product))?,
        market: MarketCode::parse(&market).map_err(|_| corrupt("market code", &market))?,
        location: LocationId::parse(&location).map_err(|_| corrupt("location id", &location))?,
        quantity: count("quantity")?,
        price: row.try_get("price")?,
        currency: Currency::parse(&currency).map_err(|_| corrupt("currency", &currency))?,
        starts_at: row.try_get("starts_at")?,
        ends_at: row.try_get("ends_at")?,
        per_customer_limit: count("per_customer_limit")?,
        payment_window_secs: count("payment_window_secs")?,
        registration_required: row.try_get("registration_required")?,
        fair_start_secs: count("fair_start_secs")?,
        created_at: row.try_get("created_at")?,
    })
}

#[async_trait]
impl Store for Backend {
    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.reader).await?;
        Ok(())
    }

    async fn create_market(&self, market: &Market) -> Result<(), StoreError> {
        self.retrying(|| async move {
            sqlx::query(
                "INSERT INTO markets (code, name, currency, return_window_days) VALUES ($1, $2, $3, $4)",
            )
            .bind(market.code.as_str())
            .bind(&market.name)
            .bind(market.currency.code())
            .bind(i64::from(market.return_window_days))
            .execute(&self.writer)
            .await
            .map_err(taken("market", &market.code))?;
            Ok(())
        })
        .await
    }

    async fn markets(&self) -> Result<Vec<Market>, StoreError> {
        sqlx::query("SELECT * FROM markets ORDER BY code")
            .fetch_all(&self.reader)
            .await?
            .iter()
            .map(market_from_row)
            .collect()
    }

    async fn market(&self, code: &MarketCode) -> Result<Option<Market>, StoreError> {
        sqlx::query("SELECT * FROM markets WHERE code = $1")
            .bind(code.as_str())
            .fetch_optional(&self.reader)
            .await?
            .as_ref()
            .map(market_from_row)
            .transpose()
    }

    async fn create_product(&self, product: &Product) -> Result<(), StoreError> {
        self.retrying(|| async move {
            let mut tx = self.begin_write().await?;
            let specs = &product.specs;
            sqlx::query(
                "INSERT INTO products (id, name, soc, battery_mah, fast_charging, main_camera_mp,
                   port, os_name, os_base, os_version) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            )
            .bind(product.id.as_str())
            .bind(&product.name)
            .bind(&specs.soc)
            .bind(i64::from(specs.battery_mah))
            .bind(specs.fast_charging)
            .bind(i64::from(specs.main_camera_mp))
            .bind(&specs.port)
            .bind(&specs.os_name)
            .bind(&specs.os_base)
            .bind(specs.os_version.to_string())
            .execute(&mut *tx)
            .await
            .map_err(taken("product", &product.id))?;
            for sku in &product.skus {
                insert_sku(&mut tx, sku).await?;
            }
            tx.commit().await?;
            Ok(())
        })
        .await
    }

    async fn products(&self) -> Result<Vec<Product>, StoreError> {
        let mut skus: HashMap<String, Vec<Sku>> = HashMap::new();
        for row in sqlx::query("SELECT * FROM skus ORDER BY sku")
            .fetch_all(&self.reader)
            .await?
        {
            let sku = sku_from_row(&row)?;
            skus.entry(sku.product.to_string()).or_default().push(sku);
        }
        sqlx::query("SELECT * FROM products ORDER BY id")
            .fetch_all(&self.reader)
            .await?
            .iter()
            .map(|row| {
                let id: String = row.try_get("id")?;
                product_from_row(row, skus.remove(&id).unwrap_or_default())
            })
            .collect()
    }

    async fn product(&self, id: &ProductId) -> Result<Option<Product>, StoreError> {
        let Some(row) = sqlx::query("SELECT * FROM products WHERE id = $1")
            .bind(id.as_str())
            .fetch_optional(&self.reader)
            .await?
        else {
            return Ok(None);
        };
        let skus = sqlx::query("SELECT * FROM skus WHERE product = $1 ORDER BY sku")
            .bind(id.as_str())
            .fetch_all(&self.reader)
            .await?
            .iter()
            .map(sku_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        product_from_row(&row, skus).map(Some)
    }

    async fn add_sku(&self, sku: &Sku) -> Result<(), StoreError> {
        self.retrying(|| async move {
            let mut tx = self.begin_write().await?;
            if !exists(
                &mut tx,
                "SELECT 1 FROM products WHERE id = $1",
                sku.product.as_str(),
            )
            .await?
            {
                return Err(StoreError::not_found("product", &sku.product));
            }
            insert_sku(&mut tx, sku).await?;
            tx.commit().await?;
            Ok(())
        })
        .await
    }

    async fn set_price(
        &self,
        market: &MarketCode,
        sku: &SkuCode,
        amount: i64,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.retrying(|| async move {
            let mut tx = self.begin_write().await?;
            if !exists(
                &mut tx,
                "SELECT 1 FROM markets WHERE code = $1",
                market.as_str(),
            )
            .await?
            {
                return Err(StoreError::not_found("market", market));
            }
            if !exists(&mut tx, "SELECT 1 FROM skus WHERE sku = $1", sku.as_str()).await? {
                return Err(StoreError::not_found("sku", sku));
            }
            sqlx::query(
                "INSERT INTO prices (market, sku, amount, updated_at) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (market, sku) DO UPDATE SET amount = excluded.amount, updated_at = excluded.updated_at",
            )
            .bind(market.as_str())
            .bind(sku.as_str())
            .bind(amount)
            .bind(at)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(())
        })
        .await
    }

    async fn put_launch(
        &self,
        product: &ProductId,
        market: &MarketCode,
        launch: &Launch,
    ) -> Result<(), StoreError> {
        self.retrying(|| async move {
            let mut tx = self.begin_write().await?;
            if !exists(
                &mut tx,
                "SELECT 1 FROM products WHERE id = $1",
                product.as_str(),
            )
            .await?
            {
                return Err(StoreError::not_found("product", product));
            }
            if !exists(
                &mut tx,
                "SELECT 1 FROM markets WHERE code = $1",
                market.as_str(),
            )
            .await?
            {
                return Err(StoreError::not_found("market", market));
            }
            sqlx::query(
                "INSERT INTO launches (product, market, teaser_at, unveil_at, sale_from) VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (product, market) DO UPDATE SET
                   teaser_at = excluded.teaser_at, unveil_at = excluded.unveil_at, sale_from = excluded.sale_from",
            )
            .bind(product.as_str())
            .bind(market.as_str())
            .bind(launch.teaser_at)
            .bind(launch.unveil_at)
            .bind(launch.sale_from)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(())
        })
        .await
    }

    async fn prices(&self, market: &MarketCode) -> Result<HashMap<SkuCode, i64>, StoreError> {
        let mut prices: HashMap<SkuCode, i64> = HashMap::new();
        for row in sqlx::query("SELECT sku, amount FROM prices WHERE market = $1")
            .bind(market.as_str())
            .fetch_all(&self.reader)
            .await?
        {
            let sku: String = row.try_get("sku")?;
            let sku = SkuCode::parse(&sku).map_err(|_| corrupt("sku", &sku))?;
            prices.insert(sku, row.try_get("amount")?);
        }
        Ok(prices)
    }

    async fn lineup(&self, market: &MarketCode) -> Result<Vec<LineupEntry>, StoreError> {
        let launches = sqlx::query("SELECT * FROM launches WHERE market = $1")
            .bind(market.as_str())
            .fetch_all(&self.reader)
            .await?;
        let prices = self.prices(market).await?;
        let mut entries = Vec::with_capacity(launches.len());
        for row in launches {
            let product_id: String = row.try_get("product")?;
            let product_id =
                ProductId::parse(&product_id).map_err(|_| corrupt("product id", &product_id))?;
            let product = self
                .product(&product_id)
                .await?
                .ok_or_else(|| corrupt("launch of product", product_id.as_str()))?;
            let product_prices = product
                .skus
                .iter()
                .filter_map(|s| prices.get(&s.sku).map(|&a| (s.sku.clone(), a)))
                .collect();
            entries.push(LineupEntry {
                launch: Launch {
                    teaser_at: row.try_get("teaser_at")?,
                    unveil_at: row.try_get("unveil_at")?,
                    sale_from: row.try_get("sale_from")?,
                },
                product,
                prices: product_prices,
            });
        }
        Ok(entries)
    }

    async fn create_location(&self, location: &Location) -> Result<(), StoreError> {
        self.retrying(|| async move {
            let mut tx = self.begin_write().await?;
            if !exists(
                &mut tx,
                "SELECT 1 FROM markets WHERE code = $1",
                location.market.as_str(),
            )
            .await?
            {
                return Err(StoreError::not_found("market", &location.market));
            }
            sqlx::query(
                "INSERT INTO locations (id, kind, market, name, city) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(location.id.as_str())
            .bind(location.kind.as_str())
            .bind(location.market.as_str())
            .bind(&location.name)
            .bind(&location.city)
            .execute(&mut *tx)
            .await
            .map_err(taken("location", &location.id))?;
            tx.commit().await?;
            Ok(())
        })
        .await
    }

    async fn locations(&self) -> Result<Vec<Location>, StoreError> {
        sqlx::query("SELECT * FROM locations ORDER BY market, id")
            .fetch_all(&self.reader)
            .await?
            .iter()
            .map(location_from_row)
            .collect()
    }

    async fn location(&self, id: &LocationId) -> Result<Option<Location>, StoreError> {
        sqlx::query("SELECT * FROM locations WHERE id = $1")
            .bind(id.as_str())
            .fetch_optional(&self.reader)
            .await?
            .as_ref()
            .map(location_from_row)
            .transpose()
    }

    async fn record_movements(
        &self,
        movements: &[NewMovement],
    ) -> Result<Vec<Movement>, StoreError> {
        self.retrying(|| async move {
            let mut tx = self.begin_write().await?;
            let mut recorded = Vec::with_capacity(movements.len());
            for movement in movements {
                recorded.push(apply_movement(&mut tx, movement).await?);
            }
            tx.commit().await?;
            Ok(recorded)
        })
        .await
    }

    async fn stock(&self, location: &LocationId) -> Result<Vec<StockLine>, StoreError> {
        sqlx::query("SELECT * FROM stock_levels WHERE location = $1 ORDER BY sku")
            .bind(location.as_str())
            .fetch_all(&self.reader)
            .await?
            .iter()
            .map(|row| {
                let sku: String = row.try_get("sku")?;
                let sku = SkuCode::parse(&sku).map_err(|_| corrupt("sku", &sku))?;
                Ok(StockLine::new(sku, levels_from_row(row, "")?))
            })
            .collect()
    }

    async fn movements(
        &self,
        location: &LocationId,
        after: Option<i64>,
        limit: u32,
    ) -> Result<MovementPage, StoreError> {
        let limit = limit.clamp(1, crate::MOVEMENTS_PAGE_MAX);
        let movements = sqlx::query(
            "SELECT * FROM stock_movements WHERE location = $1 AND id > $2 ORDER BY id LIMIT $3",
        )
        .bind(location.as_str())
        .bind(after.unwrap_or(0))
        .bind(i64::from(limit))
        .fetch_all(&self.reader)
        .await?
        .iter()
        .map(movement_from_row)
        .collect::<Result<Vec<_>, _>>()?;
        let next_after = if movements.len() == limit as usize {
            movements.last().map(|m| m.id)
        } else {
            None
        };
        Ok(MovementPage {
            movements,
            next_after,
        })
    }

    async fn create_customer(
        &self,
        email: &Email,
        at: DateTime<Utc>,
    ) -> Result<CustomerId, StoreError> {
        let ids = self
            .create_customers(std::slice::from_ref(email), at)
            .await?;
        Ok(ids[0])
    }

    async fn customer(&self, id: CustomerId) -> Result<Option<Email>, StoreError> {
        let email: Option<String> = sqlx::query_scalar("SELECT email FROM customers WHERE id = $1")
            .bind(id.0)
            .fetch_optional(&self.reader)
            .await?;
        email
            .map(|e| Email::parse(&e).map_err(|_| corrupt("email", &e)))
            .transpose()
    }

    async fn create_customers(
        &self,
        emails: &[Email],
        at: DateTime<Utc>,
    ) -> Result<Vec<CustomerId>, StoreError> {
        self.retrying(|| async move {
            /// Rows per INSERT statement (two parameters each).
            const ROWS_PER_STATEMENT: usize = 500;
            let mut tx = self.begin_write().await?;
            let mut ids: HashMap<String, i64> = HashMap::with_capacity(emails.len());
            for chunk in emails.chunks(ROWS_PER_STATEMENT) {
                let mut insert =
                    sqlx::QueryBuilder::<Db>::new("INSERT INTO customers (email, created_at) ");
                insert.push_values(chunk, |mut row, email| {
                    row.push_bind(email.as_str()).push_bind(at);
                });
                insert.push(" RETURNING id, email");
                let what = if chunk.len() == 1 {
                    "customer with email"
                } else {
                    "a customer with one of the emails from"
                };
                let rows = insert
                    .build()
                    .fetch_all(&mut *tx)
                    .await
                    .map_err(taken(what, chunk[0].as_str()))?;
                for row in rows {
                    ids.insert(row.try_get("email")?, row.try_get("id")?);
                }
            }
            let ids = emails
                .iter()
                .map(|email| {
                    ids.get(email.as_str())
                        .map(|&id| CustomerId(id))
                        .ok_or_else(|| {
                            StoreError::exists(
                                "customer with email (twice in one call)",
                                email.as_str(),
                            )
                        })
                })
                .collect::<Result<Vec<_>, _>>()?;
            tx.commit().await?;
            Ok(ids)
        })
        .await
    }

    async fn create_sale(&self, terms: &SaleTerms, leased: bool) -> Result<SaleTerms, StoreError> {
        self.retrying(|| async move {
            let mut tx = self.begin_write().await?;
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO sales (sku, product, market, location, quantity, price, currency,
                   starts_at, ends_at, per_customer_limit, payment_window_secs,
                   registration_required, fair_start_secs, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING id",
            )
            .bind(terms.sku.as_str())
            .bind(terms.product.as_str())
            .bind(terms.market.as_str())
            .bind(terms.location.as_str())
            .bind(i64::from(terms.quantity))
            .bind(terms.price)
            .bind(terms.currency.code())
            .bind(terms.starts_at)
            .bind(terms.ends_at)
            .bind(i64::from(terms.per_customer_limit))
            .bind(i64::from(terms.payment_window_secs))
            .bind(terms.registration_required)
            .bind(i64::from(terms.fair_start_secs))
            .bind(terms.created_at)
            .fetch_one(&mut *tx)
            .await?;
            let allotment = NewMovement {
                location: terms.location.clone(),
                sku: terms.sku.clone(),
                kind: MovementKind::Allotment,
                quantity: i64::from(terms.quantity),
                reference: Some(format!("sale {id}")),
                at: terms.created_at,
            };
            apply_movement(&mut tx, &allotment).await?;
            if leased {
                Backend::create_pool(&mut tx, SaleId(id), terms.quantity).await?;
            }
            tx.commit().await?;
            Ok(SaleTerms {
                id: SaleId(id),
                ..terms.clone()
            })
        })
        .await
    }

    async fn sales(&self) -> Result<Vec<SaleTerms>, StoreError> {
        sqlx::query("SELECT * FROM sales ORDER BY id")
            .fetch_all(&self.reader)
            .await?
            .iter()
            .map(sale_from_row)
            .collect()
    }

    async fn append_sale_batch(
        &self,
        sale: SaleId,
        batch: i64,
        events: u32,
        body: &[u8],
        movements: &[NewMovement],
        devices: &[Device],
    ) -> Result<(), StoreError> {
        self.retrying(|| async move {
            let insert = sqlx::query(
                "INSERT INTO sale_journal (sale, batch, events, body) VALUES ($1, $2, $3, $4)",
            )
            .bind(sale.0)
            .bind(batch)
            .bind(i64::from(events))
            .bind(body);
            let batch_taken = || taken("journal batch", format!("{sale}/{batch}"));
            if movements.is_empty() && devices.is_empty() {
                // The hot path: one statement is its own durable transaction, one round
                // trip to the writer instead of three.
                insert.execute(&self.writer).await.map_err(batch_taken())?;
                return Ok(());
            }
            let mut tx = self.begin_write().await?;
            insert.execute(&mut *tx).await.map_err(batch_taken())?;
            for movement in movements {
                apply_movement(&mut tx, movement).await?;
            }
            stores::hand_over(&mut tx, devices).await?;
            tx.commit().await?;
            Ok(())
        })
        .await
    }

    async fn lease_units(
        &self,
        sale: SaleId,
        node: &str,
        want: u32,
        ttl_ms: i64,
        now: DateTime<Utc>,
    ) -> Result<(Lease, bool), StoreError> {
        self.lease(sale, node, want, ttl_ms, now).await
    }

    async fn return_lease(
        &self,
        sale: SaleId,
        node: &str,
        epoch: i64,
        keep: u32,
    ) -> Result<u32, StoreError> {
        Backend::return_lease(self, sale, node, epoch, keep).await
    }

    async fn commit_leased_batch(
        &self,
        terms: &SaleTerms,
        node: &str,
        epoch: i64,
        ttl_ms: i64,
        buys: &[LeasedBuy],
    ) -> Result<Vec<LeasedOutcome>, StoreError> {
        self.commit_leased(terms, node, epoch, ttl_ms, buys).await
    }

    async fn pool_state(&self, sale: SaleId) -> Result<Option<PoolState>, StoreError> {
        Backend::pool_state(self, sale).await
    }

    async fn leased_keys(&self, sale: SaleId) -> Result<Vec<u128>, StoreError> {
        Backend::leased_keys(self, sale).await
    }

    async fn leased_order(&self, id: OrderId) -> Result<Option<Order>, StoreError> {
        Backend::leased_order(self, id).await
    }

    async fn leased_order_by_key(
        &self,
        sale: SaleId,
        key: u128,
    ) -> Result<Option<Order>, StoreError> {
        Backend::leased_order_by_key(self, sale, key).await
    }

    async fn leased_standing(
        &self,
        terms: &SaleTerms,
        buys: &[LeasedBuy],
    ) -> Result<Vec<Option<LeasedOutcome>>, StoreError> {
        Backend::leased_standing(self, terms, buys).await
    }

    async fn leased_curve(&self, sale: SaleId) -> Result<Vec<(DateTime<Utc>, i64)>, StoreError> {
        Backend::leased_curve(self, sale).await
    }

    async fn enter_draw(
        &self,
        sale: SaleId,
        node: &str,
        buys: &[HeldBuy],
    ) -> Result<bool, StoreError> {
        Backend::enter_draw(self, sale, node, buys).await
    }

    async fn close_draw(
        &self,
        terms: &SaleTerms,
        proposed: u64,
    ) -> Result<DrawEntries, StoreError> {
        Backend::close_draw(self, terms, proposed).await
    }

    async fn record_draw(
        &self,
        terms: &SaleTerms,
        node: &str,
        placed: &[LeasedBuy],
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        Backend::record_draw(self, terms, node, placed, at).await
    }

    async fn register_leased(
        &self,
        sale: SaleId,
        customer: CustomerId,
    ) -> Result<bool, StoreError> {
        Backend::register_leased(self, sale, customer).await
    }

    async fn pay_leased_order(
        &self,
        report: &PaymentReport,
        at: DateTime<Utc>,
    ) -> Result<Order, StoreError> {
        self.pay_leased(report, at).await
    }

    async fn cancel_leased_order(
        &self,
        id: OrderId,
        customer: CustomerId,
        at: DateTime<Utc>,
    ) -> Result<Order, StoreError> {
        self.cancel_leased(id, customer, at).await
    }

    async fn expire_leased_orders(
        &self,
        sale: SaleId,
        now: DateTime<Utc>,
    ) -> Result<usize, StoreError> {
        self.expire_leased(sale, now).await
    }

    async fn next_leased_expiry(&self, sale: SaleId) -> Result<Option<DateTime<Utc>>, StoreError> {
        Backend::next_leased_expiry(self, sale).await
    }

    async fn end_leased_sale(&self, sale: SaleId, at: DateTime<Utc>) -> Result<bool, StoreError> {
        self.end_leased(sale, at).await
    }

    async fn fulfil_leased_order(
        &self,
        id: OrderId,
        handed: &[HandedOver],
        devices: &[Device],
        at: DateTime<Utc>,
    ) -> Result<Order, StoreError> {
        self.fulfil_leased(id, handed, devices, at).await
    }

    fn sale_signals(&self) -> tokio::sync::broadcast::Receiver<SaleSignal> {
        self.subscribe()
    }

    async fn signal(&self, signal: SaleSignal) {
        self.announce(signal).await
    }

    async fn check_serials_free(&self, serials: &[Serial]) -> Result<(), StoreError> {
        let mut conn = self.reader.acquire().await?;
        stores::serials_free(&mut conn, serials).await
    }

    async fn sale_journal(&self, sale: SaleId) -> Result<Vec<(i64, Vec<u8>)>, StoreError> {
        let rows =
            sqlx::query("SELECT batch, body FROM sale_journal WHERE sale = $1 ORDER BY batch")
                .bind(sale.0)
                .fetch_all(&self.reader)
                .await?;
        rows.iter()
            .map(|row| Ok((row.try_get("batch")?, row.try_get("body")?)))
            .collect()
    }

    async fn create_session(
        &self,
        id_hash: &str,
        clerk: Option<ClerkId>,
        now: DateTime<Utc>,
        policy: SessionPolicy,
    ) -> Result<(), StoreError> {
        self.retrying(|| async move { self.insert_session(id_hash, clerk, now, policy).await })
            .await
    }

    async fn session(
        &self,
        id_hash: &str,
        now: DateTime<Utc>,
        policy: SessionPolicy,
    ) -> Result<Option<Principal>, StoreError> {
        self.retrying(|| async move { self.select_session(id_hash, now, policy).await })
            .await
    }

    async fn end_session(&self, id_hash: &str) -> Result<(), StoreError> {
        self.retrying(|| async move { self.delete_session(id_hash).await })
            .await
    }

    async fn revoke_clerk(&self, clerk: ClerkId, at: DateTime<Utc>) -> Result<Clerk, StoreError> {
        self.retrying(|| async move { self.mark_clerk_revoked(clerk, at).await })
            .await
    }

    async fn clerks(&self, store: Option<&LocationId>) -> Result<Vec<Clerk>, StoreError> {
        self.select_clerks(store).await
    }

    async fn claim_payment_event(
        &self,
        report: &PaymentReport,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.retrying(|| async move { self.insert_payment_event(report, at).await })
            .await
    }

    async fn create_clerk(
        &self,
        store: &LocationId,
        name: &str,
        at: DateTime<Utc>,
    ) -> Result<ClerkId, StoreError> {
        self.retrying(|| async move { self.insert_clerk(store, name, at).await })
            .await
    }

    async fn record_pos_sale(&self, sale: &PosSaleRecord) -> Result<PosOutcome, StoreError> {
        self.retrying(|| async move { self.insert_pos_sale(sale).await })
            .await
    }

    async fn pos_sales(&self, store: &LocationId, limit: u32) -> Result<Vec<Receipt>, StoreError> {
        self.select_pos_sales(store, limit).await
    }

    async fn device(&self, serial: &Serial) -> Result<Option<Device>, StoreError> {
        self.select_device(serial).await
    }

    async fn record_return(&self, record: &ReturnRecord) -> Result<Refund, StoreError> {
        self.retrying(|| async move { self.insert_return(record).await })
            .await
    }

    async fn refunds(&self, store: Option<&LocationId>) -> Result<Vec<Refund>, StoreError> {
        self.select_refunds(store).await
    }

    async fn discrepancies(
        &self,
        location: Option<&LocationId>,
    ) -> Result<Vec<Discrepancy>, StoreError> {
        self.select_discrepancies(location).await
    }

    async fn resolve_discrepancy(
        &self,
        id: i64,
        note: &str,
        at: DateTime<Utc>,
    ) -> Result<Discrepancy, StoreError> {
        self.retrying(|| async move { self.update_discrepancy(id, note, at).await })
            .await
    }

    async fn create_transfer(
        &self,
        transfer: &NewTransfer,
        ship: bool,
        at: DateTime<Utc>,
    ) -> Result<Transfer, StoreError> {
        self.retrying(|| async move { self.insert_transfer(transfer, ship, at).await })
            .await
    }

    async fn ship_transfer(&self, id: i64, at: DateTime<Utc>) -> Result<Transfer, StoreError> {
        self.retrying(|| async move { self.ship(id, at).await })
            .await
    }

    async fn receive_transfer(
        &self,
        id: i64,
        counts: &[UnitCount],
        at: DateTime<Utc>,
    ) -> Result<Transfer, StoreError> {
        self.retrying(|| async move { self.receive(id, counts, at).await })
            .await
    }

    async fn transfer(&self, id: i64) -> Result<Option<Transfer>, StoreError> {
        self.select_transfer(id).await
    }

    async fn transfers(&self, location: &LocationId) -> Result<Vec<Transfer>, StoreError> {
        self.select_transfers(location).await
    }

    async fn create_campaign(&self, campaign: &Campaign) -> Result<Campaign, StoreError> {
        self.retrying(|| async move { self.insert_campaign(campaign).await })
            .await
    }

    async fn campaigns(&self, market: Option<&MarketCode>) -> Result<Vec<Campaign>, StoreError> {
        self.select_campaigns(market).await
    }

    async fn place_online_order(
        &self,
        order: &NewOnlineOrder,
    ) -> Result<(OnlineOrder, bool), StoreError> {
        self.retrying(|| async move { self.insert_online_order(order).await })
            .await
    }

    async fn online_order(&self, id: OrderId) -> Result<Option<OnlineOrder>, StoreError> {
        self.select_online_order(id).await
    }

    async fn pay_online_order(
        &self,
        id: OrderId,
        event_id: &str,
        outcome: PaymentOutcome,
        amount: i64,
        currency: Currency,
        at: DateTime<Utc>,
    ) -> Result<OnlineOrder, StoreError> {
        self.retrying(|| async move {
            self.pay_online(id, event_id, outcome, amount, currency, at)
                .await
        })
        .await
    }

    async fn cancel_online_order(
        &self,
        id: OrderId,
        customer: CustomerId,
        at: DateTime<Utc>,
    ) -> Result<OnlineOrder, StoreError> {
        self.retrying(|| async move { self.cancel_online(id, customer, at).await })
            .await
    }

    async fn expire_online_orders(&self, now: DateTime<Utc>) -> Result<usize, StoreError> {
        self.retrying(|| async move { self.expire_online(now).await })
            .await
    }

    async fn next_online_expiry(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        self.earliest_online_expiry().await
    }

    async fn fulfil_online_order(
        &self,
        id: OrderId,
        handed: &[HandedOver],
        at: DateTime<Utc>,
    ) -> Result<OnlineOrder, StoreError> {
        self.retrying(|| async move { self.fulfil_online(id, handed, at).await })
            .await
    }

    async fn shipments(&self, quarter: Quarter) -> Result<Vec<Shipment>, StoreError> {
        self.select_shipments(quarter).await
    }

    async fn shipment_totals(&self, quarters: &[Quarter]) -> Result<Vec<TotalRow>, StoreError> {
        self.select_totals(quarters).await
    }

    async fn imported_batch(
        &self,
        kind: &str,
        hash: &str,
    ) -> Result<Option<(String, u64)>, StoreError> {
        self.batch_with_hash(kind, hash).await
    }

    async fn fx_rates(
        &self,
        quarters: &[Quarter],
    ) -> Result<soldout_core::fx::FxTable, StoreError> {
        self.select_fx(quarters).await
    }

    async fn import_rows(
        &self,
        kind: ImportKind,
        batch: &str,
        hash: &str,
        at: DateTime<Utc>,
        rows: tokio::sync::mpsc::Receiver<Option<ImportChunk>>,
    ) -> Result<(u64, bool), StoreError> {
        self.insert_import(kind, batch, hash, at, rows).await
    }

    async fn tracker_rows(
        &self,
        period: Quarter,
        market: &MarketCode,
    ) -> Result<Vec<TrackerRow>, StoreError> {
        self.select_tracker(period, market).await
    }

    async fn set_target(&self, year: i32, units: i64, at: DateTime<Utc>) -> Result<(), StoreError> {
        self.retrying(|| async move {
            sqlx::query(
                "INSERT INTO targets (year, units, set_at) VALUES ($1, $2, $3)
                 ON CONFLICT (year) DO UPDATE SET units = excluded.units, set_at = excluded.set_at",
            )
            .bind(year)
            .bind(units)
            .bind(at)
            .execute(&self.writer)
            .await?;
            Ok(())
        })
        .await
    }

    async fn targets(&self) -> Result<std::collections::BTreeMap<i32, i64>, StoreError> {
        let rows = sqlx::query("SELECT year, units FROM targets ORDER BY year")
            .fetch_all(&self.reader)
            .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("year")?, r.try_get("units")?)))
            .collect()
    }

    async fn create_release(&self, release: &Release, at: DateTime<Utc>) -> Result<(), StoreError> {
        self.retrying(|| async move { self.insert_release(release, at).await })
            .await
    }

    async fn releases(&self) -> Result<Vec<Release>, StoreError> {
        self.select_releases().await
    }

    async fn create_rollout(
        &self,
        terms: &RolloutTerms,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.retrying(|| async move { self.insert_rollout(terms, at).await })
            .await
    }

    async fn rollouts(&self) -> Result<Vec<RolloutTerms>, StoreError> {
        self.select_rollouts().await
    }

    async fn rollout_journal(&self, rollout: &RolloutId) -> Result<Vec<RolloutEvent>, StoreError> {
        self.select_rollout_journal(rollout).await
    }

    async fn record_rollout_progress(
        &self,
        events: &[(RolloutId, Vec<RolloutEvent>)],
        versions: &[DeviceVersion],
        node: &str,
    ) -> Result<(), StoreError> {
        self.retrying(|| async move { self.append_rollout_progress(events, versions, node).await })
            .await
    }

    async fn rollout_journal_head(&self) -> Result<i64, StoreError> {
        self.select_rollout_journal_head().await
    }

    async fn rollout_journal_after(
        &self,
        after: i64,
        node: &str,
    ) -> Result<Vec<(i64, RolloutId, Vec<RolloutEvent>)>, StoreError> {
        self.select_rollout_journal_after(after, node).await
    }

    async fn import_devices(
        &self,
        devices: &[ImportedDevice],
        at: DateTime<Utc>,
    ) -> Result<usize, StoreError> {
        self.retrying(|| async move { self.insert_installed_base(devices, at).await })
            .await
    }

    async fn registered_device(
        &self,
        serial: &Serial,
    ) -> Result<Option<RegisteredDevice>, StoreError> {
        self.select_registered_device(serial).await
    }

    async fn registered_devices(
        &self,
        markets: &[MarketCode],
        products: &[ProductId],
    ) -> Result<Vec<RegisteredDevice>, StoreError> {
        self.select_registered_devices(markets, products).await
    }

    async fn meta(&self, key: &str) -> Result<Option<String>, StoreError> {
        Ok(sqlx::query_scalar("SELECT value FROM meta WHERE key = $1")
            .bind(key)
            .fetch_optional(&self.reader)
            .await?)
    }

    async fn set_meta(&self, key: &str, value: &str) -> Result<(), StoreError> {
        self.retrying(|| async move {
            sqlx::query(
                "INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            )
            .bind(key)
            .bind(value)
            .execute(&self.writer)
            .await?;
            Ok(())
        })
        .await
    }
}
