//! SQLite for who may act: the dashboard's server-side sessions (only a hash of each
//! session id is stored) and clerks, who can be revoked. When a session is live is
//! the core's rule (`SessionPolicy::live`).

use super::DbRow;
use super::{column, Backend};
use crate::StoreError;
use chrono::{DateTime, Utc};
use soldout_core::access::SESSION_TOUCH_SECS;
use soldout_core::{Clerk, ClerkId, LocationId, Principal, SessionPolicy};
use sqlx::Row;

fn clerk_from_row(row: &DbRow) -> Result<Clerk, StoreError> {
    Ok(Clerk {
        id: ClerkId(row.try_get("id")?),
        store: column(row, "store", |s| LocationId::parse(s).ok())?,
        name: row.try_get("name")?,
        created_at: row.try_get("created_at")?,
        revoked_at: row.try_get("revoked_at")?,
    })
}

impl Backend {
    pub(super) async fn insert_session(
        &self,
        id_hash: &str,
        clerk: Option<ClerkId>,
        now: DateTime<Utc>,
        policy: SessionPolicy,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        // Sessions that can no longer be live go, so the table stays the size of
        // the staff signed in.
        sqlx::query("DELETE FROM dashboard_sessions WHERE created_at <= $1 OR last_seen_at <= $2")
            .bind(now - chrono::Duration::seconds(policy.absolute_secs))
            .bind(now - chrono::Duration::seconds(policy.idle_secs))
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO dashboard_sessions (id_hash, clerk, created_at, last_seen_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(id_hash)
        .bind(clerk.map(|c| c.0))
        .bind(now)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    pub(super) async fn select_session(
        &self,
        id_hash: &str,
        now: DateTime<Utc>,
        policy: SessionPolicy,
    ) -> Result<Option<Principal>, StoreError> {
        let row = sqlx::query(
            "SELECT s.clerk, s.created_at, s.last_seen_at, c.store, c.revoked_at
             FROM dashboard_sessions s LEFT JOIN clerks c ON c.id = s.clerk
             WHERE s.id_hash = $1",
        )
        .bind(id_hash)
        .fetch_optional(&self.reader)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let created_at: DateTime<Utc> = row.try_get("created_at")?;
        let last_seen: DateTime<Utc> = row.try_get("last_seen_at")?;
        if !policy.live(created_at, last_seen, now) {
            return Ok(None);
        }
        let principal = match row.try_get::<Option<i64>, _>("clerk")? {
            None => Principal::Admin,
            Some(clerk) => {
                if row
                    .try_get::<Option<DateTime<Utc>>, _>("revoked_at")?
                    .is_some()
                {
                    return Ok(None);
                }
                Principal::Clerk {
                    clerk: ClerkId(clerk),
                    store: column(&row, "store", |s| LocationId::parse(s).ok())?,
                }
            }
        };
        if (now - last_seen).num_seconds() >= SESSION_TOUCH_SECS {
            sqlx::query("UPDATE dashboard_sessions SET last_seen_at = $1 WHERE id_hash = $2")
                .bind(now)
                .bind(id_hash)
                .execute(&self.writer)
                .await?;
        }
        Ok(Some(principal))
    }

    pub(super) async fn delete_session(&self, id_hash: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM dashboard_sessions WHERE id_hash = $1")
            .bind(id_hash)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    pub(super) async fn mark_clerk_revoked(
        &self,
        clerk: ClerkId,
        at: DateTime<Utc>,
    ) -> Result<Clerk, StoreError> {
        let mut tx = self.begin_write().await?;
        // Revoking twice keeps the first instant.
        sqlx::query("UPDATE clerks SET revoked_at = COALESCE(revoked_at, $1) WHERE id = $2")
            .bind(at)
            .bind(clerk.0)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM dashboard_sessions WHERE clerk = $1")
            .bind(clerk.0)
            .execute(&mut *tx)
            .await?;
        let row = sqlx::query("SELECT * FROM clerks WHERE id = $1")
            .bind(clerk.0)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| StoreError::not_found("clerk", clerk))?;
        let revoked = clerk_from_row(&row)?;
        tx.commit().await?;
        Ok(revoked)
    }

    pub(super) async fn select_clerks(
        &self,
        store: Option<&LocationId>,
    ) -> Result<Vec<Clerk>, StoreError> {
        let rows = sqlx::query("SELECT * FROM clerks WHERE $1 IS NULL OR store = $1 ORDER BY id")
            .bind(store.map(LocationId::as_str))
            .fetch_all(&self.reader)
            .await?;
        rows.iter().map(clerk_from_row).collect()
    }
}
