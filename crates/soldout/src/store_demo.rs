//! The demo's signature stores: a new store in Delhi, a clerk per store (their
//! tokens printed once), a few counter sales, a transfer from the Indian warehouse
//! to Delhi still in transit, and an online order waiting for pickup in Bengaluru.
//! Everything goes through the same engine and store calls as the API. A marker in
//! the database makes it happen once.

use anyhow::Context;
use soldout_core::order::{Fulfillment, NewOrder, OrderLineRequest};
use soldout_core::pos::NewPosSale;
use soldout_core::transfer::{NewTransfer, UnitCount};
use soldout_core::{
    Email, LocationId, LocationKind, MovementKind, NewLocation, NewMovement, SkuCode,
};
use soldout_engine::pos;
use soldout_server::AppState;
use soldout_store::{PosOutcome, StoreError};

/// Marks a database whose store activity was created.
const STORES_MARKER: &str = "demo.stores";
const DELHI: &str = "store-in-delhi";

/// Store, client id, SKU, serials.
const COUNTER_SALES: &[(&str, &str, &str, &[&str])] = &[
    (
        "store-in-bengaluru",
        "blr-pos1-000001",
        "RN4-3-32-GLD",
        &["865321030000101", "865321030000102"],
    ),
    (
        "store-in-bengaluru",
        "blr-pos1-000002",
        "R4X-2-16-GLD",
        &["866412030000201"],
    ),
    (
        "store-cn-beijing",
        "pek-pos2-000001",
        "MI6-6-64-BLK",
        &["867001030000301"],
    ),
    (
        "store-ru-moscow",
        "mow-pos1-000001",
        "R4X-2-16-GLD",
        &["866412030000401"],
    ),
];

pub async fn run(state: &AppState) -> anyhow::Result<()> {
    if state.store.meta(STORES_MARKER).await?.is_some() {
        println!(
            "Signature stores: already set up; clerk tokens were printed when they were created."
        );
        return Ok(());
    }
    set_up(state).await.context("setting up the demo stores")?;
    state.store.set_meta(STORES_MARKER, "1").await?;
    Ok(())
}

async fn set_up(state: &AppState) -> anyhow::Result<()> {
    let store = state.store.as_ref();
    let now = state.clock.now();
    let delhi = LocationId::parse(DELHI)?;
    let location = NewLocation {
        id: delhi.clone(),
        kind: LocationKind::Store,
        market: "IN".parse()?,
        name: "Mi Home Select Citywalk".into(),
        city: "Delhi".into(),
    }
    .validate()?;
    match store.create_location(&location).await {
        Ok(()) => {
            let receipt = |sku: &str, quantity| -> anyhow::Result<NewMovement> {
                Ok(NewMovement {
                    location: delhi.clone(),
                    sku: SkuCode::parse(sku)?,
                    kind: MovementKind::Receipt,
                    quantity,
                    reference: Some("opening stock".into()),
                    at: now,
                })
            };
            store
                .record_movements(&[receipt("RN4-3-32-GLD", 60)?, receipt("RN4-4-64-BLK", 30)?])
                .await?;
        }
        Err(StoreError::AlreadyExists { .. }) => {}
        Err(e) => return Err(e.into()),
    }

    println!("Signature stores: clerk tokens (shown once; each acts only in its own store):");
    let mut clerks = Vec::new();
    for location in store.locations().await? {
        if location.kind != LocationKind::Store {
            continue;
        }
        let clerk = store.create_clerk(&location.id, "Demo clerk", now).await?;
        println!(
            "  {:<20} {}",
            location.id.as_str(),
            state.tokens.clerk_token(clerk, &location.id)
        );
        clerks.push((location, clerk));
    }

    for &(at, client_id, sku, serials) in COUNTER_SALES {
        let (location, clerk) = clerks
            .iter()
            .find(|(l, _)| l.id.as_str() == at)
            .with_context(|| format!("demo store {at}"))?;
        let market = store
            .market(&location.market)
            .await?
            .with_context(|| format!("market {}", location.market))?;
        let body: NewPosSale = serde_json::from_value(serde_json::json!({
            "lines": [{"sku": sku, "quantity": serials.len(), "serials": serials}],
            "payment": {"method": "card", "reference": null},
            "client_id": client_id,
        }))?;
        let outcome = pos::record_sale(
            store,
            state.clock,
            (location, &market),
            Some(*clerk),
            body,
            false,
        )
        .await?;
        let (PosOutcome::Recorded(receipt) | PosOutcome::Duplicate(receipt)) = outcome;
        println!(
            "  counter sale {} at {}: {} x {} for {}",
            receipt.id,
            receipt.store,
            serials.len(),
            sku,
            soldout_core::display_amount(receipt.total, receipt.currency)
        );
    }

    let transfer = store
        .create_transfer(
            &NewTransfer {
                from: LocationId::parse("wh-in-sricity")?,
                to: delhi.clone(),
                lines: vec![UnitCount {
                    sku: SkuCode::parse("RN4-3-32-GLD")?,
                    quantity: 50,
                }],
            },
            true,
            now,
        )
        .await?;
    println!(
        "  transfer {} in transit: {} -> {}, 50 x RN4-3-32-GLD incoming until Delhi's clerk receives it",
        transfer.id, transfer.from, transfer.to
    );

    let buyer = match store
        .create_customer(&Email::parse("pickup.demo@example.com")?, now)
        .await
    {
        Ok(id) => id,
        Err(StoreError::AlreadyExists { .. }) => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    let request = NewOrder {
        market: "IN".parse()?,
        lines: vec![OrderLineRequest {
            sku: SkuCode::parse("RN4-4-64-BLK")?,
            quantity: 1,
        }],
        fulfillment: Fulfillment::Pickup {
            store: LocationId::parse("store-in-bengaluru")?,
        },
    };
    let (order, _) = state
        .engine
        .place_order(buyer, &request, "demo-pickup-1")
        .await?;
    println!(
        "  pickup order {} reserved at store-in-bengaluru for customer {}: pay {} by {}",
        order.id,
        buyer,
        soldout_core::display_amount(order.amount, order.currency),
        order
            .pay_by
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    );
    Ok(())
}
