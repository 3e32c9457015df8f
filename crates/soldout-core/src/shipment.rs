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
    #[schema(value_type = String, example = "IN")]
    pub market: MarketCode,
    pub channel: Channel,
    #[schema(value_type = String, example = "redmi-note-4")]
    pub product: ProductId,
    #[schema(value_type = Option<String>)]
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
    fn quarters_parse_print_and_step_across_years() {
        let q: Quarter = "2017Q1".parse().unwrap();
        assert_eq!(q.to_string(), "2017Q1");
        assert_eq!(q.previous().to_string(), "2016Q4");
        assert_eq!(q.year_before().to_string(), "2016Q1");
        for bad in ["2017Q5", "2017Q0", "2017q1", "17Q1", "2017Q", "2017Q12", ""] {
            assert!(bad.parse::<Quarter>().is_err(), "{bad}");
        }
        let date = NaiveDate::from_ymd_opt(2017, 6, 30).unwrap();
        assert_eq!(Quarter::of(date).to_string(), "2017Q2");
        assert_eq!(
            Quarter::of(NaiveDate::from_ymd_opt(2017, 7, 1).unwrap()).to_string(),
            "2017Q3"
        );
    }
}
