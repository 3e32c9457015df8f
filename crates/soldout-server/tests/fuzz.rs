//! Property-based fuzzing of everything that parses outside input: the CSV rows of
//! every import, bearer tokens of every kind, the webhook's signature header, and
//! every route's body (random, and valid bodies built from the API document then
//! mutated) sent to the real router in process on a real SQLite file. Never a panic,
//! never a 5xx, and a refusal changes nothing in the database.
//!
//! Cases per target: `SOLDOUT_FUZZ_CASES` (2,000 unless set). A long run:
//! `SOLDOUT_FUZZ_CASES=1000000 cargo test --release -p soldout-server --test fuzz`.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::{json, Map, Value};
use soldout_core::access::ClerkId;
use soldout_core::shipment::{parse_shipment_row, ImportCatalog};
use soldout_core::{fx::parse_fx_row, tracker::parse_tracker_row};
use soldout_core::{CustomerId, LocationId, MarketCode, Principal, ProductId, Serial, SkuCode};
use soldout_engine::rollouts::DeviceClaim;
use soldout_engine::Clock;
use soldout_server::auth::Tokens;
use soldout_server::routes::payments::{provider_signature, verify_signature};
use soldout_server::{App, AppState, Settings};
use sqlx::Connection;
use tower::ServiceExt;

/// The API tests' fixtures: the seeded catalog and the clock's start.
#[path = "api/helpers.rs"]
#[allow(dead_code)]
mod helpers;

fn cases() -> u32 {
    std::env::var("SOLDOUT_FUZZ_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(2_000)
}

fn runner() -> TestRunner {
    TestRunner::new(Config {
        cases: cases(),
        failure_persistence: None,
        ..Config::default()
    })
}

/// Text a hostile client might send in one field: near-valid values, numbers at
/// and past every bound, control characters, long and non-ASCII text.
fn field() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "2017-04-03",
            "2017-02-30",
            "2017Q2",
            "2017Q5",
            "IN",
            "in",
            "INR",
            "USD",
            "partner",
            "online",
            "redmi-note-4",
            "RN4-3-32-GLD",
            "Samsung",
            "Others",
            "100",
            "-100",
            "0",
            "1000.00",
            "1000.001",
            "-0.00",
            "1e309",
            "NaN",
            "99999999999999999999999",
            "9223372036854775808",
            "64.46",
            "0.0000000001",
            "",
            " ",
            "\u{0}",
            "\"",
        ])
        .prop_map(str::to_owned),
        "\\PC{0,40}",
        any::<String>(),
        "[0-9.eE+-]{0,30}",
    ]
}

fn catalog() -> ImportCatalog {
    ImportCatalog {
        markets: [(
            MarketCode::parse("IN").unwrap(),
            soldout_core::Currency::parse("INR").unwrap(),
        )]
        .into(),
        products: [(
            ProductId::parse("redmi-note-4").unwrap(),
            vec![SkuCode::parse("RN4-3-32-GLD").unwrap()],
        )]
        .into(),
    }
}

#[test]
fn csv_rows_of_every_import_never_panic() {
    let catalog = catalog();
    runner()
        .run(&prop::collection::vec(field(), 0..10), |fields| {
            let fields: Vec<&str> = fields.iter().map(String::as_str).collect();
            let _ = parse_shipment_row(2, &fields, &catalog, "fuzz");
            let _ = parse_tracker_row(2, &fields, &catalog);
            let _ = parse_fx_row(2, &fields, &catalog);
            Ok(())
        })
        .unwrap();
    // Whole installed-base files: the header, then rows of fuzzed fields, quotes and
    // line breaks included.
    let rows = prop::collection::vec(prop::collection::vec(field(), 0..7), 0..5);
    runner()
        .run(&rows, |rows| {
            let mut csv = String::from(soldout_engine::rollouts::DEVICES_HEADER);
            for row in rows {
                csv.push('\n');
                csv.push_str(&row.join(","));
            }
            let _ = soldout_engine::rollouts::parse_devices(csv.as_bytes());
            Ok(())
        })
        .unwrap();
}

/// One byte of `text` changed, dropped or added, at `at` (taken modulo its length).
fn mutate(text: &str, at: usize, kind: u8, byte: u8) -> Vec<u8> {
    let mut bytes = text.as_bytes().to_vec();
    let at = if bytes.is_empty() {
        0
    } else {
        at % bytes.len()
    };
    match kind % 3 {
        0 if !bytes.is_empty() => bytes[at] = byte,
        1 if !bytes.is_empty() => {
            bytes.remove(at);
        }
        _ => bytes.insert(at, byte),
    }
    bytes
}

#[test]
fn bearer_tokens_of_every_kind_cannot_be_forged_by_mutation() {
    let admin = "admin-token-for-fuzzing";
    let tokens = Tokens::new(admin.into(), "fuzz-signing-key");
    let now = chrono::Utc::now();
    let store = LocationId::parse("wh-in-sricity").unwrap();
    let device = DeviceClaim {
        serial: Serial::parse("SN-0001").unwrap(),
        product: ProductId::parse("redmi-note-4").unwrap(),
        market: MarketCode::parse("IN").unwrap(),
    };
    let genuine: Vec<(String, Principal)> = vec![
        (admin.to_owned(), Principal::Admin),
        (
            tokens.customer_token(CustomerId(42), now),
            Principal::Customer(CustomerId(42)),
        ),
        (
            tokens.clerk_token(ClerkId(7), &store),
            tokens
                .check(&tokens.clerk_token(ClerkId(7), &store), now)
                .unwrap(),
        ),
    ];
    let device_token = tokens.device_token(&device);
    for (token, principal) in &genuine {
        assert_eq!(&tokens.check(token, now).unwrap(), principal);
    }
    let cases = (
        0..genuine.len() + 1,
        any::<usize>(),
        any::<u8>(),
        any::<u8>(),
    );
    runner()
        .run(&cases, |(which, at, kind, byte)| {
            if which == genuine.len() {
                let mutated = mutate(&device_token, at, kind, byte);
                let Ok(mutated) = std::str::from_utf8(&mutated) else {
                    return Ok(());
                };
                if let Some(claim) = tokens.resolve_device(mutated) {
                    prop_assert_eq!(
                        claim,
                        device.clone(),
                        "a mutated device token named another device"
                    );
                }
                return Ok(());
            }
            let (token, principal) = &genuine[which];
            let mutated = mutate(token, at, kind, byte);
            let Ok(mutated) = std::str::from_utf8(&mutated) else {
                return Ok(());
            };
            if let Ok(found) = tokens.check(mutated, now) {
                prop_assert_eq!(&found, principal, "{:?} resolved to someone else", mutated);
            }
            Ok(())
        })
        .unwrap();
    runner()
        .run(&any::<String>(), |text| {
            let found = tokens.check(&text, now);
            prop_assert!(
                found.is_err() || text == admin,
                "random text {:?} is a token",
                text
            );
            prop_assert!(tokens.resolve_device(&text).is_none());
            Ok(())
        })
        .unwrap();
}

#[test]
fn the_webhook_signature_holds_only_for_its_own_body() {
    let secret = b"whsec_fuzz";
    let now = 1_500_000_000i64;
    let body = br#"{"order":"01BKQZ6N0000000000000000AB","event_id":"evt_1","outcome":"paid","amount":1099900,"currency":"INR"}"#;
    let header = provider_signature(secret, now, body);
    assert!(verify_signature(secret, Some(&header), body, now).is_ok());
    let cases = (any::<bool>(), any::<usize>(), any::<u8>(), any::<u8>());
    runner()
        .run(&cases, |(in_header, at, kind, byte)| {
            if in_header {
                let mutated = mutate(&header, at, kind, byte);
                if let Ok(mutated) = std::str::from_utf8(&mutated) {
                    // A header that still holds can only say the same thing in
                    // another spelling: the same time and the same MAC.
                    let _ = verify_signature(secret, Some(mutated), body, now);
                }
            } else {
                let mutated = mutate(std::str::from_utf8(body).unwrap(), at, kind, byte);
                prop_assert!(
                    mutated == body
                        || verify_signature(secret, Some(&header), &mutated, now).is_err(),
                    "the signature held for another body"
                );
            }
            Ok(())
        })
        .unwrap();
    runner()
        .run(&(any::<String>(), any::<Vec<u8>>()), |(header, body)| {
            prop_assert!(verify_signature(secret, Some(&header), &body, now).is_err());
            Ok(())
        })
        .unwrap();
}

/// The real router on a fresh SQLite file, seeded with a market, a product, a price
/// and a warehouse, and a connection of its own to watch the file for commits.
struct InProcess {
    runtime: tokio::runtime::Runtime,
    router: axum::Router,
    doc: Value,
    watcher: sqlx::SqliteConnection,
    /// The database's content at a `data_version`, hashed, once it was needed.
    known: Option<(i64, u64)>,
    state: AppState,
    tokens: Vec<Option<String>>,
    _database: soldout_store::scratch::TestDatabase,
}

const ADMIN: &str = "fuzz-admin-token";

impl InProcess {
    fn start() -> InProcess {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let database = soldout_store::scratch::TestDatabase::sqlite("fuzz").unwrap();
        let (router, doc, state, watcher) = runtime.block_on(async {
            let store = soldout_store::open(database.url()).await.unwrap();
            let settings = Settings {
                admin_token: Some(ADMIN.into()),
                payment_secret: Some("whsec_fuzz".into()),
                ..Settings::default()
            };
            let start = helpers::clock_start();
            let state = AppState::start(store, Clock::starting_at(Some(start)), settings)
                .await
                .unwrap();
            let (router, doc) = App::router_and_doc(state.clone());
            let watcher = sqlx::SqliteConnection::connect(database.url())
                .await
                .unwrap();
            (router, serde_json::to_value(doc).unwrap(), state, watcher)
        });
        let now = chrono::Utc::now();
        let tokens = vec![
            Some(ADMIN.to_owned()),
            Some(state.tokens.customer_token(CustomerId(1), now)),
            Some(
                state
                    .tokens
                    .clerk_token(ClerkId(1), &LocationId::parse("wh-in-sricity").unwrap()),
            ),
            Some(state.tokens.device_token(&DeviceClaim {
                serial: Serial::parse("SN-0001").unwrap(),
                product: ProductId::parse("redmi-note-4").unwrap(),
                market: MarketCode::parse("IN").unwrap(),
            })),
            None,
        ];
        let app = InProcess {
            runtime,
            router,
            doc,
            watcher,
            known: None,
            state: state.clone(),
            tokens,
            _database: database,
        };
        for (method, path, body, expected) in helpers::india_seed() {
            let request = app.request(
                method,
                path,
                Some(ADMIN),
                "application/json",
                body.to_string().into(),
            );
            let (status, _, _) = app.send(request);
            assert_eq!(status.as_u16(), expected, "seeding {path}");
        }
        app
    }

    fn request(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        content_type: &str,
        body: Vec<u8>,
    ) -> Request<Body> {
        let mut request = Request::builder()
            .method(method)
            .uri(path)
            .header("content-type", content_type)
            .header("idempotency-key", "fuzz-key-0001");
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        request.body(Body::from(body)).unwrap()
    }

    /// The status, the content type and the body of the router's answer.
    fn send(&self, request: Request<Body>) -> (StatusCode, String, Vec<u8>) {
        self.runtime.block_on(async {
            let response = self.router.clone().oneshot(request).await.unwrap();
            let status = response.status();
            let content_type = response
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned();
            let body = axum::body::to_bytes(response.into_body(), 1 << 24)
                .await
                .unwrap_or_default();
            (status, content_type, body.to_vec())
        })
    }

    /// SQLite's count of commits by other connections: it moves when the server
    /// writes anything.
    fn data_version(&mut self) -> i64 {
        let watcher = &mut self.watcher;
        self.runtime.block_on(async {
            sqlx::query_scalar::<_, i64>("PRAGMA data_version")
                .fetch_one(&mut *watcher)
                .await
                .unwrap()
        })
    }

    /// Every row of every table, hashed: what a commit could have changed. (The
    /// version alone also moves when the WAL is checkpointed, which changes nothing.)
    fn content_hash(&mut self) -> u64 {
        use std::hash::{Hash, Hasher};
        let watcher = &mut self.watcher;
        self.runtime.block_on(async {
            let tables: Vec<String> = sqlx::query_scalar(
                "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name",
            )
            .fetch_all(&mut *watcher)
            .await
            .unwrap();
            let mut hasher = std::collections::hash_map::DefaultHasher::new();
            for table in tables {
                let columns: Vec<String> =
                    sqlx::query_scalar("SELECT name FROM pragma_table_info(?1) ORDER BY cid")
                        .bind(&table)
                        .fetch_all(&mut *watcher)
                        .await
                        .unwrap();
                let row = columns
                    .iter()
                    .map(|c| format!("quote(\"{c}\")"))
                    .collect::<Vec<_>>()
                    .join(" || ',' || ");
                let mut rows: Vec<String> =
                    sqlx::query_scalar(&format!("SELECT {row} FROM \"{table}\""))
                        .fetch_all(&mut *watcher)
                        .await
                        .unwrap();
                rows.sort();
                (table, rows).hash(&mut hasher);
            }
            hasher.finish()
        })
    }

    /// The content's hash at `version`, from the cache when it holds that version.
    fn content_at(&mut self, version: i64) -> u64 {
        match self.known {
            Some((known, hash)) if known == version => hash,
            _ => {
                let hash = self.content_hash();
                self.known = Some((version, hash));
                hash
            }
        }
    }
}

/// An operation of the API document: its method, its path template and the schema
/// of its JSON body, if it takes one (`Some(Value::Null)` for a CSV body).
struct Operation {
    method: Method,
    path: String,
    body: Option<Value>,
}

fn operations(doc: &Value) -> Vec<Operation> {
    let mut found = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let Ok(method) = method.to_uppercase().parse::<Method>() else {
                continue;
            };
            let content = &operation["requestBody"]["content"];
            let body = if let Some(schema) = content.get("application/json") {
                Some(schema["schema"].clone())
            } else if content.get("text/csv").is_some() {
                Some(Value::Null)
            } else {
                None
            };
            found.push(Operation {
                method,
                path: path.clone(),
                body,
            });
        }
    }
    found
}

/// A body the schema describes, every property present, with plain values.
fn skeleton(schema: &Value, doc: &Value, depth: u32) -> Value {
    if depth > 6 {
        return Value::Null;
    }
    if let Some(reference) = schema["$ref"].as_str() {
        let name = reference.trim_start_matches("#/components/schemas/");
        return skeleton(&doc["components"]["schemas"][name], doc, depth + 1);
    }
    for choice in ["allOf", "oneOf", "anyOf"] {
        if let Some(first) = schema[choice].as_array().and_then(|a| a.first()) {
            return skeleton(first, doc, depth + 1);
        }
    }
    if let Some(first) = schema["enum"].as_array().and_then(|a| a.first()) {
        return first.clone();
    }
    let kind = match &schema["type"] {
        Value::Array(kinds) => kinds
            .iter()
            .filter_map(Value::as_str)
            .find(|k| *k != "null")
            .unwrap_or("null")
            .to_owned(),
        Value::String(kind) => kind.clone(),
        _ if schema.get("properties").is_some() => "object".into(),
        _ => "null".into(),
    };
    match kind.as_str() {
        "object" => Value::Object(
            schema["properties"]
                .as_object()
                .map(|properties| {
                    properties
                        .iter()
                        .map(|(k, s)| (k.clone(), skeleton(s, doc, depth + 1)))
                        .collect()
                })
                .unwrap_or_default(),
        ),
        "array" => json!([skeleton(&schema["items"], doc, depth + 1)]),
        "integer" => json!(1),
        "number" => json!(1.5),
        "boolean" => json!(true),
        "string" => match schema["format"].as_str() {
            Some("date-time") => json!("2017-07-04T10:00:00Z"),
            Some("date") => json!("2017-07-04"),
            _ => json!("redmi-note-4"),
        },
        _ => Value::Null,
    }
}

/// Any JSON value, a few levels deep.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        field().prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec(("[a-z_]{1,12}", inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// Every place in `value`, as a JSON pointer.
fn pointers(value: &Value, here: String, out: &mut Vec<String>) {
    out.push(here.clone());
    match value {
        Value::Object(map) => map.iter().for_each(|(k, v)| {
            pointers(
                v,
                format!("{here}/{}", k.replace('~', "~0").replace('/', "~1")),
                out,
            )
        }),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .for_each(|(i, v)| pointers(v, format!("{here}/{i}"), out)),
        _ => {}
    }
}

/// `body` with the place `at` (modulo the places there are) replaced by `with`, or
/// removed when `with` is `None`.
fn mutated(mut body: Value, at: usize, with: Option<Value>) -> Value {
    let mut places = Vec::new();
    pointers(&body, String::new(), &mut places);
    let place = &places[at % places.len()];
    if place.is_empty() {
        return with.unwrap_or(Value::Null);
    }
    let (parent, last) = place.rsplit_once('/').unwrap();
    match (body.pointer_mut(parent), with) {
        (Some(Value::Object(map)), None) => {
            map.remove(&last.replace("~1", "/").replace("~0", "~"));
        }
        (Some(Value::Array(items)), None) => {
            items.remove(last.parse::<usize>().unwrap());
        }
        (_, Some(with)) => {
            if let Some(slot) = body.pointer_mut(place) {
                *slot = with;
            }
        }
        _ => {}
    }
    body
}

/// What a path parameter is filled with: the seeded ids, and ids that are not.
fn path_value() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "1",
            "0",
            "-1",
            "9223372036854775808",
            "IN",
            "redmi-note-4",
            "RN4-3-32-GLD",
            "wh-in-sricity",
            "shipments",
            "tracker",
            "fx",
            "01BKQZ6N0000000000000000AB",
            "%FF",
            "a%2Fb",
        ])
        .prop_map(str::to_owned),
        "[a-zA-Z0-9_-]{1,30}",
    ]
}

#[derive(Debug, Clone)]
enum BodyCase {
    /// The document's body with one place changed (`None`: removed).
    Mutated(usize, Option<Value>),
    /// The document's body, unchanged.
    AsDocumented,
    Json(Value),
    Bytes(Vec<u8>),
}

fn body_case() -> impl Strategy<Value = BodyCase> {
    prop_oneof![
        4 => (any::<usize>(), prop::option::of(any_json())).prop_map(|(at, with)| BodyCase::Mutated(at, with)),
        1 => Just(BodyCase::AsDocumented),
        2 => any_json().prop_map(BodyCase::Json),
        1 => prop::collection::vec(any::<u8>(), 0..300).prop_map(BodyCase::Bytes),
    ]
}

#[test]
fn every_route_refuses_bad_bodies_with_a_4xx_problem_and_changes_nothing() {
    let mut app = InProcess::start();
    let operations = operations(&app.doc);
    assert!(operations.len() > 40, "the document lists the routes");
    let skeletons: Vec<Option<Value>> = operations
        .iter()
        .map(|o| o.body.as_ref().map(|schema| skeleton(schema, &app.doc, 0)))
        .collect();
    let case = (
        0..operations.len(),
        prop::collection::vec(path_value(), 4),
        0..app.tokens.len(),
        body_case(),
        prop::collection::vec(prop::collection::vec(field(), 0..9), 0..4),
    );
    let app = std::cell::RefCell::new(&mut app);
    let statuses = std::cell::RefCell::new(std::collections::BTreeMap::<u16, u64>::new());
    runner()
        .run(&case, |(which, values, token, body, csv_rows)| {
            let mut app = app.borrow_mut();
            let operation = &operations[which];
            let mut path = operation.path.clone();
            let mut values = values.iter();
            while let (Some(open), Some(close)) = (path.find('{'), path.find('}')) {
                let value = values.next().map(String::as_str).unwrap_or("1");
                path.replace_range(open..=close, value);
            }
            let (content_type, bytes) = match (&operation.body, &skeletons[which]) {
                (Some(Value::Null), _) => {
                    let mut csv =
                        String::from("date,market,channel,product,sku,units,revenue,currency");
                    for row in &csv_rows {
                        csv.push('\n');
                        csv.push_str(&row.join(","));
                    }
                    ("text/csv", csv.into_bytes())
                }
                (Some(_), Some(skeleton)) => {
                    let value = match body.clone() {
                        BodyCase::Mutated(at, with) => mutated(skeleton.clone(), at, with),
                        BodyCase::AsDocumented => skeleton.clone(),
                        BodyCase::Json(value) => value,
                        BodyCase::Bytes(bytes) => {
                            let status = check(
                                &mut app,
                                operation,
                                &path,
                                token,
                                "application/json",
                                bytes,
                            )?;
                            *statuses.borrow_mut().entry(status).or_default() += 1;
                            return Ok(());
                        }
                    };
                    ("application/json", value.to_string().into_bytes())
                }
                _ => match body {
                    BodyCase::Bytes(bytes) => ("application/octet-stream", bytes),
                    _ => ("application/json", Vec::new()),
                },
            };
            let status = check(&mut app, operation, &path, token, content_type, bytes)?;
            *statuses.borrow_mut().entry(status).or_default() += 1;
            Ok(())
        })
        .unwrap();
    let statuses = statuses.into_inner();
    println!(
        "{} operations fuzzed, {} requests; answers by status: {statuses:?}",
        operations.len(),
        statuses.values().sum::<u64>()
    );
    // Bodies reach the routes' own checks, not only the token's.
    for refusal in [400, 422] {
        assert!(
            statuses.contains_key(&refusal),
            "no {refusal} among {statuses:?}"
        );
    }
}

fn check(
    app: &mut InProcess,
    operation: &Operation,
    path: &str,
    token: usize,
    content_type: &str,
    body: Vec<u8>,
) -> Result<u16, TestCaseError> {
    // A path that is not a URI (a value with a space) is the client library's to
    // refuse, not the server's.
    if path.parse::<axum::http::Uri>().is_err() {
        return Ok(0);
    }
    let before = app.data_version();
    app.content_at(before);
    let token = app.tokens[token].clone();
    let request = app.request(
        operation.method.clone(),
        path,
        token.as_deref(),
        content_type,
        body.clone(),
    );
    let (status, answer_type, answer) = app.send(request);
    prop_assert!(
        status.as_u16() < 500,
        "{} {} ({content_type}, {} bytes: {:?}) answered {status}: {}",
        operation.method,
        path,
        body.len(),
        String::from_utf8_lossy(&body[..body.len().min(300)]),
        String::from_utf8_lossy(&answer)
    );
    if status.is_success() {
        // Check-ins and reports are written behind the answer: written before the
        // next case, they cannot be mistaken for its doing.
        let rollouts = &app.state.rollouts;
        app.runtime.block_on(rollouts.flush()).unwrap();
    }
    if status.is_client_error() {
        prop_assert!(
            answer_type.starts_with("application/problem+json"),
            "{} {path} answered {status} as {answer_type:?}, not a problem document",
            operation.method
        );
        let after = app.data_version();
        if after != before {
            let was = app.known.filter(|(v, _)| *v == before).map(|(_, h)| h);
            let now = app.content_hash();
            app.known = Some((after, now));
            prop_assert_eq!(
                was,
                Some(now),
                "{} {} was refused ({}) but the database changed: {}",
                operation.method,
                path,
                status,
                String::from_utf8_lossy(&answer)
            );
        }
    }
    Ok(status.as_u16())
}
