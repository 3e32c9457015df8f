//! OS releases and rollouts over HTTP: releases and rollouts are checked; the
//! installed base imports all or nothing; a device token checks in and reports for its
//! own device only (a customer's token cannot); eligibility by model, market and
//! version; reports are idempotent; a bad build halts the rollout by itself; the
//! operator's pause, resume, advance and halt; all of it survives a restart.

use crate::helpers::{expect, problem_slug, spawn_app, TestApp};
use reqwest::Method;
use serde_json::{json, Value};

const SHA: &str = "5f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0";

fn miui_9() -> Value {
    json!({
        "id": "miui-9", "name": "MIUI 9", "version": "9.0", "min_version": "8.0",
        "builds": [{"models": ["redmi-note-4"], "base": "Android 7.0",
                    "url": "https://updates.example.com/miui-9/rn4.zip", "sha256": SHA, "size": 1500000000u64}]
    })
}

fn rollout(id: &str, starts_at: chrono::DateTime<chrono::Utc>, waves: Value) -> Value {
    json!({
        "id": id, "release": "miui-9", "markets": ["IN"], "starts_at": starts_at,
        "waves": waves, "error_threshold": 0.4, "min_reports": 3, "advance": "manual"
    })
}

impl TestApp {
    /// India with the Redmi Note 4, and `n` of them in the installed base: serials
    /// `RN4IN000000`.., on MIUI 8.2 except the last, on 7.5 (too old for MIUI 9).
    async fn installed_base(&self, n: usize) -> Vec<String> {
        self.seed_india().await;
        let serials: Vec<String> = (0..n).map(|i| format!("RN4IN{i:06}")).collect();
        let mut csv = String::from("serial,sku,market,os_version,sold_at\n");
        for (i, serial) in serials.iter().enumerate() {
            let version = if i + 1 == n { "7.5" } else { "8.2" };
            csv.push_str(&format!("{serial},RN4-3-32-GLD,IN,{version},2017-03-01\n"));
        }
        let imported = self
            .admin(Method::POST, "/v1/devices:import")
            .header("content-type", "text/csv")
            .body(csv)
            .send()
            .await
            .unwrap();
        assert_eq!(expect(imported, 201, "import").await["devices"], n);
        serials
    }

    /// Releases MIUI 9 and rolls it out as `id` in India from `delay` after the
    /// server's clock, in `waves`; the rollout's view.
    async fn roll_out_miui_9(&self, id: &str, delay: chrono::Duration, waves: Value) -> Value {
        self.send(Method::POST, "/v1/os/releases", miui_9(), 201)
            .await;
        let starts_at = self.now().await + delay;
        self.send(
            Method::POST,
            "/v1/os/rollouts",
            rollout(id, starts_at, waves),
            201,
        )
        .await
    }

    async fn device_token(&self, serial: &str) -> String {
        let body = self
            .send(
                Method::POST,
                &format!("/v1/devices/{serial}/token"),
                json!({}),
                200,
            )
            .await;
        body["token"].as_str().unwrap().to_owned()
    }

    async fn check_in(&self, token: &str, version: &str) -> reqwest::Response {
        self.anonymous(Method::POST, "/v1/devices/check-in")
            .bearer_auth(token)
            .json(&json!({ "version": version }))
            .send()
            .await
            .unwrap()
    }

    async fn report(&self, token: &str, rollout: &str, status: &str) -> reqwest::Response {
        self.anonymous(Method::POST, "/v1/devices/updates")
            .bearer_auth(token)
            .json(&json!({ "rollout": rollout, "status": status, "error": "checksum mismatch" }))
            .send()
            .await
            .unwrap()
    }
}

#[tokio::test]
async fn releases_and_rollouts_are_checked() {
    let app = spawn_app().await;
    app.seed_india().await;
    let now = app.now().await;
    let unknown = app
        .send(
            Method::POST,
            "/v1/os/rollouts",
            rollout("r1", now, json!([{"percent": 100}])),
            404,
        )
        .await;
    assert_eq!(unknown["status"], 404);
    let created = app
        .send(Method::POST, "/v1/os/releases", miui_9(), 201)
        .await;
    assert_eq!(created["version"], "9.0");
    app.send(Method::POST, "/v1/os/releases", miui_9(), 409)
        .await;
    let mut backwards = miui_9();
    backwards["id"] = json!("miui-9-old");
    backwards["min_version"] = json!("9.0.0");
    app.send(Method::POST, "/v1/os/releases", backwards, 422)
        .await;
    let mut bad_sha = miui_9();
    bad_sha["id"] = json!("miui-9-bad");
    bad_sha["builds"][0]["sha256"] = json!("not-hex");
    app.send(Method::POST, "/v1/os/releases", bad_sha, 422)
        .await;
    assert_eq!(
        app.get("/v1/os/releases").await.as_array().unwrap().len(),
        1
    );

    for waves in [
        json!([]),
        json!([{"percent": 50}]),
        json!([{"percent": 50}, {"percent": 10}, {"percent": 100}]),
    ] {
        app.send(
            Method::POST,
            "/v1/os/rollouts",
            rollout("r1", now, waves.clone()),
            422,
        )
        .await;
    }
    let view = app
        .send(
            Method::POST,
            "/v1/os/rollouts",
            rollout(
                "r1",
                now,
                json!([{"percent": 1, "min_hours": 24}, {"percent": 100}]),
            ),
            201,
        )
        .await;
    assert_eq!(view["state"], "running");
    assert_eq!(
        (view["wave"].clone(), view["percent"].clone()),
        (json!(1), json!(1))
    );
    // The same models and market again, while r1 is not halted: a conflict.
    let overlap = app
        .send(
            Method::POST,
            "/v1/os/rollouts",
            rollout("r2", now, json!([{"percent": 100}])),
            409,
        )
        .await;
    assert_eq!(problem_slug(&overlap), "rollout-overlap");
    app.send(Method::POST, "/v1/os/rollouts/r1/halt", json!({}), 200)
        .await;
    app.send(
        Method::POST,
        "/v1/os/rollouts",
        rollout("r2", now, json!([{"percent": 100}])),
        201,
    )
    .await;
    app.send(Method::POST, "/v1/os/rollouts/r1/explode", json!({}), 404)
        .await;
    app.send(Method::GET, "/v1/os/rollouts/nope", json!(null), 404)
        .await;
}

#[tokio::test]
async fn the_installed_base_imports_all_or_nothing() {
    let app = spawn_app().await;
    let serials = app.installed_base(3).await;
    let send = |csv: &'static str| {
        app.admin(Method::POST, "/v1/devices:import")
            .header("content-type", "text/csv")
            .body(csv)
            .send()
    };
    let bad = send("serial,sku,market,os_version,sold_at\nRN4X1,RN4-3-32-GLD,IN,8.2,2017-03-01\nrn4 x,RN4-3-32-GLD,IN,8..2,yesterday\n")
        .await
        .unwrap();
    let bad = expect(bad, 422, "bad rows").await;
    assert_eq!(problem_slug(&bad), "invalid-rows");
    let again = send("serial,sku,market,os_version,sold_at\nRN4X2,RN4-3-32-GLD,IN,8.2,2017-03-01\nRN4IN000000,RN4-3-32-GLD,IN,8.2,2017-03-01\n")
        .await
        .unwrap();
    assert_eq!(again.status(), 409, "a serial registered already");
    let unknown_sku =
        send("serial,sku,market,os_version,sold_at\nRN4X3,NOPE-1,IN,8.2,2017-03-01\n")
            .await
            .unwrap();
    assert_eq!(unknown_sku.status(), 404);
    let header = send("serial,sku\nRN4X4,RN4-3-32-GLD\n").await.unwrap();
    assert_eq!(header.status(), 422);
    // Nothing of the refused files got in: their serials have no token to reissue.
    for serial in ["RN4X1", "RN4X2", "RN4X3"] {
        app.send(
            Method::POST,
            &format!("/v1/devices/{serial}/token"),
            json!({}),
            404,
        )
        .await;
    }
    app.device_token(&serials[0]).await;
}

#[tokio::test]
async fn devices_check_in_for_themselves_and_a_bad_build_halts_the_rollout() {
    let app = spawn_app().await;
    let serials = app.installed_base(12).await;
    app.roll_out_miui_9(
        "miui-9-in",
        chrono::Duration::seconds(1),
        json!([{"percent": 100}]),
    )
    .await;
    let token = app.device_token(&serials[0]).await;

    // Who may check in.
    let customer = app.sign_up("not-a-phone@example.com").await;
    assert_eq!(app.check_in(&customer.token, "8.2").await.status(), 403);
    assert_eq!(app.check_in(&app.admin_token, "8.2").await.status(), 403);
    assert_eq!(
        app.check_in("d.RN4IN000000.redmi-note-4.IN.00", "8.2")
            .await
            .status(),
        401
    );
    assert_eq!(app.check_in(&token, "eight").await.status(), 422);

    // Before starts_at: nothing yet.
    let early = expect(app.check_in(&token, "8.2").await, 200, "early").await;
    assert_eq!(early["update"], Value::Null);
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let offer = expect(app.check_in(&token, "8.2").await, 200, "offer").await;
    assert_eq!(offer["update"]["version"], "9.0");
    assert_eq!(offer["update"]["base"], "Android 7.0");
    assert_eq!(offer["update"]["sha256"], SHA);
    // Too old for the release: no build.
    let old = app.device_token(serials.last().unwrap()).await;
    let none = expect(app.check_in(&old, "7.5").await, 200, "too old").await;
    assert_eq!(none["update"], Value::Null);

    // A device reports only on what it was offered; reports are idempotent.
    let refused = app.report(&old, "miui-9-in", "installed").await;
    assert_eq!(
        problem_slug(&expect(refused, 409, "not offered").await),
        "not-offered"
    );
    for _ in 0..2 {
        expect(
            app.report(&token, "miui-9-in", "downloading").await,
            200,
            "downloading",
        )
        .await;
    }
    let installed = expect(
        app.report(&token, "miui-9-in", "installed").await,
        200,
        "installed",
    )
    .await;
    assert_eq!(installed["rollout_state"], "complete");
    // Installed: the device runs 9.0 from now on, and is offered nothing more.
    let after = expect(app.check_in(&token, "9.0").await, 200, "after").await;
    assert_eq!(after["update"], Value::Null);

    let view = app.get("/v1/os/rollouts/miui-9-in").await;
    let wave = &view["waves"][0];
    assert_eq!(wave["eligible"], 11, "12 imported, one too old: {view}");
    assert_eq!(
        (wave["offered"].clone(), wave["installed"].clone()),
        (json!(1), json!(1))
    );

    // A bad build: three devices fail, past the 40% threshold once min_reports (3) have
    // reported; the rollout halts by itself and offers nothing more.
    let mut tokens = Vec::new();
    for serial in &serials[1..4] {
        let t = app.device_token(serial).await;
        let offer = expect(app.check_in(&t, "8.2").await, 200, "offer").await;
        assert!(offer["update"].is_object());
        tokens.push(t);
    }
    let first = expect(
        app.report(&tokens[0], "miui-9-in", "failed").await,
        200,
        "1",
    )
    .await;
    assert_eq!(
        first["rollout_state"], "complete",
        "2 results, under min_reports"
    );
    let second = expect(
        app.report(&tokens[1], "miui-9-in", "failed").await,
        200,
        "2",
    )
    .await;
    assert_eq!(
        second["rollout_state"], "halted",
        "2 of 3 failed: 67% > 40%"
    );
    let halted = app.get("/v1/os/rollouts/miui-9-in").await;
    assert!(
        halted["halt_reason"].as_str().unwrap().contains("exceeded"),
        "{halted}"
    );
    let fifth = app.device_token(&serials[5]).await;
    let nothing = expect(app.check_in(&fifth, "8.2").await, 200, "halted").await;
    assert_eq!(nothing["update"], Value::Null, "no build while halted");

    // A restart rebuilds the rollout from its journal.
    let app = app.restart().await;
    let rebuilt = app.get("/v1/os/rollouts/miui-9-in").await;
    assert_eq!(rebuilt["state"], "halted");
    assert_eq!(rebuilt["waves"], halted["waves"]);
    assert_eq!(rebuilt["failure_rate"], halted["failure_rate"]);
}

#[tokio::test]
async fn an_operator_pauses_resumes_and_advances_a_rollout() {
    let app = spawn_app().await;
    let serials = app.installed_base(400).await;
    app.roll_out_miui_9(
        "staged",
        chrono::Duration::zero(),
        json!([{"percent": 10, "min_hours": 24}, {"percent": 100}]),
    )
    .await;
    let mut offered = 0;
    let mut tokens = Vec::new();
    for serial in &serials[..399] {
        let token = app.device_token(serial).await;
        let answer = expect(app.check_in(&token, "8.2").await, 200, "check-in").await;
        offered += usize::from(answer["update"].is_object());
        tokens.push(token);
    }
    assert!((20..=60).contains(&offered), "about 10% of 399: {offered}");
    let view = app.get("/v1/os/rollouts/staged").await;
    assert_eq!(view["waves"][0]["offered"], offered);
    assert_eq!(view["waves"][1]["eligible"], 399);

    app.send(Method::POST, "/v1/os/rollouts/staged/pause", json!({}), 200)
        .await;
    let paused = app
        .send(Method::POST, "/v1/os/rollouts/staged/pause", json!({}), 409)
        .await;
    assert_eq!(problem_slug(&paused), "rollout-state");
    let quiet = expect(app.check_in(&tokens[0], "8.2").await, 200, "paused").await;
    assert_eq!(quiet["update"], Value::Null, "nothing while paused");
    app.send(
        Method::POST,
        "/v1/os/rollouts/staged/advance",
        json!({}),
        409,
    )
    .await;
    app.send(
        Method::POST,
        "/v1/os/rollouts/staged/resume",
        json!({}),
        200,
    )
    .await;
    let advanced = app
        .send(
            Method::POST,
            "/v1/os/rollouts/staged/advance",
            json!({}),
            200,
        )
        .await;
    assert_eq!(
        (advanced["wave"].clone(), advanced["state"].clone()),
        (json!(2), json!("complete"))
    );
    let mut all = 0;
    for token in &tokens {
        let answer = expect(app.check_in(token, "8.2").await, 200, "check-in").await;
        all += usize::from(answer["update"].is_object());
    }
    assert_eq!(all, 399, "every eligible device at 100%");
    let view = app.get("/v1/os/rollouts/staged").await;
    assert_eq!(view["waves"][1]["offered"], 399);
    assert_eq!(
        view["waves"][0]["offered"], offered,
        "the first wave kept its devices"
    );
}

#[tokio::test]
async fn a_unit_sold_over_the_counter_comes_with_its_device_token() {
    use crate::stores::{sale_body, BLR};
    let app = spawn_app().await;
    let (clerk, _) = app.seed_stores(5).await;
    app.roll_out_miui_9(
        "counter",
        chrono::Duration::zero(),
        json!([{"percent": 100}]),
    )
    .await;
    let sold = app
        .call(
            &clerk.0,
            Method::POST,
            &format!("/v1/locations/{BLR}/sales"),
            Some(sale_body("till-1", &["865321030012345"])),
        )
        .await;
    let receipt = expect(sold, 201, "counter sale").await;
    let tokens = receipt["device_tokens"].as_array().unwrap();
    assert_eq!(tokens.len(), 1, "{receipt}");
    assert_eq!(tokens[0]["serial"], "865321030012345");
    let token = tokens[0]["token"].as_str().unwrap();
    // The admin reissues the same token; the device checks in with it.
    assert_eq!(app.device_token("865321030012345").await, token);
    let offer = expect(app.check_in(token, "8.2").await, 200, "offer").await;
    assert_eq!(offer["update"]["release"], "miui-9");
    // The check-in's version reaches the registry, then the installed build's.
    let registry = |app: &TestApp| {
        let app_url = app.url("/v1/devices/865321030012345");
        let admin = app.admin_token.clone();
        async move {
            let device: Value = reqwest::Client::new()
                .get(app_url)
                .bearer_auth(admin)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            device["os_version"].as_str().unwrap().to_owned()
        }
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while registry(&app).await != "8.2" {
        assert!(
            std::time::Instant::now() < deadline,
            "the check-in's version never arrived"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    expect(
        app.report(token, "counter", "installed").await,
        200,
        "installed",
    )
    .await;
    assert_eq!(registry(&app).await, "9.0", "durable when answered");
}

#[tokio::test]
async fn the_rollout_page_shows_each_wave_and_the_devices_over_time() {
    let app = spawn_app().await;
    let admin = app.session_for(&app.admin_token).await;
    let (status, empty) = app.page("/rollouts", &admin).await;
    assert_eq!(status, 200);
    assert!(empty.contains("No rollout yet"), "{empty}");

    let serials = app.installed_base(20).await;
    app.roll_out_miui_9(
        "paged",
        chrono::Duration::zero(),
        json!([{"percent": 50, "min_hours": 24}, {"percent": 100}]),
    )
    .await;
    let (_, page) = app.page("/rollouts/paged", &admin).await;
    assert!(page.contains("No device has reported yet."), "{page}");
    let mut reported = 0;
    for serial in &serials {
        let token = app.device_token(serial).await;
        let answer = expect(app.check_in(&token, "8.2").await, 200, "check-in").await;
        if answer["update"].is_object() {
            expect(
                app.report(&token, "paged", "installed").await,
                200,
                "installed",
            )
            .await;
            reported += 1;
        }
    }
    assert!(reported > 0);
    let (status, page) = app.page("/rollouts/paged", &admin).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("1 (current)"), "{page}");
    assert!(
        page.contains(&format!("<td class=\"n\">{reported}</td>")),
        "installed: {page}"
    );
    assert!(page.contains("<svg"), "the chart: {page}");
    assert!(page.contains("<progress"), "{page}");
    let (_, list) = app.page("/rollouts", &admin).await;
    assert!(list.contains(r#"href="/rollouts/paged""#), "{list}");

    let clerk = app.delhi_clerk_session().await;
    assert_eq!(app.page("/rollouts/paged", &clerk).await.0, 403);
    assert_eq!(app.page("/rollouts", "").await.0, 303);
    assert_eq!(app.page("/rollouts/nope", &admin).await.0, 404);
}
