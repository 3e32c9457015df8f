//! `soldout report quarter PERIOD [--market M]` and `soldout report year YEAR`
//! (`--format table|json|csv`): the shipment ledger, read straight from the
//! database. Tables are
//! for people (`23.16 M`, `+70.0%`); JSON and CSV carry exact integers and ratios.

use crate::local::DatabaseArgs;
use clap::{Args, Subcommand, ValueEnum};
use soldout_core::report::{QuarterReport, YearReport};
use soldout_core::shipment::Quarter;
use soldout_core::MarketCode;
use soldout_engine::{reports, Clock};

#[derive(Args)]
pub struct ReportArgs {
    #[command(flatten)]
    database: DatabaseArgs,
    #[arg(long, value_enum, default_value_t = Format::Table, global = true)]
    format: Format,
    /// Read "now" as this instant (RFC 3339), like the server's --clock-start: which
    /// quarters are complete depends on it.
    #[arg(long, env = "SOLDOUT_CLOCK_START", global = true)]
    clock_start: Option<chrono::DateTime<chrono::Utc>>,
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
    /// A year against its target: units so far, progress, forecast, history.
    Year {
        /// Such as 2018.
        year: i32,
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

fn print_year(r: &YearReport) {
    let or_na = |v: Option<String>| v.unwrap_or_else(|| "n/a".into());
    println!(
        "{}: {} units in {} complete quarters; target {}; progress {}; forecast {} ({})",
        r.year,
        human_units(r.units),
        r.complete_quarters.len(),
        or_na(r.target.map(human_units)),
        or_na(r.progress.map(|p| format!("{:.1}%", p * 100.0))),
        or_na(r.forecast.map(human_units)),
        match r.on_track {
            Some(true) => "on track",
            Some(false) => "behind",
            None => "no complete quarter yet",
        },
    );
    println!("  forecast method: {}", r.method);
    for h in &r.history {
        let outcome = match h.met {
            Some(true) => "met",
            Some(false) => "missed",
            None => "in progress",
        };
        println!(
            "  {}: target {}, shipped {}: {outcome}",
            h.year,
            human_units(h.target),
            human_units(h.units)
        );
    }
}

fn print_csv(r: &QuarterReport) -> anyhow::Result<()> {
    let mut out = csv::Writer::from_writer(std::io::stdout());
    out.write_record([
        "period", "market", "slice", "name", "units", "currency", "revenue",
    ])?;
    let market = r.market.clone().unwrap_or_default();
    for (i, (currency, revenue)) in r.revenue.iter().enumerate() {
        let units = if i == 0 {
            r.units.to_string()
        } else {
            String::new()
        };
        out.write_record([
            &r.period,
            &market,
            "total",
            "",
            &units,
            currency,
            &revenue.to_string(),
        ])?;
    }
    // Units stand on a slice's first row only, so summing the column counts each
    // unit once whatever the currencies.
    for (kind, slices) in [("channel", &r.by_channel), ("model", &r.by_model)] {
        for s in slices {
            for (i, (currency, revenue)) in s.revenue.iter().enumerate() {
                let units = if i == 0 {
                    s.units.to_string()
                } else {
                    String::new()
                };
                out.write_record([
                    &r.period,
                    &market,
                    kind,
                    &s.name,
                    &units,
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
    let store = args.database.open().await?;
    match args.command {
        ReportCommand::Quarter { period, market } => {
            let report = reports::quarter(store.as_ref(), period, market.as_ref()).await?;
            match args.format {
                Format::Table => print_table(&report),
                Format::Json => println!("{}", serde_json::to_string_pretty(&report)?),
                Format::Csv => print_csv(&report)?,
            }
        }
        ReportCommand::Year { year } => {
            let clock = Clock::starting_at(args.clock_start);
            let report = reports::year(store.as_ref(), clock, year).await?;
            match args.format {
                Format::Table => print_year(&report),
                Format::Json => println!("{}", serde_json::to_string_pretty(&report)?),
                Format::Csv => {
                    let mut out = csv::Writer::from_writer(std::io::stdout());
                    out.write_record(["year", "target", "units", "met"])?;
                    for h in &report.history {
                        out.write_record([
                            h.year.to_string(),
                            h.target.to_string(),
                            h.units.to_string(),
                            h.met.map_or(String::new(), |m| m.to_string()),
                        ])?;
                    }
                    out.flush()?;
                }
            }
        }
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
