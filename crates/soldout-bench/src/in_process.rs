//! The engine without HTTP: how many durable decisions a second it makes, and the
//! opening rush of a sale with a million registered customers.

use crate::{alloc, fixture};
use indicatif::{ProgressBar, ProgressStyle};
use soldout_core::sale::idempotency_fingerprint;
use soldout_core::sale::SaleId;
use soldout_core::CustomerId;
use soldout_engine::{Admission, Buy, Clock, Engine, EngineError};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

#[derive(clap::Args)]
pub struct EngineArgs {
    /// Buy decisions to make (each a durable reservation).
    #[arg(long, default_value_t = 1_000_000)]
    decisions: u32,
    /// Buys per command (the engine's `buy_many`).
    #[arg(long, default_value_t = 1_024)]
    per_command: u32,
    /// Commands in flight at once.
    #[arg(long, default_value_t = 64)]
    in_flight: usize,
    /// Runs, each on a fresh database; every run is printed, then the median.
    #[arg(long, default_value_t = 3)]
    rounds: u32,
    /// A PostgreSQL server (postgres://USER@HOST:PORT/DB): the same runs again, each
    /// on a scratch database created there and dropped after, printed beside
    /// SQLite's with the ratio. SQLite only when left out.
    #[arg(long, value_name = "URL")]
    database: Option<String>,
}

#[derive(clap::Args)]
pub struct RushArgs {
    /// Registered customers, all buying at once.
    #[arg(long, default_value_t = 1_000_000)]
    customers: u32,
    /// Units in the sale.
    #[arg(long, default_value_t = 100_000)]
    units: u32,
    /// Seconds from the benchmark's start to the sale's start: registrations close then.
    #[arg(long, default_value_t = 12)]
    starts_in_secs: u32,
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

async fn engine_with_sale(
    url: &str,
    quantity: u32,
    limit: u32,
    registration_required: bool,
    starts_in: chrono::Duration,
) -> anyhow::Result<(Engine, SaleId)> {
    let store = fixture::store(url, i64::from(quantity)).await?;
    let engine = Engine::start(store, Clock::starting_at(Some(fixture::clock_start()))).await?;
    let sale = engine
        .open_sale(fixture::new_sale(
            quantity,
            limit,
            registration_required,
            starts_in,
        )?)
        .await?;
    Ok((engine, sale.id))
}

fn bar(len: u64, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(len);
    bar.set_style(
        ProgressStyle::with_template(&format!(
            "{what} {{bar:40}} {{pos}}/{{len}} {{per_sec}} {{elapsed}}"
        ))
        .expect("template"),
    );
    bar
}

pub fn engine(args: EngineArgs) -> anyhow::Result<()> {
    let postgres = match args.database.as_deref() {
        None => None,
        Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
            Some(url)
        }
        Some(url) => anyhow::bail!(
            "--database {url:?}: name a PostgreSQL server (postgres://USER@HOST:PORT/DB); SQLite runs always"
        ),
    };
    let sqlite = median_of_rounds(&args, None, "SQLite")?;
    let Some(server) = postgres else {
        return Ok(());
    };
    let pg = median_of_rounds(&args, Some(server), "PostgreSQL")?;
    println!(
        "engine alone: PostgreSQL {pg:.0}/s against SQLite {sqlite:.0}/s = {:.2}x (target: at least 250,000/s on PostgreSQL)",
        pg / sqlite
    );
    Ok(())
}

/// Runs the rounds on one backend; prints and returns the median rate.
fn median_of_rounds(
    args: &EngineArgs,
    postgres: Option<&str>,
    backend: &str,
) -> anyhow::Result<f64> {
    let mut rates = Vec::new();
    for _ in 0..args.rounds.max(1) {
        rates.push(engine_round(args, postgres, backend)?);
    }
    rates.sort_by(f64::total_cmp);
    let median = rates[rates.len() / 2];
    println!(
        "engine alone on {backend}, median of {} runs: {median:.0} durable decisions/s (target 1,000,000/s)",
        rates.len(),
    );
    Ok(median)
}

/// One run on a fresh database; returns durable decisions per second.
fn engine_round(args: &EngineArgs, postgres: Option<&str>, backend: &str) -> anyhow::Result<f64> {
    runtime()?.block_on(async {
        let database = fixture::fresh_database(postgres).await?;
        let (engine, sale) = engine_with_sale(database.url(), args.decisions, 100, false, chrono::Duration::minutes(-1)).await?;
        let customers = 20_000u32;
        let chunks = args.decisions.div_ceil(args.per_command);
        let progress = bar(u64::from(chunks), "commands");
        let started = Instant::now();
        let e = engine.clone();
        let (per_command, decisions) = (args.per_command, args.decisions);
        let (reserved, rejected) = drive(chunks, args.in_flight, &progress, move |chunk| {
            let e = e.clone();
            let first = chunk * per_command;
            let buys = (first..(first + per_command).min(decisions))
                .map(|i| Buy {
                    customer: CustomerId(i64::from(i % customers) + 1),
                    quantity: 1,
                    key: idempotency_fingerprint(CustomerId(i64::from(i % customers) + 1), &format!("k{i}")),
                })
                .collect();
            async move { e.buy_many(sale, buys, Admission::WaitForRoom).await }
        })
        .await;
        let elapsed = started.elapsed();
        progress.finish_and_clear();
        let view = engine.sale(sale).expect("sale");
        let rate = reserved as f64 / elapsed.as_secs_f64();
        println!(
            "engine alone on {backend}: {reserved} durable reservations in {:.2}s = {rate:.0} decisions/s; {} buys per command, {} commands in flight; rejected: {rejected:?}; the sale shows {} of {} reserved",
            elapsed.as_secs_f64(),
            args.per_command,
            args.in_flight,
            view.reserved,
            view.quantity
        );
        anyhow::ensure!(u64::from(view.reserved) == reserved, "every success is a reserved unit");
        Ok(rate)
    })
}

/// Sends `count` commands through `issue`, at most `in_flight` at once; each command
/// answers for one or many requests. Returns how many succeeded and the refusals by
/// kind.
async fn drive<T, F, Fut>(
    count: u32,
    in_flight: usize,
    progress: &ProgressBar,
    issue: F,
) -> (u64, BTreeMap<&'static str, u64>)
where
    T: Send + 'static,
    F: Fn(u32) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<Vec<Result<T, EngineError>>, EngineError>>
        + Send
        + 'static,
{
    let issue = Arc::new(issue);
    let mut tasks = tokio::task::JoinSet::new();
    let mut ok = 0;
    let mut rejected = BTreeMap::new();
    let mut tally = |done: Result<Result<Vec<Result<T, EngineError>>, EngineError>, _>| {
        progress.inc(1);
        let results = match done.expect("task") {
            Ok(results) => results,
            Err(e) => vec![Err(e)],
        };
        for result in results {
            match result {
                Ok(_) => ok += 1,
                Err(e) => *rejected.entry(e.slug()).or_default() += 1,
            }
        }
    };
    for i in 0..count {
        if tasks.len() >= in_flight {
            if let Some(done) = tasks.join_next().await {
                tally(done);
            }
        }
        let issue = issue.clone();
        tasks.spawn(async move { issue(i).await });
    }
    while let Some(done) = tasks.join_next().await {
        tally(done);
    }
    (ok, rejected)
}

pub fn rush(args: RushArgs) -> anyhow::Result<()> {
    runtime()?.block_on(async {
        let database = fixture::fresh_database(None).await?;
        let (engine, sale) = engine_with_sale(database.url(), args.units, 1, true, chrono::Duration::seconds(i64::from(args.starts_in_secs))).await?;
        alloc::start_counting();
        let before = alloc::live_bytes();
        let progress = bar(u64::from(args.customers), "registering");
        let e = engine.clone();
        let (registered, failed) = drive(args.customers, 65_536, &progress, move |i| {
            let e = e.clone();
            async move {
                e.register(sale, CustomerId(i64::from(i) + 1), Admission::WaitForRoom)
                    .await
                    .map(|new| vec![Ok(new)])
            }
        })
        .await;
        progress.finish_and_clear();
        anyhow::ensure!(failed.is_empty(), "registrations failed: {failed:?}");
        let per_customer = (alloc::live_bytes() - before) as f64 / f64::from(args.customers);
        println!("registered {registered} customers; memory per registered customer: {per_customer:.0} bytes (aim: at most 200)");

        let starts_at = engine.sale(sale).expect("sale").starts_at;
        let wait = (starts_at - engine.clock().now()).to_std().unwrap_or_default();
        println!("waiting {:.1}s for the start", wait.as_secs_f64());
        tokio::time::sleep(wait).await;
        // Everyone buys at once.
        let progress = bar(u64::from(args.customers), "buying");
        let started = Instant::now();
        let buying_from = engine.clock().now();
        let e = engine.clone();
        let (sold, rejected) = drive(args.customers, 1_000_000, &progress, move |i| {
            let e = e.clone();
            async move {
                e.buy(sale, CustomerId(i64::from(i) + 1), 1, "rush", Admission::WaitForRoom)
                    .await
                    .map(|(order, _)| vec![Ok(order.id)])
            }
        })
        .await;
        let all_answered = started.elapsed();
        progress.finish_and_clear();
        let view = engine.sale(sale).expect("sale");
        let sold_out_after = view
            .sold_out_at
            .map(|t| (t - buying_from).to_std().unwrap_or_default());
        println!(
            "rush: {} customers, {} units: {sold} sold, rejected {rejected:?}; all answered in {:.2}s; sale reserved {} of {}",
            args.customers,
            args.units,
            all_answered.as_secs_f64(),
            view.reserved,
            view.quantity,
        );
        if let (Some(sold_out_at), Some(after_first_buy)) = (view.sold_out_at, sold_out_after) {
            println!("time to sell out: {:.2}s after the first buy (sold out at {sold_out_at} by the server's clock)", after_first_buy.as_secs_f64());
        }
        anyhow::ensure!(sold == u64::from(args.units), "exactly the batch must sell");
        anyhow::ensure!(view.reserved == args.units && view.available == 0, "counters must show the batch sold");
        Ok(())
    })
}
