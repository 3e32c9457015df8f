//! `soldout import shipments|tracker|fx FILE.csv [--batch NAME]`: partner sell-in and
//! history into the shipment ledger, market tracker data for share and rank, straight into the database (the import streams: memory
//! stays flat whatever the file's size), all or nothing, with a progress bar on a
//! terminal.

use crate::local::DatabaseArgs;
use anyhow::Context;
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use soldout_engine::imports::{self, ImportError, ImportKind, ImportStatus};
use soldout_engine::Clock;
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Args)]
pub struct ImportArgs {
    #[command(flatten)]
    database: DatabaseArgs,
    #[command(subcommand)]
    command: ImportCommand,
}

#[derive(Subcommand)]
enum ImportCommand {
    /// Shipments: `date,market,channel,product,sku,units,revenue,currency`, revenue in
    /// major units (`12345.67`) of the market's currency.
    Shipments {
        /// The CSV file, with its header row.
        file: PathBuf,
        /// Import as this batch; importing under the same name again replaces it.
        #[arg(long)]
        batch: Option<String>,
    },
    /// Market-wide tracker data: `period,market,vendor,units[,model]` (period like
    /// 2017Q2; vendor `Others` is the rest of the market; our brand's rows are
    /// replaced by the ledger in reports).
    Tracker {
        /// The CSV file, with its header row.
        file: PathBuf,
        /// Import as this batch; importing under the same name again replaces it.
        #[arg(long)]
        batch: Option<String>,
    },
    /// Exchange rates: `period,currency,per_usd` (period like 2017Q2; per_usd the
    /// currency's units per US dollar, such as 64.46), for revenue in USD.
    Fx {
        /// The CSV file, with its header row.
        file: PathBuf,
        /// Import as this batch; importing under the same name again replaces it.
        #[arg(long)]
        batch: Option<String>,
    },
    /// The installed base (devices sold before soldout or through partners):
    /// `serial,sku,market,os_version,sold_at`, all or nothing.
    Devices {
        /// The CSV file, with its header row.
        file: PathBuf,
    },
}

pub async fn run(args: ImportArgs) -> anyhow::Result<()> {
    let (kind, file, batch) = match args.command {
        ImportCommand::Shipments { file, batch } => (ImportKind::Shipments, file, batch),
        ImportCommand::Tracker { file, batch } => (ImportKind::Tracker, file, batch),
        ImportCommand::Fx { file, batch } => (ImportKind::Fx, file, batch),
        ImportCommand::Devices { file } => {
            let store = args.database.open().await?;
            return import_devices(store.as_ref(), &file).await;
        }
    };
    let store = args.database.open().await?;
    let bar = ProgressBar::new_spinner();
    bar.set_style(
        ProgressStyle::with_template("  {spinner} {msg} {human_pos} rows  {per_sec}")
            .expect("progress template"),
    );
    bar.set_message("reading");
    let progress = {
        let bar = bar.clone();
        Arc::new(move |rows: u64| bar.set_position(rows))
    };
    let started = std::time::Instant::now();
    let result = imports::import(
        kind,
        store,
        Clock::System,
        Arc::new(file.clone()),
        batch,
        progress,
    )
    .await;
    bar.finish_and_clear();
    report_rows(result.map(Some), &file, started)
}

/// Imports an installed-base file; the same bad-row report as every import.
pub async fn import_devices(
    store: &dyn soldout_store::Store,
    file: &PathBuf,
) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let devices = match soldout_engine::rollouts::parse_devices(&bytes) {
        Ok(devices) => devices,
        Err(e) => return report_rows(Err(e), file, started),
    };
    let n = store
        .import_devices(&devices, chrono::Utc::now())
        .await
        .with_context(|| format!("importing {}", file.display()))?;
    println!(
        "{}: {n} devices imported into the installed base in {:.2}s",
        file.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn report_rows(
    result: Result<Option<imports::ImportReport>, ImportError>,
    file: &std::path::Path,
    started: std::time::Instant,
) -> anyhow::Result<()> {
    match result {
        Ok(None) => Ok(()),
        Ok(Some(report)) => {
            let what = match report.status {
                ImportStatus::Imported => "imported",
                ImportStatus::Replaced => "imported, replacing the earlier batch",
                ImportStatus::AlreadyImported => "already imported: nothing changed",
            };
            let seconds = started.elapsed().as_secs_f64();
            println!(
                "{}: {} rows {what} as batch {} in {seconds:.2}s ({:.0} rows/s)",
                file.display(),
                report.rows,
                report.batch,
                report.rows as f64 / seconds.max(1e-9)
            );
            Ok(())
        }
        Err(ImportError::Rows { errors, bad_rows }) => {
            // `file:line: column: what is wrong`, as compilers write it, so an editor
            // or `grep` takes the reader to the cell.
            for e in &errors {
                eprintln!("{}:{}: {}: {}", file.display(), e.line, e.column, e.message);
            }
            anyhow::bail!(
                "{}: {bad_rows} bad {} ({} {} listed, at most {}); nothing was imported",
                file.display(),
                if bad_rows == 1 { "row" } else { "rows" },
                errors.len(),
                if errors.len() == 1 { "error" } else { "errors" },
                soldout_engine::imports::IMPORT_ERRORS_SHOWN,
            )
        }
        Err(e) => Err(e).with_context(|| format!("importing {}", file.display())),
    }
}
