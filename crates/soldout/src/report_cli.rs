//! `soldout report quarter PERIOD [--market M] [--format table|json|csv]`: the
//! quarter from the shipment ledger, read straight from the database. Tables are
//! for people (`23.16 M`, `+70.0%`); JSON and CSV carry exact integers and ratios.

use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};
use soldout_core::report::QuarterReport;
use soldout_core::shipment::Quarter;
use soldout_core::MarketCode;
use soldout_engine::reports;

#[derive(Args)]
pub struct ReportArgs {
    /// Database URL: sqlite://PATH.
    #[arg(
        long,
        env = "SOLDOUT_DATABASE",
        default_value = "sqlite://soldout.db",
        global = true
    )]
    database: String,
    #[arg(long, value_enum, default_value_t = Format::Table, global = true)]
    format: Format,
    #[command(subcommand)]
    command: ReportCommand,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Table,
    Json,
    Csv,
}

#[derive(Subcommand)]
enum ReportCommand {
    /// One quarter: units, revenue, QoQ and YoY growth, by channel and by model.
    Quarter {
        /// Such as 2017Q2.
        period: Quarter,
        /// One market (such as IN); all markets when left out.
        #[arg(long)]
        market: Option<MarketCode>,
    },
}

/// `23.16 M`, `12.3 K`, `950`.
pub fn human_units(units: i64) -> String {
    let a = units.unsigned_abs() as f64;
    let sign = if units < 0 { "-" } else { "" };
    if a >= 1e6 {
        format!("{sign}{:.2} M", a / 1e6)
    } else if a >= 1e4 {
        format!("{sign}{:.1} K", a / 1e3)
    } else {
        units.to_string()
    }
}

/// `+70.0%`, or `n/a` without a base.
pub fn human_growth(growth: Option<f64>) -> String {
    growth.map_or_else(|| "n/a".to_owned(), |g| format!("{:+.1}%", g * 100.0))
}

fn print_table(r: &QuarterReport) {
    let revenue: Vec<String> = r
        .revenue
        .iter()
        .map(|(currency, minor)| format!("{minor} {currency} (minor units)"))
        .collect();
    println!(
        "{} {}: {} units  QoQ {}  YoY {}  revenue YoY {}",
        r.period,
        r.market.as_deref().unwrap_or("all markets"),
        human_units(r.units),
        human_growth(r.units_qoq),
        human_growth(r.units_yoy),
        human_growth(r.revenue_yoy),
    );
    println!("  revenue: {}", revenue.join(", "));
    for (title, slices) in [("by channel", &r.by_channel), ("by model", &r.by_model)] {
        println!("  {title}:");
        for s in slices {
            println!("    {:<20} {:>12}", s.name, human_units(s.units));
        }
    }
}

fn print_csv(r: &QuarterReport) -> anyhow::Result<()> {
    let mut out = csv::Writer::from_writer(std::io::stdout());
    out.write_record([
        "period", "market", "slice", "name", "units", "currency", "revenue",
    ])?;
    let market = r.market.clone().unwrap_or_default();
    for (currency, revenue) in &r.revenue {
        out.write_record([
            &r.period,
            &market,
            "total",
            "",
            &r.units.to_string(),
            currency,
            &revenue.to_string(),
        ])?;
    }
    for (kind, slices) in [("channel", &r.by_channel), ("model", &r.by_model)] {
        for s in slices {
            for (currency, revenue) in &s.revenue {
                out.write_record([
                    &r.period,
                    &market,
                    kind,
                    &s.name,
                    &s.units.to_string(),
                    currency,
                    &revenue.to_string(),
                ])?;
            }
        }
    }
    out.flush()?;
    Ok(())
}

pub async fn run(args: ReportArgs) -> anyhow::Result<()> {
    let store = soldout_store::open(&args.database)
        .await
        .with_context(|| format!("opening the database {}", args.database))?;
    let ReportCommand::Quarter { period, market } = args.command;
    let report = reports::quarter(store.as_ref(), period, market.as_ref()).await?;
    match args.format {
        Format::Table => print_table(&report),
        Format::Json => println!("{}", serde_json::to_string_pretty(&report)?),
        Format::Csv => print_csv(&report)?,
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_read_like_a_press_release() {
        assert_eq!(human_units(23_160_000), "23.16 M");
        assert_eq!(human_units(12_345), "12.3 K");
        assert_eq!(human_units(950), "950");
        assert_eq!(human_growth(Some(0.7)), "+70.0%");
        assert_eq!(human_growth(Some(-0.05)), "-5.0%");
        assert_eq!(human_growth(None), "n/a");
    }
}
