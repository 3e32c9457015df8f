//! The payment webhook: signatures, replays, mismatches, failures and late payments.

use crate::helpers::{
    assert_balanced, expect, problem_slug, provider_signature, spawn_app, PAYMENT_SECRET,
};
use serde_json::json;

#[tokio::test]
async fn a_signed_payment_pays_the_order_once() {
    let app = spawn_app().await;
    let sale = app.open_sale(10, json!({"quantity": 5})).await;
    let id = sale["id"].as_i64().unwrap();
    let buyer = app.sign_up("payer@example.com").await;
    let order = expect(app.buy(&buyer, id, 2, "k").await, 201, "buy").await;
    let event = json!({"event_id": "evt_1", "type": "payment.succeeded", "order_id": order["id"],
                       "amount": order["amount"], "currency": "INR"});

    // Unsigned, badly signed, stale or from the future: 401, nothing changes.
    let body = serde_json::to_vec(&event).unwrap();
    let t = app.now().await.timestamp();
    for signature in [
        String::new(),
        "t=1,v1=00".to_owned(),
        provider_signature("wrong-secret", t, &body),
        provider_signature(PAYMENT_SECRET, t, b"{}"),
        provider_signature(PAYMENT_SECRET, t - 301, &body),
        provider_signature(PAYMENT_SECRET, t + 301, &body),
    ] {
        let problem = expect(app.webhook_signed(&body, &signature).await, 401, &signature).await;
        assert_eq!(problem_slug(&problem), "invalid-signature");
    }
    assert_eq!(app.sale(id).await["paid"], 0);

    let paid = expect(app.webhook(event.clone(), -200).await, 200, "pay").await;
    assert_eq!(paid["status"], "paid");
    let again = expect(app.webhook(event, 0).await, 200, "the same event again").await;
    assert_eq!(again["status"], "paid");
    let counters = app.sale(id).await;
    assert_eq!(
        (counters["paid"].as_u64(), counters["reserved"].as_u64()),
        (Some(2), Some(0))
    );
    assert_balanced(&counters);
    // Paid orders cannot be cancelled.
    let cancel = app
        .anonymous(
            reqwest::Method::POST,
            &format!("/v1/orders/{}/cancel", order["id"].as_str().unwrap()),
        )
        .bearer_auth(&buyer.token)
        .send()
        .await
        .unwrap();
    expect(cancel, 409, "cancel a paid order").await;
}

#[tokio::test]
async fn mismatches_failures_and_unknown_orders() {
    let app = spawn_app().await;
    let sale = app.open_sale(10, json!({"quantity": 5})).await;
    let id = sale["id"].as_i64().unwrap();
    let buyer = app.sign_up("payer@example.com").await;
    let order = expect(app.buy(&buyer, id, 1, "k").await, 201, "buy").await;
    let event = |event_id: &str, kind: &str, amount: i64, currency: &str| json!({"event_id": event_id, "type": kind, "order_id": order["id"], "amount": amount, "currency": currency});
    let amount = order["amount"].as_i64().unwrap();
    let wrong_amount = expect(
        app.webhook(event("e1", "payment.succeeded", amount - 1, "INR"), 0)
            .await,
        422,
        "amount",
    )
    .await;
    assert_eq!(problem_slug(&wrong_amount), "payment-mismatch");
    let wrong_currency = expect(
        app.webhook(event("e2", "payment.succeeded", amount, "USD"), 0)
            .await,
        422,
        "currency",
    )
    .await;
    assert_eq!(problem_slug(&wrong_currency), "payment-mismatch");
    expect(
        app.webhook(event("e3", "payment.refunded", amount, "INR"), 0)
            .await,
        422,
        "unknown type",
    )
    .await;
    let mut unknown = event("e4", "payment.succeeded", amount, "INR");
    unknown["order_id"] = json!("01BX5ZZKBKACTAV9WEVGEMMVRZ");
    expect(app.webhook(unknown, 0).await, 404, "unknown order").await;

    let failed = expect(
        app.webhook(event("e5", "payment.failed", amount, "INR"), 0)
            .await,
        200,
        "failed",
    )
    .await;
    assert_eq!(
        failed["status"], "reserved",
        "a failed payment leaves the order reserved until pay_by"
    );
    let paid = expect(
        app.webhook(event("e6", "payment.succeeded", amount, "INR"), 0)
            .await,
        200,
        "retry paid",
    )
    .await;
    assert_eq!(paid["status"], "paid");
    assert_eq!(app.sale(id).await["paid"], 1);
}

#[tokio::test]
async fn a_payment_after_expiry_is_due_a_refund() {
    let app = spawn_app().await;
    let sale = app
        .open_sale(10, json!({"quantity": 1, "payment_window_secs": 1}))
        .await;
    let id = sale["id"].as_i64().unwrap();
    let slow = app.sign_up("slow@example.com").await;
    let quick = app.sign_up("quick@example.com").await;
    let order = expect(app.buy(&slow, id, 1, "k").await, 201, "buy").await;
    // The order expires by the engine's timer: the unit goes back and sells again.
    app.sale_when(id, |s| s["available"] == 1).await;
    expect(app.buy(&quick, id, 1, "k").await, 201, "resold").await;
    let event = json!({"event_id": "late", "type": "payment.succeeded", "order_id": order["id"],
                       "amount": order["amount"], "currency": "INR"});
    let late = expect(app.webhook(event, 0).await, 200, "late payment").await;
    assert_eq!(late["status"], "refund_due");
    let counters = app.sale(id).await;
    assert_eq!(
        (counters["paid"].as_u64(), counters["reserved"].as_u64()),
        (Some(0), Some(1))
    );
    assert_balanced(&counters);
}

#[tokio::test]
async fn a_second_payment_for_a_paid_order_is_owed_back() {
    let app = spawn_app().await;
    let sale = app.open_sale(10, json!({"quantity": 5})).await;
    let id = sale["id"].as_i64().unwrap();
    let buyer = app.sign_up("twice@example.com").await;
    let order = expect(app.buy(&buyer, id, 1, "k").await, 201, "buy").await;
    let pay = |event_id: &str| {
        json!({"event_id": event_id, "type": "payment.succeeded", "order_id": order["id"],
               "amount": order["amount"], "currency": "INR"})
    };
    let first = expect(app.webhook(pay("evt_a"), 0).await, 200, "pay").await;
    assert_eq!(
        (first["status"].as_str(), first["refunds_due"].as_u64()),
        (Some("paid"), Some(0))
    );
    // A distinct second payment: applied as a refund the buyer is owed.
    let second = expect(app.webhook(pay("evt_b"), 0).await, 200, "pay again").await;
    assert_eq!(
        (second["status"].as_str(), second["refunds_due"].as_u64()),
        (Some("paid"), Some(1))
    );
    // Its exact replay is answered the same and owes nothing more.
    let replay = expect(app.webhook(pay("evt_b"), 0).await, 200, "replay").await;
    assert_eq!(replay["refunds_due"], 1);
    let read = app
        .call(
            &buyer.token,
            reqwest::Method::GET,
            &format!("/v1/orders/{}", order["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(expect(read, 200, "read").await["refunds_due"], 1);
    let counters = app.sale(id).await;
    assert_eq!(counters["paid"], 1, "the unit is paid once");
    assert_balanced(&counters);
}

#[tokio::test]
async fn an_event_id_names_one_report_only() {
    let app = spawn_app().await;
    let sale = app.open_sale(10, json!({"quantity": 5})).await;
    let id = sale["id"].as_i64().unwrap();
    let one = app.sign_up("one@example.com").await;
    let two = app.sign_up("two@example.com").await;
    let first = expect(app.buy(&one, id, 1, "k").await, 201, "buy").await;
    let second = expect(app.buy(&two, id, 2, "k").await, 201, "buy").await;
    let event = |order: &serde_json::Value, amount: &serde_json::Value| {
        json!({"event_id": "evt_shared", "type": "payment.succeeded", "order_id": order["id"],
               "amount": amount, "currency": "INR"})
    };
    expect(
        app.webhook(event(&first, &first["amount"]), 0).await,
        200,
        "pay",
    )
    .await;
    // The same id for another order, or with another amount: 409, nothing applied.
    for reused in [
        event(&second, &second["amount"]),
        event(&first, &json!(first["amount"].as_i64().unwrap() + 1)),
        json!({"event_id": "evt_shared", "type": "payment.failed", "order_id": first["id"],
               "amount": first["amount"], "currency": "INR"}),
    ] {
        let problem = expect(
            app.webhook(reused.clone(), 0).await,
            409,
            &reused.to_string(),
        )
        .await;
        assert_eq!(problem_slug(&problem), "event-id-reused");
    }
    let counters = app.sale(id).await;
    assert_eq!(
        (counters["paid"].as_u64(), counters["reserved"].as_u64()),
        (Some(1), Some(2)),
        "the second order is still unpaid"
    );
    // The exact replay is still a 200.
    let replay = expect(
        app.webhook(event(&first, &first["amount"]), 0).await,
        200,
        "replay",
    )
    .await;
    assert_eq!(
        (replay["status"].as_str(), replay["refunds_due"].as_u64()),
        (Some("paid"), Some(0))
    );
}
