//! SQLite for regular online orders: placed with an idempotency key, their units
//! reserved in the stock ledger, paid through the provider's webhook, expired when
//! unpaid at `pay_by`, handed over with serials. The lifecycle's rules are the
//! core's (`soldout_core::order`), the same as a flash sale's.

use super::stores::{serials_free, upsert_device};
use super::{apply_movement, column, corrupt, levels_in, shipments, Backend};
use super::{Db, DbConnection};
use crate::{NewOnlineOrder, StoreError};
use chrono::{DateTime, Utc};
use soldout_core::device::Device;
use soldout_core::order::{
    self, Fulfillment, HandedOver, Held, OnlineOrder, OrderLine, OrderStatus,
};
use soldout_core::pos::Channel;
use soldout_core::sale::{OrderId, PaymentOutcome, Rejection};
use soldout_core::shipment;
use soldout_core::{
    Amount, Currency, CustomerId, LocationId, MarketCode, MovementKind, NewMovement, ProductId,
    SkuCode,
};
use sqlx::{Row, Transaction};

async fn load(conn: &mut DbConnection, id: OrderId) -> Result<Option<OnlineOrder>, StoreError> {
    let Some(row) = sqlx::query("SELECT * FROM online_orders WHERE id = $1")
        .bind(id.to_string())
        .fetch_optional(&mut *conn)
        .await?
    else {
        return Ok(None);
    };
    let lines = sqlx::query("SELECT * FROM online_order_lines WHERE order_id = $1 ORDER BY sku")
        .bind(id.to_string())
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|l| {
            let quantity: i64 = l.try_get("quantity")?;
            Ok(OrderLine {
                sku: column(l, "sku", |s| SkuCode::parse(s).ok())?,
                product: column(l, "product", |s| ProductId::parse(s).ok())?,
                quantity: quantity as u32,
                unit_price: l.try_get("unit_price")?,
                campaign: l.try_get("campaign")?,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    let location = column(&row, "location", |s| LocationId::parse(s).ok())?;
    let fulfillment = match row.try_get::<String, _>("fulfillment")?.as_str() {
        "ship" => Fulfillment::Ship,
        _ => Fulfillment::Pickup {
            store: location.clone(),
        },
    };
    Ok(Some(OnlineOrder {
        id,
        customer: CustomerId(row.try_get("customer")?),
        market: column(&row, "market", |s| MarketCode::parse(s).ok())?,
        location,
        fulfillment,
        status: column(&row, "status", OrderStatus::parse)?,
        lines,
        amount: row.try_get("amount")?,
        currency: column(&row, "currency", |s| Currency::parse(s).ok())?,
        created_at: row.try_get("created_at")?,
        pay_by: row.try_get("pay_by")?,
        refunds_due: row.try_get::<i64, _>("refunds_due")? as u32,
    }))
}

async fn existing(tx: &mut Transaction<'_, Db>, id: OrderId) -> Result<OnlineOrder, StoreError> {
    load(tx, id)
        .await?
        .ok_or(StoreError::Rejected(Rejection::UnknownOrder(id)))
}

async fn set_status(
    tx: &mut Transaction<'_, Db>,
    id: OrderId,
    status: OrderStatus,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE online_orders SET status = $1 WHERE id = $2")
        .bind(status.as_str())
        .bind(id.to_string())
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Records one movement per line of `order` at its location.
async fn move_lines(
    tx: &mut Transaction<'_, Db>,
    order: &OnlineOrder,
    kind: MovementKind,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    for line in &order.lines {
        let movement = NewMovement {
            location: order.location.clone(),
            sku: line.sku.clone(),
            kind,
            quantity: i64::from(line.quantity),
            reference: Some(format!("order:{}", order.id)),
            at,
        };
        apply_movement(tx, &movement).await?;
    }
    Ok(())
}

/// Releases a reserved order's units and gives it its final status.
async fn release(
    tx: &mut Transaction<'_, Db>,
    order: &OnlineOrder,
    status: OrderStatus,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    move_lines(tx, order, MovementKind::ReservationRelease, at).await?;
    set_status(tx, order.id, status).await
}

/// What `customer` holds unpaid at `now`: open orders and units per SKU (an order
/// past its `pay_by` holds nothing, even before the expiry timer has run).
async fn held_by(
    tx: &mut Transaction<'_, Db>,
    customer: CustomerId,
    now: DateTime<Utc>,
) -> Result<Held, StoreError> {
    let rows = sqlx::query(
        "SELECT l.sku, CAST(SUM(l.quantity) AS BIGINT) AS units
         FROM online_orders o JOIN online_order_lines l ON l.order_id = o.id
         WHERE o.customer = $1 AND o.status = 'reserved' AND o.pay_by > $2
         GROUP BY l.sku",
    )
    .bind(customer.0)
    .bind(now)
    .fetch_all(&mut **tx)
    .await?;
    let mut held = Held::default();
    for row in &rows {
        let units: i64 = row.try_get("units")?;
        held.units.insert(
            column(row, "sku", |s| SkuCode::parse(s).ok())?,
            units as u32,
        );
    }
    held.open_orders = sqlx::query_scalar::<_, i64>(
        "SELECT COUNT(*) FROM online_orders WHERE customer = $1 AND status = 'reserved' AND pay_by > $2",
    )
    .bind(customer.0)
    .bind(now)
    .fetch_one(&mut **tx)
    .await? as u32;
    Ok(held)
}

impl Backend {
    pub(super) async fn insert_online_order(
        &self,
        new: &NewOnlineOrder,
    ) -> Result<(OnlineOrder, bool), StoreError> {
        let key = format!("{:032x}", new.key);
        let mut tx = self.begin_write().await?;
        let earlier = sqlx::query(
            "SELECT id, request_hash FROM online_orders WHERE customer = $1 AND idempotency_key = $2",
        )
        .bind(new.customer.0)
        .bind(&key)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(row) = earlier {
            let id = column(&row, "id", OrderId::parse)?;
            let order = existing(&mut tx, id).await?;
            let hash: i64 = row.try_get("request_hash")?;
            if hash != new.request_hash {
                return Err(Rejection::IdempotencyMismatch {
                    original: order.quantity(),
                }
                .into());
            }
            return Ok((order, true));
        }
        let held = held_by(&mut tx, new.customer, new.created_at).await?;
        let asked: Vec<_> = new.lines.iter().map(|l| (&l.sku, l.quantity)).collect();
        new.caps
            .check(&held, &asked)
            .map_err(Rejection::HoldLimit)?;
        // The first candidate location with every line available.
        let mut chosen = None;
        for location in &new.candidates {
            let mut enough = true;
            for line in &new.lines {
                let levels = levels_in(&mut tx, location, &line.sku).await?;
                enough &= levels.available() >= i64::from(line.quantity);
            }
            if enough {
                chosen = Some(location.clone());
                break;
            }
        }
        let Some(location) = chosen else {
            return Err(StoreError::conflict(
                "insufficient-stock",
                format!(
                    "not enough available stock for this order at {}",
                    new.candidates
                        .iter()
                        .map(LocationId::as_str)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        };
        let amount: Amount = new
            .lines
            .iter()
            .map(|l| l.unit_price * i64::from(l.quantity))
            .sum();
        let fulfillment = match new.fulfillment {
            Fulfillment::Ship => "ship",
            Fulfillment::Pickup { .. } => "pickup",
        };
        sqlx::query(
            "INSERT INTO online_orders (id, customer, idempotency_key, request_hash, market, location,
               fulfillment, status, amount, currency, created_at, pay_by)
             VALUES ($1, $2, $3, $4, $5, $6, $7, 'reserved', $8, $9, $10, $11)",
        )
        .bind(new.id.to_string())
        .bind(new.customer.0)
        .bind(&key)
        .bind(new.request_hash)
        .bind(new.market.as_str())
        .bind(location.as_str())
        .bind(fulfillment)
        .bind(amount)
        .bind(new.currency.code())
        .bind(new.created_at)
        .bind(new.pay_by)
        .execute(&mut *tx)
        .await?;
        for line in &new.lines {
            sqlx::query(
                "INSERT INTO online_order_lines (order_id, sku, product, quantity, unit_price, campaign)
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(new.id.to_string())
            .bind(line.sku.as_str())
            .bind(line.product.as_str())
            .bind(i64::from(line.quantity))
            .bind(line.unit_price)
            .bind(line.campaign)
            .execute(&mut *tx)
            .await?;
        }
        let order = existing(&mut tx, new.id).await?;
        move_lines(&mut tx, &order, MovementKind::Reservation, new.created_at).await?;
        tx.commit().await?;
        Ok((order, false))
    }

    pub(super) async fn select_online_order(
        &self,
        id: OrderId,
    ) -> Result<Option<OnlineOrder>, StoreError> {
        let mut conn = self.reader.acquire().await?;
        load(&mut conn, id).await
    }

    pub(super) async fn pay_online(
        &self,
        id: OrderId,
        event_id: &str,
        outcome: PaymentOutcome,
        amount: Amount,
        currency: Currency,
        at: DateTime<Utc>,
    ) -> Result<OnlineOrder, StoreError> {
        let mut tx = self.begin_write().await?;
        let order = existing(&mut tx, id).await?;
        let seen: Option<String> =
            sqlx::query_scalar("SELECT order_id FROM online_payment_events WHERE event_id = $1")
                .bind(event_id)
                .fetch_optional(&mut *tx)
                .await?;
        if seen.is_some() {
            return Ok(order);
        }
        order::check_payment(id, (order.amount, order.currency), (amount, currency))?;
        sqlx::query(
            "INSERT INTO online_payment_events (event_id, order_id, outcome, at) VALUES ($1, $2, $3, $4)",
        )
        .bind(event_id)
        .bind(id.to_string())
        .bind(outcome.as_str())
        .bind(at)
        .execute(&mut *tx)
        .await?;
        if outcome == PaymentOutcome::Failed {
            sqlx::query(
                "UPDATE online_orders SET payment_failures = payment_failures + 1 WHERE id = $1",
            )
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
        }
        let effect = order::after_payment(order.status, outcome);
        if effect.refund_due {
            sqlx::query("UPDATE online_orders SET refunds_due = refunds_due + 1 WHERE id = $1")
                .bind(id.to_string())
                .execute(&mut *tx)
                .await?;
        }
        set_status(&mut tx, id, effect.status).await?;
        let paid = existing(&mut tx, id).await?;
        tx.commit().await?;
        Ok(paid)
    }

    pub(super) async fn cancel_online(
        &self,
        id: OrderId,
        customer: CustomerId,
        at: DateTime<Utc>,
    ) -> Result<OnlineOrder, StoreError> {
        let mut tx = self.begin_write().await?;
        let order = existing(&mut tx, id).await?;
        if order.customer != customer {
            return Err(Rejection::UnknownOrder(id).into());
        }
        order::check_cancel(id, order.status)?;
        release(&mut tx, &order, OrderStatus::Cancelled, at).await?;
        let cancelled = existing(&mut tx, id).await?;
        tx.commit().await?;
        Ok(cancelled)
    }

    pub(super) async fn expire_online(&self, now: DateTime<Utc>) -> Result<usize, StoreError> {
        let mut tx = self.begin_write().await?;
        let due: Vec<String> = sqlx::query_scalar(
            "SELECT id FROM online_orders WHERE status = 'reserved' AND pay_by <= $1 ORDER BY pay_by",
        )
        .bind(now)
        .fetch_all(&mut *tx)
        .await?;
        for id in &due {
            let id = OrderId::parse(id).ok_or_else(|| corrupt("order id", id))?;
            let order = existing(&mut tx, id).await?;
            release(&mut tx, &order, OrderStatus::Expired, now).await?;
        }
        tx.commit().await?;
        Ok(due.len())
    }

    pub(super) async fn earliest_online_expiry(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT pay_by FROM online_orders WHERE status = 'reserved' ORDER BY pay_by LIMIT 1",
        )
        .fetch_optional(&self.reader)
        .await?)
    }

    pub(super) async fn fulfil_online(
        &self,
        id: OrderId,
        handed: &[HandedOver],
        at: DateTime<Utc>,
    ) -> Result<OnlineOrder, StoreError> {
        let mut tx = self.begin_write().await?;
        let order = existing(&mut tx, id).await?;
        order::check_fulfil(id, order.status)?;
        let lines: Vec<_> = order
            .lines
            .iter()
            .map(|l| (l.sku.clone(), l.quantity))
            .collect();
        order::check_hand_over(id, &lines, handed)?;
        let serials: Vec<_> = handed.iter().flat_map(|h| h.serials.clone()).collect();
        serials_free(&mut tx, &serials).await?;
        move_lines(&mut tx, &order, MovementKind::Fulfilment, at).await?;
        let products = sqlx::query(
            "SELECT l.sku, p.os_version FROM online_order_lines l JOIN products p ON p.id = l.product
             WHERE l.order_id = $1",
        )
        .bind(id.to_string())
        .fetch_all(&mut *tx)
        .await?;
        let mut devices = Vec::with_capacity(serials.len());
        for hand in handed {
            let line = order
                .lines
                .iter()
                .find(|l| l.sku == hand.sku)
                .expect("checked against the order's lines");
            let os_version = products
                .iter()
                .find(|r| r.try_get::<String, _>("sku").ok().as_deref() == Some(hand.sku.as_str()))
                .map(|r| column(r, "os_version", |s| soldout_core::OsVersion::parse(s).ok()))
                .ok_or_else(|| corrupt("order line", hand.sku.as_str()))??;
            for serial in &hand.serials {
                devices.push(Device {
                    serial: serial.clone(),
                    sku: line.sku.clone(),
                    product: line.product.clone(),
                    market: order.market.clone(),
                    channel: Channel::Online,
                    location: order.location.clone(),
                    sold_at: at,
                    price: line.unit_price,
                    currency: order.currency,
                    os_version: os_version.clone(),
                    sold_on: format!("order:{id}"),
                    returned_at: None,
                });
            }
        }
        for device in &devices {
            upsert_device(&mut tx, device).await?;
        }
        shipments::record(&mut tx, &shipment::from_handover(&devices)).await?;
        set_status(&mut tx, id, OrderStatus::Fulfilled).await?;
        let fulfilled = existing(&mut tx, id).await?;
        tx.commit().await?;
        Ok(fulfilled)
    }
}
