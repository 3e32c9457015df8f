//! The demo's clock across restarts. The demo lives in July 2017 on a clock that
//! runs forward from `--clock-start`; restarted on its database, it goes on from the
//! last instant it kept (every second while it runs, and when it stops), so a sale it
//! sold out stays over instead of showing as scheduled again.

use chrono::{DateTime, Utc};
use soldout_engine::Clock;
use soldout_store::Store;
use std::sync::Arc;
use std::time::Duration;

/// Where the demo keeps its clock, in the database's settings.
const KEY: &str = "demo.clock";
/// How often a running demo keeps its clock.
const KEEP_EVERY: Duration = Duration::from_secs(1);

/// The instant the demo's clock starts at: `start`, or where the last run on this
/// database stopped when that is later. The boolean says whether it resumed.
pub async fn resume(
    store: &dyn Store,
    start: DateTime<Utc>,
) -> anyhow::Result<(DateTime<Utc>, bool)> {
    let kept = store
        .meta(KEY)
        .await?
        .and_then(|text| DateTime::parse_from_rfc3339(&text).ok())
        .map(|t| t.with_timezone(&Utc));
    Ok(match kept {
        Some(kept) if kept > start => (kept, true),
        _ => (start, false),
    })
}

/// Keeps the clock's instant now.
pub async fn keep(store: &dyn Store, clock: Clock) -> anyhow::Result<()> {
    store.set_meta(KEY, &clock.now().to_rfc3339()).await?;
    Ok(())
}

/// Keeps the clock every second for as long as the demo runs.
pub fn keep_running(store: Arc<dyn Store>, clock: Clock) {
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(KEEP_EVERY).await;
            if let Err(e) = keep(store.as_ref(), clock).await {
                tracing::warn!(error = %e, "keeping the demo's clock failed");
            }
        }
    });
}
