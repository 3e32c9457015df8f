//! One seed's run: lives of the engine, each on a fresh runtime over the same
//! database, ended by a crash (the runtime and every task dropped where they stood)
//! or a restart; clients that buy, send keys again, pay, pay twice, cancel, register
//! and look, in bursts that share a group commit; time moved by hand; and after every
//! step the model's checks against the journal.

use crate::faults::{FaultCounts, FaultRates, Faults};
use crate::faulty_store::FaultyStore;
use crate::model::{KeyFate, Model};
use crate::world::{self, World};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use soldout_core::sale::{OrderId, PaymentOutcome, SaleEvent, SaleId, SaleTerms};
use soldout_core::CustomerId;
use soldout_engine::{
    journal, Admission, Chance, Clock, Engine, EngineError, EngineOptions, ManualTime, OrderView,
};
use soldout_store::scratch::TestDatabase;
use soldout_store::Store;
use std::collections::VecDeque;
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;

/// Longest a request may go unanswered in real time while the engine lives.
const ANSWER_WITHIN: Duration = Duration::from_secs(20);
/// Steps of the trace a failure prints.
const TRACE_KEPT: usize = 60;

/// Which database the run's store is.
#[derive(Debug, Clone)]
pub enum Database {
    Sqlite,
    /// A scratch database on this PostgreSQL server.
    Postgres(String),
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub seed: u64,
    pub steps: u32,
    pub database: Database,
    pub rates: FaultRates,
    /// Print every step, request and answer as it happens.
    pub print_trace: bool,
}

/// What a run that held did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub seed: u64,
    pub steps: u32,
    /// Engines started: the first and one after each crash or restart.
    pub lives: u32,
    pub faults: FaultCounts,
    pub requests: u64,
    /// Keys answered with an order.
    pub granted: usize,
    /// Units held by orders at the end, over every sale.
    pub sold: u32,
    pub units: u32,
    /// A hash of every step, request and answer of the run: the same seed gives the
    /// same one.
    pub history: u64,
}

/// A broken promise, with what led to it.
#[derive(Debug, Clone)]
pub struct Violation {
    pub seed: u64,
    pub steps: u32,
    pub step: u32,
    pub message: String,
    pub trace: Vec<String>,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "seed {} failed at step {}: {}",
            self.seed, self.step, self.message
        )?;
        writeln!(f, "the last steps:")?;
        for line in &self.trace {
            writeln!(f, "  {line}")?;
        }
        write!(
            f,
            "replay it: cargo run --release -p soldout-sim -- --seed {} --steps {}",
            self.seed, self.steps
        )
    }
}

#[derive(Debug, Clone)]
enum Request {
    Buy {
        sale: SaleId,
        customer: CustomerId,
        quantity: u32,
        key: String,
    },
    Pay {
        order: OrderId,
        event: String,
        succeeded: bool,
        amount: i64,
    },
    Cancel {
        order: OrderId,
        customer: CustomerId,
    },
    Register {
        sale: SaleId,
        customer: CustomerId,
    },
    Look {
        order: OrderId,
    },
}

/// A request on its way, with what its key had when it went out.
struct Sent {
    request: Request,
    at_send: Option<KeyFate>,
    task: JoinHandle<Answer>,
}

enum Answer {
    Bought(Result<(OrderView, bool), EngineError>),
    Order(Result<OrderView, EngineError>),
    Registered(Result<bool, EngineError>),
}

impl Answer {
    fn describe(&self) -> String {
        fn order(view: &OrderView) -> String {
            format!("{} {} x{}", view.id, view.status.as_str(), view.quantity)
        }
        match self {
            Answer::Bought(Ok((view, replay))) => format!("{} replay={replay}", order(view)),
            Answer::Order(Ok(view)) => order(view),
            Answer::Registered(Ok(new)) => format!("registered new={new}"),
            Answer::Bought(Err(e)) | Answer::Order(Err(e)) | Answer::Registered(Err(e)) => {
                format!("refused {}: {e}", e.slug())
            }
        }
    }
}

async fn send(engine: Engine, request: Request) -> Answer {
    match request {
        Request::Buy {
            sale,
            customer,
            quantity,
            key,
        } => Answer::Bought(
            engine
                .buy(sale, customer, quantity, &key, Admission::WaitForRoom)
                .await,
        ),
        Request::Pay {
            order,
            event,
            succeeded,
            amount,
        } => {
            let outcome = if succeeded {
                PaymentOutcome::Succeeded
            } else {
                PaymentOutcome::Failed
            };
            let currency = soldout_core::Currency::parse("INR").expect("a currency");
            Answer::Order(
                engine
                    .record_payment(order, event, outcome, amount, currency)
                    .await,
            )
        }
        Request::Cancel { order, customer } => Answer::Order(engine.cancel(order, customer).await),
        Request::Register { sale, customer } => Answer::Registered(
            engine
                .register(sale, customer, Admission::WaitForRoom)
                .await,
        ),
        Request::Look { order } => Answer::Order(engine.order(order).await),
    }
}

/// Why a life ended before its steps did.
enum Ended {
    Crashed,
    Restarted,
}

struct Run {
    settings: Settings,
    url: String,
    plan: StdRng,
    faults: Arc<Faults>,
    time: &'static ManualTime,
    model: Model,
    world: Option<World>,
    /// Keys sent, oldest first: (sale, customer, key, quantity).
    sent: Vec<(SaleId, CustomerId, String, u32)>,
    keys_made: u64,
    step: u32,
    lives: u32,
    requests: u64,
    trace: VecDeque<String>,
    history: std::collections::hash_map::DefaultHasher,
    sold: u32,
}

/// Runs one seed to its end or to its first broken promise.
pub fn simulate(settings: &Settings) -> Result<Report, Violation> {
    let setup = |message: String| Violation {
        seed: settings.seed,
        steps: settings.steps,
        step: 0,
        message,
        trace: Vec::new(),
    };
    let runtime = || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime")
    };
    let database = match &settings.database {
        Database::Sqlite => TestDatabase::sqlite("sim").map_err(|e| setup(e.to_string()))?,
        Database::Postgres(server) => runtime()
            .block_on(TestDatabase::postgres(server, "sim"))
            .map_err(|e| setup(e.to_string()))?,
    };
    let mut run = Run {
        settings: settings.clone(),
        url: database.url().to_owned(),
        plan: StdRng::seed_from_u64(settings.seed),
        faults: Arc::new(Faults::new(settings.seed ^ 0x5eed_fa17, settings.rates)),
        time: ManualTime::starting_at(world::clock_start()),
        model: Model::default(),
        world: None,
        sent: Vec::new(),
        keys_made: 0,
        step: 0,
        lives: 0,
        requests: 0,
        trace: VecDeque::new(),
        history: Default::default(),
        sold: 0,
    };
    loop {
        let finished = runtime().block_on(run.live())?;
        // The runtime is gone, and every task of that life with it.
        run.faults.revive();
        if finished {
            let world = run.world.as_ref().expect("the world was built");
            return Ok(Report {
                seed: settings.seed,
                steps: settings.steps,
                lives: run.lives,
                faults: run.faults.counts(),
                requests: run.requests,
                granted: run
                    .model
                    .keys
                    .values()
                    .filter(|f| matches!(f, KeyFate::Granted { .. }))
                    .count(),
                sold: run.sold,
                units: world.sales.iter().map(|s| s.quantity).sum(),
                history: run.history.finish(),
            });
        }
    }
}

impl Run {
    fn violation(&self, message: impl Into<String>) -> Violation {
        Violation {
            seed: self.settings.seed,
            steps: self.settings.steps,
            step: self.step,
            message: message.into(),
            trace: self.trace.iter().cloned().collect(),
        }
    }

    fn note(&mut self, line: String) {
        line.hash(&mut self.history);
        if self.settings.print_trace {
            eprintln!("[{}] {line}", self.step);
        }
        if self.trace.len() == TRACE_KEPT {
            self.trace.pop_front();
        }
        self.trace.push_back(format!("[{}] {line}", self.step));
    }

    /// One life of the engine: true when the run's steps are done.
    async fn live(&mut self) -> Result<bool, Violation> {
        self.lives += 1;
        if self.lives > self.settings.steps + 10 {
            return Err(self.violation("the engine never stays up"));
        }
        let inner = soldout_store::open(&self.url)
            .await
            .map_err(|e| self.violation(format!("the database did not open: {e}")))?;
        let store: Arc<dyn Store> = Arc::new(FaultyStore::new(inner.clone(), self.faults.clone()));
        let options = EngineOptions {
            chance: Chance::seeded(self.settings.seed ^ u64::from(self.lives)),
            ..EngineOptions::default()
        };
        let faults = self.faults.clone();
        let started = tokio::select! {
            biased;
            started = Engine::start_with(store.clone(), Clock::Manual(self.time), options) => started,
            _ = faults.until_crashed() => {
                self.note("crashed while starting".into());
                return Ok(false);
            }
        };
        let engine = match started {
            Ok(engine) => engine,
            Err(e) => {
                self.note(format!("start failed: {e}"));
                return Ok(false);
            }
        };
        self.note(format!("life {} started", self.lives));
        if self.world.is_none() {
            let built = world::build(&mut self.plan, inner.as_ref(), &engine)
                .await
                .map_err(|e| self.violation(format!("the world was not built: {e}")))?;
            self.note(format!(
                "world: {} customers, sales {:?}",
                built.customers.len(),
                built
                    .sales
                    .iter()
                    .map(|s| (
                        s.quantity,
                        s.per_customer_limit,
                        s.fair_start_secs,
                        s.registration_required
                    ))
                    .collect::<Vec<_>>()
            ));
            self.world = Some(built);
            self.faults.enable();
        }
        let mut held: Vec<Sent> = Vec::new();
        if let Err(ended) = self.check(&engine, inner.as_ref()).await? {
            return Ok(self.end(ended));
        }
        while self.step < self.settings.steps {
            self.step += 1;
            let roll = self.plan.gen_range(0..100);
            let outcome = if roll < 58 {
                self.burst(&engine, &mut held).await?
            } else if roll < 92 {
                self.pass_time(&engine, &mut held).await?
            } else if roll < 96 {
                let orders: Vec<OrderId> = self.model.orders.keys().copied().collect();
                self.note(format!(
                    "every client looks at its orders ({})",
                    orders.len()
                ));
                let requests = orders.into_iter().map(|order| Request::Look { order });
                self.answer_all(&engine, requests.collect(), &mut held)
                    .await?
            } else {
                Err(Ended::Restarted)
            };
            if let Err(ended) = outcome {
                return Ok(self.end(ended));
            }
            if let Err(ended) = self.check(&engine, inner.as_ref()).await? {
                return Ok(self.end(ended));
            }
        }
        Ok(true)
    }

    fn end(&mut self, ended: Ended) -> bool {
        match ended {
            Ended::Crashed => self.note("crashed".into()),
            Ended::Restarted => self.note("killed and restarted".into()),
        }
        false
    }

    fn world(&self) -> &World {
        self.world.as_ref().expect("the world is built first")
    }

    fn terms(&self, sale: SaleId) -> &soldout_engine::SaleView {
        self.world()
            .sales
            .iter()
            .find(|s| s.id == sale)
            .expect("a sale of the world")
    }

    /// Whether the sale's owner holds a buy sent now for its fair-start draw: the
    /// draw happens at the first request once its window has closed (the poke after
    /// time passes), and a buy that comes with that request joins it.
    fn held_for_draw(&self, sale: SaleId) -> bool {
        let terms = self
            .world()
            .terms
            .iter()
            .find(|t| t.id == sale)
            .expect("a sale of the world");
        let now = self.time.now();
        terms.holds_for_fair_start(now, now >= terms.fair_start_closes_at())
    }

    fn pick<T: Clone>(&mut self, items: &[T]) -> Option<T> {
        (!items.is_empty()).then(|| items[self.plan.gen_range(0..items.len())].clone())
    }

    fn new_buy(&mut self) -> Request {
        let sale = self.pick(&self.world().sales.clone()).expect("a sale");
        let customer = self
            .pick(&self.world().customers.clone())
            .expect("a customer");
        let limit = sale.per_customer_limit;
        let quantity = if self.plan.gen_bool(0.1) {
            limit + 1
        } else {
            self.plan.gen_range(1..=limit)
        };
        self.keys_made += 1;
        let key = format!("k{}", self.keys_made);
        Request::Buy {
            sale: sale.id,
            customer,
            quantity,
            key,
        }
    }

    fn request(&mut self) -> Request {
        let orders: Vec<OrderId> = self.model.orders.keys().copied().collect();
        let roll = self.plan.gen_range(0..100);
        let order = self.pick(&orders);
        match (roll, order) {
            (45..=59, _) if !self.sent.is_empty() => {
                let (sale, customer, key, quantity) = self.pick(&self.sent.clone()).expect("a key");
                let quantity = if self.plan.gen_bool(0.8) {
                    quantity
                } else {
                    quantity % 3 + 1
                };
                Request::Buy {
                    sale,
                    customer,
                    quantity,
                    key,
                }
            }
            (60..=77, Some(order)) => {
                let known = self.model.orders[&order].clone();
                let price = self.terms(known.sale).price;
                let amount = price * i64::from(known.quantity);
                let kind = self.plan.gen_range(0..10);
                if kind < 2 && !self.model.payments.is_empty() {
                    let (event, order, succeeded, amount) =
                        self.pick(&self.model.payments.clone()).expect("a payment");
                    // The same report again, or (rarely) its event id with another.
                    let succeeded = if kind == 0 { !succeeded } else { succeeded };
                    return Request::Pay {
                        order,
                        event,
                        succeeded,
                        amount,
                    };
                }
                let event = format!("evt_{}", self.model.payments.len());
                let (succeeded, amount) = match kind {
                    2 => (false, amount),
                    3 => (true, amount - 1),
                    _ => (true, amount),
                };
                self.model
                    .payments
                    .push((event.clone(), order, succeeded, amount));
                Request::Pay {
                    order,
                    event,
                    succeeded,
                    amount,
                }
            }
            (78..=85, Some(order)) => {
                let owner = self.model.orders[&order].customer;
                let customer = if self.plan.gen_bool(0.8) {
                    owner
                } else {
                    self.pick(&self.world().customers.clone())
                        .expect("a customer")
                };
                Request::Cancel { order, customer }
            }
            (86..=92, _) => {
                let sale = self.pick(&self.world().sales.clone()).expect("a sale").id;
                let customer = self
                    .pick(&self.world().customers.clone())
                    .expect("a customer");
                Request::Register { sale, customer }
            }
            (93.., Some(order)) => Request::Look { order },
            _ => self.new_buy(),
        }
    }

    /// Clients send several requests at once: they meet in the owners' queues and
    /// share their group commits.
    async fn burst(
        &mut self,
        engine: &Engine,
        held: &mut Vec<Sent>,
    ) -> Result<Result<(), Ended>, Violation> {
        let count = self.plan.gen_range(1..=6);
        let requests = (0..count).map(|_| self.request()).collect();
        self.answer_all(engine, requests, held).await
    }

    /// Sends the requests that go straight to a sale's owner at once, then takes
    /// their answers in order (a buy the owner holds for its fair-start draw is
    /// answered once the window has closed); then the payments, one at a time. A
    /// payment claims its event id in the store before it reaches the owner, so when
    /// it arrives depends on the database's speed: sent with the rest, the batches it
    /// joined would differ from run to run, and the seed would not replay.
    async fn answer_all(
        &mut self,
        engine: &Engine,
        requests: Vec<Request>,
        held: &mut Vec<Sent>,
    ) -> Result<Result<(), Ended>, Violation> {
        let (payments, direct): (Vec<Request>, Vec<Request>) = requests
            .into_iter()
            .partition(|r| matches!(r, Request::Pay { .. }));
        if let Err(ended) = self.send_together(engine, direct, held).await? {
            return Ok(Err(ended));
        }
        for payment in payments {
            if let Err(ended) = self.send_together(engine, vec![payment], held).await? {
                return Ok(Err(ended));
            }
        }
        Ok(Ok(()))
    }

    async fn send_together(
        &mut self,
        engine: &Engine,
        requests: Vec<Request>,
        held: &mut Vec<Sent>,
    ) -> Result<Result<(), Ended>, Violation> {
        let mut waiting = Vec::new();
        for request in requests {
            self.requests += 1;
            self.note(format!("-> {request:?}"));
            if let Request::Buy {
                sale,
                customer,
                quantity,
                key,
            } = &request
            {
                if !self
                    .sent
                    .iter()
                    .any(|(s, c, k, _)| (s, c, k) == (sale, customer, key))
                {
                    self.sent.push((*sale, *customer, key.clone(), *quantity));
                }
            }
            let is_held =
                matches!(&request, Request::Buy { sale, .. } if self.held_for_draw(*sale));
            let at_send = match &request {
                Request::Buy {
                    sale,
                    customer,
                    key,
                    quantity,
                } => {
                    let fate = self.model.fate(*sale, *customer, key);
                    self.model.sent(*sale, *customer, key, *quantity);
                    fate
                }
                _ => None,
            };
            let task = tokio::spawn(send(engine.clone(), request.clone()));
            let sent = Sent {
                request,
                at_send,
                task,
            };
            if is_held {
                held.push(sent);
            } else {
                waiting.push(sent);
            }
        }
        for sent in waiting {
            if let Err(ended) = self.take(sent).await? {
                return Ok(Err(ended));
            }
        }
        Ok(Ok(()))
    }

    async fn take(&mut self, sent: Sent) -> Result<Result<(), Ended>, Violation> {
        let Sent {
            request,
            at_send,
            task,
        } = sent;
        let faults = self.faults.clone();
        let answer = tokio::select! {
            biased;
            answer = tokio::time::timeout(ANSWER_WITHIN, task) => match answer {
                Ok(Ok(answer)) => answer,
                Ok(Err(e)) => return Err(self.violation(format!("{request:?} panicked: {e}"))),
                Err(_) => {
                    return Err(self.violation(format!(
                        "{request:?} had no answer within {ANSWER_WITHIN:?} while the engine was up"
                    )))
                }
            },
            _ = faults.until_crashed() => return Ok(Err(Ended::Crashed)),
        };
        self.note(format!("<- {}", answer.describe()));
        self.answered(&request, at_send, &answer)
            .map_err(|message| self.violation(message))?;
        Ok(Ok(()))
    }

    /// Holds one answer to the model.
    fn answered(
        &mut self,
        request: &Request,
        at_send: Option<KeyFate>,
        answer: &Answer,
    ) -> Result<(), String> {
        match (request, answer) {
            (
                Request::Buy {
                    sale,
                    customer,
                    quantity,
                    key,
                },
                Answer::Bought(answer),
            ) => self
                .model
                .bought((*sale, *customer, key), *quantity, at_send, answer),
            (Request::Cancel { order, customer }, Answer::Order(Ok(view))) => {
                let owner = self.model.orders.get(order).map(|o| o.customer);
                if view.id != *order || owner != Some(*customer) {
                    return Err(format!(
                        "customer {customer} cancelled order {order} of {owner:?} and got {}",
                        view.id
                    ));
                }
                if view.status != soldout_core::order::OrderStatus::Cancelled {
                    return Err(format!(
                        "a cancellation of {order} answered {}",
                        view.status.as_str()
                    ));
                }
                self.model.shown(view)
            }
            (Request::Pay { order, .. } | Request::Look { order }, Answer::Order(Ok(view))) => {
                if view.id != *order {
                    return Err(format!("{request:?} was answered with order {}", view.id));
                }
                self.model.shown(view)
            }
            _ => Ok(()),
        }
    }

    /// Time passes: the owners learn it from the next request (a manual clock never
    /// wakes them), decide what fell due (expiries, the draw, the end), and the buys
    /// held for a draw whose window closed get their answers.
    async fn pass_time(
        &mut self,
        engine: &Engine,
        held: &mut Vec<Sent>,
    ) -> Result<Result<(), Ended>, Violation> {
        let secs = match self.plan.gen_range(0..10) {
            0..=5 => self.plan.gen_range(1..=20),
            6..=8 => self.plan.gen_range(20..=200),
            _ => self.plan.gen_range(200..=1500),
        };
        self.time.advance(chrono::Duration::seconds(secs));
        self.note(format!("{secs} s pass; now {}", self.time.now()));
        if let Err(ended) = self.poke(engine).await {
            return Ok(Err(ended));
        }
        let (due, still): (Vec<_>, Vec<_>) = std::mem::take(held).into_iter().partition(
            |sent| !matches!(&sent.request, Request::Buy { sale, .. } if self.held_for_draw(*sale)),
        );
        *held = still;
        for sent in due {
            if let Err(ended) = self.take(sent).await? {
                return Ok(Err(ended));
            }
        }
        Ok(Ok(()))
    }

    /// Asks every sale's owner about an order it never had: the answer comes after
    /// the owner has decided (and committed) whatever is due. A commit that failed
    /// answers with an error and the owner rebuilds from its journal, so the client
    /// asks again until the owner answers that there is no such order.
    async fn poke(&mut self, engine: &Engine) -> Result<(), Ended> {
        let sales: Vec<SaleId> = self.world().sales.iter().map(|s| s.id).collect();
        for sale in sales {
            let nobody = OrderId::of_sale(sale, 0, 0);
            loop {
                let answer = tokio::select! {
                    biased;
                    answer = engine.order(nobody) => answer,
                    _ = self.faults.until_crashed() => return Err(Ended::Crashed),
                };
                match answer {
                    Err(EngineError::Rejected(_)) => break,
                    other => self.note(format!(
                        "the owner of sale {sale} is not current yet: {}",
                        Answer::Order(other).describe()
                    )),
                }
            }
        }
        Ok(())
    }

    /// The model's checks, once every owner is current.
    async fn check(
        &mut self,
        engine: &Engine,
        inner: &dyn Store,
    ) -> Result<Result<(), Ended>, Violation> {
        if let Err(ended) = self.poke(engine).await {
            return Ok(Err(ended));
        }
        let mut sales: Vec<(SaleTerms, soldout_engine::SaleView, Vec<SaleEvent>)> = Vec::new();
        let all_terms = inner
            .sales()
            .await
            .map_err(|e| self.violation(format!("reading the sales failed: {e}")))?;
        for view in self.world().sales.clone() {
            let terms = all_terms
                .iter()
                .find(|t| t.id == view.id)
                .cloned()
                .ok_or_else(|| self.violation(format!("sale {} is gone", view.id)))?;
            let shown = engine
                .sale(view.id)
                .ok_or_else(|| self.violation(format!("the engine lost sale {}", view.id)))?;
            let mut events = Vec::new();
            for (batch, body) in inner
                .sale_journal(view.id)
                .await
                .map_err(|e| self.violation(format!("reading the journal failed: {e}")))?
            {
                events.extend(journal::decode(&body).map_err(|e| {
                    self.violation(format!("sale {} batch {batch} is unreadable: {e}", view.id))
                })?);
            }
            sales.push((terms, shown, events));
        }
        self.model
            .check(&sales)
            .map_err(|message| self.violation(message))?;
        self.sold = sales
            .iter()
            .map(|(_, v, _)| v.reserved + v.paid + v.fulfilled)
            .sum();
        Ok(Ok(()))
    }
}
