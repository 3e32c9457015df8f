//! OS releases, rollouts and their journals, and the device registry as rollouts see
//! it: devices sold through soldout (`devices`) and the imported installed base
//! (`installed_base`), one serial in one of them only.

use super::{column, corrupt, dialect, is_unique_violation as is_unique, taken, Backend};
use std::collections::HashMap;

/// Rows one statement writes: under SQLite's 32,766 bound parameters at 7 a row.
const ROWS_PER_STATEMENT: usize = 500;
use super::{Db, DbRow};
use crate::store::{DeviceVersion, ImportedDevice, RegisteredDevice};
use crate::StoreError;
use chrono::{DateTime, Utc};
use soldout_core::rollout::{Release, RolloutEvent, RolloutTerms};
use soldout_core::{MarketCode, OsVersion, ProductId, RolloutId, Serial};
use sqlx::QueryBuilder;
use sqlx::Row;

/// Both kinds of registered device, with one set of columns.
const REGISTRY: &str = "(SELECT serial, product, market, os_version, os_base FROM devices
        WHERE returned_at IS NULL
      UNION ALL
      SELECT serial, product, market, os_version, os_base FROM installed_base) AS registry";

fn registered(row: &DbRow) -> Result<RegisteredDevice, StoreError> {
    Ok(RegisteredDevice {
        serial: column(row, "serial", |s| Serial::parse(s).ok())?,
        product: column(row, "product", |s| ProductId::parse(s).ok())?,
        market: column(row, "market", |s| MarketCode::parse(s).ok())?,
        os_version: column(row, "os_version", |s| OsVersion::parse(s).ok())?,
        os_base: row.try_get("os_base")?,
    })
}

/// A document stored whole (`jsonb` on PostgreSQL, JSON text on SQLite).
fn json<T: serde::de::DeserializeOwned>(row: &DbRow, name: &str) -> Result<T, StoreError> {
    let sqlx::types::Json(document) = row.try_get(name)?;
    Ok(document)
}

impl Backend {
    pub(super) async fn insert_release(
        &self,
        release: &Release,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO os_releases (id, body, created_at) VALUES ($1, $2, $3)")
            .bind(release.id.as_str())
            .bind(sqlx::types::Json(release))
            .bind(at)
            .execute(&self.writer)
            .await
            .map_err(taken("release", &release.id))?;
        Ok(())
    }

    pub(super) async fn select_releases(&self) -> Result<Vec<Release>, StoreError> {
        sqlx::query("SELECT body FROM os_releases ORDER BY created_at, id")
            .fetch_all(&self.reader)
            .await?
            .iter()
            .map(|row| json(row, "body"))
            .collect()
    }

    pub(super) async fn insert_rollout(
        &self,
        terms: &RolloutTerms,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        if !super::exists(
            &mut tx,
            "SELECT 1 FROM os_releases WHERE id = $1",
            terms.release.as_str(),
        )
        .await?
        {
            return Err(StoreError::NotFound {
                what: "release",
                id: terms.release.to_string(),
            });
        }
        sqlx::query(
            "INSERT INTO os_rollouts (id, release, terms, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(terms.id.as_str())
        .bind(terms.release.as_str())
        .bind(sqlx::types::Json(terms))
        .bind(at)
        .execute(&mut *tx)
        .await
        .map_err(taken("rollout", &terms.id))?;
        tx.commit().await?;
        Ok(())
    }

    pub(super) async fn select_rollouts(&self) -> Result<Vec<RolloutTerms>, StoreError> {
        sqlx::query("SELECT terms FROM os_rollouts ORDER BY created_at, id")
            .fetch_all(&self.reader)
            .await?
            .iter()
            .map(|row| json(row, "terms"))
            .collect()
    }

    pub(super) async fn select_rollout_journal(
        &self,
        rollout: &RolloutId,
    ) -> Result<Vec<RolloutEvent>, StoreError> {
        let rows = sqlx::query("SELECT events FROM rollout_journal WHERE rollout = $1 ORDER BY id")
            .bind(rollout.as_str())
            .fetch_all(&self.reader)
            .await?;
        let mut events = Vec::new();
        for row in rows {
            let bytes: Vec<u8> = row.try_get("events")?;
            let group: Vec<RolloutEvent> = postcard::from_bytes(&bytes)
                .map_err(|_| corrupt("rollout events of", rollout.as_str()))?;
            events.extend(group);
        }
        Ok(events)
    }

    pub(super) async fn select_rollout_journal_head(&self) -> Result<i64, StoreError> {
        let head: Option<i64> = sqlx::query_scalar("SELECT MAX(id) FROM rollout_journal")
            .fetch_one(&self.reader)
            .await?;
        Ok(head.unwrap_or(0))
    }

    pub(super) async fn select_rollout_journal_after(
        &self,
        after: i64,
        node: &str,
    ) -> Result<Vec<(i64, RolloutId, Vec<RolloutEvent>)>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, rollout, events, node FROM rollout_journal WHERE id > $1 ORDER BY id",
        )
        .bind(after)
        .fetch_all(&self.reader)
        .await?;
        let mut groups = Vec::new();
        for row in rows {
            let id: i64 = row.try_get("id")?;
            let writer: String = row.try_get("node")?;
            let rollout = column(&row, "rollout", |s| RolloutId::parse(s).ok())?;
            // The group's number counts even when it is this node's own.
            let events = if writer == node {
                Vec::new()
            } else {
                let bytes: Vec<u8> = row.try_get("events")?;
                postcard::from_bytes(&bytes)
                    .map_err(|_| corrupt("rollout events of", rollout.as_str()))?
            };
            groups.push((id, rollout, events));
        }
        Ok(groups)
    }

    pub(super) async fn append_rollout_progress(
        &self,
        events: &[(RolloutId, Vec<RolloutEvent>)],
        versions: &[DeviceVersion],
        node: &str,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        if !events.is_empty() && !dialect::LOCK_ROLLOUT_JOURNAL.is_empty() {
            sqlx::query(dialect::LOCK_ROLLOUT_JOURNAL)
                .execute(&mut *tx)
                .await?;
        }
        for (rollout, group) in events.iter().filter(|(_, g)| !g.is_empty()) {
            let bytes = postcard::to_allocvec(group).expect("events encode");
            sqlx::query("INSERT INTO rollout_journal (rollout, events, node) VALUES ($1, $2, $3)")
                .bind(rollout.as_str())
                .bind(bytes)
                .bind(node)
                .execute(&mut *tx)
                .await?;
        }
        // Many devices per statement: one round trip to SQLite per chunk, not per
        // device. A check-in on the same version keeps the base the device had; on
        // another version (a downgrade, an update from elsewhere) the base is unknown.
        for chunk in versions.chunks(ROWS_PER_STATEMENT) {
            for table in ["devices", "installed_base"] {
                let mut update =
                    QueryBuilder::<Db>::new("WITH v (serial, os_version, os_base) AS (");
                update.push_values(chunk, |mut row, v| {
                    row.push_bind(v.serial.as_str())
                        .push_bind(v.os_version.to_string())
                        .push_bind(v.os_base.as_deref());
                });
                update.push(format!(
                    ") UPDATE {table} SET os_version = v.os_version,
                       os_base = CASE
                         WHEN v.os_base IS NOT NULL THEN v.os_base
                         WHEN {table}.os_version = v.os_version THEN {table}.os_base
                       END
                     FROM v WHERE {table}.serial = v.serial"
                ));
                update.build().execute(&mut *tx).await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    pub(super) async fn insert_installed_base(
        &self,
        devices: &[ImportedDevice],
        at: DateTime<Utc>,
    ) -> Result<usize, StoreError> {
        let mut tx = self.begin_write().await?;
        let mut products: HashMap<&str, String> = HashMap::new();
        for d in devices {
            if products.contains_key(d.sku.as_str()) {
                continue;
            }
            let product: Option<String> =
                sqlx::query_scalar("SELECT product FROM skus WHERE sku = $1")
                    .bind(d.sku.as_str())
                    .fetch_optional(&mut *tx)
                    .await?;
            let product = product.ok_or_else(|| StoreError::NotFound {
                what: "sku",
                id: d.sku.to_string(),
            })?;
            products.insert(d.sku.as_str(), product);
        }
        for chunk in devices.chunks(ROWS_PER_STATEMENT) {
            let mut query = QueryBuilder::<Db>::new(
                "INSERT INTO installed_base (serial, sku, product, market, sold_at, os_version,
                   os_base, imported_at) ",
            );
            query.push_values(chunk, |mut row, d| {
                row.push_bind(d.serial.as_str())
                    .push_bind(d.sku.as_str())
                    .push_bind(&products[d.sku.as_str()])
                    .push_bind(d.market.as_str())
                    .push_bind(d.sold_at)
                    .push_bind(d.os_version.to_string())
                    .push("NULL")
                    .push_bind(at);
            });
            query.build().execute(&mut *tx).await.map_err(|e| {
                if e.as_database_error()
                    .is_some_and(|d| d.is_foreign_key_violation())
                {
                    StoreError::NotFound {
                        what: "market",
                        id: chunk
                            .iter()
                            .map(|d| d.market.as_str())
                            .collect::<std::collections::BTreeSet<_>>()
                            .into_iter()
                            .collect::<Vec<_>>()
                            .join(" or "),
                    }
                } else if is_unique(&e) {
                    StoreError::Conflict {
                        slug: "serial-registered",
                        detail: "a serial of the file is in the installed base already, or twice in the file".into(),
                    }
                } else {
                    e.into()
                }
            })?;
        }
        // One look for serials sold through soldout, for the whole file.
        let sold: Option<String> = sqlx::query_scalar(
            "SELECT i.serial FROM installed_base i JOIN devices d ON d.serial = i.serial
             WHERE i.imported_at = $1 LIMIT 1",
        )
        .bind(at)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(serial) = sold {
            return Err(StoreError::Conflict {
                slug: "serial-registered",
                detail: format!("serial {serial} was sold through soldout already"),
            });
        }
        tx.commit().await?;
        Ok(devices.len())
    }

    pub(super) async fn select_registered_device(
        &self,
        serial: &Serial,
    ) -> Result<Option<RegisteredDevice>, StoreError> {
        sqlx::query(&format!("SELECT * FROM {REGISTRY} WHERE serial = $1"))
            .bind(serial.as_str())
            .fetch_optional(&self.reader)
            .await?
            .as_ref()
            .map(registered)
            .transpose()
    }

    pub(super) async fn select_registered_devices(
        &self,
        markets: &[MarketCode],
        products: &[ProductId],
    ) -> Result<Vec<RegisteredDevice>, StoreError> {
        if markets.is_empty() || products.is_empty() {
            return Ok(Vec::new());
        }
        let mut query =
            QueryBuilder::<Db>::new(format!("SELECT * FROM {REGISTRY} WHERE market IN ("));
        let mut list = query.separated(", ");
        for m in markets {
            list.push_bind(m.as_str());
        }
        query.push(") AND product IN (");
        let mut list = query.separated(", ");
        for p in products {
            list.push_bind(p.as_str());
        }
        query.push(")");
        query
            .build()
            .fetch_all(&self.reader)
            .await?
            .iter()
            .map(registered)
            .collect()
    }
}
