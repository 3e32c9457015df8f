// The tests of the real `soldout` binary that touch a database, written once and
// compiled twice: `cli.rs` runs them on SQLite, `cli_postgres.rs` on PostgreSQL (a
// scratch database per test, dropped at its end).

use soldout_store::scratch::{TestBackend, TestDatabase};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

/// A fresh database of the backend this build runs on, for `--database`.
fn fresh_database(purpose: &str) -> TestDatabase {
    TestDatabase::fresh_blocking(TestBackend::of_target(env!("CARGO_CRATE_NAME")), purpose)
}

fn soldout() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_soldout"));
    for var in [
        "SOLDOUT_DATABASE",
        "SOLDOUT_LISTEN",
        "SOLDOUT_ADMIN_TOKEN",
        "SOLDOUT_CLOCK_START",
        // An error's backtrace would bury the message the tests read.
        "RUST_BACKTRACE",
        "RUST_LIB_BACKTRACE",
    ] {
        command.env_remove(var);
    }
    command
}

fn run(command: &mut Command) -> String {
    let output = command.output().expect("run soldout");
    let stdout = String::from_utf8(output.stdout).unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        output.status.success(),
        "stdout: {stdout}\nstderr: {stderr}"
    );
    stdout
}

/// The address in the server's `soldout listening on http://ADDR ...` line.
fn listening_addr(line: &str) -> String {
    line.split("http://")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .unwrap_or_else(|| panic!("no address in {line:?}"))
        .to_owned()
}

#[test]
fn the_demo_loads_the_reference_data_once() {
    let dir = tempfile::tempdir().unwrap();
    let scratch = fresh_database("cli_demo");
    let database = scratch.url().to_owned();
    let first = run(soldout().args(["demo", "--no-serve", "--database", &database]));
    assert!(first.contains("Loaded the reference data set"), "{first}");
    assert!(first.contains("CN China (CNY)"), "{first}");
    assert!(first.contains("Mi 6 Plus (teased)"), "{first}");
    assert!(
        first.contains("RU Russia (RUB): Mi Mix, Mi Note 2, Redmi 4X"),
        "{first}"
    );
    assert!(
        first.contains("Mi Max 2 (teased)"),
        "India's Mi Max 2 is teased on 4 July: {first}"
    );

    // Money reads as money: major units with the currency.
    assert!(first.contains("for INR 21,998.00"), "{first}");
    assert!(first.contains("at INR 10,999.00"), "{first}");
    assert!(!first.contains("minor units"), "{first}");
    // The flash sale ran once: exactly its batch sold, every other press refused.
    assert!(first.contains("5000 units sold"), "{first}");
    assert!(first.contains("not-registered 5000"), "{first}");
    // The stores: a clerk token each, counter sales, a transfer, a pickup order.
    assert!(first.contains("k.4.store-in-delhi."), "{first}");
    assert_eq!(first.matches("counter sale").count(), 4, "{first}");
    assert!(first.contains("transfer 1 in transit"), "{first}");
    assert!(first.contains("pickup order"), "{first}");
    // The OS rollout: scheduled, and rehearsed twice.
    assert!(first.contains("OS rollout: MIUI 9"), "{first}");
    assert!(first.contains("20000 devices imported"), "{first}");
    assert!(first.contains("reached every device"), "{first}");
    assert!(first.contains("HALTED after"), "{first}");

    let second = run(soldout().args(["demo", "--no-serve", "--database", &database]));
    assert!(second.contains("already loaded; nothing added"), "{second}");
    assert!(second.contains("nothing simulated again"), "{second}");
    assert!(
        second.contains("Signature stores: already set up"),
        "{second}"
    );
    assert!(!second.contains("counter sale"), "{second}");
    assert!(!second.contains("units sold"), "{second}");
    assert!(second.contains("MIUI 9 already scheduled"), "{second}");
    // Run again: the same summary, so the same stock: nothing was added twice. (The
    // clock goes on from where the last run stopped.)
    let summary = |out: &str| {
        out.lines()
            .skip(1)
            .filter(|l| !l.starts_with("Clock:"))
            .take_while(|l| !l.starts_with("Signature stores"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let third = run(soldout().args(["demo", "--no-serve", "--database", &database]));
    assert!(
        third.contains("reference shipments: 2086 rows already imported"),
        "{third}"
    );
    the_reference_data_says_what_the_company_said(&dir, &database);
    imports_are_all_or_nothing_and_once(&dir, &database);
    assert_eq!(summary(&second), summary(&third));
    assert!(
        second.contains("store-in-delhi      store     IN Mi Home Select Citywalk"),
        "{second}"
    );
}

/// The reports on the demo's reference data set reproduce the mid-2017 statements:
/// 23.16 M units in 2017Q2, +70% on the quarter before, #2 in India with revenue up
/// 328% on the year, the Redmi Note 4 India's best seller, 2015's 100 M target missed
/// at 70 M, 100 M for 2018.
fn the_reference_data_says_what_the_company_said(dir: &tempfile::TempDir, database: &str) {
    let json = |args: &[&str]| -> serde_json::Value {
        let out = run(soldout()
            .args(["report", "--format", "json", "--database", database])
            .args(["--clock-start", "2017-07-04T01:00:00Z"])
            .args(args));
        serde_json::from_str(&out).unwrap()
    };
    let percent = |v: &serde_json::Value| (v.as_f64().unwrap() * 100.0).round() as i64;
    let table = run(soldout()
        .args(["report", "quarter", "2017Q2", "--database", database])
        .args(["--clock-start", "2017-07-04T01:00:00Z"]));
    assert!(
        table.contains("INR ") && !table.contains("minor units"),
        "money in major units with its currency: {table}"
    );
    let all = json(&["quarter", "2017Q2"]);
    assert_eq!(all["units"], 23_160_000, "{all}");
    assert_eq!(percent(&all["units_qoq"]), 70, "{all}");
    assert!(
        all["revenue_usd"].as_i64().unwrap() > 0,
        "every rate is there: {all}"
    );
    assert_eq!(all["missing_fx"], serde_json::json!([]), "{all}");
    assert!(all["revenue_yoy"].is_f64(), "in USD across markets: {all}");
    let india = json(&["quarter", "2017Q2", "--market", "IN"]);
    assert_eq!(india["rank"], 2, "{india}");
    assert_eq!(percent(&india["revenue_yoy"]), 328, "{india}");
    assert_eq!(india["top_models"][0]["model"], "Redmi Note 4", "{india}");
    assert_eq!(india["top_models"][0]["vendor"], "Xiaomi", "{india}");
    assert_eq!(india["vendors"][1]["vendor"], "Xiaomi", "{india}");
    assert_eq!(
        india["vendors"][1]["units"], india["units"],
        "our row is the ledger's: {india}"
    );
    let year = json(&["year", "2018"]);
    assert_eq!(year["target"], 100_000_000, "{year}");
    let history = &year["history"];
    assert_eq!(
        history[0],
        serde_json::json!({"year": 2015, "target": 100_000_000, "units": 70_000_000, "met": false}),
        "{year}"
    );
    // The trend and its chart: a bar per quarter, the growth line.
    let chart = dir.path().join("trend.svg");
    let trend = json(&[
        "trend",
        "--from",
        "2016Q3",
        "--to",
        "2017Q2",
        "--chart",
        chart.to_str().unwrap(),
    ]);
    let quarters = trend["quarters"].as_array().unwrap();
    assert_eq!(quarters.len(), 4, "{trend}");
    assert_eq!(quarters[3]["units"], 23_160_000, "{trend}");
    assert_eq!(quarters[3]["units_qoq"], all["units_qoq"], "{trend}");
    let svg = std::fs::read_to_string(&chart).unwrap();
    assert!(svg.contains("<svg") && svg.contains("2017Q2"), "{svg}");
    assert!(svg.matches("<rect").count() >= 4, "{svg}");
    assert!(svg.contains("<polyline"), "{svg}");
}

/// `soldout import shipments` on the demo's database: a good file once, then
/// nothing again; a bad file names its lines and imports nothing.
fn imports_are_all_or_nothing_and_once(dir: &tempfile::TempDir, database: &str) {
    let header = "date,market,channel,product,sku,units,revenue,currency\n";
    let good = dir.path().join("partners.csv");
    std::fs::write(
        &good,
        format!("{header}2018-02-02,IN,partner,redmi-note-4,,120000,1319880000.00,INR\n2018-02-02,RU,partner,redmi-4x,,3000,26970000,RUB\n"),
    )
    .unwrap();
    let import = |file: &std::path::Path| {
        soldout()
            .args(["import", "shipments", "--database", database])
            .arg(file)
            .output()
            .unwrap()
    };
    let first = import(&good);
    let out = String::from_utf8(first.stdout).unwrap();
    assert!(first.status.success(), "{out}");
    assert!(out.contains("2 rows imported as batch shipments-"), "{out}");
    let again = import(&good);
    let out = String::from_utf8(again.stdout).unwrap();
    assert!(
        again.status.success() && out.contains("already imported: nothing changed"),
        "{out}"
    );
    let bad = dir.path().join("bad.csv");
    std::fs::write(
        &bad,
        format!("{header}2017-05-02,IN,partner,redmi-note-4,,1,1.00,INR\n2017-05-02,IN,partner,redmi-note-4,,1,1.001,INR\n"),
    )
    .unwrap();
    let refused = import(&bad);
    let err = String::from_utf8(refused.stderr).unwrap();
    assert!(!refused.status.success());
    assert!(
        err.contains(&format!("{}:3: revenue: ", bad.display())),
        "the file, line and column of the bad cell: {err}"
    );
    assert!(err.contains("1 bad row (1 error listed"), "{err}");
    assert!(err.contains("nothing was imported"), "{err}");

    // The report reads the ledger: the imported partner sell-in, and the demo's
    // counter sales in the quarter of its clock.
    let report = |args: &[&str]| {
        run(soldout()
            .args(["report", "quarter", "--database", database])
            .args(args))
    };
    let table = report(&["2018Q1", "--market", "IN"]);
    assert!(table.contains("2018Q1 IN: 120.0 K units"), "{table}");
    let json: serde_json::Value =
        serde_json::from_str(&report(&["2017Q3", "--format", "json"])).unwrap();
    assert_eq!(json["units"], 5, "the demo's four counter sales: {json}");
    assert_eq!(json["market"], serde_json::Value::Null);
    let csv = report(&["2018Q1", "--market", "RU", "--format", "csv"]);
    assert!(
        csv.contains("2018Q1,RU,total,,3000,RUB,2697000000"),
        "{csv}"
    );
}

#[test]
fn serve_answers_and_stops_cleanly_on_sigterm() {
    let scratch = fresh_database("cli_serve");
    let database = scratch.url().to_owned();
    let mut child = soldout()
        .args(["serve", "--listen", "127.0.0.1:0", "--database", &database])
        .args(["--clock-start", "2017-07-04T09:00:00+08:00"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let token_line = lines.next().unwrap().unwrap();
    assert!(
        token_line.starts_with("admin token: "),
        "{token_line}"
    );
    let token = token_line.rsplit(' ').next().unwrap().to_owned();
    let addr = listening_addr(&lines.next().unwrap().unwrap());

    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let client = reqwest::Client::new();
        let health: serde_json::Value = client
            .get(format!("http://{addr}/healthz"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(health["now"]
            .as_str()
            .unwrap()
            .starts_with("2017-07-04T01:00"));
        let markets = client
            .post(format!("http://{addr}/v1/markets"))
            .bearer_auth(&token)
            .json(&serde_json::json!({"code": "IN", "name": "India", "currency": "INR"}))
            .send()
            .await
            .unwrap();
        assert_eq!(markets.status(), 201);
    });

    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = child.wait().unwrap();
    assert_eq!(exit.code(), Some(0), "serve must exit 0 on SIGTERM");
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    assert!(rest.iter().any(|l| l == "soldout stopped"), "{rest:?}");
}

#[test]
fn operators_manage_sales_from_the_command_line() {
    let scratch = fresh_database("cli_ops");
    let database = scratch.url().to_owned();
    let mut child = soldout()
        .args(["demo", "--listen", "127.0.0.1:0", "--database", &database])
        .env("SOLDOUT_ADMIN_TOKEN", "ops-token")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut delhi_token = None;
    let url = loop {
        let line = lines.next().expect("demo output").unwrap();
        if let Some(token) = line.trim().strip_prefix("store-in-delhi") {
            delhi_token = Some(token.trim().to_owned());
        }
        if let Some(rest) = line.strip_prefix("soldout listening on ") {
            break rest.split(' ').next().unwrap().to_owned();
        }
    };
    let delhi = delhi_token.expect("the demo prints a clerk token for Delhi");
    let sale = |args: &[&str]| {
        let mut command = soldout();
        command
            .args(["sale", "--url", &url, "--admin-token", "ops-token"])
            .args(args);
        command.output().unwrap()
    };
    let list = sale(&["list", "--market", "IN"]);
    let listed = String::from_utf8(list.stdout).unwrap();
    assert!(list.status.success(), "{listed}");
    assert!(listed.contains("sale 1 RN4-3-32-GLD IN"), "{listed}");
    assert!(listed.contains("quantity 5000  available 0"), "{listed}");

    let created = sale(&[
        "create",
        "--sku",
        "R4X-2-16-GLD",
        "--market",
        "IN",
        "--location",
        "wh-in-sricity",
        "--quantity",
        "300",
        "--starts-at",
        "2017-07-05T12:00:00+05:30",
        "--ends-at",
        "2017-07-05T14:00:00+05:30",
        "--per-customer-limit",
        "2",
        "--json",
    ]);
    let body: serde_json::Value = serde_json::from_slice(&created.stdout).unwrap();
    assert_eq!(body["quantity"], 300);
    assert_eq!(body["status"], "scheduled");
    let shown = sale(&["show", &body["id"].to_string()]);
    assert!(String::from_utf8(shown.stdout)
        .unwrap()
        .contains("available 300"));

    // A refusal is an error with the server's reason.
    let refused = sale(&[
        "create",
        "--sku",
        "R4X-2-16-GLD",
        "--market",
        "IN",
        "--location",
        "wh-in-sricity",
        "--quantity",
        "999999",
        "--starts-at",
        "2017-07-05T12:00:00+05:30",
        "--ends-at",
        "2017-07-05T14:00:00+05:30",
    ]);
    assert!(!refused.status.success());
    assert!(String::from_utf8(refused.stderr)
        .unwrap()
        .contains("available"));
    let wrong_token = soldout()
        .args(["sale", "--url", &url, "--admin-token", "nope", "list"])
        .output()
        .unwrap();
    assert!(!wrong_token.status.success());

    // Stores and transfers: the admin lists stores; Delhi's clerk counts in the
    // demo's transfer and sells over the counter, and cannot see another store.
    let as_delhi = |args: &[&str]| {
        let output = soldout()
            .args([args[0], "--url", &url, "--token", &delhi])
            .args(&args[1..])
            .output()
            .unwrap();
        let stdout = String::from_utf8(output.stdout).unwrap();
        let stderr = String::from_utf8(output.stderr).unwrap();
        (output.status.success(), stdout + &stderr)
    };
    let stores = soldout()
        .args(["store", "--url", &url, "--admin-token", "ops-token", "list"])
        .output()
        .unwrap();
    assert!(String::from_utf8(stores.stdout)
        .unwrap()
        .contains("store-in-delhi"));
    let (ok, stock) = as_delhi(&["store", "stock", "store-in-delhi"]);
    assert!(ok && stock.contains("incoming     50"), "{stock}");
    let (ok, listed) = as_delhi(&["transfer", "list", "store-in-delhi"]);
    assert!(ok && listed.contains("in_transit"), "{listed}");
    let (ok, received) = as_delhi(&["transfer", "receive", "1", "--line", "RN4-3-32-GLD=48"]);
    assert!(
        ok && received.contains("received") && received.contains("48/50"),
        "{received}"
    );
    let (ok, sold) = as_delhi(&[
        "store",
        "sell",
        "store-in-delhi",
        "--sku",
        "RN4-3-32-GLD",
        "--serial",
        "865321039990001",
    ]);
    assert!(ok && sold.contains("receipt"), "{sold}");
    let (_, stock) = as_delhi(&["store", "stock", "store-in-delhi"]);
    assert!(stock.contains("on hand    107"), "60 + 48 - 1: {stock}");
    let (ok, refused) = as_delhi(&["store", "stock", "store-in-bengaluru"]);
    assert!(!ok && refused.contains("403"), "{refused}");
    let _ = child.kill();
    let _ = child.wait();
}

