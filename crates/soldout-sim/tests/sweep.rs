//! The simulator's bounded sweep for CI: a few hundred seeds on SQLite (split in
//! four so the test harness runs them side by side), each replayed exactly from its
//! seed, with every kind of fault striking; and a short sweep on PostgreSQL when
//! `SOLDOUT_TEST_DATABASE_URL` names a server. `SOLDOUT_SIM_SEEDS` sets the seeds of
//! each quarter (60 by default) and `SOLDOUT_SIM_STEPS` the steps of each seed.

use soldout_sim::{simulate, Database, FaultRates, Report, Settings};

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn settings(seed: u64, database: Database) -> Settings {
    Settings {
        seed,
        steps: env_or("SOLDOUT_SIM_STEPS", 150) as u32,
        database,
        rates: FaultRates::default(),
        print_trace: false,
    }
}

/// Runs seeds `first..first + count` and fails with every broken promise found.
fn sweep(first: u64, count: u64, database: Database) -> Vec<Report> {
    let mut reports = Vec::new();
    let mut failures = Vec::new();
    for seed in first..first + count {
        match simulate(&settings(seed, database.clone())) {
            Ok(report) => reports.push(report),
            Err(violation) => failures.push(violation.to_string()),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    reports
}

fn quarter(n: u64) {
    let count = env_or("SOLDOUT_SIM_SEEDS", 60);
    let reports = sweep(1 + n * count, count, Database::Sqlite);
    // The sweep is not vacuous: buyers got orders, and each kind of fault struck.
    let total = |f: fn(&Report) -> u64| reports.iter().map(f).sum::<u64>();
    assert!(total(|r| r.granted as u64) > count, "orders were granted");
    assert!(total(|r| r.sold.into()) > 0, "units were sold");
    assert!(total(|r| r.faults.failed_before) > 0);
    assert!(total(|r| r.faults.failed_after) > 0);
    assert!(total(|r| r.faults.stalled) > 0);
    assert!(total(|r| r.faults.crashed_landed) > 0);
    assert!(total(|r| r.faults.crashed_unlanded) > 0);
    assert!(
        total(|r| u64::from(r.lives)) > 2 * count,
        "engines restarted"
    );
}

#[test]
fn seeds_of_the_first_quarter_keep_every_promise() {
    quarter(0);
}

#[test]
fn seeds_of_the_second_quarter_keep_every_promise() {
    quarter(1);
}

#[test]
fn seeds_of_the_third_quarter_keep_every_promise() {
    quarter(2);
}

#[test]
fn seeds_of_the_fourth_quarter_keep_every_promise() {
    quarter(3);
}

#[test]
fn a_seed_runs_the_same_way_again() {
    for seed in [7, 1_000_003] {
        let first = simulate(&settings(seed, Database::Sqlite)).expect("the seed holds");
        let again = simulate(&settings(seed, Database::Sqlite)).expect("the seed holds");
        assert_eq!(first, again, "seed {seed}");
    }
    let other = simulate(&settings(8, Database::Sqlite)).expect("the seed holds");
    let seven = simulate(&settings(7, Database::Sqlite)).expect("the seed holds");
    assert_ne!(other.history, seven.history);
}

#[test]
fn seeds_keep_every_promise_on_postgresql() {
    let Some(server) = soldout_store::scratch::test_server() else {
        eprintln!("SOLDOUT_TEST_DATABASE_URL is not set: the PostgreSQL sweep is skipped");
        return;
    };
    let reports = sweep(1, 12, Database::Postgres(server));
    assert!(reports.iter().map(|r| r.granted).sum::<usize>() > 12);
}
