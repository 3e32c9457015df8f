//! The fair-start draw of a leased sale: the buys every node held while the window was
//! open are entered as rows; the first seed recorded closes the entries (an entry
//! takes a shared lock on the pool row, the seed an exclusive one, so no entry lands
//! after the seed); every node reads the same entries, decides them the same way (see
//! `soldout_core::sale::draw`), and the first to write the winners' orders wins.

use super::leases::{add_holdings, count, insert_orders, key_text, registered_among};
use super::{corrupt, dialect, Backend, Db};
use crate::leases::{DrawEntries, LeasedBuy, SaleSignal};
use crate::StoreError;
use chrono::{DateTime, Utc};
use soldout_core::sale::draw::HeldBuy;
use soldout_core::sale::{SaleId, SaleTerms};
use soldout_core::CustomerId;
use sqlx::QueryBuilder;
use std::collections::BTreeMap;

const ROWS_PER_STATEMENT: usize = 1_000;

impl Backend {
    pub(super) async fn enter_draw(
        &self,
        sale: SaleId,
        node: &str,
        buys: &[HeldBuy],
    ) -> Result<bool, StoreError> {
        let for_share = dialect::FOR_SHARE;
        self.retrying(|| async move {
            let mut tx = self.begin_locking().await?;
            let seed: Option<Option<i64>> = sqlx::query_scalar(&format!(
                "SELECT fair_start_seed FROM sale_pools WHERE sale = $1{for_share}"
            ))
            .bind(sale.0)
            .fetch_optional(&mut *tx)
            .await?;
            match seed {
                None => return Err(StoreError::not_found("leased sale", sale)),
                Some(Some(_)) => return Ok(false),
                Some(None) => {}
            }
            for chunk in buys.chunks(ROWS_PER_STATEMENT) {
                let mut insert = QueryBuilder::<Db>::new(
                    "INSERT INTO sale_draw_entries (sale, idempotency_key, customer, quantity, node) ",
                );
                insert.push_values(chunk, |mut row, buy| {
                    row.push_bind(sale.0)
                        .push_bind(key_text(buy.key))
                        .push_bind(buy.customer.0)
                        .push_bind(i64::from(buy.quantity))
                        .push_bind(node);
                });
                insert.push(" ON CONFLICT (sale, idempotency_key) DO NOTHING");
                insert.build().execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok(true)
        })
        .await
    }

    pub(super) async fn close_draw(
        &self,
        terms: &SaleTerms,
        proposed: u64,
    ) -> Result<DrawEntries, StoreError> {
        let sale = terms.id;
        let (seed, drawn) = self
            .retrying(|| async move {
                let mut tx = self.begin_locking().await?;
                let closed: (i64, bool) = sqlx::query_as(
                    "UPDATE sale_pools SET fair_start_seed = COALESCE(fair_start_seed, $1)
                     WHERE sale = $2 RETURNING fair_start_seed, drawn",
                )
                .bind(proposed as i64)
                .bind(sale.0)
                .fetch_one(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(closed)
            })
            .await?;
        // The seed is committed: every entry that will ever be is there.
        let mut tx = self.begin_snapshot().await?;
        let rows: Vec<(String, i64, i64)> = sqlx::query_as(
            "SELECT idempotency_key, customer, quantity FROM sale_draw_entries WHERE sale = $1",
        )
        .bind(sale.0)
        .fetch_all(&mut *tx)
        .await?;
        let entries = rows
            .into_iter()
            .map(|(key, customer, quantity)| {
                Ok(HeldBuy {
                    customer: CustomerId(customer),
                    quantity: count(quantity),
                    key: u128::from_str_radix(&key, 16)
                        .map_err(|_| corrupt("idempotency key", &key))?,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        let registered = if terms.registration_required {
            registered_among(&mut tx, sale, entries.iter().map(|e| e.customer))
                .await?
                .into_iter()
                .map(CustomerId)
                .collect()
        } else {
            Vec::new()
        };
        tx.commit().await?;
        Ok(DrawEntries {
            seed: seed as u64,
            drawn,
            entries,
            registered,
        })
    }

    pub(super) async fn record_draw(
        &self,
        terms: &SaleTerms,
        node: &str,
        placed: &[LeasedBuy],
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let sale = terms.id;
        let recorded = self
            .retrying(|| async move {
                let mut tx = self.begin_locking().await?;
                let marked = sqlx::query(
                    "UPDATE sale_pools SET drawn = $1 WHERE sale = $2 AND drawn = $3",
                )
                .bind(true)
                .bind(sale.0)
                .bind(false)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if marked == 0 {
                    return Ok(false);
                }
                let orders = insert_orders(&mut tx, terms, node, 0, placed.iter()).await?;
                let mut added: BTreeMap<i64, (i64, i64)> = BTreeMap::new();
                for buy in placed {
                    let entry = added.entry(buy.customer.0).or_default();
                    entry.0 += i64::from(buy.quantity);
                    entry.1 += 1;
                }
                let added: Vec<(i64, (i64, i64))> = added.into_iter().collect();
                let within = add_holdings(&mut tx, sale, terms.per_customer_limit, &added).await?;
                if orders.len() != placed.len() || within.len() != added.len() {
                    return Err(StoreError::Backend(
                        format!("sale {sale}: the draw's orders do not fit the sale as stored")
                            .into(),
                    ));
                }
                let units: i64 = placed.iter().map(|b| i64::from(b.quantity)).sum();
                let unleased: i64 = sqlx::query_scalar(
                    "UPDATE sale_pools SET unleased = unleased - $1 WHERE sale = $2
                     RETURNING unleased",
                )
                .bind(units)
                .bind(sale.0)
                .fetch_one(&mut *tx)
                .await?;
                if unleased == 0 {
                    sqlx::query(
                        "UPDATE sale_pools SET sold_out_at = $1 WHERE sale = $2 AND sold_out_at IS NULL",
                    )
                    .bind(at)
                    .bind(sale.0)
                    .execute(&mut *tx)
                    .await?;
                }
                tx.commit().await?;
                Ok(true)
            })
            .await?;
        self.announce(SaleSignal::Changed(sale)).await;
        Ok(recorded)
    }
}
