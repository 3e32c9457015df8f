//! Reports for the API and the command line alike: the store's quarter totals, the
//! core's arithmetic.

use crate::EngineError;
use soldout_core::report::{quarter_report, QuarterReport};
use soldout_core::shipment::Quarter;
use soldout_core::MarketCode;
use soldout_store::{Store, StoreError};

/// The quarter report of `quarter`, for one market or all; an unknown market is
/// not found.
pub async fn quarter(
    store: &dyn Store,
    quarter: Quarter,
    market: Option<&MarketCode>,
) -> Result<QuarterReport, EngineError> {
    if let Some(code) = market {
        if store.market(code).await?.is_none() {
            return Err(StoreError::NotFound {
                what: "market",
                id: code.to_string(),
            }
            .into());
        }
    }
    let quarters = [quarter, quarter.previous(), quarter.year_before()];
    let totals = store.shipment_totals(&quarters).await?;
    Ok(quarter_report(&totals, quarter, market))
}
