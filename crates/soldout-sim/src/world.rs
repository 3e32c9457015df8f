//! The world a seed makes: the catalog with enough stock, a few customers, and one
//! or two flash sales whose sizes, limits, windows and rules the seed picks.

use chrono::{DateTime, Duration, Utc};
use rand::rngs::StdRng;
use rand::Rng;
use soldout_core::sale::{NewSale, SaleTerms};
use soldout_core::{CustomerId, Email, LocationId, MarketCode, SkuCode};
use soldout_engine::{Engine, SaleView};
use soldout_store::{fixture, Store};

/// Where every simulation's clock starts: the morning of the Redmi Note 4's sale.
pub fn clock_start() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2017-07-04T12:00:00+05:30")
        .expect("a valid instant")
        .with_timezone(&Utc)
}

/// What the seed chose.
#[derive(Debug, Clone)]
pub struct World {
    pub customers: Vec<CustomerId>,
    pub sales: Vec<SaleView>,
    pub terms: Vec<SaleTerms>,
}

/// Sales the seed asks for, each with 1 to 20 units.
fn new_sales(rng: &mut StdRng, now: DateTime<Utc>) -> Vec<NewSale> {
    let count = rng.gen_range(1..=2);
    (0..count)
        .map(|_| {
            let starts_at = now + Duration::seconds(rng.gen_range(1..=60));
            NewSale {
                sku: SkuCode::parse(fixture::SKU).expect("the fixture's SKU"),
                market: MarketCode::parse("IN").expect("a market code"),
                location: LocationId::parse(fixture::WAREHOUSE).expect("the fixture's warehouse"),
                quantity: rng.gen_range(1..=20),
                starts_at,
                ends_at: starts_at + Duration::seconds(rng.gen_range(300..=1800)),
                per_customer_limit: rng.gen_range(1..=3),
                payment_window_secs: rng.gen_range(30..=600),
                registration_required: rng.gen_bool(0.25),
                fair_start_secs: if rng.gen_bool(0.4) {
                    rng.gen_range(5..=30)
                } else {
                    0
                },
                price: None,
                allow_zero_price: false,
            }
        })
        .collect()
}

/// Sets the world up through the real store and engine (before any fault strikes).
pub async fn build(rng: &mut StdRng, store: &dyn Store, engine: &Engine) -> anyhow::Result<World> {
    let now = engine.clock().now();
    let asked = new_sales(rng, now);
    let stock: i64 = asked.iter().map(|s| i64::from(s.quantity)).sum();
    fixture::redmi_note_4_in_india(store, now - Duration::days(1), stock).await?;
    let count = rng.gen_range(2..=10);
    let emails: Vec<Email> = (1..=count)
        .map(|i| Email::parse(&format!("buyer{i}@example.in")))
        .collect::<Result<_, _>>()?;
    let customers = store.create_customers(&emails, now).await?;
    let mut sales = Vec::new();
    for new in asked {
        sales.push(engine.open_sale(new).await?);
    }
    let terms = store
        .sales()
        .await?
        .into_iter()
        .filter(|t| sales.iter().any(|s| s.id == t.id))
        .collect();
    Ok(World {
        customers,
        sales,
        terms,
    })
}
