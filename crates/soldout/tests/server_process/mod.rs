//! A real `soldout serve` process for the tests that kill servers or cut them off,
//! and the calls they make to it over loopback HTTP. (A directory module, so Cargo
//! does not build it as a test of its own.)

use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// A running `soldout serve`, killed when dropped.
pub struct ServerProcess {
    pub child: Child,
    pub base: String,
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `soldout serve` on `database` on a free loopback port with `admin` as the
/// admin token and `extra` arguments, the clock started at the demo's instant; every
/// process started here signs tokens and checks webhooks with the same secrets.
pub fn spawn(database: &str, admin: &str, extra: &[&str]) -> ServerProcess {
    let mut child = Command::new(env!("CARGO_BIN_EXE_soldout"))
        .args(["serve", "--listen", "127.0.0.1:0", "--database", database])
        .args(["--clock-start", "2017-07-04T09:00:00+08:00"])
        .args(extra)
        .env("SOLDOUT_ADMIN_TOKEN", admin)
        .env("SOLDOUT_TOKEN_KEY", "process-test-token-key")
        .env("SOLDOUT_PAYMENT_SECRET", "process-test-payment-secret")
        .env("SOLDOUT_LOG", "warn")
        // Thousands of buyers sign up from this one address.
        .env("SOLDOUT_SIGN_UPS_PER_MINUTE", "0")
        .env_remove("SOLDOUT_DATABASE")
        .env_remove("SOLDOUT_LISTEN")
        .env_remove("SOLDOUT_NODE_ID")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start soldout");
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let addr = loop {
        let line = lines.next().expect("server output").unwrap();
        if let Some(rest) = line.strip_prefix("soldout listening on http://") {
            break rest.split(' ').next().unwrap().to_owned();
        }
    };
    // Keep draining stdout so the server never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines.by_ref() {});
    ServerProcess {
        child,
        base: format!("http://{addr}"),
    }
}

/// SIGKILL: no shutdown, no flush.
pub fn sigkill(server: &mut ServerProcess) {
    let status = Command::new("kill")
        .args(["-KILL", &server.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    server.child.wait().unwrap();
}

/// One request with a bearer token and a JSON body; the status and the JSON answer
/// (null when it is not JSON).
pub async fn call(
    client: &reqwest::Client,
    method: reqwest::Method,
    url: String,
    token: &str,
    body: Value,
) -> (u16, Value) {
    let response = client
        .request(method, url)
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// India, the Redmi Note 4 launched and priced there, and `units` received at the Sri
/// City warehouse, each call checked.
pub async fn catalog(client: &reqwest::Client, base: &str, admin: &str, units: u64) {
    let post = |path: &str, body: Value| {
        call(
            client,
            reqwest::Method::POST,
            format!("{base}{path}"),
            admin,
            body,
        )
    };
    let put = |path: &str, body: Value| {
        call(
            client,
            reqwest::Method::PUT,
            format!("{base}{path}"),
            admin,
            body,
        )
    };
    let market = json!({"code": "IN", "name": "India", "currency": "INR"});
    assert_eq!(post("/v1/markets", market).await.0, 201);
    let product = json!({"id": "redmi-note-4", "name": "Redmi Note 4", "specs": {
        "soc": "Snapdragon 625", "battery_mah": 4100, "fast_charging": false, "main_camera_mp": 13,
        "port": "Micro-USB", "os_name": "MIUI", "os_base": "Android 6.0", "os_version": "8.1.0"},
        "skus": [{"sku": "RN4-3-32-GLD", "colour": "Gold", "ram_gb": 3, "storage_gb": 32}]});
    assert_eq!(post("/v1/products", product).await.0, 201);
    let launch = json!({"teaser_at": "2017-01-09T12:00:00+05:30", "unveil_at": "2017-01-19T12:00:00+05:30", "sale_from": "2017-01-23T12:00:00+05:30"});
    assert_eq!(
        put("/v1/products/redmi-note-4/launches/IN", launch).await.0,
        200
    );
    let price = json!({"amount": 1_099_900});
    assert_eq!(
        put("/v1/markets/IN/prices/RN4-3-32-GLD", price).await.0,
        200
    );
    let location = json!({"id": "wh-in-sricity", "kind": "warehouse", "market": "IN", "name": "Sri City", "city": "Sri City"});
    assert_eq!(post("/v1/locations", location).await.0, 201);
    let receipt = json!({"sku": "RN4-3-32-GLD", "quantity": units});
    assert_eq!(
        post("/v1/locations/wh-in-sricity/receipts", receipt)
            .await
            .0,
        201
    );
}
