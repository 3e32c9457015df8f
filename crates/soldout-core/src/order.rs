//! One order lifecycle for every channel. A flash-sale order and a regular online
//! order (shipped or picked up) move through the same states by the same rules:
//! reserved until paid or until `pay_by`, then paid, then fulfilled when handed over
//! with a serial per unit; a payment that arrives after an order expired or was
//! cancelled is owed back (`refund_due`).

use crate::money::{Amount, Currency};
use crate::sale::{OrderId, PaymentOutcome, Rejection};
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    /// Units held; waiting for payment until `pay_by`.
    Reserved,
    /// Paid; waiting for fulfilment.
    Paid,
    /// Handed over to the buyer.
    Fulfilled,
    /// Cancelled by the buyer before payment; units returned.
    Cancelled,
    /// Not paid by `pay_by`; units returned.
    Expired,
    /// Paid after it had expired or been cancelled: the money goes back.
    RefundDue,
}

impl OrderStatus {
    pub const ALL: [OrderStatus; 6] = [
        OrderStatus::Reserved,
        OrderStatus::Paid,
        OrderStatus::Fulfilled,
        OrderStatus::Cancelled,
        OrderStatus::Expired,
        OrderStatus::RefundDue,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Reserved => "reserved",
            OrderStatus::Paid => "paid",
            OrderStatus::Fulfilled => "fulfilled",
            OrderStatus::Cancelled => "cancelled",
            OrderStatus::Expired => "expired",
            OrderStatus::RefundDue => "refund_due",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

/// The status after the provider reports `outcome`: a success pays a reserved order
/// and makes an expired or cancelled one `refund_due`; a failure changes nothing
/// (the buyer may retry until `pay_by`).
pub fn after_payment(status: OrderStatus, outcome: PaymentOutcome) -> OrderStatus {
    match (outcome, status) {
        (PaymentOutcome::Succeeded, OrderStatus::Reserved) => OrderStatus::Paid,
        (PaymentOutcome::Succeeded, OrderStatus::Expired | OrderStatus::Cancelled) => {
            OrderStatus::RefundDue
        }
        (_, status) => status,
    }
}

/// A payment must be for exactly the order's amount, in its currency.
pub fn check_payment(
    order: OrderId,
    (expected_amount, expected_currency): (Amount, Currency),
    (amount, currency): (Amount, Currency),
) -> Result<(), Rejection> {
    if amount != expected_amount || currency != expected_currency {
        return Err(Rejection::PaymentMismatch {
            order,
            expected_amount,
            currency: expected_currency,
        });
    }
    Ok(())
}

/// Only an unpaid (reserved) order may be cancelled.
pub fn check_cancel(order: OrderId, status: OrderStatus) -> Result<(), Rejection> {
    if status != OrderStatus::Reserved {
        return Err(Rejection::NotCancellable { order, status });
    }
    Ok(())
}

/// Only a paid order is handed over.
pub fn check_fulfil(order: OrderId, status: OrderStatus) -> Result<(), Rejection> {
    if status != OrderStatus::Paid {
        return Err(Rejection::NotFulfillable { order, status });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payments_move_orders_the_same_way_in_every_channel() {
        use OrderStatus::*;
        use PaymentOutcome::*;
        assert_eq!(after_payment(Reserved, Succeeded), Paid);
        assert_eq!(after_payment(Reserved, Failed), Reserved);
        assert_eq!(after_payment(Expired, Succeeded), RefundDue);
        assert_eq!(after_payment(Cancelled, Succeeded), RefundDue);
        assert_eq!(after_payment(Paid, Succeeded), Paid);
        assert_eq!(after_payment(Fulfilled, Succeeded), Fulfilled);
        for status in OrderStatus::ALL {
            assert_eq!(OrderStatus::parse(status.as_str()), Some(status));
        }
    }

    #[test]
    fn only_paid_orders_are_handed_over_with_a_serial_per_unit() {
        let id = OrderId::new(1, 1);
        assert!(check_fulfil(id, OrderStatus::Paid).is_ok());
        assert!(matches!(
            check_fulfil(id, OrderStatus::Reserved),
            Err(Rejection::NotFulfillable { .. })
        ));
        let sku = |s: &str| crate::SkuCode::parse(s).unwrap();
        let serials = |s: &[&str]| s.iter().map(|s| crate::Serial::parse(s).unwrap()).collect();
        let lines = [(sku("A-1"), 2), (sku("B-1"), 1)];
        let handed = |a: &[&str], b: &[&str]| {
            vec![
                HandedOver {
                    sku: sku("A-1"),
                    serials: serials(a),
                },
                HandedOver {
                    sku: sku("B-1"),
                    serials: serials(b),
                },
            ]
        };
        assert!(check_hand_over(id, &lines, &handed(&["S1", "S2"], &["S3"])).is_ok());
        assert!(check_hand_over(id, &lines, &handed(&["S1"], &["S3"])).is_err());
        assert!(check_hand_over(id, &lines, &handed(&["S1", "S2"], &["S2"])).is_err());
        assert!(check_hand_over(id, &lines[..1], &handed(&["S1", "S2"], &["S3"])).is_err());
        assert!(check_cancel(id, OrderStatus::Reserved).is_ok());
        assert!(check_cancel(id, OrderStatus::Paid).is_err());
    }
}

/// Most lines on one online order, and most units of one SKU on it.
pub const ORDER_LINES_MAX: usize = 20;
pub const ORDER_LINE_QUANTITY_MAX: u32 = 100;
/// How long a regular online order holds its units waiting for payment.
pub const ONLINE_PAYMENT_WINDOW_SECS: i64 = 30 * 60;

/// How an online order reaches its buyer.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, serde::Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Fulfillment {
    /// Shipped from one of the market's warehouses.
    Ship,
    /// Picked up at a signature store.
    Pickup {
        #[schema(value_type = String, example = "store-in-bengaluru")]
        store: crate::LocationId,
    },
}

/// A SKU and how many units of it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, serde::Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderLineRequest {
    #[schema(value_type = String, example = "RN4-3-32-GLD")]
    pub sku: crate::SkuCode,
    #[schema(example = 1)]
    pub quantity: u32,
}

/// Body of `POST /v1/orders`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewOrder {
    #[schema(value_type = String, example = "IN")]
    pub market: crate::MarketCode,
    pub lines: Vec<OrderLineRequest>,
    pub fulfillment: Fulfillment,
}

impl NewOrder {
    /// 1 to [`ORDER_LINES_MAX`] lines, each SKU once, 1 to
    /// [`ORDER_LINE_QUANTITY_MAX`] units each.
    pub fn validate(&self) -> Result<(), String> {
        if self.lines.is_empty() || self.lines.len() > ORDER_LINES_MAX {
            return Err(format!(
                "an order has 1 to {ORDER_LINES_MAX} lines; this one has {}",
                self.lines.len()
            ));
        }
        let mut seen = std::collections::HashSet::new();
        for line in &self.lines {
            if line.quantity == 0 || line.quantity > ORDER_LINE_QUANTITY_MAX {
                return Err(format!(
                    "the quantity of {} is {}; it must be between 1 and {ORDER_LINE_QUANTITY_MAX}",
                    line.sku, line.quantity
                ));
            }
            if !seen.insert(&line.sku) {
                return Err(format!("{} appears on two lines", line.sku));
            }
        }
        Ok(())
    }

    /// A fingerprint of the request, so the same idempotency key with another
    /// request is told apart.
    pub fn fingerprint(&self) -> i64 {
        let text = format!("{self:?}");
        xxhash_rust::xxh3::xxh3_64(text.as_bytes()) as i64
    }
}

/// One line of an order, priced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct OrderLine {
    #[schema(value_type = String, example = "RN4-3-32-GLD")]
    pub sku: crate::SkuCode,
    #[schema(value_type = String, example = "redmi-note-4")]
    pub product: crate::ProductId,
    pub quantity: u32,
    /// Price of one unit in minor units of the order's currency.
    pub unit_price: Amount,
    /// The campaign whose price applied, if one did.
    pub campaign: Option<i64>,
}

/// A regular online order as the store keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OnlineOrder {
    pub id: OrderId,
    pub customer: crate::CustomerId,
    pub market: crate::MarketCode,
    /// The warehouse it ships from or the store it is picked up at.
    pub location: crate::LocationId,
    pub fulfillment: Fulfillment,
    pub status: OrderStatus,
    pub lines: Vec<OrderLine>,
    pub amount: Amount,
    pub currency: Currency,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub pay_by: chrono::DateTime<chrono::Utc>,
}

impl OnlineOrder {
    pub fn quantity(&self) -> u32 {
        self.lines.iter().map(|l| l.quantity).sum()
    }
}

/// The serials handed over for one line of an order.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HandedOver {
    #[schema(value_type = String, example = "RN4-3-32-GLD")]
    pub sku: crate::SkuCode,
    #[schema(value_type = Vec<String>, example = json!(["865321030012345"]))]
    pub serials: Vec<crate::Serial>,
}

/// Checks a hand-over against an order's lines: the same SKUs, one serial per
/// unit, no serial twice.
pub fn check_hand_over(
    order: OrderId,
    lines: &[(crate::SkuCode, u32)],
    handed: &[HandedOver],
) -> Result<(), Rejection> {
    let total: u32 = lines.iter().map(|(_, q)| q).sum();
    let given: usize = handed.iter().map(|h| h.serials.len()).sum();
    let mut serials = std::collections::HashSet::new();
    let all_distinct = handed
        .iter()
        .flat_map(|h| &h.serials)
        .all(|s| serials.insert(s));
    let matches = handed.len() == lines.len()
        && lines.iter().all(|(sku, quantity)| {
            handed
                .iter()
                .find(|h| &h.sku == sku)
                .is_some_and(|h| h.serials.len() == *quantity as usize)
        });
    if !matches || !all_distinct {
        return Err(Rejection::SerialCount {
            order,
            quantity: total,
            serials: given,
        });
    }
    Ok(())
}
