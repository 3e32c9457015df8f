//! The owner of one sale: a task that holds the sale's book, takes commands from a
//! bounded queue, decides a whole batch in memory, commits the batch's events to the
//! journal in one transaction, and only then answers. Deadlines (the fair-start draw,
//! payment expiries, the end) are the owner's own timers.

use crate::journal;
use crate::views::OrderView;
use crate::{EngineError, BATCH_MAX};
use chrono::{DateTime, Utc};
use soldout_core::device::Device;
use soldout_core::order::HandedOver;
use soldout_core::pos::Channel;
use soldout_core::sale::{
    draw, BuyOutcome, OrderId, PaymentAck, PaymentOutcome, Rejection, SaleBook, SaleCounters,
    SaleEvent, SaleId, SaleTerms,
};
use soldout_core::{Currency, CustomerId, MovementKind, NewMovement, OsVersion};
use soldout_store::{Store, StoreError};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot, watch};

use crate::{Chance, Clock, Observer};

/// What every sale's owner (or seller) runs in: the clock, the source of chance and
/// the onlooker of its commits.
#[derive(Clone)]
pub(crate) struct Surroundings {
    pub(crate) clock: Clock,
    pub(crate) chance: Chance,
    pub(crate) observer: Observer,
}

/// Most buy requests held for a fair-start draw.
const HELD_MAX: usize = 1_000_000;
/// Longest an idle owner sleeps before looking at the clock again.
const IDLE_WAKE: Duration = Duration::from_secs(60);
/// Pause before rebuilding after a failed commit.
const REBUILD_PAUSE: Duration = Duration::from_millis(100);

pub(crate) type Reply<T> = oneshot::Sender<Result<T, EngineError>>;

pub(crate) enum Command {
    Buy {
        customer: CustomerId,
        quantity: u32,
        key: u128,
        reply: Reply<(OrderView, bool)>,
    },
    /// Many buys in one command, from an in-process caller; decided in order, answered
    /// together after the commit.
    BuyMany {
        buys: Vec<Buy>,
        reply: Reply<Vec<Result<OrderId, EngineError>>>,
    },
    Register {
        customer: CustomerId,
        reply: Reply<bool>,
    },
    Payment {
        order: OrderId,
        event_id: String,
        outcome: PaymentOutcome,
        amount: i64,
        currency: Currency,
        reply: Reply<OrderView>,
    },
    Cancel {
        order: OrderId,
        customer: CustomerId,
        reply: Reply<OrderView>,
    },
    Get {
        order: OrderId,
        reply: Reply<OrderView>,
    },
    /// Answers once the sale's published counters include every change this node
    /// has made so far (a leased sale reads them again from the database).
    Sync { reply: Reply<()> },
    /// Hands a paid order over; its serials become devices in the same commit.
    Fulfil {
        order: OrderId,
        handed: Vec<HandedOver>,
        /// The OS version the sale's product ships with.
        os_version: OsVersion,
        reply: Reply<OrderView>,
    },
}

impl Command {
    /// Answers the command with `error`, deciding nothing.
    pub(crate) fn refuse(self, error: EngineError) {
        match self {
            Command::Buy { reply, .. } => {
                let _ = reply.send(Err(error));
            }
            Command::BuyMany { reply, .. } => {
                let _ = reply.send(Err(error));
            }
            Command::Register { reply, .. } => {
                let _ = reply.send(Err(error));
            }
            Command::Sync { reply } => {
                let _ = reply.send(Err(error));
            }
            Command::Payment { reply, .. }
            | Command::Cancel { reply, .. }
            | Command::Get { reply, .. }
            | Command::Fulfil { reply, .. } => {
                let _ = reply.send(Err(error));
            }
        }
    }
}

/// One buy of a [`Command::BuyMany`].
#[derive(Debug, Clone, Copy)]
pub struct Buy {
    pub customer: CustomerId,
    pub quantity: u32,
    /// The idempotency key's fingerprint.
    pub key: u128,
}

/// An answer that may only go out once the batch is durable.
enum Pending {
    BoughtMany {
        reply: Reply<Vec<Result<OrderId, EngineError>>>,
        results: Vec<Result<OrderId, EngineError>>,
    },
    Bought {
        reply: Reply<(OrderView, bool)>,
        order: OrderId,
        replay: bool,
    },
    Registered {
        reply: Reply<bool>,
        new: bool,
    },
    Order {
        reply: Reply<OrderView>,
        order: OrderId,
    },
}

impl Pending {
    fn answer(self, book: &SaleBook) {
        let view = |order: OrderId| {
            book.order(order)
                .map(|o| OrderView::new(o, book.terms()))
                .ok_or_else(|| soldout_core::sale::Rejection::UnknownOrder(order).into())
        };
        match self {
            Pending::BoughtMany { reply, results } => {
                let _ = reply.send(Ok(results));
            }
            Pending::Bought {
                reply,
                order,
                replay,
            } => {
                let _ = reply.send(view(order).map(|v| (v, replay)));
            }
            Pending::Registered { reply, new } => {
                let _ = reply.send(Ok(new));
            }
            Pending::Order { reply, order } => {
                let _ = reply.send(view(order));
            }
        }
    }

    fn fail(self, error: impl Fn() -> EngineError) {
        match self {
            Pending::BoughtMany { reply, .. } => {
                let _ = reply.send(Err(error()));
            }
            Pending::Bought { reply, .. } => {
                let _ = reply.send(Err(error()));
            }
            Pending::Registered { reply, .. } => {
                let _ = reply.send(Err(error()));
            }
            Pending::Order { reply, .. } => {
                let _ = reply.send(Err(error()));
            }
        }
    }
}

/// What readers see of a sale without asking its owner: published after each commit.
#[derive(Debug, Clone)]
pub(crate) struct Snapshot {
    pub terms: Arc<SaleTerms>,
    pub counters: SaleCounters,
    pub fair_start_seed: Option<u64>,
    pub sold_out_at: Option<DateTime<Utc>>,
    /// Units held for buyers over time (shared with the book until it changes).
    pub sold_curve: Arc<Vec<(i64, u32)>>,
}

impl Snapshot {
    fn of(book: &SaleBook, terms: &Arc<SaleTerms>) -> Self {
        Snapshot {
            terms: terms.clone(),
            counters: book.counters(),
            fair_start_seed: book.fair_start_seed(),
            sold_out_at: book.sold_out_at(),
            sold_curve: book.sold_curve().points().clone(),
        }
    }
}

/// The sale an order belongs to: order ids carry it in the upper 32 of their 80
/// random bits, so a payment or a lookup finds its owner with no index.
pub(crate) fn sale_of(order: OrderId) -> SaleId {
    order.sale()
}

pub(crate) fn new_order_id(sale: SaleId, now: DateTime<Utc>, chance: Chance) -> OrderId {
    OrderId::of_sale(sale, now.timestamp_millis().max(0) as u64, chance.u64())
}

/// The devices a flash-sale order's hand-over makes, one per serial.
pub(crate) fn handed_devices(
    terms: &SaleTerms,
    order: OrderId,
    handed: &[HandedOver],
    os_version: &OsVersion,
    now: DateTime<Utc>,
) -> Vec<Device> {
    handed
        .iter()
        .flat_map(|h| h.serials.iter())
        .map(|serial| Device {
            serial: serial.clone(),
            sku: terms.sku.clone(),
            product: terms.product.clone(),
            market: terms.market.clone(),
            channel: Channel::FlashSale,
            location: terms.location.clone(),
            sold_at: now,
            price: terms.price,
            currency: terms.currency,
            os_version: os_version.clone(),
            sold_on: format!("order:{order}"),
            returned_at: None,
        })
        .collect()
}

pub(crate) struct SaleOwner {
    store: Arc<dyn Store>,
    clock: Clock,
    chance: Chance,
    observer: Observer,
    terms: Arc<SaleTerms>,
    book: SaleBook,
    next_batch: i64,
    commands: mpsc::Receiver<Command>,
    snapshot: watch::Sender<Snapshot>,
    held: Vec<Command>,
    /// Devices handed over by the batch being decided, written with its commit.
    handed_over: Vec<Device>,
}

/// Rebuilds a sale's book from its journal; returns it with the next batch number.
async fn rebuild(store: &dyn Store, terms: &SaleTerms) -> Result<(SaleBook, i64), StoreError> {
    let mut book = SaleBook::new(terms.clone());
    let mut next_batch = 1;
    for (batch, body) in store.sale_journal(terms.id).await? {
        if batch != next_batch {
            return Err(StoreError::Backend(
                format!(
                    "sale {} journal skips from batch {next_batch} to {batch}",
                    terms.id
                )
                .into(),
            ));
        }
        let events = journal::decode(&body).map_err(|e| {
            StoreError::Backend(format!("sale {} journal batch {batch}: {e}", terms.id).into())
        })?;
        for event in &events {
            book.apply(event);
        }
        next_batch += 1;
    }
    Ok((book, next_batch))
}

impl SaleOwner {
    pub(crate) async fn recover(
        store: Arc<dyn Store>,
        Surroundings {
            clock,
            chance,
            observer,
        }: Surroundings,
        terms: SaleTerms,
        queue_max: usize,
    ) -> Result<(SaleOwner, mpsc::Sender<Command>, watch::Receiver<Snapshot>), StoreError> {
        let (book, next_batch) = rebuild(store.as_ref(), &terms).await?;
        let terms = Arc::new(terms);
        let (commands_tx, commands) = mpsc::channel(queue_max);
        let (snapshot, snapshot_rx) = watch::channel(Snapshot::of(&book, &terms));
        tracing::info!(sale = %terms.id, batches = next_batch - 1, counters = ?book.counters(), "sale recovered");
        let owner = SaleOwner {
            store,
            clock,
            chance,
            observer,
            terms,
            book,
            next_batch,
            commands,
            snapshot,
            held: Vec::new(),
            handed_over: Vec::new(),
        };
        Ok((owner, commands_tx, snapshot_rx))
    }

    /// Serves until every sender is gone. A failed commit answers the batch with an
    /// error, rebuilds the book from the journal (dropping what was not committed)
    /// and goes on.
    pub(crate) async fn run(mut self) {
        loop {
            match self.serve().await {
                Ok(()) => return,
                Err(e) => {
                    tracing::error!(sale = %self.terms.id, error = %e, "commit failed; rebuilding the sale from its journal");
                    loop {
                        self.clock.back_off(REBUILD_PAUSE).await;
                        match rebuild(self.store.as_ref(), &self.terms).await {
                            Ok((book, next_batch)) => {
                                self.book = book;
                                self.next_batch = next_batch;
                                // A commit that failed may still have landed: what
                                // readers see is what the journal holds.
                                self.publish();
                                break;
                            }
                            Err(e) => {
                                tracing::error!(sale = %self.terms.id, error = %e, "rebuild failed")
                            }
                        }
                    }
                }
            }
        }
    }

    /// Applies what fell due while the server was down (expiries, the draw, the end),
    /// so the sale is current before anyone can ask about it.
    pub(crate) async fn catch_up(&mut self) -> Result<(), StoreError> {
        self.step(&mut Vec::new()).await
    }

    async fn serve(&mut self) -> Result<(), StoreError> {
        let mut inbox = Vec::with_capacity(1024);
        loop {
            let wait = self.clock.wait_until(self.book.next_deadline(), IDLE_WAKE);
            tokio::select! {
                received = self.commands.recv_many(&mut inbox, BATCH_MAX) => {
                    if received == 0 {
                        return Ok(());
                    }
                }
                _ = tokio::time::sleep(wait) => {}
            }
            self.step(&mut inbox).await?;
        }
    }

    /// Decides what is due and what is waiting, commits, answers. Fulfilments commit
    /// one by one after the rest: a serial that another channel sold meanwhile
    /// refuses that hand-over alone (409), not the buys batched with it.
    async fn step(&mut self, inbox: &mut Vec<Command>) -> Result<(), StoreError> {
        let is_fulfil = |c: &Command| matches!(c, Command::Fulfil { .. });
        // Hand-overs are rare: the hot path keeps its queue as it is.
        let fulfils: Vec<Command> = if inbox.iter().any(is_fulfil) {
            let (fulfils, rest) = inbox.drain(..).partition(is_fulfil);
            *inbox = rest;
            fulfils
        } else {
            Vec::new()
        };
        self.commit_step(inbox).await?;
        for fulfil in fulfils {
            match self.commit_step(&mut vec![fulfil]).await {
                Err(StoreError::Conflict { slug, detail }) => {
                    tracing::info!(sale = %self.terms.id, slug, detail, "hand-over refused at commit");
                    let (book, next_batch) = rebuild(self.store.as_ref(), &self.terms).await?;
                    self.book = book;
                    self.next_batch = next_batch;
                }
                other => other?,
            }
        }
        Ok(())
    }

    async fn commit_step(&mut self, inbox: &mut Vec<Command>) -> Result<(), StoreError> {
        let now = self.clock.now();
        let released_before = self.book.counters().released;
        let fulfilled_before = self.book.counters().fulfilled;
        let mut events = Vec::new();
        let mut pending = Vec::new();

        if let Some(draw) = self.book.decide_draw(now, self.chance.u64()) {
            let SaleEvent::FairStartDrawn { seed } = draw else {
                unreachable!("decide_draw yields a draw")
            };
            self.record(draw, &mut events);
            // Buys still queued when the window closes arrived inside it (or within
            // the owner's wake-up after it): they join the draw rather than queue
            // behind it.
            let mut held = std::mem::take(&mut self.held);
            let (buys, others): (Vec<Command>, Vec<Command>) = inbox
                .drain(..)
                .partition(|c| matches!(c, Command::Buy { .. } | Command::BuyMany { .. }));
            held.extend(buys);
            inbox.extend(others);
            tracing::info!(sale = %self.terms.id, held = held.len(), seed, "fair-start draw");
            self.decide_held(held, seed, now, &mut events, &mut pending);
        }
        // Requests that were waiting are decided before the deadlines that fell due
        // while they waited: a payment that arrived before `pay_by` pays.
        for command in inbox.drain(..) {
            self.decide(command, now, &mut events, &mut pending);
        }
        for expiry in self.book.decide_expiries(now) {
            self.record(expiry, &mut events);
        }
        if let Some(end) = self.book.decide_end(now) {
            self.record(end, &mut events);
        }

        if !events.is_empty() {
            let counters = self.book.counters();
            let movement = |kind, units: u32| NewMovement {
                location: self.terms.location.clone(),
                sku: self.terms.sku.clone(),
                kind,
                quantity: i64::from(units),
                reference: Some(format!("sale {}", self.terms.id)),
                at: now,
            };
            let movements: Vec<NewMovement> = [
                (
                    MovementKind::AllotmentReturn,
                    counters.released - released_before,
                ),
                (
                    MovementKind::Fulfilment,
                    counters.fulfilled - fulfilled_before,
                ),
            ]
            .into_iter()
            .filter(|&(_, units)| units > 0)
            .map(|(kind, units)| movement(kind, units))
            .collect();
            let devices = std::mem::take(&mut self.handed_over);
            let body = journal::encode(&events);
            let count = u32::try_from(events.len()).expect("a batch is bounded");
            let started = std::time::Instant::now();
            let committed = self
                .store
                .append_sale_batch(
                    self.terms.id,
                    self.next_batch,
                    count,
                    &body,
                    &movements,
                    &devices,
                )
                .await;
            if let Err(e) = committed {
                self.observer.failed();
                self.handed_over.clear();
                for p in pending {
                    p.fail(|| match &e {
                        StoreError::Conflict { slug, detail } => {
                            EngineError::Store(StoreError::Conflict {
                                slug,
                                detail: detail.clone(),
                            })
                        }
                        _ => EngineError::Unavailable("the sale could not commit; retry".into()),
                    });
                }
                return Err(e);
            }
            self.observer.committed(events.len(), started.elapsed());
            self.next_batch += 1;
            self.publish();
        }
        for p in pending {
            p.answer(&self.book);
        }
        Ok(())
    }

    /// Decides one buy; on a reservation, records its event. Returns the order and
    /// whether it was a replay.
    fn buy(
        &mut self,
        customer: CustomerId,
        quantity: u32,
        key: u128,
        now: DateTime<Utc>,
        events: &mut Vec<SaleEvent>,
    ) -> Result<(OrderId, bool), soldout_core::sale::Rejection> {
        let mut id = new_order_id(self.terms.id, now, self.chance);
        while self.book.order(id).is_some() {
            id = new_order_id(self.terms.id, now, self.chance);
        }
        match self.book.decide_buy(customer, quantity, key, now, id)? {
            BuyOutcome::Reserve(event) => {
                self.record(event, events);
                Ok((id, false))
            }
            BuyOutcome::Replay(order) => Ok((order, true)),
        }
    }

    /// The draw: every held buy (one of a many-buy command counts as one) decided in
    /// the draw's order, as any node of several decides them.
    fn decide_held(
        &mut self,
        held: Vec<Command>,
        seed: u64,
        now: DateTime<Utc>,
        events: &mut Vec<SaleEvent>,
        pending: &mut Vec<Pending>,
    ) {
        let buys_of = |command: &Command| -> Vec<Buy> {
            match command {
                Command::Buy {
                    customer,
                    quantity,
                    key,
                    ..
                } => vec![Buy {
                    customer: *customer,
                    quantity: *quantity,
                    key: *key,
                }],
                Command::BuyMany { buys, .. } => buys.clone(),
                _ => Vec::new(),
            }
        };
        let mut slots: Vec<(usize, usize)> = Vec::new();
        let mut flat: Vec<Buy> = Vec::new();
        type Bought = Result<(OrderId, bool), Rejection>;
        let mut results: Vec<Vec<Option<Bought>>> = Vec::new();
        for (c, command) in held.iter().enumerate() {
            let buys = buys_of(command);
            results.push(vec![None; buys.len()]);
            for (j, buy) in buys.into_iter().enumerate() {
                slots.push((c, j));
                flat.push(buy);
            }
        }
        let keys: Vec<u128> = flat.iter().map(|b| b.key).collect();
        for i in draw::draw_order(&keys, seed) {
            let (c, j) = slots[i];
            let b = flat[i];
            results[c][j] = Some(self.buy(b.customer, b.quantity, b.key, now, events));
        }
        for (command, results) in held.into_iter().zip(results) {
            let mut results = results
                .into_iter()
                .map(|r| r.expect("every held buy is decided"));
            match command {
                Command::Buy { reply, .. } => match results.next() {
                    Some(Ok((order, replay))) => pending.push(Pending::Bought {
                        reply,
                        order,
                        replay,
                    }),
                    Some(Err(rejection)) => {
                        let _ = reply.send(Err(rejection.into()));
                    }
                    None => {}
                },
                Command::BuyMany { reply, .. } => pending.push(Pending::BoughtMany {
                    reply,
                    results: results
                        .map(|r| r.map(|(order, _)| order).map_err(EngineError::from))
                        .collect(),
                }),
                other => other.refuse(EngineError::Invalid("only buys are held".into())),
            }
        }
    }

    fn publish(&self) {
        self.snapshot
            .send_replace(Snapshot::of(&self.book, &self.terms));
    }

    fn record(&mut self, event: SaleEvent, events: &mut Vec<SaleEvent>) {
        self.book.apply(&event);
        events.push(event);
    }

    fn decide(
        &mut self,
        command: Command,
        now: DateTime<Utc>,
        events: &mut Vec<SaleEvent>,
        pending: &mut Vec<Pending>,
    ) {
        match command {
            Command::Buy {
                customer,
                quantity,
                key,
                reply,
            } => {
                if self.book.holds_for_fair_start(now) {
                    if self.held.len() < HELD_MAX {
                        self.held.push(Command::Buy {
                            customer,
                            quantity,
                            key,
                            reply,
                        });
                    } else {
                        let _ = reply.send(Err(EngineError::Overloaded));
                    }
                    return;
                }
                match self.buy(customer, quantity, key, now, events) {
                    Ok((order, replay)) => pending.push(Pending::Bought {
                        reply,
                        order,
                        replay,
                    }),
                    Err(rejection) => {
                        let _ = reply.send(Err(rejection.into()));
                    }
                }
            }
            Command::BuyMany { buys, reply } => {
                if self.book.holds_for_fair_start(now) {
                    if self.held.len() < HELD_MAX {
                        self.held.push(Command::BuyMany { buys, reply });
                    } else {
                        let _ = reply.send(Err(EngineError::Overloaded));
                    }
                    return;
                }
                let results = buys
                    .iter()
                    .map(|b| {
                        self.buy(b.customer, b.quantity, b.key, now, events)
                            .map(|(order, _)| order)
                            .map_err(EngineError::from)
                    })
                    .collect();
                pending.push(Pending::BoughtMany { reply, results });
            }
            Command::Register { customer, reply } => {
                match self.book.decide_register(customer, now) {
                    Ok(Some(event)) => {
                        self.record(event, events);
                        pending.push(Pending::Registered { reply, new: true });
                    }
                    Ok(None) => pending.push(Pending::Registered { reply, new: false }),
                    Err(rejection) => {
                        let _ = reply.send(Err(rejection.into()));
                    }
                }
            }
            Command::Payment {
                order,
                event_id,
                outcome,
                amount,
                currency,
                reply,
            } => match self
                .book
                .decide_payment(order, &event_id, outcome, amount, currency, now)
            {
                Ok(PaymentAck::Record(event)) => {
                    self.record(event, events);
                    pending.push(Pending::Order { reply, order });
                }
                Ok(PaymentAck::Duplicate) => pending.push(Pending::Order { reply, order }),
                Err(rejection) => {
                    let _ = reply.send(Err(rejection.into()));
                }
            },
            Command::Cancel {
                order,
                customer,
                reply,
            } => match self.book.decide_cancel(order, customer, now) {
                Ok(event) => {
                    self.record(event, events);
                    pending.push(Pending::Order { reply, order });
                }
                Err(rejection) => {
                    let _ = reply.send(Err(rejection.into()));
                }
            },
            Command::Get { order, reply } => pending.push(Pending::Order { reply, order }),
            // The journal owner publishes its counters after every commit.
            Command::Sync { reply } => {
                let _ = reply.send(Ok(()));
            }
            Command::Fulfil {
                order,
                handed,
                os_version,
                reply,
            } => match self.book.decide_fulfil(order, &handed, now) {
                Ok(event) => {
                    self.handed_over.extend(handed_devices(
                        &self.terms,
                        order,
                        &handed,
                        &os_version,
                        now,
                    ));
                    self.record(event, events);
                    pending.push(Pending::Order { reply, order });
                }
                Err(rejection) => {
                    let _ = reply.send(Err(rejection.into()));
                }
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_ids_carry_their_sale() {
        let now = Utc::now();
        for sale in [1, 42, 4_000_000_000] {
            assert_eq!(
                sale_of(new_order_id(SaleId(sale), now, Chance::System)),
                SaleId(sale)
            );
        }
    }
}
