//! `spawn_app()`: the real router on 127.0.0.1:0 with a fresh database, and a client
//! that speaks to it.

use reqwest::{Client, Method, RequestBuilder, Response};
use serde_json::{json, Value};
use soldout_engine::Clock;
use soldout_server::auth::Tokens;
use soldout_server::{App, AppState, Secrets};
use std::net::SocketAddr;

/// Where the test server's clock starts.
pub const CLOCK_START: &str = "2017-07-04T09:00:00+08:00";
/// The secret the fake payment provider signs its webhooks with.
pub const PAYMENT_SECRET: &str = "whsec_test_provider";

pub struct TestApp {
    pub addr: SocketAddr,
    pub client: Client,
    pub admin_token: String,
    _shutdown: tokio::sync::oneshot::Sender<()>,
    _dir: tempfile::TempDir,
}

pub async fn spawn_app() -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("test.db").display());
    let store = soldout_store::open(&url).await.expect("open store");
    let start = chrono::DateTime::parse_from_rfc3339(CLOCK_START)
        .unwrap()
        .with_timezone(&chrono::Utc);
    let admin_token = Tokens::generate_admin_token();
    let secrets = Secrets {
        admin_token: admin_token.clone(),
        token_key: None,
        payment_secret: Some(PAYMENT_SECRET.into()),
    };
    let state = AppState::start(store, Clock::starting_at(Some(start)), secrets)
        .await
        .expect("start the app");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(soldout_server::serve(listener, App::router(state), async {
        let _ = rx.await;
    }));
    TestApp {
        addr,
        client: Client::new(),
        admin_token,
        _shutdown: tx,
        _dir: dir,
    }
}

impl TestApp {
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
        self.send(
            Method::POST,
            "/v1/markets",
            json!({"code": "IN", "name": "India", "currency": "INR"}),
            201,
        )
        .await;
        self.send(Method::POST, "/v1/products", redmi_note_4(), 201)
            .await;
        self.send(
            Method::PUT,
            "/v1/products/redmi-note-4/launches/IN",
            json!({"teaser_at": "2017-01-09T12:00:00+05:30", "unveil_at": "2017-01-19T12:00:00+05:30", "sale_from": "2017-01-23T12:00:00+05:30"}),
            200,
        )
        .await;
        self.send(
            Method::PUT,
            "/v1/markets/IN/prices/RN4-3-32-GLD",
            json!({"amount": 1_099_900}),
            200,
        )
        .await;
        self.send(
            Method::POST,
            "/v1/locations",
            json!({"id": "wh-in-sricity", "kind": "warehouse", "market": "IN", "name": "Sri City Warehouse", "city": "Sri City"}),
            201,
        )
        .await;
    }
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
