//! `soldout sale create|show|list`: operate flash sales on a running server over its
//! HTTP API.

use crate::remote::RemoteArgs;
use chrono::{DateTime, Utc};
use clap::{Args, Subcommand};
use reqwest::Method;
use serde_json::{json, Value};

#[derive(Args)]
pub struct SaleArgs {
    #[command(flatten)]
    remote: RemoteArgs,
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
    /// The SKU on sale, such as RN4-3-32-GLD.
    #[arg(long)]
    sku: String,
    /// The market it is sold in, such as IN (its price and currency come from there).
    #[arg(long)]
    market: String,
    /// The warehouse or store the units come from.
    #[arg(long)]
    location: String,
    /// Units on sale, taken from the location's stock.
    #[arg(long)]
    quantity: u32,
    /// RFC 3339, such as 2017-07-04T12:00:00+05:30.
    #[arg(long)]
    starts_at: DateTime<Utc>,
    /// When the sale ends (RFC 3339); unsold units go back to the location.
    #[arg(long)]
    ends_at: DateTime<Utc>,
    /// Units one customer may buy in this sale.
    #[arg(long, default_value_t = 1)]
    per_customer_limit: u32,
    /// Seconds a buyer has to pay before the units go back on sale.
    #[arg(long, default_value_t = 900)]
    payment_window_secs: u32,
    /// Only customers who registered before the start may buy.
    #[arg(long)]
    registration_required: bool,
    #[arg(long, default_value_t = 0)]
    fair_start_secs: u32,
    /// Unit price in minor units; the market's price list when left out.
    #[arg(long)]
    price: Option<i64>,
}

pub async fn run(args: SaleArgs) -> anyhow::Result<()> {
    let remote = &args.remote;
    let body = match &args.command {
        SaleCommand::Create(c) => {
            let sale = json!({
                "sku": c.sku, "market": c.market, "location": c.location, "quantity": c.quantity,
                "starts_at": c.starts_at, "ends_at": c.ends_at, "per_customer_limit": c.per_customer_limit,
                "payment_window_secs": c.payment_window_secs, "registration_required": c.registration_required,
                "fair_start_secs": c.fair_start_secs, "price": c.price,
            });
            remote
                .call(Method::POST, "/v1/sales", &[], Some(&sale))
                .await?
        }
        SaleCommand::Show { id } => {
            remote
                .call(Method::GET, &format!("/v1/sales/{id}"), &[], None)
                .await?
        }
        SaleCommand::List { market, status } => {
            let mut query = Vec::new();
            if let Some(m) = market {
                query.push(("market", m.clone()));
            }
            if let Some(s) = status {
                query.push(("status", s.clone()));
            }
            remote.call(Method::GET, "/v1/sales", &query, None).await?
        }
    };
    remote.show(&body, "no sales", print_sale)
}

fn print_sale(sale: &Value) {
    let n = |k: &str| sale[k].as_u64().unwrap_or(0);
    println!(
        "sale {} {} {} {:<9} {} to {}  at {}  quantity {}  available {}  reserved {}  paid {}  fulfilled {}  released {}  registrations {}",
        sale["id"],
        sale["sku"].as_str().unwrap_or("?"),
        sale["market"].as_str().unwrap_or("?"),
        sale["status"].as_str().unwrap_or("?"),
        sale["starts_at"].as_str().unwrap_or("?"),
        sale["ends_at"].as_str().unwrap_or("?"),
        crate::remote::money(&sale["price"], &sale["currency"]),
        n("quantity"),
        n("available"),
        n("reserved"),
        n("paid"),
        n("fulfilled"),
        n("released"),
        n("registrations"),
    );
}
