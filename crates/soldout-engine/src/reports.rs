//! Reports for the API and the command line alike: the store's quarter totals, the
//! core's arithmetic.

use crate::charts::{self, QuarterPoint, VendorBar};
use crate::EngineError;
use soldout_core::report::{
    quarter_report, quarters_between, trend_report, units_by_quarter, year_report, QuarterReport,
    TrendReport, YearReport, TREND_QUARTERS_MAX,
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
    known_market(store, market).await?;
    let quarters = [quarter, quarter.previous(), quarter.year_before()];
    let totals = store.shipment_totals(&quarters).await?;
    let rates = store.fx_rates(&[quarter, quarter.year_before()]).await?;
    let report = quarter_report(&totals, quarter, market, &rates);
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

async fn known_market(store: &dyn Store, market: Option<&MarketCode>) -> Result<(), EngineError> {
    if let Some(code) = market {
        if store.market(code).await?.is_none() {
            return Err(crate::not_found("market", code));
        }
    }
    Ok(())
}

/// Units and revenue per quarter from `from` to `to` (fewer than
/// [`TREND_QUARTERS_MAX`] quarters), for one market or all.
pub async fn trend(
    store: &dyn Store,
    from: Quarter,
    to: Quarter,
    market: Option<&MarketCode>,
) -> Result<TrendReport, EngineError> {
    known_market(store, market).await?;
    let quarters = quarters_between(from, to);
    if quarters.is_empty() || quarters.len() >= TREND_QUARTERS_MAX {
        return Err(EngineError::Invalid(format!(
            "a trend runs from a quarter to the same or a later one, fewer than \
             {TREND_QUARTERS_MAX} quarters; {from} to {to} is not that"
        )));
    }
    // Four more quarters before the first: the bases of its growth.
    let mut with_bases = quarters_between(from.year_before(), from.previous());
    with_bases.extend(&quarters);
    let totals = store.shipment_totals(&with_bases).await?;
    let rates = store.fx_rates(&quarters).await?;
    Ok(trend_report(&totals, from, to, market, &rates))
}

/// The trend as a chart: units per quarter (bars) and YoY growth (line).
pub fn trend_chart(report: &TrendReport) -> String {
    let points: Vec<QuarterPoint> = report
        .quarters
        .iter()
        .map(|q| QuarterPoint {
            period: q.period.clone(),
            units: q.units,
            growth: q.units_yoy,
        })
        .collect();
    let title = format!(
        "Units per quarter, {} to {}, {}",
        report.from,
        report.to,
        report.market.as_deref().unwrap_or("all markets")
    );
    charts::units_and_growth(&title, "YoY growth", &points)
}

/// A quarter as a chart: share by vendor where the tracker covers the market, else
/// units by model.
pub fn quarter_chart(report: &QuarterReport, brand: Option<&str>) -> String {
    let place = report.market.as_deref().unwrap_or("all markets");
    if !report.vendors.is_empty() {
        let bars: Vec<VendorBar> = report
            .vendors
            .iter()
            .map(|v| VendorBar {
                vendor: v.vendor.clone(),
                units: v.units,
                share: v.share,
                ours: brand.is_some_and(|b| b.eq_ignore_ascii_case(&v.vendor)),
            })
            .collect();
        return charts::vendor_share(
            &format!("Share by vendor, {place}, {}", report.period),
            &bars,
        );
    }
    let bars: Vec<VendorBar> = report
        .by_model
        .iter()
        .map(|m| VendorBar {
            vendor: m.name.clone(),
            units: m.units,
            share: if report.units > 0 {
                m.units as f64 / report.units as f64
            } else {
                0.0
            },
            ours: false,
        })
        .collect();
    charts::vendor_share(
        &format!("Units by model, {place}, {}", report.period),
        &bars,
    )
}

/// How figures read to people (tables, pages): JSON and CSV carry exact values.
/// `23.16 M`, `12.3 K`, `950`.
pub fn human_units(units: i64) -> String {
    let a = units.unsigned_abs() as f64;
    let sign = if units < 0 { "-" } else { "" };
    if a >= 1e6 {
        format!("{sign}{:.2} M", a / 1e6)
    } else if a >= 1e4 {
        format!("{sign}{:.1} K", a / 1e3)
    } else {
        units.to_string()
    }
}

/// `+70.0%`, or `n/a` without a base.
pub fn human_growth(growth: Option<f64>) -> String {
    growth.map_or_else(|| "n/a".to_owned(), |g| format!("{:+.1}%", g * 100.0))
}

/// `$4.16 bn`, `$12.35 M`, `$950.00`.
pub fn human_dollars(cents: i64) -> String {
    let dollars = cents as f64 / 100.0;
    let a = dollars.abs();
    if a >= 1e9 {
        format!("${:.2} bn", dollars / 1e9)
    } else if a >= 1e6 {
        format!("${:.2} M", dollars / 1e6)
    } else {
        format!("${dollars:.2}")
    }
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
