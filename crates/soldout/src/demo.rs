//! The reference data set of `soldout demo`: a phone maker in July 2017 with markets in
//! China, India and Russia, its 2017 lineup, launch dates, prices, warehouses and
//! signature stores with stock. Everything goes through the same core validation and
//! store calls as the API. A marker in the database makes loading happen once.

use anyhow::Context;
use chrono::{DateTime, Utc};
use soldout_core::catalog::{NewMarket, NewSku};
use soldout_core::{
    Currency, Launch, LaunchStatus, Lineup, LocationId, LocationKind, MarketCode, MovementKind,
    NewLocation, NewMovement, NewProduct, OsVersion, ProductId, SkuCode, Specs,
};
use soldout_engine::imports::{self, ImportKind, ImportStatus};
use soldout_engine::{reports, Clock};
use soldout_store::{Store, StoreError};
use std::sync::Arc;

/// The demo's clock starts the week the reference company announced its Q2 2017.
pub const CLOCK_START: &str = "2017-07-04T09:00:00+08:00";

/// The database the demo uses when none is named: its own file, apart from
/// `serve`'s.
pub const DEFAULT_DATABASE: &str = "sqlite://soldout-demo.db";

/// Marks a database that holds the reference data; its value is the data set's version.
const LOADED_MARKER: &str = "demo.reference_data";
const DATA_VERSION: &str = "1";

const MARKETS: &[(&str, &str, &str, u32)] = &[
    ("CN", "China", "CNY", 7),
    ("IN", "India", "INR", 10),
    ("RU", "Russia", "RUB", 14),
];

struct Model {
    id: &'static str,
    name: &'static str,
    soc: &'static str,
    battery_mah: u32,
    fast_charging: bool,
    camera_mp: u32,
    port: &'static str,
    os_base: &'static str,
    os_version: &'static str,
    /// SKU code, colour, RAM GB, storage GB.
    skus: &'static [(&'static str, &'static str, u32, u32)],
}

const MODELS: &[Model] = &[
    Model {
        id: "mi-6",
        name: "Mi 6",
        soc: "Snapdragon 835",
        battery_mah: 3350,
        fast_charging: true,
        camera_mp: 12,
        port: "USB Type-C",
        os_base: "Android 7.1",
        os_version: "8.2.1",
        skus: &[
            ("MI6-6-64-BLK", "Black", 6, 64),
            ("MI6-6-64-BLU", "Blue", 6, 64),
            ("MI6-6-128-BLK", "Black", 6, 128),
        ],
    },
    Model {
        id: "mi-max-2",
        name: "Mi Max 2",
        soc: "Snapdragon 625",
        battery_mah: 5300,
        fast_charging: true,
        camera_mp: 12,
        port: "USB Type-C",
        os_base: "Android 7.1",
        os_version: "8.5.1",
        skus: &[
            ("MIMAX2-4-64-GLD", "Gold", 4, 64),
            ("MIMAX2-4-128-GLD", "Gold", 4, 128),
        ],
    },
    Model {
        id: "redmi-note-4",
        name: "Redmi Note 4",
        soc: "Snapdragon 625",
        battery_mah: 4100,
        fast_charging: false,
        camera_mp: 13,
        port: "Micro-USB",
        os_base: "Android 6.0",
        os_version: "8.1.0",
        skus: &[
            ("RN4-2-32-GRY", "Dark Grey", 2, 32),
            ("RN4-3-32-GLD", "Gold", 3, 32),
            ("RN4-4-64-BLK", "Matte Black", 4, 64),
        ],
    },
    Model {
        id: "redmi-4x",
        name: "Redmi 4X",
        soc: "Snapdragon 435",
        battery_mah: 4100,
        fast_charging: false,
        camera_mp: 13,
        port: "Micro-USB",
        os_base: "Android 6.0",
        os_version: "8.2.0",
        skus: &[
            ("R4X-2-16-GLD", "Gold", 2, 16),
            ("R4X-3-32-BLK", "Black", 3, 32),
        ],
    },
    Model {
        id: "mi-note-2",
        name: "Mi Note 2",
        soc: "Snapdragon 821",
        battery_mah: 4070,
        fast_charging: true,
        camera_mp: 22,
        port: "USB Type-C",
        os_base: "Android 6.0",
        os_version: "8.0.0",
        skus: &[
            ("MINOTE2-4-64-BLK", "Black", 4, 64),
            ("MINOTE2-6-128-SLV", "Glacier Silver", 6, 128),
        ],
    },
    Model {
        id: "mi-mix",
        name: "Mi Mix",
        soc: "Snapdragon 821",
        battery_mah: 4400,
        fast_charging: true,
        camera_mp: 16,
        port: "USB Type-C",
        os_base: "Android 6.0",
        os_version: "8.0.0",
        skus: &[
            ("MIMIX-4-128-BLK", "Black", 4, 128),
            ("MIMIX-6-256-BLK", "Black", 6, 256),
        ],
    },
    Model {
        id: "mi-6-plus",
        name: "Mi 6 Plus",
        soc: "Snapdragon 8xx",
        battery_mah: 4000,
        fast_charging: true,
        camera_mp: 22,
        port: "USB Type-C",
        os_base: "Android 7.1",
        os_version: "8.5.1",
        skus: &[("MI6P-6-64-BLK", "Black", 6, 64)],
    },
    Model {
        id: "mi-2s",
        name: "Mi 2S",
        soc: "Snapdragon 600",
        battery_mah: 2000,
        fast_charging: false,
        camera_mp: 13,
        port: "Micro-USB",
        os_base: "Android 4.1",
        os_version: "5.0.0",
        skus: &[
            ("MI2S-2-16-WHT", "White", 2, 16),
            ("MI2S-2-32-WHT", "White", 2, 32),
        ],
    },
    Model {
        id: "redmi-1",
        name: "Redmi 1",
        soc: "MediaTek MT6589T",
        battery_mah: 2000,
        fast_charging: false,
        camera_mp: 8,
        port: "Micro-USB",
        os_base: "Android 4.2",
        os_version: "5.0.0",
        skus: &[("R1-1-4-GRY", "Grey", 1, 4)],
    },
    Model {
        id: "mi-3",
        name: "Mi 3",
        soc: "Snapdragon 800",
        battery_mah: 3050,
        fast_charging: false,
        camera_mp: 13,
        port: "Micro-USB",
        os_base: "Android 4.3",
        os_version: "5.0.0",
        skus: &[
            ("MI3-2-16-GRY", "Metallic Grey", 2, 16),
            ("MI3-2-64-WHT", "White", 2, 64),
        ],
    },
    Model {
        id: "redmi-note",
        name: "Redmi Note",
        soc: "MediaTek MT6592",
        battery_mah: 3200,
        fast_charging: false,
        camera_mp: 13,
        port: "Micro-USB",
        os_base: "Android 4.2",
        os_version: "5.0.0",
        skus: &[
            ("RNOTE-1-8-WHT", "White", 1, 8),
            ("RNOTE-2-8-WHT", "White", 2, 8),
        ],
    },
    Model {
        id: "redmi-1s",
        name: "Redmi 1S",
        soc: "Snapdragon 400",
        battery_mah: 2000,
        fast_charging: false,
        camera_mp: 8,
        port: "Micro-USB",
        os_base: "Android 4.3",
        os_version: "5.0.0",
        skus: &[("R1S-1-8-GRY", "Metal Grey", 1, 8)],
    },
    Model {
        id: "mi-4",
        name: "Mi 4",
        soc: "Snapdragon 801",
        battery_mah: 3080,
        fast_charging: true,
        camera_mp: 13,
        port: "Micro-USB",
        os_base: "Android 4.4",
        os_version: "6.0.0",
        skus: &[
            ("MI4-3-16-WHT", "White", 3, 16),
            ("MI4-3-64-WHT", "White", 3, 64),
        ],
    },
    Model {
        id: "redmi-2",
        name: "Redmi 2",
        soc: "Snapdragon 410",
        battery_mah: 2200,
        fast_charging: false,
        camera_mp: 8,
        port: "Micro-USB",
        os_base: "Android 4.4",
        os_version: "6.0.0",
        skus: &[
            ("R2-1-8-GRY", "Dark Grey", 1, 8),
            ("R2-2-16-WHT", "White", 2, 16),
        ],
    },
    Model {
        id: "mi-note",
        name: "Mi Note",
        soc: "Snapdragon 801",
        battery_mah: 3000,
        fast_charging: true,
        camera_mp: 13,
        port: "Micro-USB",
        os_base: "Android 4.4",
        os_version: "6.0.0",
        skus: &[
            ("MINOTE-3-16-WHT", "White", 3, 16),
            ("MINOTE-3-64-BLK", "Black", 3, 64),
        ],
    },
    Model {
        id: "mi-4i",
        name: "Mi 4i",
        soc: "Snapdragon 615",
        battery_mah: 3120,
        fast_charging: true,
        camera_mp: 13,
        port: "Micro-USB",
        os_base: "Android 5.0",
        os_version: "6.0.0",
        skus: &[
            ("MI4I-2-16-WHT", "White", 2, 16),
            ("MI4I-2-32-GRY", "Dark Grey", 2, 32),
        ],
    },
    Model {
        id: "redmi-note-2",
        name: "Redmi Note 2",
        soc: "MediaTek Helio X10",
        battery_mah: 3060,
        fast_charging: false,
        camera_mp: 13,
        port: "Micro-USB",
        os_base: "Android 5.0",
        os_version: "7.0.0",
        skus: &[
            ("RNOTE2-2-16-WHT", "White", 2, 16),
            ("RNOTE2-2-32-BLU", "Blue", 2, 32),
        ],
    },
    Model {
        id: "mi-4c",
        name: "Mi 4c",
        soc: "Snapdragon 808",
        battery_mah: 3080,
        fast_charging: true,
        camera_mp: 13,
        port: "USB Type-C",
        os_base: "Android 5.1",
        os_version: "7.0.0",
        skus: &[
            ("MI4C-2-16-WHT", "White", 2, 16),
            ("MI4C-3-32-WHT", "White", 3, 32),
        ],
    },
    Model {
        id: "redmi-note-3",
        name: "Redmi Note 3",
        soc: "Snapdragon 650",
        battery_mah: 4050,
        fast_charging: false,
        camera_mp: 16,
        port: "Micro-USB",
        os_base: "Android 5.1",
        os_version: "7.0.0",
        skus: &[
            ("RNOTE3-2-16-GRY", "Dark Grey", 2, 16),
            ("RNOTE3-3-32-GLD", "Gold", 3, 32),
        ],
    },
    Model {
        id: "redmi-3",
        name: "Redmi 3",
        soc: "Snapdragon 616",
        battery_mah: 4100,
        fast_charging: false,
        camera_mp: 13,
        port: "Micro-USB",
        os_base: "Android 5.1",
        os_version: "7.0.0",
        skus: &[("R3-2-16-GLD", "Gold", 2, 16)],
    },
    Model {
        id: "mi-5",
        name: "Mi 5",
        soc: "Snapdragon 820",
        battery_mah: 3000,
        fast_charging: true,
        camera_mp: 16,
        port: "USB Type-C",
        os_base: "Android 6.0",
        os_version: "7.0.0",
        skus: &[
            ("MI5-3-32-WHT", "White", 3, 32),
            ("MI5-3-64-BLK", "Black", 3, 64),
        ],
    },
    Model {
        id: "mi-max",
        name: "Mi Max",
        soc: "Snapdragon 650",
        battery_mah: 4850,
        fast_charging: true,
        camera_mp: 16,
        port: "Micro-USB",
        os_base: "Android 6.0",
        os_version: "8.0.0",
        skus: &[
            ("MIMAX-3-32-GRY", "Dark Grey", 3, 32),
            ("MIMAX-3-64-GLD", "Gold", 3, 64),
        ],
    },
    Model {
        id: "redmi-3s",
        name: "Redmi 3S",
        soc: "Snapdragon 430",
        battery_mah: 4100,
        fast_charging: false,
        camera_mp: 13,
        port: "Micro-USB",
        os_base: "Android 6.0",
        os_version: "7.5.0",
        skus: &[
            ("R3S-2-16-GRY", "Dark Grey", 2, 16),
            ("R3S-3-32-GLD", "Gold", 3, 32),
        ],
    },
    Model {
        id: "mi-5s",
        name: "Mi 5s",
        soc: "Snapdragon 821",
        battery_mah: 3200,
        fast_charging: true,
        camera_mp: 12,
        port: "USB Type-C",
        os_base: "Android 6.0",
        os_version: "8.0.0",
        skus: &[
            ("MI5S-3-64-GLD", "Gold", 3, 64),
            ("MI5S-4-128-GRY", "Dark Grey", 4, 128),
        ],
    },
    Model {
        id: "redmi-4",
        name: "Redmi 4",
        soc: "Snapdragon 430",
        battery_mah: 4100,
        fast_charging: false,
        camera_mp: 13,
        port: "Micro-USB",
        os_base: "Android 6.0",
        os_version: "8.0.0",
        skus: &[
            ("R4-2-16-GLD", "Gold", 2, 16),
            ("R4-2-16-SLV", "Silver", 2, 16),
        ],
    },
    Model {
        id: "redmi-4a",
        name: "Redmi 4A",
        soc: "Snapdragon 425",
        battery_mah: 3120,
        fast_charging: false,
        camera_mp: 13,
        port: "Micro-USB",
        os_base: "Android 6.0",
        os_version: "8.0.0",
        skus: &[
            ("R4A-2-16-GLD", "Gold", 2, 16),
            ("R4A-2-16-GRY", "Dark Grey", 2, 16),
        ],
    },
];

/// Product, market, teaser, unveiling, first sale.
const LAUNCHES: &[(&str, &str, &str, &str, &str)] = &[
    (
        "mi-note-2",
        "CN",
        "2016-10-17T10:00:00+08:00",
        "2016-10-25T14:00:00+08:00",
        "2016-11-01T10:00:00+08:00",
    ),
    (
        "mi-mix",
        "CN",
        "2016-10-20T10:00:00+08:00",
        "2016-10-25T14:00:00+08:00",
        "2016-11-04T10:00:00+08:00",
    ),
    (
        "redmi-note-4",
        "CN",
        "2016-08-15T10:00:00+08:00",
        "2016-08-25T14:00:00+08:00",
        "2016-08-26T10:00:00+08:00",
    ),
    (
        "redmi-4x",
        "CN",
        "2017-02-20T10:00:00+08:00",
        "2017-02-28T14:00:00+08:00",
        "2017-03-03T10:00:00+08:00",
    ),
    (
        "mi-6",
        "CN",
        "2017-04-10T10:00:00+08:00",
        "2017-04-19T14:00:00+08:00",
        "2017-04-28T10:00:00+08:00",
    ),
    (
        "mi-max-2",
        "CN",
        "2017-05-15T10:00:00+08:00",
        "2017-05-25T14:00:00+08:00",
        "2017-06-01T10:00:00+08:00",
    ),
    (
        "mi-6-plus",
        "CN",
        "2017-07-01T10:00:00+08:00",
        "2017-07-11T14:00:00+08:00",
        "2017-07-18T10:00:00+08:00",
    ),
    (
        "redmi-note-4",
        "IN",
        "2017-01-09T12:00:00+05:30",
        "2017-01-19T12:00:00+05:30",
        "2017-01-23T12:00:00+05:30",
    ),
    (
        "redmi-4x",
        "IN",
        "2017-05-08T12:00:00+05:30",
        "2017-05-16T12:00:00+05:30",
        "2017-05-23T12:00:00+05:30",
    ),
    (
        "mi-max-2",
        "IN",
        "2017-07-03T12:00:00+05:30",
        "2017-07-18T12:00:00+05:30",
        "2017-07-20T12:00:00+05:30",
    ),
    (
        "mi-note-2",
        "RU",
        "2017-05-15T12:00:00+03:00",
        "2017-05-25T12:00:00+03:00",
        "2017-06-01T10:00:00+03:00",
    ),
    (
        "mi-mix",
        "RU",
        "2017-05-15T12:00:00+03:00",
        "2017-05-25T12:00:00+03:00",
        "2017-06-01T10:00:00+03:00",
    ),
    (
        "redmi-4x",
        "RU",
        "2017-05-22T12:00:00+03:00",
        "2017-06-01T12:00:00+03:00",
        "2017-06-08T10:00:00+03:00",
    ),
];

/// Market, SKU, price in minor units.
const PRICES: &[(&str, &str, i64)] = &[
    ("CN", "MI6-6-64-BLK", 249_900),
    ("CN", "MI6-6-64-BLU", 249_900),
    ("CN", "MI6-6-128-BLK", 289_900),
    ("CN", "MIMAX2-4-64-GLD", 169_900),
    ("CN", "MIMAX2-4-128-GLD", 199_900),
    ("CN", "RN4-2-32-GRY", 89_900),
    ("CN", "RN4-3-32-GLD", 99_900),
    ("CN", "RN4-4-64-BLK", 119_900),
    ("CN", "R4X-2-16-GLD", 69_900),
    ("CN", "R4X-3-32-BLK", 89_900),
    ("CN", "MINOTE2-4-64-BLK", 279_900),
    ("CN", "MINOTE2-6-128-SLV", 329_900),
    ("CN", "MIMIX-4-128-BLK", 349_900),
    ("CN", "MIMIX-6-256-BLK", 399_900),
    ("CN", "MI6P-6-64-BLK", 289_900),
    ("IN", "RN4-2-32-GRY", 999_900),
    ("IN", "RN4-3-32-GLD", 1_099_900),
    ("IN", "RN4-4-64-BLK", 1_299_900),
    ("IN", "R4X-2-16-GLD", 699_900),
    ("IN", "R4X-3-32-BLK", 899_900),
    ("IN", "MIMAX2-4-64-GLD", 1_499_900),
    ("IN", "MIMAX2-4-128-GLD", 1_699_900),
    ("RU", "MINOTE2-4-64-BLK", 3_499_000),
    ("RU", "MINOTE2-6-128-SLV", 3_999_000),
    ("RU", "MIMIX-4-128-BLK", 3_999_000),
    ("RU", "MIMIX-6-256-BLK", 4_499_000),
    ("RU", "R4X-2-16-GLD", 1_199_000),
    ("RU", "R4X-3-32-BLK", 1_399_000),
];

/// Id, kind, market, name, city.
const LOCATIONS: &[(&str, LocationKind, &str, &str, &str)] = &[
    (
        "wh-cn-beijing",
        LocationKind::Warehouse,
        "CN",
        "Beijing Central Warehouse",
        "Beijing",
    ),
    (
        "wh-in-sricity",
        LocationKind::Warehouse,
        "IN",
        "Sri City Warehouse",
        "Sri City",
    ),
    (
        "wh-ru-moscow",
        LocationKind::Warehouse,
        "RU",
        "Moscow Warehouse",
        "Moscow",
    ),
    (
        "store-cn-beijing",
        LocationKind::Store,
        "CN",
        "Mi Home Wucaicheng",
        "Beijing",
    ),
    (
        "store-cn-shanghai",
        LocationKind::Store,
        "CN",
        "Mi Home Raffles City",
        "Shanghai",
    ),
    (
        "store-in-bengaluru",
        LocationKind::Store,
        "IN",
        "Mi Home Phoenix Marketcity",
        "Bengaluru",
    ),
    (
        "store-ru-moscow",
        LocationKind::Store,
        "RU",
        "Mi Store Aviapark",
        "Moscow",
    ),
];

/// Location, SKU, units received.
const RECEIPTS: &[(&str, &str, i64)] = &[
    ("wh-cn-beijing", "MI6-6-64-BLK", 20_000),
    ("wh-cn-beijing", "MI6-6-64-BLU", 12_000),
    ("wh-cn-beijing", "MI6-6-128-BLK", 15_000),
    ("wh-cn-beijing", "MIMAX2-4-64-GLD", 10_000),
    ("wh-cn-beijing", "RN4-3-32-GLD", 25_000),
    ("wh-cn-beijing", "R4X-2-16-GLD", 30_000),
    ("wh-cn-beijing", "MIMIX-6-256-BLK", 3_000),
    ("wh-cn-beijing", "MI6P-6-64-BLK", 8_000),
    ("wh-in-sricity", "RN4-2-32-GRY", 40_000),
    ("wh-in-sricity", "RN4-3-32-GLD", 60_000),
    ("wh-in-sricity", "RN4-4-64-BLK", 30_000),
    ("wh-in-sricity", "R4X-2-16-GLD", 40_000),
    ("wh-in-sricity", "R4X-3-32-BLK", 25_000),
    ("wh-in-sricity", "MIMAX2-4-64-GLD", 10_000),
    ("wh-ru-moscow", "MINOTE2-4-64-BLK", 2_000),
    ("wh-ru-moscow", "MIMIX-4-128-BLK", 1_500),
    ("wh-ru-moscow", "R4X-2-16-GLD", 4_000),
    ("wh-ru-moscow", "R4X-3-32-BLK", 3_000),
    ("store-cn-beijing", "MI6-6-64-BLK", 120),
    ("store-cn-beijing", "MI6-6-128-BLK", 80),
    ("store-cn-beijing", "MIMIX-6-256-BLK", 25),
    ("store-cn-beijing", "R4X-2-16-GLD", 150),
    ("store-cn-shanghai", "MI6-6-64-BLU", 90),
    ("store-cn-shanghai", "RN4-3-32-GLD", 140),
    ("store-in-bengaluru", "RN4-3-32-GLD", 200),
    ("store-in-bengaluru", "RN4-4-64-BLK", 120),
    ("store-in-bengaluru", "R4X-2-16-GLD", 150),
    ("store-ru-moscow", "MIMIX-4-128-BLK", 30),
    ("store-ru-moscow", "R4X-2-16-GLD", 60),
];

fn time(text: &str) -> anyhow::Result<DateTime<Utc>> {
    Ok(DateTime::parse_from_rfc3339(text)
        .with_context(|| format!("reference date {text}"))?
        .with_timezone(&Utc))
}

/// Loads the reference data unless the database already holds it, then prints a
/// summary of what is there and where to look.
pub async fn load(store: &Arc<dyn Store>, now: DateTime<Utc>) -> anyhow::Result<()> {
    let store_ref = store.as_ref();
    // The catalog first, every time: what an older demo database lacks is added.
    insert_catalog(store_ref)
        .await
        .context("loading the catalog")?;
    load_history(store, now)
        .await
        .context("loading the shipment history")?;
    let store = store_ref;
    if store.meta(LOADED_MARKER).await?.is_some() {
        println!("Reference data already loaded; nothing added.");
    } else {
        insert_reference_data(store, now)
            .await
            .context("loading the reference data")?;
        store.set_meta(LOADED_MARKER, DATA_VERSION).await?;
        println!("Loaded the reference data set.");
    }
    print_summary(store, now).await
}

/// Creation that tolerates what an interrupted earlier load already created.
fn created(result: Result<(), StoreError>) -> Result<(), StoreError> {
    match result {
        Err(StoreError::AlreadyExists { .. }) => Ok(()),
        other => other,
    }
}

/// The reference data set's history (`data/reference`, built into the binary):
/// shipments 2014Q1–2017Q2, India and Russia tracker data, exchange rates, through
/// the same imports as `soldout import` (so loading twice changes nothing), then the
/// brand and the targets.
async fn load_history(store: &Arc<dyn Store>, now: DateTime<Utc>) -> anyhow::Result<()> {
    let clock = Clock::starting_at(Some(now));
    const FILES: [(ImportKind, &str, &[u8]); 3] = [
        (
            ImportKind::Shipments,
            "shipments",
            include_bytes!("../../../data/reference/shipments.csv"),
        ),
        (
            ImportKind::Tracker,
            "tracker",
            include_bytes!("../../../data/reference/tracker.csv"),
        ),
        (
            ImportKind::Fx,
            "fx",
            include_bytes!("../../../data/reference/fx.csv"),
        ),
    ];
    const TARGETS: &str = include_str!("../../../data/reference/targets.csv");
    for (kind, name, bytes) in FILES {
        let report = imports::import(
            kind,
            store.clone(),
            clock,
            Arc::new(imports::InMemory(Arc::from(bytes))),
            Some(format!("reference-{name}")),
            Arc::new(|_| {}),
        )
        .await
        .map_err(|e| anyhow::anyhow!("data/reference/{name}.csv: {e}"))?;
        let status = match report.status {
            ImportStatus::AlreadyImported => "already imported",
            _ => "imported",
        };
        println!("  reference {name}: {} rows {status}", report.rows);
    }
    // The brand and the targets only where none is set: an operator's own stay.
    if store.meta(reports::BRAND_KEY).await?.is_none() {
        store.set_meta(reports::BRAND_KEY, DEMO_BRAND).await?;
    }
    let targets = store.targets().await?;
    for line in TARGETS.lines().skip(1).filter(|l| !l.trim().is_empty()) {
        let (year, units) = line.split_once(',').ok_or_else(|| {
            anyhow::anyhow!("data/reference/targets.csv: {line:?} is not year,units")
        })?;
        let year: i32 = year.trim().parse()?;
        if !targets.contains_key(&year) {
            reports::set_target(store.as_ref(), clock, year, units.trim().parse()?).await?;
        }
    }
    Ok(())
}

/// Our name in the reference tracker data.
pub const DEMO_BRAND: &str = "Xiaomi";

/// Markets and products, tolerating what an earlier load created.
async fn insert_catalog(store: &dyn Store) -> anyhow::Result<()> {
    for &(code, name, currency, return_window_days) in MARKETS {
        let market = NewMarket {
            code: MarketCode::parse(code)?,
            name: name.into(),
            currency: Currency::parse(currency)?,
            return_window_days: Some(return_window_days),
        }
        .validate()?;
        created(store.create_market(&market).await)?;
    }
    for model in MODELS {
        let product = NewProduct {
            id: ProductId::parse(model.id)?,
            name: model.name.into(),
            specs: Specs {
                soc: model.soc.into(),
                battery_mah: model.battery_mah,
                fast_charging: model.fast_charging,
                main_camera_mp: model.camera_mp,
                port: model.port.into(),
                os_name: "MIUI".into(),
                os_base: model.os_base.into(),
                os_version: OsVersion::parse(model.os_version)?,
            },
            skus: model
                .skus
                .iter()
                .map(|&(sku, colour, ram_gb, storage_gb)| {
                    Ok(NewSku {
                        sku: SkuCode::parse(sku)?,
                        colour: colour.into(),
                        ram_gb,
                        storage_gb,
                    })
                })
                .collect::<anyhow::Result<_>>()?,
        }
        .validate()?;
        created(store.create_product(&product).await)?;
    }
    Ok(())
}

async fn insert_reference_data(store: &dyn Store, now: DateTime<Utc>) -> anyhow::Result<()> {
    for &(product, market, teaser_at, unveil_at, sale_from) in LAUNCHES {
        let launch = Launch {
            teaser_at: time(teaser_at)?,
            unveil_at: time(unveil_at)?,
            sale_from: time(sale_from)?,
        }
        .validate()?;
        store
            .put_launch(
                &ProductId::parse(product)?,
                &MarketCode::parse(market)?,
                &launch,
            )
            .await?;
    }
    for &(market, sku, amount) in PRICES {
        store
            .set_price(
                &MarketCode::parse(market)?,
                &SkuCode::parse(sku)?,
                amount,
                now,
            )
            .await?;
    }
    for &(id, kind, market, name, city) in LOCATIONS {
        let location = NewLocation {
            id: LocationId::parse(id)?,
            kind,
            market: MarketCode::parse(market)?,
            name: name.into(),
            city: city.into(),
        }
        .validate()?;
        created(store.create_location(&location).await)?;
    }
    let mut movements = RECEIPTS
        .iter()
        .enumerate()
        .map(|(i, &(location, sku, quantity))| {
            Ok(NewMovement {
                location: LocationId::parse(location)?,
                sku: SkuCode::parse(sku)?,
                kind: MovementKind::Receipt,
                quantity,
                reference: Some(format!("PO-2017-{:04}", 601 + i)),
                at: now,
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    movements.push(NewMovement {
        location: LocationId::parse("store-cn-beijing")?,
        sku: SkuCode::parse("MI6-6-64-BLK")?,
        kind: MovementKind::Adjustment,
        quantity: -2,
        reference: Some("display units taken out of stock".into()),
        at: now,
    });
    store.record_movements(&movements).await?;
    Ok(())
}

async fn print_summary(store: &dyn Store, now: DateTime<Utc>) -> anyhow::Result<()> {
    println!(
        "Clock: {}",
        now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    );
    for market in store.markets().await? {
        let lineup = Lineup::build(&market, store.lineup(&market.code).await?, now);
        let names: Vec<String> = lineup
            .products
            .iter()
            .map(|p| match p.status {
                LaunchStatus::OnSale => p.name.clone(),
                other => format!("{} ({})", p.name, other.as_str()),
            })
            .collect();
        println!(
            "  {} {} ({}): {}",
            market.code,
            market.name,
            market.currency,
            names.join(", ")
        );
    }
    for location in store.locations().await? {
        let stock = store.stock(&location.id).await?;
        let on_hand: i64 = stock.iter().map(|s| s.on_hand).sum();
        println!(
            "  {:<19} {:<9} {} {:<28} {:>7} units in {} SKUs",
            location.id.as_str(),
            location.kind.as_str(),
            location.market,
            location.name,
            on_hand,
            stock.len()
        );
    }
    Ok(())
}
