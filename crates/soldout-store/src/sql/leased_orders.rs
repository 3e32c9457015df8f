//! A leased sale's orders after the buy, from whichever node gets the request: a
//! payment, a cancellation, the expiries and the end (each once, whichever node runs
//! it first), a hand-over, and the lookups. Units that come back go to the pool, or
//! to the location once the sale has ended.

use super::leases::key_text;
use super::{apply_movement, column, corrupt, stores, Backend, Db, DbRow};
use crate::leases::SaleSignal;
use crate::StoreError;
use chrono::{DateTime, Utc};
use soldout_core::device::Device;
use soldout_core::order::{self, HandedOver, PaymentReport};
use soldout_core::sale::{to_ms, Order, OrderId, OrderStatus, Rejection, SaleId, SaleTerms};
use soldout_core::{CustomerId, MovementKind, NewMovement};
use sqlx::{Row, Transaction};
use std::collections::BTreeMap;

pub(super) fn order_from_row(row: &DbRow) -> Result<Order, StoreError> {
    let count = |name: &str| -> Result<u32, StoreError> {
        let n: i64 = row.try_get(name)?;
        u32::try_from(n).map_err(|_| corrupt(name, &n.to_string()))
    };
    let created_at: DateTime<Utc> = row.try_get("created_at")?;
    let pay_by: DateTime<Utc> = row.try_get("pay_by")?;
    Ok(Order {
        id: column(row, "id", OrderId::parse)?,
        customer: CustomerId(row.try_get("customer")?),
        quantity: count("quantity")?,
        amount: row.try_get("amount")?,
        status: column(row, "status", OrderStatus::parse)?,
        created_at_ms: to_ms(created_at),
        pay_by_ms: to_ms(pay_by),
        payment_failures: count("payment_failures")?,
        refunds_due: count("refunds_due")?,
    })
}

async fn load_order(
    conn: &mut super::DbConnection,
    id: OrderId,
) -> Result<Option<Order>, StoreError> {
    sqlx::query("SELECT * FROM sale_orders WHERE id = $1")
        .bind(id.to_string())
        .fetch_optional(&mut *conn)
        .await?
        .map(|row| order_from_row(&row))
        .transpose()
}

/// Sets an order's status if it still has `before`; a changed status is a race lost
/// to another node, which the retry decides again.
async fn move_order(
    tx: &mut Transaction<'_, Db>,
    order: &Order,
    before: OrderStatus,
    closed_at: Option<DateTime<Utc>>,
) -> Result<(), StoreError> {
    let moved = sqlx::query(
        "UPDATE sale_orders SET status = $1, payment_failures = $2, refunds_due = $3,
           closed_at = COALESCE($4, closed_at)
         WHERE id = $5 AND status = $6",
    )
    .bind(order.status.as_str())
    .bind(i64::from(order.payment_failures))
    .bind(i64::from(order.refunds_due))
    .bind(closed_at)
    .bind(order.id.to_string())
    .bind(before.as_str())
    .execute(&mut **tx)
    .await?
    .rows_affected();
    if moved == 0 {
        return Err(StoreError::Contended(format!(
            "order {} changed meanwhile",
            order.id
        )));
    }
    let units = i64::from(order.quantity);
    let delta = |status: OrderStatus| {
        units * (i64::from(order.status == status) - i64::from(before == status))
    };
    let (paid, fulfilled) = (delta(OrderStatus::Paid), delta(OrderStatus::Fulfilled));
    if paid != 0 || fulfilled != 0 {
        sqlx::query(
            "UPDATE sale_pools SET paid = paid + $1, fulfilled = fulfilled + $2 WHERE sale = $3",
        )
        .bind(paid)
        .bind(fulfilled)
        .bind(OrderId::sale(order.id).0)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// The sale's terms, for the rules that need them.
async fn terms_of(tx: &mut Transaction<'_, Db>, sale: SaleId) -> Result<SaleTerms, StoreError> {
    let row = sqlx::query("SELECT * FROM sales WHERE id = $1")
        .bind(sale.0)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or_else(|| StoreError::not_found("sale", sale))?;
    super::sale_from_row(&row)
}

/// Units that leave orders (cancelled, expired) go back to the pool while the sale
/// runs, and to the location once it has ended. Customers' holdings go down with them.
async fn give_back(
    tx: &mut Transaction<'_, Db>,
    terms: &SaleTerms,
    orders: &[(CustomerId, u32)],
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    let mut by_customer: BTreeMap<i64, u32> = BTreeMap::new();
    for &(customer, quantity) in orders {
        *by_customer.entry(customer.0).or_default() += quantity;
    }
    for (customer, units) in &by_customer {
        sqlx::query("UPDATE sale_holders SET held = held - $1 WHERE sale = $2 AND customer = $3")
            .bind(i64::from(*units))
            .bind(terms.id.0)
            .bind(customer)
            .execute(&mut **tx)
            .await?;
    }
    let units: i64 = by_customer.values().map(|&u| i64::from(u)).sum();
    if units == 0 {
        return Ok(());
    }
    let ended: bool = sqlx::query_scalar(
        "UPDATE sale_pools SET
           unleased = unleased + CASE WHEN ended THEN 0 ELSE $1 END,
           released = released + CASE WHEN ended THEN $1 ELSE 0 END
         WHERE sale = $2 RETURNING ended",
    )
    .bind(units)
    .bind(terms.id.0)
    .fetch_one(&mut **tx)
    .await?;
    if ended {
        release_to_location(tx, terms, units, at).await?;
    }
    Ok(())
}

async fn release_to_location(
    tx: &mut Transaction<'_, Db>,
    terms: &SaleTerms,
    units: i64,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    apply_movement(
        tx,
        &NewMovement {
            location: terms.location.clone(),
            sku: terms.sku.clone(),
            kind: MovementKind::AllotmentReturn,
            quantity: units,
            reference: Some(format!("sale {}", terms.id)),
            at,
        },
    )
    .await?;
    Ok(())
}

impl Backend {
    /// Every order's key of a sale, for a node that answers sold-out from memory but
    /// must still know a replay.
    pub(super) async fn leased_keys(&self, sale: SaleId) -> Result<Vec<u128>, StoreError> {
        let keys: Vec<String> =
            sqlx::query_scalar("SELECT idempotency_key FROM sale_orders WHERE sale = $1")
                .bind(sale.0)
                .fetch_all(&self.reader)
                .await?;
        keys.iter()
            .map(|k| u128::from_str_radix(k, 16).map_err(|_| corrupt("idempotency key", k)))
            .collect()
    }

    pub(super) async fn leased_order_by_key(
        &self,
        sale: SaleId,
        key: u128,
    ) -> Result<Option<Order>, StoreError> {
        sqlx::query("SELECT * FROM sale_orders WHERE sale = $1 AND idempotency_key = $2")
            .bind(sale.0)
            .bind(key_text(key))
            .fetch_optional(&self.reader)
            .await?
            .map(|row| order_from_row(&row))
            .transpose()
    }

    /// The changes of a sale's units held, in time order: each order's units when it
    /// was placed, and back when it was cancelled or expired.
    pub(super) async fn leased_curve(
        &self,
        sale: SaleId,
    ) -> Result<Vec<(DateTime<Utc>, i64)>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT created_at AS at, quantity AS units FROM sale_orders WHERE sale = $1
             UNION ALL
             SELECT closed_at AS at, -quantity AS units FROM sale_orders
              WHERE sale = $1 AND closed_at IS NOT NULL
             ORDER BY at",
        )
        .bind(sale.0)
        .fetch_all(&self.reader)
        .await?)
    }

    pub(super) async fn leased_order(&self, id: OrderId) -> Result<Option<Order>, StoreError> {
        let mut conn = self.reader.acquire().await?;
        load_order(&mut conn, id).await
    }

    /// A provider's report on a leased order: the event id is claimed and the order
    /// moves in one transaction, so a crash between the two cannot lose the payment.
    pub(super) async fn pay_leased(
        &self,
        report: &PaymentReport,
        at: DateTime<Utc>,
    ) -> Result<Order, StoreError> {
        self.retrying(|| async move {
            let mut tx = self.begin_write().await?;
            let mut current = load_order(&mut tx, report.order)
                .await?
                .ok_or(Rejection::UnknownOrder(report.order))?;
            if !super::payments::claim(&mut tx, report, at).await? {
                return Ok(current);
            }
            let terms = terms_of(&mut tx, OrderId::sale(report.order)).await?;
            order::check_payment(
                report.order,
                (current.amount, terms.currency),
                (report.amount, report.currency),
            )?;
            let before = current.status;
            let effect = order::after_payment(before, report.outcome);
            current.status = effect.status;
            current.refunds_due += u32::from(effect.refund_due);
            if report.outcome == soldout_core::sale::PaymentOutcome::Failed {
                current.payment_failures += 1;
            }
            move_order(&mut tx, &current, before, None).await?;
            tx.commit().await?;
            Ok(current)
        })
        .await
    }

    pub(super) async fn cancel_leased(
        &self,
        id: OrderId,
        customer: CustomerId,
        at: DateTime<Utc>,
    ) -> Result<Order, StoreError> {
        let cancelled = self
            .retrying(|| async move {
                let mut tx = self.begin_write().await?;
                let mut current = load_order(&mut tx, id)
                    .await?
                    .filter(|o| o.customer == customer)
                    .ok_or(Rejection::UnknownOrder(id))?;
                order::check_cancel(id, current.status)?;
                current.status = OrderStatus::Cancelled;
                move_order(&mut tx, &current, OrderStatus::Reserved, Some(at)).await?;
                let terms = terms_of(&mut tx, OrderId::sale(id)).await?;
                give_back(&mut tx, &terms, &[(customer, current.quantity)], at).await?;
                tx.commit().await?;
                Ok(current)
            })
            .await?;
        self.announce(SaleSignal::Changed(OrderId::sale(id))).await;
        Ok(cancelled)
    }

    /// Expires every reserved order of a sale whose `pay_by` has passed, once,
    /// whichever node runs it first.
    pub(super) async fn expire_leased(
        &self,
        sale: SaleId,
        now: DateTime<Utc>,
    ) -> Result<usize, StoreError> {
        let expired = self
            .retrying(|| async move {
                let mut tx = self.begin_write().await?;
                let rows = sqlx::query(
                    "UPDATE sale_orders SET status = 'expired', closed_at = $2
                     WHERE sale = $1 AND status = 'reserved' AND pay_by <= $2
                     RETURNING customer, quantity",
                )
                .bind(sale.0)
                .bind(now)
                .fetch_all(&mut *tx)
                .await?;
                if rows.is_empty() {
                    return Ok(0);
                }
                let orders = rows
                    .iter()
                    .map(|r| {
                        Ok((
                            CustomerId(r.try_get("customer")?),
                            r.try_get::<i64, _>("quantity")? as u32,
                        ))
                    })
                    .collect::<Result<Vec<_>, StoreError>>()?;
                let terms = terms_of(&mut tx, sale).await?;
                give_back(&mut tx, &terms, &orders, now).await?;
                tx.commit().await?;
                Ok(orders.len())
            })
            .await?;
        if expired > 0 {
            self.announce(SaleSignal::Changed(sale)).await;
        }
        Ok(expired)
    }

    /// When the next reserved order of a sale falls due.
    pub(super) async fn next_leased_expiry(
        &self,
        sale: SaleId,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT MIN(pay_by) FROM sale_orders WHERE sale = $1 AND status = 'reserved'",
        )
        .bind(sale.0)
        .fetch_one(&self.reader)
        .await?)
    }

    /// Ends a leased sale once: every lease is taken back (a batch under one after
    /// this is refused) and what no one sold goes back to the location.
    pub(super) async fn end_leased(
        &self,
        sale: SaleId,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let ended = self
            .retrying(|| async move {
                let mut tx = self.begin_write().await?;
                let unleased: Option<i64> = sqlx::query_scalar(
                    "UPDATE sale_pools SET ended = TRUE WHERE sale = $1 AND ended = FALSE RETURNING unleased",
                )
                .bind(sale.0)
                .fetch_optional(&mut *tx)
                .await?;
                let Some(unleased) = unleased else {
                    return Ok(false);
                };
                let unsold: Vec<i64> = sqlx::query_scalar(
                    "DELETE FROM sale_leases WHERE sale = $1 RETURNING granted - sold",
                )
                .bind(sale.0)
                .fetch_all(&mut *tx)
                .await?;
                let units = unleased + unsold.iter().sum::<i64>();
                sqlx::query(
                    "UPDATE sale_pools SET unleased = 0, released = released + $1 WHERE sale = $2",
                )
                .bind(units)
                .bind(sale.0)
                .execute(&mut *tx)
                .await?;
                if units > 0 {
                    let terms = terms_of(&mut tx, sale).await?;
                    release_to_location(&mut tx, &terms, units, at).await?;
                }
                tx.commit().await?;
                Ok(true)
            })
            .await?;
        if ended {
            self.announce(SaleSignal::Changed(sale)).await;
        }
        Ok(ended)
    }

    /// Hands a paid leased order over: its units leave the location, its serials
    /// become devices and shipments, in one transaction.
    pub(super) async fn fulfil_leased(
        &self,
        id: OrderId,
        handed: &[HandedOver],
        devices: &[Device],
        at: DateTime<Utc>,
    ) -> Result<Order, StoreError> {
        self.retrying(|| async move {
            let mut tx = self.begin_write().await?;
            let mut current = load_order(&mut tx, id)
                .await?
                .ok_or(Rejection::UnknownOrder(id))?;
            let terms = terms_of(&mut tx, OrderId::sale(id)).await?;
            order::check_fulfil(id, current.status)?;
            order::check_hand_over(id, &[(terms.sku.clone(), current.quantity)], handed)?;
            current.status = OrderStatus::Fulfilled;
            move_order(&mut tx, &current, OrderStatus::Paid, None).await?;
            apply_movement(
                &mut tx,
                &NewMovement {
                    location: terms.location.clone(),
                    sku: terms.sku.clone(),
                    kind: MovementKind::Fulfilment,
                    quantity: i64::from(current.quantity),
                    reference: Some(format!("sale {}", terms.id)),
                    at,
                },
            )
            .await?;
            stores::hand_over(&mut tx, devices).await?;
            tx.commit().await?;
            Ok(current)
        })
        .await
    }
}
