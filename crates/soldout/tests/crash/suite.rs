// Crash test, written once and compiled twice (`crash.rs` on SQLite,
// `crash_postgres.rs` on PostgreSQL): the real binary under load, killed with SIGKILL
// at random moments, several rounds. After each restart every order that was answered
// 201 is there, its idempotency key still answers with it, and the counters add up.
// The includer declares `mod server_process` (tests/server_process/mod.rs).

use rand::{Rng, SeedableRng};
use server_process::{call, catalog, sigkill, spawn};
use soldout_store::scratch::{TestBackend, TestDatabase};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const ADMIN: &str = "crash-admin-token";
const QUANTITY: u64 = 60_000;
const BUYERS: usize = 600;
const ROUNDS: usize = 4;

async fn setup(client: &reqwest::Client, base: &str) -> (i64, Vec<String>) {
    catalog(client, base, ADMIN, QUANTITY).await;
    let admin = |path: &str, body: Value| {
        call(
            client,
            reqwest::Method::POST,
            format!("{base}{path}"),
            ADMIN,
            body,
        )
    };
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

    let mut server = spawn(&database, ADMIN, &[]);
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
            sigkill(&mut server);
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

        server = spawn(&database, ADMIN, &[]);
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
    sigkill(&mut server);
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
