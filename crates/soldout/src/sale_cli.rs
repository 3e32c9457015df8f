//! `soldout sale create|show|list`: operate flash sales on a running server over its
//! HTTP API (the server's engine owns every open sale, so operators go through it,
//! never around it to the database).

use anyhow::{bail, Context};
use chrono::{DateTime, Utc};
use clap::{Args, Subcommand};
use serde_json::{json, Value};

#[derive(Args)]
pub struct SaleArgs {
    /// The running server's base URL.
    #[arg(
        long,
        env = "SOLDOUT_URL",
        default_value = "http://127.0.0.1:8080",
        global = true
    )]
    url: String,
    /// The server's admin token.
    #[arg(
        long,
        env = "SOLDOUT_ADMIN_TOKEN",
        hide_env_values = true,
        global = true
    )]
    admin_token: Option<String>,
    /// Print the server's JSON instead of a summary.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: SaleCommand,
}

#[derive(Subcommand)]
enum SaleCommand {
    /// Create a flash sale: its units are allotted from the location's available stock.
    Create(CreateArgs),
    /// Show one sale with its live counters.
    Show {
        /// The sale's id.
        id: i64,
    },
    /// List sales, oldest first.
    List {
        /// Only sales in this market (such as IN).
        #[arg(long)]
        market: Option<String>,
        /// Only sales with this status: scheduled, active or ended.
        #[arg(long)]
        status: Option<String>,
    },
}

#[derive(Args)]
struct CreateArgs {
    #[arg(long)]
    sku: String,
    #[arg(long)]
    market: String,
    /// The warehouse or store the units come from.
    #[arg(long)]
    location: String,
    #[arg(long)]
    quantity: u32,
    /// RFC 3339, such as 2017-07-04T12:00:00+05:30.
    #[arg(long)]
    starts_at: DateTime<Utc>,
    #[arg(long)]
    ends_at: DateTime<Utc>,
    #[arg(long, default_value_t = 1)]
    per_customer_limit: u32,
    #[arg(long, default_value_t = 900)]
    payment_window_secs: u32,
    #[arg(long)]
    registration_required: bool,
    #[arg(long, default_value_t = 0)]
    fair_start_secs: u32,
    /// Unit price in minor units; the market's price list when left out.
    #[arg(long)]
    price: Option<i64>,
}

pub async fn run(args: SaleArgs) -> anyhow::Result<()> {
    let token = args
        .admin_token
        .clone()
        .context("an admin token is needed: pass --admin-token or set SOLDOUT_ADMIN_TOKEN")?;
    let client = reqwest::Client::new();
    let base = args.url.trim_end_matches('/');
    let request = match &args.command {
        SaleCommand::Create(c) => client.post(format!("{base}/v1/sales")).json(&json!({
            "sku": c.sku, "market": c.market, "location": c.location, "quantity": c.quantity,
            "starts_at": c.starts_at, "ends_at": c.ends_at, "per_customer_limit": c.per_customer_limit,
            "payment_window_secs": c.payment_window_secs, "registration_required": c.registration_required,
            "fair_start_secs": c.fair_start_secs, "price": c.price,
        })),
        SaleCommand::Show { id } => client.get(format!("{base}/v1/sales/{id}")),
        SaleCommand::List { market, status } => {
            let mut query = Vec::new();
            if let Some(m) = market {
                query.push(("market", m.clone()));
            }
            if let Some(s) = status {
                query.push(("status", s.clone()));
            }
            client.get(format!("{base}/v1/sales")).query(&query)
        }
    };
    let response =
        request.bearer_auth(token).send().await.with_context(|| {
            format!("reaching the server at {base} (is `soldout serve` running?)")
        })?;
    let status = response.status();
    let body: Value = response
        .json()
        .await
        .context("reading the server's answer")?;
    if !status.is_success() {
        bail!(
            "the server refused ({status}): {}",
            body["detail"].as_str().unwrap_or("no detail")
        );
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&body)?);
        return Ok(());
    }
    match body.as_array() {
        Some(sales) if sales.is_empty() => println!("no sales"),
        Some(sales) => sales.iter().for_each(print_sale),
        None => print_sale(&body),
    }
    Ok(())
}

fn print_sale(sale: &Value) {
    let n = |k: &str| sale[k].as_u64().unwrap_or(0);
    println!(
        "sale {} {} {} {:<9} {} to {}  quantity {}  available {}  reserved {}  paid {}  fulfilled {}  released {}  registrations {}",
        sale["id"],
        sale["sku"].as_str().unwrap_or("?"),
        sale["market"].as_str().unwrap_or("?"),
        sale["status"].as_str().unwrap_or("?"),
        sale["starts_at"].as_str().unwrap_or("?"),
        sale["ends_at"].as_str().unwrap_or("?"),
        n("quantity"),
        n("available"),
        n("reserved"),
        n("paid"),
        n("fulfilled"),
        n("released"),
        n("registrations"),
    );
}
