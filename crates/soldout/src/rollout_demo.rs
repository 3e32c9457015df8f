//! The demo's OS rollout: MIUI 9 for the demo's 2017 phones (Android 7.1 for the Mi 6
//! and the Mi Max 2, Android 7.0 for the Redmi Note 4 and the Redmi 4X), rolled out
//! from 16 August 2017 in four automatic waves to an imported installed base, and
//! rehearsed twice on a simulated clock: once with a good build that reaches every
//! device, once with a bad build that the failure rate halts.

use crate::rollout_cli::{print_rehearsal, rehearse};
use anyhow::Context;
use chrono::{DateTime, Duration, Utc};
use soldout_core::rollout::{Advance, Build, Release, RolloutTerms, Wave};
use soldout_core::{MarketCode, OsVersion, ProductId, ReleaseId, RolloutId, Serial, SkuCode};
use soldout_server::AppState;
use soldout_store::ImportedDevice;

/// Marks a database whose demo rollout was set up.
const ROLLOUT_MARKER: &str = "demo.os_rollout";
/// Devices of the imported installed base, per market and SKU.
const INSTALLED_PER_LINE: usize = 2_500;

/// (market, SKU, OS version) of each line of the installed base.
const INSTALLED_BASE: &[(&str, &str, &str)] = &[
    ("CN", "MI6-6-64-BLK", "8.2.1"),
    ("CN", "MIMAX2-4-64-GLD", "8.5.1"),
    ("CN", "RN4-3-32-GLD", "8.1.0"),
    ("CN", "R4X-2-16-GLD", "8.2.0"),
    ("IN", "RN4-3-32-GLD", "8.1.0"),
    ("IN", "R4X-2-16-GLD", "8.2.0"),
    ("RU", "R4X-2-16-GLD", "8.2.0"),
    // Too old for MIUI 9's minimum: never offered it.
    ("IN", "RN4-2-32-GRY", "7.5.0"),
];

fn build(models: &[&str], base: &str, digest: &str) -> anyhow::Result<Build> {
    Ok(Build {
        models: models
            .iter()
            .map(|m| ProductId::parse(m))
            .collect::<Result<_, _>>()?,
        base: base.into(),
        url: format!(
            "https://update.demo.soldout.example/miui-9/{}.zip",
            models[0]
        ),
        sha256: digest.repeat(64 / digest.len()),
        size: 1_610_612_736,
    })
}

fn miui_9() -> anyhow::Result<Release> {
    Ok(Release {
        id: ReleaseId::parse("miui-9")?,
        name: "MIUI 9".into(),
        version: OsVersion::parse("9.0")?,
        builds: vec![
            build(&["mi-6", "mi-max-2"], "Android 7.1", "71a9")?,
            build(&["redmi-note-4", "redmi-4x"], "Android 7.0", "70b3")?,
        ],
        min_version: OsVersion::parse("8.0")?,
    })
}

fn rollout(starts_at: DateTime<Utc>) -> anyhow::Result<RolloutTerms> {
    Ok(RolloutTerms {
        id: RolloutId::parse("miui-9-global")?,
        release: ReleaseId::parse("miui-9")?,
        markets: ["CN", "IN", "RU"]
            .iter()
            .map(|m| MarketCode::parse(m))
            .collect::<Result<_, _>>()?,
        starts_at,
        waves: vec![
            Wave {
                percent: 1,
                min_hours: 24,
            },
            Wave {
                percent: 10,
                min_hours: 48,
            },
            Wave {
                percent: 50,
                min_hours: 48,
            },
            Wave {
                percent: 100,
                min_hours: 0,
            },
        ],
        error_threshold: 0.05,
        min_reports: 50,
        advance: Advance::Auto,
    })
}

fn installed_base() -> anyhow::Result<Vec<ImportedDevice>> {
    let sold_from: DateTime<Utc> = "2017-01-15T00:00:00Z".parse()?;
    let mut devices = Vec::new();
    for (line, (market, sku, version)) in INSTALLED_BASE.iter().enumerate() {
        for i in 0..INSTALLED_PER_LINE {
            devices.push(ImportedDevice {
                serial: Serial::parse(&format!("IB{market}{line}{i:07}"))?,
                sku: SkuCode::parse(sku)?,
                market: MarketCode::parse(market)?,
                os_version: OsVersion::parse(version)?,
                sold_at: sold_from + Duration::hours((i as i64 * 37) % (24 * 150)),
            });
        }
    }
    Ok(devices)
}

/// Sets the rollout up once, and rehearses it twice when it does.
pub async fn run(state: &AppState) -> anyhow::Result<()> {
    if state.store.meta(ROLLOUT_MARKER).await?.is_some() {
        println!("OS rollout: MIUI 9 already scheduled (rehearse it with `soldout rollout simulate miui-9-global`)");
        return Ok(());
    }
    // A run stopped half-way left the release: take it as it is.
    let release = match state.rollouts.create_release(miui_9()?).await {
        Err(soldout_engine::EngineError::Store(soldout_store::StoreError::AlreadyExists {
            ..
        })) => miui_9()?,
        created => created.context("the demo's MIUI 9 release")?,
    };
    let devices = installed_base()?;
    let imported = state
        .store
        .import_devices(&devices, state.clock.now())
        .await
        .context("the demo's installed base")?;
    let starts_at: DateTime<Utc> = "2017-08-16T00:00:00+08:00".parse()?;
    let view = state
        .rollouts
        .create_rollout(rollout(starts_at)?)
        .await
        .context("the demo's MIUI 9 rollout")?;
    state.store.set_meta(ROLLOUT_MARKER, "1").await?;
    let eligible = view.waves.last().map(|w| w.eligible).unwrap_or(0);
    println!(
        "OS rollout: {} ({} builds, from {}) scheduled as {} from {}: waves of 1%, 10%, 50%, 100% moving on automatically, halting above 5% failures; installed base: {imported} devices imported, {eligible} eligible",
        release.name,
        release.builds.len(),
        release.min_version,
        view.terms.id,
        starts_at.to_rfc3339()
    );
    let terms = view.terms;
    for failure_rate in [0.01, 0.12] {
        let rehearsal = rehearse(&terms, eligible, failure_rate, 2017);
        print_rehearsal(&terms, &rehearsal, failure_rate);
    }
    Ok(())
}
