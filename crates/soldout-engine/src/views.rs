//! What the engine shows of a sale and an order: the JSON the API answers with.

use crate::owner::Snapshot;
use chrono::{DateTime, Utc};
use serde::Serialize;
use soldout_core::order::{Fulfillment, OnlineOrder, OrderLine};
use soldout_core::pos::Channel;
use soldout_core::sale::{from_ms, Order, OrderId, OrderStatus, SaleId, SaleStatus, SaleTerms};
use soldout_core::{Currency, CustomerId, LocationId, MarketCode, ProductId, SkuCode};
use utoipa::ToSchema;

/// A flash sale with its live counters. At every instant
/// `available + reserved + paid + fulfilled + released == quantity`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SaleView {
    pub id: SaleId,
    #[schema(example = "RN4-3-32-GLD")]
    pub sku: SkuCode,
    #[schema(example = "redmi-note-4")]
    pub product: ProductId,
    #[schema(example = "IN")]
    pub market: MarketCode,
    #[schema(example = "wh-in-sricity")]
    pub location: LocationId,
    pub status: SaleStatus,
    /// Unit price in minor units of `currency`.
    pub price: i64,
    #[schema(value_type = String, example = "INR")]
    pub currency: Currency,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub per_customer_limit: u32,
    pub payment_window_secs: u32,
    pub registration_required: bool,
    pub fair_start_secs: u32,
    /// The seed of the fair-start draw, once it has happened (decimal string).
    pub fair_start_seed: Option<String>,
    pub quantity: u32,
    pub available: u32,
    pub reserved: u32,
    pub paid: u32,
    pub fulfilled: u32,
    /// Units given back to the location after the end.
    pub released: u32,
    pub registrations: u32,
    /// When the last unit was reserved, if it has been.
    pub sold_out_at: Option<DateTime<Utc>>,
}

impl SaleView {
    pub(crate) fn new(snapshot: &Snapshot, now: DateTime<Utc>) -> Self {
        let t: &SaleTerms = &snapshot.terms;
        let c = snapshot.counters;
        SaleView {
            id: t.id,
            sku: t.sku.clone(),
            product: t.product.clone(),
            market: t.market.clone(),
            location: t.location.clone(),
            status: t.status(now),
            price: t.price,
            currency: t.currency,
            starts_at: t.starts_at,
            ends_at: t.ends_at,
            per_customer_limit: t.per_customer_limit,
            payment_window_secs: t.payment_window_secs,
            registration_required: t.registration_required,
            fair_start_secs: t.fair_start_secs,
            fair_start_seed: snapshot.fair_start_seed.map(|s| s.to_string()),
            quantity: c.quantity,
            available: c.available,
            reserved: c.reserved,
            paid: c.paid,
            fulfilled: c.fulfilled,
            released: c.released,
            registrations: c.registrations,
            sold_out_at: snapshot.sold_out_at,
        }
    }
}

/// An order in any channel: a flash sale's, or a regular online order shipped or
/// picked up. One lifecycle for all of them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct OrderView {
    pub id: OrderId,
    /// `flash_sale` or `online`.
    pub channel: Channel,
    /// The flash sale it was bought in (`null` for an online order).
    pub sale: Option<SaleId>,
    pub customer: CustomerId,
    pub status: OrderStatus,
    /// Units on the order.
    pub quantity: u32,
    /// What the buyer pays, in minor units of `currency`.
    pub amount: i64,
    #[schema(value_type = String, example = "INR")]
    pub currency: Currency,
    pub created_at: DateTime<Utc>,
    /// Pay before this instant or the reservation expires.
    pub pay_by: DateTime<Utc>,
    /// Successful payments the buyer must get back: a payment after the order
    /// expired or was cancelled, or a second payment of a paid order.
    pub refunds_due: u32,
    /// An online order's lines (a flash-sale order is one unit price of the sale's SKU).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lines: Option<Vec<OrderLine>>,
    /// How an online order reaches its buyer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fulfillment: Option<Fulfillment>,
    /// Where an online order's units are held: a warehouse, or the pickup store.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<LocationId>,
}

impl OrderView {
    pub(crate) fn new(order: &Order, terms: &SaleTerms) -> Self {
        OrderView {
            id: order.id,
            channel: Channel::FlashSale,
            sale: Some(terms.id),
            customer: order.customer,
            status: order.status,
            quantity: order.quantity,
            amount: order.amount,
            currency: terms.currency,
            created_at: from_ms(order.created_at_ms),
            pay_by: from_ms(order.pay_by_ms),
            refunds_due: order.refunds_due,
            lines: None,
            fulfillment: None,
            location: None,
        }
    }

    pub(crate) fn online(order: OnlineOrder) -> Self {
        OrderView {
            id: order.id,
            channel: Channel::Online,
            sale: None,
            customer: order.customer,
            status: order.status,
            quantity: order.quantity(),
            amount: order.amount,
            currency: order.currency,
            created_at: order.created_at,
            pay_by: order.pay_by,
            refunds_due: order.refunds_due,
            lines: Some(order.lines),
            fulfillment: Some(order.fulfillment),
            location: Some(order.location),
        }
    }
}
