//! Reports from the shipment ledger's quarter totals: a quarter's units and revenue
//! with their growth, by channel and by model. Pure: the store hands over the totals
//! and this module adds them up.
//!
//! Growth is a ratio minus one (`0.70` for +70%) and is `None` where the base period
//! has no units (or no revenue). Across markets, revenue is added up in US cents
//! through each quarter's exchange rates ([`crate::fx`]).

use crate::fx::{revenue_in_usd, FxTable, MissingFx};
use crate::ids::{MarketCode, ProductId};
use crate::money::{Amount, Currency};
use crate::pos::Channel;
use crate::shipment::Quarter;
use crate::tracker::{market_view, ModelRank, TrackerRow, VendorShare};
use serde::Serialize;
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// One line of the quarter totals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TotalRow {
    pub quarter: Quarter,
    pub market: MarketCode,
    pub channel: Channel,
    pub product: ProductId,
    pub currency: Currency,
    pub units: i64,
    pub revenue: Amount,
}

/// Units and revenue of one slice (a channel, a model).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Slice {
    pub name: String,
    pub units: i64,
    /// Currency code → minor units.
    pub revenue: BTreeMap<String, Amount>,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct QuarterReport {
    pub period: String,
    /// `null` for all markets.
    pub market: Option<String>,
    pub units: i64,
    /// Currency code → minor units.
    pub revenue: BTreeMap<String, Amount>,
    /// Revenue in US cents through the quarter's exchange rates, each currency's
    /// total rounded half away from zero; `null` where a rate is missing.
    pub revenue_usd: Option<i64>,
    /// Each quarter and currency this report needed a rate for and has none.
    pub missing_fx: Vec<MissingFx>,
    /// Units against the quarter before, as a ratio minus one.
    pub units_qoq: Option<f64>,
    /// Units against the same quarter a year before.
    pub units_yoy: Option<f64>,
    /// Revenue against the same quarter a year before: in the market's currency for
    /// one market, in US dollars for all (`null` where a rate is missing).
    pub revenue_yoy: Option<f64>,
    /// Largest first.
    pub by_channel: Vec<Slice>,
    /// Largest first.
    pub by_model: Vec<Slice>,
    /// One market: our units over the market's (tracker data, our row from the
    /// ledger); `null` without tracker data for that market and quarter.
    pub share: Option<f64>,
    /// One market: our rank among named vendors (`Others` excluded), ties by name.
    pub rank: Option<u32>,
    /// One market: every vendor's units and share, ours included.
    pub vendors: Vec<VendorShare>,
    /// One market, where the tracker names models: the best-selling models of all
    /// vendors.
    pub top_models: Vec<ModelRank>,
}

impl QuarterReport {
    /// Adds what the tracker says of the report's market: `rows` of that market and
    /// quarter, `brand` our name there, `names` our products' model names.
    pub fn with_tracker(
        mut self,
        rows: &[TrackerRow],
        brand: &str,
        names: &BTreeMap<String, String>,
    ) -> Self {
        let our_models: Vec<(String, i64)> = self
            .by_model
            .iter()
            .map(|m| {
                (
                    names.get(&m.name).cloned().unwrap_or(m.name.clone()),
                    m.units,
                )
            })
            .collect();
        if let Some(view) = market_view(rows, brand, self.units, &our_models) {
            self.share = Some(view.share);
            self.rank = view.rank;
            self.vendors = view.vendors;
            self.top_models = view.top_models;
        }
        self
    }
}

/// `now / base - 1`, or `None` without a positive base.
pub fn growth(now: i64, base: i64) -> Option<f64> {
    (base > 0).then(|| now as f64 / base as f64 - 1.0)
}

fn units_in(rows: &[TotalRow], quarter: Quarter) -> i64 {
    rows.iter()
        .filter(|r| r.quarter == quarter)
        .map(|r| r.units)
        .sum()
}

fn slices(rows: &[&TotalRow], name: impl Fn(&TotalRow) -> String) -> Vec<Slice> {
    let mut by: BTreeMap<String, Slice> = BTreeMap::new();
    for row in rows {
        let key = name(row);
        let slice = by.entry(key.clone()).or_insert_with(|| Slice {
            name: key,
            units: 0,
            revenue: BTreeMap::new(),
        });
        slice.units += row.units;
        *slice
            .revenue
            .entry(row.currency.code().to_owned())
            .or_default() += row.revenue;
    }
    let mut slices: Vec<Slice> = by.into_values().collect();
    slices.sort_by(|a, b| b.units.cmp(&a.units).then_with(|| a.name.cmp(&b.name)));
    slices
}

/// Revenue per currency of the rows in `quarter`.
fn revenue_in(rows: &[TotalRow], quarter: Quarter) -> BTreeMap<String, Amount> {
    let mut revenue: BTreeMap<String, Amount> = BTreeMap::new();
    for row in rows.iter().filter(|r| r.quarter == quarter) {
        *revenue.entry(row.currency.code().to_owned()).or_default() += row.revenue;
    }
    revenue
}

/// A quarter's revenue in US cents, or the rates it misses (added to `missing`).
fn usd_in(
    quarter: Quarter,
    revenue: &BTreeMap<String, Amount>,
    rates: &FxTable,
    missing: &mut Vec<MissingFx>,
) -> Option<i64> {
    revenue_in_usd(quarter, revenue, rates)
        .map_err(|m| missing.extend(m))
        .ok()
}

/// The rows of one market, or all.
fn of_market(rows: &[TotalRow], market: Option<&MarketCode>) -> Vec<TotalRow> {
    rows.iter()
        .filter(|r| market.is_none_or(|m| &r.market == m))
        .cloned()
        .collect()
}

/// The report of `quarter` (in `market`, or all markets) from the totals of that
/// quarter, the one before and the same one a year before, with `rates` for US
/// dollars.
pub fn quarter_report(
    rows: &[TotalRow],
    quarter: Quarter,
    market: Option<&MarketCode>,
    rates: &FxTable,
) -> QuarterReport {
    let rows = of_market(rows, market);
    let this: Vec<&TotalRow> = rows.iter().filter(|r| r.quarter == quarter).collect();
    let by_channel = slices(&this, |r| r.channel.as_str().to_owned());
    let by_model = slices(&this, |r| r.product.to_string());
    let revenue = revenue_in(&rows, quarter);
    let year_before = revenue_in(&rows, quarter.year_before());
    let mut missing_fx = Vec::new();
    let revenue_usd = usd_in(quarter, &revenue, rates, &mut missing_fx);
    let revenue_yoy = match market {
        // One market, one currency: its own.
        Some(_) => growth(revenue.values().sum(), year_before.values().sum()),
        None => {
            let base = usd_in(quarter.year_before(), &year_before, rates, &mut missing_fx);
            revenue_usd
                .zip(base)
                .and_then(|(now, base)| growth(now, base))
        }
    };
    let units = units_in(&rows, quarter);
    QuarterReport {
        period: quarter.to_string(),
        market: market.map(|m| m.to_string()),
        units,
        revenue,
        revenue_usd,
        missing_fx,
        units_qoq: growth(units, units_in(&rows, quarter.previous())),
        units_yoy: growth(units, units_in(&rows, quarter.year_before())),
        revenue_yoy,
        by_channel,
        by_model,
        share: None,
        rank: None,
        vendors: Vec::new(),
        top_models: Vec::new(),
    }
}

/// One quarter of a trend.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct TrendQuarter {
    pub period: String,
    pub units: i64,
    /// Currency code → minor units.
    pub revenue: BTreeMap<String, Amount>,
    /// US cents; `null` where a rate is missing.
    pub revenue_usd: Option<i64>,
    pub units_qoq: Option<f64>,
    pub units_yoy: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct TrendReport {
    pub from: String,
    pub to: String,
    /// `null` for all markets.
    pub market: Option<String>,
    pub quarters: Vec<TrendQuarter>,
    /// Each quarter and currency without a rate.
    pub missing_fx: Vec<MissingFx>,
}

/// Most quarters a trend spans.
pub const TREND_QUARTERS_MAX: usize = 400;

/// The quarters from `from` to `to`, both included (empty when `to` is before `from`).
pub fn quarters_between(from: Quarter, to: Quarter) -> Vec<Quarter> {
    let mut quarters = Vec::new();
    let mut q = to;
    while q >= from && quarters.len() < TREND_QUARTERS_MAX {
        quarters.push(q);
        q = q.previous();
    }
    quarters.reverse();
    quarters
}

/// Units and revenue per quarter from `from` to `to` with their growth; `rows` hold
/// those quarters and the four before `from` (the bases of the first growths).
pub fn trend_report(
    rows: &[TotalRow],
    from: Quarter,
    to: Quarter,
    market: Option<&MarketCode>,
    rates: &FxTable,
) -> TrendReport {
    let rows = of_market(rows, market);
    let mut missing_fx = Vec::new();
    let quarters = quarters_between(from, to)
        .into_iter()
        .map(|q| {
            let units = units_in(&rows, q);
            let revenue = revenue_in(&rows, q);
            TrendQuarter {
                period: q.to_string(),
                units,
                revenue_usd: usd_in(q, &revenue, rates, &mut missing_fx),
                revenue,
                units_qoq: growth(units, units_in(&rows, q.previous())),
                units_yoy: growth(units, units_in(&rows, q.year_before())),
            }
        })
        .collect();
    TrendReport {
        from: from.to_string(),
        to: to.to_string(),
        market: market.map(|m| m.to_string()),
        quarters,
        missing_fx,
    }
}

/// A year's target and how it went.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct TargetHistory {
    pub year: i32,
    pub target: i64,
    pub units: i64,
    /// Whether the year met its target; `null` until the year is complete.
    pub met: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct YearReport {
    pub year: i32,
    pub target: Option<i64>,
    /// Units in the year's quarters complete by the clock.
    pub units: i64,
    /// The quarters counted in `units`.
    pub complete_quarters: Vec<String>,
    /// `units / target`.
    pub progress: Option<f64>,
    /// Complete quarters' units plus, for each remaining quarter, last year's same
    /// quarter scaled by this year's growth so far; `null` before a quarter is complete.
    pub forecast: Option<i64>,
    /// `forecast >= target`.
    pub on_track: Option<bool>,
    /// How the forecast was made.
    pub method: String,
    pub history: Vec<TargetHistory>,
}

/// Units per quarter, from totals.
pub fn units_by_quarter(rows: &[TotalRow]) -> BTreeMap<Quarter, i64> {
    let mut units = BTreeMap::new();
    for row in rows {
        *units.entry(row.quarter).or_default() += row.units;
    }
    units
}

/// The year report of `year` at `now`: `units` per quarter (this year's and last
/// year's at least), `targets` by year.
pub fn year_report(
    year: i32,
    now: chrono::DateTime<chrono::Utc>,
    units: &BTreeMap<Quarter, i64>,
    targets: &BTreeMap<i32, i64>,
) -> YearReport {
    let of = |q: Quarter| units.get(&q).copied().unwrap_or(0);
    let (complete, remaining): (Vec<Quarter>, Vec<Quarter>) = Quarter::of_year(year)
        .into_iter()
        .partition(|q| q.complete_at(now));
    let so_far: i64 = complete.iter().map(|&q| of(q)).sum();
    let last_year_same: i64 = complete.iter().map(|&q| of(q.year_before())).sum();
    let forecast = (!complete.is_empty()).then(|| {
        let rest: f64 = remaining
            .iter()
            .map(|&q| {
                let base = of(q.year_before()) as f64;
                if last_year_same <= 0 {
                    base
                } else {
                    base * so_far as f64 / last_year_same as f64
                }
            })
            .sum();
        so_far + rest.round() as i64
    });
    let target = targets.get(&year).copied();
    let history = targets
        .iter()
        .map(|(&y, &target)| {
            let done = Quarter::of_year(y).iter().all(|q| q.complete_at(now));
            let total: i64 = Quarter::of_year(y).iter().map(|&q| of(q)).sum();
            TargetHistory {
                year: y,
                target,
                units: total,
                met: done.then_some(total >= target),
            }
        })
        .collect();
    YearReport {
        year,
        target,
        units: so_far,
        complete_quarters: complete.iter().map(Quarter::to_string).collect(),
        progress: target.filter(|t| *t > 0).map(|t| so_far as f64 / t as f64),
        forecast,
        on_track: forecast.zip(target).map(|(f, t)| f >= t),
        method: "units of the complete quarters, plus each remaining quarter's units a year \
            before scaled by this year's growth so far (complete quarters against the same \
            quarters a year before), rounded to the nearest unit"
            .into(),
        history,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(q: &str, market: &str, channel: Channel, product: &str, units: i64) -> TotalRow {
        TotalRow {
            quarter: q.parse().unwrap(),
            market: MarketCode::parse(market).unwrap(),
            channel,
            product: ProductId::parse(product).unwrap(),
            currency: Currency::parse(if market == "IN" { "INR" } else { "CNY" }).unwrap(),
            units,
            revenue: units * 100,
        }
    }

    #[test]
    fn the_forecast_scales_last_year_by_this_years_growth() {
        let mut units = BTreeMap::new();
        for (q, n) in [
            ("2016Q1", 100),
            ("2016Q2", 100),
            ("2016Q3", 200),
            ("2016Q4", 200),
            ("2017Q1", 150),
            ("2017Q2", 150),
        ] {
            units.insert(q.parse::<Quarter>().unwrap(), n);
        }
        let targets = BTreeMap::from([(2016, 500), (2017, 1_000)]);
        let july = chrono::DateTime::parse_from_rfc3339("2017-07-04T01:00:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        let report = year_report(2017, july, &units, &targets);
        assert_eq!(report.units, 300);
        assert_eq!(report.complete_quarters, ["2017Q1", "2017Q2"]);
        assert_eq!(report.forecast, Some(300 + 600), "growth 1.5 on 200 + 200");
        assert_eq!(report.on_track, Some(false));
        assert!((report.progress.unwrap() - 0.3).abs() < 1e-12);
        assert_eq!(report.history[0].met, Some(true), "2016: 600 of 500");
        assert_eq!(report.history[1].met, None, "2017 is not over");
        let january = chrono::DateTime::parse_from_rfc3339("2017-01-10T00:00:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        let early = year_report(2017, january, &units, &targets);
        assert_eq!((early.forecast, early.on_track), (None, None));
    }

    #[test]
    fn growth_crosses_year_boundaries_and_needs_a_base() {
        let rows = [
            row("2016Q1", "IN", Channel::Online, "a", 50),
            row("2016Q4", "IN", Channel::Online, "a", 100),
            row("2017Q1", "IN", Channel::Online, "a", 120),
            row("2017Q1", "IN", Channel::Store, "b", 50),
            row("2017Q1", "CN", Channel::Store, "b", 30),
        ];
        let q1: Quarter = "2017Q1".parse().unwrap();
        let india = MarketCode::parse("IN").unwrap();
        let rates = FxTable::new();
        let report = quarter_report(&rows, q1, Some(&india), &rates);
        assert_eq!(report.units, 170);
        assert!(
            (report.units_qoq.unwrap() - 0.70).abs() < 1e-12,
            "2016Q4 is the base"
        );
        assert!((report.units_yoy.unwrap() - 2.40).abs() < 1e-12);
        assert!((report.revenue_yoy.unwrap() - 2.40).abs() < 1e-12);
        assert_eq!(report.by_channel[0].name, "online");
        assert_eq!(report.by_model[0].name, "a");
        let all = quarter_report(&rows, q1, None, &rates);
        assert_eq!(all.units, 200);
        assert_eq!(all.revenue["CNY"], 3_000);
        assert_eq!(
            all.revenue_yoy, None,
            "across currencies it needs exchange rates"
        );
        assert_eq!(all.revenue_usd, None);
        assert_eq!(
            all.missing_fx
                .iter()
                .map(|m| format!("{} {}", m.period, m.currency))
                .collect::<Vec<_>>(),
            ["2017Q1 CNY", "2017Q1 INR", "2016Q1 INR"]
        );
        let q2: Quarter = "2016Q1".parse().unwrap();
        let first = quarter_report(&rows, q2, Some(&india), &rates);
        assert_eq!(first.units_qoq, None, "no base quarter");
        assert_eq!(growth(10, -5), None, "a quarter of net returns is no base");
        assert_eq!(growth(10, 0), None);
        assert_eq!(first.units_yoy, None);
    }

    #[test]
    fn all_markets_revenue_growth_is_in_us_dollars() {
        use crate::fx::PerUsd;
        let rows = [
            row("2016Q1", "IN", Channel::Online, "a", 64),
            row("2017Q1", "IN", Channel::Online, "a", 64),
            row("2017Q1", "CN", Channel::Store, "b", 7),
        ];
        let (q1, base) = ("2017Q1".parse().unwrap(), "2016Q1".parse().unwrap());
        let (inr, cny) = (
            Currency::parse("INR").unwrap(),
            Currency::parse("CNY").unwrap(),
        );
        let mut rates = FxTable::new();
        rates.insert((q1, inr), PerUsd::parse("64").unwrap());
        rates.insert((q1, cny), PerUsd::parse("7").unwrap());
        rates.insert((base, inr), PerUsd::parse("32").unwrap());
        let all = quarter_report(&rows, q1, None, &rates);
        assert_eq!(
            all.revenue_usd,
            Some(100 + 100),
            "64 rupees and 7 yuan, a dollar each"
        );
        assert!(all.missing_fx.is_empty());
        // A year before: 64 rupees at 32 a dollar, two dollars.
        assert!((all.revenue_yoy.unwrap() - 0.0).abs() < 1e-12);
        let india = MarketCode::parse("IN").unwrap();
        let one = quarter_report(&rows, q1, Some(&india), &rates);
        assert_eq!(one.revenue_yoy, Some(0.0), "in rupees: the same");
        assert_eq!(one.revenue_usd, Some(100));
    }

    #[test]
    fn a_trend_spans_years_with_growth_from_before_its_start() {
        let rows = [
            row("2015Q4", "IN", Channel::Online, "a", 10),
            row("2016Q1", "IN", Channel::Online, "a", 20),
            row("2016Q4", "IN", Channel::Online, "a", 30),
            row("2017Q1", "CN", Channel::Online, "a", 40),
        ];
        let trend = trend_report(
            &rows,
            "2016Q1".parse().unwrap(),
            "2017Q1".parse().unwrap(),
            None,
            &FxTable::new(),
        );
        let periods: Vec<&str> = trend.quarters.iter().map(|q| q.period.as_str()).collect();
        assert_eq!(periods, ["2016Q1", "2016Q2", "2016Q3", "2016Q4", "2017Q1"]);
        assert_eq!(trend.quarters[0].units_qoq, Some(1.0), "2015Q4 is its base");
        assert_eq!(trend.quarters[1].units_qoq, Some(-1.0));
        assert_eq!(
            trend.quarters[2].units_qoq, None,
            "an empty quarter is no base"
        );
        assert_eq!(trend.quarters[4].units_yoy, Some(1.0));
        assert_eq!(trend.quarters[1].revenue_usd, Some(0), "nothing to convert");
        assert_eq!(trend.quarters[0].revenue_usd, None);
        assert_eq!(trend.missing_fx.len(), 3, "2016Q1, 2016Q4 INR, 2017Q1 CNY");
        assert!(quarters_between("2017Q2".parse().unwrap(), "2017Q1".parse().unwrap()).is_empty());
    }
}
