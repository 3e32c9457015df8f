//! SQLite for the payment provider's events as first received: one row per event id,
//! so an id reused for another order, outcome or amount is told apart from a replay.

use super::{column, Backend, Db};
use crate::StoreError;
use chrono::{DateTime, Utc};
use soldout_core::order::PaymentReport;
use soldout_core::sale::{OrderId, PaymentOutcome};
use soldout_core::Currency;
use sqlx::{Row, Transaction};

impl Backend {
    pub(super) async fn insert_payment_event(
        &self,
        report: &PaymentReport,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let first = claim(&mut tx, report, at).await?;
        tx.commit().await?;
        Ok(first)
    }
}

/// Claims a provider's event id inside `tx`: `true` the first time, `false` for an
/// exact replay of the report first received, a refusal for anything else.
pub(super) async fn claim(
    tx: &mut Transaction<'_, Db>,
    report: &PaymentReport,
    at: DateTime<Utc>,
) -> Result<bool, StoreError> {
    {
        let first = sqlx::query("SELECT * FROM payment_events WHERE event_id = $1")
            .bind(&report.event_id)
            .fetch_optional(&mut **tx)
            .await?;
        if let Some(row) = first {
            let first = PaymentReport {
                event_id: row.try_get("event_id")?,
                order: column(&row, "order_id", OrderId::parse)?,
                outcome: column(&row, "outcome", PaymentOutcome::parse)?,
                amount: row.try_get("amount")?,
                currency: column(&row, "currency", |s| Currency::parse(s).ok())?,
            };
            report.check_replay_of(&first)?;
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO payment_events (event_id, order_id, outcome, amount, currency, received_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&report.event_id)
        .bind(report.order.to_string())
        .bind(report.outcome.as_str())
        .bind(report.amount)
        .bind(report.currency.code())
        .bind(at)
        .execute(&mut **tx)
        .await?;
        Ok(true)
    }
}
