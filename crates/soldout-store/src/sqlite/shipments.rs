//! SQLite for the shipment ledger: rows are written inside the transaction that
//! hands units over (a counter sale, a fulfilment, a flash sale's batch) or takes
//! one back (a return), and each row adds to its quarter's running totals there too.

use super::shipment_blocks::{add_block_totals, unpack, BlockPacker, SealedBlock};
use super::{column, corrupt, SqliteStore};
use crate::{ImportChunk, ImportKind, StoreError};
use soldout_core::fx::{FxRate, FxTable, PerUsd};
use soldout_core::pos::Channel;
use soldout_core::report::TotalRow;
use soldout_core::shipment::{Quarter, Shipment};
use soldout_core::tracker::TrackerRow;
use soldout_core::{Currency, MarketCode, ProductId, SkuCode};
use sqlx::{Row, Sqlite, SqliteConnection};
use std::collections::HashMap;
use tokio::sync::mpsc;

/// Rows per multi-row INSERT (ten parameters each).
const ROWS_PER_STATEMENT: usize = 500;

/// Quarter totals of some rows: (quarter, market, channel, product, currency) →
/// (units, revenue).
pub(super) type Totals = HashMap<(String, String, &'static str, String, &'static str), (i64, i64)>;

fn totals_of(rows: &[Shipment]) -> Totals {
    let mut totals = Totals::new();
    for row in rows {
        let key = (
            row.quarter().to_string(),
            row.market.to_string(),
            row.channel.as_str(),
            row.product.to_string(),
            row.currency.code(),
        );
        let entry = totals.entry(key).or_default();
        entry.0 += row.units;
        entry.1 += row.revenue;
    }
    totals
}

/// Adds (or, with `sign` -1, takes away) totals.
async fn add_totals(
    conn: &mut SqliteConnection,
    totals: &Totals,
    sign: i64,
) -> Result<(), StoreError> {
    for ((quarter, market, channel, product, currency), (units, revenue)) in totals {
        sqlx::query(
            "INSERT INTO shipment_totals (quarter, market, channel, product, currency, units, revenue)
             VALUES (?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT (quarter, market, channel, product, currency) DO UPDATE SET
               units = units + excluded.units, revenue = revenue + excluded.revenue",
        )
        .bind(quarter)
        .bind(market)
        .bind(*channel)
        .bind(product)
        .bind(*currency)
        .bind(sign * units)
        .bind(sign * revenue)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Appends rows to the ledger, many per statement, and adds them to the quarter
/// totals.
pub(super) async fn record(
    conn: &mut SqliteConnection,
    rows: &[Shipment],
) -> Result<(), StoreError> {
    for chunk in rows.chunks(ROWS_PER_STATEMENT) {
        let mut insert = sqlx::QueryBuilder::<Sqlite>::new(
            "INSERT INTO shipments (day, quarter, market, channel, product, sku, units, revenue, currency, source) ",
        );
        insert.push_values(chunk, |mut b, row| {
            b.push_bind(row.date.to_string())
                .push_bind(row.quarter().to_string())
                .push_bind(row.market.as_str())
                .push_bind(row.channel.as_str())
                .push_bind(row.product.as_str())
                .push_bind(row.sku.as_ref().map(SkuCode::as_str))
                .push_bind(row.units)
                .push_bind(row.revenue)
                .push_bind(row.currency.code())
                .push_bind(&row.source);
        });
        insert.build().execute(&mut *conn).await?;
    }
    add_totals(conn, &totals_of(rows), 1).await
}

/// Removes every row an import batch wrote, and takes them out of the totals.
async fn remove_batch(conn: &mut SqliteConnection, source: &str) -> Result<(), StoreError> {
    let rows = sqlx::query(
        "SELECT quarter, market, channel, product, currency, SUM(units) AS units, SUM(revenue) AS revenue
         FROM shipments WHERE source = ? GROUP BY quarter, market, channel, product, currency",
    )
    .bind(source)
    .fetch_all(&mut *conn)
    .await?;
    let mut removed = Totals::new();
    for row in rows {
        let key = (
            row.try_get("quarter")?,
            row.try_get("market")?,
            column(&row, "channel", Channel::parse)?.as_str(),
            row.try_get("product")?,
            column(&row, "currency", |s| Currency::parse(s).ok())?.code(),
        );
        removed.insert(key, (row.try_get("units")?, row.try_get("revenue")?));
    }
    let blocks = sqlx::query("SELECT quarter, data FROM shipment_blocks WHERE source = ?")
        .bind(source)
        .fetch_all(&mut *conn)
        .await?;
    for block in blocks {
        let quarter: Quarter = column(&block, "quarter", |s| s.parse().ok())?;
        add_block_totals(quarter, block.try_get("data")?, &mut removed)?;
    }
    add_totals(conn, &removed, -1).await?;
    sqlx::query("DELETE FROM shipment_totals WHERE units = 0 AND revenue = 0")
        .execute(&mut *conn)
        .await?;
    for table in ["shipments", "shipment_blocks"] {
        sqlx::query(&format!("DELETE FROM {table} WHERE source = ?"))
            .bind(source)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Writes a block of imported rows.
async fn insert_block(
    conn: &mut SqliteConnection,
    source: &str,
    block: SealedBlock,
) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO shipment_blocks (source, quarter, rows, data) VALUES (?, ?, ?, ?)")
        .bind(source)
        .bind(block.quarter.to_string())
        .bind(block.rows as i64)
        .bind(block.data)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

impl SqliteStore {
    pub(super) async fn select_totals(
        &self,
        quarters: &[Quarter],
    ) -> Result<Vec<TotalRow>, StoreError> {
        let mut out = Vec::new();
        for quarter in quarters {
            let rows = sqlx::query("SELECT * FROM shipment_totals WHERE quarter = ?")
                .bind(quarter.to_string())
                .fetch_all(&self.reader)
                .await?;
            for r in rows {
                out.push(TotalRow {
                    quarter: *quarter,
                    market: column(&r, "market", |s| MarketCode::parse(s).ok())?,
                    channel: column(&r, "channel", Channel::parse)?,
                    product: column(&r, "product", |s| ProductId::parse(s).ok())?,
                    currency: column(&r, "currency", |s| Currency::parse(s).ok())?,
                    units: r.try_get("units")?,
                    revenue: r.try_get("revenue")?,
                });
            }
        }
        Ok(out)
    }

    pub(super) async fn batch_with_hash(
        &self,
        kind: &str,
        hash: &str,
    ) -> Result<Option<(String, u64)>, StoreError> {
        let found: Option<(String, i64)> =
            sqlx::query_as("SELECT batch, rows FROM imports WHERE kind = ? AND content_hash = ?")
                .bind(kind)
                .bind(hash)
                .fetch_optional(&self.reader)
                .await?;
        Ok(found.map(|(batch, rows)| (batch, rows.max(0) as u64)))
    }

    /// The latest imported rate of each currency in each of `quarters`.
    pub(super) async fn select_fx(&self, quarters: &[Quarter]) -> Result<FxTable, StoreError> {
        let mut rates = FxTable::new();
        for quarter in quarters {
            let rows =
                sqlx::query("SELECT currency, per_usd FROM fx_rates WHERE period = ? ORDER BY id")
                    .bind(quarter.to_string())
                    .fetch_all(&self.reader)
                    .await?;
            for r in rows {
                let currency = column(&r, "currency", |s| Currency::parse(s).ok())?;
                rates.insert((*quarter, currency), column(&r, "per_usd", PerUsd::parse)?);
            }
        }
        Ok(rates)
    }

    /// Writes an import's rows as they arrive, all in one transaction: the batch's
    /// earlier rows go first when it is imported again under its name.
    pub(super) async fn insert_import(
        &self,
        kind: ImportKind,
        batch: &str,
        hash: &str,
        at: chrono::DateTime<chrono::Utc>,
        mut rows: mpsc::Receiver<Option<ImportChunk>>,
    ) -> Result<(u64, bool), StoreError> {
        let mut tx = self.begin_write().await?;
        // The same content may have come in meanwhile (two imports at once).
        if let Some(earlier) = sqlx::query_scalar::<_, String>(
            "SELECT batch FROM imports WHERE kind = ? AND content_hash = ?",
        )
        .bind(kind.as_str())
        .bind(hash)
        .fetch_optional(&mut *tx)
        .await?
        {
            return Err(StoreError::AlreadyExists {
                what: "import",
                id: earlier,
            });
        }
        let replaced = sqlx::query_scalar::<_, String>(
            "SELECT batch FROM imports WHERE kind = ? AND batch = ?",
        )
        .bind(kind.as_str())
        .bind(batch)
        .fetch_optional(&mut *tx)
        .await?
        .is_some();
        let source = format!("import:{batch}");
        match kind {
            ImportKind::Shipments => remove_batch(&mut tx, &source).await?,
            ImportKind::Tracker | ImportKind::Fx => {
                let table = if kind == ImportKind::Fx {
                    "fx_rates"
                } else {
                    "tracker_rows"
                };
                sqlx::query(&format!("DELETE FROM {table} WHERE batch = ?"))
                    .bind(batch)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        let mut count = 0u64;
        let mut packer = BlockPacker::default();
        loop {
            match rows.recv().await {
                Some(Some(chunk)) => {
                    count += chunk.len() as u64;
                    match chunk {
                        ImportChunk::Shipments(chunk) => {
                            for row in chunk {
                                if let Some(block) = packer.push(row)? {
                                    insert_block(&mut tx, &source, block).await?;
                                }
                            }
                        }
                        ImportChunk::Tracker(chunk) => {
                            record_tracker(&mut tx, batch, &chunk).await?
                        }
                        ImportChunk::Fx(chunk) => record_fx(&mut tx, batch, &chunk).await?,
                    }
                }
                Some(None) => {
                    let (blocks, totals) = packer.finish()?;
                    for block in blocks {
                        insert_block(&mut tx, &source, block).await?;
                    }
                    add_totals(&mut tx, &totals, 1).await?;
                    // SQLite turns an integer sum that overflows into a float.
                    let overflowed: i64 = sqlx::query_scalar(
                        "SELECT count(*) FROM shipment_totals
                         WHERE typeof(units) != 'integer' OR typeof(revenue) != 'integer'",
                    )
                    .fetch_one(&mut *tx)
                    .await?;
                    if overflowed > 0 {
                        return Err(StoreError::Invalid(
                            "the imported units or revenue would take a total beyond what it \
                             can hold; nothing was imported"
                                .into(),
                        ));
                    }
                    break;
                }
                None => {
                    return Err(StoreError::Invalid(
                        "the import stopped before its end; nothing was imported".into(),
                    ))
                }
            }
        }
        sqlx::query(
            "INSERT INTO imports (kind, batch, content_hash, rows, imported_at) VALUES (?, ?, ?, ?, ?)
             ON CONFLICT (kind, batch) DO UPDATE SET content_hash = excluded.content_hash,
               rows = excluded.rows, imported_at = excluded.imported_at",
        )
        .bind(kind.as_str())
        .bind(batch)
        .bind(hash)
        .bind(count as i64)
        .bind(at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok((count, replaced))
    }

    pub(super) async fn select_shipments(
        &self,
        quarter: Quarter,
    ) -> Result<Vec<Shipment>, StoreError> {
        let mut rows: Vec<Shipment> =
            sqlx::query("SELECT * FROM shipments WHERE quarter = ? ORDER BY id")
                .bind(quarter.to_string())
                .fetch_all(&self.reader)
                .await?
                .iter()
                .map(|r| {
                    let sku: Option<String> = r.try_get("sku")?;
                    Ok(Shipment {
                        date: column(r, "day", |s| s.parse().ok())?,
                        market: column(r, "market", |s| MarketCode::parse(s).ok())?,
                        channel: column(r, "channel", Channel::parse)?,
                        product: column(r, "product", |s| ProductId::parse(s).ok())?,
                        sku: sku
                            .map(|s| SkuCode::parse(&s).map_err(|_| corrupt("sku", &s)))
                            .transpose()?,
                        units: r.try_get("units")?,
                        revenue: r.try_get("revenue")?,
                        currency: column(r, "currency", |s| Currency::parse(s).ok())?,
                        source: r.try_get("source")?,
                    })
                })
                .collect::<Result<_, StoreError>>()?;
        let blocks =
            sqlx::query("SELECT source, data FROM shipment_blocks WHERE quarter = ? ORDER BY id")
                .bind(quarter.to_string())
                .fetch_all(&self.reader)
                .await?;
        for block in blocks {
            rows.extend(unpack(
                quarter,
                block.try_get("source")?,
                block.try_get("data")?,
            )?);
        }
        // Oldest first; rows of one day in the order they were written.
        rows.sort_by_key(|r| r.date);
        Ok(rows)
    }

    pub(super) async fn select_tracker(
        &self,
        period: Quarter,
        market: &MarketCode,
    ) -> Result<Vec<TrackerRow>, StoreError> {
        sqlx::query("SELECT * FROM tracker_rows WHERE period = ? AND market = ?")
            .bind(period.to_string())
            .bind(market.as_str())
            .fetch_all(&self.reader)
            .await?
            .iter()
            .map(|r| {
                Ok(TrackerRow {
                    period,
                    market: market.clone(),
                    vendor: r.try_get("vendor")?,
                    model: r.try_get("model")?,
                    units: r.try_get("units")?,
                })
            })
            .collect()
    }
}

async fn record_tracker(
    conn: &mut SqliteConnection,
    batch: &str,
    rows: &[TrackerRow],
) -> Result<(), StoreError> {
    for chunk in rows.chunks(ROWS_PER_STATEMENT) {
        let mut insert = sqlx::QueryBuilder::<Sqlite>::new(
            "INSERT INTO tracker_rows (batch, period, market, vendor, model, units) ",
        );
        insert.push_values(chunk, |mut b, row| {
            b.push_bind(batch)
                .push_bind(row.period.to_string())
                .push_bind(row.market.as_str())
                .push_bind(&row.vendor)
                .push_bind(row.model.as_deref())
                .push_bind(row.units);
        });
        insert.build().execute(&mut *conn).await?;
    }
    Ok(())
}

async fn record_fx(
    conn: &mut SqliteConnection,
    batch: &str,
    rows: &[FxRate],
) -> Result<(), StoreError> {
    for chunk in rows.chunks(ROWS_PER_STATEMENT) {
        let mut insert = sqlx::QueryBuilder::<Sqlite>::new(
            "INSERT INTO fx_rates (batch, period, currency, per_usd) ",
        );
        insert.push_values(chunk, |mut b, row| {
            b.push_bind(batch)
                .push_bind(row.period.to_string())
                .push_bind(row.currency.code())
                .push_bind(row.per_usd.to_string());
        });
        insert.build().execute(&mut *conn).await?;
    }
    Ok(())
}
