//! What happened in a sale, as the journal records it. Times are Unix milliseconds.

use super::ids::OrderId;
use crate::customer::CustomerId;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PaymentOutcome {
    Succeeded,
    Failed,
}

impl PaymentOutcome {
    /// Its name as stored: `succeeded` or `failed`.
    pub fn as_str(self) -> &'static str {
        match self {
            PaymentOutcome::Succeeded => "succeeded",
            PaymentOutcome::Failed => "failed",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [PaymentOutcome::Succeeded, PaymentOutcome::Failed]
            .into_iter()
            .find(|o| o.as_str() == text)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum SaleEvent {
    /// A customer registered before the start.
    Registered { customer: CustomerId },
    /// The fair-start window closed; the held requests were decided in the order this
    /// seed shuffles them into.
    FairStartDrawn { seed: u64 },
    /// Units reserved for a customer's order.
    Reserved {
        order: OrderId,
        customer: CustomerId,
        quantity: u32,
        /// Fingerprint of the customer's idempotency key.
        #[serde(with = "super::ids::fixed_u128")]
        key: u128,
        at_ms: i64,
    },
    /// The payment provider reported on an order.
    PaymentRecorded {
        order: OrderId,
        event_id: String,
        outcome: PaymentOutcome,
        at_ms: i64,
    },
    /// The buyer cancelled an unpaid order.
    Cancelled { order: OrderId, at_ms: i64 },
    /// An unpaid order passed its `pay_by`.
    Expired { order: OrderId, at_ms: i64 },
    /// The sale reached its end; its unsold units went back to the location.
    Ended { at_ms: i64 },
    /// A paid order was handed over (its serials are in the device registry).
    /// Appended last so journals written before it still decode.
    Fulfilled { order: OrderId, at_ms: i64 },
}
