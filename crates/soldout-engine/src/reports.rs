//! Reports for the API and the command line alike: the store's quarter totals, the
//! core's arithmetic.

use crate::EngineError;
use soldout_core::report::{
    quarter_report, units_by_quarter, year_report, QuarterReport, YearReport,
};
use soldout_core::shipment::Quarter;
use soldout_core::MarketCode;
use soldout_store::Store;

/// The quarter report of `quarter`, for one market or all; an unknown market is
/// not found.
pub async fn quarter(
    store: &dyn Store,
    quarter: Quarter,
    market: Option<&MarketCode>,
) -> Result<QuarterReport, EngineError> {
    if let Some(code) = market {
        if store.market(code).await?.is_none() {
            return Err(crate::not_found("market", code));
        }
    }
    let quarters = [quarter, quarter.previous(), quarter.year_before()];
    let totals = store.shipment_totals(&quarters).await?;
    let report = quarter_report(&totals, quarter, market);
    let (Some(market), Some(brand)) = (market, store.meta(BRAND_KEY).await?) else {
        return Ok(report);
    };
    let rows = store.tracker_rows(quarter, market).await?;
    let names = store
        .products()
        .await?
        .into_iter()
        .map(|p| (p.id.to_string(), p.name))
        .collect();
    Ok(report.with_tracker(&rows, &brand, &names))
}

/// The meta key our brand's name (in market trackers) is kept under.
pub const BRAND_KEY: &str = "settings.brand";

/// Years a target may be set for.
pub const TARGET_YEARS: std::ops::RangeInclusive<i32> = 2000..=2100;
/// Largest target, in units.
pub const TARGET_UNITS_MAX: i64 = 1_000_000_000_000;

/// Sets a year's unit target.
pub async fn set_target(
    store: &dyn Store,
    clock: crate::Clock,
    year: i32,
    units: i64,
) -> Result<(), EngineError> {
    if !TARGET_YEARS.contains(&year) || !(1..=TARGET_UNITS_MAX).contains(&units) {
        return Err(EngineError::Invalid(format!(
            "a target is for a year from {} to {} and 1 to {TARGET_UNITS_MAX} units",
            TARGET_YEARS.start(),
            TARGET_YEARS.end()
        )));
    }
    Ok(store.set_target(year, units, clock.now()).await?)
}

/// The year report of `year` by `clock`: target, units so far, progress, forecast,
/// and every target year's outcome.
pub async fn year(
    store: &dyn Store,
    clock: crate::Clock,
    year: i32,
) -> Result<YearReport, EngineError> {
    if !TARGET_YEARS.contains(&year) {
        return Err(EngineError::Invalid(format!(
            "year {year} is not between {} and {}",
            TARGET_YEARS.start(),
            TARGET_YEARS.end()
        )));
    }
    let targets = store.targets().await?;
    let mut years: Vec<i32> = targets.keys().copied().collect();
    years.extend([year, year - 1]);
    years.sort_unstable();
    years.dedup();
    let quarters: Vec<Quarter> = years.into_iter().flat_map(Quarter::of_year).collect();
    let units = units_by_quarter(&store.shipment_totals(&quarters).await?);
    Ok(year_report(year, clock.now(), &units, &targets))
}
