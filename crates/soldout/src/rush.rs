//! The demo's flash sale: the Redmi Note 4 in India, 5,000 units for 50,000 simulated
//! buyers who signed up and (most of them) registered, all pressing "buy" at the
//! start. It runs through the same engine as the HTTP API, then prints the outcome.

use anyhow::Context;
use chrono::{Duration, Timelike};
use indicatif::{ProgressBar, ProgressStyle};
use soldout_core::sale::{NewSale, OrderId, PaymentOutcome, SaleId};
use soldout_core::{CustomerId, Email, LocationId, MarketCode, SkuCode};
use soldout_engine::{Admission, EngineError};
use soldout_server::AppState;
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;

/// Marks a database whose demo flash sale was created; its value is the sale's id.
const SALE_MARKER: &str = "demo.flash_sale";
const BUYERS: u32 = 50_000;
const UNITS: u32 = 5_000;
/// One buyer in this many did not register in time.
const UNREGISTERED_EVERY: u32 = 20;
/// One buyer in this many presses "buy" twice (a new key: a second purchase).
const DOUBLE_CLICK_EVERY: u32 = 10;
/// One reserved order in this many is left unpaid.
const UNPAID_EVERY: usize = 8;
/// Seconds from the sale's creation to its start: registration happens in between.
const START_AFTER_SECS: i64 = 3;
/// Requests in flight at once.
const IN_FLIGHT: usize = 65_536;

/// Runs `call` for every input at most `IN_FLIGHT` at a time, with a progress bar;
/// returns each result in input order.
async fn run_all<I, T, F, Fut>(label: &str, inputs: Vec<I>, call: F) -> Vec<Result<T, EngineError>>
where
    I: Send + 'static,
    T: Send + 'static,
    F: Fn(I) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<T, EngineError>> + Send + 'static,
{
    let bar = ProgressBar::new(inputs.len() as u64);
    bar.set_style(
        ProgressStyle::with_template(&format!(
            "  {label:<12} {{bar:40}} {{pos}}/{{len}} {{per_sec}}"
        ))
        .expect("progress template"),
    );
    let call = Arc::new(call);
    let semaphore = Arc::new(tokio::sync::Semaphore::new(IN_FLIGHT));
    let mut tasks = Vec::with_capacity(inputs.len());
    for input in inputs {
        let permit = semaphore
            .clone()
            .acquire_owned()
            .await
            .expect("semaphore open");
        let call = call.clone();
        let bar = bar.clone();
        tasks.push(tokio::spawn(async move {
            let result = call(input).await;
            bar.inc(1);
            drop(permit);
            result
        }));
    }
    let mut results = Vec::with_capacity(tasks.len());
    for task in tasks {
        results.push(task.await.expect("demo task"));
    }
    bar.finish_and_clear();
    results
}

/// Creates and runs the demo's flash sale once; afterwards only reports on it.
pub async fn run(state: &AppState) -> anyhow::Result<()> {
    if let Some(id) = state.store.meta(SALE_MARKER).await? {
        let id = SaleId(id.parse().context("demo sale marker")?);
        if let Some(sale) = state.engine.sale(id) {
            println!(
                "Flash sale {} ({} in {}): {} of {} units paid, {} reserved; nothing simulated again.",
                sale.id, sale.sku, sale.market, sale.paid, sale.quantity, sale.reserved
            );
        }
        return Ok(());
    }
    let store = state.store.as_ref();
    let engine = &state.engine;
    let now = state.clock.now();
    let emails = (1..=BUYERS)
        .map(|i| Email::parse(&format!("buyer{i:05}@demo.soldout.example")))
        .collect::<Result<Vec<_>, _>>()?;
    let customers = store.create_customers(&emails, now).await?;
    // The start is set once the buyers exist, with room to register them all.
    let now = state.clock.now();
    let starts_at = (now + Duration::seconds(START_AFTER_SECS))
        .with_nanosecond(0)
        .unwrap_or(now);
    let new = NewSale {
        sku: SkuCode::parse("RN4-3-32-GLD")?,
        market: MarketCode::parse("IN")?,
        location: LocationId::parse("wh-in-sricity")?,
        quantity: UNITS,
        starts_at,
        ends_at: starts_at + Duration::hours(2),
        per_customer_limit: 1,
        payment_window_secs: 1_800,
        registration_required: true,
        fair_start_secs: 1,
        price: None,
        allow_zero_price: false,
    };
    let sale = engine.open_sale(new).await?;
    store.set_meta(SALE_MARKER, &sale.id.to_string()).await?;
    println!(
        "Flash sale {}: {} units of the Redmi Note 4 (RN4-3-32-GLD) in India at {}, starting {}; registration required, limit 1, fair start 1s.",
        sale.id, UNITS, soldout_core::display_amount(sale.price, sale.currency), starts_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    );

    let registering: Vec<CustomerId> = customers
        .iter()
        .enumerate()
        .filter(|(i, _)| !(*i as u32 + 1).is_multiple_of(UNREGISTERED_EVERY))
        .map(|(_, c)| *c)
        .collect();
    let e = engine.clone();
    let registered = run_all("registering", registering, move |customer| {
        let e = e.clone();
        async move { e.register(sale.id, customer, Admission::WaitForRoom).await }
    })
    .await;
    let registered = registered.iter().filter(|r| r.is_ok()).count();
    println!(
        "  {} buyers signed up, {registered} registered before the start",
        customers.len()
    );

    let wait = (starts_at - state.clock.now()).to_std().unwrap_or_default();
    tokio::time::sleep(wait).await;
    let mut presses: Vec<(CustomerId, &'static str)> =
        customers.iter().map(|c| (*c, "buy-1")).collect();
    presses.extend(
        customers
            .iter()
            .enumerate()
            .filter(|(i, _)| (*i as u32 + 1).is_multiple_of(DOUBLE_CLICK_EVERY))
            .map(|(_, c)| (*c, "buy-2")),
    );
    let requests = presses.len();
    let e = engine.clone();
    let started = std::time::Instant::now();
    let answers = run_all("buying", presses, move |(customer, key)| {
        let e = e.clone();
        async move {
            e.buy(sale.id, customer, 1, key, Admission::WaitForRoom)
                .await
                .map(|(order, _)| (order.id, order.amount))
        }
    })
    .await;
    let elapsed = started.elapsed();
    let mut rejected: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut orders: Vec<(OrderId, i64)> = Vec::new();
    for answer in answers {
        match answer {
            Ok(order) => orders.push(order),
            Err(e) => *rejected.entry(e.slug()).or_default() += 1,
        }
    }
    let after = engine.sale(sale.id).context("the demo sale")?;
    let sell_out = after
        .sold_out_at
        .map(|t| {
            format!(
                "{:.3}s after the start",
                (t - starts_at).num_milliseconds() as f64 / 1000.0
            )
        })
        .unwrap_or_else(|| "not sold out".into());
    println!(
        "  rush: {requests} requests answered in {:.2}s; {} units sold; sold out {sell_out}; seed of the fair-start draw {}",
        elapsed.as_secs_f64(),
        orders.len(),
        after.fair_start_seed.as_deref().unwrap_or("-")
    );
    let rejected: Vec<String> = rejected.iter().map(|(k, n)| format!("{k} {n}")).collect();
    println!("  rejected by reason: {}", rejected.join(", "));

    let paying: Vec<(usize, OrderId, i64)> = orders
        .iter()
        .enumerate()
        .filter(|(i, _)| !(i + 1).is_multiple_of(UNPAID_EVERY))
        .map(|(i, (id, amount))| (i, *id, *amount))
        .collect();
    let e = engine.clone();
    let currency = sale.currency;
    let paid = run_all("paying", paying, move |(i, order, amount)| {
        let e = e.clone();
        async move {
            e.record_payment(
                order,
                format!("evt_demo_{i}"),
                PaymentOutcome::Succeeded,
                amount,
                currency,
            )
            .await
        }
    })
    .await;
    let paid = paid.iter().filter(|r| r.is_ok()).count();
    println!(
        "  {paid} orders paid through the payment provider; the rest hold their units until pay_by"
    );
    Ok(())
}
