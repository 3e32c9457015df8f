//! A sale sold by several nodes: its pool of unleased units, each node's lease (a
//! fencing epoch and an expiry on the database's clock), and the batch that places
//! orders from a lease with each customer's holding kept within the limit. The batch
//! and the leases run in transactions whose statements guard themselves (`... WHERE
//! granted - sold >= n`, `ON CONFLICT`), so two nodes never wait on each other's rows
//! except for the same customer or key. The rules are the core's.

use super::leased_orders::order_from_row;
use super::{dialect, Backend, Db};
use crate::leases::{Lease, LeasedBuy, LeasedOutcome, PoolState, SaleSignal};
use crate::StoreError;
use chrono::{DateTime, Utc};
use soldout_core::sale::{
    from_ms, to_ms, within_limit, Order, OrderStatus, SaleCounters, SaleId, SaleTerms,
    ORDERS_PER_CUSTOMER_MAX,
};
use soldout_core::CustomerId;
use sqlx::{QueryBuilder, Row, Transaction};
use std::collections::{BTreeMap, HashMap, HashSet};

/// Rows one statement of a batch carries (well under both databases' bind limits).
const ROWS_PER_STATEMENT: usize = 1_000;

fn fenced(sale: SaleId, node: &str, epoch: i64) -> StoreError {
    StoreError::Fenced(format!(
        "node {node} no longer holds a live lease of sale {sale} under epoch {epoch}"
    ))
}

/// A stored count as the core counts it.
pub(super) fn count(stored: i64) -> u32 {
    stored.clamp(0, i64::from(u32::MAX)) as u32
}

pub(super) fn key_text(key: u128) -> String {
    format!("{key:032x}")
}

/// Inserts an order row per buy, unless its key bought before; answers the ids placed.
pub(super) async fn insert_orders<'a>(
    tx: &mut Transaction<'_, Db>,
    terms: &SaleTerms,
    node: &str,
    epoch: i64,
    buys: impl Iterator<Item = &'a LeasedBuy>,
) -> Result<HashSet<String>, StoreError> {
    let buys: Vec<&LeasedBuy> = buys.collect();
    let mut placed = HashSet::new();
    for chunk in buys.chunks(ROWS_PER_STATEMENT) {
        let mut insert = QueryBuilder::<Db>::new(
            "INSERT INTO sale_orders (id, sale, customer, idempotency_key, quantity, amount,
               status, created_at, pay_by, node, epoch) ",
        );
        insert.push_values(chunk, |mut row, buy| {
            row.push_bind(buy.order.to_string())
                .push_bind(terms.id.0)
                .push_bind(buy.customer.0)
                .push_bind(key_text(buy.key))
                .push_bind(i64::from(buy.quantity))
                .push_bind(terms.price * i64::from(buy.quantity))
                .push_bind(OrderStatus::Reserved.as_str())
                .push_bind(buy.at)
                .push_bind(from_ms(
                    to_ms(buy.at) + i64::from(terms.payment_window_secs) * 1000,
                ))
                .push_bind(node)
                .push_bind(epoch);
        });
        insert.push(" ON CONFLICT (sale, idempotency_key) DO NOTHING RETURNING id");
        let ids: Vec<String> = insert.build_query_scalar().fetch_all(&mut **tx).await?;
        placed.extend(ids);
    }
    Ok(placed)
}

/// Adds units and orders to customers' holdings, in customer order (so two batches
/// lock the same customers in the same order); a row another node changed meanwhile
/// is only updated while it stays within the limit. Answers the customers added to.
pub(super) async fn add_holdings(
    tx: &mut Transaction<'_, Db>,
    sale: SaleId,
    limit: u32,
    added: &[(i64, (i64, i64))],
) -> Result<HashSet<i64>, StoreError> {
    let mut within = HashSet::new();
    for chunk in added.chunks(ROWS_PER_STATEMENT) {
        let mut upsert = QueryBuilder::<Db>::new(
            "INSERT INTO sale_holders (sale, customer, held, orders, limit_units) ",
        );
        upsert.push_values(chunk, |mut row, (customer, (units, orders))| {
            row.push_bind(sale.0)
                .push_bind(*customer)
                .push_bind(*units)
                .push_bind(*orders)
                .push_bind(i64::from(limit));
        });
        upsert.push(format!(
            " ON CONFLICT (sale, customer) DO UPDATE SET
               held = sale_holders.held + excluded.held,
               orders = sale_holders.orders + excluded.orders
             WHERE sale_holders.held + excluded.held <= sale_holders.limit_units
               AND sale_holders.orders + excluded.orders <= {ORDERS_PER_CUSTOMER_MAX}
             RETURNING customer"
        ));
        let ok: Vec<i64> = upsert.build_query_scalar().fetch_all(&mut **tx).await?;
        within.extend(ok);
    }
    Ok(within)
}

impl Backend {
    pub(super) async fn create_pool(
        tx: &mut Transaction<'_, Db>,
        sale: SaleId,
        quantity: u32,
    ) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO sale_pools (sale, unleased) VALUES ($1, $2)")
            .bind(sale.0)
            .bind(i64::from(quantity))
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    pub(super) async fn lease(
        &self,
        sale: SaleId,
        node: &str,
        want: u32,
        ttl_ms: i64,
        now: DateTime<Utc>,
    ) -> Result<(Lease, bool), StoreError> {
        let now_ms = dialect::NOW_MS;
        let (lease, sold_out) = self
            .retrying(|| async move {
                let mut tx = self.begin_locking().await?;
                // Leases whose node stopped renewing them give their units back first.
                let reclaimed: Vec<i64> = sqlx::query_scalar(&format!(
                    "DELETE FROM sale_leases WHERE sale = $1 AND expires_ms <= {now_ms}
                     RETURNING granted - sold"
                ))
                .bind(sale.0)
                .fetch_all(&mut *tx)
                .await?;
                let reclaimed: i64 = reclaimed.iter().sum();
                let pool = sqlx::query(
                    "UPDATE sale_pools SET unleased = unleased + $1 WHERE sale = $2
                     RETURNING unleased, ended",
                )
                .bind(reclaimed)
                .bind(sale.0)
                .fetch_optional(&mut *tx)
                .await?
                .ok_or_else(|| StoreError::not_found("leased sale", sale))?;
                let ended: bool = pool.try_get("ended")?;
                let unleased: i64 = pool.try_get("unleased")?;
                let take = if ended { 0 } else { i64::from(want).min(unleased) };
                let epoch: i64 = sqlx::query_scalar(
                    "UPDATE sale_pools SET unleased = unleased - $1,
                       epoch = epoch + CASE WHEN EXISTS (
                         SELECT 1 FROM sale_leases WHERE sale = $2 AND node = $3) THEN 0 ELSE 1 END
                     WHERE sale = $2 RETURNING epoch",
                )
                .bind(take)
                .bind(sale.0)
                .bind(node)
                .fetch_one(&mut *tx)
                .await?;
                // A live lease keeps its epoch and grows; a node without one gets the
                // next epoch.
                let row = sqlx::query(&format!(
                    "INSERT INTO sale_leases (sale, node, epoch, granted, sold, expires_ms)
                     VALUES ($1, $2, $3, $4, 0, {now_ms} + $5)
                     ON CONFLICT (sale, node) DO UPDATE SET
                       granted = sale_leases.granted + excluded.granted,
                       expires_ms = excluded.expires_ms
                     RETURNING epoch, granted, sold, expires_ms - {now_ms} AS live_for_ms"
                ))
                .bind(sale.0)
                .bind(node)
                .bind(epoch)
                .bind(take)
                .bind(ttl_ms)
                .fetch_one(&mut *tx)
                .await?;
                let lease = Lease {
                    epoch: row.try_get("epoch")?,
                    granted: row.try_get::<i64, _>("granted")? as u32,
                    sold: row.try_get::<i64, _>("sold")? as u32,
                    live_for_ms: row.try_get("live_for_ms")?,
                };
                // Nothing to lease and nothing leased anywhere: the sale is sold out
                // (until a unit comes back).
                let leased_unsold: i64 = sqlx::query_scalar(
                    "SELECT CAST(COALESCE(SUM(granted - sold), 0) AS BIGINT) FROM sale_leases WHERE sale = $1",
                )
                .bind(sale.0)
                .fetch_one(&mut *tx)
                .await?;
                let sold_out = !ended && unleased - take == 0 && leased_unsold == 0;
                if sold_out {
                    sqlx::query(
                        "UPDATE sale_pools SET sold_out_at = $1 WHERE sale = $2 AND sold_out_at IS NULL",
                    )
                    .bind(now)
                    .bind(sale.0)
                    .execute(&mut *tx)
                    .await?;
                }
                tx.commit().await?;
                Ok((lease, sold_out || reclaimed > 0))
            })
            .await?;
        if sold_out {
            self.announce(SaleSignal::Changed(sale)).await;
        }
        Ok((lease, sold_out))
    }

    pub(super) async fn return_lease(
        &self,
        sale: SaleId,
        node: &str,
        epoch: i64,
        keep: u32,
    ) -> Result<u32, StoreError> {
        let returned = self
            .retrying(|| async move {
                let mut tx = self.begin_locking().await?;
                // Only this node's owner writes its lease (others only delete it), so
                // what is unsold cannot change between this read and the update.
                let unsold: Option<i64> = sqlx::query_scalar(
                    "SELECT granted - sold FROM sale_leases WHERE sale = $1 AND node = $2 AND epoch = $3",
                )
                .bind(sale.0)
                .bind(node)
                .bind(epoch)
                .fetch_optional(&mut *tx)
                .await?;
                let Some(unsold) = unsold else { return Ok(0) };
                let give = unsold - i64::from(keep).min(unsold);
                if keep == 0 {
                    sqlx::query("DELETE FROM sale_leases WHERE sale = $1 AND node = $2 AND epoch = $3")
                        .bind(sale.0)
                        .bind(node)
                        .bind(epoch)
                        .execute(&mut *tx)
                        .await?;
                } else if give > 0 {
                    sqlx::query(
                        "UPDATE sale_leases SET granted = granted - $1
                         WHERE sale = $2 AND node = $3 AND epoch = $4",
                    )
                    .bind(give)
                    .bind(sale.0)
                    .bind(node)
                    .bind(epoch)
                    .execute(&mut *tx)
                    .await?;
                }
                if give > 0 {
                    sqlx::query("UPDATE sale_pools SET unleased = unleased + $1 WHERE sale = $2")
                        .bind(give)
                        .bind(sale.0)
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                Ok(give as u32)
            })
            .await?;
        if returned > 0 {
            self.announce(SaleSignal::Changed(sale)).await;
        }
        Ok(returned)
    }

    /// Commits one batch of a node's buys under its lease: the lease must be live on
    /// the database's clock and its epoch current, or nothing is written. Each key
    /// places one order across every node (a unique index); each customer's units
    /// across every node stay within the limit (a guarded upsert, backed by a CHECK).
    pub(super) async fn commit_leased(
        &self,
        terms: &SaleTerms,
        node: &str,
        epoch: i64,
        ttl_ms: i64,
        buys: &[LeasedBuy],
    ) -> Result<Vec<LeasedOutcome>, StoreError> {
        let (outcomes, emptied) = self
            .retrying(|| async move {
                let mut tx = self.begin_locking().await?;
                let sale = terms.id;
                let mut outcomes: Vec<Option<LeasedOutcome>> = vec![None; buys.len()];
                if terms.registration_required {
                    let registered =
                        registered_among(&mut tx, sale, buys.iter().map(|b| b.customer)).await?;
                    for (i, buy) in buys.iter().enumerate() {
                        if !registered.contains(&buy.customer.0) {
                            outcomes[i] = Some(LeasedOutcome::NotRegistered);
                        }
                    }
                }
                // Orders, one per key: a key that bought before (here or on another node)
                // places nothing.
                let candidates: Vec<usize> =
                    (0..buys.len()).filter(|&i| outcomes[i].is_none()).collect();
                let placed = insert_orders(
                    &mut tx,
                    terms,
                    node,
                    epoch,
                    candidates.iter().map(|&i| &buys[i]),
                )
                .await?;
                for &i in &candidates {
                    let buy = &buys[i];
                    if placed.contains(&buy.order.to_string()) {
                        continue;
                    }
                    let earlier = sqlx::query(
                        "SELECT * FROM sale_orders WHERE sale = $1 AND idempotency_key = $2",
                    )
                    .bind(sale.0)
                    .bind(key_text(buy.key))
                    .fetch_one(&mut *tx)
                    .await?;
                    let earlier = order_from_row(&earlier)?;
                    outcomes[i] = Some(
                        if earlier.quantity == buy.quantity && earlier.customer == buy.customer {
                            LeasedOutcome::Replay(earlier)
                        } else {
                            LeasedOutcome::KeyMismatch {
                                original: earlier.quantity,
                            }
                        },
                    );
                }
                // Each customer's buys in batch order, against what they hold now: as on one
                // node, the buys that fit under the limit are placed and the rest refused.
                // Only a customer with several buys in the batch needs the read; for one
                // buy the guarded upsert below decides alone.
                let mut buys_of: BTreeMap<i64, usize> = BTreeMap::new();
                for &i in candidates.iter().filter(|&&i| outcomes[i].is_none()) {
                    *buys_of.entry(buys[i].customer.0).or_default() += 1;
                }
                let customers: Vec<i64> = buys_of
                    .into_iter()
                    .filter(|&(_, n)| n > 1)
                    .map(|(c, _)| c)
                    .collect();
                let mut standing: HashMap<i64, (i64, i64)> = HashMap::new();
                for chunk in customers.chunks(ROWS_PER_STATEMENT) {
                    let mut query = QueryBuilder::<Db>::new(
                        "SELECT customer, held, orders FROM sale_holders WHERE sale = ",
                    );
                    query.push_bind(sale.0).push(" AND customer IN (");
                    let mut list = query.separated(", ");
                    for customer in chunk {
                        list.push_bind(*customer);
                    }
                    query.push(")");
                    let rows: Vec<(i64, i64, i64)> =
                        query.build_query_as().fetch_all(&mut *tx).await?;
                    standing.extend(rows.into_iter().map(|(c, h, o)| (c, (h, o))));
                }
                let limit = terms.per_customer_limit;
                let mut added: BTreeMap<i64, (i64, i64)> = BTreeMap::new();
                let mut refused: Vec<usize> = Vec::new();
                for &i in &candidates {
                    if outcomes[i].is_some() {
                        continue;
                    }
                    let buy = &buys[i];
                    let (held, orders) = standing.entry(buy.customer.0).or_default();
                    let units = i64::from(buy.quantity);
                    if within_limit(limit, count(*held), count(*orders), buy.quantity) {
                        *held += units;
                        *orders += 1;
                        let entry = added.entry(buy.customer.0).or_default();
                        entry.0 += units;
                        entry.1 += 1;
                    } else {
                        outcomes[i] = Some(LeasedOutcome::LimitReached { held: count(*held) });
                        refused.push(i);
                    }
                }
                // The guarded upsert, in customer order (so two batches lock the same
                // customers in the same order): a row another node changed since the read
                // above is only updated while the sum stays within the limit.
                let added: Vec<(i64, (i64, i64))> = added.into_iter().collect();
                let within = add_holdings(&mut tx, sale, limit, &added).await?;
                // Customers another node took to the limit meanwhile: this batch's orders of
                // theirs go too.
                for &i in &candidates {
                    let customer = buys[i].customer.0;
                    if outcomes[i].is_none() && !within.contains(&customer) {
                        let held: i64 = sqlx::query_scalar(
                            "SELECT held FROM sale_holders WHERE sale = $1 AND customer = $2",
                        )
                        .bind(sale.0)
                        .bind(customer)
                        .fetch_one(&mut *tx)
                        .await?;
                        outcomes[i] = Some(LeasedOutcome::LimitReached { held: count(held) });
                        refused.push(i);
                    }
                }
                for chunk in refused.chunks(ROWS_PER_STATEMENT) {
                    let mut delete =
                        QueryBuilder::<Db>::new("DELETE FROM sale_orders WHERE id IN (");
                    let mut list = delete.separated(", ");
                    for &i in chunk {
                        list.push_bind(buys[i].order.to_string());
                    }
                    delete.push(")");
                    delete.build().execute(&mut *tx).await?;
                }
                let claimed: i64 = candidates
                    .iter()
                    .filter(|&&i| outcomes[i].is_none())
                    .map(|&i| i64::from(buys[i].quantity))
                    .sum();
                let now_ms = dialect::NOW_MS;
                // The fence, last so the lease's row is locked only until the commit:
                // the batch's claim on its lease's units, refused (and the whole batch
                // with it) unless the lease is live on the database's clock under this
                // epoch and holds them.
                let left: Option<i64> = sqlx::query_scalar(&format!(
                    "UPDATE sale_leases SET sold = sold + $1, expires_ms = {now_ms} + $2
                     WHERE sale = $3 AND node = $4 AND epoch = $5
                       AND expires_ms > {now_ms} AND granted - sold >= $1
                     RETURNING granted - sold"
                ))
                .bind(claimed)
                .bind(ttl_ms)
                .bind(sale.0)
                .bind(node)
                .bind(epoch)
                .fetch_optional(&mut *tx)
                .await?;
                let Some(left) = left else {
                    return Err(fenced(sale, node, epoch));
                };
                tx.commit().await?;
                let outcomes: Vec<LeasedOutcome> = outcomes
                    .into_iter()
                    .map(|o| o.unwrap_or(LeasedOutcome::Placed))
                    .collect();
                Ok((outcomes, left == 0))
            })
            .await?;
        if emptied {
            // A lease sold to its last unit: every node looks again, so the sale's
            // last units are known sold out everywhere at once.
            self.announce(SaleSignal::Changed(terms.id)).await;
        }
        Ok(outcomes)
    }

    pub(super) async fn leased_standing(
        &self,
        terms: &SaleTerms,
        buys: &[LeasedBuy],
    ) -> Result<Vec<Option<LeasedOutcome>>, StoreError> {
        let sale = terms.id;
        let mut earlier: HashMap<String, Order> = HashMap::new();
        let mut held: HashMap<i64, (u32, u32)> = HashMap::new();
        for chunk in buys.chunks(ROWS_PER_STATEMENT) {
            let mut query = QueryBuilder::<Db>::new("SELECT * FROM sale_orders WHERE sale = ");
            query.push_bind(sale.0).push(" AND idempotency_key IN (");
            let mut list = query.separated(", ");
            for buy in chunk {
                list.push_bind(key_text(buy.key));
            }
            query.push(")");
            for row in query.build().fetch_all(&self.reader).await? {
                let key: String = row.try_get("idempotency_key")?;
                earlier.insert(key, order_from_row(&row)?);
            }
            let mut query = QueryBuilder::<Db>::new(
                "SELECT customer, held, orders FROM sale_holders WHERE sale = ",
            );
            query.push_bind(sale.0).push(" AND customer IN (");
            let mut list = query.separated(", ");
            for buy in chunk {
                list.push_bind(buy.customer.0);
            }
            query.push(")");
            let rows: Vec<(i64, i64, i64)> = query.build_query_as().fetch_all(&self.reader).await?;
            held.extend(rows.into_iter().map(|(c, h, o)| (c, (count(h), count(o)))));
        }
        let limit = terms.per_customer_limit;
        Ok(buys
            .iter()
            .map(|buy| {
                if let Some(order) = earlier.get(&key_text(buy.key)) {
                    return Some(
                        if order.quantity == buy.quantity && order.customer == buy.customer {
                            LeasedOutcome::Replay(order.clone())
                        } else {
                            LeasedOutcome::KeyMismatch {
                                original: order.quantity,
                            }
                        },
                    );
                }
                let (held, orders) = held.get(&buy.customer.0).copied().unwrap_or_default();
                (!within_limit(limit, held, orders, buy.quantity))
                    .then_some(LeasedOutcome::LimitReached { held })
            })
            .collect())
    }

    /// The pool, the leases and the orders' totals, read in one snapshot.
    pub(super) async fn pool_state(&self, sale: SaleId) -> Result<Option<PoolState>, StoreError> {
        let mut tx = self.begin_snapshot().await?;
        let Some(pool) = sqlx::query(
            "SELECT p.unleased, p.released, p.ended, p.drawn, p.sold_out_at, p.fair_start_seed,
               p.paid, p.fulfilled, s.quantity,
               (SELECT CAST(COALESCE(SUM(l.granted - l.sold), 0) AS BIGINT)
                  FROM sale_leases l WHERE l.sale = p.sale) AS leased_unsold,
               (SELECT COUNT(*) FROM sale_registrations r WHERE r.sale = p.sale) AS registrations
             FROM sale_pools p JOIN sales s ON s.id = p.sale WHERE p.sale = $1",
        )
        .bind(sale.0)
        .fetch_optional(&mut *tx)
        .await?
        else {
            return Ok(None);
        };
        tx.commit().await?;
        let int = |name: &str| -> Result<u32, StoreError> {
            Ok(pool.try_get::<i64, _>(name)?.max(0) as u32)
        };
        let unleased = int("unleased")?;
        let leased_unsold = int("leased_unsold")?;
        let quantity = int("quantity")?;
        let released = int("released")?;
        let (paid, fulfilled) = (int("paid")?, int("fulfilled")?);
        // Every unit is unleased, leased and unsold, released, or in an order; an
        // order's units are reserved unless it is paid or fulfilled.
        let held = quantity.saturating_sub(unleased + leased_unsold + released);
        let counters = SaleCounters {
            quantity,
            available: unleased + leased_unsold,
            reserved: held.saturating_sub(paid + fulfilled),
            paid,
            fulfilled,
            released,
            registrations: int("registrations")?,
        };
        Ok(Some(PoolState {
            unleased,
            leased_unsold,
            ended: pool.try_get("ended")?,
            fair_start_seed: pool
                .try_get::<Option<i64>, _>("fair_start_seed")?
                .map(|s| s as u64),
            drawn: pool.try_get("drawn")?,
            sold_out_at: pool.try_get("sold_out_at")?,
            counters,
        }))
    }

    pub(super) async fn register_leased(
        &self,
        sale: SaleId,
        customer: CustomerId,
    ) -> Result<bool, StoreError> {
        self.retrying(|| async move {
            let mut tx = self.begin_locking().await?;
            let added = sqlx::query(
                "INSERT INTO sale_registrations (sale, customer) VALUES ($1, $2)
                 ON CONFLICT (sale, customer) DO NOTHING",
            )
            .bind(sale.0)
            .bind(customer.0)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            tx.commit().await?;
            Ok(added == 1)
        })
        .await
    }
}

/// Which of `customers` registered for the sale.
pub(super) async fn registered_among(
    tx: &mut Transaction<'_, Db>,
    sale: SaleId,
    customers: impl Iterator<Item = CustomerId>,
) -> Result<HashSet<i64>, StoreError> {
    let mut registered = HashSet::new();
    let customers: Vec<i64> = customers
        .map(|c| c.0)
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    for chunk in customers.chunks(ROWS_PER_STATEMENT) {
        let mut query =
            QueryBuilder::<Db>::new("SELECT customer FROM sale_registrations WHERE sale = ");
        query.push_bind(sale.0).push(" AND customer IN (");
        let mut list = query.separated(", ");
        for customer in chunk {
            list.push_bind(*customer);
        }
        query.push(")");
        let found: Vec<i64> = query.build_query_scalar().fetch_all(&mut **tx).await?;
        registered.extend(found);
    }
    Ok(registered)
}
