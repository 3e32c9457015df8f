//! `soldout report quarter PERIOD [--market M]`, `soldout report year YEAR` and
//! `soldout report trend --from Q --to Q [--market M]` (`--format table|json|csv`,
//! `--chart FILE.svg` for quarters and trends): the shipment ledger, read straight
//! from the database. Tables are for people (`23.16 M`, `+70.0%`, `#2`); JSON and CSV
//! carry exact integers and ratios.

use crate::local::DatabaseArgs;
use clap::{Args, Subcommand, ValueEnum};
use soldout_core::report::{QuarterReport, TrendReport, YearReport};
use soldout_core::shipment::Quarter;
use soldout_core::MarketCode;
use soldout_engine::reports::{human_dollars, human_growth, human_units};
use soldout_engine::{reports, Clock};
use std::path::PathBuf;

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
        /// Also draw the quarter as an SVG chart (share by vendor, or units by model).
        #[arg(long)]
        chart: Option<PathBuf>,
    },
    /// Units and revenue per quarter with QoQ and YoY growth.
    Trend {
        /// The first quarter, such as 2015Q1.
        #[arg(long)]
        from: Quarter,
        /// The last quarter, such as 2017Q4.
        #[arg(long)]
        to: Quarter,
        /// One market (such as IN); all markets when left out.
        #[arg(long)]
        market: Option<MarketCode>,
        /// Also draw units per quarter (bars) and YoY growth (line) as an SVG chart.
        #[arg(long)]
        chart: Option<PathBuf>,
    },
    /// A year against its target: units so far, progress, forecast, history.
    Year {
        /// Such as 2018.
        year: i32,
    },
}

fn print_table(r: &QuarterReport) {
    let revenue: Vec<String> = r
        .revenue
        .iter()
        .map(
            |(currency, minor)| match soldout_core::Currency::parse(currency) {
                Ok(currency) => soldout_core::display_amount(*minor, currency),
                Err(_) => format!("{minor} {currency} (minor units)"),
            },
        )
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
    match r.revenue_usd {
        Some(cents) => println!("  revenue in USD: {}", human_dollars(cents)),
        None => println!("  revenue in USD: n/a ({})", missing(&r.missing_fx)),
    }
    if let (Some(share), Some(rank)) = (r.share, r.rank) {
        println!("  share {:.1}%  rank #{rank}", share * 100.0);
        for v in &r.vendors {
            let rank = v.rank.map_or("  ".into(), |n| format!("#{n}"));
            println!(
                "    {rank:>3} {:<20} {:>12} {:>6.1}%",
                v.vendor,
                human_units(v.units),
                v.share * 100.0
            );
        }
    }
    if !r.top_models.is_empty() {
        println!("  top models:");
        for m in r.top_models.iter().take(5) {
            println!(
                "    #{:<2} {:<20} {:<12} {:>12}",
                m.rank,
                m.model,
                m.vendor,
                human_units(m.units)
            );
        }
    }
    for (title, slices) in [("by channel", &r.by_channel), ("by model", &r.by_model)] {
        println!("  {title}:");
        for s in slices {
            println!("    {:<20} {:>12}", s.name, human_units(s.units));
        }
    }
}

fn missing(missing: &[soldout_core::fx::MissingFx]) -> String {
    let named: Vec<String> = missing
        .iter()
        .map(|m| format!("{} {}", m.period, m.currency))
        .collect();
    format!("no exchange rate for {}", named.join(", "))
}

fn print_trend(r: &TrendReport) {
    println!(
        "{} to {}, {}:",
        r.from,
        r.to,
        r.market.as_deref().unwrap_or("all markets")
    );
    println!(
        "  {:<8} {:>12} {:>14} {:>9} {:>9}",
        "quarter", "units", "revenue USD", "QoQ", "YoY"
    );
    for q in &r.quarters {
        println!(
            "  {:<8} {:>12} {:>14} {:>9} {:>9}",
            q.period,
            human_units(q.units),
            q.revenue_usd.map_or("n/a".into(), human_dollars),
            human_growth(q.units_qoq),
            human_growth(q.units_yoy)
        );
    }
    if !r.missing_fx.is_empty() {
        println!("  {}", missing(&r.missing_fx));
    }
}

fn print_trend_csv(r: &TrendReport) -> anyhow::Result<()> {
    let mut out = csv::Writer::from_writer(std::io::stdout());
    out.write_record([
        "period",
        "market",
        "units",
        "revenue_usd",
        "units_qoq",
        "units_yoy",
    ])?;
    let or_empty = |v: Option<String>| v.unwrap_or_default();
    for q in &r.quarters {
        out.write_record([
            q.period.clone(),
            r.market.clone().unwrap_or_default(),
            q.units.to_string(),
            or_empty(q.revenue_usd.map(|c| c.to_string())),
            or_empty(q.units_qoq.map(|g| g.to_string())),
            or_empty(q.units_yoy.map(|g| g.to_string())),
        ])?;
    }
    out.flush()?;
    Ok(())
}

fn write_chart(path: &std::path::Path, svg: &str) -> anyhow::Result<()> {
    std::fs::write(path, svg)
        .map_err(|e| anyhow::anyhow!("writing the chart to {}: {e}", path.display()))?;
    eprintln!("chart written to {}", path.display());
    Ok(())
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
    let store = args.database.open_existing().await?;
    match args.command {
        ReportCommand::Quarter {
            period,
            market,
            chart,
        } => {
            let report = reports::quarter(store.as_ref(), period, market.as_ref()).await?;
            if let Some(path) = chart {
                let brand = store.meta(reports::BRAND_KEY).await?;
                write_chart(&path, &reports::quarter_chart(&report, brand.as_deref()))?;
            }
            match args.format {
                Format::Table => print_table(&report),
                Format::Json => println!("{}", serde_json::to_string_pretty(&report)?),
                Format::Csv => print_csv(&report)?,
            }
        }
        ReportCommand::Trend {
            from,
            to,
            market,
            chart,
        } => {
            let report = reports::trend(store.as_ref(), from, to, market.as_ref()).await?;
            if let Some(path) = chart {
                write_chart(&path, &reports::trend_chart(&report))?;
            }
            match args.format {
                Format::Table => print_trend(&report),
                Format::Json => println!("{}", serde_json::to_string_pretty(&report)?),
                Format::Csv => print_trend_csv(&report)?,
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
