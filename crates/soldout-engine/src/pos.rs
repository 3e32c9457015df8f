//! The point of sale: a store's sale priced (list price or a running campaign) and
//! checked against the market's launch, then recorded whole by the store. Online,
//! a product not yet launched or short stock refuses the sale; offline (synced
//! later), both are recorded as discrepancies because the phone has already left
//! the store. The API, the demo and the CLI all sell through here.

use crate::pricing;
use crate::{Clock, EngineError};
use soldout_core::pos::{Channel, NewPosSale};
use soldout_core::{ClerkId, Location, Market};
use soldout_store::{PosOutcome, PosSaleRecord, PricedLine, Store, StoreError};

/// Records a sale at `store` (a store of `market`), rung up by `clerk` if a clerk
/// did; `offline` for a sale synced after the fact.
pub async fn record_sale(
    store: &dyn Store,
    clock: Clock,
    (location, market): (&Location, &Market),
    clerk: Option<ClerkId>,
    body: NewPosSale,
    offline: bool,
) -> Result<PosOutcome, EngineError> {
    let invalid = |e: soldout_core::pos::PosError| EngineError::Invalid(e.to_string());
    let request = body.validate().map_err(invalid)?;
    let recorded_at = clock.now();
    let occurred_at = request.when(offline, recorded_at).map_err(invalid)?;
    let request_hash = request.fingerprint();
    let skus: Vec<_> = request.lines.iter().map(|l| l.sku.clone()).collect();
    let quotes = pricing::quote(store, &market.code, &skus, Channel::Store, occurred_at).await?;
    let mut lines = Vec::with_capacity(quotes.len());
    for (line, quote) in request.lines.into_iter().zip(quotes) {
        if !offline && !quote.launched {
            return Err(EngineError::NotLaunched(format!(
                "{} may not be sold in {} yet",
                quote.product, market.code
            )));
        }
        let unit_price = quote.unit_price.ok_or_else(|| {
            EngineError::Store(StoreError::Conflict {
                slug: "no-price",
                detail: format!(
                    "{} has no price in {}; set one with PUT /v1/markets/{}/prices/{}",
                    line.sku, market.code, market.code, line.sku
                ),
            })
        })?;
        lines.push(PricedLine {
            sku: line.sku,
            product: quote.product,
            os_version: quote.os_version,
            unit_price,
            campaign: quote.campaign,
            serials: line.serials,
            launched: quote.launched,
        });
    }
    let record = PosSaleRecord {
        store: location.id.clone(),
        market: market.code.clone(),
        currency: market.currency,
        clerk,
        client_id: request.client_id,
        request_hash,
        occurred_at,
        recorded_at,
        offline,
        payment: request.payment,
        lines,
    };
    Ok(store.record_pos_sale(&record).await?)
}
