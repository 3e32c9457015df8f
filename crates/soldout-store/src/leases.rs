//! What the store says about a sale sold by several nodes through allotment leases:
//! a node's lease, what is left across every node, one buy of a batch and what the
//! database made of it, and the signals nodes send each other through the database.

use chrono::{DateTime, Utc};
use soldout_core::sale::{Order, OrderId, SaleCounters, SaleId};
use soldout_core::CustomerId;

/// A node's lease of a block of a sale's units, as the database granted or renewed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lease {
    /// The fencing token: only ever grows for a sale. A batch commits only under the
    /// epoch of the node's live lease.
    pub epoch: i64,
    /// Units leased to the node under this epoch, and of those sold.
    pub granted: u32,
    pub sold: u32,
    /// How long the lease is live, by the database's clock, from when it answered.
    pub live_for_ms: i64,
}

impl Lease {
    pub fn unsold(&self) -> u32 {
        self.granted - self.sold
    }
}

/// A leased sale across every node, as of one consistent read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolState {
    /// Units no node holds.
    pub unleased: u32,
    /// Units leased to a node (any node, this one included) and not sold yet.
    pub leased_unsold: u32,
    pub ended: bool,
    /// The fair-start draw's seed, once a node closed the draw's entries.
    pub fair_start_seed: Option<u64>,
    /// Whether the draw's orders are written.
    pub drawn: bool,
    pub sold_out_at: Option<DateTime<Utc>>,
    /// `available` is `unleased + leased_unsold`.
    pub counters: SaleCounters,
}

/// One buy of a leased batch, decided by its node as far as the node can: the
/// database decides the key and the customer's limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeasedBuy {
    pub order: OrderId,
    pub customer: CustomerId,
    pub quantity: u32,
    /// The idempotency key's fingerprint (it includes the customer).
    pub key: u128,
    pub at: DateTime<Utc>,
}

/// What the database made of one [`LeasedBuy`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LeasedOutcome {
    /// The order is placed, as asked.
    Placed,
    /// The key bought this order before (on any node): the answer is that order.
    Replay(Order),
    /// The key bought another quantity before.
    KeyMismatch { original: u32 },
    /// The customer's units across every node would pass the limit (or their orders
    /// the most orders one customer may place).
    LimitReached { held: u32 },
    /// The sale is for registered customers and this one is not.
    NotRegistered,
}

/// What one node tells the others about a sale, through the database (PostgreSQL's
/// `LISTEN`/`NOTIFY`; within the process on SQLite).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SaleSignal {
    /// Units came back, ran out, or the sale ended: read the pool again.
    Changed(SaleId),
    /// A node has no units and the pool is empty: whoever holds unsold units and
    /// does not need them all should give some back.
    NeedUnits(SaleId),
    /// A sale was created on some node.
    Created(SaleId),
}

impl SaleSignal {
    /// The signal as a `NOTIFY` payload.
    pub fn encode(&self) -> String {
        match self {
            SaleSignal::Changed(s) => format!("changed {}", s.0),
            SaleSignal::NeedUnits(s) => format!("need {}", s.0),
            SaleSignal::Created(s) => format!("created {}", s.0),
        }
    }

    pub fn decode(payload: &str) -> Option<SaleSignal> {
        let (kind, id) = payload.split_once(' ')?;
        let sale = SaleId(id.parse().ok()?);
        match kind {
            "changed" => Some(SaleSignal::Changed(sale)),
            "need" => Some(SaleSignal::NeedUnits(sale)),
            "created" => Some(SaleSignal::Created(sale)),
            _ => None,
        }
    }

    pub fn sale(&self) -> SaleId {
        match *self {
            SaleSignal::Changed(s) | SaleSignal::NeedUnits(s) | SaleSignal::Created(s) => s,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signals_survive_their_payload() {
        for signal in [
            SaleSignal::Changed(SaleId(7)),
            SaleSignal::NeedUnits(SaleId(8)),
            SaleSignal::Created(SaleId(9)),
        ] {
            assert_eq!(SaleSignal::decode(&signal.encode()), Some(signal));
        }
        assert_eq!(SaleSignal::decode("changed x"), None);
        assert_eq!(SaleSignal::decode("other 1"), None);
    }
}

/// The fair-start draw's entries as every node reads them once the seed closed them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DrawEntries {
    pub seed: u64,
    /// Whether a node already wrote the draw's orders.
    pub drawn: bool,
    pub entries: Vec<soldout_core::sale::draw::HeldBuy>,
    /// The entries' customers who registered (when the sale asks for registration).
    pub registered: Vec<CustomerId>,
}
