//! Several `soldout serve` processes on one PostgreSQL database, each a node with its
//! own `--node-id`, selling the same flash sale through allotment leases. Real
//! processes, real loopback HTTP, the machine's PostgreSQL (a scratch database of its
//! own, dropped at the end). Without `SOLDOUT_TEST_DATABASE_URL` the run says once
//! that it was skipped.
//!
//! - A rush of 5,000 buyers over three nodes on a 500-unit sale (limit 1), each buy's
//!   key replayed on another node, and some buyers trying a second unit on a third:
//!   exactly 500 sold, nobody above the limit, every replay the same order.
//! - SIGKILL of one node in the middle of a rush, three rounds: no acknowledged order
//!   lost, none oversold, the dead node's leased units sold by the others once its
//!   lease expires, counters that add up.
//! - A node cut off from PostgreSQL (a TCP proxy the test cuts) sells nothing past its
//!   lease: its buyers get 503s, the other node sells the rest, and when the node is
//!   back its old lease is refused.
//! - A fair start across three nodes: buys held on every node, some keys sent to two
//!   nodes, are one draw with one recorded seed, and the winners are exactly those the
//!   core's draw picks from the same requests and seed, as one node would.
//! - A rollout created on one node offers on the other; failures reported on both
//!   halt it, and the other node stops offering within two seconds.

mod server_process;

use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use server_process::{call, catalog, sigkill, spawn, ServerProcess};
use soldout_store::scratch::{around_host, TcpProxy, TestBackend, TestDatabase};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const ADMIN: &str = "nodes-admin-token";
const BUYERS: usize = 5_000;
/// Seconds a lease lives without renewal in these tests (the default is 10).
const LEASE_TTL_SECS: &str = "2";

/// A node: its process and the name it was started with.
struct Node {
    name: String,
    server: ServerProcess,
}

fn start_node(database: &str, name: &str) -> Node {
    let server = spawn(
        database,
        ADMIN,
        &[
            "--node-id",
            name,
            "--lease-ttl-secs",
            LEASE_TTL_SECS,
            // Every test client speaks from 127.0.0.1, as behind a load balancer.
            "--connections-per-client-max",
            "4096",
        ],
    );
    Node {
        name: name.to_owned(),
        server,
    }
}

async fn admin(client: &reqwest::Client, base: &str, path: &str, body: Value) -> Value {
    let (status, body) = call(
        client,
        reqwest::Method::POST,
        format!("{base}{path}"),
        ADMIN,
        body,
    )
    .await;
    assert_eq!(status, 201, "{path}: {body}");
    body
}

/// The catalog, the warehouse's stock and the buyers (created over every node).
async fn setup(client: &reqwest::Client, nodes: &[String], units: u64) -> Arc<Vec<String>> {
    catalog(client, &nodes[0], ADMIN, units).await;
    let tokens: Vec<String> = futures_join(
        (0..BUYERS).map(|i| {
            let client = client.clone();
            let base = nodes[i % nodes.len()].clone();
            async move {
                let (status, body) = call(
                    &client,
                    reqwest::Method::POST,
                    format!("{base}/v1/customers"),
                    "",
                    json!({"email": format!("buyer{i}@example.com")}),
                )
                .await;
                assert_eq!(status, 201, "{body}");
                body["token"].as_str().unwrap().to_owned()
            }
        }),
        64,
    )
    .await;
    Arc::new(tokens)
}

/// Runs futures with at most `width` at once, keeping their order.
async fn futures_join<F, T>(futures: impl Iterator<Item = F>, width: usize) -> Vec<T>
where
    F: std::future::Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let limit = Arc::new(tokio::sync::Semaphore::new(width));
    let handles: Vec<_> = futures
        .map(|f| {
            let limit = limit.clone();
            tokio::spawn(async move {
                let _permit = limit.acquire_owned().await.unwrap();
                f.await
            })
        })
        .collect();
    let mut out = Vec::with_capacity(handles.len());
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}

async fn open_sale(client: &reqwest::Client, base: &str, quantity: u64, limit: u32) -> i64 {
    let sale = json!({"sku": "RN4-3-32-GLD", "market": "IN", "location": "wh-in-sricity", "quantity": quantity,
        "starts_at": "2017-07-04T00:00:00Z", "ends_at": "2017-07-05T00:00:00Z", "per_customer_limit": limit,
        "payment_window_secs": 86400});
    admin(client, base, "/v1/sales", sale).await["id"]
        .as_i64()
        .unwrap()
}

/// One buy, retried (on the next node each time) while the answer is a 503 or the
/// node is unreachable. Returns the final status and body.
async fn buy(
    client: &reqwest::Client,
    nodes: &[String],
    first: usize,
    sale: i64,
    token: &str,
    key: &str,
) -> (u16, Value, usize) {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut at = first;
    loop {
        let base = &nodes[at % nodes.len()];
        let sent = client
            .post(format!("{base}/v1/sales/{sale}/orders"))
            .bearer_auth(token)
            .header("idempotency-key", key)
            .json(&json!({"quantity": 1}))
            .send()
            .await;
        if let Ok(response) = sent {
            let status = response.status().as_u16();
            let body: Value = response.json().await.unwrap_or(Value::Null);
            if status != 503 {
                return (status, body, at % nodes.len());
            }
        }
        assert!(
            Instant::now() < deadline,
            "a buy kept getting 503s for a minute"
        );
        at += 1;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn sale_view(client: &reqwest::Client, base: &str, sale: i64) -> Value {
    let (status, body) = call(
        client,
        reqwest::Method::GET,
        format!("{base}/v1/sales/{sale}"),
        ADMIN,
        Value::Null,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body
}

fn counters_add_up(view: &Value) {
    let n = |k: &str| view[k].as_u64().unwrap();
    assert_eq!(
        n("available") + n("reserved") + n("paid") + n("fulfilled") + n("released"),
        n("quantity"),
        "{view}"
    );
}

/// Waits until every node's view of the sale shows `sold` units reserved and none
/// available (a view is refreshed on signals and on a timer).
async fn every_node_shows(client: &reqwest::Client, nodes: &[String], sale: i64, sold: u64) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let mut all = true;
        for base in nodes {
            let view = sale_view(client, base, sale).await;
            counters_add_up(&view);
            all &= view["reserved"].as_u64() == Some(sold) && view["available"].as_u64() == Some(0);
        }
        if all {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the nodes did not all show {sold} sold"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// An acknowledged order (201): buyer, key, order id.
type Acknowledged = (usize, String, String);

/// Every acknowledged order is there on every node, its key answers with it again.
async fn acknowledged_are_kept(
    client: &reqwest::Client,
    nodes: &[String],
    sale: i64,
    tokens: &[String],
    acks: &[Acknowledged],
) {
    for (n, (buyer, key, id)) in acks.iter().enumerate() {
        let base = &nodes[n % nodes.len()];
        let (status, order) = call(
            client,
            reqwest::Method::GET,
            format!("{base}/v1/orders/{id}"),
            &tokens[*buyer],
            Value::Null,
        )
        .await;
        assert_eq!(status, 200, "acknowledged order {id} is gone: {order}");
        let (status, again, _) = buy(client, nodes, n + 1, sale, &tokens[*buyer], key).await;
        assert!(
            status == 200 || status == 201,
            "replay of {key}: {status} {again}"
        );
        assert_eq!(
            again["id"].as_str(),
            Some(id.as_str()),
            "replay of {key} gave another order"
        );
    }
}

fn scratch() -> TestDatabase {
    TestDatabase::fresh_blocking(TestBackend::of_target(env!("CARGO_CRATE_NAME")), "nodes")
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .pool_max_idle_per_host(256)
        .build()
        .unwrap()
}

#[test]
fn three_nodes_sell_exactly_the_sale_with_limits_and_keys_honoured_across_nodes() {
    let database = scratch();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let nodes: Vec<Node> = (1..=3)
        .map(|i| start_node(database.url(), &format!("n{i}")))
        .collect();
    let bases: Arc<Vec<String>> = Arc::new(nodes.iter().map(|n| n.server.base.clone()).collect());
    let client = client();
    runtime.block_on(async {
        let tokens = setup(&client, &bases, 10_000).await;
        let sale = open_sale(&client, &bases[0], 500, 1).await;
        let outcomes = futures_join(
            (0..BUYERS).map(|i| {
                let (client, bases, tokens) = (client.clone(), bases.clone(), tokens.clone());
                async move {
                    let key = format!("rush-{i}");
                    let (status, body, node) =
                        buy(&client, &bases, i, sale, &tokens[i], &key).await;
                    let mut second = None;
                    if i % 10 == 0 {
                        // The same buyer, another key, another node: the limit holds
                        // across nodes.
                        let (s, b, _) = buy(
                            &client,
                            &bases,
                            i + 2,
                            sale,
                            &tokens[i],
                            &format!("second-{i}"),
                        )
                        .await;
                        second = Some((s, b));
                    }
                    let mut replay = None;
                    if status == 201 {
                        // The same key on another node: the same order.
                        let (s, b, _) =
                            buy(&client, &bases, node + 1, sale, &tokens[i], &key).await;
                        replay = Some((s, b));
                    }
                    (i, status, body, second, replay)
                }
            }),
            256,
        )
        .await;
        let mut sold: HashMap<usize, Vec<String>> = HashMap::new();
        let mut ids = HashSet::new();
        for (i, status, body, second, replay) in &outcomes {
            match status {
                201 => {
                    let id = body["id"].as_str().unwrap().to_owned();
                    assert!(ids.insert(id.clone()), "order {id} acknowledged twice");
                    sold.entry(*i).or_default().push(id.clone());
                    let (rs, rb) = replay.as_ref().unwrap();
                    // A replay answers as the first answer did.
                    assert_eq!(*rs, 201, "a replay on another node: {rb}");
                    assert_eq!(
                        rb["id"].as_str(),
                        Some(id.as_str()),
                        "a replay on another node gave another order"
                    );
                }
                409 => assert!(
                    ["sold-out", "limit-reached"]
                        .iter()
                        .any(|s| body["type"].as_str().unwrap_or("").ends_with(s)),
                    "{body}"
                ),
                other => panic!("unexpected answer {other}: {body}"),
            }
            if let Some((s, b)) = second {
                if *s == 201 {
                    let id = b["id"].as_str().unwrap().to_owned();
                    assert!(ids.insert(id.clone()), "order {id} acknowledged twice");
                    sold.entry(*i).or_default().push(id);
                } else {
                    assert_eq!(*s, 409, "{b}");
                }
            }
        }
        assert_eq!(ids.len(), 500, "exactly the sale's units are sold");
        assert!(
            sold.values().all(|orders| orders.len() == 1),
            "a buyer holds more than the limit"
        );
        every_node_shows(&client, &bases, sale, 500).await;
        // Sold out everywhere: a fresh buyer on each node is told so.
        for (n, base) in bases.iter().enumerate() {
            let (status, body) = {
                let r = client
                    .post(format!("{base}/v1/sales/{sale}/orders"))
                    .bearer_auth(&tokens[BUYERS - 1 - n])
                    .header("idempotency-key", format!("late-{n}"))
                    .json(&json!({"quantity": 1}))
                    .send()
                    .await
                    .unwrap();
                (r.status().as_u16(), r.json::<Value>().await.unwrap())
            };
            if !sold.contains_key(&(BUYERS - 1 - n)) {
                assert_eq!(status, 409, "{body}");
                assert!(
                    body["type"].as_str().unwrap().ends_with("sold-out"),
                    "{body}"
                );
            }
        }
    });
    drop(nodes);
}

#[test]
fn a_node_killed_in_the_rush_loses_nothing_and_its_units_are_sold_by_the_others() {
    let database = scratch();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mut nodes: Vec<Node> = (1..=3)
        .map(|i| start_node(database.url(), &format!("k{i}")))
        .collect();
    let client = client();
    let seed: u64 = rand::random();
    println!("nodes kill test seed {seed}");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let bases0: Vec<String> = nodes.iter().map(|n| n.server.base.clone()).collect();
    let tokens = runtime.block_on(setup(&client, &bases0, 10_000));
    for round in 0..3 {
        let victim = round % nodes.len();
        let bases: Arc<Vec<String>> =
            Arc::new(nodes.iter().map(|n| n.server.base.clone()).collect());
        let sale = runtime.block_on(open_sale(&client, &bases[0], 300, 1));
        let acks: Arc<Mutex<Vec<Acknowledged>>> = Arc::default();
        let kill_after = Duration::from_millis(rng.gen_range(100..600));
        let rush = {
            let (client, bases, tokens, acks) =
                (client.clone(), bases.clone(), tokens.clone(), acks.clone());
            runtime.spawn(async move {
                futures_join(
                    (0..1_500).map(move |i| {
                        let (client, bases, tokens, acks) =
                            (client.clone(), bases.clone(), tokens.clone(), acks.clone());
                        async move {
                            let buyer = (i * 7 + round * 1_500) % tokens.len();
                            let key = format!("kill-{round}-{i}");
                            let (status, body, _) =
                                buy(&client, &bases, i, sale, &tokens[buyer], &key).await;
                            if status == 201 {
                                acks.lock().unwrap().push((
                                    buyer,
                                    key,
                                    body["id"].as_str().unwrap().to_owned(),
                                ));
                            } else {
                                assert_eq!(status, 409, "{body}");
                            }
                        }
                    }),
                    128,
                )
                .await
            })
        };
        std::thread::sleep(kill_after);
        sigkill(&mut nodes[victim].server);
        runtime.block_on(rush).unwrap();
        let survivors: Vec<String> = bases
            .iter()
            .enumerate()
            .filter(|&(i, _)| i != victim)
            .map(|(_, b)| b.clone())
            .collect();
        let acks = acks.lock().unwrap().clone();
        // Every buyer got an answer, so what the dead node leased came back (its
        // lease expired) and was sold: exactly the sale's units, none twice.
        let distinct: HashSet<&String> = acks.iter().map(|(_, _, id)| id).collect();
        assert_eq!(distinct.len(), acks.len(), "an order acknowledged twice");
        assert_eq!(
            acks.len(),
            300,
            "round {round}: the sale's units are all sold, none oversold"
        );
        runtime.block_on(every_node_shows(&client, &survivors, sale, 300));
        runtime.block_on(acknowledged_are_kept(
            &client, &survivors, sale, &tokens, &acks,
        ));
        // The dead node comes back under its name.
        let name = nodes[victim].name.clone();
        nodes[victim] = start_node(database.url(), &name);
    }
}

#[test]
fn a_node_cut_off_from_the_database_sells_nothing_past_its_lease() {
    let database = scratch();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (user, upstream, path) = around_host(database.url());
    let proxy = runtime.block_on(TcpProxy::to(upstream.to_owned()));
    let through_proxy = format!("{user}{}{path}", proxy.addr);
    let direct = start_node(database.url(), "direct");
    let cut_off = start_node(&through_proxy, "cut-off");
    let bases = vec![direct.server.base.clone(), cut_off.server.base.clone()];
    let client = client();
    let tokens = runtime.block_on(setup(&client, &bases, 10_000));
    runtime.block_on(async {
        let sale = open_sale(&client, &bases[0], 400, 1).await;
        // The cut-off node sells a little first, so it holds a lease.
        let mut acks: Vec<Acknowledged> = Vec::new();
        for i in 0..20 {
            let key = format!("before-{i}");
            let (status, body, _) = buy(&client, &bases[1..], 0, sale, &tokens[i], &key).await;
            assert_eq!(status, 201, "{body}");
            acks.push((i, key, body["id"].as_str().unwrap().to_owned()));
        }
        proxy.cut();
        // While cut off, the node answers its buyers 503 (never 201); the other node
        // sells on, and after the lease's expiry also the units the cut-off node held.
        for i in 20..100 {
            let r = client
                .post(format!("{}/v1/sales/{sale}/orders", bases[1]))
                .bearer_auth(&tokens[i])
                .header("idempotency-key", format!("cut-{i}"))
                .json(&json!({"quantity": 1}))
                .send()
                .await;
            if let Ok(r) = r {
                assert_ne!(
                    r.status().as_u16(),
                    201,
                    "a node cut off from the database sold"
                );
            }
        }
        let rest = futures_join(
            (100..600).map(|i| {
                let (client, direct, tokens) =
                    (client.clone(), vec![bases[0].clone()], tokens.clone());
                async move {
                    let key = format!("direct-{i}");
                    let (status, body, _) = buy(&client, &direct, 0, sale, &tokens[i], &key).await;
                    (i, key, status, body)
                }
            }),
            64,
        )
        .await;
        for (i, key, status, body) in rest {
            if status == 201 {
                acks.push((i, key, body["id"].as_str().unwrap().to_owned()));
            } else {
                assert!(
                    body["type"].as_str().unwrap().ends_with("sold-out"),
                    "{body}"
                );
            }
        }
        // The cut-off node's lease expired, so the direct node sold its units too.
        assert_eq!(acks.len(), 400, "every unit sold once");
        proxy.restore();
        // Back: its old lease is gone; it sells nothing more (the sale is sold out)
        // and reports what the database says.
        let (status, body, _) = buy(&client, &bases[1..], 0, sale, &tokens[700], "after").await;
        assert_eq!(status, 409, "{body}");
        every_node_shows(&client, &bases, sale, 400).await;
        acknowledged_are_kept(&client, &bases, sale, &tokens, &acks).await;
    });
    drop((direct, cut_off));
}

#[test]
fn the_fair_start_is_one_draw_across_nodes_with_one_recorded_seed() {
    use soldout_core::sale::draw::{decide_held, HeldBuy};
    use soldout_core::sale::{idempotency_fingerprint, OrderId, SaleId, SaleTerms};
    use soldout_core::CustomerId;
    const HOPEFULS: usize = 600;
    const UNITS: u64 = 100;
    let database = scratch();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let nodes: Vec<Node> = (1..=3)
        .map(|i| start_node(database.url(), &format!("f{i}")))
        .collect();
    let bases: Arc<Vec<String>> = Arc::new(nodes.iter().map(|n| n.server.base.clone()).collect());
    let client = client();
    runtime.block_on(async {
        let tokens = setup(&client, &bases, 10_000).await;
        let (_, health) = call(
            &client,
            reqwest::Method::GET,
            format!("{}/healthz", bases[0]),
            "",
            Value::Null,
        )
        .await;
        let now: chrono::DateTime<chrono::Utc> = health["now"].as_str().unwrap().parse().unwrap();
        let starts_at = now + chrono::Duration::seconds(2);
        let sale = json!({"sku": "RN4-3-32-GLD", "market": "IN", "location": "wh-in-sricity",
            "quantity": UNITS, "starts_at": starts_at, "ends_at": starts_at + chrono::Duration::hours(1),
            "per_customer_limit": 1, "payment_window_secs": 86400, "fair_start_secs": 2});
        let view = admin(&client, &bases[0], "/v1/sales", sale).await;
        let sale = view["id"].as_i64().unwrap();
        // Everyone asks before the window closes, on every node; one in five sends the
        // same key to a second node too (a retry that lands elsewhere).
        let answers = futures_join(
            (0..HOPEFULS).map(|i| {
                let (client, bases, tokens) = (client.clone(), bases.clone(), tokens.clone());
                async move {
                    let send = |node: usize| {
                        let (client, base, token) =
                            (client.clone(), bases[node % 3].clone(), tokens[i].clone());
                        async move {
                            let r = client
                                .post(format!("{base}/v1/sales/{sale}/orders"))
                                .bearer_auth(token)
                                .header("idempotency-key", format!("fair-{i}"))
                                .json(&json!({"quantity": 1}))
                                .send()
                                .await
                                .unwrap();
                            (r.status().as_u16(), r.json::<Value>().await.unwrap())
                        }
                    };
                    if i % 5 == 0 {
                        let (a, b) = tokio::join!(send(i), send(i + 1));
                        (i, a, Some(b))
                    } else {
                        (i, send(i).await, None)
                    }
                }
            }),
            HOPEFULS * 2,
        )
        .await;
        let mut winners: HashSet<usize> = HashSet::new();
        let mut ids = HashSet::new();
        for (i, (status, body), twin) in &answers {
            match status {
                201 => {
                    winners.insert(*i);
                    ids.insert(body["id"].as_str().unwrap().to_owned());
                }
                409 => assert!(body["type"].as_str().unwrap().ends_with("sold-out"), "{body}"),
                other => panic!("unexpected answer {other}: {body}"),
            }
            if let Some((twin_status, twin_body)) = twin {
                assert_eq!(twin_status, status, "the same key on two nodes: {body} / {twin_body}");
                assert_eq!(twin_body["id"], body["id"], "the same key on two nodes, two orders");
            }
        }
        assert_eq!(ids.len() as u64, UNITS, "the draw sells exactly the sale");
        // One seed, the same on every node.
        let mut seeds = HashSet::new();
        for base in bases.iter() {
            seeds.insert(sale_view(&client, base, sale).await["fair_start_seed"].clone());
        }
        assert_eq!(seeds.len(), 1, "one seed: {seeds:?}");
        let seed: u64 = seeds
            .into_iter()
            .next()
            .unwrap()
            .as_str()
            .expect("a seed")
            .parse()
            .unwrap();
        // The same requests and seed, decided by the core's draw as one node does.
        let customer = |i: usize| -> CustomerId {
            CustomerId(tokens[i].split('.').nth(1).unwrap().parse().unwrap())
        };
        let buys: Vec<HeldBuy> = (0..HOPEFULS)
            .map(|i| HeldBuy {
                customer: customer(i),
                quantity: 1,
                key: idempotency_fingerprint(customer(i), &format!("fair-{i}")),
            })
            .collect();
        let parse = |field: &str| -> chrono::DateTime<chrono::Utc> {
            view[field].as_str().unwrap().parse().unwrap()
        };
        let terms = SaleTerms {
            id: SaleId(sale),
            sku: soldout_core::SkuCode::parse("RN4-3-32-GLD").unwrap(),
            product: soldout_core::ProductId::parse("redmi-note-4").unwrap(),
            market: soldout_core::MarketCode::parse("IN").unwrap(),
            location: soldout_core::LocationId::parse("wh-in-sricity").unwrap(),
            quantity: UNITS as u32,
            price: 1_099_900,
            currency: soldout_core::Currency::parse("INR").unwrap(),
            starts_at: parse("starts_at"),
            ends_at: parse("ends_at"),
            per_customer_limit: 1,
            payment_window_secs: 86400,
            registration_required: false,
            fair_start_secs: 2,
            created_at: now,
        };
        let mut n = 0u64;
        let decided = decide_held(&terms, [], &buys, seed, terms.fair_start_closes_at(), || {
            n += 1;
            OrderId::of_sale(terms.id, 1, n)
        });
        let expected: HashSet<usize> = (0..HOPEFULS).filter(|&i| decided[i].is_ok()).collect();
        assert_eq!(winners, expected, "the draw picked other winners than one node would");
        every_node_shows(&client, &bases, sale, UNITS).await;
    });
    drop(nodes);
}

#[test]
fn a_rollout_halted_on_one_node_stops_offering_on_every_node() {
    let database = scratch();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let nodes: Vec<Node> = (1..=2)
        .map(|i| start_node(database.url(), &format!("r{i}")))
        .collect();
    let (a, b) = (nodes[0].server.base.clone(), nodes[1].server.base.clone());
    let client = client();
    runtime.block_on(async {
        catalog(&client, &a, ADMIN, 10).await;
        let mut csv = String::from("serial,sku,market,os_version,sold_at\n");
        for i in 0..8 {
            csv.push_str(&format!("RN4IN{i:06},RN4-3-32-GLD,IN,8.2,2017-03-01\n"));
        }
        let imported = client
            .post(format!("{a}/v1/devices:import"))
            .bearer_auth(ADMIN)
            .header("content-type", "text/csv")
            .body(csv)
            .send()
            .await
            .unwrap();
        assert_eq!(imported.status(), 201);
        let sha = "5f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0";
        admin(&client, &a, "/v1/os/releases", json!({
            "id": "miui-9", "name": "MIUI 9", "version": "9.0", "min_version": "8.0",
            "builds": [{"models": ["redmi-note-4"], "base": "Android 7.0",
                        "url": "https://updates.example.com/miui-9/rn4.zip", "sha256": sha, "size": 1500000000u64}]
        }))
        .await;
        let (_, health) = call(&client, reqwest::Method::GET, format!("{a}/healthz"), "", Value::Null).await;
        let now: chrono::DateTime<chrono::Utc> = health["now"].as_str().unwrap().parse().unwrap();
        admin(&client, &a, "/v1/os/rollouts", json!({
            "id": "miui-9-in", "release": "miui-9", "markets": ["IN"], "starts_at": now,
            "waves": [{"percent": 100}], "error_threshold": 0.4, "min_reports": 3, "advance": "manual"
        }))
        .await;
        let mut tokens = Vec::new();
        for i in 0..8 {
            let (status, body) = call(
                &client,
                reqwest::Method::POST,
                format!("{a}/v1/devices/RN4IN{i:06}/token"),
                ADMIN,
                json!({}),
            )
            .await;
            assert_eq!(status, 200, "{body}");
            tokens.push(body["token"].as_str().unwrap().to_owned());
        }
        let check_in = |base: String, token: String| {
            let client = client.clone();
            async move {
                let (status, body) = call(
                    &client,
                    reqwest::Method::POST,
                    format!("{base}/v1/devices/check-in"),
                    &token,
                    json!({"version": "8.2"}),
                )
                .await;
                assert_eq!(status, 200, "{body}");
                !body["update"].is_null()
            }
        };
        let report = |base: String, token: String| {
            let client = client.clone();
            async move {
                call(
                    &client,
                    reqwest::Method::POST,
                    format!("{base}/v1/devices/updates"),
                    &token,
                    json!({"rollout": "miui-9-in", "status": "failed", "error": "bootloop"}),
                )
                .await
            }
        };
        // The rollout created on A is offered on B (B meets it by itself).
        let deadline = Instant::now() + Duration::from_secs(5);
        while !check_in(b.clone(), tokens[0].clone()).await {
            assert!(Instant::now() < deadline, "node B never offered A's rollout");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(check_in(b.clone(), tokens[1].clone()).await);
        assert!(check_in(a.clone(), tokens[2].clone()).await);
        // Two failures on B, then (once A has followed them) the third on A: A halts.
        for token in &tokens[..2] {
            let (status, body) = report(b.clone(), token.clone()).await;
            assert_eq!(status, 200, "{body}");
        }
        tokio::time::sleep(Duration::from_millis(1200)).await;
        let (status, body) = report(a.clone(), tokens[2].clone()).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["rollout_state"], "halted", "three failures of three: {body}");
        // B stops offering within two seconds, and says the rollout is halted.
        let halted_at = Instant::now();
        while check_in(b.clone(), tokens[3].clone()).await {
            assert!(
                halted_at.elapsed() < Duration::from_secs(2),
                "node B still offers a rollout halted on A"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let (_, view) = call(&client, reqwest::Method::GET, format!("{b}/v1/os/rollouts/miui-9-in"), ADMIN, Value::Null).await;
        assert_eq!(view["state"], "halted", "{view}");
        assert_eq!(view["reports"], 3, "{view}");
    });
    drop(nodes);
}
