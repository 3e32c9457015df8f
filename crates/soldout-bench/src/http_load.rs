//! The HTTP benchmark: one load generator, the same requests, aimed in turn at soldout
//! and at each peer, every server on its own runtime in this process.

use crate::{fixture, peers};
use axum::Router;
use bytes::Bytes;
use hdrhistogram::Histogram;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use soldout_core::CustomerId;
use soldout_server::{App, AppState, Settings};
use std::collections::BTreeMap;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(clap::Args)]
pub struct Args {
    /// Keep-alive connections.
    #[arg(long, default_value_t = 256)]
    connections: usize,
    /// Requests per target (at most).
    #[arg(long, default_value_t = 200_000)]
    requests: u64,
    /// Seconds per target (at most).
    #[arg(long, default_value_t = 15)]
    seconds: u64,
    /// Customers whose tokens the requests rotate over.
    #[arg(long, default_value_t = 20_000)]
    customers: u64,
    /// Worker threads of each server under test, and of the load generator.
    #[arg(long, default_value_t = 2)]
    threads: usize,
    /// Run only these targets (comma-separated): bare-ceiling, ceiling, soldout,
    /// soldout-no-metrics (soldout counting no metrics), soldout-postgres (soldout
    /// with PostgreSQL as its database), redis, postgres,
    /// ceiling-sold-out, soldout-sold-out. All when left out.
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    #[arg(
        long,
        env = "SOLDOUT_BENCH_REDIS",
        default_value = "redis://127.0.0.1:6379"
    )]
    redis: String,
    #[arg(
        long,
        env = "SOLDOUT_BENCH_POSTGRES",
        default_value = "postgres://postgres@127.0.0.1:5432/test"
    )]
    postgres: String,
}

/// What one target did under the load.
pub(crate) struct Report {
    name: String,
    requests: u64,
    elapsed: Duration,
    statuses: BTreeMap<u16, u64>,
    errors: u64,
    latency_us: Histogram<u64>,
}

impl Report {
    pub(crate) fn per_second(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64()
    }

    pub(crate) fn elapsed(&self) -> Duration {
        self.elapsed
    }

    /// Answers with this status.
    pub(crate) fn status(&self, status: u16) -> u64 {
        self.statuses.get(&status).copied().unwrap_or(0)
    }

    /// Prints whether the `quantile` latency is within `target_ms`.
    pub(crate) fn latency_verdict(&self, quantile: f64, target_ms: f64) {
        let ms = self.latency_us.value_at_quantile(quantile) as f64 / 1000.0;
        let verdict = if ms <= target_ms { "meets" } else { "MISSES" };
        println!(
            "{:<58} {ms:>6.1}ms ({verdict} the target of at most {target_ms} ms)",
            format!("{} p{}", self.name, quantile * 100.0)
        );
    }

    pub(crate) fn print(&self) {
        let q = |p: f64| {
            format!(
                "{:.2}ms",
                self.latency_us.value_at_quantile(p) as f64 / 1000.0
            )
        };
        let statuses: Vec<String> = self
            .statuses
            .iter()
            .map(|(s, n)| format!("{s}:{n}"))
            .collect();
        println!(
            "{:<34} {:>8} {:>7.2}s {:>10.0}/s  p50 {:>8} p90 {:>8} p99 {:>8} p99.9 {:>8} max {:>8}  {}{}",
            self.name,
            self.requests,
            self.elapsed.as_secs_f64(),
            self.per_second(),
            q(0.5),
            q(0.9),
            q(0.99),
            q(0.999),
            format!("{:.2}ms", self.latency_us.max() as f64 / 1000.0),
            statuses.join(" "),
            if self.errors > 0 { format!(" errors:{}", self.errors) } else { String::new() },
        );
    }
}

type RouterFuture = Pin<Box<dyn Future<Output = anyhow::Result<Router>> + Send>>;

/// A server on its own runtime and thread, until `stop` is sent.
pub(crate) struct Target {
    pub(crate) addr: SocketAddr,
    stop: tokio::sync::oneshot::Sender<()>,
    thread: std::thread::JoinHandle<()>,
}

pub(crate) fn start_target(
    threads: usize,
    make: impl FnOnce() -> RouterFuture + Send + 'static,
) -> anyhow::Result<Target> {
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let thread = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .thread_name("server")
            .enable_all()
            .build()
            .expect("server runtime");
        runtime.block_on(async move {
            let router = match make().await {
                Ok(router) => router,
                Err(e) => {
                    let _ = ready_tx.send(Err(e));
                    return;
                }
            };
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind");
            let _ = ready_tx.send(Ok(listener.local_addr().expect("address")));
            let _ = soldout_server::serve(listener, router, async {
                let _ = stopped.await;
            })
            .await;
        });
    });
    let addr = ready_rx.recv()??;
    Ok(Target { addr, stop, thread })
}

impl Target {
    pub(crate) fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.thread.join();
    }
}

pub(crate) struct Load {
    connections: usize,
    requests: u64,
    limit: Duration,
    tokens: Arc<Vec<String>>,
    client: tokio::runtime::Runtime,
}

/// The request every connection sends: a path, a JSON body, and whether each
/// request carries its own `Idempotency-Key`.
#[derive(Clone)]
pub(crate) struct Shot {
    pub(crate) path: Arc<str>,
    pub(crate) body: Bytes,
    pub(crate) idempotency: bool,
}

impl Shot {
    /// A buy of one unit in `sale`.
    pub(crate) fn buy(sale: i64) -> Shot {
        Shot {
            path: format!("/v1/sales/{sale}/orders").into(),
            body: Bytes::from_static(br#"{"quantity":1}"#),
            idempotency: true,
        }
    }
}

impl Load {
    /// A load of `requests` (or `seconds`) over `connections`, the tokens rotating,
    /// from a client runtime of `threads` threads.
    pub(crate) fn new(
        connections: usize,
        requests: u64,
        seconds: u64,
        tokens: Vec<String>,
        threads: usize,
    ) -> anyhow::Result<Load> {
        Ok(Load {
            connections,
            requests,
            limit: Duration::from_secs(seconds),
            tokens: Arc::new(tokens),
            client: tokio::runtime::Builder::new_multi_thread()
                .worker_threads(threads)
                .thread_name("load")
                .enable_all()
                .build()?,
        })
    }

    /// Drives `requests` buys (or `limit` of time) at `addr` over keep-alive
    /// connections: one request in flight per connection.
    fn run(&self, name: &str, addr: SocketAddr, sale: i64) -> Report {
        self.shoot(name, addr, &Shot::buy(sale))
    }

    /// Drives `requests` of `shot` (or `limit` of time) at `addr` over keep-alive
    /// connections, one request in flight per connection, the tokens rotating.
    pub(crate) fn shoot(&self, name: &str, addr: SocketAddr, shot: &Shot) -> Report {
        self.shoot_at(name, &[addr], shot)
    }

    /// As [`Load::shoot`], the connections spread evenly over `addrs`.
    pub(crate) fn shoot_at(&self, name: &str, addrs: &[SocketAddr], shot: &Shot) -> Report {
        let next = Arc::new(AtomicU64::new(0));
        let started = Instant::now();
        let results = self.client.block_on(async {
            let workers: Vec<_> = (0..self.connections)
                .map(|c| {
                    let addr = addrs[c % addrs.len()];
                    let next = next.clone();
                    let tokens = self.tokens.clone();
                    let shot = shot.clone();
                    let (requests, limit) = (self.requests, self.limit);
                    tokio::spawn(async move {
                        worker(addr, shot, next, tokens, requests, started, limit).await
                    })
                })
                .collect();
            futures::future::join_all(workers).await
        });
        let elapsed = started.elapsed();
        let mut report = Report {
            name: name.to_owned(),
            requests: 0,
            elapsed,
            statuses: BTreeMap::new(),
            errors: 0,
            latency_us: Histogram::new_with_bounds(1, 60_000_000, 2).expect("histogram"),
        };
        for (statuses, errors, histogram) in results.into_iter().flatten() {
            for (status, n) in statuses {
                *report.statuses.entry(status).or_default() += n;
                report.requests += n;
            }
            report.errors += errors;
            report.latency_us.add(histogram).expect("same bounds");
        }
        report
    }
}

async fn worker(
    addr: SocketAddr,
    shot: Shot,
    next: Arc<AtomicU64>,
    tokens: Arc<Vec<String>>,
    requests: u64,
    started: Instant,
    limit: Duration,
) -> (BTreeMap<u16, u64>, u64, Histogram<u64>) {
    let mut statuses = BTreeMap::new();
    let mut errors = 0;
    let mut histogram = Histogram::<u64>::new_with_bounds(1, 60_000_000, 2).expect("histogram");
    let Ok(stream) = tokio::net::TcpStream::connect(addr).await else {
        return (statuses, 1, histogram);
    };
    let _ = stream.set_nodelay(true);
    let Ok((mut sender, connection)) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await
    else {
        return (statuses, 1, histogram);
    };
    tokio::spawn(connection);
    loop {
        let n = next.fetch_add(1, Ordering::Relaxed);
        if n >= requests || started.elapsed() >= limit {
            break;
        }
        let token = &tokens[(n % tokens.len() as u64) as usize];
        let mut request = hyper::Request::post(&*shot.path)
            .header("host", "127.0.0.1")
            .header("content-type", "application/json")
            .header("authorization", format!("Bearer {token}"));
        if shot.idempotency {
            request = request.header("idempotency-key", format!("bench-{n}"));
        }
        let request = request.body(Full::new(shot.body.clone())).expect("request");
        let sent = Instant::now();
        if sender.ready().await.is_err() {
            errors += 1;
            break;
        }
        match sender.send_request(request).await {
            Ok(response) => {
                let status = response.status().as_u16();
                if response.into_body().collect().await.is_err() {
                    errors += 1;
                    break;
                }
                histogram.saturating_record(sent.elapsed().as_micros() as u64);
                *statuses.entry(status).or_default() += 1;
            }
            Err(_) => {
                errors += 1;
                break;
            }
        }
    }
    (statuses, errors, histogram)
}

/// soldout itself: a fresh database (SQLite, or a scratch database on the
/// PostgreSQL server `postgres` names), a sale of `quantity` units, its metrics
/// counting or not.
fn soldout_target(
    threads: usize,
    quantity: u32,
    sold_out_first: bool,
    postgres: Option<&str>,
    count_metrics: bool,
) -> anyhow::Result<(Target, i64, soldout_store::scratch::TestDatabase)> {
    let database = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(fixture::fresh_database(postgres))?;
    let url = database.url().to_owned();
    let (sale_tx, sale_rx) = std::sync::mpsc::channel();
    let target = start_target(threads, move || {
        Box::pin(async move {
            let store = fixture::store(&url, i64::from(quantity)).await?;
            let clock = soldout_engine::Clock::starting_at(Some(fixture::clock_start()));
            let secrets = Settings {
                admin_token: Some(fixture::ADMIN_TOKEN.into()),
                token_key: Some(fixture::TOKEN_KEY.into()),
                payment_secret: Some("bench".into()),
                count_metrics,
                ..Settings::default()
            };
            let state = AppState::start(store, clock, secrets).await?;
            let limit = soldout_core::sale::PER_CUSTOMER_LIMIT_MAX;
            let sale = state
                .engine
                .open_sale(fixture::new_sale(
                    quantity,
                    limit,
                    false,
                    chrono::Duration::minutes(-1),
                )?)
                .await?;
            if sold_out_first {
                for i in 0..quantity {
                    state
                        .engine
                        .buy(
                            sale.id,
                            CustomerId(1_000_000 + i64::from(i)),
                            1,
                            "first",
                            soldout_engine::Admission::WaitForRoom,
                        )
                        .await?;
                }
            }
            let _ = sale_tx.send(sale.id.0);
            Ok(App::router(state))
        })
    })?;
    Ok((target, sale_rx.recv()?, database))
}

fn ratio(label: &str, ours: &Report, theirs: Option<&Report>, target: f64) {
    match theirs {
        Some(theirs) => print_ratio(label, ours.per_second() / theirs.per_second(), target),
        None => println!("{label:<58}   skipped (peer not reachable)"),
    }
}

/// Prints ratio `r` and whether it reaches `target`.
fn print_ratio(label: &str, r: f64, target: f64) {
    let verdict = if r >= target { "meets" } else { "MISSES" };
    println!("{label:<58} {r:>6.2}x  ({verdict} the target of {target}x)");
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let tokens = fixture::customer_tokens(args.customers);
    let load = Load::new(
        args.connections,
        args.requests,
        args.seconds,
        tokens,
        args.threads,
    )?;
    println!(
        "load: {} keep-alive connections, up to {} requests or {}s per target, tokens rotating over {} customers, a unique Idempotency-Key per request; servers and load generator on {} threads each, loopback",
        args.connections, args.requests, args.seconds, args.customers, args.threads
    );
    let units = i64::try_from(args.requests)?;
    let quantity = u32::try_from(
        args.requests
            .min(u64::from(soldout_core::sale::SALE_QUANTITY_MAX)),
    )?;
    if u64::from(quantity) < args.requests {
        println!(
            "note: a sale holds at most {quantity} units; requests beyond that answer sold-out"
        );
    }

    let wanted = |name: &str| args.only.is_empty() || args.only.iter().any(|o| o == name);
    let measure = |name: &str, target: Target, sale: i64| {
        let report = load.run(name, target.addr, sale);
        target.stop();
        report.print();
        report
    };

    let limit = soldout_core::sale::PER_CUSTOMER_LIMIT_MAX;
    let bare_ceiling = if wanted("bare-ceiling") {
        let target = start_target(args.threads, move || {
            Box::pin(async move { Ok(peers::bare_ceiling(units)) })
        })?;
        Some(measure("bare ceiling: no request work", target, 1))
    } else {
        None
    };
    let ceiling_buys = if wanted("ceiling") {
        let target = start_target(args.threads, move || {
            Box::pin(async move { Ok(peers::ceiling(fixture::request_work(), units)) })
        })?;
        Some(measure("ceiling: request work + atomic", target, 1))
    } else {
        None
    };
    let soldout_buys = if wanted("soldout") {
        let (target, sale, _database) = soldout_target(args.threads, quantity, false, None, true)?;
        Some(measure("soldout: durable buys", target, sale))
    } else {
        None
    };
    // What counting metrics costs: rounds of off then on, after the first soldout run
    // has warmed the process, so neither side pays the warm-up alone.
    let metrics_cost = if wanted("soldout-no-metrics") {
        let mut rounds = (Vec::new(), Vec::new());
        for round in 1..=2 {
            for counting in [false, true] {
                let (target, sale, _database) =
                    soldout_target(args.threads, quantity, false, None, counting)?;
                let name = format!(
                    "soldout: metrics {}, round {round}",
                    if counting { "on" } else { "off" }
                );
                let report = measure(&name, target, sale);
                if counting {
                    &mut rounds.1
                } else {
                    &mut rounds.0
                }
                .push(report);
            }
        }
        Some(rounds)
    } else {
        None
    };
    let soldout_on_postgres = if !wanted("soldout-postgres") {
        None
    } else {
        match soldout_target(args.threads, quantity, false, Some(&args.postgres), true) {
            Ok((target, sale, _database)) => {
                Some(measure("soldout on PostgreSQL: durable buys", target, sale))
            }
            Err(e) => {
                println!("soldout on PostgreSQL: durable buys    skipped: {e}");
                None
            }
        }
    };

    let redis_url = args.redis.clone();
    let redis = if !wanted("redis") {
        None
    } else {
        match start_target(args.threads, move || {
            Box::pin(async move {
                peers::redis(fixture::request_work(), &redis_url, units, limit).await
            })
        }) {
            Ok(target) => Some(measure("Redis peer: request work + Lua", target, 1)),
            Err(e) => {
                println!("Redis peer                             skipped: {e}");
                None
            }
        }
    };

    let pg_url = args.postgres.clone();
    let postgres = if !wanted("postgres") {
        None
    } else {
        match start_target(args.threads, move || {
            Box::pin(async move { peers::postgres(fixture::request_work(), &pg_url, units).await })
        }) {
            Ok(target) => Some(measure("PostgreSQL peer: request work + UPDATE", target, 1)),
            Err(e) => {
                println!("PostgreSQL peer                        skipped: {e}");
                None
            }
        }
    };

    let ceiling_sold_out = if wanted("ceiling-sold-out") {
        let target = start_target(args.threads, || {
            Box::pin(async { Ok(peers::ceiling(fixture::request_work(), 0)) })
        })?;
        Some(measure("ceiling: request work, sold out", target, 1))
    } else {
        None
    };
    let soldout_sold_out = if wanted("soldout-sold-out") {
        let (target, sale, _database) = soldout_target(args.threads, 1, true, None, true)?;
        Some(measure("soldout: answers once sold out", target, sale))
    } else {
        None
    };

    println!();
    if let Some(ours) = &soldout_buys {
        if ceiling_buys.is_some() {
            ratio(
                "soldout durable buys / ceiling buys",
                ours,
                ceiling_buys.as_ref(),
                0.7,
            );
        }
        if wanted("redis") {
            ratio(
                "soldout durable buys / Redis peer",
                ours,
                redis.as_ref(),
                1.3,
            );
        }
        if wanted("postgres") {
            ratio(
                "soldout durable buys / PostgreSQL peer",
                ours,
                postgres.as_ref(),
                20.0,
            );
        }
    }
    if let Some(ours) = &soldout_buys {
        ours.latency_verdict(0.99, 20.0);
        ours.latency_verdict(0.999, 50.0);
    }
    if let (Some(ceiling), Some(bare)) = (&ceiling_buys, &bare_ceiling) {
        println!(
            "{:<58} {:>6.2}x  (for the record: what the request work costs)",
            "ceiling with the request work / bare ceiling",
            ceiling.per_second() / bare.per_second()
        );
    }
    if let Some((off, on)) = &metrics_cost {
        let rate = |reports: &[Report]| {
            let requests: u64 = reports.iter().map(|r| r.requests).sum();
            let seconds: f64 = reports.iter().map(|r| r.elapsed.as_secs_f64()).sum();
            requests as f64 / seconds
        };
        print_ratio(
            "soldout durable buys, metrics counting / not (both rounds)",
            rate(on) / rate(off),
            0.95,
        );
    }
    if let (Some(on_postgres), Some(on_sqlite)) = (&soldout_on_postgres, &soldout_buys) {
        ratio(
            "soldout durable buys on PostgreSQL / on SQLite",
            on_postgres,
            Some(on_sqlite),
            0.8,
        );
    }
    if let (Some(ours), Some(ceiling)) = (&soldout_sold_out, &ceiling_sold_out) {
        ratio(
            "soldout sold-out answers / ceiling sold-out answers",
            ours,
            Some(ceiling),
            0.9,
        );
    }
    Ok(())
}
