//! What the simulated clients were told, and the checks of it against what is
//! stored. The model does not decide sales itself (the core's own model test does
//! that for the book); it holds the engine to its promises through faults and
//! crashes: nothing oversold, the counters adding up, every order it granted still
//! there and moving only forward, a key always answered with its own order, nobody
//! over the limit, and what readers see equal to what the journal holds.

use soldout_core::order::OrderStatus;
use soldout_core::sale::{
    idempotency_fingerprint, OrderId, SaleBook, SaleCounters, SaleEvent, SaleId, SaleTerms,
};
use soldout_core::CustomerId;
use soldout_engine::{EngineError, OrderView, SaleView};
use std::collections::{BTreeMap, HashMap};

/// What a client knows of one of its idempotency keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyFate {
    /// Sent, but no answer came that says what happened (an error, a crash).
    Unknown { quantity: u32 },
    /// Answered with this order; `created` once an answer said it made the order
    /// (not a replay): only one answer may say so.
    Granted {
        order: OrderId,
        quantity: u32,
        created: bool,
    },
}

/// An order some answer showed.
#[derive(Debug, Clone)]
pub struct Known {
    pub sale: SaleId,
    pub customer: CustomerId,
    pub quantity: u32,
    /// Its status in the journal at the last check (or as first shown).
    pub status: OrderStatus,
    /// What answers since then showed: requests sent together are decided in any
    /// order, so each may only follow `status`, and the journal must follow them all.
    pub seen: Vec<OrderStatus>,
}

#[derive(Debug, Default)]
pub struct Model {
    pub keys: HashMap<(SaleId, CustomerId, String), KeyFate>,
    pub orders: BTreeMap<OrderId, Known>,
    /// Payment reports sent: (event id, order, succeeded, amount), to send again.
    pub payments: Vec<(String, OrderId, bool, i64)>,
}

/// Whether an order may be seen in `next` after it was seen in `prev`.
fn may_follow(prev: OrderStatus, next: OrderStatus) -> bool {
    use OrderStatus::*;
    match prev {
        Reserved => true,
        Paid => matches!(next, Paid | Fulfilled),
        Fulfilled => next == Fulfilled,
        Cancelled => matches!(next, Cancelled | RefundDue),
        Expired => matches!(next, Expired | RefundDue),
        RefundDue => next == RefundDue,
    }
}

fn counters_of(view: &SaleView) -> SaleCounters {
    SaleCounters {
        quantity: view.quantity,
        available: view.available,
        reserved: view.reserved,
        paid: view.paid,
        fulfilled: view.fulfilled,
        released: view.released,
        registrations: view.registrations,
    }
}

impl Model {
    /// A key goes out: unless it was granted already, nobody knows yet what it gets.
    pub fn sent(&mut self, sale: SaleId, customer: CustomerId, key: &str, quantity: u32) {
        self.keys
            .entry((sale, customer, key.to_owned()))
            .or_insert(KeyFate::Unknown { quantity });
    }

    /// An order shown in an answer: it must be the one the model knows, moved only
    /// forward.
    pub fn shown(&mut self, view: &OrderView) -> Result<(), String> {
        let sale = view
            .sale
            .ok_or_else(|| format!("order {} is shown without its sale", view.id))?;
        match self.orders.get_mut(&view.id) {
            Some(known) => {
                if (known.sale, known.customer, known.quantity)
                    != (sale, view.customer, view.quantity)
                {
                    return Err(format!(
                        "order {} was {:?} and is now shown as sale {sale}, customer {}, {} units",
                        view.id, known, view.customer, view.quantity
                    ));
                }
                if !may_follow(known.status, view.status) {
                    return Err(format!(
                        "order {} went back from {} to {}",
                        view.id,
                        known.status.as_str(),
                        view.status.as_str()
                    ));
                }
                known.seen.push(view.status);
            }
            None => {
                self.orders.insert(
                    view.id,
                    Known {
                        sale,
                        customer: view.customer,
                        quantity: view.quantity,
                        status: view.status,
                        seen: Vec::new(),
                    },
                );
            }
        }
        Ok(())
    }

    /// What a key was known to have when a request with it went out.
    pub fn fate(&self, sale: SaleId, customer: CustomerId, key: &str) -> Option<KeyFate> {
        self.keys.get(&(sale, customer, key.to_owned())).copied()
    }

    /// The answer to a buy of `quantity` with `key`, which had `at_send` when sent:
    /// a key granted before it was sent must get its order again; requests sent
    /// together may be decided in any order (a draw decides them in its own).
    pub fn bought(
        &mut self,
        (sale, customer, key): (SaleId, CustomerId, &str),
        quantity: u32,
        at_send: Option<KeyFate>,
        answer: &Result<(OrderView, bool), EngineError>,
    ) -> Result<(), String> {
        let slot = (sale, customer, key.to_owned());
        let before = self.keys.get(&slot).copied();
        match answer {
            Ok((view, replay)) => {
                if view.customer != customer || view.quantity != quantity {
                    return Err(format!(
                        "a buy of {quantity} by customer {customer} with key {key:?} got order {} of customer {} for {} units",
                        view.id, view.customer, view.quantity
                    ));
                }
                let created = match before {
                    Some(KeyFate::Granted { order, created, .. }) => {
                        if order != view.id || (created && !replay) {
                            return Err(format!(
                                "key {key:?} of customer {customer} was granted order {order}; sent again it got {} (replay: {replay})",
                                view.id
                            ));
                        }
                        created || !replay
                    }
                    // Buys held for one draw are decided in the draw's order, not the
                    // order they were sent in: the first of a key decided makes it.
                    Some(KeyFate::Unknown { .. }) => !replay,
                    None => {
                        return Err(format!(
                            "key {key:?} was answered ({}) but never sent",
                            view.id
                        ))
                    }
                };
                self.shown(view)?;
                self.keys.insert(
                    slot,
                    KeyFate::Granted {
                        order: view.id,
                        quantity,
                        created,
                    },
                );
            }
            Err(EngineError::Rejected(rejection)) => {
                if let Some(KeyFate::Granted {
                    order, quantity: q, ..
                }) = at_send
                {
                    let mismatch = matches!(
                        rejection,
                        soldout_core::sale::Rejection::IdempotencyMismatch { original } if *original == q
                    );
                    if q == quantity || !mismatch {
                        return Err(format!(
                            "key {key:?} of customer {customer} was granted order {order} ({q} units); sent again for {quantity} it was refused: {rejection}"
                        ));
                    }
                }
            }
            // The buy may or may not have landed; the key says, when sent again.
            Err(_) => {}
        }
        Ok(())
    }

    /// Holds what the engine shows and what it acknowledged against what the store's
    /// journal holds, for every sale.
    pub fn check(&mut self, sales: &[(SaleTerms, SaleView, Vec<SaleEvent>)]) -> Result<(), String> {
        for (terms, view, events) in sales {
            let mut book = SaleBook::new(terms.clone());
            let mut reserved: HashMap<OrderId, (CustomerId, u32, u128)> = HashMap::new();
            for event in events {
                if let SaleEvent::Reserved {
                    order,
                    customer,
                    quantity,
                    key,
                    ..
                } = event
                {
                    reserved.insert(*order, (*customer, *quantity, *key));
                }
                book.apply(event);
            }
            let c = book.counters();
            let sale = terms.id;
            if c.available + c.reserved + c.paid + c.fulfilled + c.released != terms.quantity {
                return Err(format!(
                    "sale {sale}: the journal's counters {c:?} do not add up to {}",
                    terms.quantity
                ));
            }
            let shown = counters_of(view);
            if shown != c {
                return Err(format!(
                    "sale {sale}: readers see {shown:?} but the journal holds {c:?}"
                ));
            }
            let mut held: HashMap<CustomerId, u32> = HashMap::new();
            let mut live = 0;
            for (order, &(customer, quantity, _)) in &reserved {
                let status = book.order(*order).map(|o| o.status);
                if matches!(
                    status,
                    Some(OrderStatus::Reserved | OrderStatus::Paid | OrderStatus::Fulfilled)
                ) {
                    *held.entry(customer).or_default() += quantity;
                    live += quantity;
                }
            }
            if live > terms.quantity || live != c.reserved + c.paid + c.fulfilled {
                return Err(format!(
                    "sale {sale}: orders hold {live} units of {} (counters {c:?})",
                    terms.quantity
                ));
            }
            if let Some((customer, units)) = held
                .iter()
                .find(|(_, &units)| units > terms.per_customer_limit)
            {
                return Err(format!(
                    "sale {sale}: customer {customer} holds {units} units over the limit of {}",
                    terms.per_customer_limit
                ));
            }
            for (id, known) in self.orders.iter_mut().filter(|(_, k)| k.sale == sale) {
                let Some(&(customer, quantity, _)) = reserved.get(id) else {
                    return Err(format!(
                        "sale {sale}: order {id} was granted to customer {} but is not in the journal",
                        known.customer
                    ));
                };
                let status = book.order(*id).map(|o| o.status).expect("a reserved order");
                if (customer, quantity) != (known.customer, known.quantity)
                    || !may_follow(known.status, status)
                    || !known.seen.iter().all(|&seen| may_follow(seen, status))
                {
                    return Err(format!(
                        "sale {sale}: order {id} was shown as {known:?}; the journal has customer {customer}, {quantity} units, {}",
                        status.as_str()
                    ));
                }
                known.status = status;
                known.seen.clear();
            }
            for ((key_sale, customer, key), fate) in &self.keys {
                if let (true, KeyFate::Granted { order, .. }) = (*key_sale == sale, fate) {
                    let stored = reserved.get(order).map(|r| r.2);
                    if stored != Some(idempotency_fingerprint(*customer, key)) {
                        return Err(format!(
                            "sale {sale}: key {key:?} of customer {customer} was granted {order}, which the journal does not file under that key"
                        ));
                    }
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use OrderStatus::*;

    #[test]
    fn orders_move_only_forward() {
        assert!(may_follow(Reserved, Paid) && may_follow(Reserved, Expired));
        assert!(may_follow(Expired, RefundDue) && may_follow(Paid, Fulfilled));
        assert!(!may_follow(Paid, Reserved) && !may_follow(Paid, Expired));
        assert!(!may_follow(Cancelled, Paid) && !may_follow(Fulfilled, Paid));
        assert!(!may_follow(Expired, Reserved) && !may_follow(RefundDue, Paid));
    }
}
