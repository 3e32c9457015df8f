use crate::helpers::spawn_app;
use reqwest::Method;
use serde_json::Value;

#[tokio::test]
async fn healthz_answers_with_the_shifted_clock() {
    let app = spawn_app().await;
    let response = app.anonymous(Method::GET, "/healthz").send().await.unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], "ok");
    assert!(body["now"]
        .as_str()
        .unwrap()
        .starts_with("2017-07-04T01:00"));
}

#[tokio::test]
async fn metrics_count_requests_by_route_template() {
    let app = spawn_app().await;
    for _ in 0..3 {
        app.anonymous(Method::GET, "/v1/products/no-such-phone")
            .send()
            .await
            .unwrap();
    }
    let text = app
        .anonymous(Method::GET, "/metrics")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        text.contains(
            r#"soldout_http_requests_total{method="GET",route="/v1/products/{id}",status="404"} 3"#
        ),
        "{text}"
    );
    assert!(text.contains("soldout_http_request_duration_seconds_bucket"));
    assert!(!text.contains("no-such-phone"));
}

/// `/metrics` after a small sale: 3 units of 4 sold by two buys, a replay that sells
/// nothing, a refusal for the limit and one for stock.
async fn metrics_after_a_small_sale(app: &crate::helpers::TestApp) -> (String, String) {
    let sale = app
        .open_sale(10, serde_json::json!({"quantity": 4, "per_customer_limit": 2}))
        .await;
    let id = sale["id"].as_i64().unwrap();
    let (ana, ben, cai) = (
        app.sign_up("ana@example.com").await,
        app.sign_up("ben@example.com").await,
        app.sign_up("cai@example.com").await,
    );
    assert_eq!(app.buy(&ana, id, 2, "ana-1").await.status(), 201);
    assert_eq!(app.buy(&ana, id, 2, "ana-1").await.status(), 201, "a replay: the same order");
    assert_eq!(app.buy(&ana, id, 1, "ana-2").await.status(), 409, "the limit");
    assert_eq!(app.buy(&ben, id, 1, "ben-1").await.status(), 201);
    assert_eq!(app.buy(&cai, id, 2, "cai-1").await.status(), 409, "one unit left");
    let response = app.anonymous(Method::GET, "/metrics").send().await.unwrap();
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"].to_str().unwrap().to_owned();
    (content_type, response.text().await.unwrap())
}

#[tokio::test]
async fn metrics_show_sales_commits_and_the_process_in_openmetrics() {
    let app = spawn_app().await;
    let (content_type, text) = metrics_after_a_small_sale(&app).await;
    assert_eq!(
        content_type,
        "application/openmetrics-text; version=1.0.0; charset=utf-8"
    );
    let sample = |name_and_labels: &str| -> f64 {
        let line = text
            .lines()
            .find(|l| l.rsplit_once(' ').is_some_and(|(key, _)| key == name_and_labels))
            .unwrap_or_else(|| panic!("no sample {name_and_labels} in\n{text}"));
        line.rsplit_once(' ').unwrap().1.parse().unwrap()
    };
    let sale = r#"sale="1""#;
    assert_eq!(sample(&format!("soldout_sale_units_sold_total{{{sale}}}")), 3.0);
    assert_eq!(sample(&format!("soldout_sale_units_left{{{sale}}}")), 1.0);
    assert_eq!(
        sample(&format!(r#"soldout_sale_refusals_total{{{sale},reason="limit-reached"}}"#)),
        1.0
    );
    assert_eq!(
        sample(&format!(r#"soldout_sale_refusals_total{{{sale},reason="sold-out"}}"#)),
        1.0
    );
    assert_eq!(sample("soldout_engine_queue_depth"), 0.0);
    // The sale's creation and two buys each made a group commit of at least one event.
    assert!(sample("soldout_journal_commit_batch_size_count") >= 2.0);
    assert!(sample("soldout_journal_commit_duration_seconds_count") >= 2.0);
    assert_eq!(sample("soldout_store_errors_total"), 0.0);
    assert!(sample("soldout_http_connections_open") >= 1.0);
    assert_eq!(
        sample(&format!(
            r#"soldout_build_info{{version="{}"}}"#,
            env!("CARGO_PKG_VERSION")
        )),
        1.0
    );
    assert!(sample("process_resident_memory_bytes") > 0.0);
    assert!(sample("process_open_fds") >= 3.0);
    assert!(sample("process_cpu_seconds_total") > 0.0);
    assert!(text.ends_with("# EOF\n"), "OpenMetrics ends with # EOF");
}

/// The same text passes the OpenMetrics parser of Prometheus' own Python client
/// (`prometheus_client` from PyPI), run by the Python that `OPENMETRICS_PYTHON` names.
/// Without it the test says it skipped, unless `OPENAPI_VALIDATOR_REQUIRED=1`.
#[tokio::test]
async fn metrics_pass_the_prometheus_clients_openmetrics_parser() {
    let python = std::env::var_os("OPENMETRICS_PYTHON").filter(|v| !v.is_empty());
    let Some(python) = python else {
        assert!(
            std::env::var_os("OPENAPI_VALIDATOR_REQUIRED").is_none_or(|v| v != "1"),
            "OPENAPI_VALIDATOR_REQUIRED=1 but OPENMETRICS_PYTHON names no Python"
        );
        println!("skipped: OPENMETRICS_PYTHON is not set");
        return;
    };
    let app = spawn_app().await;
    let (_, text) = metrics_after_a_small_sale(&app).await;
    let script = r#"
import sys
from prometheus_client.openmetrics.parser import text_string_to_metric_families
families = {f.name: f for f in text_string_to_metric_families(sys.stdin.read())}
for name in ["soldout_http_requests", "soldout_http_request_duration_seconds",
             "soldout_sale_units_sold", "soldout_sale_refusals", "soldout_build",
             "soldout_journal_commit_batch_size", "process_cpu_seconds"]:
    assert name in families, name
print(len(families), "families")
"#;
    let mut child = std::process::Command::new(&python)
        .arg("-c")
        .arg(script)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("running {}: {e}", python.to_string_lossy()));
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), text.as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "the OpenMetrics parser refused the text: {}{}\n{text}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[tokio::test]
async fn the_openapi_document_covers_every_route_and_body() {
    let app = spawn_app().await;
    let doc: Value = app.public_get("/openapi.json").await;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let expected = [
        ("get", "/healthz"),
        ("get", "/metrics"),
        ("get", "/openapi.json"),
        ("post", "/v1/markets"),
        ("get", "/v1/markets"),
        ("put", "/v1/markets/{code}/prices/{sku}"),
        ("get", "/v1/markets/{code}/lineup"),
        ("post", "/v1/products"),
        ("get", "/v1/products"),
        ("get", "/v1/products/{id}"),
        ("post", "/v1/products/{id}/skus"),
        ("put", "/v1/products/{id}/launches/{market}"),
        ("post", "/v1/locations"),
        ("get", "/v1/locations"),
        ("post", "/v1/locations/{id}/receipts"),
        ("post", "/v1/locations/{id}/adjustments"),
        ("get", "/v1/locations/{id}/stock"),
        ("get", "/v1/locations/{id}/movements"),
        ("post", "/v1/customers"),
        ("post", "/v1/customers/{id}/token"),
        ("post", "/v1/sales"),
        ("get", "/v1/sales"),
        ("get", "/v1/sales/{id}"),
        ("post", "/v1/sales/{id}/registrations"),
        ("post", "/v1/sales/{id}/orders"),
        ("get", "/v1/orders/{id}"),
        ("post", "/v1/orders/{id}/cancel"),
        ("post", "/v1/payments/webhook"),
        ("post", "/v1/locations/{store}/clerks"),
        ("get", "/v1/locations/{store}/clerks"),
        ("post", "/v1/clerks/{id}/revoke"),
        ("post", "/v1/locations/{store}/sales"),
        ("get", "/v1/locations/{store}/sales"),
        ("post", "/v1/locations/{store}/sales:sync"),
        ("post", "/v1/locations/{store}/returns"),
        ("get", "/v1/refunds"),
        ("get", "/v1/discrepancies"),
        ("post", "/v1/discrepancies/{id}/resolve"),
        ("get", "/v1/devices/{serial}"),
        ("post", "/v1/transfers"),
        ("get", "/v1/transfers/{id}"),
        ("post", "/v1/transfers/{id}/ship"),
        ("post", "/v1/transfers/{id}/receive"),
        ("get", "/v1/locations/{id}/transfers"),
        ("post", "/v1/campaigns"),
        ("get", "/v1/campaigns"),
        ("post", "/v1/orders"),
        ("post", "/v1/orders/{id}/fulfill"),
        ("get", "/v1/shipments"),
        ("post", "/v1/imports/{kind}"),
        ("get", "/v1/reports/quarter"),
        ("get", "/v1/reports/year"),
        ("put", "/v1/targets/{year}"),
        ("get", "/v1/targets"),
        ("get", "/v1/reports/trend"),
        ("put", "/v1/settings"),
        ("get", "/v1/settings"),
        ("post", "/v1/os/releases"),
        ("get", "/v1/os/releases"),
        ("post", "/v1/os/rollouts"),
        ("get", "/v1/os/rollouts/{id}"),
        ("post", "/v1/os/rollouts/{id}/{action}"),
        ("post", "/v1/devices/check-in"),
        ("post", "/v1/devices/updates"),
        ("post", "/v1/devices/{serial}/token"),
        ("post", "/v1/devices:import"),
    ];
    let paths = doc["paths"].as_object().unwrap();
    let documented: usize = paths.values().map(|p| p.as_object().unwrap().len()).sum();
    assert_eq!(
        documented,
        expected.len(),
        "{:?}",
        paths.keys().collect::<Vec<_>>()
    );
    for (method, path) in expected {
        assert!(
            doc["paths"][path][method].is_object(),
            "{method} {path} is not documented"
        );
    }
    // Every request body names its fields.
    let schemas = &doc["components"]["schemas"];
    for (path, item) in paths {
        for (method, op) in item.as_object().unwrap() {
            let Some(body) = op.get("requestBody") else {
                continue;
            };
            if body["content"]["text/csv"].is_object() {
                continue; // a file, not fields
            }
            let reference = body["content"]["application/json"]["schema"]["$ref"]
                .as_str()
                .unwrap_or_else(|| panic!("{method} {path}: body schema is not a named schema"));
            let name = reference.rsplit('/').next().unwrap();
            let properties = schemas[name]["properties"].as_object();
            assert!(
                properties.is_some_and(|p| !p.is_empty()),
                "{method} {path}: {name} documents no fields"
            );
        }
    }
    for field in ["teaser_at", "unveil_at", "sale_from"] {
        assert!(schemas["Launch"]["properties"][field].is_object());
    }
    for field in [
        "soc",
        "battery_mah",
        "fast_charging",
        "main_camera_mp",
        "port",
        "os_name",
        "os_base",
        "os_version",
    ] {
        assert!(schemas["Specs"]["properties"][field].is_object(), "{field}");
    }
}

/// The document tells the truth about what can go wrong: every error answer is a
/// problem document, the answers any request can get are on every operation, a
/// query parameter is in the query, and no two operations share an id.
#[tokio::test]
async fn the_openapi_document_types_every_error_and_parameter() {
    let app = spawn_app().await;
    let doc: Value = app.public_get("/openapi.json").await;
    let mut ids = std::collections::HashSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let what = format!("{method} {path}");
            assert!(
                ids.insert(op["operationId"].as_str().unwrap().to_owned()),
                "{what}: id used twice"
            );
            let responses = op["responses"].as_object().unwrap();
            for status in ["400", "408", "429", "503"] {
                assert!(
                    responses.contains_key(status),
                    "{what}: {status} undocumented"
                );
            }
            if op
                .get("security")
                .is_some_and(|s| !s.as_array().unwrap().is_empty())
            {
                assert!(
                    responses.contains_key("401") && responses.contains_key("403"),
                    "{what}"
                );
            }
            if op.get("requestBody").is_some() {
                assert!(
                    responses.contains_key("413") && responses.contains_key("415"),
                    "{what}"
                );
            }
            if path.contains('{') {
                assert!(responses.contains_key("404"), "{what}");
            }
            for (status, response) in responses {
                if status.starts_with(['4', '5']) {
                    let content = response["content"].as_object().unwrap();
                    assert_eq!(
                        content.keys().collect::<Vec<_>>(),
                        ["application/problem+json"],
                        "{what} {status}"
                    );
                }
            }
            let mut in_path_params = std::collections::BTreeSet::new();
            for parameter in op["parameters"].as_array().into_iter().flatten() {
                let name = parameter["name"].as_str().unwrap();
                let in_path = path.contains(&format!("{{{name}}}"));
                let place = parameter["in"].as_str().unwrap();
                assert!(
                    place == "header" || (place == "path") == in_path,
                    "{what}: {name} is in {place}"
                );
                if place == "path" {
                    in_path_params.insert(name);
                }
            }
            // And every `{name}` of the template is a path parameter.
            let template: std::collections::BTreeSet<&str> = path
                .split('{')
                .skip(1)
                .filter_map(|rest| rest.split_once('}').map(|(name, _)| name))
                .collect();
            assert_eq!(in_path_params, template, "{what}: path parameters");
        }
    }
    // Ids carry their alphabet, so a client can check one before it sends it.
    assert_eq!(
        doc["components"]["schemas"]["MarketCode"]["pattern"],
        "^[A-Z]{2}$"
    );
}

/// The document passes `openapi-spec-validator` (PyPI), the program the environment
/// variable `OPENAPI_SPEC_VALIDATOR` names. Without it the test says it skipped,
/// unless `OPENAPI_VALIDATOR_REQUIRED=1` (set by `.ci/run`) makes that a failure.
#[tokio::test]
async fn the_openapi_document_passes_openapi_spec_validator() {
    let validator = std::env::var_os("OPENAPI_SPEC_VALIDATOR").filter(|v| !v.is_empty());
    let Some(validator) = validator else {
        assert!(
            std::env::var_os("OPENAPI_VALIDATOR_REQUIRED").is_none_or(|v| v != "1"),
            "OPENAPI_VALIDATOR_REQUIRED=1 but OPENAPI_SPEC_VALIDATOR names no validator"
        );
        println!("skipped: OPENAPI_SPEC_VALIDATOR is not set");
        return;
    };
    let app = spawn_app().await;
    let response = app
        .anonymous(Method::GET, "/openapi.json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    let mut file = tempfile::Builder::new()
        .prefix("soldout-openapi-")
        .suffix(".json")
        .tempfile()
        .unwrap();
    std::io::Write::write_all(&mut file, text.as_bytes()).unwrap();
    let output = std::process::Command::new(&validator)
        .arg("--validation-errors")
        .arg("all")
        .arg(file.path())
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e}", validator.to_string_lossy()));
    assert!(
        output.status.success(),
        "openapi-spec-validator: {}\n{}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[tokio::test]
async fn unknown_routes_and_methods_are_problems() {
    let app = spawn_app().await;
    let response = app
        .anonymous(Method::GET, "/v1/nothing")
        .send()
        .await
        .unwrap();
    crate::helpers::expect(response, 404, "unknown route").await;
    let response = app
        .anonymous(Method::DELETE, "/v1/markets")
        .send()
        .await
        .unwrap();
    crate::helpers::expect(response, 405, "wrong method").await;
}

#[tokio::test]
async fn every_answer_carries_its_request_id_and_every_problem_names_it() {
    let app = spawn_app().await;
    let kept = app
        .anonymous(Method::GET, "/healthz")
        .header("x-request-id", "lb-7f3a.1")
        .send()
        .await
        .unwrap();
    assert_eq!(kept.headers()["x-request-id"], "lb-7f3a.1");
    // A problem from a handler, from an extractor's rejection, and from the fallback.
    for (method, path, body) in [
        (Method::GET, "/v1/products/no-such-phone", None),
        (Method::POST, "/v1/markets", Some("{not json")),
        (Method::GET, "/v1/nothing", None),
    ] {
        let mut request = app.admin(method, path).header("x-request-id", "bad id;");
        if let Some(body) = body {
            request = request.header("content-type", "application/json").body(body);
        }
        let response = request.send().await.unwrap();
        let id = response.headers()["x-request-id"].to_str().unwrap().to_owned();
        assert_ne!(id, "bad id;", "a malformed id is replaced");
        assert_eq!(id.len(), 32);
        assert!(response.status().is_client_error());
        let problem: Value = response.json().await.unwrap();
        assert_eq!(problem["request_id"], id.as_str(), "{path}: {problem}");
    }
}

#[tokio::test]
async fn docs_list_every_operation_and_fetch_nothing_from_another_host() {
    let app = spawn_app().await;
    let doc: Value = app.public_get("/openapi.json").await;
    let response = app.anonymous(Method::GET, "/docs").send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let page = response.text().await.unwrap();
    let mut operations = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let id = operation["operationId"].as_str().unwrap();
            let summary = format!("<code>{} {}</code> {id}", method.to_uppercase(), path);
            assert!(page.contains(&summary), "no {summary} in /docs");
            operations += 1;
        }
    }
    assert!(operations > 50, "{operations}");
    for outside in ["src=\"http", "href=\"http", "src=\"//", "href=\"//", "@import", "url(http"] {
        assert!(!page.contains(outside), "/docs fetches {outside}…");
    }
}
