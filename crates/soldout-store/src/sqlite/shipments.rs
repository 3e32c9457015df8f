//! SQLite for the shipment ledger: rows are written inside the transaction that
//! hands units over (a counter sale, a fulfilment, a flash sale's batch) or takes
//! one back (a return), and each row adds to its quarter's running totals there too.

use super::{corrupt, SqliteStore};
use crate::StoreError;
use soldout_core::pos::Channel;
use soldout_core::shipment::{Quarter, Shipment};
use soldout_core::{Currency, MarketCode, ProductId, SkuCode};
use sqlx::{Row, SqliteConnection};

/// Appends rows to the ledger and adds them to the quarter totals.
pub(super) async fn record(
    conn: &mut SqliteConnection,
    rows: &[Shipment],
) -> Result<(), StoreError> {
    for row in rows {
        let quarter = row.quarter().to_string();
        sqlx::query(
            "INSERT INTO shipments (day, quarter, market, channel, product, sku, units, revenue, currency, source)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(row.date.to_string())
        .bind(&quarter)
        .bind(row.market.as_str())
        .bind(row.channel.as_str())
        .bind(row.product.as_str())
        .bind(row.sku.as_ref().map(SkuCode::as_str))
        .bind(row.units)
        .bind(row.revenue)
        .bind(row.currency.code())
        .bind(&row.source)
        .execute(&mut *conn)
        .await?;
        sqlx::query(
            "INSERT INTO shipment_totals (quarter, market, channel, product, currency, units, revenue)
             VALUES (?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT (quarter, market, channel, product, currency) DO UPDATE SET
               units = units + excluded.units, revenue = revenue + excluded.revenue",
        )
        .bind(&quarter)
        .bind(row.market.as_str())
        .bind(row.channel.as_str())
        .bind(row.product.as_str())
        .bind(row.currency.code())
        .bind(row.units)
        .bind(row.revenue)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

impl SqliteStore {
    pub(super) async fn select_shipments(
        &self,
        quarter: Quarter,
    ) -> Result<Vec<Shipment>, StoreError> {
        sqlx::query("SELECT * FROM shipments WHERE quarter = ? ORDER BY id")
            .bind(quarter.to_string())
            .fetch_all(&self.reader)
            .await?
            .iter()
            .map(|r| {
                let text = |name: &str| -> Result<String, StoreError> { Ok(r.try_get(name)?) };
                let day = text("day")?;
                let sku: Option<String> = r.try_get("sku")?;
                Ok(Shipment {
                    date: day.parse().map_err(|_| corrupt("day", &day))?,
                    market: MarketCode::parse(&text("market")?)
                        .map_err(|_| corrupt("market", "?"))?,
                    channel: Channel::parse(&text("channel")?)
                        .ok_or_else(|| corrupt("channel", "?"))?,
                    product: ProductId::parse(&text("product")?)
                        .map_err(|_| corrupt("product", "?"))?,
                    sku: sku
                        .map(|s| SkuCode::parse(&s).map_err(|_| corrupt("sku", &s)))
                        .transpose()?,
                    units: r.try_get("units")?,
                    revenue: r.try_get("revenue")?,
                    currency: Currency::parse(&text("currency")?)
                        .map_err(|_| corrupt("currency", "?"))?,
                    source: text("source")?,
                })
            })
            .collect()
    }
}
