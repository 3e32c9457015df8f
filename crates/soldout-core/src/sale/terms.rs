//! What a sale is: its SKU, market, location, batch size, price, window and rules.

use super::ids::SaleId;
use crate::ids::{in_range, LocationId, MarketCode, OutOfRange, ProductId, SkuCode};
use crate::money::{Amount, Currency};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Largest batch one sale may sell.
pub const SALE_QUANTITY_MAX: u32 = 1_000_000;
/// Largest per-customer limit.
pub const PER_CUSTOMER_LIMIT_MAX: u32 = 100;
/// Longest payment window: one week.
pub const PAYMENT_WINDOW_SECS_MAX: u32 = 7 * 24 * 3600;
/// Longest fair-start window: ten minutes.
pub const FAIR_START_SECS_MAX: u32 = 600;
/// Longest sale: 90 days.
pub const SALE_DAYS_MAX: i64 = 90;

/// Body of `POST /v1/sales`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSale {
    #[schema(example = "RN4-3-32-GLD")]
    pub sku: SkuCode,
    #[schema(example = "IN")]
    pub market: MarketCode,
    /// The warehouse or store whose available stock the units are allotted from.
    #[schema(example = "wh-in-sricity")]
    pub location: LocationId,
    /// Units in the batch, 1 to 1,000,000.
    #[schema(example = 5000, minimum = 1, maximum = 1000000)]
    pub quantity: u32,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    /// Most units one customer may hold in this sale (reserved, paid or fulfilled);
    /// 1 when left out.
    #[serde(default = "one")]
    #[schema(example = 2, minimum = 1, maximum = 100)]
    pub per_customer_limit: u32,
    /// Seconds a buyer has to pay before the reservation expires; 900 when left out.
    #[serde(default = "fifteen_minutes")]
    #[schema(example = 900, minimum = 1, maximum = 604800)]
    pub payment_window_secs: u32,
    /// Whether only customers who registered before the start may buy.
    #[serde(default)]
    pub registration_required: bool,
    /// Seconds after the start during which requests are collected and decided in a
    /// random order; 0 for first come, first served from the start.
    #[serde(default)]
    #[schema(minimum = 0, maximum = 600)]
    pub fair_start_secs: u32,
    /// Unit price in minor units; the market's price list when left out.
    #[serde(default)]
    #[schema(minimum = 0, maximum = 1000000000000.0)]
    pub price: Option<Amount>,
    /// A price of 0 (given, or from the price list) is refused unless this is true.
    #[serde(default)]
    pub allow_zero_price: bool,
}

fn one() -> u32 {
    1
}
fn fifteen_minutes() -> u32 {
    900
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SaleTermsError {
    #[error(transparent)]
    OutOfRange(#[from] OutOfRange),
    #[error("ends_at ({ends_at}) must be after starts_at ({starts_at}), and a sale lasts at most {SALE_DAYS_MAX} days")]
    BadWindow {
        starts_at: DateTime<Utc>,
        ends_at: DateTime<Utc>,
    },
    #[error("{}", crate::money::ZERO_PRICE_REFUSED)]
    ZeroPrice,
}

/// A sale as created: everything but its live counters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SaleTerms {
    pub id: SaleId,
    pub sku: SkuCode,
    pub product: ProductId,
    pub market: MarketCode,
    pub location: LocationId,
    pub quantity: u32,
    pub price: Amount,
    pub currency: Currency,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub per_customer_limit: u32,
    pub payment_window_secs: u32,
    pub registration_required: bool,
    pub fair_start_secs: u32,
    pub created_at: DateTime<Utc>,
}

impl NewSale {
    /// Checks the numbers and the window; the caller supplies what the catalog says
    /// (the product, the price list's price, the currency) and the new id.
    pub fn validate(
        self,
        id: SaleId,
        product: ProductId,
        list_price: Option<Amount>,
        currency: Currency,
        now: DateTime<Utc>,
    ) -> Result<SaleTerms, SaleTermsError> {
        let quantity = in_range("quantity", self.quantity, 1, SALE_QUANTITY_MAX)?;
        let per_customer_limit = in_range(
            "per_customer_limit",
            self.per_customer_limit,
            1,
            PER_CUSTOMER_LIMIT_MAX,
        )?;
        let payment_window_secs = in_range(
            "payment_window_secs",
            self.payment_window_secs,
            1,
            PAYMENT_WINDOW_SECS_MAX,
        )?;
        let fair_start_secs = in_range(
            "fair_start_secs",
            self.fair_start_secs,
            0,
            FAIR_START_SECS_MAX,
        )?;
        if self.ends_at <= self.starts_at
            || self.ends_at - self.starts_at > Duration::days(SALE_DAYS_MAX)
        {
            return Err(SaleTermsError::BadWindow {
                starts_at: self.starts_at,
                ends_at: self.ends_at,
            });
        }
        if i64::from(fair_start_secs) >= (self.ends_at - self.starts_at).num_seconds() {
            return Err(OutOfRange {
                field: "fair_start_secs (the window must close before the sale ends)",
                value: fair_start_secs.into(),
                min: 0,
                max: (self.ends_at - self.starts_at).num_seconds() - 1,
            }
            .into());
        }
        let price = in_range(
            "price (give one, or set the SKU's price in the market first)",
            self.price.or(list_price).unwrap_or(-1),
            0,
            crate::money::PRICE_MAX,
        )?;
        if price == 0 && !self.allow_zero_price {
            return Err(SaleTermsError::ZeroPrice);
        }
        Ok(SaleTerms {
            id,
            sku: self.sku,
            product,
            market: self.market,
            location: self.location,
            quantity,
            price,
            currency,
            starts_at: self.starts_at,
            ends_at: self.ends_at,
            per_customer_limit,
            payment_window_secs,
            registration_required: self.registration_required,
            fair_start_secs,
            created_at: now,
        })
    }
}

/// Where a sale stands in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SaleStatus {
    /// Before `starts_at`: registrations open.
    Scheduled,
    /// Between `starts_at` and `ends_at`.
    Active,
    /// After `ends_at`: unsold units went back to the location.
    Ended,
}

impl SaleStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            SaleStatus::Scheduled => "scheduled",
            SaleStatus::Active => "active",
            SaleStatus::Ended => "ended",
        }
    }
    pub fn parse(text: &str) -> Option<Self> {
        [SaleStatus::Scheduled, SaleStatus::Active, SaleStatus::Ended]
            .into_iter()
            .find(|s| s.as_str() == text)
    }
}

impl SaleTerms {
    pub fn status(&self, now: DateTime<Utc>) -> SaleStatus {
        if now < self.starts_at {
            SaleStatus::Scheduled
        } else if now < self.ends_at {
            SaleStatus::Active
        } else {
            SaleStatus::Ended
        }
    }

    /// When the fair-start window closes (the start itself when there is none).
    pub fn fair_start_closes_at(&self) -> DateTime<Utc> {
        self.starts_at + Duration::seconds(self.fair_start_secs.into())
    }

    /// Whether a buy arriving at `now` waits for the fair-start draw: from a minute
    /// before the start (a buyer whose clock runs early is not turned away) until the
    /// draw, which happens once the window has closed.
    pub fn holds_for_fair_start(&self, now: DateTime<Utc>, drawn: bool) -> bool {
        self.fair_start_secs > 0
            && !drawn
            && now >= self.starts_at - Duration::seconds(super::FAIR_START_EARLY_HOLD_SECS)
            && now < self.ends_at
    }
}
