//! `spawn_app()`: the real router on 127.0.0.1:0 with a fresh database, and a client
//! that speaks to it. The database is a SQLite file in a temporary directory in the
//! `api` tests, and a scratch PostgreSQL database of its own (dropped at the end) in
//! `api_postgres`, which compiles these same files.

use reqwest::{Client, Method, RequestBuilder, Response};
use serde_json::{json, Value};
use soldout_engine::Clock;
use soldout_server::{App, AppState, ConnectionLimits, Settings};
use std::net::SocketAddr;

/// Where the test server's clock starts.
pub const CLOCK_START: &str = "2017-07-04T09:00:00+08:00";
/// The secret the fake payment provider signs its webhooks with.
pub const PAYMENT_SECRET: &str = "whsec_test_provider";

pub struct TestApp {
    pub addr: SocketAddr,
    pub client: Client,
    pub admin_token: String,
    shutdown: tokio::sync::oneshot::Sender<()>,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
    database: TestDatabase,
}

use soldout_store::scratch::TestBackend;
pub use soldout_store::scratch::TestDatabase;

/// The backend this build of the tests runs on: PostgreSQL for `api_postgres`.
fn backend() -> TestBackend {
    TestBackend::of_target(env!("CARGO_CRATE_NAME"))
}

/// A fresh database of the backend these tests run on.
pub async fn fresh_database() -> TestDatabase {
    TestDatabase::fresh(backend(), "api").await
}

pub async fn spawn_app() -> TestApp {
    spawn_app_in(fresh_database().await, clock_start()).await
}

pub fn clock_start() -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339(CLOCK_START)
        .unwrap()
        .with_timezone(&chrono::Utc)
}

/// A server whose sales queue at most `queue_max` requests.
pub async fn spawn_app_with_queue(queue_max: usize) -> TestApp {
    spawn_app_with(loopback_limits(), |settings| {
        settings.engine.queue_max = queue_max;
    })
    .await
}

/// Every test client speaks from 127.0.0.1, as every buyer behind a load balancer
/// would: the tests that are not about connections run with the per-client cap at the
/// global one, which is what the README tells an operator behind a balancer to set.
pub fn loopback_limits() -> ConnectionLimits {
    let limits = ConnectionLimits::default();
    ConnectionLimits {
        per_client_max: limits.connections_max,
        ..limits
    }
}

/// A server with these connection limits.
pub async fn spawn_app_with_limits(limits: ConnectionLimits) -> TestApp {
    spawn_app_with(limits, |_| {}).await
}

/// A server as `soldout demo` runs it: the storefront's "pay" button is on.
pub async fn spawn_demo_app() -> TestApp {
    spawn_app_with(loopback_limits(), |settings| settings.demo_payments = true).await
}

/// A server whose settings `adjust` changes from the tests' own.
pub async fn spawn_app_with(
    limits: ConnectionLimits,
    adjust: impl FnOnce(&mut Settings),
) -> TestApp {
    // The server's warnings and errors go to the failing test's own output.
    let _ = tracing_subscriber::fmt()
        .with_env_filter("warn")
        .with_test_writer()
        .try_init();
    spawn(fresh_database().await, clock_start(), limits, adjust).await
}

/// A server on `database` whose clock starts at `start`: a second one on the same
/// database is a restart.
pub async fn spawn_app_in(database: TestDatabase, start: chrono::DateTime<chrono::Utc>) -> TestApp {
    spawn(database, start, loopback_limits(), |_| {}).await
}

async fn spawn(
    database: TestDatabase,
    start: chrono::DateTime<chrono::Utc>,
    limits: ConnectionLimits,
    adjust: impl FnOnce(&mut Settings),
) -> TestApp {
    let store = soldout_store::open(database.url())
        .await
        .expect("open store");
    spawn_on(database, store, start, limits, adjust).await
}

/// A server on `store`, which `database` (kept for as long as the server runs) holds.
pub async fn spawn_on(
    database: TestDatabase,
    store: std::sync::Arc<dyn soldout_store::Store>,
    start: chrono::DateTime<chrono::Utc>,
    limits: ConnectionLimits,
    adjust: impl FnOnce(&mut Settings),
) -> TestApp {
    let admin_token = "test-admin-token".to_owned();
    let mut settings = Settings {
        admin_token: Some(admin_token.clone()),
        payment_secret: Some(PAYMENT_SECRET.into()),
        ..Settings::default()
    };
    if env!("CARGO_CRATE_NAME").contains("leased") {
        // `api_leased_postgres`: a node of a cluster, whose sales are leased.
        settings.engine.node = Some(soldout_engine::NodeSettings {
            id: "test-node".into(),
            lease_ttl: soldout_engine::NodeSettings::DEFAULT_LEASE_TTL,
        });
    }
    adjust(&mut settings);
    let state = AppState::start(store, Clock::starting_at(Some(start)), settings)
        .await
        .expect("start the app");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let closing = state.clone();
    let connections_open = state.metrics.connections_open();
    let server = tokio::spawn(soldout_server::serve_with(
        listener,
        App::router(state),
        limits,
        connections_open,
        async move {
            let _ = rx.await;
            closing.close_streams();
        },
    ));
    TestApp {
        addr,
        client: Client::new(),
        admin_token,
        shutdown: tx,
        server,
        database,
    }
}

impl TestApp {
    /// Stops the server and starts a new one on the same database.
    pub async fn restart(self) -> TestApp {
        let now = self.now().await;
        self.restart_after(chrono::Duration::zero(), now).await
    }

    /// Stops the server, and starts a new one on the same database `downtime` later
    /// by the clock.
    pub async fn restart_after(
        self,
        downtime: chrono::Duration,
        now: chrono::DateTime<chrono::Utc>,
    ) -> TestApp {
        let _ = self.shutdown.send(());
        self.server.abort();
        let _ = self.server.await;
        spawn_app_in(self.database, now + downtime).await
    }

    /// Asks the server to shut down as Ctrl-C would; true if it finished its requests
    /// and stopped within `within`.
    pub async fn stop_gracefully(self, within: std::time::Duration) -> bool {
        let _ = self.shutdown.send(());
        tokio::time::timeout(within, self.server).await.is_ok()
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// A request without credentials.
    pub fn anonymous(&self, method: Method, path: &str) -> RequestBuilder {
        self.client.request(method, self.url(path))
    }

    /// A request with the admin token.
    pub fn admin(&self, method: Method, path: &str) -> RequestBuilder {
        self.anonymous(method, path).bearer_auth(&self.admin_token)
    }

    /// A public read: no token, 200 expected, the JSON body.
    pub async fn public_get(&self, path: &str) -> Value {
        let response = self.anonymous(Method::GET, path).send().await.unwrap();
        assert_eq!(response.status(), 200, "GET {path}");
        response.json().await.unwrap()
    }

    pub async fn get(&self, path: &str) -> Value {
        let response = self.admin(Method::GET, path).send().await.unwrap();
        assert_eq!(response.status(), 200, "GET {path}");
        response.json().await.unwrap()
    }

    /// Sends an admin request with a JSON body and asserts the status.
    pub async fn send(&self, method: Method, path: &str, body: Value, status: u16) -> Value {
        let response = self
            .admin(method.clone(), path)
            .json(&body)
            .send()
            .await
            .unwrap();
        expect(response, status, &format!("{method} {path}")).await
    }

    /// India, the Redmi Note 4 with two SKUs launched there (on sale since January
    /// 2017), prices, and a warehouse.
    pub async fn seed_india(&self) {
        for (method, path, body, status) in india_seed() {
            self.send(method, path, body, status).await;
        }
    }
}

/// The requests (admin) of [`TestApp::seed_india`], each with the status it gets.
pub fn india_seed() -> Vec<(Method, &'static str, Value, u16)> {
    vec![
        (
            Method::POST,
            "/v1/markets",
            json!({"code": "IN", "name": "India", "currency": "INR"}),
            201,
        ),
        (Method::POST, "/v1/products", redmi_note_4(), 201),
        (
            Method::PUT,
            "/v1/products/redmi-note-4/launches/IN",
            json!({"teaser_at": "2017-01-09T12:00:00+05:30", "unveil_at": "2017-01-19T12:00:00+05:30", "sale_from": "2017-01-23T12:00:00+05:30"}),
            200,
        ),
        (
            Method::PUT,
            "/v1/markets/IN/prices/RN4-3-32-GLD",
            json!({"amount": 1_099_900}),
            200,
        ),
        (
            Method::POST,
            "/v1/locations",
            json!({"id": "wh-in-sricity", "kind": "warehouse", "market": "IN", "name": "Sri City Warehouse", "city": "Sri City"}),
            201,
        ),
    ]
}

/// Asserts a response's status and returns its JSON body (or `null`); a problem
/// response must carry the problem content type.
pub async fn expect(response: Response, status: u16, what: &str) -> Value {
    let got = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let text = response.text().await.unwrap();
    assert_eq!(got, status, "{what}: body {text}");
    if got >= 400 {
        assert_eq!(content_type, "application/problem+json", "{what}: {text}");
    }
    if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("{what}: not JSON: {text}"))
    }
}

pub fn redmi_note_4() -> Value {
    json!({
        "id": "redmi-note-4",
        "name": "Redmi Note 4",
        "specs": {
            "soc": "Snapdragon 625", "battery_mah": 4100, "fast_charging": false,
            "main_camera_mp": 13, "port": "Micro-USB", "os_name": "MIUI",
            "os_base": "Android 6.0", "os_version": "8.1.0"
        },
        "skus": [
            {"sku": "RN4-3-32-GLD", "colour": "Gold", "ram_gb": 3, "storage_gb": 32},
            {"sku": "RN4-4-64-BLK", "colour": "Matte Black", "ram_gb": 4, "storage_gb": 64}
        ]
    })
}

/// The problem type's last segment, such as `insufficient-stock`.
pub fn problem_slug(problem: &Value) -> &str {
    problem["type"]
        .as_str()
        .and_then(|t| t.rsplit('/').next())
        .unwrap_or_default()
}

/// A customer: id and bearer token.
pub struct Buyer {
    pub id: i64,
    pub token: String,
}

impl TestApp {
    /// The server's clock.
    pub async fn now(&self) -> chrono::DateTime<chrono::Utc> {
        let health: Value = self.public_get("/healthz").await;
        health["now"].as_str().unwrap().parse().unwrap()
    }

    pub async fn sign_up(&self, email: &str) -> Buyer {
        let response = self
            .anonymous(Method::POST, "/v1/customers")
            .json(&json!({ "email": email }))
            .send()
            .await
            .unwrap();
        let body = expect(response, 201, "sign up").await;
        Buyer {
            id: body["id"].as_i64().unwrap(),
            token: body["token"].as_str().unwrap().to_owned(),
        }
    }

    /// India seeded, `stock` units of RN4-3-32-GLD at the warehouse, and a sale of it
    /// with `terms` laid over defaults (started a minute ago, ends in an hour).
    pub async fn open_sale(&self, stock: i64, terms: Value) -> Value {
        self.seed_india().await;
        self.send(
            Method::POST,
            "/v1/locations/wh-in-sricity/receipts",
            json!({"sku": "RN4-3-32-GLD", "quantity": stock}),
            201,
        )
        .await;
        self.create_sale(terms, 201).await
    }

    pub async fn create_sale(&self, terms: Value, status: u16) -> Value {
        let now = self.now().await;
        let mut body = json!({
            "sku": "RN4-3-32-GLD", "market": "IN", "location": "wh-in-sricity", "quantity": 10,
            "starts_at": now - chrono::Duration::minutes(1),
            "ends_at": now + chrono::Duration::hours(1),
            "per_customer_limit": 2, "payment_window_secs": 900,
            "registration_required": false, "fair_start_secs": 0
        });
        for (k, v) in terms.as_object().unwrap() {
            body[k] = v.clone();
        }
        self.send(Method::POST, "/v1/sales", body, status).await
    }

    pub async fn buy(&self, buyer: &Buyer, sale: i64, quantity: u32, key: &str) -> Response {
        self.anonymous(Method::POST, &format!("/v1/sales/{sale}/orders"))
            .bearer_auth(&buyer.token)
            .header("idempotency-key", key)
            .json(&json!({ "quantity": quantity }))
            .send()
            .await
            .unwrap()
    }

    pub async fn sale(&self, sale: i64) -> Value {
        self.public_get(&format!("/v1/sales/{sale}")).await
    }

    /// The sale once `done` holds: the engine's own timers (expiry, the end) fire
    /// and commit by themselves, so a test waits for their effect rather than a
    /// fixed time. Panics after 10 seconds.
    pub async fn sale_when(&self, sale: i64, done: impl Fn(&Value) -> bool) -> Value {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let view = self.sale(sale).await;
            if done(&view) {
                return view;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the sale never got there: {view}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    /// Calls the payment webhook as the provider would: signed with the shared secret,
    /// `skew_secs` off the server's clock.
    pub async fn webhook(&self, event: Value, skew_secs: i64) -> Response {
        let body = serde_json::to_vec(&event).unwrap();
        let t = self.now().await.timestamp() + skew_secs;
        self.webhook_signed(&body, &provider_signature(PAYMENT_SECRET, t, &body))
            .await
    }

    pub async fn webhook_signed(&self, body: &[u8], signature: &str) -> Response {
        self.anonymous(Method::POST, "/v1/payments/webhook")
            .header("content-type", "application/json")
            .header("soldout-signature", signature)
            .body(body.to_vec())
            .send()
            .await
            .unwrap()
    }
}

/// The fake provider's signature, computed here independently of the server's code.
pub fn provider_signature(secret: &str, t: i64, body: &[u8]) -> String {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.").as_bytes());
    mac.update(body);
    format!("t={t},v1={}", hex::encode(mac.finalize().into_bytes()))
}

/// The counters of a sale add up to its quantity.
pub fn assert_balanced(sale: &Value) {
    let n = |k: &str| sale[k].as_u64().unwrap();
    assert_eq!(
        n("available") + n("reserved") + n("paid") + n("fulfilled") + n("released"),
        n("quantity"),
        "{sale}"
    );
}

/// Sends every request at once and returns the status codes, in order.
pub async fn statuses_of(requests: Vec<RequestBuilder>) -> Vec<u16> {
    let tasks: Vec<_> = requests
        .into_iter()
        .map(|r| tokio::spawn(async move { r.send().await.unwrap().status().as_u16() }))
        .collect();
    let mut statuses = Vec::with_capacity(tasks.len());
    for task in tasks {
        statuses.push(task.await.unwrap());
    }
    statuses
}
