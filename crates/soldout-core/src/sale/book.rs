//! A sale's state and its rules: decide a command against the state (yielding an
//! event or a rejection), apply an event to the state. Deciding never mutates;
//! applying never refuses. After every applied event
//! `available + reserved + paid + fulfilled + released == quantity`, asserted here.

use super::curve::SoldCurve;
use super::event::{PaymentOutcome, SaleEvent};
use super::ids::OrderId;
use super::terms::SaleTerms;
use crate::customer::CustomerId;
use crate::money::{Amount, Currency};
use crate::order::{self, OrderStatus};
use chrono::{DateTime, Utc};
use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
use serde::Serialize;
use std::collections::VecDeque;
use utoipa::ToSchema;

/// How long before the start a fair-start sale holds requests instead of refusing
/// them as not started.
pub const FAIR_START_EARLY_HOLD_SECS: i64 = 60;
/// Most orders a book makes room for when it is created: as many as a sale can hold
/// (each order is at least one unit).
const ORDERS_PRESIZED_MAX: usize = crate::sale::SALE_QUANTITY_MAX as usize;
/// Longest payment event id we keep.
pub const PAYMENT_EVENT_ID_LEN_MAX: usize = 200;

/// An order in a flash sale.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order {
    pub id: OrderId,
    pub customer: CustomerId,
    pub quantity: u32,
    /// `price × quantity`, in minor units of the sale's currency.
    pub amount: Amount,
    pub status: OrderStatus,
    pub created_at_ms: i64,
    pub pay_by_ms: i64,
    /// Failed payment attempts the provider reported.
    pub payment_failures: u32,
    /// Successful payments the buyer must get back (a second payment, or one after
    /// the order expired or was cancelled).
    pub refunds_due: u32,
}

/// Why a command was refused. Each maps to one problem type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    #[error("sold out: no units left in this sale")]
    SoldOut,
    #[error("the limit is {limit} units per customer in this sale; you hold {held} and asked for {asked}")]
    LimitReached { limit: u32, held: u32, asked: u32 },
    #[error("this sale is for registered customers; registrations closed at the start")]
    NotRegistered,
    #[error("the sale starts at {starts_at}")]
    NotStarted { starts_at: DateTime<Utc> },
    #[error("the sale ended at {ends_at}")]
    Ended { ends_at: DateTime<Utc> },
    #[error("the fair-start window is still open; the request must be held until it closes")]
    FairStartPending,
    #[error("registrations closed when the sale started at {starts_at}")]
    RegistrationClosed { starts_at: DateTime<Utc> },
    #[error("this Idempotency-Key was used with a different request (quantity {original}); use a new key for a new request")]
    IdempotencyMismatch { original: u32 },
    #[error("order {0} does not exist")]
    UnknownOrder(OrderId),
    #[error("order {order} is {status} and can no longer be cancelled", status = status.as_str())]
    NotCancellable { order: OrderId, status: OrderStatus },
    #[error("order {order} is {status} and cannot be fulfilled; only a paid order is handed over", status = status.as_str())]
    NotFulfillable { order: OrderId, status: OrderStatus },
    #[error("order {order} has {quantity} units but {serials} serials were given; give each line of the order with one serial per unit, each serial once")]
    SerialCount {
        order: OrderId,
        quantity: u32,
        serials: usize,
    },
    #[error("the payment does not match order {order}: it is for {expected_amount} {currency} in minor units")]
    PaymentMismatch {
        order: OrderId,
        expected_amount: Amount,
        currency: Currency,
    },
    #[error("event id {event_id:?} was received before with another report (about order {order}); a provider's event id names one report, so nothing was applied")]
    EventIdReused { event_id: String, order: OrderId },
    #[error("{0}")]
    HoldLimit(order::HoldLimit),
}

impl Rejection {
    /// The stable name of this kind of refusal: the last segment of its problem
    /// type, and how reports count it.
    pub fn slug(&self) -> &'static str {
        match self {
            Rejection::SoldOut => "sold-out",
            Rejection::LimitReached { .. } => "limit-reached",
            Rejection::NotRegistered => "not-registered",
            Rejection::NotStarted { .. } | Rejection::FairStartPending => "not-started",
            Rejection::Ended { .. } => "ended",
            Rejection::RegistrationClosed { .. } => "registration-closed",
            Rejection::IdempotencyMismatch { .. } => "idempotency-mismatch",
            Rejection::UnknownOrder(_) => "not-found",
            Rejection::NotCancellable { .. } => "not-cancellable",
            Rejection::PaymentMismatch { .. } => "payment-mismatch",
            Rejection::NotFulfillable { .. } => "not-fulfillable",
            Rejection::SerialCount { .. } => "serial-count",
            Rejection::EventIdReused { .. } => "event-id-reused",
            Rejection::HoldLimit(limit) => limit.slug(),
        }
    }
}

/// What a buy request comes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BuyOutcome {
    /// A new reservation: journal this event, then answer with the order.
    Reserve(SaleEvent),
    /// The same key with the same request again: answer with this existing order.
    Replay(OrderId),
}

/// What a payment report comes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaymentAck {
    /// Journal this event.
    Record(SaleEvent),
    /// This event id was applied before: nothing to do.
    Duplicate,
}

/// The live counters of a sale.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, ToSchema)]
pub struct SaleCounters {
    pub quantity: u32,
    pub available: u32,
    pub reserved: u32,
    pub paid: u32,
    pub fulfilled: u32,
    /// Units given back to the location after the end.
    pub released: u32,
    pub registrations: u32,
}

impl SaleCounters {
    fn balanced(&self) -> bool {
        u64::from(self.available)
            + u64::from(self.reserved)
            + u64::from(self.paid)
            + u64::from(self.fulfilled)
            + u64::from(self.released)
            == u64::from(self.quantity)
    }
}

pub fn to_ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

pub fn from_ms(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// Whether a buy may be decided at `now` at all: the sale has started and not ended,
/// and its fair-start draw (if it has one) has happened. The same rule for a sale
/// sold by one owner and one sold by several nodes.
pub fn check_buy_window(
    terms: &SaleTerms,
    now: DateTime<Utc>,
    ended: bool,
    drawn: bool,
) -> Result<(), Rejection> {
    if ended || now >= terms.ends_at {
        return Err(Rejection::Ended {
            ends_at: terms.ends_at,
        });
    }
    if now < terms.starts_at {
        return Err(Rejection::NotStarted {
            starts_at: terms.starts_at,
        });
    }
    if terms.fair_start_secs > 0 && !drawn {
        return Err(Rejection::FairStartPending);
    }
    Ok(())
}

/// What one customer has in a sale.
#[derive(Debug, Clone, Copy, Default)]
struct Tally {
    /// Reserved, paid or fulfilled units.
    held: u32,
    /// Orders ever placed, whatever became of them.
    orders: u32,
}

/// Most orders one customer may place in one sale (cancelled and expired ones
/// included), so a buy-and-cancel loop cannot grow a sale without bound.
pub const ORDERS_PER_CUSTOMER_MAX: u32 = 50;

/// Whether a customer who holds `held` units in `orders` orders may buy `quantity`
/// more under `limit`: the per-customer rule, wherever it is decided.
pub fn within_limit(limit: u32, held: u32, orders: u32, quantity: u32) -> bool {
    quantity > 0 && held.saturating_add(quantity) <= limit && orders < ORDERS_PER_CUSTOMER_MAX
}

pub struct SaleBook {
    terms: SaleTerms,
    counters: SaleCounters,
    registrations: HashSet<CustomerId>,
    /// Per customer: units held (reserved, paid or fulfilled) and orders placed.
    tallies: HashMap<CustomerId, Tally>,
    by_key: HashMap<u128, OrderId>,
    orders: HashMap<OrderId, Order>,
    /// Orders by `pay_by`, oldest first. Entries of orders that are no longer
    /// reserved are skipped (and trimmed from the front) rather than searched for.
    expiries: VecDeque<(i64, OrderId)>,
    payment_events: HashSet<String>,
    fair_start_seed: Option<u64>,
    ended: bool,
    sold_out_at_ms: Option<i64>,
    sold_curve: SoldCurve,
}

impl SaleBook {
    pub fn new(terms: SaleTerms) -> Self {
        // Room for every order the sale can make, up front: a map that doubles while
        // the rush runs stops it to move every order and fault in a fresh table, which
        // halved the engine's decisions per second at a million units and showed in
        // the HTTP tail. The memory is only virtual until orders fill it.
        let expected_orders = (terms.quantity as usize).min(ORDERS_PRESIZED_MAX);
        let counters = SaleCounters {
            quantity: terms.quantity,
            available: terms.quantity,
            ..SaleCounters::default()
        };
        SaleBook {
            terms,
            counters,
            registrations: HashSet::default(),
            tallies: HashMap::default(),
            by_key: HashMap::with_capacity_and_hasher(expected_orders, Default::default()),
            orders: HashMap::with_capacity_and_hasher(expected_orders, Default::default()),
            expiries: VecDeque::with_capacity(expected_orders),
            payment_events: HashSet::default(),
            fair_start_seed: None,
            ended: false,
            sold_out_at_ms: None,
            sold_curve: SoldCurve::default(),
        }
    }

    pub fn terms(&self) -> &SaleTerms {
        &self.terms
    }
    pub fn counters(&self) -> SaleCounters {
        self.counters
    }
    pub fn order(&self, id: OrderId) -> Option<&Order> {
        self.orders.get(&id)
    }
    pub fn fair_start_seed(&self) -> Option<u64> {
        self.fair_start_seed
    }
    /// When the last unit was reserved, if it has been.
    pub fn sold_out_at(&self) -> Option<DateTime<Utc>> {
        self.sold_out_at_ms.map(from_ms)
    }

    /// Units held for buyers (reserved, paid or fulfilled) over time.
    pub fn sold_curve(&self) -> &SoldCurve {
        &self.sold_curve
    }

    /// Whether a buy request arriving now must be held for the fair-start draw.
    pub fn holds_for_fair_start(&self, now: DateTime<Utc>) -> bool {
        self.terms
            .holds_for_fair_start(now, self.fair_start_seed.is_some())
    }

    /// The next instant at which something is due without a request: the fair-start
    /// draw, an expiry, or the end.
    pub fn next_deadline(&self) -> Option<DateTime<Utc>> {
        let draw = (self.terms.fair_start_secs > 0 && self.fair_start_seed.is_none())
            .then(|| self.terms.fair_start_closes_at());
        let expiry = self.expiries.front().map(|&(ms, _)| from_ms(ms));
        let end = (!self.ended).then_some(self.terms.ends_at);
        [draw, expiry, end].into_iter().flatten().min()
    }

    pub fn decide_register(
        &self,
        customer: CustomerId,
        now: DateTime<Utc>,
    ) -> Result<Option<SaleEvent>, Rejection> {
        if self.registrations.contains(&customer) {
            return Ok(None);
        }
        if now >= self.terms.starts_at {
            return Err(Rejection::RegistrationClosed {
                starts_at: self.terms.starts_at,
            });
        }
        Ok(Some(SaleEvent::Registered { customer }))
    }

    /// The fair-start draw, when its window has closed and it has not happened yet.
    pub fn decide_draw(&self, now: DateTime<Utc>, seed: u64) -> Option<SaleEvent> {
        (self.terms.fair_start_secs > 0
            && self.fair_start_seed.is_none()
            && now >= self.terms.fair_start_closes_at())
        .then_some(SaleEvent::FairStartDrawn { seed })
    }

    /// Decides a buy. `key` is the idempotency fingerprint; `new_order` the id a new
    /// order would get.
    pub fn decide_buy(
        &self,
        customer: CustomerId,
        quantity: u32,
        key: u128,
        now: DateTime<Utc>,
        new_order: OrderId,
    ) -> Result<BuyOutcome, Rejection> {
        if let Some(&id) = self.by_key.get(&key) {
            let original = &self.orders[&id];
            return if original.customer == customer && original.quantity == quantity {
                Ok(BuyOutcome::Replay(id))
            } else {
                Err(Rejection::IdempotencyMismatch {
                    original: original.quantity,
                })
            };
        }
        check_buy_window(&self.terms, now, self.ended, self.fair_start_seed.is_some())?;
        if self.terms.registration_required && !self.registrations.contains(&customer) {
            return Err(Rejection::NotRegistered);
        }
        let tally = self.tallies.get(&customer).copied().unwrap_or_default();
        if !within_limit(
            self.terms.per_customer_limit,
            tally.held,
            tally.orders,
            quantity,
        ) {
            return Err(Rejection::LimitReached {
                limit: self.terms.per_customer_limit,
                held: tally.held,
                asked: quantity,
            });
        }
        if self.counters.available < quantity {
            return Err(Rejection::SoldOut);
        }
        Ok(BuyOutcome::Reserve(SaleEvent::Reserved {
            order: new_order,
            customer,
            quantity,
            key,
            at_ms: to_ms(now),
        }))
    }

    pub fn decide_payment(
        &self,
        order: OrderId,
        event_id: &str,
        outcome: PaymentOutcome,
        amount: Amount,
        currency: Currency,
        now: DateTime<Utc>,
    ) -> Result<PaymentAck, Rejection> {
        let existing = self
            .orders
            .get(&order)
            .ok_or(Rejection::UnknownOrder(order))?;
        if self.payment_events.contains(event_id) {
            return Ok(PaymentAck::Duplicate);
        }
        order::check_payment(
            order,
            (existing.amount, self.terms.currency),
            (amount, currency),
        )?;
        Ok(PaymentAck::Record(SaleEvent::PaymentRecorded {
            order,
            event_id: event_id.chars().take(PAYMENT_EVENT_ID_LEN_MAX).collect(),
            outcome,
            at_ms: to_ms(now),
        }))
    }

    pub fn decide_cancel(
        &self,
        order: OrderId,
        customer: CustomerId,
        now: DateTime<Utc>,
    ) -> Result<SaleEvent, Rejection> {
        let existing = self
            .orders
            .get(&order)
            .filter(|o| o.customer == customer)
            .ok_or(Rejection::UnknownOrder(order))?;
        order::check_cancel(order, existing.status)?;
        Ok(SaleEvent::Cancelled {
            order,
            at_ms: to_ms(now),
        })
    }

    /// Decides handing a paid order over with one serial per unit.
    pub fn decide_fulfil(
        &self,
        order: OrderId,
        handed: &[order::HandedOver],
        now: DateTime<Utc>,
    ) -> Result<SaleEvent, Rejection> {
        let existing = self
            .orders
            .get(&order)
            .ok_or(Rejection::UnknownOrder(order))?;
        order::check_fulfil(order, existing.status)?;
        order::check_hand_over(
            order,
            &[(self.terms.sku.clone(), existing.quantity)],
            handed,
        )?;
        Ok(SaleEvent::Fulfilled {
            order,
            at_ms: to_ms(now),
        })
    }

    /// Expiries of every reserved order whose `pay_by` has passed.
    pub fn decide_expiries(&self, now: DateTime<Utc>) -> Vec<SaleEvent> {
        let now_ms = to_ms(now);
        self.expiries
            .iter()
            .take_while(|&&(pay_by, _)| pay_by <= now_ms)
            .filter(|(_, order)| self.orders[order].status == OrderStatus::Reserved)
            .map(|&(_, order)| SaleEvent::Expired {
                order,
                at_ms: now_ms,
            })
            .collect()
    }

    pub fn decide_end(&self, now: DateTime<Utc>) -> Option<SaleEvent> {
        (!self.ended && now >= self.terms.ends_at).then_some(SaleEvent::Ended { at_ms: to_ms(now) })
    }

    /// Applies an event from this book's decisions or its journal.
    ///
    /// # Panics
    /// On an event that does not fit the state (a journal that is not this sale's),
    /// or if the counters stop adding up: a broken invariant stops the sale rather
    /// than letting it sell wrong.
    pub fn apply(&mut self, event: &SaleEvent) {
        match event {
            SaleEvent::Registered { customer } => {
                if self.registrations.insert(*customer) {
                    self.counters.registrations += 1;
                }
            }
            SaleEvent::FairStartDrawn { seed } => self.fair_start_seed = Some(*seed),
            SaleEvent::Reserved {
                order,
                customer,
                quantity,
                key,
                at_ms,
            } => {
                assert!(self.counters.available >= *quantity, "oversell in journal");
                self.counters.available -= quantity;
                self.counters.reserved += quantity;
                let tally = self.tallies.entry(*customer).or_default();
                tally.held += quantity;
                tally.orders += 1;
                let pay_by_ms = at_ms + i64::from(self.terms.payment_window_secs) * 1000;
                self.orders.insert(
                    *order,
                    Order {
                        id: *order,
                        customer: *customer,
                        quantity: *quantity,
                        amount: self.terms.price * i64::from(*quantity),
                        status: OrderStatus::Reserved,
                        created_at_ms: *at_ms,
                        pay_by_ms,
                        payment_failures: 0,
                        refunds_due: 0,
                    },
                );
                self.by_key.insert(*key, *order);
                self.schedule_expiry(pay_by_ms, *order);
                if self.counters.available == 0 {
                    self.sold_out_at_ms.get_or_insert(*at_ms);
                }
                self.record_held(*at_ms);
            }
            SaleEvent::PaymentRecorded {
                order,
                event_id,
                outcome,
                ..
            } => {
                self.payment_events.insert(event_id.clone());
                let o = self
                    .orders
                    .get_mut(order)
                    .expect("payment for an unknown order");
                if *outcome == PaymentOutcome::Failed {
                    o.payment_failures += 1;
                }
                let before = o.status;
                let effect = order::after_payment(before, *outcome);
                o.status = effect.status;
                o.refunds_due += u32::from(effect.refund_due);
                if before == OrderStatus::Reserved && o.status == OrderStatus::Paid {
                    self.counters.reserved -= o.quantity;
                    self.counters.paid += o.quantity;
                }
            }
            SaleEvent::Fulfilled { order, .. } => {
                let o = self
                    .orders
                    .get_mut(order)
                    .expect("fulfilment of an unknown order");
                assert_eq!(
                    o.status,
                    OrderStatus::Paid,
                    "only a paid order is fulfilled"
                );
                o.status = OrderStatus::Fulfilled;
                self.counters.paid -= o.quantity;
                self.counters.fulfilled += o.quantity;
            }
            SaleEvent::Cancelled { order, at_ms } => {
                self.give_back(*order, OrderStatus::Cancelled);
                self.record_held(*at_ms);
            }
            SaleEvent::Expired { order, at_ms } => {
                self.give_back(*order, OrderStatus::Expired);
                self.record_held(*at_ms);
            }
            SaleEvent::Ended { .. } => {
                self.ended = true;
                self.counters.released += self.counters.available;
                self.counters.available = 0;
            }
        }
        self.trim_expiries();
        assert!(
            self.counters.balanced(),
            "sale {} counters do not add up: {:?}",
            self.terms.id,
            self.counters
        );
    }

    /// A reserved order's units go back: to the sale while it runs, to the location
    /// once it has ended.
    fn give_back(&mut self, order: OrderId, status: OrderStatus) {
        let o = self
            .orders
            .get_mut(&order)
            .expect("event for an unknown order");
        assert_eq!(
            o.status,
            OrderStatus::Reserved,
            "only a reserved order gives units back"
        );
        o.status = status;
        self.counters.reserved -= o.quantity;
        if self.ended {
            self.counters.released += o.quantity;
        } else {
            self.counters.available += o.quantity;
        }
        if let Some(tally) = self.tallies.get_mut(&o.customer) {
            tally.held -= o.quantity;
        }
    }

    fn record_held(&mut self, at_ms: i64) {
        let c = &self.counters;
        self.sold_curve
            .record(at_ms, c.reserved + c.paid + c.fulfilled);
    }

    /// Queues an order's expiry. Times only go forward, so this is an append; a clock
    /// that stepped back gets a sorted insert instead.
    fn schedule_expiry(&mut self, pay_by_ms: i64, order: OrderId) {
        match self.expiries.back() {
            Some(&(last, _)) if last > pay_by_ms => {
                let at = self.expiries.partition_point(|&(ms, _)| ms <= pay_by_ms);
                self.expiries.insert(at, (pay_by_ms, order));
            }
            _ => self.expiries.push_back((pay_by_ms, order)),
        }
    }

    /// Drops queued expiries of orders that are no longer reserved from the front, so
    /// the front is the next real deadline.
    fn trim_expiries(&mut self) {
        while let Some(&(_, order)) = self.expiries.front() {
            if self.orders[&order].status == OrderStatus::Reserved {
                break;
            }
            self.expiries.pop_front();
        }
    }
}
