//! The PostgreSQL migrations (`migrations/postgres`, one per SQLite migration) apply
//! to a fresh database and keep the same promises as SQLite's schema: no stock level
//! below zero, a point of sale's `client_id` once per store, one online order per
//! customer and idempotency key, references that must exist. Runs when
//! `SOLDOUT_TEST_DATABASE_URL` names a PostgreSQL server, in a database of its own
//! that it drops at the end; says it was skipped otherwise.

use soldout_store::scratch::{test_server, ScratchDatabase};
use sqlx::postgres::PgPoolOptions;

const OK: &str = "ok";
const CHECK_VIOLATION: &str = "23514";
const UNIQUE_VIOLATION: &str = "23505";
const FOREIGN_KEY_VIOLATION: &str = "23503";

/// "ok", or the SQLSTATE the statement failed with.
async fn outcome(pool: &sqlx::PgPool, sql: &str) -> String {
    match sqlx::query(sql).execute(pool).await {
        Ok(_) => OK.to_owned(),
        Err(sqlx::Error::Database(e)) => e.code().map(|c| c.into_owned()).unwrap_or_default(),
        Err(e) => panic!("{sql}: not a database error: {e}"),
    }
}

/// The file names in one of the crate's migration directories, in order.
fn migrations(dialect: &str) -> Vec<String> {
    let dir = format!("{}/migrations/{dialect}", env!("CARGO_MANIFEST_DIR"));
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn there_is_one_postgres_migration_per_sqlite_migration() {
    assert_eq!(migrations("postgres"), migrations("sqlite"));
}

#[tokio::test]
async fn postgres_migrations_keep_the_schemas_promises() {
    let Some(admin_url) = test_server() else {
        println!("SOLDOUT_TEST_DATABASE_URL is not set: the PostgreSQL schema test was skipped");
        return;
    };
    let scratch = ScratchDatabase::create(&admin_url, "schema")
        .await
        .expect("create the scratch database");
    let pool = PgPoolOptions::new()
        .max_connections(2)
        .connect(scratch.url())
        .await
        .expect("connect to the scratch database");
    sqlx::migrate!("./migrations/postgres")
        .run(&pool)
        .await
        .expect("the PostgreSQL migrations apply");

    for sql in [
        "INSERT INTO markets VALUES ('IN', 'India', 'INR', 7)",
        "INSERT INTO products VALUES ('redmi-note-4', 'Redmi Note 4', 'Snapdragon 625', 4100, true, 13, 'micro-USB', 'MIUI', 'Android 6.0', '8.1')",
        "INSERT INTO skus VALUES ('RN4-3-32-GLD', 'redmi-note-4', 'Gold', 3, 32)",
        "INSERT INTO locations VALUES ('store-in-bengaluru', 'store', 'IN', 'Mi Home Bengaluru', 'Bengaluru')",
        "INSERT INTO stock_levels (location, sku, on_hand, reserved, incoming) VALUES ('store-in-bengaluru', 'RN4-3-32-GLD', 5, 2, 0)",
        "INSERT INTO customers (email, created_at) VALUES ('buyer@example.com', now())",
    ] {
        assert_eq!(outcome(&pool, sql).await, OK, "{sql}");
    }
    // No level below zero, never more reserved than on hand, no negative price, launch
    // dates in order.
    for sql in [
        "UPDATE stock_levels SET on_hand = -1",
        "UPDATE stock_levels SET reserved = 6",
        "UPDATE stock_levels SET damaged = -1",
        "INSERT INTO prices VALUES ('IN', 'RN4-3-32-GLD', -1, now())",
        "INSERT INTO launches VALUES ('redmi-note-4', 'IN', now(), now() - interval '1 day', now())",
    ] {
        assert_eq!(outcome(&pool, sql).await, CHECK_VIOLATION, "{sql}");
    }
    // A point of sale's client_id once per store.
    let receipt = "INSERT INTO pos_sales (store, market, client_id, request_hash, occurred_at, recorded_at, offline, total, currency, payment_method) \
                   VALUES ('store-in-bengaluru', 'IN', 'pos-1-000001', 7, now(), now(), false, 1099900, 'INR', 'card')";
    assert_eq!(outcome(&pool, receipt).await, OK);
    assert_eq!(outcome(&pool, receipt).await, UNIQUE_VIOLATION);
    // One online order per customer and idempotency key.
    let order = |id: &str| {
        format!(
            "INSERT INTO online_orders (id, customer, idempotency_key, request_hash, market, location, fulfillment, status, amount, currency, created_at, pay_by) \
             VALUES ('{id}', 1, 'k1', 1, 'IN', 'store-in-bengaluru', 'pickup', 'reserved', 1, 'INR', now(), now())"
        )
    };
    assert_eq!(
        outcome(&pool, &order("01BX5ZZKBKACTAV9WEVGEMMVRA")).await,
        OK
    );
    assert_eq!(
        outcome(&pool, &order("01BX5ZZKBKACTAV9WEVGEMMVRB")).await,
        UNIQUE_VIOLATION
    );
    // References must exist.
    assert_eq!(
        outcome(
            &pool,
            "INSERT INTO skus VALUES ('MI6-6-64-BLK', 'mi-6', 'Black', 6, 64)"
        )
        .await,
        FOREIGN_KEY_VIOLATION
    );
    pool.close().await;
}
