//! The flash-sale engine, as DESIGN.md's "hot path" describes it:
//!
//! - **One owner per sale.** Each sale's [`SaleBook`](soldout_core::sale::SaleBook)
//!   lives in one task ([`owner`]); nothing else touches it, so the hot path takes no
//!   lock and reads no database row.
//! - **Bounded queues.** Requests reach the owner through a bounded channel; when it
//!   is full the caller gets [`EngineError::Overloaded`] at once (a 503).
//! - **Group commit.** The owner decides everything waiting in its queue, appends the
//!   batch's events to the sale's journal in one transaction, and only then answers.
//!   No buyer is told "yours" before it is durable.
//! - **Recovery.** On start every sale is rebuilt by replaying its journal; orders
//!   whose payment window passed while the server was down expire at once.

mod chance;
pub mod charts;
pub mod clock;
pub mod imports;
pub mod journal;
mod leased;
pub mod observe;
mod online;
mod owner;
pub mod pos;
pub mod pricing;
pub mod reports;
pub mod rollouts;
mod traffic;
mod views;

pub use chance::Chance;
pub use clock::{Clock, ManualTime};
pub use traffic::{Answers, SaleTraffic, REFUSAL_REASONS};
pub use views::{OrderView, SaleView};

pub use leased::NodeSettings;
pub use observe::{CommitObserver, Observer};
pub use owner::Buy;
use owner::{Command, Reply, SaleOwner, Snapshot};
use soldout_core::order::{HandedOver, HoldPolicy, NewOrder, PaymentReport};
use soldout_core::sale::{NewSale, OrderId, PaymentOutcome, Rejection, SaleId, SaleTerms};
use soldout_core::{Currency, CustomerId};
use soldout_store::{Store, StoreError};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use tokio::sync::{mpsc, oneshot, watch, Notify};
use traffic::Traffic;

/// The "sale" online orders carry in their ids: none is ever numbered 0.
const ONLINE_ORDERS: SaleId = SaleId(0);

fn is_online(order: OrderId) -> bool {
    owner::sale_of(order) == ONLINE_ORDERS
}

/// Requests one sale's queue holds before callers are told to retry.
pub const QUEUE_MAX: usize = 65_536;
/// Most commands decided in one group commit.
pub const BATCH_MAX: usize = 16_384;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Rejected(#[from] Rejection),
    #[error("sale {0} does not exist")]
    UnknownSale(SaleId),
    #[error("the sale's queue is full; retry shortly")]
    Overloaded,
    #[error("the sale could not commit; nothing was decided: {0}")]
    Unavailable(String),
    /// A request that does not hold together with the catalog or the clock (a 422).
    #[error("{0}")]
    Invalid(String),
    /// A new sale of a product not on sale in its market at its start.
    #[error("{0}")]
    NotLaunched(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl EngineError {
    /// A short stable name for counting outcomes: the rejection's slug, or what kept
    /// the engine from deciding.
    pub fn slug(&self) -> &'static str {
        match self {
            EngineError::Rejected(r) => r.slug(),
            EngineError::UnknownSale(_) => "not-found",
            EngineError::Overloaded => "overloaded",
            EngineError::Unavailable(_) => "unavailable",
            EngineError::Invalid(_) => "invalid-request",
            EngineError::NotLaunched(_) => "not-launched",
            EngineError::Store(_) => "store-error",
        }
    }
}

/// A thing a request names that does not exist (a 404).
pub(crate) fn not_found(what: &'static str, id: &dyn std::fmt::Display) -> EngineError {
    EngineError::Store(StoreError::NotFound {
        what,
        id: id.to_string(),
    })
}

/// How a caller waits for room in a full queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Refuse at once with `Overloaded` (HTTP callers: a 503 with `Retry-After`).
    RejectWhenFull,
    /// Wait for room (in-process callers such as the demo's simulated rush).
    WaitForRoom,
}

struct SaleHandle {
    commands: mpsc::Sender<Command>,
    snapshot: watch::Receiver<Snapshot>,
    traffic: Arc<Traffic>,
    /// Sold by several nodes through leases: its orders are rows in the store.
    leased: bool,
}

fn now_ms(clock: Clock) -> i64 {
    clock.now().timestamp_millis()
}

/// A sale as the live page shows it: its counters, the answers to its buyers since the
/// server started, and the units held for buyers over time.
#[derive(Debug, Clone)]
pub struct LiveSale {
    pub sale: SaleView,
    pub answers: Answers,
    /// `(milliseconds since the Unix epoch, units held)`, oldest first.
    pub sold_curve: Arc<Vec<(i64, u32)>>,
}

/// What an engine is started with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineOptions {
    /// Requests each sale's queue holds.
    pub queue_max: usize,
    /// What one customer may hold unpaid in regular online orders, and for how long.
    pub holds: HoldPolicy,
    /// This node, when several share the database: the sales it creates are sold
    /// through allotment leases by every node. `None`: one node; its new sales are
    /// sold from their journals.
    pub node: Option<NodeSettings>,
    /// Where order ids and fair-start seeds come from.
    pub chance: Chance,
    /// Who hears of every group commit (the server's metrics).
    pub observer: Observer,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            queue_max: QUEUE_MAX,
            holds: HoldPolicy::default(),
            node: None,
            chance: Chance::System,
            observer: Observer::default(),
        }
    }
}

/// The node name a node without one uses for the leased sales it meets (several such
/// nodes share one lease row, whose guards still never sell past it).
const UNNAMED_NODE: &str = "unnamed";

/// Every open sale's owner, and the way to reach it.
#[derive(Clone)]
pub struct Engine {
    store: Arc<dyn Store>,
    clock: Clock,
    chance: Chance,
    observer: Observer,
    /// Requests each sale's queue holds.
    queue_max: usize,
    /// What one customer may hold unpaid in regular online orders.
    holds: HoldPolicy,
    sales: Arc<RwLock<HashMap<SaleId, SaleHandle>>>,
    /// Pokes the online orders' expiry timer when a new order is placed.
    online_wake: Arc<Notify>,
    /// This node, when several share the database.
    node: Option<NodeSettings>,
    /// Set once on shutdown: leased sellers give their units back and stop.
    shutdown: Arc<watch::Sender<bool>>,
    sellers: Arc<std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>>,
    /// Serializes starting an owner for a sale this node has not met yet.
    spawning: Arc<tokio::sync::Mutex<()>>,
}

impl Engine {
    /// Starts an owner for every sale in the store, each rebuilt from its journal.
    pub async fn start(store: Arc<dyn Store>, clock: Clock) -> Result<Engine, EngineError> {
        Self::start_with_queue(store, clock, QUEUE_MAX).await
    }

    /// As [`Engine::start`], with each sale's queue holding `queue_max` requests.
    pub async fn start_with_queue(
        store: Arc<dyn Store>,
        clock: Clock,
        queue_max: usize,
    ) -> Result<Engine, EngineError> {
        let options = EngineOptions {
            queue_max,
            ..EngineOptions::default()
        };
        Self::start_with(store, clock, options).await
    }

    /// As [`Engine::start`], with `options`.
    pub async fn start_with(
        store: Arc<dyn Store>,
        clock: Clock,
        options: EngineOptions,
    ) -> Result<Engine, EngineError> {
        assert!(options.queue_max > 0, "a queue holds at least one request");
        options.holds.validate().map_err(EngineError::Invalid)?;
        let engine = Engine {
            store: store.clone(),
            clock,
            chance: options.chance,
            observer: options.observer.clone(),
            queue_max: options.queue_max,
            holds: options.holds,
            sales: Arc::new(RwLock::new(HashMap::new())),
            online_wake: Arc::new(Notify::new()),
            node: options.node.clone(),
            shutdown: Arc::new(watch::channel(false).0),
            sellers: Arc::default(),
            spawning: Arc::default(),
        };
        // Sales created on other nodes are met when they say so (or when asked for).
        let mut signals = store.sale_signals();
        for terms in store.sales().await? {
            engine.spawn_owner(terms).await?;
        }
        let meeting = engine.clone();
        tokio::spawn(async move {
            loop {
                match signals.recv().await {
                    Ok(soldout_store::SaleSignal::Created(sale)) => {
                        if let Err(e) = meeting.meet(sale).await {
                            tracing::warn!(%sale, error = %e, "starting a sale created elsewhere failed");
                        }
                    }
                    Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                }
                if *meeting.shutdown.borrow() {
                    return;
                }
            }
        });
        // Online orders that fell due while the server was down expire before anyone
        // can ask about them; from now on the timer does it.
        store.expire_online_orders(clock.now()).await?;
        tokio::spawn(online::expire_forever(
            store,
            clock,
            engine.online_wake.clone(),
        ));
        Ok(engine)
    }

    pub fn clock(&self) -> Clock {
        self.clock
    }

    fn surroundings(&self) -> owner::Surroundings {
        owner::Surroundings {
            clock: self.clock,
            chance: self.chance,
            observer: self.observer.clone(),
        }
    }

    /// Opens a sale from what an operator asks for: checks it against the catalog
    /// (the market, the location in that market, the SKU's product launched there by
    /// `starts_at`, a price) and the clock, then creates it. Every channel that opens
    /// sales comes through here.
    pub async fn open_sale(&self, new: NewSale) -> Result<SaleView, EngineError> {
        let now = self.clock.now();
        let market = self
            .store
            .market(&new.market)
            .await?
            .ok_or_else(|| not_found("market", &new.market))?;
        let location = self
            .store
            .location(&new.location)
            .await?
            .ok_or_else(|| not_found("location", &new.location))?;
        if location.market != market.code {
            return Err(EngineError::Invalid(format!(
                "location {} is in market {}, not {}",
                location.id, location.market, market.code
            )));
        }
        let product = self
            .store
            .products()
            .await?
            .into_iter()
            .find(|p| p.skus.iter().any(|s| s.sku == new.sku))
            .map(|p| p.id)
            .ok_or_else(|| not_found("sku", &new.sku))?;
        let entry = self
            .store
            .lineup(&market.code)
            .await?
            .into_iter()
            .find(|e| e.product.id == product)
            .ok_or_else(|| {
                EngineError::NotLaunched(format!(
                    "{product} has no launch in {m}; set one with PUT /v1/products/{product}/launches/{m}",
                    m = market.code
                ))
            })?;
        if !entry.launch.allows_sale_at(new.starts_at) {
            return Err(EngineError::NotLaunched(format!(
                "{product} may be sold in {} from {}; the sale would start at {}",
                market.code, entry.launch.sale_from, new.starts_at
            )));
        }
        if new.ends_at <= now {
            return Err(EngineError::Invalid(format!(
                "ends_at {} is already past (the server's clock says {now})",
                new.ends_at
            )));
        }
        let list_price = entry.prices.get(&new.sku).copied();
        let terms = new
            .validate(SaleId(0), product, list_price, market.currency, now)
            .map_err(|e| EngineError::Invalid(e.to_string()))?;
        self.create_sale(&terms).await
    }

    /// Creates a sale from checked terms (allotting its units through the ledger) and
    /// starts its owner.
    async fn create_sale(&self, terms: &SaleTerms) -> Result<SaleView, EngineError> {
        let leased = self.node.is_some();
        let terms = self.store.create_sale(terms, leased).await?;
        let id = terms.id;
        self.spawn_owner(terms).await?;
        if leased {
            self.store
                .signal(soldout_store::SaleSignal::Created(id))
                .await;
        }
        self.sale(id).ok_or(EngineError::UnknownSale(id))
    }

    /// Starts this node's owner of a sale another node created, once.
    async fn meet(&self, sale: SaleId) -> Result<bool, EngineError> {
        let _one_at_a_time = self.spawning.lock().await;
        if self
            .sales
            .read()
            .expect("sales map poisoned")
            .contains_key(&sale)
        {
            return Ok(true);
        }
        let Some(terms) = self.store.sales().await?.into_iter().find(|t| t.id == sale) else {
            return Ok(false);
        };
        self.spawn_owner(terms).await?;
        Ok(true)
    }

    async fn spawn_owner(&self, terms: SaleTerms) -> Result<(), EngineError> {
        let id = terms.id;
        let leased = self.store.pool_state(id).await?.is_some();
        let (commands, snapshot) = if leased {
            let node = self.node.clone().unwrap_or_else(|| NodeSettings {
                id: UNNAMED_NODE.into(),
                lease_ttl: NodeSettings::DEFAULT_LEASE_TTL,
            });
            let (seller, commands, snapshot) = leased::LeasedSeller::start(
                self.store.clone(),
                self.surroundings(),
                node,
                terms,
                self.queue_max,
                self.shutdown.subscribe(),
            )
            .await?;
            let task = tokio::spawn(seller.run());
            self.sellers.lock().expect("sellers poisoned").push(task);
            (commands, snapshot)
        } else {
            let (mut owner, commands, snapshot) = SaleOwner::recover(
                self.store.clone(),
                self.surroundings(),
                terms,
                self.queue_max,
            )
            .await?;
            owner.catch_up().await?;
            tokio::spawn(owner.run());
            (commands, snapshot)
        };
        self.sales.write().expect("sales map poisoned").insert(
            id,
            SaleHandle {
                commands,
                snapshot,
                traffic: Arc::default(),
                leased,
            },
        );
        Ok(())
    }

    /// Stops this node's leased sellers, each giving its unsold units back to its
    /// sale, and waits for them. For a clean shutdown; a node that dies instead has
    /// its leases expire.
    pub async fn shutdown(&self) {
        self.shutdown.send_replace(true);
        let sellers: Vec<_> = std::mem::take(&mut *self.sellers.lock().expect("sellers poisoned"));
        for seller in sellers {
            let _ = seller.await;
        }
    }

    /// The terms of the leased sale an order belongs to, when it is one.
    async fn leased_terms_of(&self, order: OrderId) -> Result<Option<Arc<SaleTerms>>, EngineError> {
        self.leased_terms(owner::sale_of(order)).await
    }

    /// The terms of a leased sale, when `sale` is one (met now if another node
    /// created it).
    async fn leased_terms(&self, sale: SaleId) -> Result<Option<Arc<SaleTerms>>, EngineError> {
        let known = |engine: &Engine| {
            let sales = engine.sales.read().expect("sales map poisoned");
            sales
                .get(&sale)
                .map(|h| h.leased.then(|| h.snapshot.borrow().terms.clone()))
        };
        if let Some(found) = known(self) {
            return Ok(found);
        }
        self.meet(sale).await?;
        Ok(known(self).flatten())
    }

    /// A sale with its live counters, as of its last commit.
    pub fn sale(&self, id: SaleId) -> Option<SaleView> {
        let sales = self.sales.read().expect("sales map poisoned");
        let handle = sales.get(&id)?;
        let snapshot = handle.snapshot.borrow();
        Some(SaleView::new(&snapshot, self.clock.now()))
    }

    /// A sale with its answers and its curve, for the live page.
    pub fn live(&self, id: SaleId) -> Option<LiveSale> {
        let sales = self.sales.read().expect("sales map poisoned");
        let handle = sales.get(&id)?;
        let snapshot = handle.snapshot.borrow();
        Some(LiveSale {
            sale: SaleView::new(&snapshot, self.clock.now()),
            answers: handle.traffic.read(),
            sold_curve: snapshot.sold_curve.clone(),
        })
    }

    /// Every sale's units left and its answers, for the metrics, oldest first.
    pub fn sale_metrics(&self) -> Vec<(SaleId, u32, SaleTraffic)> {
        let sales = self.sales.read().expect("sales map poisoned");
        let mut seen: Vec<(SaleId, u32, SaleTraffic)> = sales
            .iter()
            .map(|(id, h)| {
                let available = h.snapshot.borrow().counters.available;
                (*id, available, h.traffic.for_metrics())
            })
            .collect();
        seen.sort_by_key(|(id, _, _)| *id);
        seen
    }

    /// Requests waiting in every sale's queue for their owner.
    pub fn queue_depth(&self) -> usize {
        let sales = self.sales.read().expect("sales map poisoned");
        sales
            .values()
            .map(|h| h.commands.max_capacity() - h.commands.capacity())
            .sum()
    }

    /// Every sale, oldest first.
    pub fn sales(&self) -> Vec<SaleView> {
        let now = self.clock.now();
        let sales = self.sales.read().expect("sales map poisoned");
        let mut views: Vec<SaleView> = sales
            .values()
            .map(|h| SaleView::new(&h.snapshot.borrow(), now))
            .collect();
        views.sort_by_key(|v| v.id);
        views
    }

    async fn ask<T>(
        &self,
        sale: SaleId,
        admission: Admission,
        command: impl FnOnce(Reply<T>) -> Command,
    ) -> Result<T, EngineError> {
        self.ask_counted(sale, admission, command, |_, _| {}).await
    }

    /// As [`Engine::ask`], and `count` sees the sale's traffic counters and the answer.
    async fn ask_counted<T>(
        &self,
        sale: SaleId,
        admission: Admission,
        command: impl FnOnce(Reply<T>) -> Command,
        count: impl FnOnce(&Traffic, &Result<T, EngineError>),
    ) -> Result<T, EngineError> {
        let handle = |engine: &Engine| {
            let sales = engine.sales.read().expect("sales map poisoned");
            sales
                .get(&sale)
                .map(|h| (h.commands.clone(), h.traffic.clone()))
        };
        let (sender, traffic) = match handle(self) {
            Some(found) => found,
            None => {
                self.meet(sale).await?;
                handle(self).ok_or(EngineError::UnknownSale(sale))?
            }
        };
        let answer = Self::send(sender, admission, command).await;
        count(&traffic, &answer);
        answer
    }

    async fn send<T>(
        sender: mpsc::Sender<Command>,
        admission: Admission,
        command: impl FnOnce(Reply<T>) -> Command,
    ) -> Result<T, EngineError> {
        let (reply, answer) = oneshot::channel();
        let command = command(reply);
        match admission {
            Admission::RejectWhenFull => sender.try_send(command).map_err(|e| match e {
                mpsc::error::TrySendError::Full(_) => EngineError::Overloaded,
                mpsc::error::TrySendError::Closed(_) => {
                    EngineError::Unavailable("the sale's owner stopped".into())
                }
            })?,
            Admission::WaitForRoom => sender
                .send(command)
                .await
                .map_err(|_| EngineError::Unavailable("the sale's owner stopped".into()))?,
        }
        answer
            .await
            .map_err(|_| EngineError::Unavailable("the sale's owner stopped".into()))?
    }

    /// Buys `quantity` units. Answers only after the reservation is durable. The
    /// boolean is true when the key had already bought this order (a replay).
    pub async fn buy(
        &self,
        sale: SaleId,
        customer: CustomerId,
        quantity: u32,
        idempotency_key: &str,
        admission: Admission,
    ) -> Result<(OrderView, bool), EngineError> {
        let key = soldout_core::sale::idempotency_fingerprint(customer, idempotency_key);
        self.ask_counted(
            sale,
            admission,
            |reply| Command::Buy {
                customer,
                quantity,
                key,
                reply,
            },
            |traffic, answer| {
                traffic.count(
                    answer,
                    |(_, replay)| *replay,
                    |(o, _)| u64::from(o.quantity),
                    1,
                )
            },
        )
        .await
    }

    /// Many buys in one command, for in-process callers that gather requests (a
    /// gateway, the demo's simulated rush, the benchmarks): decided in order in one
    /// batch and answered together once durable. Each result is the order id or why
    /// that buy was refused.
    pub async fn buy_many(
        &self,
        sale: SaleId,
        buys: Vec<Buy>,
        admission: Admission,
    ) -> Result<Vec<Result<OrderId, EngineError>>, EngineError> {
        let asked = buys.len() as u64;
        let quantities: Vec<u32> = buys.iter().map(|b| b.quantity).collect();
        self.ask_counted(
            sale,
            admission,
            |reply| Command::BuyMany { buys, reply },
            |traffic, answer| match answer {
                // A many-buy's results do not tell a replay from a new order.
                Ok(results) => {
                    for (r, &quantity) in results.iter().zip(&quantities) {
                        traffic.count(r, |_| false, |_| u64::from(quantity), 1);
                    }
                }
                Err(_) => traffic.count(answer, |_| false, |_| 0, asked),
            },
        )
        .await
    }

    /// Registers a customer before the start; true when newly registered.
    pub async fn register(
        &self,
        sale: SaleId,
        customer: CustomerId,
        admission: Admission,
    ) -> Result<bool, EngineError> {
        if let Some(terms) = self.leased_terms(sale).await? {
            let now = self.clock.now();
            if now >= terms.starts_at {
                return Err(Rejection::RegistrationClosed {
                    starts_at: terms.starts_at,
                }
                .into());
            }
            let new = self.store.register_leased(sale, customer).await?;
            if new {
                self.store
                    .signal(soldout_store::SaleSignal::Changed(sale))
                    .await;
                self.sync_leased(sale).await;
            }
            return Ok(new);
        }
        self.ask(sale, admission, |reply| Command::Register {
            customer,
            reply,
        })
        .await
    }

    /// Applies a payment provider's report; answers once it is durable. The event id
    /// is claimed first, for every channel at once: the same id with another report
    /// (another order, outcome or amount) is refused and nothing is applied; the same
    /// report again is applied at most once (the order keeps the event ids it
    /// applied) and answers with the order as it stands.
    pub async fn record_payment(
        &self,
        order: OrderId,
        event_id: String,
        outcome: PaymentOutcome,
        amount: i64,
        currency: Currency,
    ) -> Result<OrderView, EngineError> {
        let report = PaymentReport {
            event_id: event_id.clone(),
            order,
            outcome,
            amount,
            currency,
        };
        if let Some(terms) = self.leased_terms_of(order).await? {
            let paid = self
                .store
                .pay_leased_order(&report, self.clock.now())
                .await?;
            self.store
                .signal(soldout_store::SaleSignal::Changed(terms.id))
                .await;
            self.sync_leased(terms.id).await;
            return Ok(OrderView::new(&paid, &terms));
        }
        self.store
            .claim_payment_event(&report, self.clock.now())
            .await?;
        if is_online(order) {
            let paid = self
                .store
                .pay_online_order(
                    order,
                    &event_id,
                    outcome,
                    amount,
                    currency,
                    self.clock.now(),
                )
                .await?;
            return Ok(OrderView::online(paid));
        }
        self.ask_about(order, |reply| Command::Payment {
            order,
            event_id,
            outcome,
            amount,
            currency,
            reply,
        })
        .await
    }

    /// Cancels an unpaid order of `customer`.
    pub async fn cancel(
        &self,
        order: OrderId,
        customer: CustomerId,
    ) -> Result<OrderView, EngineError> {
        if is_online(order) {
            let cancelled = self
                .store
                .cancel_online_order(order, customer, self.clock.now())
                .await?;
            return Ok(OrderView::online(cancelled));
        }
        if let Some(terms) = self.leased_terms_of(order).await? {
            let cancelled = self
                .store
                .cancel_leased_order(order, customer, self.clock.now())
                .await?;
            self.sync_leased(terms.id).await;
            return Ok(OrderView::new(&cancelled, &terms));
        }
        self.ask_about(order, |reply| Command::Cancel {
            order,
            customer,
            reply,
        })
        .await
    }

    /// An order as it stands (after its last commit).
    pub async fn order(&self, order: OrderId) -> Result<OrderView, EngineError> {
        if is_online(order) {
            return self
                .store
                .online_order(order)
                .await?
                .map(OrderView::online)
                .ok_or_else(|| online::unknown(order));
        }
        if let Some(terms) = self.leased_terms_of(order).await? {
            return self
                .store
                .leased_order(order)
                .await?
                .map(|o| OrderView::new(&o, &terms))
                .ok_or_else(|| Rejection::UnknownOrder(order).into());
        }
        self.ask_about(order, |reply| Command::Get { order, reply })
            .await
    }

    /// Places a regular online order (shipped or picked up): priced, its units
    /// reserved until `pay_by`. The same key with the same request answers with the
    /// same order (the boolean is true for such a replay).
    pub async fn place_order(
        &self,
        customer: CustomerId,
        request: &NewOrder,
        idempotency_key: &str,
    ) -> Result<(OrderView, bool), EngineError> {
        let key = soldout_core::sale::idempotency_fingerprint(customer, idempotency_key);
        let id = owner::new_order_id(ONLINE_ORDERS, self.clock.now(), self.chance);
        let order = online::prepare(
            self.store.as_ref(),
            self.clock,
            id,
            customer,
            key,
            request,
            self.holds,
        )
        .await?;
        let (placed, replay) = self.store.place_online_order(&order).await?;
        if !replay {
            self.online_wake.notify_one();
        }
        Ok((OrderView::online(placed), replay))
    }

    /// Hands a paid order over, one serial per unit: the units leave the stock, the
    /// serials become devices, the order is fulfilled. Any channel.
    pub async fn fulfil(
        &self,
        order: OrderId,
        handed: Vec<HandedOver>,
    ) -> Result<OrderView, EngineError> {
        let now = self.clock.now();
        if is_online(order) {
            let fulfilled = self.store.fulfil_online_order(order, &handed, now).await?;
            return Ok(OrderView::online(fulfilled));
        }
        let serials: Vec<_> = handed.iter().flat_map(|h| h.serials.clone()).collect();
        self.store.check_serials_free(&serials).await?;
        if let Some(terms) = self.leased_terms_of(order).await? {
            let os_version = self
                .store
                .product(&terms.product)
                .await?
                .map(|p| p.specs.os_version)
                .ok_or_else(|| {
                    EngineError::Unavailable(format!("product {} is gone", terms.product))
                })?;
            let devices = owner::handed_devices(&terms, order, &handed, &os_version, now);
            let fulfilled = self
                .store
                .fulfil_leased_order(order, &handed, &devices, now)
                .await?;
            self.store
                .signal(soldout_store::SaleSignal::Changed(terms.id))
                .await;
            self.sync_leased(terms.id).await;
            return Ok(OrderView::new(&fulfilled, &terms));
        }
        let product = {
            let sales = self.sales.read().expect("sales map poisoned");
            let handle = sales
                .get(&owner::sale_of(order))
                .ok_or_else(|| online::unknown(order))?;
            let product = handle.snapshot.borrow().terms.product.clone();
            product
        };
        let os_version = self
            .store
            .product(&product)
            .await?
            .map(|p| p.specs.os_version)
            .ok_or_else(|| EngineError::Unavailable(format!("product {product} is gone")))?;
        self.ask_about(order, |reply| Command::Fulfil {
            order,
            handed,
            os_version,
            reply,
        })
        .await
    }

    /// Asks the owner of the sale an order belongs to; an order whose sale does not
    /// exist is an unknown order.
    /// Waits until this node's view of a leased sale includes what this node just
    /// changed in the database, so a client reads its own writes from any route. A
    /// failure only delays the view until the next refresh.
    async fn sync_leased(&self, sale: SaleId) {
        if let Err(e) = self
            .ask(sale, Admission::WaitForRoom, |reply| Command::Sync {
                reply,
            })
            .await
        {
            tracing::warn!(%sale, error = %e, "refreshing the sale's counters failed");
        }
    }

    async fn ask_about(
        &self,
        order: OrderId,
        command: impl FnOnce(Reply<OrderView>) -> Command,
    ) -> Result<OrderView, EngineError> {
        self.ask(owner::sale_of(order), Admission::RejectWhenFull, command)
            .await
            .map_err(|e| match e {
                EngineError::UnknownSale(_) => Rejection::UnknownOrder(order).into(),
                other => other,
            })
    }
}
