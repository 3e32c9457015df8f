//! The device registry and returns. Every unit sold in any channel and handed over
//! becomes a device with its serial; a serial is sold once until it is returned.
//! A return inside the market's window refunds what was paid and puts the unit back
//! in stock (resellable) or in the damaged count.

use crate::ids::{bounded_text, LocationId, MarketCode, Serial, SkuCode, TextError};
use crate::money::{Amount, Currency};
use crate::pos::Channel;
use crate::{OsVersion, ProductId};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A unit that left the company, as the registry knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Device {
    #[schema(example = "865321030012345")]
    pub serial: Serial,
    #[schema(example = "RN4-3-32-GLD")]
    pub sku: SkuCode,
    #[schema(example = "redmi-note-4")]
    pub product: ProductId,
    #[schema(example = "IN")]
    pub market: MarketCode,
    pub channel: Channel,
    /// Where it was handed over.
    #[schema(example = "store-in-bengaluru")]
    pub location: LocationId,
    /// When it went to its buyer: a counter sale's time (for an offline sale, when it
    /// happened in the store), or an order's hand-over. Returns count from here.
    pub sold_at: DateTime<Utc>,
    /// What the buyer paid for this unit, in minor units of `currency`.
    pub price: Amount,
    #[schema(value_type = String, example = "INR")]
    pub currency: Currency,
    /// The OS version it runs: the product's shipped version at first.
    #[schema(value_type = String, example = "8.2.1", pattern = r"^[0-9]{1,9}(\.[0-9]{1,9}){0,7}$")]
    pub os_version: OsVersion,
    /// The receipt or order it was sold on (`pos:<id>`, `order:<id>`).
    pub sold_on: String,
    /// When it came back, if it did; it may then be sold again.
    pub returned_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReturnCondition {
    /// Back to available stock.
    Resellable,
    /// Into the damaged count; never sold again as new.
    Damaged,
}

impl ReturnCondition {
    pub fn as_str(self) -> &'static str {
        match self {
            ReturnCondition::Resellable => "resellable",
            ReturnCondition::Damaged => "damaged",
        }
    }
    pub fn parse(text: &str) -> Option<Self> {
        [ReturnCondition::Resellable, ReturnCondition::Damaged]
            .into_iter()
            .find(|c| c.as_str() == text)
    }
}

/// Body of `POST /v1/locations/{store}/returns`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewReturn {
    #[schema(example = "865321030012345")]
    pub serial: Serial,
    #[schema(
        example = "changed mind",
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$"
    )]
    pub reason: String,
    pub condition: ReturnCondition,
}

impl NewReturn {
    pub fn reason(&self) -> Result<String, TextError> {
        bounded_text("reason", &self.reason)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReturnError {
    #[error("serial {0} was never sold, or has already been returned")]
    NotSold(Serial),
    #[error("serial {serial} was sold at {sold_at}; returns in {market} close after {days} days, at {closed_at}")]
    WindowClosed {
        serial: Serial,
        market: MarketCode,
        sold_at: DateTime<Utc>,
        days: u32,
        closed_at: DateTime<Utc>,
    },
    #[error(
        "serial {serial} was sold in {sold_in}; it can only be returned to a store in that market"
    )]
    OtherMarket { serial: Serial, sold_in: MarketCode },
}

impl Device {
    /// Whether this device may be returned at `now` to a store in `market` whose
    /// return window is `window_days`.
    pub fn check_return(
        &self,
        market: &MarketCode,
        window_days: u32,
        now: DateTime<Utc>,
    ) -> Result<(), ReturnError> {
        if self.returned_at.is_some() {
            return Err(ReturnError::NotSold(self.serial.clone()));
        }
        if &self.market != market {
            return Err(ReturnError::OtherMarket {
                serial: self.serial.clone(),
                sold_in: self.market.clone(),
            });
        }
        let closed_at = self.sold_at + Duration::days(i64::from(window_days));
        if now > closed_at {
            return Err(ReturnError::WindowClosed {
                serial: self.serial.clone(),
                market: market.clone(),
                sold_at: self.sold_at,
                days: window_days,
                closed_at,
            });
        }
        Ok(())
    }
}

/// Money owed back to a buyer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Refund {
    pub id: i64,
    #[schema(example = "865321030012345")]
    pub serial: Serial,
    #[schema(example = "store-in-bengaluru")]
    pub store: LocationId,
    pub amount: Amount,
    #[schema(value_type = String, example = "INR")]
    pub currency: Currency,
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$"
    )]
    pub reason: String,
    pub condition: ReturnCondition,
    /// The receipt or order the unit was sold on.
    pub sold_on: String,
    pub created_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn device(sold_at: DateTime<Utc>) -> Device {
        Device {
            serial: Serial::parse("S1").unwrap(),
            sku: SkuCode::parse("A-1").unwrap(),
            product: ProductId::parse("a").unwrap(),
            market: MarketCode::parse("IN").unwrap(),
            channel: Channel::Store,
            location: LocationId::parse("store-a").unwrap(),
            sold_at,
            price: 999_900,
            currency: Currency::parse("INR").unwrap(),
            os_version: OsVersion::parse("8.2").unwrap(),
            sold_on: "pos:1".into(),
            returned_at: None,
        }
    }

    #[test]
    fn returns_close_with_the_window() {
        let sold = Utc.with_ymd_and_hms(2017, 8, 1, 12, 0, 0).unwrap();
        let d = device(sold);
        let india = MarketCode::parse("IN").unwrap();
        assert!(d.check_return(&india, 7, sold).is_ok());
        assert!(d.check_return(&india, 7, sold + Duration::days(7)).is_ok());
        assert!(matches!(
            d.check_return(&india, 7, sold + Duration::days(7) + Duration::seconds(1)),
            Err(ReturnError::WindowClosed { .. })
        ));
        assert!(matches!(
            d.check_return(&MarketCode::parse("RU").unwrap(), 7, sold),
            Err(ReturnError::OtherMarket { .. })
        ));
        let returned = Device {
            returned_at: Some(sold),
            ..d
        };
        assert!(matches!(
            returned.check_return(&india, 7, sold),
            Err(ReturnError::NotSold(_))
        ));
    }
}
