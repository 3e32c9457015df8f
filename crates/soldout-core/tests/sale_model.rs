//! The sale book against a deliberately simple reference model: random sequences of
//! buys, replays, payments, failures, cancellations, time passing (expiry, the end)
//! and restarts (rebuilding the book from its journal). After every step the book's
//! counters must equal the model's and add up to the batch, and no customer may hold
//! more than the limit.

use chrono::{DateTime, Duration, Utc};
use proptest::prelude::*;
use soldout_core::sale::{
    idempotency_fingerprint, BuyOutcome, OrderId, OrderStatus, PaymentAck, PaymentOutcome,
    Rejection, SaleBook, SaleEvent, SaleId, SaleTerms,
};
use soldout_core::{Currency, CustomerId, LocationId, MarketCode, ProductId, SkuCode};

const QUANTITY: u32 = 7;
const LIMIT: u32 = 2;
const PRICE: i64 = 1_099_900;
const WINDOW_SECS: i64 = 10;
const LENGTH_SECS: i64 = 100;

fn start() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2017-07-04T12:00:00+05:30")
        .unwrap()
        .with_timezone(&Utc)
}

fn terms() -> SaleTerms {
    SaleTerms {
        id: SaleId(1),
        sku: SkuCode::parse("RN4-3-32-GLD").unwrap(),
        product: ProductId::parse("redmi-note-4").unwrap(),
        market: MarketCode::parse("IN").unwrap(),
        location: LocationId::parse("wh-in-sricity").unwrap(),
        quantity: QUANTITY,
        price: PRICE,
        currency: Currency::parse("INR").unwrap(),
        starts_at: start(),
        ends_at: start() + Duration::seconds(LENGTH_SECS),
        per_customer_limit: LIMIT,
        payment_window_secs: WINDOW_SECS as u32,
        registration_required: false,
        fair_start_secs: 0,
        created_at: start() - Duration::days(1),
    }
}

#[derive(Debug, Clone)]
enum Op {
    Buy {
        customer: i64,
        quantity: u32,
        key: u8,
    },
    Pay {
        order: usize,
        event: u8,
    },
    Fail {
        order: usize,
        event: u8,
    },
    Cancel {
        order: usize,
        customer: i64,
    },
    Wait {
        secs: i64,
    },
    Restart,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0..5i64, 1..=3u32, 0..6u8).prop_map(|(customer, quantity, key)| Op::Buy { customer, quantity, key }),
        2 => (0..20usize, 0..30u8).prop_map(|(order, event)| Op::Pay { order, event }),
        1 => (0..20usize, 0..30u8).prop_map(|(order, event)| Op::Fail { order, event }),
        1 => (0..20usize, 0..5i64).prop_map(|(order, customer)| Op::Cancel { order, customer }),
        2 => (1..15i64).prop_map(|secs| Op::Wait { secs }),
        1 => Just(Op::Restart),
    ]
}

/// The reference: a list of orders and a few sums.
#[derive(Default)]
struct Model {
    orders: Vec<(OrderId, i64, u32, OrderStatus, DateTime<Utc>)>,
    keys: Vec<((i64, u8), usize)>,
    events_seen: Vec<u8>,
    released: u32,
    ended: bool,
}

impl Model {
    fn sum(&self, status: OrderStatus) -> u32 {
        self.orders
            .iter()
            .filter(|o| o.3 == status)
            .map(|o| o.2)
            .sum()
    }
    fn available(&self) -> u32 {
        QUANTITY - self.sum(OrderStatus::Reserved) - self.sum(OrderStatus::Paid) - self.released
    }
    fn held(&self, customer: i64) -> u32 {
        self.orders
            .iter()
            .filter(|o| o.1 == customer && matches!(o.3, OrderStatus::Reserved | OrderStatus::Paid))
            .map(|o| o.2)
            .sum()
    }
    fn pass_time(&mut self, now: DateTime<Utc>) {
        for o in &mut self.orders {
            if o.3 == OrderStatus::Reserved && o.4 <= now {
                o.3 = OrderStatus::Expired;
                if self.ended {
                    self.released += o.2;
                }
            }
        }
        if !self.ended && now >= start() + Duration::seconds(LENGTH_SECS) {
            self.released += self.available();
            self.ended = true;
        }
    }
}

fn record(book: &mut SaleBook, journal: &mut Vec<SaleEvent>, event: SaleEvent) {
    book.apply(&event);
    journal.push(event);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]
    #[test]
    fn the_book_matches_the_model(ops in proptest::collection::vec(op(), 1..120)) {
        let mut book = SaleBook::new(terms());
        let mut journal: Vec<SaleEvent> = Vec::new();
        let mut model = Model::default();
        let mut now = start();
        let mut next_id = 1u128;
        for op in ops {
            match op {
                Op::Buy { customer, quantity, key } => {
                    let fingerprint = idempotency_fingerprint(CustomerId(customer), &format!("k{key}"));
                    let new_id = OrderId::new(now.timestamp_millis() as u64, next_id);
                    next_id += 1;
                    let got = book.decide_buy(CustomerId(customer), quantity, fingerprint, now, new_id);
                    let known = model.keys.iter().find(|(k, _)| *k == (customer, key)).map(|&(_, i)| i);
                    match (got, known) {
                        (Ok(BuyOutcome::Replay(id)), Some(i)) => {
                            prop_assert_eq!(id, model.orders[i].0);
                            prop_assert_eq!(quantity, model.orders[i].2);
                        }
                        (Err(Rejection::IdempotencyMismatch { original }), Some(i)) => {
                            prop_assert_eq!(original, model.orders[i].2);
                            prop_assert_ne!(quantity, original);
                        }
                        (Ok(BuyOutcome::Reserve(event)), None) => {
                            prop_assert!(!model.ended);
                            prop_assert!(model.held(customer) + quantity <= LIMIT);
                            prop_assert!(model.available() >= quantity);
                            record(&mut book, &mut journal, event);
                            model.orders.push((new_id, customer, quantity, OrderStatus::Reserved, now + Duration::seconds(WINDOW_SECS)));
                            model.keys.push(((customer, key), model.orders.len() - 1));
                        }
                        (Err(Rejection::Ended { .. }), None) => prop_assert!(model.ended),
                        (Err(Rejection::LimitReached { .. }), None) => {
                            prop_assert!(model.held(customer) + quantity > LIMIT)
                        }
                        (Err(Rejection::SoldOut), None) => {
                            prop_assert!(model.held(customer) + quantity <= LIMIT);
                            prop_assert!(model.available() < quantity);
                        }
                        (other, known) => prop_assert!(false, "unexpected {:?} (known key: {:?})", other, known),
                    }
                }
                Op::Pay { order, event } | Op::Fail { order, event } => {
                    let succeeded = matches!(op, Op::Pay { .. });
                    let Some(&(id, _, quantity, status, _)) = model.orders.get(order) else { continue };
                    let outcome = if succeeded { PaymentOutcome::Succeeded } else { PaymentOutcome::Failed };
                    let event_id = format!("evt_{event}");
                    let got = book.decide_payment(id, &event_id, outcome, PRICE * i64::from(quantity), terms().currency, now);
                    if model.events_seen.contains(&event) {
                        prop_assert_eq!(got, Ok(PaymentAck::Duplicate));
                        continue;
                    }
                    let Ok(PaymentAck::Record(e)) = got else { prop_assert!(false, "payment refused: {:?}", got); continue };
                    record(&mut book, &mut journal, e);
                    model.events_seen.push(event);
                    if succeeded {
                        let new = match status {
                            OrderStatus::Reserved => OrderStatus::Paid,
                            OrderStatus::Expired | OrderStatus::Cancelled => OrderStatus::RefundDue,
                            other => other,
                        };
                        model.orders[order].3 = new;
                    }
                }
                Op::Cancel { order, customer } => {
                    let Some(&(id, owner, quantity, status, _)) = model.orders.get(order) else { continue };
                    match book.decide_cancel(id, CustomerId(customer), now) {
                        Ok(event) => {
                            prop_assert_eq!(owner, customer);
                            prop_assert_eq!(status, OrderStatus::Reserved);
                            record(&mut book, &mut journal, event);
                            model.orders[order].3 = OrderStatus::Cancelled;
                            if model.ended { model.released += quantity; }
                        }
                        Err(Rejection::UnknownOrder(_)) => prop_assert_ne!(owner, customer),
                        Err(Rejection::NotCancellable { .. }) => prop_assert_ne!(status, OrderStatus::Reserved),
                        Err(other) => prop_assert!(false, "unexpected {:?}", other),
                    }
                }
                Op::Wait { secs } => {
                    now += Duration::seconds(secs);
                    // The engine expires first, then ends: both are what passing time does.
                    for event in book.decide_expiries(now) {
                        record(&mut book, &mut journal, event);
                    }
                    if let Some(event) = book.decide_end(now) {
                        record(&mut book, &mut journal, event);
                    }
                    model.pass_time(now);
                }
                Op::Restart => {
                    let mut rebuilt = SaleBook::new(terms());
                    for event in &journal {
                        rebuilt.apply(event);
                    }
                    prop_assert_eq!(rebuilt.counters(), book.counters());
                    book = rebuilt;
                }
            }
            let c = book.counters();
            prop_assert_eq!(c.available + c.reserved + c.paid + c.fulfilled + c.released, QUANTITY);
            prop_assert_eq!(c.reserved, model.sum(OrderStatus::Reserved));
            prop_assert_eq!(c.paid, model.sum(OrderStatus::Paid));
            prop_assert_eq!(c.released, model.released);
            prop_assert_eq!(c.available, model.available());
            for customer in 0..5 {
                prop_assert!(model.held(customer) <= LIMIT);
            }
            for (id, _, _, status, _) in &model.orders {
                prop_assert_eq!(book.order(*id).map(|o| o.status), Some(*status));
            }
        }
    }
}

fn open_book() -> SaleBook {
    SaleBook::new(terms())
}

fn buy(
    book: &mut SaleBook,
    customer: i64,
    quantity: u32,
    key: u128,
    n: u128,
) -> Result<OrderId, Rejection> {
    let id = OrderId::new(start().timestamp_millis() as u64, n);
    match book.decide_buy(CustomerId(customer), quantity, key, start(), id)? {
        BuyOutcome::Reserve(event) => {
            book.apply(&event);
            Ok(id)
        }
        BuyOutcome::Replay(order) => Ok(order),
    }
}

#[test]
fn an_absurd_quantity_is_over_the_limit_not_an_overflow() {
    let mut book = open_book();
    buy(&mut book, 1, 1, 1, 1).unwrap();
    assert!(matches!(
        buy(&mut book, 1, u32::MAX, 2, 2),
        Err(Rejection::LimitReached { .. })
    ));
    assert_eq!(book.counters().reserved, 1);
}

#[test]
fn a_key_replays_only_for_the_customer_who_used_it() {
    let mut book = open_book();
    let order = buy(&mut book, 1, 1, 42, 1).unwrap();
    assert_eq!(buy(&mut book, 1, 1, 42, 2), Ok(order));
    // The same fingerprint from someone else is not their order.
    assert!(matches!(
        buy(&mut book, 2, 1, 42, 3),
        Err(Rejection::IdempotencyMismatch { .. })
    ));
}

#[test]
fn buying_and_cancelling_forever_is_bounded() {
    let mut book = open_book();
    for n in 0..soldout_core::sale::ORDERS_PER_CUSTOMER_MAX {
        let order = buy(&mut book, 1, 1, u128::from(n) + 100, u128::from(n) + 100).unwrap();
        let cancel = book.decide_cancel(order, CustomerId(1), start()).unwrap();
        book.apply(&cancel);
    }
    assert!(matches!(
        buy(&mut book, 1, 1, 1, 1),
        Err(Rejection::LimitReached { .. })
    ));
    assert_eq!(book.counters().available, QUANTITY);
}

#[test]
fn the_fair_start_window_must_close_before_the_end() {
    use soldout_core::sale::NewSale;
    let new = |fair_start_secs: u32| NewSale {
        sku: SkuCode::parse("RN4-3-32-GLD").unwrap(),
        market: MarketCode::parse("IN").unwrap(),
        location: LocationId::parse("wh-in-sricity").unwrap(),
        quantity: 10,
        starts_at: start(),
        ends_at: start() + Duration::seconds(60),
        per_customer_limit: 1,
        payment_window_secs: 60,
        registration_required: false,
        fair_start_secs,
        price: Some(1),
        allow_zero_price: false,
    };
    let validate = |n: NewSale| {
        n.validate(
            SaleId(1),
            ProductId::parse("redmi-note-4").unwrap(),
            None,
            Currency::parse("INR").unwrap(),
            start(),
        )
    };
    assert!(validate(new(59)).is_ok());
    assert!(validate(new(60)).is_err());
}
