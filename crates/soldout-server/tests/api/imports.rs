//! Shipment imports over HTTP: all or nothing with line-numbered errors, the same
//! file twice changes nothing, a named batch is replaced.

use crate::helpers::{expect, problem_slug, spawn_app, TestApp};
use reqwest::Method;
use serde_json::Value;

const HEADER: &str = "date,market,channel,product,sku,units,revenue,currency\n";

impl TestApp {
    async fn import(&self, csv: &str, batch: Option<&str>) -> reqwest::Response {
        let path = match batch {
            Some(b) => format!("/v1/imports/shipments?batch={b}"),
            None => "/v1/imports/shipments".to_owned(),
        };
        self.admin(Method::POST, &path)
            .header("content-type", "text/csv")
            .body(csv.to_owned())
            .send()
            .await
            .unwrap()
    }

    async fn units_in(&self, period: &str) -> (usize, i64, i64) {
        let rows = self.get(&format!("/v1/shipments?period={period}")).await;
        let rows = rows.as_array().unwrap();
        let sum = |k: &str| rows.iter().map(|r| r[k].as_i64().unwrap()).sum::<i64>();
        (rows.len(), sum("units"), sum("revenue"))
    }
}

#[tokio::test]
async fn a_good_file_imports_once_and_exactly() {
    let app = spawn_app().await;
    app.seed_india().await;
    let csv = format!(
        "{HEADER}2017-04-03,IN,partner,redmi-note-4,,250000,2749750000.00,INR\n\
         2017-05-10,IN,online,redmi-note-4,RN4-3-32-GLD,1000,10999000,INR\n\
         2017-06-30,IN,partner,redmi-note-4,,-20,-219980.5,INR\n\
         2017-06-30,IN,partner,redmi-note-4,,-20,-219980.5,INR\n"
    );
    let report = expect(app.import(&csv, None).await, 201, "import").await;
    assert_eq!(report["rows"], 4);
    assert_eq!(report["status"], "imported");
    let (rows, units, revenue) = app.units_in("2017Q2").await;
    assert_eq!(rows, 4, "two identical rows in one file are two shipments");
    assert_eq!(units, 250_000 + 1_000 - 40);
    assert_eq!(revenue, 274_975_000_000 + 1_099_900_000 - 2 * 21_998_050);
    // The same content again: nothing changes.
    let again = expect(app.import(&csv, None).await, 200, "again").await;
    assert_eq!(again["status"], "already_imported");
    assert_eq!(again["batch"], report["batch"]);
    assert_eq!(app.units_in("2017Q2").await.0, 4);
}

#[tokio::test]
async fn a_file_with_a_bad_row_imports_nothing_and_names_each_bad_line() {
    let app = spawn_app().await;
    app.seed_india().await;
    let csv = format!(
        "{HEADER}2017-04-03,IN,partner,redmi-note-4,,100,1000.00,INR\n\
         2017-04-31,IN,partner,redmi-note-4,,100,1000.00,INR\n\
         2017-04-03,IN,partner,mi-99,,100,1000.00,INR\n\
         2017-04-03,IN,partner,redmi-note-4,,100,1000.001,INR\n\
         2017-04-03,IN,partner,redmi-note-4,,100,1000.00,USD\n"
    );
    let problem = expect(app.import(&csv, None).await, 422, "bad rows").await;
    assert_eq!(problem_slug(&problem), "invalid-rows");
    let errors: Vec<(u64, String)> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["line"].as_u64().unwrap(),
                e["column"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        errors,
        [(3, "date"), (4, "product"), (5, "revenue"), (6, "currency")]
            .map(|(l, c)| (l, c.to_owned()))
    );
    assert!(problem["detail"].as_str().unwrap().starts_with("4 rows"));
    assert_eq!(app.units_in("2017Q2").await.0, 0, "nothing imported");
    // More than 20 bad lines: the first 20 are named, all are counted.
    let many: String = (0..30)
        .map(|_| "2017-04-03,XX,partner,redmi-note-4,,1,1,INR\n")
        .collect();
    let problem = expect(
        app.import(&format!("{HEADER}{many}"), None).await,
        422,
        "many",
    )
    .await;
    assert_eq!(problem["errors"].as_array().unwrap().len(), 20);
    assert!(problem["detail"].as_str().unwrap().starts_with("30 rows"));
    // A wrong header: refused.
    let problem = expect(
        app.import("day,market\n2017-04-03,IN\n", None).await,
        422,
        "header",
    )
    .await;
    assert!(problem["detail"]
        .as_str()
        .unwrap()
        .contains("date,market,channel"));
}

#[tokio::test]
async fn a_named_batch_is_replaced_by_importing_under_its_name_again() {
    let app = spawn_app().await;
    app.seed_india().await;
    let first = format!("{HEADER}2017-04-03,IN,partner,redmi-note-4,,100,1000.00,INR\n");
    let second = format!("{HEADER}2017-04-04,IN,partner,redmi-note-4,,70,700.00,INR\n");
    let report = expect(app.import(&first, Some("q2-partners")).await, 201, "first").await;
    assert_eq!(report["batch"], "q2-partners");
    let replaced = expect(
        app.import(&second, Some("q2-partners")).await,
        201,
        "second",
    )
    .await;
    assert_eq!(replaced["status"], "replaced");
    assert_eq!(app.units_in("2017Q2").await, (1, 70, 70_000));
    let bad = app.import(&second, Some("no spaces")).await;
    expect(bad, 422, "bad batch name").await;
    let _: Value = expect(app.import(&first, None).await, 201, "unnamed").await;
    assert_eq!(app.units_in("2017Q2").await.1, 170);
}

#[tokio::test]
async fn the_quarter_report_adds_up_imports_and_sales_through_the_api() {
    let app = spawn_app().await;
    app.seed_india().await;
    let csv = format!(
        "{HEADER}2016-07-01,IN,partner,redmi-note-4,,400,400.00,INR\n\
         2017-06-30,IN,partner,redmi-note-4,,1000,1000.00,INR\n\
         2017-07-02,IN,partner,redmi-note-4,,1500,1500.00,INR\n\
         2017-07-03,IN,online,redmi-note-4,RN4-3-32-GLD,200,200.00,INR\n"
    );
    expect(app.import(&csv, None).await, 201, "import").await;
    // A counter sale through the API lands in the same quarter (the clock is 2017Q3).
    app.send(Method::POST, "/v1/locations", serde_json::json!({"id": "store-in-pune", "kind": "store", "market": "IN", "name": "Pune", "city": "Pune"}), 201).await;
    app.send(
        Method::POST,
        "/v1/locations/store-in-pune/receipts",
        serde_json::json!({"sku": "RN4-3-32-GLD", "quantity": 5}),
        201,
    )
    .await;
    let sale = serde_json::json!({"lines": [{"sku": "RN4-3-32-GLD", "quantity": 1, "serials": ["RP-1"]}], "payment": {"method": "cash", "reference": null}, "client_id": "r-1"});
    app.send(Method::POST, "/v1/locations/store-in-pune/sales", sale, 201)
        .await;

    let report = app.get("/v1/reports/quarter?period=2017Q3&market=IN").await;
    assert_eq!(report["units"], 1500 + 200 + 1);
    assert_eq!(report["revenue"]["INR"], 170_000 + 1_099_900);
    let ratio = |k: &str| report[k].as_f64().unwrap();
    assert!((ratio("units_qoq") - (1701.0 / 1000.0 - 1.0)).abs() < 1e-12);
    assert!((ratio("units_yoy") - (1701.0 / 400.0 - 1.0)).abs() < 1e-12);
    let channels: Vec<(&str, i64)> = report["by_channel"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["name"].as_str().unwrap(), c["units"].as_i64().unwrap()))
        .collect();
    assert_eq!(channels, [("partner", 1500), ("online", 200), ("store", 1)]);
    assert_eq!(report["by_model"][0]["name"], "redmi-note-4");
    let all = app.get("/v1/reports/quarter?period=2016Q3").await;
    assert_eq!(all["market"], Value::Null);
    assert_eq!(all["units_qoq"], Value::Null, "no base quarter");
    for (path, status) in [
        ("/v1/reports/quarter?period=2017Q5", 422),
        ("/v1/reports/quarter?period=2017Q2&market=XX", 404),
        ("/v1/reports/quarter?period=2017Q2&market=India", 422),
        ("/v1/reports/quarter", 422),
    ] {
        let response = app.admin(Method::GET, path).send().await.unwrap();
        expect(response, status, path).await;
    }
}

#[tokio::test]
async fn the_year_report_measures_the_target_by_the_clock() {
    let app = spawn_app().await;
    app.seed_india().await;
    let row =
        |day: &str, units: i64| format!("{day},IN,partner,redmi-note-4,,{units},{units}.00,INR\n");
    let csv = [
        row("2015-05-01", 700),
        row("2016-02-01", 100),
        row("2016-05-01", 100),
        row("2016-08-01", 200),
        row("2016-11-01", 200),
        row("2017-02-01", 150),
        row("2017-05-01", 150),
        row("2017-07-02", 999),
    ]
    .concat();
    expect(
        app.import(&format!("{HEADER}{csv}"), None).await,
        201,
        "import",
    )
    .await;
    let target = |year: i32, units: i64| {
        app.admin(Method::PUT, &format!("/v1/targets/{year}"))
            .json(&serde_json::json!({ "units": units }))
            .send()
    };
    expect(target(2015, 1_000).await.unwrap(), 200, "2015").await;
    expect(target(2017, 1_000).await.unwrap(), 200, "2017").await;
    expect(target(2017, 800).await.unwrap(), 200, "2017 again").await;
    expect(target(2017, 0).await.unwrap(), 422, "zero").await;
    expect(target(1900, 10).await.unwrap(), 422, "too early").await;
    assert_eq!(app.get("/v1/targets").await.as_array().unwrap().len(), 2);

    // The clock is 4 July 2017: Q1 and Q2 are complete, Q3's sale does not count yet.
    let report = app.get("/v1/reports/year?year=2017").await;
    assert_eq!(report["target"], 800);
    assert_eq!(report["units"], 300);
    assert_eq!(
        report["complete_quarters"],
        serde_json::json!(["2017Q1", "2017Q2"])
    );
    assert_eq!(
        report["forecast"],
        300 + 600,
        "growth 1.5 on last year's 200 + 200"
    );
    assert_eq!(report["on_track"], true);
    assert!(report["method"].as_str().unwrap().contains("scaled"));
    let history = report["history"].as_array().unwrap();
    assert_eq!(
        history[0],
        serde_json::json!({"year": 2015, "target": 1000, "units": 700, "met": false})
    );
    assert_eq!(history[1]["met"], Value::Null);
    let next = app.get("/v1/reports/year?year=2018").await;
    assert_eq!(
        (next["forecast"].clone(), next["on_track"].clone()),
        (Value::Null, Value::Null)
    );

    // The brand is a setting.
    let settings = app
        .send(
            Method::PUT,
            "/v1/settings",
            serde_json::json!({"brand": "Xiaomi"}),
            200,
        )
        .await;
    assert_eq!(settings["brand"], "Xiaomi");
    assert_eq!(app.get("/v1/settings").await["brand"], "Xiaomi");
    let response = app
        .admin(Method::PUT, "/v1/settings")
        .json(&serde_json::json!({"brand": " "}))
        .send()
        .await
        .unwrap();
    expect(response, 422, "empty brand").await;
}

#[tokio::test]
async fn tracker_data_gives_share_rank_and_top_models_with_our_row_from_the_ledger() {
    let app = spawn_app().await;
    app.seed_india().await;
    app.send(
        Method::PUT,
        "/v1/settings",
        serde_json::json!({"brand": "Xiaomi"}),
        200,
    )
    .await;
    let shipments = format!("{HEADER}2017-05-01,IN,partner,redmi-note-4,,4000,4000.00,INR\n");
    expect(app.import(&shipments, None).await, 201, "shipments").await;
    let tracker = "period,market,vendor,units,model\n\
        2017Q2,IN,Samsung,5000,Galaxy J2\n\
        2017Q2,IN,Xiaomi,1,Redmi Note 4\n\
        2017Q2,IN,Vivo,3000,V5\n\
        2017Q2,IN,Oppo,3000,A57\n\
        2017Q2,IN,Others,5000,\n";
    let response = app
        .admin(Method::POST, "/v1/imports/tracker")
        .header("content-type", "text/csv")
        .body(tracker)
        .send()
        .await
        .unwrap();
    assert_eq!(expect(response, 201, "tracker").await["rows"], 5);
    let report = app.get("/v1/reports/quarter?period=2017Q2&market=IN").await;
    assert_eq!(report["rank"], 2, "{report}");
    assert!((report["share"].as_f64().unwrap() - 4000.0 / 20_000.0).abs() < 1e-12);
    let vendors: Vec<(&str, Value)> = report["vendors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| (v["vendor"].as_str().unwrap(), v["rank"].clone()))
        .collect();
    assert_eq!(
        vendors,
        [
            ("Samsung", Value::from(1)),
            ("Xiaomi", Value::from(2)),
            ("Oppo", Value::from(3)),
            ("Vivo", Value::from(4)),
            ("Others", Value::Null)
        ],
        "our tracker row is replaced by the ledger; ties go by name"
    );
    assert_eq!(report["top_models"][0]["model"], "Galaxy J2");
    assert_eq!(report["top_models"][1]["model"], "Redmi Note 4");
    assert_eq!(report["top_models"][1]["units"], 4000);
    // Another quarter, no tracker data: no share, no rank.
    let other = app.get("/v1/reports/quarter?period=2017Q1&market=IN").await;
    assert_eq!(
        (other["share"].clone(), other["rank"].clone()),
        (Value::Null, Value::Null)
    );
    // The same tracker file under another batch name changes nothing; a bad period is
    // named with its line.
    let again = app
        .admin(Method::POST, "/v1/imports/tracker?batch=again")
        .header("content-type", "text/csv")
        .body(tracker)
        .send()
        .await
        .unwrap();
    assert_eq!(
        expect(again, 200, "again").await["status"],
        "already_imported"
    );
    let bad = app
        .admin(Method::POST, "/v1/imports/tracker")
        .header("content-type", "text/csv")
        .body("period,market,vendor,units\n2017Q5,IN,Samsung,1\n")
        .send()
        .await
        .unwrap();
    let problem = expect(bad, 422, "bad period").await;
    assert_eq!(problem["errors"][0]["line"], 2);
    assert_eq!(problem["errors"][0]["column"], "period");
    let unknown = app
        .admin(Method::POST, "/v1/imports/weather")
        .body("x")
        .send()
        .await
        .unwrap();
    expect(unknown, 404, "no such import").await;
    let huge = app
        .admin(Method::POST, "/v1/imports/shipments")
        .header("content-type", "text/csv")
        .body(vec![b'a'; 2 << 20])
        .send()
        .await
        .unwrap();
    assert_eq!(
        problem_slug(&expect(huge, 413, "too large").await),
        "payload-too-large"
    );
}

impl TestApp {
    async fn import_fx(&self, csv: &str) -> reqwest::Response {
        self.admin(Method::POST, "/v1/imports/fx")
            .header("content-type", "text/csv")
            .body(csv.to_owned())
            .send()
            .await
            .unwrap()
    }
}

#[tokio::test]
async fn exchange_rates_give_revenue_in_dollars_and_the_trend_its_growth() {
    let app = spawn_app().await;
    app.seed_india().await;
    let shipments = format!(
        "{HEADER}2016-05-01,IN,partner,redmi-note-4,,100,6446.00,INR\n\
         2017-02-01,IN,partner,redmi-note-4,,200,100.00,INR\n\
         2017-05-01,IN,partner,redmi-note-4,,300,12892.00,INR\n"
    );
    expect(app.import(&shipments, None).await, 201, "shipments").await;
    let before = app.get("/v1/reports/quarter?period=2017Q2").await;
    assert_eq!(before["revenue_usd"], Value::Null, "{before}");
    assert_eq!(before["revenue_yoy"], Value::Null, "{before}");
    assert_eq!(
        before["missing_fx"],
        serde_json::json!([
            {"period": "2017Q2", "currency": "INR"},
            {"period": "2016Q2", "currency": "INR"}
        ])
    );
    // A bad rate imports nothing and says why, per column.
    let bad = expect(
        app.import_fx("period,currency,per_usd\n2017Q2,INR,64.46\n2017Q2,EUR,0\n")
            .await,
        422,
        "bad rate",
    )
    .await;
    let columns: Vec<&str> = bad["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["column"].as_str().unwrap())
        .collect();
    assert_eq!(columns, ["currency", "per_usd"], "{bad}");
    assert_eq!(
        app.get("/v1/reports/quarter?period=2017Q2").await["revenue_usd"],
        Value::Null,
        "the good row of a bad file was not imported"
    );
    let rates = "period,currency,per_usd\n2017Q2,INR,64.46\n2016Q2,INR,32.23\n";
    let imported = expect(app.import_fx(rates).await, 201, "rates").await;
    assert_eq!(imported["rows"], 2);
    let all = app.get("/v1/reports/quarter?period=2017Q2").await;
    assert_eq!(
        all["revenue_usd"], 20_000,
        "12,892 rupees at 64.46: $200.00"
    );
    assert_eq!(all["missing_fx"], serde_json::json!([]));
    // A year before: 6,446 rupees at 32.23 is also $200: flat in dollars...
    assert_eq!(all["revenue_yoy"].as_f64(), Some(0.0), "{all}");
    // ...and doubled in rupees, the market's own currency.
    let india = app.get("/v1/reports/quarter?period=2017Q2&market=IN").await;
    assert_eq!(india["revenue_yoy"].as_f64(), Some(1.0), "{india}");

    let trend = app
        .get("/v1/reports/trend?from=2017Q1&to=2017Q2&market=IN")
        .await;
    let quarters = trend["quarters"].as_array().unwrap();
    let periods: Vec<&str> = quarters
        .iter()
        .map(|q| q["period"].as_str().unwrap())
        .collect();
    assert_eq!(periods, ["2017Q1", "2017Q2"]);
    assert_eq!(quarters[1]["units"], 300);
    assert_eq!(quarters[1]["units_qoq"].as_f64(), Some(0.5));
    assert_eq!(quarters[1]["units_yoy"].as_f64(), Some(2.0));
    assert_eq!(quarters[1]["revenue"]["INR"], 1_289_200);
    assert_eq!(
        quarters[0]["revenue_usd"],
        Value::Null,
        "no rate for 2017Q1"
    );
    assert_eq!(
        trend["missing_fx"],
        serde_json::json!([{"period": "2017Q1", "currency": "INR"}])
    );
    for (query, status) in [
        ("from=2017Q5&to=2017Q2", 422),
        ("from=2017Q2&to=2017Q1", 422),
        ("from=1017Q2&to=2017Q1", 422),
        ("from=2017Q1&to=2017Q2&market=XX", 404),
        ("from=2017Q1", 422),
        ("from=2017Q1&to=2017Q2&extra=1", 422),
    ] {
        let response = app
            .admin(Method::GET, &format!("/v1/reports/trend?{query}"))
            .send()
            .await
            .unwrap();
        expect(response, status, query).await;
    }
    let anonymous = reqwest::Client::new()
        .get(app.url("/v1/reports/trend?from=2017Q1&to=2017Q2"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
}

#[tokio::test]
async fn imports_refuse_what_is_not_one_exact_csv_and_import_nothing() {
    let app = spawn_app().await;
    app.seed_india().await;
    let good_row = "2017-04-03,IN,partner,redmi-note-4,,100,1000.00,INR\n";
    // Not sent as CSV: 415, whatever the body.
    for content_type in [None, Some("application/json"), Some("text/plain")] {
        let mut request = app
            .admin(Method::POST, "/v1/imports/shipments")
            .body(format!("{HEADER}{good_row}"));
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        let refused = expect(request.send().await.unwrap(), 415, "not csv").await;
        assert_eq!(problem_slug(&refused), "unsupported-media-type");
    }
    // A header and no rows, or nothing at all.
    for csv in [HEADER, ""] {
        expect(app.import(csv, None).await, 422, "no rows").await;
    }
    // Units and revenue of opposite signs, and revenue without units.
    for row in [
        "2017-04-03,IN,partner,redmi-note-4,,100,-1000.00,INR\n",
        "2017-04-03,IN,partner,redmi-note-4,,-100,1000.00,INR\n",
        "2017-04-03,IN,partner,redmi-note-4,,0,1000.00,INR\n",
    ] {
        let problem = expect(
            app.import(&format!("{HEADER}{good_row}{row}"), None).await,
            422,
            row,
        )
        .await;
        assert_eq!(problem["errors"][0]["line"], 3, "{problem}");
    }
    assert_eq!(app.units_in("2017Q2").await, (0, 0, 0), "nothing imported");
    // application/csv with a charset is CSV too.
    let csv = app
        .admin(Method::POST, "/v1/imports/shipments")
        .header("content-type", "application/csv; charset=utf-8")
        .body(format!("{HEADER}{good_row}"))
        .send()
        .await
        .unwrap();
    expect(csv, 201, "application/csv").await;
    assert_eq!(app.units_in("2017Q2").await.0, 1);
}

#[tokio::test]
async fn tracker_and_rate_files_give_each_key_once() {
    let app = spawn_app().await;
    app.seed_india().await;
    let tracker = |csv: &str| {
        app.admin(Method::POST, "/v1/imports/tracker")
            .header("content-type", "text/csv")
            .body(csv.to_owned())
            .send()
    };
    let repeated = expect(
        tracker(
            "period,market,vendor,units,model\n\
             2017Q2,IN,Samsung,5000,Galaxy J2\n\
             2017Q2,IN,Samsung,5000,Galaxy J7\n\
             2017Q2,IN,Samsung,10,Galaxy J2\n",
        )
        .await
        .unwrap(),
        422,
        "a tracker row twice",
    )
    .await;
    assert_eq!(repeated["errors"][0]["line"], 4, "{repeated}");
    assert!(
        repeated["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("repeats line 2"),
        "{repeated}"
    );
    let report = app.get("/v1/reports/quarter?period=2017Q2&market=IN").await;
    assert_eq!(
        report["share"],
        Value::Null,
        "no tracker row imported: {report}"
    );

    let two_rates = expect(
        app.import_fx("period,currency,per_usd\n2017Q2,INR,64.46\n2017Q2,INR,65\n")
            .await,
        422,
        "two rates",
    )
    .await;
    assert_eq!(two_rates["errors"][0]["column"], "per_usd", "{two_rates}");
    expect(
        app.import_fx("period,currency,per_usd\n").await,
        422,
        "no rates",
    )
    .await;
    let shipments = format!("{HEADER}2017-05-01,IN,partner,redmi-note-4,,300,12892.00,INR\n");
    expect(app.import(&shipments, None).await, 201, "shipments").await;
    let quarter = app.get("/v1/reports/quarter?period=2017Q2").await;
    assert_eq!(quarter["revenue_usd"], Value::Null, "no rate was imported");
    expect(
        app.import_fx("period,currency,per_usd\n2017Q2,INR,64.46\n")
            .await,
        201,
        "one rate",
    )
    .await;
}
