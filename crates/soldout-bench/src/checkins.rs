//! The check-in benchmark: a million phones asking for their update after a release.
//! It registers `--devices` devices (the installed-base import), rolls a release out to
//! all of them at 100%, and drives check-ins over HTTP on loopback with each device's
//! own token, beside the bare-axum ceiling of the flash-sale benchmark on the same
//! load, in the same run. It also measures the heap a rollout's state takes per
//! device (the book with every device offered), against the aim of 64 bytes.

use crate::http_load::{start_target, Load, Report, Shot};
use crate::{alloc, fixture, peers};
use bytes::Bytes;
use chrono::Duration as Hours;
use soldout_core::rollout::{Advance, Build, Release, RolloutBook, RolloutTerms, Wave};
use soldout_core::{MarketCode, OsVersion, ProductId, ReleaseId, RolloutId, Serial, SkuCode};
use soldout_engine::rollouts::DeviceClaim;
use soldout_server::auth::Tokens;
use soldout_server::{App, AppState, Settings};
use soldout_store::ImportedDevice;
use std::time::Instant;

#[derive(clap::Args)]
pub struct Args {
    /// Devices registered, each checking in with its own token.
    #[arg(long, default_value_t = 1_000_000)]
    devices: u64,
    /// Check-ins per target (at most).
    #[arg(long, default_value_t = 1_000_000)]
    requests: u64,
    /// Seconds per target (at most).
    #[arg(long, default_value_t = 30)]
    seconds: u64,
    /// Keep-alive connections.
    #[arg(long, default_value_t = 256)]
    connections: usize,
    /// Worker threads of each server under test, and of the load generator.
    #[arg(long, default_value_t = 2)]
    threads: usize,
}

/// What this benchmark aims for.
const TARGET_RATIO: f64 = 0.6;
const TARGET_BYTES_PER_DEVICE: f64 = 64.0;

fn serial(i: u64) -> Serial {
    Serial::parse(&format!("RN4IN{i:010}")).expect("a valid serial")
}

fn release() -> anyhow::Result<Release> {
    Ok(Release {
        id: ReleaseId::parse("miui-9")?,
        name: "MIUI 9".into(),
        version: OsVersion::parse("9.0")?,
        builds: vec![Build {
            models: vec![ProductId::parse("redmi-note-4")?],
            base: "Android 7.0".into(),
            url: "https://updates.example.com/miui-9/redmi-note-4.zip".into(),
            sha256: "70b3".repeat(16),
            size: 1_610_612_736,
        }],
        min_version: OsVersion::parse("8.0")?,
    })
}

fn terms() -> anyhow::Result<RolloutTerms> {
    Ok(RolloutTerms {
        id: RolloutId::parse("miui-9-in")?,
        release: ReleaseId::parse("miui-9")?,
        markets: vec![MarketCode::parse("IN")?],
        starts_at: fixture::clock_start() - Hours::hours(1),
        waves: vec![Wave {
            percent: 100,
            min_hours: 0,
        }],
        error_threshold: 0.05,
        min_reports: 50,
        advance: Advance::Manual,
    })
}

/// Heap bytes per device of a rollout book that has offered the build to `devices`.
fn bytes_per_device(devices: u64) -> anyhow::Result<f64> {
    let release = release()?;
    let model = ProductId::parse("redmi-note-4")?;
    let market = MarketCode::parse("IN")?;
    let version = OsVersion::parse("8.2")?;
    let now = fixture::clock_start();
    let serials: Vec<Serial> = (0..devices).map(serial).collect();
    alloc::start_counting();
    let before = alloc::live_bytes();
    let mut book = RolloutBook::new(terms()?);
    for serial in &serials {
        if let Some((_, Some(event))) =
            book.decide_offer(&release, serial, &model, &market, &version, now)
        {
            book.apply(&event);
        }
    }
    let after = alloc::live_bytes();
    anyhow::ensure!(book.devices() as u64 == devices, "every device is offered");
    Ok((after - before) as f64 / devices as f64)
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let per_device = bytes_per_device(args.devices)?;
    println!(
        "rollout state: {per_device:.1} bytes of heap per device with {} devices offered the build ({} the aim of at most {TARGET_BYTES_PER_DEVICE})",
        args.devices,
        if per_device <= TARGET_BYTES_PER_DEVICE { "meets" } else { "MISSES" }
    );

    let keys = Tokens::new(fixture::ADMIN_TOKEN.into(), fixture::TOKEN_KEY);
    let product = ProductId::parse("redmi-note-4")?;
    let market = MarketCode::parse("IN")?;
    let tokens: Vec<String> = (0..args.devices)
        .map(|i| {
            keys.device_token(&DeviceClaim {
                serial: serial(i),
                product: product.clone(),
                market: market.clone(),
            })
        })
        .collect();
    let load = Load::new(
        args.connections,
        args.requests,
        args.seconds,
        tokens,
        args.threads,
    )?;
    let shot = Shot {
        path: "/v1/devices/check-in".into(),
        body: Bytes::from_static(br#"{"version":"8.2"}"#),
        idempotency: false,
    };
    println!(
        "load: {} keep-alive connections, up to {} check-ins or {}s per target, each device with its own token ({} devices); servers and load generator on {} threads each, loopback",
        args.connections, args.requests, args.seconds, args.devices, args.threads
    );

    let ceiling = start_target(args.threads, || {
        Box::pin(async { Ok(peers::bare_ceiling(0)) })
    })?;
    let ceiling = measure(
        &load,
        "bare ceiling: axum + atomic",
        ceiling.addr,
        &shot,
        ceiling,
    );

    let database = soldout_store::scratch::TestDatabase::sqlite("bench")?;
    let url = database.url().to_owned();
    let devices = args.devices;
    let registering = Instant::now();
    let target = start_target(args.threads, move || {
        Box::pin(async move {
            let store = fixture::store(&url, 0).await?;
            let sku = SkuCode::parse("RN4-3-32-GLD")?;
            let market = MarketCode::parse("IN")?;
            let version = OsVersion::parse("8.2")?;
            let sold_at = fixture::clock_start() - Hours::days(60);
            let mut next = 0;
            while next < devices {
                let chunk: Vec<ImportedDevice> = (next..devices.min(next + 100_000))
                    .map(|i| ImportedDevice {
                        serial: serial(i),
                        sku: sku.clone(),
                        market: market.clone(),
                        os_version: version.clone(),
                        sold_at,
                    })
                    .collect();
                next += chunk.len() as u64;
                store.import_devices(&chunk, sold_at).await?;
            }
            let clock = soldout_engine::Clock::starting_at(Some(fixture::clock_start()));
            let secrets = Settings {
                admin_token: Some(fixture::ADMIN_TOKEN.into()),
                token_key: Some(fixture::TOKEN_KEY.into()),
                payment_secret: Some("bench".into()),
                ..Settings::default()
            };
            let state = AppState::start(store, clock, secrets).await?;
            state.rollouts.create_release(release()?).await?;
            state.rollouts.create_rollout(terms()?).await?;
            Ok(App::router(state))
        })
    })?;
    println!(
        "registered {} devices (installed-base import) and rolled MIUI 9 out to all of them in {:.1}s",
        args.devices,
        registering.elapsed().as_secs_f64()
    );
    let soldout = measure(&load, "soldout: check-ins", target.addr, &shot, target);
    println!();
    let ratio = soldout.per_second() / ceiling.per_second();
    println!(
        "{:<58} {ratio:>6.2}x  ({} the target of {TARGET_RATIO}x)",
        "soldout check-ins / ceiling",
        if ratio >= TARGET_RATIO {
            "meets"
        } else {
            "MISSES"
        }
    );
    Ok(())
}

fn measure(
    load: &Load,
    name: &str,
    addr: std::net::SocketAddr,
    shot: &Shot,
    target: crate::http_load::Target,
) -> Report {
    let report = load.shoot(name, addr, shot);
    target.stop();
    report.print();
    report
}
