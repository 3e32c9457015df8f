//! The flags of a running server (`serve` and `demo`), each with its `SOLDOUT_*`
//! environment fallback and a safe default, turned into the server's [`Settings`]
//! and the front door's [`ConnectionLimits`].

use clap::Args;
use soldout_core::order::HoldPolicy;
use soldout_core::SessionPolicy;
use soldout_server::{ConnectionLimits, Settings};
use std::net::SocketAddr;
use std::time::Duration;

#[derive(Args)]
pub struct ServerArgs {
    /// A TOML file of these settings, keyed by the flags' names (`listen =
    /// "127.0.0.1:8080"`, `connections-max = 10000`): flags win over environment
    /// variables, which win over the file, which wins over the defaults. See
    /// deploy/soldout.toml; `soldout config check` prints what is in effect.
    #[arg(long, env = "SOLDOUT_CONFIG", value_name = "FILE")]
    pub config: Option<std::path::PathBuf>,
    /// Address to listen on (loopback by default).
    #[arg(long, env = "SOLDOUT_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// The URL buyers and staff reach this server at; with https, cookies are marked
    /// Secure. Defaults to http://<listen>.
    #[arg(long, env = "SOLDOUT_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Admin bearer token; when left out, the first start makes one and prints it
    /// once, the database keeps only its digest, and later starts accept the same one
    /// (`soldout admin-token rotate` makes a new one).
    #[arg(long, env = "SOLDOUT_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,
    /// A file that holds the admin token (a systemd credential, a container secret);
    /// a trailing newline is ignored.
    #[arg(
        long,
        env = "SOLDOUT_ADMIN_TOKEN_FILE",
        value_name = "FILE",
        conflicts_with = "admin_token"
    )]
    pub admin_token_file: Option<std::path::PathBuf>,
    /// Key that signs customer and clerk tokens; when left out one is generated and
    /// kept in the database, so tokens stay valid across restarts.
    #[arg(long, env = "SOLDOUT_TOKEN_KEY", hide_env_values = true)]
    pub token_key: Option<String>,
    /// A file that holds the token key; a trailing newline is ignored.
    #[arg(
        long,
        env = "SOLDOUT_TOKEN_KEY_FILE",
        value_name = "FILE",
        conflicts_with = "token_key"
    )]
    pub token_key_file: Option<std::path::PathBuf>,
    /// Secret the payment provider signs its webhooks with; when left out one is
    /// generated and kept in the database.
    #[arg(long, env = "SOLDOUT_PAYMENT_SECRET", hide_env_values = true)]
    pub payment_secret: Option<String>,
    /// A file that holds the payment secret; a trailing newline is ignored.
    #[arg(
        long,
        env = "SOLDOUT_PAYMENT_SECRET_FILE",
        value_name = "FILE",
        conflicts_with = "payment_secret"
    )]
    pub payment_secret_file: Option<std::path::PathBuf>,
    #[command(flatten)]
    pub access: AccessArgs,
    #[command(flatten)]
    pub holds: HoldArgs,
    #[command(flatten)]
    pub connections: ConnectionArgs,
}

/// How long customers and staff stay signed in.
#[derive(Args)]
pub struct AccessArgs {
    /// Days a customer token lives; each use in its second half renews it.
    #[arg(long, env = "SOLDOUT_CUSTOMER_TOKEN_DAYS", default_value_t = 30,
        value_parser = clap::value_parser!(u32).range(1..=365))]
    pub customer_token_days: u32,
    /// Minutes a dashboard session lasts without a request.
    #[arg(long, env = "SOLDOUT_SESSION_IDLE_MINUTES", default_value_t = 30,
        value_parser = clap::value_parser!(u32).range(1..=1440))]
    pub session_idle_minutes: u32,
    /// Hours a dashboard session lasts however busy it is.
    #[arg(long, env = "SOLDOUT_SESSION_MAX_HOURS", default_value_t = 12,
        value_parser = clap::value_parser!(u32).range(1..=168))]
    pub session_max_hours: u32,
    /// Sign-ups one client address may make per minute (0: no limit). Behind a load
    /// balancer every buyer has its address: set 0 there and limit at the balancer.
    #[arg(long, env = "SOLDOUT_SIGN_UPS_PER_MINUTE", default_value_t = 60)]
    pub sign_ups_per_minute: u32,
}

/// What one customer may hold unpaid in regular online orders (flash sales keep their
/// own per-sale limit).
#[derive(Args)]
pub struct HoldArgs {
    /// Units of one SKU a customer may hold unpaid across their online orders.
    #[arg(long, env = "SOLDOUT_UNPAID_UNITS_PER_SKU_MAX", default_value_t = HoldPolicy::default().units_per_sku_max,
        value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub unpaid_units_per_sku_max: u32,
    /// Units a customer may hold unpaid across their online orders.
    #[arg(long, env = "SOLDOUT_UNPAID_UNITS_MAX", default_value_t = HoldPolicy::default().units_max,
        value_parser = clap::value_parser!(u32).range(1..=10000))]
    pub unpaid_units_max: u32,
    /// Online orders a customer may have open and unpaid at once.
    #[arg(long, env = "SOLDOUT_UNPAID_ORDERS_MAX", default_value_t = HoldPolicy::default().open_orders_max,
        value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub unpaid_orders_max: u32,
    /// Minutes a shipped online order holds its units waiting for payment.
    #[arg(long, env = "SOLDOUT_SHIP_HOLD_MINUTES", default_value_t = 30,
        value_parser = clap::value_parser!(u32).range(1..=10080))]
    pub ship_hold_minutes: u32,
    /// Minutes a pickup order holds the store's units waiting for payment.
    #[arg(long, env = "SOLDOUT_PICKUP_HOLD_MINUTES", default_value_t = 15,
        value_parser = clap::value_parser!(u32).range(1..=10080))]
    pub pickup_hold_minutes: u32,
}

/// The front door's limits.
#[derive(Args)]
pub struct ConnectionArgs {
    /// Open connections at most (beyond the operators' reserve, new ones get a 503).
    #[arg(long, env = "SOLDOUT_CONNECTIONS_MAX", default_value_t = ConnectionLimits::default().connections_max)]
    pub connections_max: usize,
    /// Open connections from one client address at most (behind a load balancer, set
    /// it to --connections-max: every connection comes from the balancer).
    #[arg(long, env = "SOLDOUT_CONNECTIONS_PER_CLIENT_MAX", default_value_t = ConnectionLimits::default().per_client_max)]
    pub connections_per_client_max: usize,
    /// Connections kept beyond the cap for /healthz, /metrics and the admin token.
    #[arg(long, env = "SOLDOUT_CONNECTIONS_RESERVE", default_value_t = ConnectionLimits::default().operator_reserve)]
    pub connections_reserve: usize,
    /// Seconds from a request's first byte to the end of its headers (then a 408).
    #[arg(long, env = "SOLDOUT_HEADER_READ_TIMEOUT_SECS", default_value_t = 10,
        value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub header_read_timeout_secs: u64,
    /// Seconds from a request's headers to the end of its body (then a 408).
    #[arg(long, env = "SOLDOUT_BODY_READ_TIMEOUT_SECS", default_value_t = 30,
        value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub body_read_timeout_secs: u64,
    /// Seconds an idle keep-alive connection stays open (1 s when three quarters full).
    #[arg(long, env = "SOLDOUT_IDLE_TIMEOUT_SECS", default_value_t = 60,
        value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub idle_timeout_secs: u64,
    /// Seconds a client may leave our answer unread before its connection is closed.
    #[arg(long, env = "SOLDOUT_WRITE_TIMEOUT_SECS", default_value_t = 30,
        value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub write_timeout_secs: u64,
    /// Connections the kernel queues before the server accepts them.
    #[arg(long, env = "SOLDOUT_LISTEN_BACKLOG", default_value_t = ConnectionLimits::default().listen_backlog)]
    pub listen_backlog: u32,
}

impl ServerArgs {
    /// The secrets given, each from its flag (or variable) or from its file.
    fn secrets(&self) -> anyhow::Result<[Option<String>; 3]> {
        Ok([
            secret(&self.admin_token, &self.admin_token_file)?,
            secret(&self.token_key, &self.token_key_file)?,
            secret(&self.payment_secret, &self.payment_secret_file)?,
        ])
    }

    /// The server's settings.
    pub fn settings(&self, demo: bool) -> anyhow::Result<Settings> {
        if let Some(url) = &self.public_url {
            anyhow::ensure!(
                url.starts_with("http://") || url.starts_with("https://"),
                "--public-url {url:?} must start with http:// or https://"
            );
        }
        let minutes = |m: u32| i64::from(m) * 60;
        let holds = HoldPolicy {
            units_per_sku_max: self.holds.unpaid_units_per_sku_max,
            units_max: self.holds.unpaid_units_max,
            open_orders_max: self.holds.unpaid_orders_max,
            ship_hold_secs: minutes(self.holds.ship_hold_minutes),
            pickup_hold_secs: minutes(self.holds.pickup_hold_minutes),
        };
        holds.validate().map_err(anyhow::Error::msg)?;
        let sessions = SessionPolicy {
            idle_secs: minutes(self.access.session_idle_minutes),
            absolute_secs: i64::from(self.access.session_max_hours) * 3600,
        };
        sessions.validate().map_err(anyhow::Error::msg)?;
        let [admin_token, token_key, payment_secret] = self.secrets()?;
        Ok(Settings {
            admin_token,
            token_key,
            payment_secret,
            demo_payments: demo,
            customer_token_ttl_secs: i64::from(self.access.customer_token_days) * 24 * 3600,
            sessions,
            engine: soldout_engine::EngineOptions {
                holds,
                ..soldout_engine::EngineOptions::default()
            },
            secure_cookies: self
                .public_url
                .as_deref()
                .is_some_and(|u| u.starts_with("https://")),
            sign_ups_per_minute: std::num::NonZeroU32::new(self.access.sign_ups_per_minute),
            count_metrics: true,
        })
    }

    /// The front door's limits.
    pub fn limits(&self) -> anyhow::Result<ConnectionLimits> {
        let c = &self.connections;
        let limits = ConnectionLimits {
            connections_max: c.connections_max,
            per_client_max: c.connections_per_client_max,
            operator_reserve: c.connections_reserve,
            header_read_timeout: Duration::from_secs(c.header_read_timeout_secs),
            body_read_timeout: Duration::from_secs(c.body_read_timeout_secs),
            idle_timeout: Duration::from_secs(c.idle_timeout_secs),
            write_timeout: Duration::from_secs(c.write_timeout_secs),
            listen_backlog: c.listen_backlog,
        };
        limits.validate().map_err(anyhow::Error::msg)?;
        Ok(limits)
    }
}

/// A secret given as `value`, or read from `file`: trimmed, and `None` when empty.
fn secret(
    value: &Option<String>,
    file: &Option<std::path::PathBuf>,
) -> anyhow::Result<Option<String>> {
    let text = match (value, file) {
        (Some(value), _) => value.clone(),
        (None, Some(path)) => std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("reading the secret in {}: {e}", path.display()))?,
        (None, None) => return Ok(None),
    };
    let text = text.trim();
    if text.is_empty() {
        if let Some(path) = file {
            anyhow::bail!("the secret file {} is empty", path.display());
        }
        return Ok(None);
    }
    Ok(Some(text.to_owned()))
}
