//! `soldout store list|stock|sell` and `soldout transfer create|ship|receive|show|list`:
//! signature stores and stock transfers on a running server, over its HTTP API, with
//! an admin's token or a store clerk's (`--token`).

use crate::remote::RemoteArgs;
use anyhow::Context;
use clap::{Args, Subcommand};
use reqwest::Method;
use serde_json::{json, Value};

#[derive(Args)]
pub struct StoreArgs {
    #[command(flatten)]
    remote: RemoteArgs,
    #[command(subcommand)]
    command: StoreCommand,
}

#[derive(Subcommand)]
enum StoreCommand {
    /// List the signature stores (admin).
    List,
    /// A store's stock per SKU.
    Stock {
        /// The store's id, such as store-in-bengaluru.
        store: String,
    },
    /// Sell over the counter: one SKU, one serial per unit.
    Sell {
        /// The store's id, such as store-in-bengaluru.
        store: String,
        /// The SKU sold, such as RN4-3-32-GLD.
        #[arg(long)]
        sku: String,
        /// A unit's serial or IMEI; repeat once per unit.
        #[arg(long = "serial", required = true)]
        serials: Vec<String>,
        /// cash or card.
        #[arg(long, default_value = "cash")]
        payment: String,
        /// The card terminal's reference.
        #[arg(long)]
        reference: Option<String>,
        /// The point of sale's own id for this sale; sending the same one again
        /// records nothing new. A fresh one when left out.
        #[arg(long)]
        client_id: Option<String>,
    },
}

#[derive(Args)]
pub struct TransferArgs {
    #[command(flatten)]
    remote: RemoteArgs,
    #[command(subcommand)]
    command: TransferCommand,
}

#[derive(Subcommand)]
enum TransferCommand {
    /// Transfer stock between two locations of one market: an admin's ships at
    /// once, a clerk's is requested into their own store.
    Create {
        /// The location the units leave, such as wh-in-sricity.
        #[arg(long)]
        from: String,
        /// The location they go to, such as store-in-bengaluru.
        #[arg(long)]
        to: String,
        /// SKU=QUANTITY; repeat per SKU.
        #[arg(long = "line", required = true, value_parser = parse_line)]
        lines: Vec<(String, i64)>,
    },
    /// Ship a requested transfer (admin).
    Ship {
        /// The transfer's id.
        id: i64,
    },
    /// Count a transfer in at its destination; a SKU left out arrived with none.
    Receive {
        /// The transfer's id.
        id: i64,
        /// SKU=QUANTITY actually received; repeat per SKU.
        #[arg(long = "line", required = true, value_parser = parse_line)]
        lines: Vec<(String, i64)>,
    },
    /// Show one transfer.
    Show {
        /// The transfer's id.
        id: i64,
    },
    /// Transfers from or to a location, newest first.
    List {
        /// The location's id, such as store-in-bengaluru.
        location: String,
    },
}

fn parse_line(text: &str) -> Result<(String, i64), String> {
    let (sku, quantity) = text
        .split_once('=')
        .ok_or_else(|| format!("{text:?} is not SKU=QUANTITY"))?;
    let quantity = quantity
        .parse()
        .map_err(|_| format!("{quantity:?} is not a whole number"))?;
    Ok((sku.to_owned(), quantity))
}

fn lines_json(lines: &[(String, i64)]) -> Value {
    lines
        .iter()
        .map(|(sku, quantity)| json!({"sku": sku, "quantity": quantity}))
        .collect()
}

pub async fn run_store(args: StoreArgs) -> anyhow::Result<()> {
    let remote = &args.remote;
    match &args.command {
        StoreCommand::List => {
            let locations = remote.call(Method::GET, "/v1/locations", &[], None).await?;
            let stores: Vec<Value> = locations
                .as_array()
                .context("the server answered with something other than a list")?
                .iter()
                .filter(|l| l["kind"] == "store")
                .cloned()
                .collect();
            remote.show(&Value::Array(stores), "no stores", |s| {
                println!(
                    "{:<22} {} {:<30} {}",
                    s["id"].as_str().unwrap_or("?"),
                    s["market"].as_str().unwrap_or("?"),
                    s["name"].as_str().unwrap_or("?"),
                    s["city"].as_str().unwrap_or("?"),
                )
            })
        }
        StoreCommand::Stock { store } => {
            let stock = remote
                .call(
                    Method::GET,
                    &format!("/v1/locations/{store}/stock"),
                    &[],
                    None,
                )
                .await?;
            remote.show(&stock, "no stock", |l| {
                let n = |k: &str| l[k].as_i64().unwrap_or(0);
                println!(
                    "{:<18} on hand {:>6}  reserved {:>6}  available {:>6}  incoming {:>6}  damaged {:>4}",
                    l["sku"].as_str().unwrap_or("?"),
                    n("on_hand"),
                    n("reserved"),
                    n("available"),
                    n("incoming"),
                    n("damaged"),
                )
            })
        }
        StoreCommand::Sell {
            store,
            sku,
            serials,
            payment,
            reference,
            client_id,
        } => {
            let client_id = client_id
                .clone()
                .unwrap_or_else(|| format!("cli-{}", ulid::Ulid::new()));
            let body = json!({
                "lines": [{"sku": sku, "quantity": serials.len(), "serials": serials}],
                "payment": {"method": payment, "reference": reference},
                "client_id": client_id,
            });
            let receipt = remote
                .call(
                    Method::POST,
                    &format!("/v1/locations/{store}/sales"),
                    &[],
                    Some(&body),
                )
                .await?;
            remote.show(&receipt, "", |r| {
                println!(
                    "receipt {} at {} ({}): {}, client id {}",
                    r["id"],
                    r["store"].as_str().unwrap_or("?"),
                    r["occurred_at"].as_str().unwrap_or("?"),
                    crate::remote::money(&r["total"], &r["currency"]),
                    r["client_id"].as_str().unwrap_or("?"),
                )
            })
        }
    }
}

pub async fn run_transfer(args: TransferArgs) -> anyhow::Result<()> {
    let remote = &args.remote;
    let body = match &args.command {
        TransferCommand::Create { from, to, lines } => {
            let body = json!({"from": from, "to": to, "lines": lines_json(lines)});
            remote
                .call(Method::POST, "/v1/transfers", &[], Some(&body))
                .await?
        }
        TransferCommand::Ship { id } => {
            remote
                .call(Method::POST, &format!("/v1/transfers/{id}/ship"), &[], None)
                .await?
        }
        TransferCommand::Receive { id, lines } => {
            let body = json!({"lines": lines_json(lines)});
            remote
                .call(
                    Method::POST,
                    &format!("/v1/transfers/{id}/receive"),
                    &[],
                    Some(&body),
                )
                .await?
        }
        TransferCommand::Show { id } => {
            remote
                .call(Method::GET, &format!("/v1/transfers/{id}"), &[], None)
                .await?
        }
        TransferCommand::List { location } => {
            remote
                .call(
                    Method::GET,
                    &format!("/v1/locations/{location}/transfers"),
                    &[],
                    None,
                )
                .await?
        }
    };
    remote.show(&body, "no transfers", print_transfer)
}

fn print_transfer(t: &Value) {
    let lines: Vec<String> = t["lines"]
        .as_array()
        .map(|lines| {
            lines
                .iter()
                .map(|l| match l["received"].as_i64() {
                    Some(received) => format!(
                        "{} {}/{}",
                        l["sku"].as_str().unwrap_or("?"),
                        received,
                        l["quantity"]
                    ),
                    None => format!("{} {}", l["sku"].as_str().unwrap_or("?"), l["quantity"]),
                })
                .collect()
        })
        .unwrap_or_default();
    println!(
        "transfer {} {} -> {} {:<10} {}",
        t["id"],
        t["from"].as_str().unwrap_or("?"),
        t["to"].as_str().unwrap_or("?"),
        t["status"].as_str().unwrap_or("?"),
        lines.join(", "),
    );
}
