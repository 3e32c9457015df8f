// Crash test, written once and compiled twice (`crash.rs` on SQLite,
// `crash_postgres.rs` on PostgreSQL): the real binary under load, killed with SIGKILL
// at random moments, several rounds. After each restart every order that was answered
// 201 is there, its idempotency key still answers with it, and the counters add up.

use rand::{Rng, SeedableRng};
use soldout_store::scratch::{TestBackend, TestDatabase};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const ADMIN: &str = "crash-admin-token";
const QUANTITY: u64 = 60_000;
const BUYERS: usize = 600;
const ROUNDS: usize = 4;

struct Server {
    child: Child,
    base: String,
}

fn start(database: &str) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_soldout"))
        .args(["serve", "--listen", "127.0.0.1:0", "--database", database])
        .args(["--clock-start", "2017-07-04T09:00:00+08:00"])
        .env("SOLDOUT_ADMIN_TOKEN", ADMIN)
        .env("SOLDOUT_TOKEN_KEY", "crash-token-key")
        .env("SOLDOUT_PAYMENT_SECRET", "crash-payment-secret")
        .env_remove("SOLDOUT_DATABASE")
        .env_remove("SOLDOUT_LISTEN")
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
    Server {
        child,
        base: format!("http://{addr}"),
    }
}

fn kill(server: &mut Server) {
    let status = Command::new("kill")
        .args(["-KILL", &server.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    server.child.wait().unwrap();
}

async fn call(
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

async fn setup(client: &reqwest::Client, base: &str) -> (i64, Vec<String>) {
    let admin = |path: &str, body: Value| {
        call(
            client,
            reqwest::Method::POST,
            format!("{base}{path}"),
            ADMIN,
            body,
        )
    };
    assert_eq!(
        admin(
            "/v1/markets",
            json!({"code": "IN", "name": "India", "currency": "INR"})
        )
        .await
        .0,
        201
    );
    let product = json!({"id": "redmi-note-4", "name": "Redmi Note 4", "specs": {
        "soc": "Snapdragon 625", "battery_mah": 4100, "fast_charging": false, "main_camera_mp": 13,
        "port": "Micro-USB", "os_name": "MIUI", "os_base": "Android 6.0", "os_version": "8.1.0"},
        "skus": [{"sku": "RN4-3-32-GLD", "colour": "Gold", "ram_gb": 3, "storage_gb": 32}]});
    assert_eq!(admin("/v1/products", product).await.0, 201);
    let launch = json!({"teaser_at": "2017-01-09T12:00:00+05:30", "unveil_at": "2017-01-19T12:00:00+05:30", "sale_from": "2017-01-23T12:00:00+05:30"});
    let (status, _) = call(
        client,
        reqwest::Method::PUT,
        format!("{base}/v1/products/redmi-note-4/launches/IN"),
        ADMIN,
        launch,
    )
    .await;
    assert_eq!(status, 200);
    let (status, _) = call(
        client,
        reqwest::Method::PUT,
        format!("{base}/v1/markets/IN/prices/RN4-3-32-GLD"),
        ADMIN,
        json!({"amount": 1_099_900}),
    )
    .await;
    assert_eq!(status, 200);
    let location = json!({"id": "wh-in-sricity", "kind": "warehouse", "market": "IN", "name": "Sri City", "city": "Sri City"});
    assert_eq!(admin("/v1/locations", location).await.0, 201);
    assert_eq!(
        admin(
            "/v1/locations/wh-in-sricity/receipts",
            json!({"sku": "RN4-3-32-GLD", "quantity": QUANTITY})
        )
        .await
        .0,
        201
    );
    let sale = json!({"sku": "RN4-3-32-GLD", "market": "IN", "location": "wh-in-sricity", "quantity": QUANTITY,
        "starts_at": "2017-07-04T00:00:00Z", "ends_at": "2017-07-05T00:00:00Z", "per_customer_limit": 100,
        "payment_window_secs": 86400});
    let (status, sale) = admin("/v1/sales", sale).await;
    assert_eq!(status, 201, "{sale}");
    let mut tokens = Vec::new();
    for i in 0..BUYERS {
        let (status, body) = call(
            client,
            reqwest::Method::POST,
            format!("{base}/v1/customers"),
            "",
            json!({"email": format!("crash{i}@example.com")}),
        )
        .await;
        assert_eq!(status, 201);
        tokens.push(body["token"].as_str().unwrap().to_owned());
    }
    (sale["id"].as_i64().unwrap(), tokens)
}

/// An order the server answered 201 for: (token index, key, order id).
type Acknowledged = (usize, String, String);

#[test]
fn acknowledged_orders_survive_sigkill() {
    let seed: u64 = rand::random();
    println!("crash test seed {seed}");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let scratch =
        TestDatabase::fresh_blocking(TestBackend::of_target(env!("CARGO_CRATE_NAME")), "crash");
    let database = scratch.url().to_owned();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();

    let mut server = start(&database);
    let (sale, tokens) = runtime.block_on(setup(&client, &server.base));
    let tokens = Arc::new(tokens);
    let mut acknowledged: Vec<Acknowledged> = Vec::new();

    for round in 0..ROUNDS {
        let acks: Arc<Mutex<Vec<Acknowledged>>> = Arc::default();
        let kill_after = Duration::from_millis(rng.gen_range(150..700));
        runtime.block_on(async {
            let workers: Vec<_> = (0..32)
                .map(|w| {
                    let client = client.clone();
                    let base = server.base.clone();
                    let tokens = tokens.clone();
                    let acks = acks.clone();
                    tokio::spawn(async move {
                        for n in 0.. {
                            let buyer = (w * 7 + n) % tokens.len();
                            let key = format!("r{round}-w{w}-n{n}");
                            let sent = client
                                .post(format!("{base}/v1/sales/{sale}/orders"))
                                .bearer_auth(&tokens[buyer])
                                .header("idempotency-key", &key)
                                .json(&json!({"quantity": 1}))
                                .send()
                                .await;
                            let Ok(response) = sent else { return };
                            if response.status() == 201 {
                                let Ok(body) = response.json::<Value>().await else {
                                    return;
                                };
                                acks.lock().unwrap().push((
                                    buyer,
                                    key,
                                    body["id"].as_str().unwrap().to_owned(),
                                ));
                            }
                        }
                    })
                })
                .collect();
            tokio::time::sleep(kill_after).await;
            kill(&mut server);
            for w in workers {
                let _ = w.await;
            }
        });
        let round_acks = std::mem::take(&mut *acks.lock().unwrap());
        println!(
            "round {round}: killed after {kill_after:?} with {} acknowledged orders",
            round_acks.len()
        );
        acknowledged.extend(round_acks);

        server = start(&database);
        runtime.block_on(async {
            let (status, counters) = call(
                &client,
                reqwest::Method::GET,
                format!("{}/v1/sales/{sale}", server.base),
                "",
                Value::Null,
            )
            .await;
            assert_eq!(status, 200);
            let n = |k: &str| counters[k].as_u64().unwrap();
            assert_eq!(
                n("available") + n("reserved") + n("paid") + n("fulfilled") + n("released"),
                QUANTITY,
                "{counters}"
            );
            assert!(
                n("reserved") >= acknowledged.len() as u64,
                "every acknowledged unit is reserved: {counters}"
            );
            let checks = acknowledged
                .chunks(acknowledged.len().div_ceil(32).max(1))
                .map(|chunk| {
                    let client = client.clone();
                    let base = server.base.clone();
                    let tokens = tokens.clone();
                    let chunk = chunk.to_vec();
                    tokio::spawn(async move {
                        for (buyer, key, order) in chunk {
                            let (status, body) = call(
                                &client,
                                reqwest::Method::GET,
                                format!("{base}/v1/orders/{order}"),
                                ADMIN,
                                Value::Null,
                            )
                            .await;
                            assert_eq!(
                                status, 200,
                                "acknowledged order {order} lost after round {round}"
                            );
                            assert_eq!(body["status"], "reserved");
                            let replay = client
                                .post(format!("{base}/v1/sales/{sale}/orders"))
                                .bearer_auth(&tokens[buyer])
                                .header("idempotency-key", &key)
                                .json(&json!({"quantity": 1}))
                                .send()
                                .await
                                .unwrap();
                            assert_eq!(replay.status(), 201);
                            let replayed: Value = replay.json().await.unwrap();
                            assert_eq!(
                                replayed["id"].as_str(),
                                Some(order.as_str()),
                                "key {key} answers with its order"
                            );
                        }
                    })
                });
            for check in futures_join(checks.collect()).await {
                check.expect("a check failed");
            }
        });
    }
    assert!(!acknowledged.is_empty(), "the load produced orders");
    kill(&mut server);
}

async fn futures_join(
    handles: Vec<tokio::task::JoinHandle<()>>,
) -> Vec<Result<(), tokio::task::JoinError>> {
    let mut results = Vec::with_capacity(handles.len());
    for handle in handles {
        results.push(handle.await);
    }
    results
}
