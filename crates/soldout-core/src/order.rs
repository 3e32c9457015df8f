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

/// What a provider's report does to an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PaymentEffect {
    pub status: OrderStatus,
    /// The report is a payment the buyer must get back (the order was paid already,
    /// or will never be handed over).
    pub refund_due: bool,
}

/// What the provider's report `outcome` does to an order in `status`: a success pays
/// a reserved order; a success for an order that is expired or cancelled makes it
/// `refund_due`; a second success for an order paid already (or handed over, or owed
/// back) is owed back too. A failure changes nothing (the buyer may retry until
/// `pay_by`).
pub fn after_payment(status: OrderStatus, outcome: PaymentOutcome) -> PaymentEffect {
    let (status, refund_due) = match (outcome, status) {
        (PaymentOutcome::Failed, status) => (status, false),
        (PaymentOutcome::Succeeded, OrderStatus::Reserved) => (OrderStatus::Paid, false),
        (PaymentOutcome::Succeeded, OrderStatus::Expired | OrderStatus::Cancelled) => {
            (OrderStatus::RefundDue, true)
        }
        (
            PaymentOutcome::Succeeded,
            status @ (OrderStatus::Paid | OrderStatus::Fulfilled | OrderStatus::RefundDue),
        ) => (status, true),
    };
    PaymentEffect { status, refund_due }
}

/// A payment provider's event as it was first received: an event id names one
/// report, so the same id again must say the same thing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentReport {
    pub event_id: String,
    pub order: OrderId,
    pub outcome: PaymentOutcome,
    pub amount: Amount,
    pub currency: Currency,
}

impl PaymentReport {
    /// Refuses a report that reuses the event id of `first` with anything else.
    pub fn check_replay_of(&self, first: &PaymentReport) -> Result<(), Rejection> {
        if self == first {
            return Ok(());
        }
        Err(Rejection::EventIdReused {
            event_id: self.event_id.clone(),
            order: first.order,
        })
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
        let effect = |status, outcome| {
            let e = after_payment(status, outcome);
            (e.status, e.refund_due)
        };
        assert_eq!(effect(Reserved, Succeeded), (Paid, false));
        assert_eq!(effect(Reserved, Failed), (Reserved, false));
        assert_eq!(effect(Expired, Succeeded), (RefundDue, true));
        assert_eq!(effect(Cancelled, Succeeded), (RefundDue, true));
        assert_eq!(
            effect(Paid, Succeeded),
            (Paid, true),
            "a second payment is owed back"
        );
        assert_eq!(effect(Fulfilled, Succeeded), (Fulfilled, true));
        assert_eq!(effect(RefundDue, Succeeded), (RefundDue, true));
        assert_eq!(effect(Paid, Failed), (Paid, false));
        for status in OrderStatus::ALL {
            assert_eq!(OrderStatus::parse(status.as_str()), Some(status));
        }
    }

    #[test]
    fn one_customer_holds_no_more_than_the_caps() {
        let sku = |s: &str| crate::SkuCode::parse(s).unwrap();
        let (a, b, c) = (sku("A-1"), sku("B-1"), sku("C-1"));
        let policy = HoldPolicy {
            units_per_sku_max: 3,
            units_max: 4,
            open_orders_max: 2,
            ..HoldPolicy::default()
        };
        let mut held = Held::default();
        assert!(policy.check(&held, &[(&a, 3)]).is_ok());
        assert!(matches!(
            policy.check(&held, &[(&a, 4)]),
            Err(HoldLimit::UnitsPerSku { max: 3, .. })
        ));
        held.open_orders = 1;
        held.units.insert(sku("A-1"), 2);
        assert!(policy.check(&held, &[(&a, 1)]).is_ok());
        assert!(matches!(
            policy.check(&held, &[(&a, 2)]),
            Err(HoldLimit::UnitsPerSku {
                held: 2,
                asked: 2,
                ..
            })
        ));
        assert!(matches!(
            policy.check(&held, &[(&b, 2), (&c, 1)]),
            Err(HoldLimit::Units {
                held: 2,
                asked: 3,
                max: 4
            })
        ));
        assert!(policy.check(&held, &[(&b, 2)]).is_ok());
        held.open_orders = 2;
        let refused = policy.check(&held, &[(&b, 1)]).unwrap_err();
        assert_eq!(refused.slug(), "unpaid-orders-limit");
        assert!(refused.to_string().contains("at most 2"), "{refused}");
    }

    #[test]
    fn pickup_holds_its_units_for_less_time_than_shipping() {
        let policy = HoldPolicy::default();
        let store = crate::LocationId::parse("store-in-delhi").unwrap();
        assert!(
            policy.hold_secs(&Fulfillment::Pickup { store }) < policy.hold_secs(&Fulfillment::Ship)
        );
        assert!(policy.validate().is_ok());
        let zero = HoldPolicy {
            open_orders_max: 0,
            ..policy
        };
        assert!(zero.validate().is_err());
    }

    #[test]
    fn an_event_id_names_one_report() {
        let first = PaymentReport {
            event_id: "evt_1".into(),
            order: OrderId::new(1, 1),
            outcome: PaymentOutcome::Succeeded,
            amount: 100,
            currency: Currency::parse("INR").unwrap(),
        };
        assert!(first.clone().check_replay_of(&first).is_ok());
        let other_amount = PaymentReport {
            amount: 101,
            ..first.clone()
        };
        assert!(matches!(
            other_amount.check_replay_of(&first),
            Err(Rejection::EventIdReused { .. })
        ));
        let other_order = PaymentReport {
            order: OrderId::new(1, 2),
            ..first.clone()
        };
        assert!(other_order.check_replay_of(&first).is_err());
        let other_outcome = PaymentReport {
            outcome: PaymentOutcome::Failed,
            ..first.clone()
        };
        assert!(other_outcome.check_replay_of(&first).is_err());
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
/// What one customer may hold unpaid in regular online orders, so that one account
/// cannot take a location's stock off sale (flash sales keep their own per-sale
/// limit), and how long an order holds its units waiting for payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HoldPolicy {
    /// Units of one SKU held unpaid across the customer's online orders.
    pub units_per_sku_max: u32,
    /// Units held unpaid across the customer's online orders.
    pub units_max: u32,
    /// Online orders the customer has open and unpaid.
    pub open_orders_max: u32,
    /// How long a shipped order holds its units waiting for payment.
    pub ship_hold_secs: i64,
    /// How long a pickup order holds the store's units: shorter, since a store's
    /// shelf is small and its counter sells from it too.
    pub pickup_hold_secs: i64,
}

impl Default for HoldPolicy {
    fn default() -> Self {
        HoldPolicy {
            units_per_sku_max: 5,
            units_max: 10,
            open_orders_max: 3,
            ship_hold_secs: 30 * 60,
            pickup_hold_secs: 15 * 60,
        }
    }
}

/// What a customer holds unpaid in online orders right now.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Held {
    pub open_orders: u32,
    /// Units held unpaid, per SKU.
    pub units: std::collections::BTreeMap<crate::SkuCode, u32>,
}

/// Which cap an online order would pass.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HoldLimit {
    #[error("you hold {held} unpaid units of {sku} and asked for {asked}; at most {max} units of one SKU may be held unpaid: pay for or cancel an order first")]
    UnitsPerSku {
        sku: crate::SkuCode,
        held: u32,
        asked: u32,
        max: u32,
    },
    #[error("you hold {held} unpaid units and asked for {asked}; at most {max} may be held unpaid: pay for or cancel an order first")]
    Units { held: u32, asked: u32, max: u32 },
    #[error("you have {held} unpaid orders open; at most {max} may be open: pay for or cancel one first")]
    OpenOrders { held: u32, max: u32 },
}

impl HoldLimit {
    pub fn slug(&self) -> &'static str {
        match self {
            HoldLimit::UnitsPerSku { .. } => "unpaid-units-per-sku-limit",
            HoldLimit::Units { .. } => "unpaid-units-limit",
            HoldLimit::OpenOrders { .. } => "unpaid-orders-limit",
        }
    }
}

impl HoldPolicy {
    /// Refuses a new order of `lines` (SKU and units) from a customer who holds
    /// `held` when it would pass a cap.
    pub fn check(&self, held: &Held, lines: &[(&crate::SkuCode, u32)]) -> Result<(), HoldLimit> {
        if held.open_orders >= self.open_orders_max {
            return Err(HoldLimit::OpenOrders {
                held: held.open_orders,
                max: self.open_orders_max,
            });
        }
        for &(sku, quantity) in lines {
            let held_here = held.units.get(sku).copied().unwrap_or(0);
            if held_here.saturating_add(quantity) > self.units_per_sku_max {
                return Err(HoldLimit::UnitsPerSku {
                    sku: sku.clone(),
                    held: held_here,
                    asked: quantity,
                    max: self.units_per_sku_max,
                });
            }
        }
        let held_units: u32 = held.units.values().sum();
        let asked: u32 = lines.iter().map(|&(_, quantity)| quantity).sum();
        if held_units.saturating_add(asked) > self.units_max {
            return Err(HoldLimit::Units {
                held: held_units,
                asked,
                max: self.units_max,
            });
        }
        Ok(())
    }

    /// How long an order fulfilled this way holds its units.
    pub fn hold_secs(&self, fulfillment: &Fulfillment) -> i64 {
        match fulfillment {
            Fulfillment::Ship => self.ship_hold_secs,
            Fulfillment::Pickup { .. } => self.pickup_hold_secs,
        }
    }

    /// Checks the settings make sense.
    pub fn validate(&self) -> Result<(), String> {
        if self.units_per_sku_max == 0 || self.units_max == 0 || self.open_orders_max == 0 {
            return Err("the unpaid-hold caps must be at least 1".into());
        }
        for (name, secs) in [
            ("ship hold", self.ship_hold_secs),
            ("pickup hold", self.pickup_hold_secs),
        ] {
            if !(60..=7 * 24 * 3600).contains(&secs) {
                return Err(format!(
                    "the {name} is {secs} s; it must be between a minute and a week"
                ));
            }
        }
        Ok(())
    }
}

/// How an online order reaches its buyer.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, serde::Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Fulfillment {
    /// Shipped from one of the market's warehouses.
    Ship,
    /// Picked up at a signature store.
    Pickup {
        #[schema(example = "store-in-bengaluru")]
        store: crate::LocationId,
    },
}

/// A SKU and how many units of it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, serde::Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderLineRequest {
    #[schema(example = "RN4-3-32-GLD")]
    pub sku: crate::SkuCode,
    #[schema(example = 1)]
    pub quantity: u32,
}

/// Body of `POST /v1/orders`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewOrder {
    #[schema(example = "IN")]
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
    #[schema(example = "RN4-3-32-GLD")]
    pub sku: crate::SkuCode,
    #[schema(example = "redmi-note-4")]
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
    /// Successful payments the buyer must get back.
    pub refunds_due: u32,
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
    #[schema(example = "RN4-3-32-GLD")]
    pub sku: crate::SkuCode,
    #[schema(example = json!(["865321030012345"]))]
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
