//! `soldout-bench`: what soldout's flash-sale path does per second, measured, and
//! compared side by side with peers on the same load in the same process.
//!
//! - `http`: 256 keep-alive connections POST buys (bearer tokens rotating over
//!   20,000 customers, a unique `Idempotency-Key` each) at soldout and at peers that
//!   do soldout's request work (the token verified, the body parsed, the key
//!   required, an order serialized) and differ only in the decision: an in-memory
//!   atomic (the ceiling), one Redis Lua script, one PostgreSQL `UPDATE ... WHERE
//!   n >= q`; and a bare handler with no request work, for the record.
//! - `engine`: the engine alone, in process, without HTTP: durable decisions/s.
//! - `rush`: 1,000,000 registered customers and 100,000 units, all buying at once.
//! - `check-ins`: 1,000,000 registered devices asking for their OS update over HTTP,
//!   beside the same ceiling; and the rollout state's heap per device.
//!
//! Every run is bounded in requests and in time, targets loopback only, and stops
//! by itself.

mod alloc;
mod checkins;
mod fixture;
mod http_load;
mod in_process;
mod nodes;
mod peers;

use clap::{Parser, Subcommand};

#[global_allocator]
static ALLOCATOR: alloc::Counting = alloc::Counting;

#[derive(Parser)]
#[command(
    name = "soldout-bench",
    about = "Benchmarks of soldout's flash-sale path, side by side with peers"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// HTTP load on the buy endpoint: soldout and its peers, same client, same load.
    Http(http_load::Args),
    /// The engine alone, in process: durable decisions per second.
    Engine(in_process::EngineArgs),
    /// The opening rush in process: registered customers all buying a batch at once.
    Rush(in_process::RushArgs),
    /// OS update check-ins over HTTP from a million registered devices, beside the
    /// bare-axum ceiling; and the rollout state's memory per device.
    CheckIns(checkins::Args),
    /// Several nodes selling one leased sale on one PostgreSQL: durable buys over all
    /// nodes per node count, beside the PostgreSQL hot-row peer.
    Nodes(nodes::Args),
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Http(args) => http_load::run(args),
        Command::Engine(args) => in_process::engine(args),
        Command::Rush(args) => in_process::rush(args),
        Command::CheckIns(args) => checkins::run(args),
        Command::Nodes(args) => nodes::run(args),
    }
}
