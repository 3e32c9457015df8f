//! SQLite for the shipment ledger: rows are written inside the transaction that
//! hands units over (a counter sale, a fulfilment, a flash sale's batch) or takes
//! one back (a return), and each row adds to its quarter's running totals there too.

use super::{column, corrupt, Backend};
use super::{Db, DbConnection};
use crate::shipment_blocks::{
    add_block_totals, totals_of, unpack, BlockPacker, SealedBlock, Totals,
};
use crate::{ImportChunk, ImportKind, StoreError};
use soldout_core::fx::{FxRate, FxTable, PerUsd};
use soldout_core::pos::Channel;
use soldout_core::report::TotalRow;
use soldout_core::shipment::{Quarter, Shipment};
use soldout_core::tracker::TrackerRow;
use soldout_core::{Currency, MarketCode, ProductId, SkuCode};
use sqlx::Row;
use tokio::sync::mpsc;

/// Rows per multi-row INSERT (ten parameters each).
const ROWS_PER_STATEMENT: usize = 500;

fn totals_overflow() -> StoreError {
    StoreError::Invalid(
        "the imported units or revenue would take a total beyond what it can hold; nothing \
         was imported"
            .into(),
    )
}

/// Adds (or, with `sign` -1, takes away) totals.
async fn add_totals(conn: &mut DbConnection, totals: &Totals, sign: i64) -> Result<(), StoreError> {
    for ((quarter, market, channel, product, currency), (units, revenue)) in totals {
        sqlx::query(
            "INSERT INTO shipment_totals (quarter, market, channel, product, currency, units, revenue)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (quarter, market, channel, product, currency) DO UPDATE SET
               units = shipment_totals.units + excluded.units,
               revenue = shipment_totals.revenue + excluded.revenue",
        )
        .bind(quarter)
        .bind(market)
        .bind(*channel)
        .bind(product)
        .bind(*currency)
        .bind(sign * units)
        .bind(sign * revenue)
        .execute(&mut *conn)
        .await
        .map_err(|e| {
            // PostgreSQL refuses a bigint that overflows (SQLSTATE 22003).
            let out_of_range = e
                .as_database_error()
                .is_some_and(|d| d.code().as_deref() == Some("22003"));
            if out_of_range {
                totals_overflow()
            } else {
                e.into()
            }
        })?;
    }
    Ok(())
}

/// Appends rows to the ledger, many per statement, and adds them to the quarter
/// totals.
pub(super) async fn record(conn: &mut DbConnection, rows: &[Shipment]) -> Result<(), StoreError> {
    for chunk in rows.chunks(ROWS_PER_STATEMENT) {
        let mut insert = sqlx::QueryBuilder::<Db>::new(
            "INSERT INTO shipments (day, quarter, market, channel, product, sku, units, revenue, currency, source) ",
        );
        insert.push_values(chunk, |mut b, row| {
            b.push_bind(row.date)
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
async fn remove_batch(conn: &mut DbConnection, source: &str) -> Result<(), StoreError> {
    let rows = sqlx::query(
        "SELECT quarter, market, channel, product, currency, CAST(SUM(units) AS BIGINT) AS units, CAST(SUM(revenue) AS BIGINT) AS revenue
         FROM shipments WHERE source = $1 GROUP BY quarter, market, channel, product, currency",
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
    let blocks = sqlx::query("SELECT quarter, data FROM shipment_blocks WHERE source = $1")
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
        sqlx::query(&format!("DELETE FROM {table} WHERE source = $1"))
            .bind(source)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Writes a block of imported rows.
async fn insert_block(
    conn: &mut DbConnection,
    source: &str,
    block: SealedBlock,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO shipment_blocks (source, quarter, rows, data) VALUES ($1, $2, $3, $4)",
    )
    .bind(source)
    .bind(block.quarter.to_string())
    .bind(block.rows as i64)
    .bind(block.data)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

impl Backend {
    pub(super) async fn select_totals(
        &self,
        quarters: &[Quarter],
    ) -> Result<Vec<TotalRow>, StoreError> {
        let mut out = Vec::new();
        for quarter in quarters {
            let rows = sqlx::query("SELECT * FROM shipment_totals WHERE quarter = $1")
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
            sqlx::query_as("SELECT batch, rows FROM imports WHERE kind = $1 AND content_hash = $2")
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
                sqlx::query("SELECT currency, per_usd FROM fx_rates WHERE period = $1 ORDER BY id")
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
        let mut tx = self.begin_import().await?;
        // The same content may have come in meanwhile (two imports at once).
        if let Some(earlier) = sqlx::query_scalar::<_, String>(
            "SELECT batch FROM imports WHERE kind = $1 AND content_hash = $2",
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
            "SELECT batch FROM imports WHERE kind = $1 AND batch = $2",
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
                sqlx::query(&format!("DELETE FROM {table} WHERE batch = $1"))
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
                    let overflowed = super::dialect::totals_overflowed(&mut tx).await?;
                    if overflowed {
                        return Err(totals_overflow());
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
            "INSERT INTO imports (kind, batch, content_hash, rows, imported_at) VALUES ($1, $2, $3, $4, $5)
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
            sqlx::query("SELECT * FROM shipments WHERE quarter = $1 ORDER BY id")
                .bind(quarter.to_string())
                .fetch_all(&self.reader)
                .await?
                .iter()
                .map(|r| {
                    let sku: Option<String> = r.try_get("sku")?;
                    Ok(Shipment {
                        date: r.try_get("day")?,
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
            sqlx::query("SELECT source, data FROM shipment_blocks WHERE quarter = $1 ORDER BY id")
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
        sqlx::query("SELECT * FROM tracker_rows WHERE period = $1 AND market = $2")
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
    conn: &mut DbConnection,
    batch: &str,
    rows: &[TrackerRow],
) -> Result<(), StoreError> {
    for chunk in rows.chunks(ROWS_PER_STATEMENT) {
        let mut insert = sqlx::QueryBuilder::<Db>::new(
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
    conn: &mut DbConnection,
    batch: &str,
    rows: &[FxRate],
) -> Result<(), StoreError> {
    for chunk in rows.chunks(ROWS_PER_STATEMENT) {
        let mut insert = sqlx::QueryBuilder::<Db>::new(
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
