//! SQLite for signature stores: clerks, point-of-sale receipts, the device registry,
//! returns and refunds, discrepancies, transfers and campaigns. Each public method is
//! one write transaction that asks the core what a change comes to.

use super::DbRow;
use super::{apply_movement, column, corrupt, levels_in, shipments, Backend};
use super::{Db, DbConnection};
use crate::{PosOutcome, PosSaleRecord, ReturnRecord, StoreError};
use chrono::{DateTime, Utc};
use soldout_core::campaign::Campaign;
use soldout_core::device::{Device, Refund, ReturnCondition};
use soldout_core::discrepancy::{Discrepancy, DiscrepancyKind, NewDiscrepancy};
use soldout_core::pos::{offline_take, Channel, PaymentMethod, PosPayment, Receipt, ReceiptLine};
use soldout_core::shipment;
use soldout_core::transfer::{
    NewTransfer, Transfer, TransferError, TransferLine, TransferStatus, UnitCount,
};
use soldout_core::{
    ClerkId, Currency, LocationId, MarketCode, MovementKind, NewMovement, OsVersion, ProductId,
    Serial, SkuCode,
};
use sqlx::{Row, Transaction};

fn json_column<T: serde::de::DeserializeOwned>(row: &DbRow, name: &str) -> Result<T, StoreError> {
    let text: String = row.try_get(name)?;
    serde_json::from_str(&text).map_err(|_| corrupt(name, &text))
}

fn json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("plain values serialize")
}

fn transfer_error(e: TransferError) -> StoreError {
    match e {
        TransferError::WrongStatus { .. } => StoreError::conflict("transfer-status", e),
        other => StoreError::Invalid(other.to_string()),
    }
}

async fn insert_discrepancy(
    tx: &mut Transaction<'_, Db>,
    d: &NewDiscrepancy,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO discrepancies (location, sku, kind, quantity, reference, created_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(d.location.as_str())
    .bind(d.sku.as_str())
    .bind(d.kind.as_str())
    .bind(d.quantity)
    .bind(&d.reference)
    .bind(d.at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Hands `devices` over in the caller's transaction: each serial must be free, each
/// device is registered, and their shipment rows are written.
pub(super) async fn hand_over(
    tx: &mut Transaction<'_, Db>,
    devices: &[Device],
) -> Result<(), StoreError> {
    let serials: Vec<Serial> = devices.iter().map(|d| d.serial.clone()).collect();
    serials_free(tx, &serials).await?;
    for device in devices {
        upsert_device(tx, device).await?;
    }
    super::shipments::record(tx, &soldout_core::shipment::from_handover(devices)).await
}

/// Refuses if one of `serials` is sold and not returned.
pub(super) async fn serials_free(
    conn: &mut DbConnection,
    serials: &[Serial],
) -> Result<(), StoreError> {
    for serial in serials {
        let sold_on: Option<String> = sqlx::query_scalar(
            "SELECT sold_on FROM devices WHERE serial = $1 AND returned_at IS NULL",
        )
        .bind(serial.as_str())
        .fetch_optional(&mut *conn)
        .await?;
        if let Some(sold_on) = sold_on {
            return Err(StoreError::conflict(
                "serial-sold",
                format!("serial {serial} was sold on {sold_on} and has not been returned"),
            ));
        }
        if super::exists(
            conn,
            "SELECT 1 FROM installed_base WHERE serial = $1",
            serial.as_str(),
        )
        .await?
        {
            return Err(StoreError::conflict(
                "serial-sold",
                format!("serial {serial} is in the imported installed base: it has a buyer"),
            ));
        }
    }
    Ok(())
}

/// Registers a unit handed over; a serial returned earlier starts a new life.
pub(super) async fn upsert_device(
    tx: &mut Transaction<'_, Db>,
    device: &Device,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO devices (serial, sku, product, market, channel, location, sold_at,
           price, currency, os_version, sold_on, returned_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, NULL)
         ON CONFLICT (serial) DO UPDATE SET
           sku = excluded.sku, product = excluded.product, market = excluded.market,
           channel = excluded.channel, location = excluded.location,
           sold_at = excluded.sold_at, price = excluded.price,
           currency = excluded.currency, os_version = excluded.os_version,
           sold_on = excluded.sold_on, returned_at = NULL",
    )
    .bind(device.serial.as_str())
    .bind(device.sku.as_str())
    .bind(device.product.as_str())
    .bind(device.market.as_str())
    .bind(device.channel.as_str())
    .bind(device.location.as_str())
    .bind(device.sold_at)
    .bind(device.price)
    .bind(device.currency.code())
    .bind(device.os_version.to_string())
    .bind(&device.sold_on)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn receipt(conn: &mut DbConnection, id: i64) -> Result<Receipt, StoreError> {
    let row = sqlx::query("SELECT * FROM pos_sales WHERE id = $1")
        .bind(id)
        .fetch_one(&mut *conn)
        .await?;
    let lines = sqlx::query("SELECT * FROM pos_sale_lines WHERE sale = $1 ORDER BY line")
        .bind(id)
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|l| {
            let quantity: i64 = l.try_get("quantity")?;
            let unit_price: i64 = l.try_get("unit_price")?;
            Ok(ReceiptLine {
                sku: column(l, "sku", |s| SkuCode::parse(s).ok())?,
                product: column(l, "product", |s| ProductId::parse(s).ok())?,
                quantity: quantity as u32,
                unit_price,
                amount: unit_price * quantity,
                campaign: l.try_get("campaign")?,
                serials: json_column(l, "serials")?,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    Ok(Receipt {
        id,
        store: column(&row, "store", |s| LocationId::parse(s).ok())?,
        market: column(&row, "market", |s| MarketCode::parse(s).ok())?,
        client_id: row.try_get("client_id")?,
        clerk: row.try_get("clerk")?,
        occurred_at: row.try_get("occurred_at")?,
        recorded_at: row.try_get("recorded_at")?,
        offline: row.try_get("offline")?,
        lines,
        total: row.try_get("total")?,
        currency: column(&row, "currency", |s| Currency::parse(s).ok())?,
        payment: PosPayment {
            method: column(&row, "payment_method", PaymentMethod::parse)?,
            reference: row.try_get("payment_reference")?,
        },
    })
}

fn device_from_row(row: &DbRow) -> Result<Device, StoreError> {
    Ok(Device {
        serial: column(row, "serial", |s| Serial::parse(s).ok())?,
        sku: column(row, "sku", |s| SkuCode::parse(s).ok())?,
        product: column(row, "product", |s| ProductId::parse(s).ok())?,
        market: column(row, "market", |s| MarketCode::parse(s).ok())?,
        channel: column(row, "channel", Channel::parse)?,
        location: column(row, "location", |s| LocationId::parse(s).ok())?,
        sold_at: row.try_get("sold_at")?,
        price: row.try_get("price")?,
        currency: column(row, "currency", |s| Currency::parse(s).ok())?,
        os_version: column(row, "os_version", |s| OsVersion::parse(s).ok())?,
        sold_on: row.try_get("sold_on")?,
        returned_at: row.try_get("returned_at")?,
    })
}

fn refund_from_row(row: &DbRow) -> Result<Refund, StoreError> {
    Ok(Refund {
        id: row.try_get("id")?,
        serial: column(row, "serial", |s| Serial::parse(s).ok())?,
        store: column(row, "store", |s| LocationId::parse(s).ok())?,
        amount: row.try_get("amount")?,
        currency: column(row, "currency", |s| Currency::parse(s).ok())?,
        reason: row.try_get("reason")?,
        condition: column(row, "condition", ReturnCondition::parse)?,
        sold_on: row.try_get("sold_on")?,
        created_at: row.try_get("created_at")?,
    })
}

fn discrepancy_from_row(row: &DbRow) -> Result<Discrepancy, StoreError> {
    Ok(Discrepancy {
        id: row.try_get("id")?,
        location: column(row, "location", |s| LocationId::parse(s).ok())?,
        sku: column(row, "sku", |s| SkuCode::parse(s).ok())?,
        kind: column(row, "kind", DiscrepancyKind::parse)?,
        quantity: row.try_get("quantity")?,
        reference: row.try_get("reference")?,
        created_at: row.try_get("created_at")?,
        resolved_at: row.try_get("resolved_at")?,
        resolution: row.try_get("resolution")?,
    })
}

async fn transfer_in(conn: &mut DbConnection, id: i64) -> Result<Option<Transfer>, StoreError> {
    let Some(row) = sqlx::query("SELECT * FROM transfers WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
    else {
        return Ok(None);
    };
    let lines = sqlx::query("SELECT * FROM transfer_lines WHERE transfer = $1 ORDER BY sku")
        .bind(id)
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|l| {
            Ok(TransferLine {
                sku: column(l, "sku", |s| SkuCode::parse(s).ok())?,
                quantity: l.try_get("quantity")?,
                received: l.try_get("received")?,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    Ok(Some(Transfer {
        id,
        from: column(&row, "source", |s| LocationId::parse(s).ok())?,
        to: column(&row, "destination", |s| LocationId::parse(s).ok())?,
        status: column(&row, "status", TransferStatus::parse)?,
        lines,
        created_at: row.try_get("created_at")?,
        shipped_at: row.try_get("shipped_at")?,
        received_at: row.try_get("received_at")?,
    }))
}

async fn existing_transfer(tx: &mut Transaction<'_, Db>, id: i64) -> Result<Transfer, StoreError> {
    transfer_in(tx, id)
        .await?
        .ok_or_else(|| StoreError::not_found("transfer", id))
}

/// Moves a transfer's units out of its source and makes them incoming at its
/// destination.
async fn ship_lines(
    tx: &mut Transaction<'_, Db>,
    transfer: &Transfer,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    let reference = Some(format!("transfer:{}", transfer.id));
    for line in &transfer.lines {
        for (location, kind) in [
            (&transfer.from, MovementKind::TransferOut),
            (&transfer.to, MovementKind::TransferIncoming),
        ] {
            let movement = NewMovement {
                location: location.clone(),
                sku: line.sku.clone(),
                kind,
                quantity: line.quantity,
                reference: reference.clone(),
                at,
            };
            apply_movement(tx, &movement).await?;
        }
    }
    sqlx::query("UPDATE transfers SET status = 'in_transit', shipped_at = $1 WHERE id = $2")
        .bind(at)
        .bind(transfer.id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

fn campaign_from_row(row: &DbRow) -> Result<Campaign, StoreError> {
    let percent_off: Option<i64> = row.try_get("percent_off")?;
    Ok(Campaign {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        market: column(row, "market", |s| MarketCode::parse(s).ok())?,
        skus: json_column(row, "skus")?,
        price: row.try_get("price")?,
        percent_off: percent_off.map(|p| p as u32),
        channels: json_column(row, "channels")?,
        starts_at: row.try_get("starts_at")?,
        ends_at: row.try_get("ends_at")?,
    })
}

async fn market_of(
    tx: &mut Transaction<'_, Db>,
    location: &LocationId,
) -> Result<MarketCode, StoreError> {
    let market: Option<String> = sqlx::query_scalar("SELECT market FROM locations WHERE id = $1")
        .bind(location.as_str())
        .fetch_optional(&mut **tx)
        .await?;
    let market = market.ok_or_else(|| StoreError::not_found("location", location))?;
    MarketCode::parse(&market).map_err(|_| corrupt("market", &market))
}

impl Backend {
    pub(super) async fn insert_clerk(
        &self,
        store: &LocationId,
        name: &str,
        at: DateTime<Utc>,
    ) -> Result<ClerkId, StoreError> {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO clerks (store, name, created_at) VALUES ($1, $2, $3) RETURNING id",
        )
        .bind(store.as_str())
        .bind(name)
        .bind(at)
        .fetch_one(&self.writer)
        .await?;
        Ok(ClerkId(id))
    }

    pub(super) async fn insert_pos_sale(
        &self,
        sale: &PosSaleRecord,
    ) -> Result<PosOutcome, StoreError> {
        let mut tx = self.begin_write().await?;
        let earlier = sqlx::query(
            "SELECT id, request_hash FROM pos_sales WHERE store = $1 AND client_id = $2",
        )
        .bind(sale.store.as_str())
        .bind(&sale.client_id)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(row) = earlier {
            if row.try_get::<i64, _>("request_hash")? != sale.request_hash {
                return Err(StoreError::conflict(
                    "client-id-reused",
                    format!(
                        "client_id {} was used by {} for another sale; give each sale its own",
                        sale.client_id, sale.store
                    ),
                ));
            }
            return Ok(PosOutcome::Duplicate(
                receipt(&mut tx, row.try_get("id")?).await?,
            ));
        }
        let serials: Vec<Serial> = sale.lines.iter().flat_map(|l| l.serials.clone()).collect();
        serials_free(&mut tx, &serials).await?;
        let total: i64 = sale
            .lines
            .iter()
            .map(|l| l.unit_price * l.serials.len() as i64)
            .sum();
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO pos_sales (store, market, client_id, request_hash, clerk, occurred_at,
               recorded_at, offline, total, currency, payment_method, payment_reference)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id",
        )
        .bind(sale.store.as_str())
        .bind(sale.market.as_str())
        .bind(&sale.client_id)
        .bind(sale.request_hash)
        .bind(sale.clerk.map(|c| c.0))
        .bind(sale.occurred_at)
        .bind(sale.recorded_at)
        .bind(sale.offline)
        .bind(total)
        .bind(sale.currency.code())
        .bind(sale.payment.method.as_str())
        .bind(sale.payment.reference.as_deref())
        .fetch_one(&mut *tx)
        .await?;
        let reference = format!("pos:{id}");
        let mut devices = Vec::with_capacity(serials.len());
        for (index, line) in sale.lines.iter().enumerate() {
            let quantity = line.serials.len() as i64;
            let discrepancy = |kind, quantity| NewDiscrepancy {
                location: sale.store.clone(),
                sku: line.sku.clone(),
                kind,
                quantity,
                reference: reference.clone(),
                at: sale.recorded_at,
            };
            let taken = if sale.offline {
                if !line.launched {
                    let d = discrepancy(DiscrepancyKind::OfflineNotLaunched, quantity);
                    insert_discrepancy(&mut tx, &d).await?;
                }
                let levels = levels_in(&mut tx, &sale.store, &line.sku).await?;
                let (taken, short) = offline_take(levels.available(), quantity);
                if short > 0 {
                    let d = discrepancy(DiscrepancyKind::OfflineOversold, short);
                    insert_discrepancy(&mut tx, &d).await?;
                }
                taken
            } else {
                quantity
            };
            if taken > 0 {
                let movement = NewMovement {
                    location: sale.store.clone(),
                    sku: line.sku.clone(),
                    kind: MovementKind::Sale,
                    quantity: taken,
                    reference: Some(reference.clone()),
                    at: sale.recorded_at,
                };
                apply_movement(&mut tx, &movement).await?;
            }
            sqlx::query(
                "INSERT INTO pos_sale_lines (sale, line, sku, product, quantity, unit_price, campaign, serials)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(id)
            .bind(index as i64)
            .bind(line.sku.as_str())
            .bind(line.product.as_str())
            .bind(quantity)
            .bind(line.unit_price)
            .bind(line.campaign)
            .bind(json(&line.serials))
            .execute(&mut *tx)
            .await?;
            for serial in &line.serials {
                devices.push(Device {
                    serial: serial.clone(),
                    sku: line.sku.clone(),
                    product: line.product.clone(),
                    market: sale.market.clone(),
                    channel: Channel::Store,
                    location: sale.store.clone(),
                    sold_at: sale.occurred_at,
                    price: line.unit_price,
                    currency: sale.currency,
                    os_version: line.os_version.clone(),
                    sold_on: reference.clone(),
                    returned_at: None,
                });
            }
        }
        for device in &devices {
            upsert_device(&mut tx, device).await?;
        }
        shipments::record(&mut tx, &shipment::from_handover(&devices)).await?;
        let recorded = receipt(&mut tx, id).await?;
        tx.commit().await?;
        Ok(PosOutcome::Recorded(recorded))
    }

    pub(super) async fn select_pos_sales(
        &self,
        store: &LocationId,
        limit: u32,
    ) -> Result<Vec<Receipt>, StoreError> {
        let mut conn = self.reader.acquire().await?;
        let ids: Vec<i64> = sqlx::query_scalar(
            "SELECT id FROM pos_sales WHERE store = $1 ORDER BY id DESC LIMIT $2",
        )
        .bind(store.as_str())
        .bind(i64::from(limit))
        .fetch_all(&mut *conn)
        .await?;
        let mut receipts = Vec::with_capacity(ids.len());
        for id in ids {
            receipts.push(receipt(&mut conn, id).await?);
        }
        Ok(receipts)
    }

    pub(super) async fn select_device(
        &self,
        serial: &Serial,
    ) -> Result<Option<Device>, StoreError> {
        sqlx::query("SELECT * FROM devices WHERE serial = $1")
            .bind(serial.as_str())
            .fetch_optional(&self.reader)
            .await?
            .as_ref()
            .map(device_from_row)
            .transpose()
    }

    pub(super) async fn insert_return(&self, r: &ReturnRecord) -> Result<Refund, StoreError> {
        let mut tx = self.begin_write().await?;
        let device = sqlx::query(
            "SELECT * FROM devices WHERE serial = $1 AND sold_on = $2 AND returned_at IS NULL",
        )
        .bind(r.serial.as_str())
        .bind(&r.sold_on)
        .fetch_optional(&mut *tx)
        .await?
        .as_ref()
        .map(device_from_row)
        .transpose()?
        .ok_or_else(|| {
            StoreError::conflict(
                "not-returnable",
                format!("serial {} was returned or sold again meanwhile", r.serial),
            )
        })?;
        let kind = match r.condition {
            ReturnCondition::Resellable => MovementKind::CustomerReturn,
            ReturnCondition::Damaged => MovementKind::DamagedReturn,
        };
        let movement = NewMovement {
            location: r.store.clone(),
            sku: device.sku.clone(),
            kind,
            quantity: 1,
            reference: Some(format!("return of {} sold on {}", r.serial, r.sold_on)),
            at: r.at,
        };
        apply_movement(&mut tx, &movement).await?;
        sqlx::query("UPDATE devices SET returned_at = $1 WHERE serial = $2")
            .bind(r.at)
            .bind(r.serial.as_str())
            .execute(&mut *tx)
            .await?;
        let row = sqlx::query(
            "INSERT INTO refunds (serial, store, amount, currency, reason, condition, sold_on, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING *",
        )
        .bind(r.serial.as_str())
        .bind(r.store.as_str())
        .bind(device.price)
        .bind(device.currency.code())
        .bind(&r.reason)
        .bind(r.condition.as_str())
        .bind(&r.sold_on)
        .bind(r.at)
        .fetch_one(&mut *tx)
        .await?;
        let refund = refund_from_row(&row)?;
        shipments::record(&mut tx, &[shipment::for_return(&device, refund.id, r.at)]).await?;
        tx.commit().await?;
        Ok(refund)
    }

    pub(super) async fn select_refunds(
        &self,
        store: Option<&LocationId>,
    ) -> Result<Vec<Refund>, StoreError> {
        sqlx::query("SELECT * FROM refunds WHERE $1 IS NULL OR store = $1 ORDER BY id DESC")
            .bind(store.map(LocationId::as_str))
            .fetch_all(&self.reader)
            .await?
            .iter()
            .map(refund_from_row)
            .collect()
    }

    pub(super) async fn select_discrepancies(
        &self,
        location: Option<&LocationId>,
    ) -> Result<Vec<Discrepancy>, StoreError> {
        sqlx::query(
            "SELECT * FROM discrepancies WHERE $1 IS NULL OR location = $1 ORDER BY id DESC",
        )
        .bind(location.map(LocationId::as_str))
        .fetch_all(&self.reader)
        .await?
        .iter()
        .map(discrepancy_from_row)
        .collect()
    }

    pub(super) async fn update_discrepancy(
        &self,
        id: i64,
        note: &str,
        at: DateTime<Utc>,
    ) -> Result<Discrepancy, StoreError> {
        let mut tx = self.begin_write().await?;
        let row = sqlx::query("SELECT * FROM discrepancies WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| StoreError::not_found("discrepancy", id))?;
        if discrepancy_from_row(&row)?.resolved_at.is_some() {
            return Err(StoreError::conflict(
                "already-resolved",
                format!("discrepancy {id} is already resolved"),
            ));
        }
        let row = sqlx::query(
            "UPDATE discrepancies SET resolved_at = $1, resolution = $2 WHERE id = $3 RETURNING *",
        )
        .bind(at)
        .bind(note)
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
        let resolved = discrepancy_from_row(&row)?;
        tx.commit().await?;
        Ok(resolved)
    }

    pub(super) async fn insert_transfer(
        &self,
        new: &NewTransfer,
        ship: bool,
        at: DateTime<Utc>,
    ) -> Result<Transfer, StoreError> {
        new.validate().map_err(transfer_error)?;
        let mut tx = self.begin_write().await?;
        let from_market = market_of(&mut tx, &new.from).await?;
        let to_market = market_of(&mut tx, &new.to).await?;
        if from_market != to_market {
            return Err(StoreError::Invalid(format!(
                "{} is in {from_market} and {} in {to_market}; transfers stay within one market",
                new.from, new.to
            )));
        }
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO transfers (source, destination, status, created_at)
             VALUES ($1, $2, 'requested', $3) RETURNING id",
        )
        .bind(new.from.as_str())
        .bind(new.to.as_str())
        .bind(at)
        .fetch_one(&mut *tx)
        .await?;
        for line in &new.lines {
            sqlx::query("INSERT INTO transfer_lines (transfer, sku, quantity) VALUES ($1, $2, $3)")
                .bind(id)
                .bind(line.sku.as_str())
                .bind(line.quantity)
                .execute(&mut *tx)
                .await
                .map_err(|e| match e.as_database_error() {
                    Some(d) if d.is_foreign_key_violation() => {
                        StoreError::not_found("sku", &line.sku)
                    }
                    _ => e.into(),
                })?;
        }
        let mut transfer = existing_transfer(&mut tx, id).await?;
        if ship {
            ship_lines(&mut tx, &transfer, at).await?;
            transfer = existing_transfer(&mut tx, id).await?;
        }
        tx.commit().await?;
        Ok(transfer)
    }

    pub(super) async fn ship(&self, id: i64, at: DateTime<Utc>) -> Result<Transfer, StoreError> {
        let mut tx = self.begin_write().await?;
        let transfer = existing_transfer(&mut tx, id).await?;
        transfer.check_ship().map_err(transfer_error)?;
        ship_lines(&mut tx, &transfer, at).await?;
        let shipped = existing_transfer(&mut tx, id).await?;
        tx.commit().await?;
        Ok(shipped)
    }

    pub(super) async fn receive(
        &self,
        id: i64,
        counts: &[UnitCount],
        at: DateTime<Utc>,
    ) -> Result<Transfer, StoreError> {
        let mut tx = self.begin_write().await?;
        let transfer = existing_transfer(&mut tx, id).await?;
        let plan = transfer.plan_receipt(counts).map_err(transfer_error)?;
        let reference = format!("transfer:{id}");
        for line in &plan {
            for (kind, quantity) in [
                (MovementKind::TransferIn, line.received),
                (MovementKind::TransferShortfall, line.short),
            ] {
                if quantity == 0 {
                    continue;
                }
                let movement = NewMovement {
                    location: transfer.to.clone(),
                    sku: line.sku.clone(),
                    kind,
                    quantity,
                    reference: Some(reference.clone()),
                    at,
                };
                apply_movement(&mut tx, &movement).await?;
            }
            if line.short > 0 {
                let d = NewDiscrepancy {
                    location: transfer.to.clone(),
                    sku: line.sku.clone(),
                    kind: DiscrepancyKind::TransferShortfall,
                    quantity: line.short,
                    reference: reference.clone(),
                    at,
                };
                insert_discrepancy(&mut tx, &d).await?;
            }
            sqlx::query("UPDATE transfer_lines SET received = $1 WHERE transfer = $2 AND sku = $3")
                .bind(line.received)
                .bind(id)
                .bind(line.sku.as_str())
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query("UPDATE transfers SET status = 'received', received_at = $1 WHERE id = $2")
            .bind(at)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let received = existing_transfer(&mut tx, id).await?;
        tx.commit().await?;
        Ok(received)
    }

    pub(super) async fn select_transfer(&self, id: i64) -> Result<Option<Transfer>, StoreError> {
        let mut conn = self.reader.acquire().await?;
        transfer_in(&mut conn, id).await
    }

    pub(super) async fn select_transfers(
        &self,
        location: &LocationId,
    ) -> Result<Vec<Transfer>, StoreError> {
        let mut conn = self.reader.acquire().await?;
        let ids: Vec<i64> = sqlx::query_scalar(
            "SELECT id FROM transfers WHERE source = $1 OR destination = $1 ORDER BY id DESC",
        )
        .bind(location.as_str())
        .fetch_all(&mut *conn)
        .await?;
        let mut transfers = Vec::with_capacity(ids.len());
        for id in ids {
            transfers.extend(transfer_in(&mut conn, id).await?);
        }
        Ok(transfers)
    }

    pub(super) async fn insert_campaign(&self, c: &Campaign) -> Result<Campaign, StoreError> {
        let mut tx = self.begin_write().await?;
        if !super::exists(
            &mut tx,
            "SELECT 1 FROM markets WHERE code = $1",
            c.market.as_str(),
        )
        .await?
        {
            return Err(StoreError::not_found("market", &c.market));
        }
        let existing = sqlx::query("SELECT * FROM campaigns WHERE market = $1")
            .bind(c.market.as_str())
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .map(campaign_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        c.check_overlap(&existing)
            .map_err(|e| StoreError::conflict("campaign-overlap", e))?;
        let row = sqlx::query(
            "INSERT INTO campaigns (name, market, skus, price, percent_off, channels, starts_at, ends_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING *",
        )
        .bind(&c.name)
        .bind(c.market.as_str())
        .bind(json(&c.skus))
        .bind(c.price)
        .bind(c.percent_off.map(i64::from))
        .bind(json(&c.channels))
        .bind(c.starts_at)
        .bind(c.ends_at)
        .fetch_one(&mut *tx)
        .await?;
        let created = campaign_from_row(&row)?;
        tx.commit().await?;
        Ok(created)
    }

    pub(super) async fn select_campaigns(
        &self,
        market: Option<&MarketCode>,
    ) -> Result<Vec<Campaign>, StoreError> {
        sqlx::query("SELECT * FROM campaigns WHERE $1 IS NULL OR market = $1 ORDER BY id")
            .bind(market.map(MarketCode::as_str))
            .fetch_all(&self.reader)
            .await?
            .iter()
            .map(campaign_from_row)
            .collect()
    }
}
