//! Time-boxed price campaigns: a market, a set of SKUs, a fixed price or a
//! percentage off the list price, the channels it applies to, a start and an end
//! (`starts_at <= t < ends_at`). Two campaigns that share a SKU in one market may
//! not overlap in time, so at any instant a SKU has at most one campaign price.

use crate::ids::{bounded_text, MarketCode, SkuCode, TextError};
use crate::money::{check_price, Amount};
use crate::pos::Channel;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use utoipa::ToSchema;

/// Most SKUs one campaign names.
pub const CAMPAIGN_SKUS_MAX: usize = 200;

/// Body of `POST /v1/campaigns`: exactly one of `price` and `percent_off`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCampaign {
    #[schema(
        example = "Diwali with Mi",
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$"
    )]
    pub name: String,
    #[schema(example = "IN")]
    pub market: MarketCode,
    #[schema(example = json!(["RN4-3-32-GLD"]))]
    pub skus: Vec<SkuCode>,
    /// The campaign's unit price, in minor units of the market's currency.
    pub price: Option<Amount>,
    /// Percent off the list price, 1 to 99 (rounded to the nearest minor unit).
    pub percent_off: Option<u32>,
    /// Where it applies: `online` and/or `store` (flash sales have their own price).
    pub channels: Vec<Channel>,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    /// A fixed `price` of 0 is refused unless this is true.
    #[serde(default)]
    pub allow_zero_price: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Campaign {
    pub id: i64,
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$"
    )]
    pub name: String,
    #[schema(example = "IN")]
    pub market: MarketCode,
    pub skus: Vec<SkuCode>,
    pub price: Option<Amount>,
    pub percent_off: Option<u32>,
    pub channels: Vec<Channel>,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CampaignError {
    #[error(transparent)]
    Text(#[from] TextError),
    #[error("give exactly one of price and percent_off")]
    Discount,
    #[error("percent_off is {0}; it must be between 1 and 99")]
    Percent(u32),
    #[error("price: {0}")]
    Price(String),
    #[error("a campaign names 1 to {CAMPAIGN_SKUS_MAX} SKUs, each once")]
    Skus,
    #[error("channels must name online and/or store, each once")]
    Channels,
    #[error("ends_at must be after starts_at")]
    Dates,
    #[error("campaign {other} ({name}) already prices {sku} in {market} between {starts_at} and {ends_at}")]
    Overlap {
        other: i64,
        name: String,
        sku: SkuCode,
        market: MarketCode,
        starts_at: DateTime<Utc>,
        ends_at: DateTime<Utc>,
    },
}

impl NewCampaign {
    /// The campaign these terms describe, with id 0 until it is stored.
    pub fn validate(self) -> Result<Campaign, CampaignError> {
        let name = bounded_text("name", &self.name)?;
        match (self.price, self.percent_off) {
            (Some(price), None) => {
                check_price(price, self.allow_zero_price).map_err(CampaignError::Price)?;
            }
            (None, Some(p)) if !(1..=99).contains(&p) => return Err(CampaignError::Percent(p)),
            (None, Some(_)) => {}
            _ => return Err(CampaignError::Discount),
        }
        let unique_skus: HashSet<_> = self.skus.iter().collect();
        if self.skus.is_empty()
            || self.skus.len() > CAMPAIGN_SKUS_MAX
            || unique_skus.len() != self.skus.len()
        {
            return Err(CampaignError::Skus);
        }
        let unique_channels: HashSet<_> = self.channels.iter().collect();
        if self.channels.is_empty()
            || unique_channels.len() != self.channels.len()
            || self
                .channels
                .iter()
                .any(|c| !matches!(c, Channel::Online | Channel::Store))
        {
            return Err(CampaignError::Channels);
        }
        if self.ends_at <= self.starts_at {
            return Err(CampaignError::Dates);
        }
        Ok(Campaign {
            id: 0,
            name,
            market: self.market,
            skus: self.skus,
            price: self.price,
            percent_off: self.percent_off,
            channels: self.channels,
            starts_at: self.starts_at,
            ends_at: self.ends_at,
        })
    }
}

impl Campaign {
    /// Whether it runs at `at`: from `starts_at` (included) to `ends_at` (excluded).
    pub fn runs_at(&self, at: DateTime<Utc>) -> bool {
        self.starts_at <= at && at < self.ends_at
    }

    pub fn applies(&self, sku: &SkuCode, channel: Channel, at: DateTime<Utc>) -> bool {
        self.runs_at(at) && self.channels.contains(&channel) && self.skus.contains(sku)
    }

    /// The campaign's unit price given the list price; a percentage needs a list price.
    pub fn unit_price(&self, list_price: Option<Amount>) -> Option<Amount> {
        match (self.price, self.percent_off) {
            (Some(price), _) => Some(price),
            (None, Some(p)) => list_price.map(|list| (list * i64::from(100 - p) + 50) / 100),
            (None, None) => list_price,
        }
    }

    /// Refuses this campaign if one of `existing` shares a SKU with it in its market
    /// and overlaps it in time.
    pub fn check_overlap(&self, existing: &[Campaign]) -> Result<(), CampaignError> {
        for other in existing.iter().filter(|o| o.market == self.market) {
            let overlap = self.starts_at < other.ends_at && other.starts_at < self.ends_at;
            if !overlap {
                continue;
            }
            if let Some(sku) = self.skus.iter().find(|s| other.skus.contains(s)) {
                return Err(CampaignError::Overlap {
                    other: other.id,
                    name: other.name.clone(),
                    sku: sku.clone(),
                    market: other.market.clone(),
                    starts_at: other.starts_at,
                    ends_at: other.ends_at,
                });
            }
        }
        Ok(())
    }
}

/// The price of one unit of `sku` sold through `channel` at `at`: the running
/// campaign's price if one applies, else the list price. Returns the price and the
/// campaign that set it; `None` when there is no price at all.
pub fn unit_price(
    list_price: Option<Amount>,
    campaigns: &[Campaign],
    sku: &SkuCode,
    channel: Channel,
    at: DateTime<Utc>,
) -> Option<(Amount, Option<i64>)> {
    match campaigns.iter().find(|c| c.applies(sku, channel, at)) {
        Some(c) => c.unit_price(list_price).map(|p| (p, Some(c.id))),
        None => list_price.map(|p| (p, None)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2017, 10, 15, 0, 0, 0).unwrap()
    }

    fn campaign(id: i64, skus: &[&str], start_h: i64, end_h: i64) -> Campaign {
        NewCampaign {
            name: format!("c{id}"),
            market: MarketCode::parse("IN").unwrap(),
            skus: skus.iter().map(|s| SkuCode::parse(s).unwrap()).collect(),
            price: None,
            percent_off: Some(10),
            channels: vec![Channel::Online, Channel::Store],
            starts_at: t0() + Duration::hours(start_h),
            ends_at: t0() + Duration::hours(end_h),
            allow_zero_price: false,
        }
        .validate()
        .map(|c| Campaign { id, ..c })
        .unwrap()
    }

    #[test]
    fn the_price_holds_from_start_to_just_before_the_end() {
        let c = campaign(1, &["A-1"], 0, 24);
        let sku = SkuCode::parse("A-1").unwrap();
        let list = Some(999_900);
        let at = |h: i64, s: i64| t0() + Duration::hours(h) + Duration::seconds(s);
        let price = |when| unit_price(list, std::slice::from_ref(&c), &sku, Channel::Store, when);
        assert_eq!(price(at(0, -1)), Some((999_900, None)));
        assert_eq!(price(at(0, 0)), Some((899_910, Some(1))));
        assert_eq!(price(at(24, -1)), Some((899_910, Some(1))));
        assert_eq!(price(at(24, 0)), Some((999_900, None)));
        assert_eq!(
            unit_price(
                None,
                std::slice::from_ref(&c),
                &sku,
                Channel::Store,
                at(1, 0)
            ),
            None
        );
    }

    #[test]
    fn campaigns_on_one_sku_may_touch_but_not_overlap() {
        let first = campaign(1, &["A-1", "B-1"], 0, 24);
        assert!(campaign(2, &["B-1"], 24, 48)
            .check_overlap(std::slice::from_ref(&first))
            .is_ok());
        assert!(campaign(2, &["C-1"], 0, 24)
            .check_overlap(std::slice::from_ref(&first))
            .is_ok());
        assert!(matches!(
            campaign(2, &["B-1"], 23, 48).check_overlap(std::slice::from_ref(&first)),
            Err(CampaignError::Overlap { other: 1, .. })
        ));
        assert!(matches!(
            campaign(2, &["A-1"], -5, 1).check_overlap(&[first]),
            Err(CampaignError::Overlap { .. })
        ));
    }

    #[test]
    fn terms_are_checked() {
        let base = || NewCampaign {
            name: "x".into(),
            market: MarketCode::parse("IN").unwrap(),
            skus: vec![SkuCode::parse("A-1").unwrap()],
            price: Some(100),
            percent_off: None,
            channels: vec![Channel::Online],
            starts_at: t0(),
            ends_at: t0() + Duration::hours(1),
            allow_zero_price: false,
        };
        assert!(base().validate().is_ok());
        assert!(NewCampaign {
            price: Some(0),
            ..base()
        }
        .validate()
        .is_err());
        assert!(NewCampaign {
            price: Some(0),
            allow_zero_price: true,
            ..base()
        }
        .validate()
        .is_ok());
        assert!(NewCampaign {
            percent_off: Some(5),
            ..base()
        }
        .validate()
        .is_err());
        assert!(NewCampaign {
            price: None,
            ..base()
        }
        .validate()
        .is_err());
        assert!(NewCampaign {
            price: None,
            percent_off: Some(100),
            ..base()
        }
        .validate()
        .is_err());
        assert!(NewCampaign {
            price: Some(-1),
            ..base()
        }
        .validate()
        .is_err());
        for channel in [Channel::FlashSale, Channel::Partner] {
            assert!(NewCampaign {
                channels: vec![channel],
                ..base()
            }
            .validate()
            .is_err());
        }
        assert!(NewCampaign {
            channels: vec![],
            ..base()
        }
        .validate()
        .is_err());
        assert!(NewCampaign {
            ends_at: t0(),
            ..base()
        }
        .validate()
        .is_err());
        assert!(NewCampaign {
            skus: vec![],
            ..base()
        }
        .validate()
        .is_err());
    }
}
