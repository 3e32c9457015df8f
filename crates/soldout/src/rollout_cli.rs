//! `soldout rollout release|create|show|advance|pause|resume|halt|simulate`: OS rollouts
//! on a running server, over its HTTP API (the server holds every rollout's state).
//! `simulate` reads a rollout's terms from the server and rehearses them in this
//! process on a simulated clock: it changes nothing anywhere.

use crate::remote::RemoteArgs;
use anyhow::Context;
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use reqwest::Method;
use serde_json::Value;
use soldout_core::rollout::{simulate, Rehearsal, RolloutTerms, REHEARSAL_HOURS_MAX};
use std::path::PathBuf;

#[derive(Args)]
pub struct RolloutArgs {
    #[command(flatten)]
    remote: RemoteArgs,
    #[command(subcommand)]
    command: RolloutCommand,
}

#[derive(Subcommand)]
enum RolloutCommand {
    /// Create an OS release from a JSON file (`{"id","name","version","builds",
    /// "min_version"}`).
    Release {
        /// The release's JSON file.
        file: PathBuf,
    },
    /// Create a rollout from a JSON file (`{"id","release","markets","starts_at",
    /// "waves","error_threshold","min_reports","advance"}`).
    Create {
        /// The rollout's JSON file.
        file: PathBuf,
    },
    /// Show a rollout: its state, its wave, and each wave's devices.
    Show {
        /// The rollout's id, such as miui-9-in.
        id: String,
    },
    /// Move a rollout to its next wave.
    Advance {
        /// The rollout's id, such as miui-9-in.
        id: String,
    },
    /// Stop offering the build until resumed.
    Pause {
        /// The rollout's id, such as miui-9-in.
        id: String,
    },
    /// Resume a paused or halted rollout.
    Resume {
        /// The rollout's id, such as miui-9-in.
        id: String,
    },
    /// Stop the rollout.
    Halt {
        /// The rollout's id, such as miui-9-in.
        id: String,
    },
    /// Rehearse a rollout on a simulated clock: how it would advance or halt with
    /// `--devices` eligible devices of which `--failure-rate` fail to install.
    Simulate {
        /// The rollout's id, such as miui-9-in.
        id: String,
        /// Eligible devices in the rehearsal.
        #[arg(long, default_value_t = 100_000)]
        devices: u64,
        /// The share of them that fail to install (0 to 1).
        #[arg(long, default_value_t = 0.01)]
        failure_rate: f64,
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
}

fn read_json(file: &PathBuf) -> anyhow::Result<Value> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not JSON", file.display()))
}

pub async fn run(args: RolloutArgs) -> anyhow::Result<()> {
    let remote = &args.remote;
    let path = |id: &str, action: &str| format!("/v1/os/rollouts/{id}/{action}");
    let view = match &args.command {
        RolloutCommand::Release { file } => {
            let body = read_json(file)?;
            let release = remote
                .call(Method::POST, "/v1/os/releases", &[], Some(&body))
                .await?;
            return remote.show(&release, "", |r| {
                println!(
                    "release {} ({}) created: version {}",
                    r["id"], r["name"], r["version"]
                );
            });
        }
        RolloutCommand::Create { file } => {
            let body = read_json(file)?;
            remote
                .call(Method::POST, "/v1/os/rollouts", &[], Some(&body))
                .await?
        }
        RolloutCommand::Show { id } => {
            remote
                .call(Method::GET, &format!("/v1/os/rollouts/{id}"), &[], None)
                .await?
        }
        RolloutCommand::Advance { id } => {
            remote
                .call(Method::POST, &path(id, "advance"), &[], None)
                .await?
        }
        RolloutCommand::Pause { id } => {
            remote
                .call(Method::POST, &path(id, "pause"), &[], None)
                .await?
        }
        RolloutCommand::Resume { id } => {
            remote
                .call(Method::POST, &path(id, "resume"), &[], None)
                .await?
        }
        RolloutCommand::Halt { id } => {
            remote
                .call(Method::POST, &path(id, "halt"), &[], None)
                .await?
        }
        RolloutCommand::Simulate {
            id,
            devices,
            failure_rate,
            seed,
        } => {
            anyhow::ensure!(
                (0.0..=1.0).contains(failure_rate),
                "--failure-rate is a share from 0 to 1, such as 0.02"
            );
            let view = remote
                .call(Method::GET, &format!("/v1/os/rollouts/{id}"), &[], None)
                .await?;
            let terms: RolloutTerms =
                serde_json::from_value(strip_state(view)).context("the rollout's terms")?;
            let rehearsal = rehearse(&terms, *devices, *failure_rate, *seed);
            print_rehearsal(&terms, &rehearsal, *failure_rate);
            return Ok(());
        }
    };
    remote.show(&view, "", print_view)
}

/// The rollout's terms out of its view (the view adds its state beside them).
fn strip_state(mut view: Value) -> Value {
    if let Some(fields) = view.as_object_mut() {
        for key in [
            "state",
            "halt_reason",
            "wave",
            "percent",
            "wave_since",
            "failure_rate",
            "reports",
        ] {
            fields.remove(key);
        }
        let waves: Vec<Value> = fields
            .get("waves")
            .and_then(Value::as_array)
            .map(|ws| {
                ws.iter()
                    .map(|w| serde_json::json!({"percent": w["percent"], "min_hours": w["min_hours"]}))
                    .collect()
            })
            .unwrap_or_default();
        fields.insert("waves".into(), Value::Array(waves));
    }
    view
}

fn print_view(v: &Value) {
    println!(
        "rollout {} of {}: {} at wave {} ({}%), failure rate {}, {} results{}",
        v["id"].as_str().unwrap_or("?"),
        v["release"].as_str().unwrap_or("?"),
        v["state"].as_str().unwrap_or("?"),
        v["wave"],
        v["percent"],
        v["failure_rate"]
            .as_f64()
            .map(|r| format!("{:.1}%", 100.0 * r))
            .unwrap_or_else(|| "n/a".into()),
        v["reports"],
        v["halt_reason"]
            .as_str()
            .map(|r| format!("; halted: {r}"))
            .unwrap_or_default()
    );
    println!("  wave  percent  eligible   offered  downloading  installed  failed");
    for (i, w) in v["waves"].as_array().into_iter().flatten().enumerate() {
        println!(
            "  {:>4}  {:>6}%  {:>8}  {:>8}  {:>11}  {:>9}  {:>6}",
            i + 1,
            w["percent"],
            w["eligible"],
            w["offered"],
            w["downloading"],
            w["installed"],
            w["failed"]
        );
    }
}

/// Rehearses `terms` with a progress bar over the simulated hours.
pub fn rehearse(terms: &RolloutTerms, devices: u64, failure_rate: f64, seed: u64) -> Rehearsal {
    let bar = ProgressBar::new(REHEARSAL_HOURS_MAX as u64);
    bar.set_style(
        ProgressStyle::with_template("  {spinner} rehearsing {msg}: simulated hour {pos}")
            .expect("progress template"),
    );
    bar.set_message(format!("{} on {devices} devices", terms.id));
    let rehearsal = simulate(terms, devices, failure_rate, seed, |hour| {
        bar.set_position(hour as u64)
    });
    bar.finish_and_clear();
    rehearsal
}

/// Prints a rehearsal wave by wave, and how it ended.
pub fn print_rehearsal(terms: &RolloutTerms, r: &Rehearsal, failure_rate: f64) {
    println!(
        "Rehearsal of {} ({} waves, advance {:?}, halt above {:.1}% after {} results) with {} devices failing {:.1}% of installs:",
        terms.id,
        terms.waves.len(),
        terms.advance,
        100.0 * terms.error_threshold,
        terms.min_reports,
        r.devices,
        100.0 * failure_rate
    );
    for w in &r.waves {
        println!(
            "  wave {} ({:>3}%) from hour {:>4}: {:>7} offered, {:>7} installed, {:>6} failed",
            w.wave + 1,
            w.percent,
            w.began_after_hours,
            w.offered,
            w.installed,
            w.failed
        );
    }
    match &r.halted {
        Some(reason) => println!("  HALTED after {} hours: {reason}", r.hours),
        None => println!("  reached every device in {} hours", r.hours),
    }
}
