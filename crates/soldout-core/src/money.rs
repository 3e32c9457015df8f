//! Money: an integer count of minor units of an ISO 4217 currency. No floating point
//! anywhere on the money path; a currency knows its exponent (INR 2, JPY 0, KWD 3).

use serde::{Deserialize, Serialize};
use std::fmt;

/// An amount in minor units (paise, fen, kopecks) of a currency that travels beside it.
pub type Amount = i64;

/// Highest price we accept for one unit, in minor units: 1e12, far above any phone in
/// any currency, far below overflow when multiplied by a quantity.
pub const PRICE_MAX: Amount = 1_000_000_000_000;

/// Active ISO 4217 currency codes with their standard minor-unit exponents.
const CURRENCIES: &[(&str, u8)] = &[
    ("AED", 2),
    ("AFN", 2),
    ("ALL", 2),
    ("AMD", 2),
    ("ANG", 2),
    ("AOA", 2),
    ("ARS", 2),
    ("AUD", 2),
    ("AWG", 2),
    ("AZN", 2),
    ("BAM", 2),
    ("BBD", 2),
    ("BDT", 2),
    ("BGN", 2),
    ("BHD", 3),
    ("BIF", 0),
    ("BMD", 2),
    ("BND", 2),
    ("BOB", 2),
    ("BRL", 2),
    ("BSD", 2),
    ("BTN", 2),
    ("BWP", 2),
    ("BYN", 2),
    ("BZD", 2),
    ("CAD", 2),
    ("CDF", 2),
    ("CHF", 2),
    ("CLP", 0),
    ("CNY", 2),
    ("COP", 2),
    ("CRC", 2),
    ("CUP", 2),
    ("CVE", 2),
    ("CZK", 2),
    ("DJF", 0),
    ("DKK", 2),
    ("DOP", 2),
    ("DZD", 2),
    ("EGP", 2),
    ("ERN", 2),
    ("ETB", 2),
    ("EUR", 2),
    ("FJD", 2),
    ("FKP", 2),
    ("GBP", 2),
    ("GEL", 2),
    ("GHS", 2),
    ("GIP", 2),
    ("GMD", 2),
    ("GNF", 0),
    ("GTQ", 2),
    ("GYD", 2),
    ("HKD", 2),
    ("HNL", 2),
    ("HTG", 2),
    ("HUF", 2),
    ("IDR", 2),
    ("ILS", 2),
    ("INR", 2),
    ("IQD", 3),
    ("IRR", 2),
    ("ISK", 0),
    ("JMD", 2),
    ("JOD", 3),
    ("JPY", 0),
    ("KES", 2),
    ("KGS", 2),
    ("KHR", 2),
    ("KMF", 0),
    ("KPW", 2),
    ("KRW", 0),
    ("KWD", 3),
    ("KYD", 2),
    ("KZT", 2),
    ("LAK", 2),
    ("LBP", 2),
    ("LKR", 2),
    ("LRD", 2),
    ("LSL", 2),
    ("LYD", 3),
    ("MAD", 2),
    ("MDL", 2),
    ("MGA", 2),
    ("MKD", 2),
    ("MMK", 2),
    ("MNT", 2),
    ("MOP", 2),
    ("MRU", 2),
    ("MUR", 2),
    ("MVR", 2),
    ("MWK", 2),
    ("MXN", 2),
    ("MYR", 2),
    ("MZN", 2),
    ("NAD", 2),
    ("NGN", 2),
    ("NIO", 2),
    ("NOK", 2),
    ("NPR", 2),
    ("NZD", 2),
    ("OMR", 3),
    ("PAB", 2),
    ("PEN", 2),
    ("PGK", 2),
    ("PHP", 2),
    ("PKR", 2),
    ("PLN", 2),
    ("PYG", 0),
    ("QAR", 2),
    ("RON", 2),
    ("RSD", 2),
    ("RUB", 2),
    ("RWF", 0),
    ("SAR", 2),
    ("SBD", 2),
    ("SCR", 2),
    ("SDG", 2),
    ("SEK", 2),
    ("SGD", 2),
    ("SHP", 2),
    ("SLE", 2),
    ("SOS", 2),
    ("SRD", 2),
    ("SSP", 2),
    ("STN", 2),
    ("SVC", 2),
    ("SYP", 2),
    ("SZL", 2),
    ("THB", 2),
    ("TJS", 2),
    ("TMT", 2),
    ("TND", 3),
    ("TOP", 2),
    ("TRY", 2),
    ("TTD", 2),
    ("TWD", 2),
    ("TZS", 2),
    ("UAH", 2),
    ("UGX", 0),
    ("USD", 2),
    ("UYI", 0),
    ("UYU", 2),
    ("UZS", 2),
    ("VES", 2),
    ("VND", 0),
    ("VUV", 0),
    ("WST", 2),
    ("XAF", 0),
    ("XCD", 2),
    ("XOF", 0),
    ("XPF", 0),
    ("YER", 2),
    ("ZAR", 2),
    ("ZMW", 2),
    ("ZWG", 2),
];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("currency {0:?} is not an active ISO 4217 code (such as CNY, INR, RUB, USD)")]
pub struct CurrencyError(pub String);

/// An active ISO 4217 currency: an index into the table above, so it is `Copy`
/// and cannot name a currency that does not exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Currency(u16);

impl Currency {
    pub fn parse(code: &str) -> Result<Self, CurrencyError> {
        CURRENCIES
            .iter()
            .position(|(c, _)| *c == code)
            .map(|i| Currency(i as u16))
            .ok_or_else(|| CurrencyError(code.chars().take(20).collect()))
    }
    pub fn code(&self) -> &'static str {
        CURRENCIES[usize::from(self.0)].0
    }
    /// Digits after the decimal point in this currency's major unit (INR 2, JPY 0).
    pub fn exponent(&self) -> u8 {
        CURRENCIES[usize::from(self.0)].1
    }
}

impl TryFrom<String> for Currency {
    type Error = CurrencyError;
    fn try_from(value: String) -> Result<Self, CurrencyError> {
        Self::parse(&value)
    }
}
impl From<Currency> for String {
    fn from(value: Currency) -> String {
        value.code().to_owned()
    }
}
impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// An amount as people read it: the currency code, then the major units with thousands
/// separators and the currency's decimals (`INR 9,999.00`, `JPY 1,200`, `-USD 0.50`).
pub fn display_amount(amount: Amount, currency: Currency) -> String {
    let exponent = u32::from(currency.exponent());
    let scale = 10_u128.pow(exponent);
    let magnitude = u128::from(amount.unsigned_abs());
    let digits = (magnitude / scale).to_string();
    let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    let sign = if amount < 0 { "-" } else { "" };
    match exponent {
        0 => format!("{sign}{currency} {grouped}"),
        e => format!(
            "{sign}{currency} {grouped}.{:0width$}",
            magnitude % scale,
            width = e as usize
        ),
    }
}

/// Why a price of 0 was refused.
pub const ZERO_PRICE_REFUSED: &str =
    "a price of 0 gives the phone away; send \"allow_zero_price\": true if that is meant";

/// Checks a unit price in minor units: not negative, not absurd, and not 0 unless the
/// caller said so (`allow_zero_price`: a giveaway is a decision, never a typo).
pub fn check_price(amount: Amount, allow_zero: bool) -> Result<Amount, String> {
    if amount < 0 {
        return Err(format!(
            "amount {amount} is negative; a price is at least 0"
        ));
    }
    if amount == 0 && !allow_zero {
        return Err(ZERO_PRICE_REFUSED.to_owned());
    }
    if amount > PRICE_MAX {
        return Err(format!(
            "amount {amount} is above the limit of {PRICE_MAX} minor units"
        ));
    }
    Ok(amount)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_read_in_major_units() {
        let inr = Currency::parse("INR").unwrap();
        assert_eq!(display_amount(999_900, inr), "INR 9,999.00");
        assert_eq!(display_amount(5, inr), "INR 0.05");
        assert_eq!(display_amount(-50, inr), "-INR 0.50");
        assert_eq!(
            display_amount(123_456_789, Currency::parse("JPY").unwrap()),
            "JPY 123,456,789"
        );
        assert_eq!(
            display_amount(1_234_567, Currency::parse("KWD").unwrap()),
            "KWD 1,234.567"
        );
        assert_eq!(
            display_amount(i64::MIN, inr),
            "-INR 92,233,720,368,547,758.08"
        );
    }

    #[test]
    fn currencies_know_their_exponent() {
        assert_eq!(Currency::parse("INR").unwrap().exponent(), 2);
        assert_eq!(Currency::parse("JPY").unwrap().exponent(), 0);
        assert_eq!(Currency::parse("KWD").unwrap().exponent(), 3);
        assert!(Currency::parse("XYZ").is_err());
        assert!(Currency::parse("inr").is_err());
    }

    #[test]
    fn the_table_is_sorted_and_unique() {
        assert!(CURRENCIES.windows(2).all(|w| w[0].0 < w[1].0));
    }

    #[test]
    fn prices_are_bounded() {
        assert!(check_price(0, true).is_ok());
        assert!(check_price(0, false).is_err());
        assert!(check_price(1, false).is_ok());
        assert!(check_price(-1, true).is_err());
        assert!(check_price(PRICE_MAX + 1, true).is_err());
    }
}
