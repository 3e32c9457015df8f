//! Several soldout nodes selling one leased sale on one PostgreSQL database: for each
//! node count, durable buys per second over all nodes (the connections spread over
//! them), their latency, and what PostgreSQL committed meanwhile, beside the
//! PostgreSQL hot-row peer under the same load. Every node is a full server with its
//! own runtime, store and pool in this process, as a process of its own would be.

use crate::fixture;
use crate::http_load::{start_target, Load, Shot, Target};
use crate::peers;
use soldout_engine::{EngineOptions, NodeSettings};
use soldout_server::{App, AppState, Settings};
use std::sync::Arc;
use std::time::Duration;

#[derive(clap::Args)]
pub struct Args {
    /// Node counts to measure, in turn (comma-separated).
    #[arg(long, value_delimiter = ',', default_values_t = [1usize, 2, 3])]
    nodes: Vec<usize>,
    /// Keep-alive connections, spread over the nodes.
    #[arg(long, default_value_t = 256)]
    connections: usize,
    /// Requests per node count (at most).
    #[arg(long, default_value_t = 200_000)]
    requests: u64,
    /// Seconds per node count (at most).
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Customers whose tokens the requests rotate over.
    #[arg(long, default_value_t = 20_000)]
    customers: u64,
    /// Worker threads of each node, and of the load generator.
    #[arg(long, default_value_t = 2)]
    threads: usize,
    #[arg(
        long,
        env = "SOLDOUT_BENCH_POSTGRES",
        default_value = "postgres://postgres@127.0.0.1:5432/test"
    )]
    postgres: String,
}

/// Transactions PostgreSQL committed in the current database so far.
async fn commits(pool: &sqlx::PgPool) -> anyhow::Result<i64> {
    Ok(sqlx::query_scalar(
        "SELECT CAST(xact_commit AS BIGINT) FROM pg_stat_database WHERE datname = current_database()",
    )
    .fetch_one(pool)
    .await?)
}

/// `count` nodes on a fresh scratch database, the first of which opens a leased sale
/// of `quantity` units.
fn start_nodes(
    args: &Args,
    count: usize,
    quantity: u32,
) -> anyhow::Result<(Vec<Target>, i64, soldout_store::scratch::TestDatabase)> {
    let database = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(fixture::fresh_database(Some(&args.postgres)))?;
    let mut targets = Vec::new();
    let (sale_tx, sale_rx) = std::sync::mpsc::channel();
    let mut sale = None;
    for n in 0..count {
        let url = database.url().to_owned();
        let sale_tx = sale_tx.clone();
        targets.push(start_target(args.threads, move || {
            Box::pin(async move {
                let store = if n == 0 {
                    fixture::store(&url, i64::from(quantity)).await?
                } else {
                    soldout_store::open(&url).await?
                };
                let clock = soldout_engine::Clock::starting_at(Some(fixture::clock_start()));
                let settings = Settings {
                    admin_token: Some(fixture::ADMIN_TOKEN.into()),
                    token_key: Some(fixture::TOKEN_KEY.into()),
                    payment_secret: Some("bench".into()),
                    engine: EngineOptions {
                        node: Some(NodeSettings {
                            id: Arc::from(format!("bench-{n}")),
                            lease_ttl: NodeSettings::DEFAULT_LEASE_TTL,
                        }),
                        ..EngineOptions::default()
                    },
                    ..Settings::default()
                };
                let state = AppState::start(store, clock, settings).await?;
                if n == 0 {
                    let sale = state
                        .engine
                        .open_sale(fixture::new_sale(
                            quantity,
                            soldout_core::sale::PER_CUSTOMER_LIMIT_MAX,
                            false,
                            chrono::Duration::minutes(-1),
                        )?)
                        .await?;
                    let _ = sale_tx.send(sale.id.0);
                }
                Ok(App::router(state))
            })
        })?);
        if n == 0 {
            // The catalog and the sale exist before the other nodes start.
            sale = Some(sale_rx.recv_timeout(Duration::from_secs(60))?);
        }
    }
    let sale = sale.ok_or_else(|| anyhow::anyhow!("no node opened the sale"))?;
    Ok((targets, sale, database))
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
    let quantity = u32::try_from(
        args.requests
            .min(u64::from(soldout_core::sale::SALE_QUANTITY_MAX)),
    )?;
    println!(
        "load: {} keep-alive connections spread over the nodes, up to {} requests or {}s per run, tokens rotating over {} customers, a unique Idempotency-Key per request; each node and the load generator on {} threads, loopback, one PostgreSQL",
        args.connections, args.requests, args.seconds, args.customers, args.threads
    );
    let stats = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let units = i64::try_from(args.requests)?;
    let pg_url = args.postgres.clone();
    let peer = match start_target(args.threads, move || {
        Box::pin(async move { peers::postgres(fixture::request_work(), &pg_url, units).await })
    }) {
        Ok(target) => {
            let report = load.shoot("peer: axum + PostgreSQL UPDATE", target.addr, &Shot::buy(1));
            target.stop();
            report.print();
            Some(report)
        }
        Err(e) => {
            println!("peer: axum + PostgreSQL UPDATE         skipped: {e}");
            None
        }
    };
    for &count in &args.nodes {
        let (targets, sale, database) = start_nodes(&args, count.max(1), quantity)?;
        let pool = stats.block_on(
            sqlx::postgres::PgPoolOptions::new()
                .max_connections(1)
                .connect(database.url()),
        )?;
        let before = stats.block_on(commits(&pool))?;
        let addrs: Vec<_> = targets.iter().map(|t| t.addr).collect();
        let report = load.shoot_at(
            &format!("{count} node(s): durable buys"),
            &addrs,
            &Shot::buy(sale),
        );
        let after = stats.block_on(commits(&pool))?;
        for target in targets {
            target.stop();
        }
        report.print();
        let committed = (after - before).max(1) as f64;
        let created = report.status(201) as f64;
        println!(
            "{:<34} {:>10.0} PostgreSQL commits/s",
            "",
            committed / report.elapsed().as_secs_f64()
        );
        let units_per_commit = created / committed;
        println!(
            "{:<34} {:>10.2} units per commit  ({} the target of at least 50)",
            "",
            units_per_commit,
            if units_per_commit >= 50.0 {
                "meets"
            } else {
                "MISSES"
            }
        );
        if let Some(peer) = &peer {
            let r = report.per_second() / peer.per_second();
            println!(
                "{:<34} {r:>10.2}x the PostgreSQL hot-row peer  ({} the target of 20x)",
                "",
                if r >= 20.0 { "meets" } else { "MISSES" }
            );
        }
        stats.block_on(pool.close());
        drop(database);
    }
    Ok(())
}
