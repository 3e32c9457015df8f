//! The fair start's draw as one decision: the buys held while the window was open,
//! put in the order the recorded seed gives them and decided one by one against the
//! sale as it stands at the start. One node deciding its held requests and any node
//! of several deciding every node's entries use this order and the same book, so the
//! same set of requests and the same seed give the same winners.

use super::book::{BuyOutcome, Order, Rejection, SaleBook};
use super::event::SaleEvent;
use super::fair;
use super::ids::OrderId;
use super::terms::SaleTerms;
use crate::customer::CustomerId;
use chrono::{DateTime, Utc};

/// One buy held for the draw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeldBuy {
    pub customer: CustomerId,
    pub quantity: u32,
    /// The idempotency key's fingerprint.
    pub key: u128,
}

/// The order in which held buys are decided, as indexes into `keys`: sorted by key
/// first, so the order depends on the set of buys and not on when or where each
/// arrived, then shuffled by `seed`.
pub fn draw_order(keys: &[u128], seed: u64) -> Vec<usize> {
    let mut order: Vec<usize> = (0..keys.len()).collect();
    order.sort_by_key(|&i| keys[i]);
    fair::shuffle(&mut order, seed);
    order
}

/// Decides `buys` as one node does at the draw: in [`draw_order`], against a book of
/// `terms` that knows the `registered` customers and nothing sold yet. A key seen
/// twice answers as its first did. `new_order` names each new order.
pub fn decide_held(
    terms: &SaleTerms,
    registered: impl IntoIterator<Item = CustomerId>,
    buys: &[HeldBuy],
    seed: u64,
    now: DateTime<Utc>,
    mut new_order: impl FnMut() -> OrderId,
) -> Vec<Result<Order, Rejection>> {
    let mut book = SaleBook::new(terms.clone());
    for customer in registered {
        book.apply(&SaleEvent::Registered { customer });
    }
    book.apply(&SaleEvent::FairStartDrawn { seed });
    let keys: Vec<u128> = buys.iter().map(|b| b.key).collect();
    let mut decided: Vec<Option<Result<Order, Rejection>>> = vec![None; buys.len()];
    for i in draw_order(&keys, seed) {
        let buy = buys[i];
        let mut id = new_order();
        while book.order(id).is_some() {
            id = new_order();
        }
        decided[i] = Some(
            match book.decide_buy(buy.customer, buy.quantity, buy.key, now, id) {
                Ok(BuyOutcome::Reserve(event)) => {
                    book.apply(&event);
                    Ok(book
                        .order(id)
                        .cloned()
                        .expect("a reserved order is in the book"))
                }
                Ok(BuyOutcome::Replay(earlier)) => Ok(book
                    .order(earlier)
                    .cloned()
                    .expect("a replayed order is in the book")),
                Err(rejection) => Err(rejection),
            },
        );
    }
    decided
        .into_iter()
        .map(|d| d.expect("every held buy is decided"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sale::SaleId;
    use proptest::prelude::*;

    fn terms(quantity: u32, limit: u32) -> SaleTerms {
        use crate::{Currency, LocationId, MarketCode, ProductId, SkuCode};
        let start = DateTime::parse_from_rfc3339("2017-07-04T12:00:00+05:30")
            .unwrap()
            .with_timezone(&Utc);
        SaleTerms {
            id: SaleId(1),
            sku: SkuCode::parse("RN4-3-32-GLD").unwrap(),
            product: ProductId::parse("redmi-note-4").unwrap(),
            market: MarketCode::parse("IN").unwrap(),
            location: LocationId::parse("wh-in-sricity").unwrap(),
            quantity,
            price: 1_099_900,
            currency: Currency::parse("INR").unwrap(),
            starts_at: start,
            ends_at: start + chrono::Duration::seconds(600),
            per_customer_limit: limit,
            payment_window_secs: 60,
            registration_required: false,
            fair_start_secs: 5,
            created_at: start - chrono::Duration::days(1),
        }
    }

    fn ids() -> impl FnMut() -> OrderId {
        let mut n = 0u64;
        move || {
            n += 1;
            OrderId::of_sale(SaleId(1), 1, n)
        }
    }

    #[test]
    fn the_order_depends_on_the_set_not_on_arrival() {
        let keys = [5u128, 1, 9, 3];
        let shuffled = [9u128, 3, 5, 1];
        let by_key = |keys: &[u128]| -> Vec<u128> {
            draw_order(keys, 7).into_iter().map(|i| keys[i]).collect()
        };
        assert_eq!(by_key(&keys), by_key(&shuffled));
        assert_eq!(by_key(&keys), by_key(&[1, 3, 5, 9]));
    }

    proptest! {
        /// Whatever the arrival order, the same buys and seed give the same winners,
        /// never more units than the sale has, nobody above the limit.
        #[test]
        fn the_same_set_and_seed_give_the_same_winners(
            picks in proptest::collection::vec((0i64..30, 1u32..3, 0u128..200), 0..120),
            quantity in 1u32..40,
            limit in 1u32..4,
            seed in any::<u64>(),
            rotate in 0usize..120,
        ) {
            let mut seen = std::collections::HashSet::new();
            let buys: Vec<HeldBuy> = picks
                .into_iter()
                .filter(|p| seen.insert(p.2))
                .map(|(c, q, k)| HeldBuy { customer: CustomerId(c), quantity: q, key: k })
                .collect();
            let terms = terms(quantity, limit);
            let now = terms.fair_start_closes_at();
            let winners = |buys: &[HeldBuy]| -> Vec<(u128, bool)> {
                let mut w: Vec<(u128, bool)> = buys
                    .iter()
                    .zip(decide_held(&terms, [], buys, seed, now, ids()))
                    .map(|(b, d)| (b.key, d.is_ok()))
                    .collect();
                w.sort();
                w
            };
            let mut rotated = buys.clone();
            if !rotated.is_empty() {
                let n = rotate % rotated.len();
                rotated.rotate_left(n);
            }
            prop_assert_eq!(winners(&buys), winners(&rotated));
            let decided = decide_held(&terms, [], &buys, seed, now, ids());
            let sold: u32 = decided.iter().flatten().map(|o| o.quantity).sum();
            prop_assert!(sold <= quantity);
            let mut per_customer = std::collections::HashMap::new();
            for order in decided.iter().flatten() {
                *per_customer.entry(order.customer).or_insert(0) += order.quantity;
            }
            prop_assert!(per_customer.values().all(|&held| held <= limit));
        }
    }
}
