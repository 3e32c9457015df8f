//! Exchange rates for totals across markets: a currency's units per US dollar in a
//! quarter, imported from CSV (`period,currency,per_usd`), kept as an exact decimal,
//! and the conversion of a quarter's minor units into US cents, rounded half away
//! from zero, in integers only.

use crate::money::{Amount, Currency};
use crate::shipment::{ImportCatalog, Quarter, RowError};
use std::collections::BTreeMap;

/// The header of an exchange-rate CSV file.
pub const FX_HEADER: [&str; 3] = ["period", "currency", "per_usd"];
/// Most decimals a rate may carry.
pub const RATE_DECIMALS_MAX: u32 = 9;

/// A currency's units per US dollar, exactly: `mantissa / 10^scale`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PerUsd {
    pub mantissa: i64,
    pub scale: u32,
}

impl PerUsd {
    /// Parses a positive decimal such as `64.46` or `6.8`.
    pub fn parse(text: &str) -> Option<PerUsd> {
        let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
        let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if whole.is_empty()
            || whole.len() > 9
            || !digits(whole)
            || !digits(fraction)
            || text.ends_with('.')
            || fraction.len() > RATE_DECIMALS_MAX as usize
        {
            return None;
        }
        let mantissa: i64 = format!("{whole}{fraction}").parse().ok()?;
        (mantissa > 0).then_some(PerUsd {
            mantissa,
            scale: fraction.len() as u32,
        })
    }

    /// `minor` units of `currency` in US cents, rounded half away from zero.
    pub fn to_usd_cents(self, minor: Amount, currency: Currency) -> i64 {
        // cents = minor / 10^exp / (mantissa / 10^scale) * 100
        let numerator = i128::from(minor) * 100 * 10_i128.pow(self.scale);
        let denominator = 10_i128.pow(u32::from(currency.exponent())) * i128::from(self.mantissa);
        let (quotient, remainder) = (numerator / denominator, numerator % denominator);
        let rounded = if remainder.abs() * 2 >= denominator {
            quotient + numerator.signum()
        } else {
            quotient
        };
        i64::try_from(rounded).unwrap_or(if rounded < 0 { i64::MIN } else { i64::MAX })
    }
}

impl std::fmt::Display for PerUsd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let unit = 10_i64.pow(self.scale);
        if self.scale == 0 {
            write!(f, "{}", self.mantissa)
        } else {
            write!(
                f,
                "{}.{:0width$}",
                self.mantissa / unit,
                self.mantissa % unit,
                width = self.scale as usize
            )
        }
    }
}

/// One imported rate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FxRate {
    pub period: Quarter,
    pub currency: Currency,
    pub per_usd: PerUsd,
}

/// Most rows one exchange-rate file may have: one rate per quarter and currency, and
/// the file is checked for repeated keys with one entry per row ([`FxKeys`], about 40
/// bytes each), so the count is bounded; a century of quarters for every currency in
/// use stays far below it.
pub const FX_ROWS_MAX: u64 = 100_000;

impl PerUsd {
    /// Whether two rates are the same number (`64.46` and `64.460` are).
    pub fn same_rate(self, other: PerUsd) -> bool {
        let scaled = |rate: PerUsd, by: u32| i128::from(rate.mantissa) * 10_i128.pow(by);
        scaled(self, other.scale) == scaled(other, self.scale)
    }
}

/// The (quarter, currency) pairs of one exchange-rate file seen so far, with the line
/// and rate of each: a file gives one rate per quarter and currency.
///
/// Two different rates for one pair are refused (which one is right?), and so is the
/// same rate repeated: a repeated row is a duplicate, refused like a repeated tracker
/// row rather than silently collapsed, so what a file imports is row for row what it
/// says.
#[derive(Debug, Default)]
pub struct FxKeys {
    first: rustc_hash::FxHashMap<(Quarter, Currency), (u64, PerUsd)>,
}

impl FxKeys {
    /// Records `rate` of `line`; a pair an earlier line had is refused, and the error
    /// names both lines.
    pub fn check(&mut self, line: u64, rate: &FxRate) -> Result<(), RowError> {
        let key = (rate.period, rate.currency);
        match self.first.get(&key) {
            None => {
                self.first.insert(key, (line, rate.per_usd));
                Ok(())
            }
            Some(&(first, per_usd)) if per_usd.same_rate(rate.per_usd) => Err(RowError::new(
                line,
                "*",
                format!(
                    "line {line} repeats line {first} ({} {} at {per_usd}): give each quarter and currency once",
                    rate.period, rate.currency
                ),
            )),
            Some(&(first, per_usd)) => Err(RowError::new(
                line,
                "per_usd",
                format!(
                    "{} {} has two rates: {per_usd} on line {first} and {} on line {line}; give one rate per quarter and currency",
                    rate.period, rate.currency, rate.per_usd
                ),
            )),
        }
    }

    /// Rows recorded.
    pub fn len(&self) -> usize {
        self.first.len()
    }

    pub fn is_empty(&self) -> bool {
        self.first.is_empty()
    }
}

/// Rates by quarter and currency.
pub type FxTable = BTreeMap<(Quarter, Currency), PerUsd>;

/// Parses and checks one exchange-rate row. The currency must be one of the
/// catalog's markets' (a rate nothing uses is more likely a typo than a need).
pub fn parse_fx_row(
    line: u64,
    fields: &[&str],
    catalog: &ImportCatalog,
) -> Result<FxRate, Vec<RowError>> {
    let mut errors = Vec::new();
    let mut fail = |column: &str, message| errors.push(RowError::new(line, column, message));
    if fields.len() != FX_HEADER.len() {
        fail(
            "*",
            format!("{} fields; a row has period,currency,per_usd", fields.len()),
        );
        return Err(errors);
    }
    let field = |i: usize| fields[i].trim();
    let period = field(0)
        .parse::<Quarter>()
        .map_err(|e| fail("period", e.to_string()))
        .ok();
    let currency = Currency::parse(field(1))
        .ok()
        .filter(|c| catalog.markets.values().any(|m| m == c));
    if currency.is_none() {
        fail(
            "currency",
            format!("{:?} is not the currency of a market", field(1)),
        );
    }
    let per_usd = PerUsd::parse(field(2));
    if per_usd.is_none() {
        fail(
            "per_usd",
            format!(
                "{:?} is not a positive decimal such as 64.46 (at most {RATE_DECIMALS_MAX} decimals)",
                field(2)
            ),
        );
    }
    match (period, currency, per_usd) {
        (Some(period), Some(currency), Some(per_usd)) if errors.is_empty() => Ok(FxRate {
            period,
            currency,
            per_usd,
        }),
        _ => Err(errors),
    }
}

/// A quarter and currency without a rate.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, utoipa::ToSchema)]
pub struct MissingFx {
    pub period: String,
    pub currency: String,
}

/// Revenue (currency → minor units) of `quarter` in US cents: each currency's total
/// converted and rounded on its own, then added; `Err` with each missing rate (a
/// currency whose total is zero needs none).
pub fn revenue_in_usd(
    quarter: Quarter,
    revenue: &BTreeMap<String, Amount>,
    rates: &FxTable,
) -> Result<i64, Vec<MissingFx>> {
    let mut cents = 0i64;
    let mut missing = Vec::new();
    for (code, &minor) in revenue.iter().filter(|(_, &minor)| minor != 0) {
        let rate = Currency::parse(code)
            .ok()
            .and_then(|c| rates.get(&(quarter, c)).map(|r| (c, r)));
        match rate {
            // The US dollar needs no rate.
            _ if code == "USD" => cents = cents.saturating_add(minor),
            Some((currency, rate)) => {
                cents = cents.saturating_add(rate.to_usd_cents(minor, currency))
            }
            None => missing.push(MissingFx {
                period: quarter.to_string(),
                currency: code.clone(),
            }),
        }
    }
    if missing.is_empty() {
        Ok(cents)
    } else {
        Err(missing)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inr() -> Currency {
        Currency::parse("INR").unwrap()
    }

    #[test]
    fn rates_parse_exactly() {
        assert_eq!(
            PerUsd::parse("64.46"),
            Some(PerUsd {
                mantissa: 6446,
                scale: 2
            })
        );
        assert_eq!(PerUsd::parse("7").unwrap().to_string(), "7");
        assert_eq!(PerUsd::parse("6.805").unwrap().to_string(), "6.805");
        assert_eq!(PerUsd::parse("0.05").unwrap().to_string(), "0.05");
        for bad in [
            "",
            "0",
            "0.00",
            "-1",
            "1.",
            ".5",
            "1e3",
            "1.0000000001",
            "abc",
        ] {
            assert_eq!(PerUsd::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn conversion_rounds_half_away_from_zero() {
        let two = PerUsd::parse("2").unwrap();
        // 1 paisa at 2 per dollar is half a cent: away from zero, either sign.
        assert_eq!(two.to_usd_cents(1, inr()), 1);
        assert_eq!(two.to_usd_cents(-1, inr()), -1);
        assert_eq!(two.to_usd_cents(2, inr()), 1);
        // 3 paise at 4 per dollar is 0.75 cents; 1 paisa is 0.25.
        let four = PerUsd::parse("4").unwrap();
        assert_eq!(four.to_usd_cents(3, inr()), 1);
        assert_eq!(four.to_usd_cents(1, inr()), 0);
        // 64.46 rupees per dollar: 6,446,000.00 rupees is exactly 100,000 dollars.
        let rate = PerUsd::parse("64.46").unwrap();
        assert_eq!(rate.to_usd_cents(644_600_000, inr()), 10_000_000);
        // A zero-exponent currency: 113 yen at 113 per dollar is a dollar.
        let jpy = Currency::parse("JPY").unwrap();
        assert_eq!(PerUsd::parse("113").unwrap().to_usd_cents(113, jpy), 100);
    }

    #[test]
    fn each_missing_rate_is_named() {
        let q: Quarter = "2017Q2".parse().unwrap();
        let mut rates = FxTable::new();
        rates.insert((q, inr()), PerUsd::parse("64.46").unwrap());
        let revenue = BTreeMap::from([
            ("INR".to_owned(), 644_600_000),
            ("CNY".to_owned(), 100),
            ("USD".to_owned(), 5),
        ]);
        assert_eq!(
            revenue_in_usd(q, &revenue, &rates),
            Err(vec![MissingFx {
                period: "2017Q2".into(),
                currency: "CNY".into()
            }])
        );
        let only_inr = BTreeMap::from([
            ("INR".to_owned(), 644_600_000),
            ("USD".to_owned(), 5),
            ("CNY".to_owned(), 0),
        ]);
        assert_eq!(revenue_in_usd(q, &only_inr, &rates), Ok(10_000_005));
    }

    #[test]
    fn one_rate_per_quarter_and_currency_naming_both_lines() {
        let rate = |period: &str, currency: &str, per_usd: &str| FxRate {
            period: period.parse().unwrap(),
            currency: Currency::parse(currency).unwrap(),
            per_usd: PerUsd::parse(per_usd).unwrap(),
        };
        let mut keys = FxKeys::default();
        assert!(keys.check(2, &rate("2017Q2", "INR", "64.46")).is_ok());
        assert!(keys.check(3, &rate("2017Q3", "INR", "64.46")).is_ok());
        assert!(keys.check(4, &rate("2017Q2", "CNY", "6.8")).is_ok());
        let two = keys.check(5, &rate("2017Q2", "INR", "64.5")).unwrap_err();
        assert_eq!((two.line, two.column.as_str()), (5, "per_usd"));
        assert!(
            two.message
                .contains("2017Q2 INR has two rates: 64.46 on line 2 and 64.5 on line 5"),
            "{}",
            two.message
        );
        // The same rate again, however it is written, is a duplicate row.
        for (line, again) in [(6, "64.46"), (7, "64.460")] {
            let duplicate = keys.check(line, &rate("2017Q2", "INR", again)).unwrap_err();
            assert_eq!(duplicate.column, "*");
            assert!(
                duplicate
                    .message
                    .contains(&format!("line {line} repeats line 2")),
                "{}",
                duplicate.message
            );
        }
        assert_eq!(keys.len(), 3);
        assert!(PerUsd::parse("6.8")
            .unwrap()
            .same_rate(PerUsd::parse("6.800000000").unwrap()));
        assert!(!PerUsd::parse("6.8")
            .unwrap()
            .same_rate(PerUsd::parse("68").unwrap()));
    }

    #[test]
    fn rows_name_what_is_wrong() {
        let mut catalog = ImportCatalog::default();
        catalog
            .markets
            .insert(crate::MarketCode::parse("IN").unwrap(), inr());
        let row = parse_fx_row(2, &["2017Q2", "INR", "64.46"], &catalog).unwrap();
        assert_eq!(row.per_usd.to_string(), "64.46");
        let errors = parse_fx_row(3, &["2017Q5", "EUR", "-1"], &catalog).unwrap_err();
        let columns: Vec<&str> = errors.iter().map(|e| e.column.as_str()).collect();
        assert_eq!(columns, ["period", "currency", "per_usd"]);
        assert!(errors.iter().all(|e| e.line == 3));
        assert_eq!(
            parse_fx_row(4, &["2017Q2"], &catalog).unwrap_err()[0].column,
            "*"
        );
    }
}
