//! OS releases, rollouts and their journals, and the device registry as rollouts see
//! it: devices sold through soldout (`devices`) and the imported installed base
//! (`installed_base`), one serial in one of them only.

use super::{column, corrupt, is_unique_violation as is_unique, taken, SqliteStore};
use std::collections::HashMap;

/// Rows one statement writes: under SQLite's 32,766 bound parameters at 7 a row.
const ROWS_PER_STATEMENT: usize = 500;
use crate::store::{DeviceVersion, ImportedDevice, RegisteredDevice};
use crate::StoreError;
use chrono::{DateTime, Utc};
use soldout_core::rollout::{Release, RolloutEvent, RolloutTerms};
use soldout_core::{MarketCode, OsVersion, ProductId, RolloutId, Serial};
use sqlx::sqlite::SqliteRow;
use sqlx::Row;

/// Both kinds of registered device, with one set of columns.
const REGISTRY: &str = "(SELECT serial, product, market, os_version, os_base FROM devices
        WHERE returned_at IS NULL
      UNION ALL
      SELECT serial, product, market, os_version, os_base FROM installed_base)";

fn registered(row: &SqliteRow) -> Result<RegisteredDevice, StoreError> {
    Ok(RegisteredDevice {
        serial: column(row, "serial", |s| Serial::parse(s).ok())?,
        product: column(row, "product", |s| ProductId::parse(s).ok())?,
        market: column(row, "market", |s| MarketCode::parse(s).ok())?,
        os_version: column(row, "os_version", |s| OsVersion::parse(s).ok())?,
        os_base: row.try_get("os_base")?,
    })
}

fn json<T: serde::de::DeserializeOwned>(row: &SqliteRow, name: &str) -> Result<T, StoreError> {
    let text: String = row.try_get(name)?;
    serde_json::from_str(&text).map_err(|_| corrupt(name, &text))
}

impl SqliteStore {
    pub(super) async fn insert_release(
        &self,
        release: &Release,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let body = serde_json::to_string(release).expect("a release serializes");
        sqlx::query("INSERT INTO os_releases (id, body, created_at) VALUES (?, ?, ?)")
            .bind(release.id.as_str())
            .bind(body)
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
        let release = sqlx::query("SELECT 1 FROM os_releases WHERE id = ?")
            .bind(terms.release.as_str())
            .fetch_optional(&mut *tx)
            .await?;
        if release.is_none() {
            return Err(StoreError::NotFound {
                what: "release",
                id: terms.release.to_string(),
            });
        }
        let body = serde_json::to_string(terms).expect("terms serialize");
        sqlx::query("INSERT INTO os_rollouts (id, release, terms, created_at) VALUES (?, ?, ?, ?)")
            .bind(terms.id.as_str())
            .bind(terms.release.as_str())
            .bind(body)
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
        let rows = sqlx::query("SELECT events FROM rollout_journal WHERE rollout = ? ORDER BY id")
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

    pub(super) async fn append_rollout_progress(
        &self,
        events: &[(RolloutId, Vec<RolloutEvent>)],
        versions: &[DeviceVersion],
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        for (rollout, group) in events.iter().filter(|(_, g)| !g.is_empty()) {
            let bytes = postcard::to_allocvec(group).expect("events encode");
            sqlx::query("INSERT INTO rollout_journal (rollout, events) VALUES (?, ?)")
                .bind(rollout.as_str())
                .bind(bytes)
                .execute(&mut *tx)
                .await?;
        }
        // Many devices per statement: one round trip to SQLite per chunk, not per
        // device. A check-in on the same version keeps the base the device had; on
        // another version (a downgrade, an update from elsewhere) the base is unknown.
        for chunk in versions.chunks(ROWS_PER_STATEMENT) {
            let values = vec!["(?, ?, ?)"; chunk.len()].join(", ");
            for table in ["devices", "installed_base"] {
                let sql = format!(
                    "WITH v (serial, os_version, os_base) AS (VALUES {values})
                     UPDATE {table} SET os_version = v.os_version,
                       os_base = CASE
                         WHEN v.os_base IS NOT NULL THEN v.os_base
                         WHEN {table}.os_version = v.os_version THEN {table}.os_base
                       END
                     FROM v WHERE {table}.serial = v.serial"
                );
                let mut query = sqlx::query(&sql);
                for v in chunk {
                    query = query
                        .bind(v.serial.as_str())
                        .bind(v.os_version.to_string())
                        .bind(v.os_base.as_deref());
                }
                query.execute(&mut *tx).await?;
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
                sqlx::query_scalar("SELECT product FROM skus WHERE sku = ?")
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
            let values = vec!["(?, ?, ?, ?, ?, ?, NULL, ?)"; chunk.len()].join(", ");
            let sql = format!(
                "INSERT INTO installed_base (serial, sku, product, market, sold_at, os_version,
                   os_base, imported_at) VALUES {values}"
            );
            let mut query = sqlx::query(&sql);
            for d in chunk {
                query = query
                    .bind(d.serial.as_str())
                    .bind(d.sku.as_str())
                    .bind(&products[d.sku.as_str()])
                    .bind(d.market.as_str())
                    .bind(d.sold_at)
                    .bind(d.os_version.to_string())
                    .bind(at);
            }
            query.execute(&mut *tx).await.map_err(|e| {
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
             WHERE i.imported_at = ? LIMIT 1",
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
        sqlx::query(&format!("SELECT * FROM {REGISTRY} WHERE serial = ?"))
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
        let marks = |n: usize| vec!["?"; n].join(", ");
        let sql = format!(
            "SELECT * FROM {REGISTRY} WHERE market IN ({}) AND product IN ({})",
            marks(markets.len()),
            marks(products.len())
        );
        let mut query = sqlx::query(&sql);
        for m in markets {
            query = query.bind(m.as_str());
        }
        for p in products {
            query = query.bind(p.as_str());
        }
        query
            .fetch_all(&self.reader)
            .await?
            .iter()
            .map(registered)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use crate::store::{DeviceVersion, ImportedDevice};
    use crate::Store;
    use soldout_core::catalog::{NewMarket, NewProduct, NewSku, Specs};
    use soldout_core::{Currency, MarketCode, OsVersion, ProductId, Serial, SkuCode};

    fn version(serial: &Serial, v: &str, base: Option<&str>) -> DeviceVersion {
        DeviceVersion {
            serial: serial.clone(),
            os_version: OsVersion::parse(v).unwrap(),
            os_base: base.map(str::to_owned),
        }
    }

    #[tokio::test]
    async fn a_device_keeps_its_base_only_while_its_version_stays() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        let store = crate::open(&url).await.unwrap();
        let market = NewMarket {
            code: MarketCode::parse("IN").unwrap(),
            name: "India".into(),
            currency: Currency::parse("INR").unwrap(),
            return_window_days: None,
        }
        .validate()
        .unwrap();
        store.create_market(&market).await.unwrap();
        let product = NewProduct {
            id: ProductId::parse("redmi-note-4").unwrap(),
            name: "Redmi Note 4".into(),
            specs: Specs {
                soc: "Snapdragon 625".into(),
                battery_mah: 4100,
                fast_charging: false,
                main_camera_mp: 13,
                port: "Micro-USB".into(),
                os_name: "MIUI".into(),
                os_base: "Android 6.0".into(),
                os_version: OsVersion::parse("8.1").unwrap(),
            },
            skus: vec![NewSku {
                sku: SkuCode::parse("RN4-3-32-GLD").unwrap(),
                colour: "Gold".into(),
                ram_gb: 3,
                storage_gb: 32,
            }],
        }
        .validate()
        .unwrap();
        store.create_product(&product).await.unwrap();
        let serial = Serial::parse("RN4IN1").unwrap();
        let now = chrono::Utc::now();
        let device = ImportedDevice {
            serial: serial.clone(),
            sku: SkuCode::parse("RN4-3-32-GLD").unwrap(),
            market: market.code.clone(),
            os_version: OsVersion::parse("8.2").unwrap(),
            sold_at: now,
        };
        assert_eq!(
            store
                .import_devices(std::slice::from_ref(&device), now)
                .await
                .unwrap(),
            1
        );
        assert!(store.import_devices(&[device], now).await.is_err(), "once");
        let base = |store: std::sync::Arc<dyn Store>, serial: Serial| async move {
            let d = store.registered_device(&serial).await.unwrap().unwrap();
            (d.os_version.to_string(), d.os_base)
        };
        let installed = [version(&serial, "9.0", Some("Android 7.0"))];
        store
            .record_rollout_progress(&[], &installed)
            .await
            .unwrap();
        let same = [version(&serial, "9.0", None)];
        store.record_rollout_progress(&[], &same).await.unwrap();
        assert_eq!(
            base(store.clone(), serial.clone()).await,
            ("9.0".into(), Some("Android 7.0".into())),
            "a check-in on the installed version keeps the base"
        );
        let downgraded = [version(&serial, "8.2", None)];
        store
            .record_rollout_progress(&[], &downgraded)
            .await
            .unwrap();
        assert_eq!(base(store, serial).await, ("8.2".into(), None));
    }
}
