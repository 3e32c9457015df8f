//! Market-wide tracker data (units per vendor, and per model where the tracker
//! gives it, per market and quarter), for share and rank. Our own brand's rows are
//! not trusted: its units come from our own ledger ([`market_view`]).

use crate::ids::{bounded_text, MarketCode};
use crate::shipment::{ImportCatalog, Quarter, RowError};
use serde::Serialize;
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// The header of a tracker CSV file; a fifth column `model` is optional.
pub const TRACKER_HEADER: [&str; 4] = ["period", "market", "vendor", "units"];
/// The vendor that stands for the rest of the market.
pub const OTHERS: &str = "Others";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackerRow {
    pub period: Quarter,
    pub market: MarketCode,
    pub vendor: String,
    pub model: Option<String>,
    pub units: i64,
}

/// Parses and checks one tracker row (`period,market,vendor,units[,model]`).
pub fn parse_tracker_row(
    line: u64,
    fields: &[&str],
    catalog: &ImportCatalog,
) -> Result<TrackerRow, Vec<RowError>> {
    let mut errors = Vec::new();
    let mut fail = |column: &str, message| errors.push(RowError::new(line, column, message));
    if !(4..=5).contains(&fields.len()) {
        fail(
            "*",
            format!(
                "{} fields; a row has period,market,vendor,units and an optional model",
                fields.len()
            ),
        );
        return Err(errors);
    }
    let field = |i: usize| fields[i].trim();
    let period = field(0)
        .parse::<Quarter>()
        .map_err(|e| fail("period", e.to_string()))
        .ok();
    let market = MarketCode::parse(field(1))
        .ok()
        .filter(|m| catalog.markets.contains_key(m));
    if market.is_none() {
        fail("market", format!("{:?} is not a market", field(1)));
    }
    let vendor = bounded_text("vendor", field(2))
        .map_err(|e| fail("vendor", e.to_string()))
        .ok();
    let units = field(3).parse::<i64>().ok().filter(|u| *u >= 0);
    if units.is_none() {
        fail(
            "units",
            format!("{:?} is not a whole number of units, 0 or more", field(3)),
        );
    }
    let model = match fields.get(4).map(|m| m.trim()).filter(|m| !m.is_empty()) {
        Some(m) => bounded_text("model", m)
            .map_err(|e| fail("model", e.to_string()))
            .ok(),
        None => None,
    };
    match (period, market, vendor, units) {
        (Some(period), Some(market), Some(vendor), Some(units)) if errors.is_empty() => {
            Ok(TrackerRow {
                period,
                market,
                vendor,
                model,
                units,
            })
        }
        _ => Err(errors),
    }
}

/// Most rows one tracker file may have. A file is checked for repeated rows with one
/// entry per row kept for the whole file ([`TrackerKeys`]), so the count is bounded:
/// a tracker gives a few vendors and models per market and quarter, so even years of
/// many markets stay far below this. A larger file is refused (split it by period).
pub const TRACKER_ROWS_MAX: u64 = 200_000;

/// The rows of one tracker file seen so far, to refuse the same period, market,
/// vendor and model twice (two rows of one key would count its units twice).
///
/// It keeps a 128-bit hash of each key with the line it was first on, 24 bytes a row
/// whatever the names' lengths: at [`TRACKER_ROWS_MAX`] rows a few megabytes. Two
/// different keys sharing a hash at that count is a chance of about 10^-28.
#[derive(Debug, Default)]
pub struct TrackerKeys {
    first_line: rustc_hash::FxHashMap<u128, u64>,
}

impl TrackerKeys {
    /// Records `row` of `line`; a row whose key an earlier line had is refused, and
    /// the error names both lines.
    pub fn check(&mut self, line: u64, row: &TrackerRow) -> Result<(), RowError> {
        match self.first_line.entry(Self::key(row)) {
            std::collections::hash_map::Entry::Occupied(first) => Err(RowError::new(
                line,
                "*",
                format!(
                    "line {line} repeats line {} (period {}, market {}, vendor {:?}, {}): give each period, market, vendor and model once",
                    first.get(),
                    row.period,
                    row.market,
                    row.vendor,
                    match &row.model {
                        Some(model) => format!("model {model:?}"),
                        None => "no model".to_owned(),
                    }
                ),
            )),
            std::collections::hash_map::Entry::Vacant(entry) => {
                entry.insert(line);
                Ok(())
            }
        }
    }

    /// Rows recorded.
    pub fn len(&self) -> usize {
        self.first_line.len()
    }

    pub fn is_empty(&self) -> bool {
        self.first_line.is_empty()
    }

    /// The key's hash: each text length-prefixed, so no two keys run together.
    fn key(row: &TrackerRow) -> u128 {
        let mut hash = xxhash_rust::xxh3::Xxh3::new();
        let mut text = |text: &str| {
            hash.update(&(text.len() as u64).to_le_bytes());
            hash.update(text.as_bytes());
        };
        text(row.market.as_str());
        text(&row.vendor);
        // No model and an empty one are apart: a model is never empty.
        text(row.model.as_deref().unwrap_or_default());
        hash.update(&row.period.year.to_le_bytes());
        hash.update(&[row.period.q]);
        hash.digest128()
    }
}

/// A vendor's place in a market in a quarter.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct VendorShare {
    pub vendor: String,
    pub units: i64,
    pub share: f64,
    /// 1-based among named vendors (`Others` has none).
    pub rank: Option<u32>,
}

/// A model's place in a market in a quarter, across vendors.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ModelRank {
    pub model: String,
    pub vendor: String,
    pub units: i64,
    pub rank: u32,
}

/// What the tracker says of one market in one quarter, with our brand's units
/// replaced by the ledger's.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct MarketView {
    pub share: f64,
    pub rank: Option<u32>,
    /// Largest first.
    pub vendors: Vec<VendorShare>,
    /// The market's best-selling models, where the tracker names models.
    pub top_models: Vec<ModelRank>,
}

/// Ranks vendors by units (ties by name), `Others` unranked, with our brand's units
/// (and models) from the ledger. `None` without tracker rows for that market and
/// quarter.
pub fn market_view(
    rows: &[TrackerRow],
    brand: &str,
    our_units: i64,
    our_models: &[(String, i64)],
) -> Option<MarketView> {
    if rows.is_empty() {
        return None;
    }
    let is_ours = |vendor: &str| vendor.eq_ignore_ascii_case(brand);
    let mut by_vendor: BTreeMap<String, i64> = BTreeMap::new();
    for row in rows.iter().filter(|r| !is_ours(&r.vendor)) {
        *by_vendor.entry(row.vendor.clone()).or_default() += row.units;
    }
    by_vendor.insert(brand.to_owned(), our_units);
    let total: i64 = by_vendor.values().sum();
    let share_of = |units: i64| {
        if total > 0 {
            units as f64 / total as f64
        } else {
            0.0
        }
    };
    let mut vendors: Vec<VendorShare> = by_vendor
        .into_iter()
        .map(|(vendor, units)| VendorShare {
            share: share_of(units),
            vendor,
            units,
            rank: None,
        })
        .collect();
    vendors.sort_by(|a, b| {
        (a.vendor == OTHERS)
            .cmp(&(b.vendor == OTHERS))
            .then(b.units.cmp(&a.units))
            .then_with(|| a.vendor.cmp(&b.vendor))
    });
    let mut rank = 0;
    for v in vendors.iter_mut().filter(|v| v.vendor != OTHERS) {
        rank += 1;
        v.rank = Some(rank);
    }
    let ours = vendors.iter().find(|v| v.vendor == brand)?;
    let (share, our_rank) = (ours.share, ours.rank);
    let mut models: BTreeMap<(String, String), i64> = BTreeMap::new();
    for row in rows
        .iter()
        .filter(|r| !is_ours(&r.vendor) && r.vendor != OTHERS)
    {
        if let Some(model) = &row.model {
            *models
                .entry((model.clone(), row.vendor.clone()))
                .or_default() += row.units;
        }
    }
    let named_models = !models.is_empty();
    for (model, units) in our_models {
        models.insert((model.clone(), brand.to_owned()), *units);
    }
    let mut top_models: Vec<ModelRank> = if named_models {
        models
            .into_iter()
            .map(|((model, vendor), units)| ModelRank {
                model,
                vendor,
                units,
                rank: 0,
            })
            .collect()
    } else {
        Vec::new()
    };
    top_models.sort_by(|a, b| b.units.cmp(&a.units).then_with(|| a.model.cmp(&b.model)));
    for (i, m) in top_models.iter_mut().enumerate() {
        m.rank = i as u32 + 1;
    }
    Some(MarketView {
        share,
        rank: our_rank,
        vendors,
        top_models,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(vendor: &str, model: Option<&str>, units: i64) -> TrackerRow {
        TrackerRow {
            period: "2017Q2".parse().unwrap(),
            market: MarketCode::parse("IN").unwrap(),
            vendor: vendor.into(),
            model: model.map(Into::into),
            units,
        }
    }

    #[test]
    fn our_row_comes_from_the_ledger_and_ties_rank_by_name() {
        let rows = [
            row("Samsung", None, 300),
            row("Xiaomi", None, 1),
            row("Vivo", None, 200),
            row("Oppo", None, 200),
            row(OTHERS, None, 1_000),
        ];
        let view = market_view(&rows, "Xiaomi", 250, &[]).unwrap();
        let order: Vec<(&str, Option<u32>)> = view
            .vendors
            .iter()
            .map(|v| (v.vendor.as_str(), v.rank))
            .collect();
        assert_eq!(
            order,
            [
                ("Samsung", Some(1)),
                ("Xiaomi", Some(2)),
                ("Oppo", Some(3)),
                ("Vivo", Some(4)),
                (OTHERS, None)
            ]
        );
        assert_eq!(view.rank, Some(2));
        assert!((view.share - 250.0 / 1_950.0).abs() < 1e-12);
        assert!(view.top_models.is_empty());
        assert!(market_view(&[], "Xiaomi", 250, &[]).is_none());
    }

    #[test]
    fn a_repeated_row_names_both_lines_and_models_tell_rows_apart() {
        let mut keys = TrackerKeys::default();
        assert!(keys
            .check(2, &row("Samsung", Some("Galaxy J2"), 300))
            .is_ok());
        assert!(keys
            .check(3, &row("Samsung", Some("Galaxy J7"), 300))
            .is_ok());
        assert!(keys.check(4, &row("Samsung", None, 300)).is_ok());
        assert!(keys.check(5, &row("Vivo", None, 300)).is_ok());
        let mut other_quarter = row("Samsung", None, 300);
        other_quarter.period = "2017Q3".parse().unwrap();
        assert!(keys.check(6, &other_quarter).is_ok());
        // The same key with other units is still the same row twice.
        let error = keys
            .check(7, &row("Samsung", Some("Galaxy J2"), 1))
            .unwrap_err();
        assert_eq!((error.line, error.column.as_str()), (7, "*"));
        assert!(
            error.message.contains("line 7 repeats line 2"),
            "{}",
            error.message
        );
        let error = keys.check(8, &row("Samsung", None, 300)).unwrap_err();
        assert!(
            error.message.contains("repeats line 4"),
            "{}",
            error.message
        );
        assert_eq!(keys.len(), 5);
    }

    #[test]
    fn top_models_rank_every_vendor_with_ours_from_the_ledger() {
        let rows = [
            row("Samsung", Some("Galaxy J2"), 300),
            row("Xiaomi", Some("Redmi Note 4"), 5),
        ];
        let ours = [("Redmi Note 4".to_owned(), 400)];
        let view = market_view(&rows, "Xiaomi", 400, &ours).unwrap();
        assert_eq!(view.top_models[0].model, "Redmi Note 4");
        assert_eq!(view.top_models[0].units, 400);
        assert_eq!(view.top_models[1].rank, 2);
    }
}
