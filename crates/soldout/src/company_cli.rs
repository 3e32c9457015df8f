//! `soldout target set YEAR --units N` and `soldout settings set brand NAME`: the
//! company's annual targets and settings, written straight to the database.

use crate::local::DatabaseArgs;
use clap::{Args, Subcommand};
use soldout_engine::{reports, Clock};

#[derive(Args)]
pub struct TargetArgs {
    #[command(flatten)]
    database: DatabaseArgs,
    #[command(subcommand)]
    command: TargetCommand,
}

#[derive(Subcommand)]
enum TargetCommand {
    /// Set (or replace) a year's unit target.
    Set {
        /// The year, such as 2018.
        year: i32,
        /// Units to ship that year.
        #[arg(long)]
        units: i64,
    },
}

#[derive(Args)]
pub struct SettingsArgs {
    #[command(flatten)]
    database: DatabaseArgs,
    #[command(subcommand)]
    command: SettingsCommand,
}

#[derive(Subcommand)]
enum SettingsCommand {
    /// Set a setting: `brand` (our name in market trackers).
    Set {
        /// The setting's name: `brand`.
        name: String,
        /// Its new value, such as Xiaomi.
        value: String,
    },
}

#[derive(Args)]
pub struct AdminTokenArgs {
    #[command(flatten)]
    database: DatabaseArgs,
    #[command(subcommand)]
    command: AdminTokenCommand,
}

#[derive(Subcommand)]
enum AdminTokenCommand {
    /// Make a new admin token, print it once (as the last word of its line) and keep
    /// only its digest: running servers on this database refuse the old one within
    /// seconds. A token given with --admin-token is not affected.
    Rotate,
}

pub async fn run_admin_token(args: AdminTokenArgs) -> anyhow::Result<()> {
    let AdminTokenCommand::Rotate = args.command;
    let store = args.database.open_existing().await?;
    let token = soldout_server::admin_token::rotate(store.as_ref()).await?;
    println!("admin token: {token}");
    Ok(())
}

pub async fn run_target(args: TargetArgs) -> anyhow::Result<()> {
    let TargetCommand::Set { year, units } = args.command;
    let store = args.database.open().await?;
    reports::set_target(store.as_ref(), Clock::System, year, units).await?;
    println!("target for {year}: {units} units");
    Ok(())
}

pub async fn run_settings(args: SettingsArgs) -> anyhow::Result<()> {
    let SettingsCommand::Set { name, value } = args.command;
    if name != "brand" {
        anyhow::bail!("there is no setting {name:?}; settings: brand");
    }
    let brand = soldout_core::ids::bounded_text("brand", &value)?;
    let store = args.database.open().await?;
    store.set_meta(reports::BRAND_KEY, &brand).await?;
    println!("brand: {brand}");
    Ok(())
}
