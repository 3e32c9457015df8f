//! Regular online orders, outside flash sales: priced like the point of sale (list
//! price or a running campaign), reserved in the ledger at the market's warehouse or
//! the pickup store, and expired by the engine's own timer when unpaid at `pay_by`
//! (also right after a restart, for what fell due while the server was down).

use crate::pricing;
use crate::{not_found, Clock, EngineError};
use soldout_core::order::{HoldPolicy, NewOrder, OrderLine};
use soldout_core::pos::Channel;
use soldout_core::sale::{OrderId, Rejection};
use soldout_core::{CustomerId, LocationKind};
use soldout_store::{NewOnlineOrder, Store};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

/// Longest the expiry timer sleeps before looking again.
const EXPIRY_IDLE_WAKE: Duration = Duration::from_secs(60);
/// Pause after a failed expiry pass.
const EXPIRY_RETRY: Duration = Duration::from_secs(1);

/// Checks and prices an order request; the store then reserves its units.
pub(crate) async fn prepare(
    store: &dyn Store,
    clock: Clock,
    id: OrderId,
    customer: CustomerId,
    key: u128,
    request: &NewOrder,
    caps: HoldPolicy,
) -> Result<NewOnlineOrder, EngineError> {
    request.validate().map_err(EngineError::Invalid)?;
    let now = clock.now();
    let market = store
        .market(&request.market)
        .await?
        .ok_or_else(|| not_found("market", &request.market))?;
    let locations = store.locations().await?;
    let code = &market.code;
    let in_market = |kind| {
        locations
            .iter()
            .filter(move |l| &l.market == code && l.kind == kind)
            .map(|l| l.id.clone())
    };
    let candidates: Vec<_> = match &request.fulfillment {
        soldout_core::order::Fulfillment::Ship => in_market(LocationKind::Warehouse).collect(),
        soldout_core::order::Fulfillment::Pickup { store: pickup } => {
            if !in_market(LocationKind::Store).any(|s| &s == pickup) {
                return Err(EngineError::Invalid(format!(
                    "{pickup} is not a store in {}",
                    market.code
                )));
            }
            vec![pickup.clone()]
        }
    };
    if candidates.is_empty() {
        return Err(EngineError::Invalid(format!(
            "{} has no warehouse to ship from",
            market.code
        )));
    }
    let skus: Vec<_> = request.lines.iter().map(|l| l.sku.clone()).collect();
    let quotes = pricing::quote(store, &market.code, &skus, Channel::Online, now).await?;
    let mut lines = Vec::with_capacity(quotes.len());
    for (line, quote) in request.lines.iter().zip(quotes) {
        if !quote.launched {
            return Err(EngineError::NotLaunched(format!(
                "{} may not be sold in {} yet",
                quote.product, market.code
            )));
        }
        let unit_price = quote.unit_price.ok_or_else(|| {
            EngineError::Invalid(format!("{} has no price in {}", line.sku, market.code))
        })?;
        lines.push(OrderLine {
            sku: line.sku.clone(),
            product: quote.product,
            quantity: line.quantity,
            unit_price,
            campaign: quote.campaign,
        });
    }
    Ok(NewOnlineOrder {
        id,
        customer,
        key,
        request_hash: request.fingerprint(),
        market: market.code,
        currency: market.currency,
        fulfillment: request.fulfillment.clone(),
        candidates,
        lines,
        created_at: now,
        pay_by: now + chrono::Duration::seconds(caps.hold_secs(&request.fulfillment)),
        caps,
    })
}

/// An unknown online order is the same rejection as an unknown flash-sale order.
pub(crate) fn unknown(order: OrderId) -> EngineError {
    Rejection::UnknownOrder(order).into()
}

/// Expires unpaid online orders at their `pay_by`, for as long as the engine lives.
/// `wake` is poked when a new order may have an earlier deadline.
pub(crate) async fn expire_forever(store: Arc<dyn Store>, clock: Clock, wake: Arc<Notify>) {
    loop {
        let wait = match store.next_online_expiry().await {
            Ok(next) => clock.wait_until(next, EXPIRY_IDLE_WAKE),
            Err(e) => {
                tracing::error!(error = %e, "reading the next online expiry failed");
                EXPIRY_RETRY
            }
        };
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = wake.notified() => continue,
        }
        match store.expire_online_orders(clock.now()).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(expired = n, "online orders expired"),
            Err(e) => {
                tracing::error!(error = %e, "expiring online orders failed");
                tokio::time::sleep(EXPIRY_RETRY).await;
            }
        }
    }
}
