//! Selling over the counter at a signature store, online or synced later from a
//! store that lost its connection, and the rules that decide what a sale records.
//!
//! A point-of-sale sale names each unit's serial; the number of serials equals the
//! quantity of each line and no serial appears twice. An offline sale is a fact (the
//! phone left the store), so it is recorded even when the ledger shows too little
//! stock: [`offline_take`] says how much the ledger can give and how much becomes a
//! discrepancy.

use crate::ids::{bounded_text, LocationId, MarketCode, Serial, SkuCode, TextError};
use crate::money::{Amount, Currency};
use crate::ProductId;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use utoipa::ToSchema;

/// Most lines on one receipt.
pub const POS_LINES_MAX: usize = 20;
/// Most units of one SKU on one receipt.
pub const POS_LINE_QUANTITY_MAX: u32 = 100;
/// Longest `client_id` a point of sale may send.
pub const CLIENT_ID_LEN_MAX: usize = 100;
/// Most sales one offline sync carries.
pub const SYNC_BATCH_MAX: usize = 1_000;
/// Offline sales older than this are refused: they belong to a stock count, not a sync.
pub const OFFLINE_SALE_AGE_MAX_DAYS: i64 = 30;
/// How far ahead of the server's clock a point of sale's clock may run.
pub const OFFLINE_CLOCK_SKEW_MAX_SECS: i64 = 300;

/// How a unit left the company; every order, sale and shipment has one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    FlashSale,
    Online,
    Store,
    /// Sell-in to partners (carriers, retailers), known from imports.
    Partner,
}

impl Channel {
    pub const ALL: [Channel; 4] = [
        Channel::FlashSale,
        Channel::Online,
        Channel::Store,
        Channel::Partner,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Channel::FlashSale => "flash_sale",
            Channel::Online => "online",
            Channel::Store => "store",
            Channel::Partner => "partner",
        }
    }
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == text)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PaymentMethod {
    Cash,
    Card,
}

impl PaymentMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            PaymentMethod::Cash => "cash",
            PaymentMethod::Card => "card",
        }
    }
    pub fn parse(text: &str) -> Option<Self> {
        [PaymentMethod::Cash, PaymentMethod::Card]
            .into_iter()
            .find(|m| m.as_str() == text)
    }
}

/// How a receipt was paid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PosPayment {
    pub method: PaymentMethod,
    /// The card terminal's reference, if any.
    #[schema(
        example = "TID-4471-000912",
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$"
    )]
    pub reference: Option<String>,
}

/// One line of a point-of-sale request.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPosLine {
    #[schema(example = "RN4-3-32-GLD")]
    pub sku: SkuCode,
    #[schema(example = 1, minimum = 1, maximum = 100)]
    pub quantity: u32,
    /// One serial or IMEI per unit handed over.
    #[schema(example = json!(["865321030012345"]))]
    pub serials: Vec<Serial>,
}

/// Body of `POST /v1/locations/{store}/sales`; with `occurred_at`, one sale of an
/// offline sync.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPosSale {
    #[schema(min_items = 1, max_items = 20)]
    pub lines: Vec<NewPosLine>,
    pub payment: PosPayment,
    /// The point of sale's own id for this sale, unique per store: sending it again
    /// records nothing new.
    #[schema(
        example = "pos-3-000187",
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$"
    )]
    pub client_id: String,
    /// When the sale happened (offline sync only; an online sale happens now).
    pub occurred_at: Option<DateTime<Utc>>,
}

/// A checked line: as many serials as units, none repeated on the receipt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PosLine {
    pub sku: SkuCode,
    pub serials: Vec<Serial>,
}

impl PosLine {
    pub fn quantity(&self) -> i64 {
        self.serials.len() as i64
    }
}

/// A checked point-of-sale request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PosSaleRequest {
    pub client_id: String,
    pub lines: Vec<PosLine>,
    pub payment: PosPayment,
    pub occurred_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PosError {
    #[error("a sale needs 1 to {POS_LINES_MAX} lines; this one has {0}")]
    LineCount(usize),
    #[error(
        "the quantity of {sku} is {quantity}; it must be between 1 and {POS_LINE_QUANTITY_MAX}"
    )]
    Quantity { sku: SkuCode, quantity: u32 },
    #[error("{sku} has quantity {quantity} but {serials} serials; give one serial per unit")]
    SerialCount {
        sku: SkuCode,
        quantity: u32,
        serials: usize,
    },
    #[error("serial {0} appears twice in this sale")]
    DuplicateSerial(Serial),
    #[error("{sku} appears on two lines; put its units on one line")]
    DuplicateSku { sku: SkuCode },
    #[error(transparent)]
    Text(#[from] TextError),
    #[error("client_id is {0} characters long; at most {CLIENT_ID_LEN_MAX} are allowed")]
    ClientIdTooLong(usize),
    #[error("occurred_at {occurred_at} is more than {OFFLINE_SALE_AGE_MAX_DAYS} days before {now}; record it with a stock adjustment instead")]
    TooOld {
        occurred_at: DateTime<Utc>,
        now: DateTime<Utc>,
    },
    #[error("occurred_at {occurred_at} is in the future (the server's clock says {now})")]
    InTheFuture {
        occurred_at: DateTime<Utc>,
        now: DateTime<Utc>,
    },
    #[error("an offline sale needs occurred_at, the time it happened")]
    MissingOccurredAt,
    #[error("occurred_at is only for an offline sync (POST /v1/locations/{{store}}/sales:sync)")]
    UnexpectedOccurredAt,
}

impl NewPosSale {
    pub fn validate(self) -> Result<PosSaleRequest, PosError> {
        let client_id = bounded_text("client_id", &self.client_id)?;
        let len = client_id.chars().count();
        if len > CLIENT_ID_LEN_MAX {
            return Err(PosError::ClientIdTooLong(len));
        }
        if self.lines.is_empty() || self.lines.len() > POS_LINES_MAX {
            return Err(PosError::LineCount(self.lines.len()));
        }
        let mut serials_seen = HashSet::new();
        let mut skus_seen = HashSet::new();
        let mut lines = Vec::with_capacity(self.lines.len());
        for line in self.lines {
            if line.quantity == 0 || line.quantity > POS_LINE_QUANTITY_MAX {
                return Err(PosError::Quantity {
                    sku: line.sku,
                    quantity: line.quantity,
                });
            }
            if line.serials.len() != line.quantity as usize {
                return Err(PosError::SerialCount {
                    sku: line.sku,
                    quantity: line.quantity,
                    serials: line.serials.len(),
                });
            }
            if !skus_seen.insert(line.sku.clone()) {
                return Err(PosError::DuplicateSku { sku: line.sku });
            }
            for serial in &line.serials {
                if !serials_seen.insert(serial.clone()) {
                    return Err(PosError::DuplicateSerial(serial.clone()));
                }
            }
            lines.push(PosLine {
                sku: line.sku,
                serials: line.serials,
            });
        }
        let reference = self
            .payment
            .reference
            .as_deref()
            .map(|r| bounded_text("payment.reference", r))
            .transpose()?;
        Ok(PosSaleRequest {
            client_id,
            lines,
            payment: PosPayment {
                method: self.payment.method,
                reference,
            },
            occurred_at: self.occurred_at,
        })
    }
}

impl PosSaleRequest {
    /// When the sale happened: now for an online sale (which must not claim another
    /// time), the stated time for an offline one, within the last 30 days.
    pub fn when(&self, offline: bool, now: DateTime<Utc>) -> Result<DateTime<Utc>, PosError> {
        match (offline, self.occurred_at) {
            (false, None) => Ok(now),
            (false, Some(_)) => Err(PosError::UnexpectedOccurredAt),
            (true, None) => Err(PosError::MissingOccurredAt),
            (true, Some(occurred_at)) => {
                if occurred_at < now - Duration::days(OFFLINE_SALE_AGE_MAX_DAYS) {
                    Err(PosError::TooOld { occurred_at, now })
                } else if occurred_at > now + Duration::seconds(OFFLINE_CLOCK_SKEW_MAX_SECS) {
                    Err(PosError::InTheFuture { occurred_at, now })
                } else {
                    Ok(occurred_at)
                }
            }
        }
    }
}

impl PosSaleRequest {
    /// A fingerprint of what was sold and how it was paid (not of when: an online
    /// sale and its offline resend are the same sale), so a `client_id` reused for
    /// another sale is told apart from a resend.
    pub fn fingerprint(&self) -> i64 {
        let text = format!("{:?}|{:?}", self.lines, self.payment);
        xxhash_rust::xxh3::xxh3_64(text.as_bytes()) as i64
    }
}

/// What the ledger records of an offline sale of `quantity` units when `available`
/// are on record: `(taken, short)`. The ledger gives what it has (so neither
/// `on_hand` nor `available` goes below zero, and units held for online orders stay
/// held); the rest is a discrepancy for someone to count.
pub fn offline_take(available: i64, quantity: i64) -> (i64, i64) {
    let taken = quantity.min(available.max(0));
    (taken, quantity - taken)
}

/// One line of a receipt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ReceiptLine {
    #[schema(example = "RN4-3-32-GLD")]
    pub sku: SkuCode,
    #[schema(example = "redmi-note-4")]
    pub product: ProductId,
    pub quantity: u32,
    /// Price of one unit, in minor units of the receipt's currency.
    pub unit_price: Amount,
    /// `unit_price × quantity`.
    pub amount: Amount,
    /// The campaign whose price applied, if one did.
    pub campaign: Option<i64>,
    pub serials: Vec<Serial>,
}

/// A recorded point-of-sale sale.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Receipt {
    pub id: i64,
    #[schema(example = "store-in-bengaluru")]
    pub store: LocationId,
    #[schema(example = "IN")]
    pub market: MarketCode,
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$"
    )]
    pub client_id: String,
    /// The clerk who rang it up.
    pub clerk: Option<i64>,
    /// When the sale happened.
    pub occurred_at: DateTime<Utc>,
    /// When the server recorded it (later than `occurred_at` for an offline sale).
    pub recorded_at: DateTime<Utc>,
    /// Synced after the fact from a store that was offline.
    pub offline: bool,
    pub lines: Vec<ReceiptLine>,
    /// Sum of the lines, in minor units of `currency`.
    pub total: Amount,
    #[schema(value_type = String, example = "INR")]
    pub currency: Currency,
    pub payment: PosPayment,
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn body(lines: serde_json::Value) -> NewPosSale {
        serde_json::from_value(serde_json::json!({
            "lines": lines,
            "payment": {"method": "cash", "reference": null},
            "client_id": "pos-1",
        }))
        .unwrap()
    }

    #[test]
    fn each_unit_needs_its_own_serial() {
        let ok = body(serde_json::json!([{"sku": "A-1", "quantity": 2, "serials": ["S1", "S2"]}]));
        assert_eq!(ok.validate().unwrap().lines[0].quantity(), 2);
        let short = body(serde_json::json!([{"sku": "A-1", "quantity": 2, "serials": ["S1"]}]));
        assert!(matches!(
            short.validate(),
            Err(PosError::SerialCount { serials: 1, .. })
        ));
        let twice = body(serde_json::json!([
            {"sku": "A-1", "quantity": 1, "serials": ["S1"]},
            {"sku": "B-1", "quantity": 1, "serials": ["S1"]}
        ]));
        assert!(matches!(
            twice.validate(),
            Err(PosError::DuplicateSerial(_))
        ));
        let zero = body(serde_json::json!([{"sku": "A-1", "quantity": 0, "serials": []}]));
        assert!(matches!(zero.validate(), Err(PosError::Quantity { .. })));
        assert!(matches!(
            body(serde_json::json!([])).validate(),
            Err(PosError::LineCount(0))
        ));
    }

    #[test]
    fn offline_sales_keep_to_the_last_thirty_days() {
        let now = Utc.with_ymd_and_hms(2017, 8, 1, 12, 0, 0).unwrap();
        let mut request =
            body(serde_json::json!([{"sku": "A-1", "quantity": 1, "serials": ["S1"]}]))
                .validate()
                .unwrap();
        assert_eq!(request.when(false, now), Ok(now));
        assert_eq!(request.when(true, now), Err(PosError::MissingOccurredAt));
        let day = Duration::days(1);
        for (at, ok) in [
            (now - day * 30, true),
            (now - day * 30 - Duration::seconds(1), false),
            (now + Duration::seconds(OFFLINE_CLOCK_SKEW_MAX_SECS), true),
            (
                now + Duration::seconds(OFFLINE_CLOCK_SKEW_MAX_SECS + 1),
                false,
            ),
        ] {
            request.occurred_at = Some(at);
            assert_eq!(request.when(true, now).is_ok(), ok, "{at}");
            assert_eq!(
                request.when(false, now),
                Err(PosError::UnexpectedOccurredAt)
            );
        }
    }

    #[test]
    fn the_ledger_gives_what_it_has_and_the_rest_is_a_discrepancy() {
        assert_eq!(offline_take(5, 2), (2, 0));
        assert_eq!(offline_take(1, 3), (1, 2));
        assert_eq!(offline_take(0, 3), (0, 3));
        assert_eq!(offline_take(-1, 3), (0, 3));
    }
}
