//! A sale sold by several nodes: this node's seller of one leased sale. It leases a
//! block of the sale's units from the database, decides buys against the block in
//! memory, and commits each batch in one transaction that the database refuses
//! unless the lease is live on its clock and under its epoch (then the batch's
//! buyers get a 503 to retry, never a 201). The database decides each key and each
//! customer's limit across nodes. The seller asks for its next block before it runs
//! out, gives back what it does not need when idle, when another node is out, at the
//! end and on shutdown, and learns from every node's signals when units run out or
//! come back, so a sold-out answer needs no round trip.
//!
//! Payments, cancellations, fulfilments and lookups of a leased sale's orders go to
//! the store directly from whichever node gets them (see `Engine`); expiries and the
//! end run on every node's timer and happen once, in the database.

use crate::owner::{new_order_id, Command, Snapshot, Surroundings};
use crate::views::OrderView;
use crate::{Chance, Clock, EngineError, Observer};
use chrono::{DateTime, Utc};
use rustc_hash::FxHashSet as HashSet;
use soldout_core::sale::draw::{self, HeldBuy};
use soldout_core::sale::{
    check_buy_window, lease, Order, OrderId, OrderStatus, Rejection, SaleTerms, SoldCurve,
};
use soldout_core::CustomerId;
use soldout_store::{LeasedBuy, LeasedOutcome, PoolState, SaleSignal, Store, StoreError};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{broadcast, mpsc, watch};

/// How a node takes part in leased sales.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeSettings {
    /// This node's name in the leases; unique among the nodes sharing a database.
    pub id: Arc<str>,
    /// How long a lease lives without a renewal; a dead node's units go back to the
    /// sale after this long.
    pub lease_ttl: Duration,
}

impl NodeSettings {
    pub const DEFAULT_LEASE_TTL: Duration = Duration::from_secs(10);
}

/// How often a seller looks at its lease, the expiries and the end.
const TICK: Duration = Duration::from_millis(250);
/// A seller that sold nothing for this long gives its unsold units back.
const IDLE_RETURN: Duration = Duration::from_secs(1);
/// Most often the counters are read again after batches.
const REFRESH_EVERY: Duration = Duration::from_millis(200);
/// Most buy requests held for a fair-start draw.
const HELD_MAX: usize = 1_000_000;
/// Most commands decided in one batch.
const BATCH_MAX: usize = crate::BATCH_MAX;

/// This node's lease, as it knows it.
#[derive(Debug, Clone, Copy)]
struct LocalLease {
    epoch: i64,
    unsold: u32,
    /// When this node stops trusting the lease without a renewal: the database's
    /// expiry measured from before the request, less a margin.
    valid_until: Instant,
}

/// One buy of a batch and where its answer goes.
struct Asked {
    /// Which command of the batch it came in.
    reply: usize,
    customer: CustomerId,
    quantity: u32,
    key: u128,
}

/// A command's reply channel.
enum Reply {
    One(crate::owner::Reply<(OrderView, bool)>),
    Many(crate::owner::Reply<Vec<Result<OrderId, EngineError>>>),
}

type Decided = Option<Result<(Order, bool), EngineError>>;

pub(crate) struct LeasedSeller {
    store: Arc<dyn Store>,
    clock: Clock,
    chance: Chance,
    observer: Observer,
    node: NodeSettings,
    terms: Arc<SaleTerms>,
    commands: mpsc::Receiver<Command>,
    signals: broadcast::Receiver<SaleSignal>,
    snapshot: watch::Sender<Snapshot>,
    shutdown: watch::Receiver<bool>,
    lease: Option<LocalLease>,
    pool: PoolState,
    /// Every key that placed an order, loaded when the sale sold out: a sold-out
    /// answer from memory must still know a replay.
    keys_when_sold_out: Option<HashSet<u128>>,
    /// Units sold per second lately, for the size of the next block.
    rate: f64,
    last_sold: Instant,
    last_refresh: Instant,
    held: Vec<Command>,
    curve: SoldCurve,
}

fn ttl_ms(node: &NodeSettings) -> i64 {
    node.lease_ttl.as_millis() as i64
}

impl LeasedSeller {
    pub(crate) async fn start(
        store: Arc<dyn Store>,
        Surroundings {
            clock,
            chance,
            observer,
        }: Surroundings,
        node: NodeSettings,
        terms: SaleTerms,
        queue_max: usize,
        shutdown: watch::Receiver<bool>,
    ) -> Result<(Self, mpsc::Sender<Command>, watch::Receiver<Snapshot>), StoreError> {
        let signals = store.sale_signals();
        // Orders that fell due while this node was down expire before it answers
        // (another node may well have expired them already).
        if clock.now() >= terms.starts_at {
            store.expire_leased_orders(terms.id, clock.now()).await?;
        }
        let pool = store
            .pool_state(terms.id)
            .await?
            .ok_or_else(|| StoreError::Backend(format!("sale {} has no pool", terms.id).into()))?;
        let terms = Arc::new(terms);
        // The curve as every node draws it: from the orders' own times.
        let mut curve = SoldCurve::default();
        let mut held = 0i64;
        for (at, units) in store.leased_curve(terms.id).await? {
            held += units;
            curve.record(
                soldout_core::sale::to_ms(at),
                held.clamp(0, i64::from(u32::MAX)) as u32,
            );
        }
        let snapshot = Snapshot {
            terms: terms.clone(),
            counters: pool.counters,
            fair_start_seed: pool.fair_start_seed,
            sold_out_at: pool.sold_out_at,
            sold_curve: curve.points().clone(),
        };
        let (snapshot, snapshot_rx) = watch::channel(snapshot);
        let (commands_tx, commands) = mpsc::channel(queue_max);
        let now = Instant::now();
        let seller = LeasedSeller {
            store,
            clock,
            chance,
            observer,
            node,
            terms,
            commands,
            signals,
            snapshot,
            shutdown,
            lease: None,
            pool,
            keys_when_sold_out: None,
            rate: 0.0,
            last_sold: now,
            last_refresh: now,
            held: Vec::new(),
            curve,
        };
        Ok((seller, commands_tx, snapshot_rx))
    }

    fn sale_id(&self) -> soldout_core::sale::SaleId {
        self.terms.id
    }

    /// Sells until the engine shuts down (then gives its units back) or every sender
    /// is gone.
    pub(crate) async fn run(mut self) {
        let mut inbox = Vec::with_capacity(1024);
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                received = self.commands.recv_many(&mut inbox, BATCH_MAX) => {
                    if received == 0 {
                        break;
                    }
                    self.sell(&mut inbox).await;
                }
                signal = self.signals.recv() => match signal {
                    Ok(SaleSignal::Changed(sale)) if sale == self.sale_id() => self.refresh().await,
                    Ok(SaleSignal::NeedUnits(sale)) if sale == self.sale_id() => self.give_some_back().await,
                    Ok(_) => {}
                    Err(broadcast::error::RecvError::Lagged(_)) => self.refresh().await,
                    Err(broadcast::error::RecvError::Closed) => {}
                },
                _ = tick.tick() => self.on_tick().await,
                _ = self.shutdown.changed() => break,
            }
        }
        self.give_back_all().await;
    }

    /// Reads the pool and the counters again and publishes them.
    async fn refresh(&mut self) {
        match self.store.pool_state(self.sale_id()).await {
            Ok(Some(pool)) => {
                let sold_out_before = self.is_sold_out();
                self.pool = pool;
                self.last_refresh = Instant::now();
                if !self.is_sold_out() {
                    self.keys_when_sold_out = None;
                } else if !sold_out_before || self.keys_when_sold_out.is_none() {
                    self.load_keys().await;
                }
                self.publish(crate::now_ms(self.clock));
            }
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(sale = %self.sale_id(), error = %e, "reading the sale's pool failed")
            }
        }
    }

    /// Publishes the counters as this node knows them, as of `at_ms`.
    fn publish(&mut self, at_ms: i64) {
        let c = self.pool.counters;
        let held = c.reserved + c.paid + c.fulfilled;
        // The curve moves only when the units do (a reader re-draws on a move).
        if self.curve.points().last().map_or(0, |&(_, units)| units) != held {
            self.curve.record(at_ms, held);
        }
        self.snapshot.send_replace(Snapshot {
            terms: self.terms.clone(),
            counters: c,
            fair_start_seed: self.pool.fair_start_seed,
            sold_out_at: self.pool.sold_out_at,
            sold_curve: self.curve.points().clone(),
        });
    }

    async fn load_keys(&mut self) {
        match self.store.leased_keys(self.sale_id()).await {
            Ok(keys) => self.keys_when_sold_out = Some(keys.into_iter().collect()),
            Err(e) => {
                tracing::warn!(sale = %self.sale_id(), error = %e, "loading the sale's keys failed")
            }
        }
    }

    /// Nothing left anywhere: not in the pool, not in any node's lease.
    fn is_sold_out(&self) -> bool {
        self.pool.unleased == 0
            && self.pool.leased_unsold == 0
            && self.lease.is_none_or(|l| l.unsold == 0)
    }

    async fn on_tick(&mut self) {
        let now = self.clock.now();
        if now >= self.terms.ends_at && !self.pool.ended {
            match self.store.end_leased_sale(self.sale_id(), now).await {
                Ok(_) => {
                    self.lease = None;
                    self.refresh().await;
                }
                Err(e) => {
                    tracing::warn!(sale = %self.sale_id(), error = %e, "ending the sale failed")
                }
            }
        }
        if now >= self.terms.starts_at && (!self.pool.ended || self.pool.counters.reserved > 0) {
            if let Err(e) = self.store.expire_leased_orders(self.sale_id(), now).await {
                tracing::warn!(sale = %self.sale_id(), error = %e, "expiring orders failed");
            }
        }
        if self.terms.fair_start_secs > 0
            && now >= self.terms.fair_start_closes_at()
            && (!self.pool.drawn || !self.held.is_empty())
        {
            self.draw().await;
        }
        if let Some(lease) = self.lease {
            if lease.unsold > 0 && self.last_sold.elapsed() >= IDLE_RETURN {
                self.give_back_all().await;
            } else if lease.valid_until.saturating_duration_since(Instant::now())
                < self.node.lease_ttl / 2
            {
                self.renew(0).await;
            }
        }
        if self.last_refresh.elapsed() >= TICK * 2
            && !(self.pool.ended && self.pool.counters.reserved == 0)
        {
            self.refresh().await;
        }
    }

    /// Asks for `more` units and renews the lease. On a failure the lease is kept as
    /// the node knows it (the database is the judge of whether it is still live).
    async fn renew(&mut self, more: u32) {
        let asked_at = Instant::now();
        match self
            .store
            .lease_units(
                self.sale_id(),
                &self.node.id,
                more,
                ttl_ms(&self.node),
                self.clock.now(),
            )
            .await
        {
            Ok((lease, _)) => {
                let live = Duration::from_millis(lease.live_for_ms.max(0) as u64);
                self.lease = Some(LocalLease {
                    epoch: lease.epoch,
                    unsold: lease.unsold(),
                    valid_until: asked_at + live.saturating_sub(self.node.lease_ttl / 5),
                });
            }
            Err(e) => tracing::warn!(sale = %self.sale_id(), error = %e, "leasing units failed"),
        }
    }

    async fn give_back_all(&mut self) {
        let Some(lease) = self.lease.take() else {
            return;
        };
        if let Err(e) = self
            .store
            .return_lease(self.sale_id(), &self.node.id, lease.epoch, 0)
            .await
        {
            tracing::warn!(sale = %self.sale_id(), error = %e, "returning the lease failed; it will expire");
        }
    }

    /// Another node is out of units while this one holds some: an idle holder gives
    /// them all back, a busy one half.
    async fn give_some_back(&mut self) {
        let Some(lease) = self.lease else { return };
        if lease.unsold == 0 {
            return;
        }
        if self.last_sold.elapsed() >= TICK {
            self.give_back_all().await;
            return;
        }
        let keep = lease.unsold / 2;
        match self
            .store
            .return_lease(self.sale_id(), &self.node.id, lease.epoch, keep.max(1))
            .await
        {
            Ok(given) => {
                if let Some(l) = self.lease.as_mut() {
                    l.unsold -= given.min(l.unsold);
                }
            }
            Err(e) => {
                tracing::warn!(sale = %self.sale_id(), error = %e, "giving units back failed")
            }
        }
    }

    /// The fair-start draw, one for every node: the first seed recorded closes the
    /// entries every node made; the first node to decide them writes the winners'
    /// orders. Then this node's held buys are sold as any buy after the draw is: a
    /// winner's key finds its order, a loser gets the same refusal again.
    async fn draw(&mut self) {
        let now = self.clock.now();
        if !self.pool.drawn {
            let closed = match self.store.close_draw(&self.terms, self.chance.u64()).await {
                Ok(closed) => closed,
                Err(e) => {
                    tracing::warn!(sale = %self.sale_id(), error = %e, "closing the draw failed");
                    return;
                }
            };
            if !closed.drawn {
                let sale = self.sale_id();
                let decided = draw::decide_held(
                    &self.terms,
                    closed.registered.iter().copied(),
                    &closed.entries,
                    closed.seed,
                    now,
                    || new_order_id(sale, now, self.chance),
                );
                let placed: Vec<LeasedBuy> = closed
                    .entries
                    .iter()
                    .zip(&decided)
                    .filter_map(|(entry, decided)| {
                        decided.as_ref().ok().map(|order| LeasedBuy {
                            order: order.id,
                            customer: entry.customer,
                            quantity: entry.quantity,
                            key: entry.key,
                            at: now,
                        })
                    })
                    .collect();
                match self
                    .store
                    .record_draw(&self.terms, &self.node.id, &placed, now)
                    .await
                {
                    Ok(written) => tracing::info!(
                        sale = %sale,
                        entries = closed.entries.len(),
                        winners = placed.len(),
                        seed = closed.seed,
                        written,
                        "fair-start draw"
                    ),
                    Err(e) => {
                        tracing::warn!(sale = %sale, error = %e, "writing the draw failed");
                        return;
                    }
                }
            }
            self.refresh().await;
        }
        if !self.pool.drawn {
            return;
        }
        let mut held = std::mem::take(&mut self.held);
        while !held.is_empty() {
            let rest = held.split_off(held.len().min(BATCH_MAX));
            self.sell(&mut held).await;
            held = rest;
        }
    }

    /// Enters buys that arrived while the fair-start window is open in the one draw
    /// of every node, and holds them for it. Buys that come after the entries closed
    /// are held too, and sold after the draw's winners.
    async fn enter_draw(&mut self, commands: Vec<Command>) {
        let buys: Vec<HeldBuy> = commands
            .iter()
            .flat_map(|command| match command {
                Command::Buy {
                    customer,
                    quantity,
                    key,
                    ..
                } => vec![HeldBuy {
                    customer: *customer,
                    quantity: *quantity,
                    key: *key,
                }],
                Command::BuyMany { buys, .. } => buys
                    .iter()
                    .map(|b| HeldBuy {
                        customer: b.customer,
                        quantity: b.quantity,
                        key: b.key,
                    })
                    .collect(),
                _ => Vec::new(),
            })
            .filter(|b| b.quantity > 0)
            .collect();
        match self
            .store
            .enter_draw(self.sale_id(), &self.node.id, &buys)
            .await
        {
            Ok(_) => self.held.extend(commands),
            Err(e) => {
                tracing::warn!(sale = %self.sale_id(), error = %e, "entering the draw failed");
                for command in commands {
                    command.refuse(EngineError::Unavailable(
                        "the sale could not enter this request in the draw; retry".into(),
                    ));
                }
            }
        }
    }

    /// Whether a buy arriving now waits for the fair-start draw.
    fn holds_for_draw(&self, now: DateTime<Utc>) -> bool {
        self.terms.fair_start_secs > 0
            && !self.pool.drawn
            && now
                >= self.terms.starts_at
                    - chrono::Duration::seconds(soldout_core::sale::FAIR_START_EARLY_HOLD_SECS)
            && now < self.terms.ends_at
    }

    /// Decides and commits one batch of buys, then answers each.
    async fn sell(&mut self, inbox: &mut Vec<Command>) {
        let now = self.clock.now();
        let holds = self.holds_for_draw(now);
        let mut replies: Vec<Reply> = Vec::new();
        let mut asked: Vec<Asked> = Vec::new();
        let mut syncs = Vec::new();
        let mut entering = Vec::new();
        for command in inbox.drain(..) {
            match command {
                Command::Sync { reply } => syncs.push(reply),
                Command::Buy { .. } | Command::BuyMany { .. } if holds => {
                    if self.held.len() + entering.len() < HELD_MAX {
                        entering.push(command);
                    } else {
                        command.refuse(EngineError::Overloaded);
                    }
                }
                Command::Buy {
                    customer,
                    quantity,
                    key,
                    reply,
                } => {
                    asked.push(Asked {
                        reply: replies.len(),
                        customer,
                        quantity,
                        key,
                    });
                    replies.push(Reply::One(reply));
                }
                Command::BuyMany { buys, reply } => {
                    for b in &buys {
                        asked.push(Asked {
                            reply: replies.len(),
                            customer: b.customer,
                            quantity: b.quantity,
                            key: b.key,
                        });
                    }
                    replies.push(Reply::Many(reply));
                }
                other => other.refuse(EngineError::Invalid(
                    "a leased sale's orders are handled by the engine, not its seller".into(),
                )),
            }
        }
        if !entering.is_empty() {
            self.enter_draw(entering).await;
        }
        if !syncs.is_empty() {
            self.refresh().await;
            for reply in syncs {
                let _ = reply.send(Ok(()));
            }
        }
        if asked.is_empty() {
            return;
        }
        let mut decided: Vec<Decided> = (0..asked.len()).map(|_| None).collect();
        // What the node decides alone: the window, the quantity, a key seen twice in
        // this batch.
        let window = check_buy_window(
            &self.terms,
            now,
            self.pool.ended,
            self.pool.fair_start_seed.is_some(),
        );
        let mut first_of: rustc_hash::FxHashMap<u128, usize> = Default::default();
        let mut duplicates = Vec::new();
        let mut pending: Vec<(usize, LeasedBuy)> = Vec::new();
        for (i, a) in asked.iter().enumerate() {
            if let Err(rejection) = &window {
                decided[i] = Some(Err(rejection.clone().into()));
            } else if a.quantity == 0 || a.quantity > self.terms.per_customer_limit {
                decided[i] = Some(Err(Rejection::LimitReached {
                    limit: self.terms.per_customer_limit,
                    held: 0,
                    asked: a.quantity,
                }
                .into()));
            } else if let Some(&first) = first_of.get(&a.key) {
                duplicates.push((i, first));
            } else {
                first_of.insert(a.key, i);
                let mut order = new_order_id(self.terms.id, now, self.chance);
                while pending.iter().any(|(_, b)| b.order == order) {
                    order = new_order_id(self.terms.id, now, self.chance);
                }
                pending.push((
                    i,
                    LeasedBuy {
                        order,
                        customer: a.customer,
                        quantity: a.quantity,
                        key: a.key,
                        at: now,
                    },
                ));
            }
        }
        if self.is_sold_out() && self.keys_when_sold_out.is_some() {
            self.answer_sold_out(pending, &mut decided).await;
        } else if !pending.is_empty() {
            self.commit(pending, &mut decided).await;
        }
        // A key twice in one batch answers as its first did.
        for (i, first) in duplicates {
            decided[i] = Some(match &decided[first] {
                Some(Ok((order, _))) if order.quantity == asked[i].quantity => {
                    Ok((order.clone(), true))
                }
                Some(Ok((order, _))) => Err(Rejection::IdempotencyMismatch {
                    original: order.quantity,
                }
                .into()),
                _ => Err(EngineError::Unavailable(
                    "the same key is being decided; retry".into(),
                )),
            });
        }
        self.answer(replies, &asked, decided);
        if self.last_refresh.elapsed() >= REFRESH_EVERY {
            self.refresh().await;
        }
    }

    fn answer(&self, replies: Vec<Reply>, asked: &[Asked], decided: Vec<Decided>) {
        let mut results: Vec<Vec<Result<(Order, bool), EngineError>>> =
            replies.iter().map(|_| Vec::new()).collect();
        for (a, d) in asked.iter().zip(decided) {
            results[a.reply].push(
                d.unwrap_or_else(|| Err(EngineError::Unavailable("not decided; retry".into()))),
            );
        }
        for (reply, mut results) in replies.into_iter().zip(results) {
            match reply {
                Reply::One(reply) => {
                    let result = results.pop().unwrap_or_else(|| {
                        Err(EngineError::Unavailable("not decided; retry".into()))
                    });
                    let _ = reply
                        .send(result.map(|(o, replay)| (OrderView::new(&o, &self.terms), replay)));
                }
                Reply::Many(reply) => {
                    let _ = reply.send(Ok(results
                        .into_iter()
                        .map(|r| r.map(|(o, _)| o.id))
                        .collect()));
                }
            }
        }
    }

    /// Nothing left anywhere: a buy is refused from memory unless its key bought
    /// before, which the database answers.
    async fn answer_sold_out(&mut self, pending: Vec<(usize, LeasedBuy)>, decided: &mut [Decided]) {
        if self.keys_when_sold_out.is_none() {
            self.load_keys().await;
        }
        let (mut known, unknown): (Vec<_>, Vec<_>) = pending.into_iter().partition(|(_, buy)| {
            self.keys_when_sold_out
                .as_ref()
                .is_none_or(|k| k.contains(&buy.key))
        });
        for (i, _) in unknown {
            decided[i] = Some(Err(Rejection::SoldOut.into()));
        }
        if !known.is_empty() {
            self.decide_known(&mut known, decided).await;
            for (i, _) in known {
                decided[i] = Some(Err(Rejection::SoldOut.into()));
            }
        }
    }

    /// Makes sure the lease holds what `pending` asks for (leasing more when it does
    /// not, or will not for long), commits what it holds and decides the rest.
    async fn commit(&mut self, pending: Vec<(usize, LeasedBuy)>, decided: &mut [Decided]) {
        let asked: u32 = pending
            .iter()
            .map(|(_, b)| b.quantity)
            .fold(0, u32::saturating_add);
        let trusted = self.lease.filter(|l| l.valid_until > Instant::now());
        let have = trusted.map_or(0, |l| l.unsold);
        if trusted.is_none()
            || have < asked
            || lease::should_refill(have - asked.min(have), self.rate)
        {
            let needed = asked.saturating_sub(have);
            let want = lease::block_size(needed, self.rate, self.pool.unleased.max(needed));
            self.renew(want).await;
        }
        let Some(lease) = self.lease.filter(|l| l.valid_until > Instant::now()) else {
            for (i, _) in pending {
                decided[i] = Some(Err(EngineError::Unavailable(
                    "this node holds no lease of the sale's units right now; retry".into(),
                )));
            }
            return;
        };
        let mut left = lease.unsold;
        let mut taken = Vec::new();
        let mut short = Vec::new();
        for (i, buy) in pending {
            if buy.quantity <= left {
                left -= buy.quantity;
                taken.push((i, buy));
            } else {
                short.push((i, buy));
            }
        }
        if !short.is_empty() {
            self.decide_known(&mut short, decided).await;
            self.refresh().await;
            if self.pool.unleased == 0 && self.pool.leased_unsold <= lease.unsold {
                // Nothing beyond what this node holds; replays were answered above.
                for (i, _) in short {
                    decided[i] = Some(Err(Rejection::SoldOut.into()));
                }
            } else {
                self.store
                    .signal(SaleSignal::NeedUnits(self.sale_id()))
                    .await;
                for (i, _) in short {
                    decided[i] = Some(Err(EngineError::Unavailable(
                        "the units left are leased to other nodes; retry in a moment".into(),
                    )));
                }
            }
        }
        if taken.is_empty() {
            return;
        }
        let buys: Vec<LeasedBuy> = taken.iter().map(|(_, b)| *b).collect();
        let started = Instant::now();
        let committed = self
            .store
            .commit_leased_batch(
                &self.terms,
                &self.node.id,
                lease.epoch,
                ttl_ms(&self.node),
                &buys,
            )
            .await;
        match &committed {
            Ok(_) => self.observer.committed(buys.len(), started.elapsed()),
            // A lapsed lease is the guard working, not the store failing.
            Err(StoreError::Fenced(_)) => {}
            Err(_) => self.observer.failed(),
        }
        match committed {
            Ok(outcomes) => {
                let mut placed_units = 0u32;
                for ((i, buy), outcome) in taken.into_iter().zip(outcomes) {
                    if matches!(outcome, LeasedOutcome::Placed) {
                        placed_units += buy.quantity;
                        if let Some(keys) = self.keys_when_sold_out.as_mut() {
                            keys.insert(buy.key);
                        }
                    }
                    decided[i] = Some(self.decide(&buy, outcome));
                }
                if let Some(l) = self.lease.as_mut() {
                    l.unsold -= placed_units.min(l.unsold);
                    l.valid_until = started + self.node.lease_ttl - self.node.lease_ttl / 5;
                }
                self.note_sold(placed_units);
                if placed_units > 0 {
                    // This node's own sales show at once; the others' with the next
                    // refresh.
                    let c = &mut self.pool.counters;
                    c.available -= placed_units.min(c.available);
                    c.reserved += placed_units;
                    self.pool.leased_unsold -= placed_units.min(self.pool.leased_unsold);
                    self.publish(soldout_core::sale::to_ms(buys[0].at));
                }
                if self.lease.is_some_and(|l| l.unsold == 0) {
                    // Out of units: lease the next block now, or learn the sale is
                    // sold out everywhere.
                    let want = lease::block_size(0, self.rate, self.pool.unleased.max(1));
                    self.renew(want).await;
                    if self.lease.is_some_and(|l| l.unsold == 0) {
                        self.refresh().await;
                    }
                }
            }
            Err(StoreError::Fenced(why)) => {
                tracing::warn!(sale = %self.sale_id(), why, "batch refused: the lease lapsed");
                self.lease = None;
                for (i, _) in taken {
                    decided[i] = Some(Err(EngineError::Unavailable(
                        "this node's lease of the sale lapsed before the batch committed; retry"
                            .into(),
                    )));
                }
            }
            Err(e) => {
                tracing::error!(sale = %self.sale_id(), error = %e, "leased batch failed");
                for (i, _) in taken {
                    decided[i] = Some(Err(EngineError::Unavailable(
                        "the sale could not commit; retry".into(),
                    )));
                }
            }
        }
    }

    /// Decides the buys of `short` that the database already answers (a replay, a
    /// mismatched key, a customer at the limit) and keeps the rest: as on one node, a
    /// buy over the limit is refused for the limit before it is refused for stock.
    async fn decide_known(&self, short: &mut Vec<(usize, LeasedBuy)>, decided: &mut [Decided]) {
        let buys: Vec<LeasedBuy> = short.iter().map(|(_, b)| *b).collect();
        match self.store.leased_standing(&self.terms, &buys).await {
            Ok(standing) => {
                let mut kept = Vec::with_capacity(short.len());
                for ((i, buy), known) in short.drain(..).zip(standing) {
                    match known {
                        Some(outcome) => decided[i] = Some(self.decide(&buy, outcome)),
                        None => kept.push((i, buy)),
                    }
                }
                *short = kept;
            }
            Err(e) => {
                tracing::warn!(sale = %self.sale_id(), error = %e, "reading the buyers' standing failed");
                for (i, _) in short.drain(..) {
                    decided[i] = Some(Err(EngineError::Unavailable(
                        "the sale could not be read; retry".into(),
                    )));
                }
            }
        }
    }

    /// The answer to a buy the database decided.
    fn decide(
        &self,
        buy: &LeasedBuy,
        outcome: LeasedOutcome,
    ) -> Result<(Order, bool), EngineError> {
        match outcome {
            LeasedOutcome::Placed => Ok((self.placed(buy), false)),
            LeasedOutcome::Replay(order) => Ok((order, true)),
            LeasedOutcome::KeyMismatch { original } => {
                Err(Rejection::IdempotencyMismatch { original }.into())
            }
            LeasedOutcome::LimitReached { held } => Err(Rejection::LimitReached {
                limit: self.terms.per_customer_limit,
                held,
                asked: buy.quantity,
            }
            .into()),
            LeasedOutcome::NotRegistered => Err(Rejection::NotRegistered.into()),
        }
    }

    /// The order a placed buy became.
    fn placed(&self, buy: &LeasedBuy) -> Order {
        let created_at_ms = soldout_core::sale::to_ms(buy.at);
        Order {
            id: buy.order,
            customer: buy.customer,
            quantity: buy.quantity,
            amount: self.terms.price * i64::from(buy.quantity),
            status: OrderStatus::Reserved,
            created_at_ms,
            pay_by_ms: created_at_ms + i64::from(self.terms.payment_window_secs) * 1000,
            payment_failures: 0,
            refunds_due: 0,
        }
    }

    /// Keeps the recent rate: units per second, smoothed over about a second.
    fn note_sold(&mut self, units: u32) {
        let elapsed = self.last_sold.elapsed().as_secs_f64().max(0.001);
        let instant_rate = f64::from(units) / elapsed;
        let weight = elapsed.min(1.0);
        self.rate = self.rate * (1.0 - weight) + instant_rate * weight;
        if units > 0 {
            self.last_sold = Instant::now();
        }
    }
}
