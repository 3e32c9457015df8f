//! `soldout`: the operator's command line. `serve` runs the HTTP API; `demo` loads the
//! reference data set (the 2017 lineup in China, India and Russia) and serves it.

mod company_cli;
mod config;
mod demo;
mod demo_clock;
mod import_cli;
mod local;
mod remote;
mod report_cli;
mod rollout_cli;
mod rollout_demo;
mod rush;
mod sale_cli;
mod server_args;
mod store_cli;
mod store_demo;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use anyhow::Context;
use chrono::{DateTime, Utc};
use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand};
use server_args::ServerArgs;
use soldout_engine::{Clock, NodeSettings};
use soldout_server::{App, AppState};

#[derive(Parser)]
#[command(
    name = "soldout",
    version,
    about = "The sales system of a device maker: flash sales, stores, shipments, OS rollouts",
    long_about = "soldout sells a device maker's phones in flash sales, signature stores and \
        partner channels from one inventory, and reports what it shipped.\n\n\
        Start with `soldout demo`: it loads a reference data set into an SQLite file and serves it."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// How log lines are written to standard error: `text` (colour only on a
    /// terminal) or `json` (one object per line). What is logged: SOLDOUT_LOG or
    /// RUST_LOG, such as `soldout=debug`.
    #[arg(long, env = "SOLDOUT_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text, global = true)]
    log_format: LogFormat,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

/// Logs to standard error in `format`, filtered by SOLDOUT_LOG or RUST_LOG.
fn start_logging(format: LogFormat) {
    use std::io::IsTerminal;
    let filter = tracing_subscriber::EnvFilter::try_from_env("SOLDOUT_LOG")
        .or_else(|_| tracing_subscriber::EnvFilter::try_from_default_env())
        .unwrap_or_else(|_| "soldout=info,soldout_server=info,tower_http=warn".into());
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => logs.with_ansi(std::io::stderr().is_terminal()).init(),
        LogFormat::Json => logs.json().init(),
    }
}

#[derive(Subcommand)]
enum Command {
    /// Serve the HTTP API (migrations run on start; Ctrl-C or SIGTERM stops it cleanly).
    Serve(ServeArgs),
    /// Load the reference data set (markets, the 2017 lineup, warehouses and stores
    /// with stock) and serve it. Loads nothing when it is already there.
    Demo(DemoArgs),
    /// Create, show and list flash sales on a running server (over its HTTP API).
    Sale(sale_cli::SaleArgs),
    /// Signature stores on a running server: list them, their stock, sell over the
    /// counter.
    Store(store_cli::StoreArgs),
    /// Stock transfers on a running server: create, ship, receive, show, list.
    Transfer(store_cli::TransferArgs),
    /// Import outside data into the database, all or nothing: shipments, tracker
    /// (market data), fx (exchange rates), devices (an installed base).
    Import(import_cli::ImportArgs),
    /// Reports from the shipment ledger: quarter, trend (QoQ and YoY), year (against
    /// its target).
    Report(report_cli::ReportArgs),
    /// The company's annual unit targets.
    Target(company_cli::TargetArgs),
    /// The company's settings (our brand's name in market trackers).
    Settings(company_cli::SettingsArgs),
    /// OS releases and staged rollouts on a running server; `simulate` rehearses one.
    Rollout(rollout_cli::RolloutArgs),
    /// The admin token kept in the database: `rotate` makes a new one.
    AdminToken(company_cli::AdminTokenArgs),
    /// The server's settings: `check` prints those in effect (from flags, environment,
    /// the config file and defaults) and fails on a bad one.
    Config(ConfigArgs),
    /// Write a consistent copy of a SQLite database to a new file while servers use it
    /// (a server started on the copy answers with the same data); on PostgreSQL, says
    /// to use pg_dump.
    Backup(BackupArgs),
    /// Print a completion script for SHELL (bash, zsh, fish, elvish, powershell).
    Completions {
        /// The shell to complete for.
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff) for `man`: `soldout man > soldout.1`.
    Man,
}

#[derive(Args)]
struct BackupArgs {
    #[command(flatten)]
    database: local::DatabaseArgs,
    /// The new file the copy is written to (it must not exist).
    #[arg(long, value_name = "FILE")]
    to: std::path::PathBuf,
}

#[derive(Args)]
struct ConfigArgs {
    #[command(subcommand)]
    command: ConfigCommand,
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Print the settings `serve` would run with, secrets masked, each with where it
    /// came from; exit non-zero when one is wrong.
    Check(ServeArgs),
}

#[derive(Args)]
struct ServeArgs {
    #[command(flatten)]
    database: local::DatabaseArgs,
    #[command(flatten)]
    node: NodeArgs,
    /// Start the server's clock at this instant (RFC 3339) and run it forward in real
    /// time; for demos and tests. Production leaves it unset.
    #[arg(long, env = "SOLDOUT_CLOCK_START")]
    clock_start: Option<DateTime<Utc>>,
    #[command(flatten)]
    server: ServerArgs,
}

/// Several nodes on one PostgreSQL database.
#[derive(Args)]
struct NodeArgs {
    /// This node's name, unique among the nodes sharing the database (letters, digits,
    /// '.', '_', '-'; at most 64). With it, the sales this node creates are sold by
    /// every node through allotment leases. Needs a postgres:// database.
    #[arg(long, env = "SOLDOUT_NODE_ID", value_name = "NAME")]
    node_id: Option<String>,
    /// Seconds a node's lease of a sale's units lives without a renewal: after a node
    /// dies, its unsold units go back to the sale this long after its last batch.
    #[arg(long, env = "SOLDOUT_LEASE_TTL_SECS", default_value_t = 10,
        value_parser = clap::value_parser!(u64).range(1..=3600))]
    lease_ttl_secs: u64,
}

impl ServeArgs {
    /// What `serve` runs with, every setting checked (as `config check` reports it):
    /// the server's settings with this node's, and the front door's limits.
    fn checked(
        &self,
    ) -> anyhow::Result<(soldout_server::Settings, soldout_server::ConnectionLimits)> {
        let node = self.node.settings(&self.database)?;
        let mut settings = self.server.settings(false)?;
        settings.engine.node = node;
        Ok((settings, self.server.limits()?))
    }
}

impl NodeArgs {
    fn settings(&self, database: &local::DatabaseArgs) -> anyhow::Result<Option<NodeSettings>> {
        let Some(id) = &self.node_id else {
            return Ok(None);
        };
        anyhow::ensure!(
            !id.is_empty()
                && id.len() <= 64
                && id
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c)),
            "--node-id {id:?}: use 1 to 64 letters, digits, '.', '_' or '-'"
        );
        anyhow::ensure!(
            database.is_postgres(),
            "--node-id needs a shared database: give --database postgres://USER@HOST:PORT/DB \
             (several nodes cannot share a SQLite file)"
        );
        Ok(Some(NodeSettings {
            id: id.as_str().into(),
            lease_ttl: std::time::Duration::from_secs(self.lease_ttl_secs),
        }))
    }
}

#[derive(Args)]
struct DemoArgs {
    #[command(flatten)]
    database: local::DatabaseArgs,
    /// Start the server's clock at this instant (RFC 3339); by default the week the
    /// reference company announced its second quarter of 2017.
    #[arg(long, env = "SOLDOUT_CLOCK_START", default_value = demo::CLOCK_START)]
    clock_start: DateTime<Utc>,
    /// Load the data and print the summary, then exit instead of serving.
    #[arg(long)]
    no_serve: bool,
    #[command(flatten)]
    server: ServerArgs,
}

fn main() -> anyhow::Result<()> {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let from_file = config::load_into_env(&Cli::command(), &args)?;
    let matches = Cli::command().get_matches_from(&args);
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    match &cli.command {
        Command::Completions { shell } => {
            let mut script = Vec::new();
            clap_complete::generate(*shell, &mut Cli::command(), "soldout", &mut script);
            return print_bytes(&script);
        }
        Command::Man => {
            let mut page = Vec::new();
            clap_mangen::Man::new(Cli::command()).render(&mut page)?;
            return print_bytes(&page);
        }
        Command::Config(ConfigArgs {
            command: ConfigCommand::Check(args),
        }) => {
            let check = matches
                .subcommand_matches("config")
                .and_then(|m| m.subcommand_matches("check"))
                .expect("parsed as config check");
            for line in config::effective(&Cli::command(), check, &from_file) {
                println!("{line}");
            }
            args.checked()?;
            println!("# these settings hold together");
            return Ok(());
        }
        _ => {}
    }
    start_logging(cli.log_format);
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async {
        match cli.command {
            Command::Serve(args) => {
                let (settings, limits) = args.checked()?;
                let store = args.database.open().await?;
                let state =
                    AppState::start(store, Clock::starting_at(args.clock_start), settings).await?;
                serve(state, args.server.listen, limits).await
            }
            Command::Demo(args) => {
                let store = args.database.open_or(demo::DEFAULT_DATABASE).await?;
                let (start, resumed) = demo_clock::resume(store.as_ref(), args.clock_start).await?;
                println!(
                    "The demo's clock starts at {}{}.",
                    start.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                    if resumed {
                        ", where its last run on this database stopped"
                    } else {
                        ""
                    }
                );
                let clock = Clock::starting_at(Some(start));
                let state =
                    AppState::start(store.clone(), clock, args.server.settings(true)?).await?;
                demo::load(&state.store, clock.now()).await?;
                store_demo::run(&state).await?;
                rush::run(&state).await?;
                rollout_demo::run(&state).await?;
                demo_clock::keep(store.as_ref(), clock).await?;
                if args.no_serve {
                    return Ok(());
                }
                demo_clock::keep_running(store.clone(), clock);
                let served = serve(state, args.server.listen, args.server.limits()?).await;
                demo_clock::keep(store.as_ref(), clock).await?;
                served
            }
            Command::Sale(args) => sale_cli::run(args).await,
            Command::Store(args) => store_cli::run_store(args).await,
            Command::Transfer(args) => store_cli::run_transfer(args).await,
            Command::Import(args) => import_cli::run(args).await,
            Command::Report(args) => report_cli::run(args).await,
            Command::Target(args) => company_cli::run_target(args).await,
            Command::Settings(args) => company_cli::run_settings(args).await,
            Command::Rollout(args) => rollout_cli::run(args).await,
            Command::AdminToken(args) => company_cli::run_admin_token(args).await,
            Command::Backup(args) => {
                args.database.back_up(&args.to).await?;
                println!("backed up to {}", args.to.display());
                Ok(())
            }
            Command::Config(_) | Command::Completions { .. } | Command::Man => Ok(()),
        }
    })
}

/// Writes `bytes` to standard output; a reader that stops early (`| head`) is fine.
fn print_bytes(bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    match std::io::stdout().write_all(bytes) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}

/// Serves `state` on `listen` under `limits` until Ctrl-C or SIGTERM.
async fn serve(
    state: AppState,
    listen: std::net::SocketAddr,
    limits: soldout_server::ConnectionLimits,
) -> anyhow::Result<()> {
    if let Some(token) = &state.new_admin_token {
        println!("admin token: {token}");
        tracing::info!(
            "the admin token was made on this first start and is shown only now: keep it (later starts accept it; `soldout admin-token rotate` makes a new one)"
        );
    }
    let listener = soldout_server::connections::bind(listen, limits.listen_backlog)
        .with_context(|| format!("listening on {listen}"))?;
    let addr = listener.local_addr()?;
    println!(
        "soldout listening on http://{addr} (clock now {})",
        state
            .clock
            .now()
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    );
    println!("  API document: http://{addr}/openapi.json (reference: http://{addr}/docs)");
    println!("  Dashboard:    http://{addr}/login (sign in with the admin token, or a clerk's)");
    if let Some(sale) = state.engine.sales().last() {
        println!("  Storefront:   http://{addr}/shop/sales/{}", sale.id);
    }
    let closing = state.clone();
    let rollouts = state.rollouts.clone();
    let state_engine = state.engine.clone();
    let connections_open = state.metrics.connections_open();
    soldout_server::serve_with(
        listener,
        App::router(state),
        limits,
        connections_open,
        async move {
            soldout_server::shutdown_signal().await;
            closing.close_streams();
        },
    )
    .await
    .context("serving HTTP")?;
    // Leased units this node did not sell go back to their sales for the other nodes.
    state_engine.shutdown().await;
    // What check-ins decided in the last milliseconds is written before the exit.
    rollouts
        .flush()
        .await
        .context("writing the rollouts' last decisions")?;
    println!("soldout stopped");
    Ok(())
}
