//! How the operator's commands reach a running server: its base URL, a bearer token
//! (an admin's, or a store clerk's), and one call that turns a refusal into a
//! readable error. The server's engine owns every sale, so operators go through its
//! HTTP API, never around it to the database.

use anyhow::{bail, Context};
use clap::Args;
use reqwest::Method;
use serde_json::Value;
use std::time::Duration;

#[derive(Args)]
pub struct RemoteArgs {
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
    /// A clerk's (or any) bearer token; used instead of the admin token when given.
    #[arg(long, env = "SOLDOUT_TOKEN", hide_env_values = true, global = true)]
    token: Option<String>,
    /// Print the server's JSON instead of a summary.
    #[arg(long, global = true)]
    pub json: bool,
    /// Seconds to wait for a connection to the server.
    #[arg(long, env = "SOLDOUT_CONNECT_TIMEOUT_SECS", default_value_t = 10, global = true,
        value_parser = clap::value_parser!(u64).range(1..=300))]
    connect_timeout_secs: u64,
    /// Seconds to wait for each read of the server's answer.
    #[arg(long, env = "SOLDOUT_READ_TIMEOUT_SECS", default_value_t = 30, global = true,
        value_parser = clap::value_parser!(u64).range(1..=3600))]
    read_timeout_secs: u64,
}

/// An amount of the server's JSON (minor units beside a currency code) as people
/// read it: `INR 21,998.00`.
pub fn money(amount: &Value, currency: &Value) -> String {
    let parsed = currency
        .as_str()
        .and_then(|c| soldout_core::Currency::parse(c).ok());
    match (amount.as_i64(), parsed) {
        (Some(amount), Some(currency)) => soldout_core::display_amount(amount, currency),
        _ => format!("{amount} {currency} (minor units)"),
    }
}

impl RemoteArgs {
    /// Sends one request and returns the JSON answer; a refusal is an error that
    /// carries the server's explanation.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&Value>,
    ) -> anyhow::Result<Value> {
        let token = self
            .token
            .as_deref()
            .or(self.admin_token.as_deref())
            .context("a token is needed: pass --admin-token (or --token for a clerk), or set SOLDOUT_ADMIN_TOKEN")?;
        let base = self.url.trim_end_matches('/');
        let (connect, read) = (self.connect_timeout_secs, self.read_timeout_secs);
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(connect))
            .read_timeout(Duration::from_secs(read))
            .build()
            .context("making the HTTP client")?;
        let waited = |e: &reqwest::Error| -> Option<String> {
            if !e.is_timeout() {
                None
            } else if e.is_connect() {
                Some(format!(
                    "no connection to {base} within {connect} s (--connect-timeout-secs)"
                ))
            } else {
                Some(format!(
                    "the server at {base} sent nothing for {read} s (--read-timeout-secs)"
                ))
            }
        };
        let mut request = client
            .request(method, format!("{base}{path}"))
            .query(query)
            .bearer_auth(token);
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = match request.send().await {
            Ok(response) => response,
            Err(e) => match waited(&e) {
                Some(timeout) => bail!("{timeout}"),
                None => {
                    return Err(e).with_context(|| {
                        format!("reaching the server at {base} (is `soldout serve` running?)")
                    })
                }
            },
        };
        let status = response.status();
        let body: Value = match response.json().await {
            Ok(body) => body,
            Err(e) => match waited(&e) {
                Some(timeout) => bail!("{timeout}"),
                None => return Err(e).context("reading the server's answer"),
            },
        };
        if !status.is_success() {
            bail!(
                "the server refused ({status}): {}",
                body["detail"].as_str().unwrap_or("no detail")
            );
        }
        Ok(body)
    }

    /// Prints `body` as JSON when asked to, else each item (or the one object) with
    /// `line`.
    pub fn show(&self, body: &Value, empty: &str, line: impl Fn(&Value)) -> anyhow::Result<()> {
        if self.json {
            println!("{}", serde_json::to_string_pretty(body)?);
            return Ok(());
        }
        match body.as_array() {
            Some(items) if items.is_empty() => println!("{empty}"),
            Some(items) => items.iter().for_each(line),
            None => line(body),
        }
        Ok(())
    }
}
