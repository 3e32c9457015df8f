//! `soldout-sim`: runs the deterministic simulation for one seed or a sweep of them.

use clap::Parser;
use soldout_sim::{simulate, Database, FaultRates, Settings};
use std::process::ExitCode;
use std::time::Instant;

/// Simulates flash sales under faults (failed, lost, stalled and crashing commits) on
/// a manual clock, and checks after every step that nothing was oversold, the
/// counters add up, every granted order is stored, a key always gets its own order,
/// and nobody is over the limit. A failing seed prints how to replay it.
#[derive(Parser)]
#[command(name = "soldout-sim", version)]
struct Args {
    /// The first seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Seeds to run, from --seed on.
    #[arg(long, default_value_t = 1)]
    seeds: u64,
    /// Steps per seed (a step is a burst of requests, time passing, a look or a
    /// restart; faults strike the commits they make).
    #[arg(long, default_value_t = 200)]
    steps: u32,
    /// Run on a scratch database of this PostgreSQL server instead of SQLite, e.g.
    /// postgres://postgres@127.0.0.1:5432/test.
    #[arg(long, value_name = "URL")]
    postgres: Option<String>,
    /// Print every seed's report, not only failures and the total.
    #[arg(long)]
    verbose: bool,
    /// Print every step, request and answer as it happens (to standard error).
    #[arg(long)]
    trace: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let started = Instant::now();
    let database = match args.postgres {
        Some(url) => Database::Postgres(url),
        None => Database::Sqlite,
    };
    let (mut failed, mut lives, mut requests, mut commits) = (0u64, 0u64, 0u64, 0u64);
    for seed in args.seed..args.seed.saturating_add(args.seeds) {
        let settings = Settings {
            seed,
            steps: args.steps,
            database: database.clone(),
            rates: FaultRates::default(),
            print_trace: args.trace,
        };
        match simulate(&settings) {
            Ok(report) => {
                lives += u64::from(report.lives);
                requests += report.requests;
                commits += report.faults.commits;
                if args.verbose {
                    println!("{report:?}");
                }
            }
            Err(violation) => {
                failed += 1;
                println!("{violation}\n");
            }
        }
    }
    println!(
        "{} seeds from {}, {} steps each: {} failed; {lives} engine lives, {requests} requests, {commits} commits, in {:.1} s",
        args.seeds,
        args.seed,
        args.steps,
        failed,
        started.elapsed().as_secs_f64()
    );
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
