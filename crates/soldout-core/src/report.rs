//! Reports from the shipment ledger's quarter totals: a quarter's units and revenue
//! with their growth, by channel and by model. Pure: the store hands over the totals
//! and this module adds them up.
//!
//! Growth is a ratio minus one (`0.70` for +70%) and is `None` where the base period
//! has no units (or no revenue).

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
    /// Units against the quarter before, as a ratio minus one.
    pub units_qoq: Option<f64>,
    /// Units against the same quarter a year before.
    pub units_yoy: Option<f64>,
    /// Revenue against the same quarter a year before, in the market's currency
    /// (one market only until exchange rates are imported).
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

/// The report of `quarter` (in `market`, or all markets) from the totals of that
/// quarter, the one before and the same one a year before.
pub fn quarter_report(
    rows: &[TotalRow],
    quarter: Quarter,
    market: Option<&MarketCode>,
) -> QuarterReport {
    let rows: Vec<TotalRow> = rows
        .iter()
        .filter(|r| market.is_none_or(|m| &r.market == m))
        .cloned()
        .collect();
    let this: Vec<&TotalRow> = rows.iter().filter(|r| r.quarter == quarter).collect();
    let by_channel = slices(&this, |r| r.channel.as_str().to_owned());
    let by_model = slices(&this, |r| r.product.to_string());
    let mut revenue: BTreeMap<String, Amount> = BTreeMap::new();
    for row in &this {
        *revenue.entry(row.currency.code().to_owned()).or_default() += row.revenue;
    }
    let units = units_in(&rows, quarter);
    let revenue_yoy = market.and_then(|_| {
        let sum = |q: Quarter| -> Amount {
            rows.iter()
                .filter(|r| r.quarter == q)
                .map(|r| r.revenue)
                .sum()
        };
        growth(sum(quarter), sum(quarter.year_before()))
    });
    QuarterReport {
        period: quarter.to_string(),
        market: market.map(|m| m.to_string()),
        units,
        revenue,
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
        let report = quarter_report(&rows, q1, Some(&india));
        assert_eq!(report.units, 170);
        assert!(
            (report.units_qoq.unwrap() - 0.70).abs() < 1e-12,
            "2016Q4 is the base"
        );
        assert!((report.units_yoy.unwrap() - 2.40).abs() < 1e-12);
        assert!((report.revenue_yoy.unwrap() - 2.40).abs() < 1e-12);
        assert_eq!(report.by_channel[0].name, "online");
        assert_eq!(report.by_model[0].name, "a");
        let all = quarter_report(&rows, q1, None);
        assert_eq!(all.units, 200);
        assert_eq!(all.revenue["CNY"], 3_000);
        assert_eq!(
            all.revenue_yoy, None,
            "across currencies it needs exchange rates"
        );
        let q2: Quarter = "2016Q1".parse().unwrap();
        let first = quarter_report(&rows, q2, Some(&india));
        assert_eq!(first.units_qoq, None, "no base quarter");
        assert_eq!(growth(10, -5), None, "a quarter of net returns is no base");
        assert_eq!(growth(10, 0), None);
        assert_eq!(first.units_yoy, None);
    }
}
