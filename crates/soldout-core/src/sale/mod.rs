//! Flash sales: a batch of one SKU in one market, sold from a start to an end with a
//! per-customer limit, optional pre-registration, a fair start and a payment window.
//!
//! The sale's state ([`SaleBook`]) changes only by applying [`SaleEvent`]s, and the
//! only way to get an event is to ask the book to decide a command. The engine that
//! owns a book journals the events before it answers, and rebuilds the book on start
//! by applying them again: the same code decides live and recovers.

mod book;
mod curve;
pub mod draw;
mod event;
pub mod fair;
mod ids;
pub mod lease;
mod terms;

pub use crate::order::OrderStatus;
pub use book::{
    check_buy_window, from_ms, to_ms, within_limit, BuyOutcome, Order, PaymentAck, Rejection,
    SaleBook, SaleCounters, FAIR_START_EARLY_HOLD_SECS, ORDERS_PER_CUSTOMER_MAX,
};
pub use curve::{SoldCurve, CURVE_POINTS_MAX};
pub use event::{PaymentOutcome, SaleEvent};
pub use ids::{idempotency_fingerprint, OrderId, SaleId};
pub use terms::{
    NewSale, SaleStatus, SaleTerms, SaleTermsError, PER_CUSTOMER_LIMIT_MAX, SALE_QUANTITY_MAX,
};
