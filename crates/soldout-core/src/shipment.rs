//! The shipment ledger: every unit that leaves the company is a row (date, market,
//! channel, product, SKU, units, revenue in the market's currency), and a customer
//! return is a negative row. Reports add rows up by calendar quarter ([`Quarter`]).
//! Money from outside (CSV imports) is parsed exactly into minor units
//! ([`parse_amount`]): no floating point on the money path.

use crate::device::Device;
use crate::ids::{MarketCode, ProductId, SkuCode};
use crate::money::{Amount, Currency};
use crate::pos::Channel;
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use utoipa::ToSchema;

/// A calendar quarter, such as `2017Q2`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Quarter {
    pub year: i32,
    /// 1 to 4.
    pub q: u8,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a quarter: write YYYYQn with n from 1 to 4, such as 2017Q2")]
pub struct QuarterError(pub String);

impl Quarter {
    pub fn of(date: NaiveDate) -> Quarter {
        Quarter {
            year: date.year(),
            q: (date.month0() / 3 + 1) as u8,
        }
    }

    pub fn previous(self) -> Quarter {
        if self.q == 1 {
            Quarter {
                year: self.year - 1,
                q: 4,
            }
        } else {
            Quarter {
                year: self.year,
                q: self.q - 1,
            }
        }
    }

    /// The quarter's first day.
    pub fn start(self) -> NaiveDate {
        self.previous().end()
    }

    /// The first day after the quarter.
    pub fn end(self) -> NaiveDate {
        let (year, month) = if self.q == 4 {
            (self.year + 1, 1)
        } else {
            (self.year, u32::from(self.q) * 3 + 1)
        };
        NaiveDate::from_ymd_opt(year, month, 1).expect("a quarter ends on a real day")
    }

    /// Whether the quarter is over at `now`.
    pub fn complete_at(self, now: DateTime<Utc>) -> bool {
        self.end() <= now.date_naive()
    }

    /// The four quarters of a year.
    pub fn of_year(year: i32) -> [Quarter; 4] {
        [1, 2, 3, 4].map(|q| Quarter { year, q })
    }

    /// The same quarter a year earlier.
    pub fn year_before(self) -> Quarter {
        Quarter {
            year: self.year - 1,
            q: self.q,
        }
    }
}

impl fmt::Display for Quarter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}Q{}", self.year, self.q)
    }
}

impl FromStr for Quarter {
    type Err = QuarterError;
    fn from_str(text: &str) -> Result<Self, QuarterError> {
        let error = || QuarterError(text.chars().take(40).collect());
        let (year, q) = text.split_once('Q').ok_or_else(error)?;
        if year.len() != 4 || !year.bytes().all(|b| b.is_ascii_digit()) || q.len() != 1 {
            return Err(error());
        }
        let q: u8 = q.parse().map_err(|_| error())?;
        if !(1..=4).contains(&q) {
            return Err(error());
        }
        Ok(Quarter {
            year: year.parse().map_err(|_| error())?,
            q,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AmountError {
    #[error("{0:?} is not a decimal amount such as 12345.67")]
    NotDecimal(String),
    #[error("{text:?} has {given} decimals; {currency} has {allowed}")]
    TooManyDecimals {
        text: String,
        given: usize,
        allowed: u8,
        currency: Currency,
    },
    #[error("{0:?} is too large")]
    TooLarge(String),
}

/// Parses a decimal in major units (`"12345.67"`, `"-3"`, `"0.1"`) exactly into minor
/// units of `currency`, by its exponent; more decimals than the currency has is an
/// error, never a rounding.
pub fn parse_amount(text: &str, currency: Currency) -> Result<Amount, AmountError> {
    let not_decimal = || AmountError::NotDecimal(text.chars().take(40).collect());
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || !all_digits(whole) || !all_digits(fraction) || digits.ends_with('.') {
        return Err(not_decimal());
    }
    let exponent = currency.exponent();
    if fraction.len() > usize::from(exponent) {
        return Err(AmountError::TooManyDecimals {
            text: text.chars().take(40).collect(),
            given: fraction.len(),
            allowed: exponent,
            currency,
        });
    }
    let too_large = || AmountError::TooLarge(text.chars().take(40).collect());
    let whole: i64 = whole.parse().map_err(|_| too_large())?;
    let mut minor = whole
        .checked_mul(10_i64.pow(u32::from(exponent)))
        .ok_or_else(too_large)?;
    if !fraction.is_empty() {
        let scale = 10_i64.pow(u32::from(exponent) - fraction.len() as u32);
        let fraction: i64 = fraction.parse().map_err(|_| not_decimal())?;
        minor = minor.checked_add(fraction * scale).ok_or_else(too_large)?;
    }
    Ok(if negative { -minor } else { minor })
}

/// One row of the shipment ledger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Shipment {
    #[schema(value_type = String, example = "2017-06-30")]
    pub date: NaiveDate,
    #[schema(example = "IN")]
    pub market: MarketCode,
    pub channel: Channel,
    #[schema(example = "redmi-note-4")]
    pub product: ProductId,
    pub sku: Option<SkuCode>,
    /// Units shipped; negative for a customer return.
    pub units: i64,
    /// Revenue in minor units of `currency` (the market's); negative for a refund.
    pub revenue: Amount,
    #[schema(value_type = String, example = "INR")]
    pub currency: Currency,
    /// What wrote it: `pos:<id>`, `order:<id>`, `refund:<id>`, `import:<batch>`.
    pub source: String,
}

impl Shipment {
    /// The calendar day (UTC) an instant falls on: the ledger's date of a sale.
    pub fn day(at: DateTime<Utc>) -> NaiveDate {
        at.date_naive()
    }

    pub fn quarter(&self) -> Quarter {
        Quarter::of(self.date)
    }
}

/// The ledger rows of units handed over: one row per SKU, day and sale or order,
/// units and revenue summed.
pub fn from_handover(devices: &[Device]) -> Vec<Shipment> {
    let mut rows: Vec<Shipment> = Vec::new();
    for d in devices {
        let date = Shipment::day(d.sold_at);
        match rows
            .iter_mut()
            .find(|r| r.sku.as_ref() == Some(&d.sku) && r.date == date && r.source == d.sold_on)
        {
            Some(row) => {
                row.units += 1;
                row.revenue += d.price;
            }
            None => rows.push(Shipment {
                date,
                market: d.market.clone(),
                channel: d.channel,
                product: d.product.clone(),
                sku: Some(d.sku.clone()),
                units: 1,
                revenue: d.price,
                currency: d.currency,
                source: d.sold_on.clone(),
            }),
        }
    }
    rows
}

/// The negative row of a unit coming back: counted against the channel it was sold
/// through, on the day it came back.
pub fn for_return(device: &Device, refund: i64, at: DateTime<Utc>) -> Shipment {
    Shipment {
        date: Shipment::day(at),
        market: device.market.clone(),
        channel: device.channel,
        product: device.product.clone(),
        sku: Some(device.sku.clone()),
        units: -1,
        revenue: -device.price,
        currency: device.currency,
        source: format!("refund:{refund}"),
    }
}

/// The header of a shipments CSV file, in order.
pub const SHIPMENTS_HEADER: [&str; 8] = [
    "date", "market", "channel", "product", "sku", "units", "revenue", "currency",
];
/// Most units one imported row may carry, either way.
pub const IMPORT_UNITS_MAX: i64 = 1_000_000_000;
/// Most revenue one imported row may carry, either way, in minor units (totals are
/// checked for overflow as they are added up).
pub const IMPORT_REVENUE_MAX: Amount = 1_000_000_000_000_000;
/// Years a shipment may fall in.
pub const SHIPMENT_YEARS: std::ops::RangeInclusive<i32> = 2000..=2100;

/// What a row of an import got wrong.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct RowError {
    /// 1-based line in the file (the header is line 1).
    pub line: u64,
    pub column: String,
    pub message: String,
}

impl RowError {
    pub fn new(line: u64, column: &str, message: String) -> Self {
        RowError {
            line,
            column: column.to_owned(),
            message,
        }
    }
}

/// Why a row's units and revenue do not go together.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignError {
    /// Units one way and revenue the other (units 5 with revenue -100, or a return
    /// of -5 units with revenue 100).
    #[error("units and revenue have opposite signs: a sale has units and revenue of 0 or more, a return negative units and revenue of 0 or less")]
    Opposite,
    /// Revenue on a row of no units.
    #[error("revenue without units: a row with revenue ships (or takes back) at least one unit")]
    RevenueWithoutUnits,
}

/// The sign rule of a ledger row, the one every import row is checked by: units and
/// revenue go the same way. A sale has both positive, a return both negative, and
/// zero revenue goes with any units (a free unit, or a return refunded nothing);
/// revenue without units is refused. (Zero units are refused on their own by the
/// units rule of [`parse_shipment_row`]; here only revenue beside them is.)
pub fn check_signs(units: i64, revenue: Amount) -> Result<(), SignError> {
    match (units.signum(), revenue.signum()) {
        (_, 0) => Ok(()),
        (0, _) => Err(SignError::RevenueWithoutUnits),
        (u, r) if u == r => Ok(()),
        _ => Err(SignError::Opposite),
    }
}

/// What the catalog knows that an imported shipment row is checked against.
#[derive(Debug, Clone, Default)]
pub struct ImportCatalog {
    /// Each market's currency.
    pub markets: std::collections::HashMap<MarketCode, Currency>,
    /// Each product's SKUs.
    pub products: std::collections::HashMap<ProductId, Vec<SkuCode>>,
}

/// Parses and checks one shipments row (`fields` in [`SHIPMENTS_HEADER`] order):
/// every problem of the row, each with its column, or the shipment.
pub fn parse_shipment_row(
    line: u64,
    fields: &[&str],
    catalog: &ImportCatalog,
    source: &str,
) -> Result<Shipment, Vec<RowError>> {
    let mut errors = Vec::new();
    let mut fail = |column: &str, message| errors.push(RowError::new(line, column, message));
    if fields.len() != SHIPMENTS_HEADER.len() {
        fail(
            "*",
            format!(
                "{} fields; a row has {}: {}",
                fields.len(),
                SHIPMENTS_HEADER.len(),
                SHIPMENTS_HEADER.join(",")
            ),
        );
        return Err(errors);
    }
    let field = |i: usize| fields[i].trim();
    let date = NaiveDate::parse_from_str(field(0), "%Y-%m-%d")
        .ok()
        .filter(|d| field(0).len() == 10 && SHIPMENT_YEARS.contains(&d.year()));
    if date.is_none() {
        fail(
            "date",
            format!(
                "{:?} is not a date YYYY-MM-DD from {} to {}",
                field(0),
                SHIPMENT_YEARS.start(),
                SHIPMENT_YEARS.end()
            ),
        );
    }
    let market = MarketCode::parse(field(1)).ok();
    let market_currency = market
        .as_ref()
        .and_then(|m| catalog.markets.get(m))
        .copied();
    if market_currency.is_none() {
        fail("market", format!("{:?} is not a market", field(1)));
    }
    let channel = Channel::parse(field(2));
    if channel.is_none() {
        fail(
            "channel",
            format!(
                "{:?} is not one of flash_sale, online, store, partner",
                field(2)
            ),
        );
    }
    let product = ProductId::parse(field(3))
        .ok()
        .filter(|p| catalog.products.contains_key(p));
    if product.is_none() {
        fail("product", format!("{:?} is not in the catalog", field(3)));
    }
    let sku = if field(4).is_empty() {
        None
    } else {
        let sku = SkuCode::parse(field(4)).ok().filter(|s| {
            product
                .as_ref()
                .and_then(|p| catalog.products.get(p))
                .is_some_and(|skus| skus.contains(s))
        });
        if sku.is_none() {
            fail(
                "sku",
                format!("{:?} is not a SKU of {}", field(4), field(3)),
            );
        }
        sku
    };
    let units = field(5)
        .parse::<i64>()
        .ok()
        .filter(|u| *u != 0 && u.abs() <= IMPORT_UNITS_MAX);
    if units.is_none() {
        fail(
            "units",
            format!(
                "{:?} is not a whole number of units (not 0, at most {IMPORT_UNITS_MAX} either way)",
                field(5)
            ),
        );
    }
    let currency = Currency::parse(field(7)).ok();
    match (currency, market_currency) {
        (None, _) => fail(
            "currency",
            format!("{:?} is not an ISO 4217 currency", field(7)),
        ),
        (Some(c), Some(m)) if c != m => fail(
            "currency",
            format!("{c} is not the currency of {}; it is {m}", field(1)),
        ),
        _ => {}
    }
    let revenue = currency.and_then(|c| match parse_amount(field(6), c) {
        Ok(r) if r.abs() <= IMPORT_REVENUE_MAX => Some(r),
        Ok(_) => {
            fail(
                "revenue",
                format!("{:?} is more than one row may carry", field(6)),
            );
            None
        }
        Err(e) => {
            fail("revenue", e.to_string());
            None
        }
    });
    if let (Some(units), Some(revenue)) = (units, revenue) {
        if let Err(e) = check_signs(units, revenue) {
            fail(
                "revenue",
                format!("revenue {:?} with units {:?}: {e}", field(6), field(5)),
            );
        }
    }
    match (date, market, channel, product, units, revenue, currency) {
        (
            Some(date),
            Some(market),
            Some(channel),
            Some(product),
            Some(units),
            Some(revenue),
            Some(currency),
        ) if errors.is_empty() => Ok(Shipment {
            date,
            market,
            channel,
            product,
            sku,
            units,
            revenue,
            currency,
            source: source.to_owned(),
        }),
        _ => Err(errors),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn currency(code: &str) -> Currency {
        Currency::parse(code).unwrap()
    }

    #[test]
    fn amounts_parse_exactly_into_minor_units() {
        let inr = currency("INR");
        assert_eq!(parse_amount("0.1", inr), Ok(10));
        assert_eq!(parse_amount("12345.67", inr), Ok(1_234_567));
        assert_eq!(parse_amount("12345", inr), Ok(1_234_500));
        assert_eq!(parse_amount("-3.5", inr), Ok(-350));
        assert!(matches!(
            parse_amount("1.234", inr),
            Err(AmountError::TooManyDecimals { given: 3, .. })
        ));
        let jpy = currency("JPY");
        assert_eq!(parse_amount("1999", jpy), Ok(1999));
        assert!(parse_amount("1999.5", jpy).is_err());
        for bad in ["", ".5", "1.", "1,5", "1e3", "--1", " 1", "abc"] {
            assert!(
                matches!(parse_amount(bad, inr), Err(AmountError::NotDecimal(_))),
                "{bad:?}"
            );
        }
        assert!(matches!(
            parse_amount("99999999999999999999", inr),
            Err(AmountError::TooLarge(_))
        ));
    }

    #[test]
    fn rows_are_checked_against_the_catalog_column_by_column() {
        let mut catalog = ImportCatalog::default();
        catalog
            .markets
            .insert(MarketCode::parse("IN").unwrap(), currency("INR"));
        catalog.products.insert(
            ProductId::parse("redmi-note-4").unwrap(),
            vec![SkuCode::parse("RN4-3-32-GLD").unwrap()],
        );
        let ok = parse_shipment_row(
            2,
            &[
                "2017-06-30",
                "IN",
                "partner",
                "redmi-note-4",
                "",
                "1000",
                "10999000.00",
                "INR",
            ],
            &catalog,
            "import:x",
        )
        .unwrap();
        assert_eq!(ok.revenue, 1_099_900_000);
        assert_eq!(ok.quarter().to_string(), "2017Q2");
        let errors = parse_shipment_row(
            7,
            &["2017-13-01", "IN", "mall", "mi-99", "", "0", "1.234", "USD"],
            &catalog,
            "import:x",
        )
        .unwrap_err();
        let columns: Vec<_> = errors.iter().map(|e| e.column.as_str()).collect();
        assert_eq!(
            columns,
            ["date", "channel", "product", "units", "currency", "revenue"]
        );
        assert!(errors.iter().all(|e| e.line == 7));
        let sku = parse_shipment_row(
            3,
            &[
                "2017-06-30",
                "IN",
                "store",
                "redmi-note-4",
                "MI6-6-64-BLK",
                "1",
                "1",
                "INR",
            ],
            &catalog,
            "import:x",
        )
        .unwrap_err();
        assert_eq!(sku[0].column, "sku");
        assert!(parse_shipment_row(4, &["2017-06-30", "IN"], &catalog, "x").is_err());
        for date in ["0217-06-30", "+12017-06-30", "2017-6-30"] {
            let row = [date, "IN", "store", "redmi-note-4", "", "1", "1", "INR"];
            let errors = parse_shipment_row(5, &row, &catalog, "x").unwrap_err();
            assert_eq!(errors[0].column, "date", "{date}");
        }
        let huge = [
            "2017-06-30",
            "IN",
            "store",
            "redmi-note-4",
            "",
            "1",
            "92233720368547758.07",
            "INR",
        ];
        assert_eq!(
            parse_shipment_row(6, &huge, &catalog, "x").unwrap_err()[0].column,
            "revenue"
        );
    }

    #[test]
    fn units_and_revenue_go_the_same_way() {
        assert_eq!(check_signs(5, 10_000), Ok(()), "a sale");
        assert_eq!(check_signs(-5, -10_000), Ok(()), "a return");
        assert_eq!(check_signs(5, 0), Ok(()), "free units");
        assert_eq!(check_signs(-5, 0), Ok(()), "a return refunded nothing");
        assert_eq!(check_signs(5, -10_000), Err(SignError::Opposite));
        assert_eq!(check_signs(-5, 10_000), Err(SignError::Opposite));
        assert_eq!(check_signs(0, 10_000), Err(SignError::RevenueWithoutUnits));
        assert_eq!(check_signs(0, -10_000), Err(SignError::RevenueWithoutUnits));
        assert_eq!(check_signs(i64::MIN, i64::MIN), Ok(()));
    }

    #[test]
    fn an_imported_row_with_opposite_signs_is_a_bad_revenue() {
        let mut catalog = ImportCatalog::default();
        catalog
            .markets
            .insert(MarketCode::parse("IN").unwrap(), currency("INR"));
        catalog
            .products
            .insert(ProductId::parse("redmi-note-4").unwrap(), Vec::new());
        let row = |units: &'static str, revenue: &'static str| {
            [
                "2017-06-30",
                "IN",
                "partner",
                "redmi-note-4",
                "",
                units,
                revenue,
                "INR",
            ]
        };
        for (units, revenue) in [("5", "-100.00"), ("-5", "100"), ("1", "-0.01")] {
            let errors = parse_shipment_row(9, &row(units, revenue), &catalog, "x").unwrap_err();
            assert_eq!(errors.len(), 1, "{units} {revenue}: {errors:?}");
            assert_eq!((errors[0].line, errors[0].column.as_str()), (9, "revenue"));
            assert!(
                errors[0].message.contains("opposite signs"),
                "{}",
                errors[0].message
            );
        }
        for (units, revenue) in [("5", "100"), ("-5", "-100"), ("5", "0"), ("-5", "0.00")] {
            assert!(
                parse_shipment_row(9, &row(units, revenue), &catalog, "x").is_ok(),
                "{units} {revenue}"
            );
        }
        // Zero units are refused, with or without revenue.
        for revenue in ["100", "0"] {
            let errors = parse_shipment_row(9, &row("0", revenue), &catalog, "x").unwrap_err();
            assert_eq!(errors[0].column, "units", "{revenue}");
        }
    }

    #[test]
    fn quarters_parse_print_and_step_across_years() {
        let q: Quarter = "2017Q1".parse().unwrap();
        assert_eq!(q.to_string(), "2017Q1");
        assert_eq!(q.previous().to_string(), "2016Q4");
        assert_eq!(q.year_before().to_string(), "2016Q1");
        for bad in ["2017Q5", "2017Q0", "2017q1", "17Q1", "2017Q", "2017Q12", ""] {
            assert!(bad.parse::<Quarter>().is_err(), "{bad}");
        }
        assert_eq!(q.end(), NaiveDate::from_ymd_opt(2017, 4, 1).unwrap());
        let q4: Quarter = "2017Q4".parse().unwrap();
        assert_eq!(q4.end(), NaiveDate::from_ymd_opt(2018, 1, 1).unwrap());
        let date = NaiveDate::from_ymd_opt(2017, 6, 30).unwrap();
        assert_eq!(Quarter::of(date).to_string(), "2017Q2");
        assert_eq!(
            Quarter::of(NaiveDate::from_ymd_opt(2017, 7, 1).unwrap()).to_string(),
            "2017Q3"
        );
    }
}
