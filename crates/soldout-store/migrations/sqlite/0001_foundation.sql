-- Catalog, markets, launches, stock locations and the stock ledger.

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE markets (
    code               TEXT PRIMARY KEY,
    name               TEXT NOT NULL,
    currency           TEXT NOT NULL,
    return_window_days INTEGER NOT NULL CHECK (return_window_days >= 0)
);

CREATE TABLE products (
    id             TEXT PRIMARY KEY,
    name           TEXT NOT NULL,
    soc            TEXT NOT NULL,
    battery_mah    INTEGER NOT NULL,
    fast_charging  INTEGER NOT NULL,
    main_camera_mp INTEGER NOT NULL,
    port           TEXT NOT NULL,
    os_name        TEXT NOT NULL,
    os_base        TEXT NOT NULL,
    os_version     TEXT NOT NULL
);

CREATE TABLE skus (
    sku        TEXT PRIMARY KEY,
    product    TEXT NOT NULL REFERENCES products (id),
    colour     TEXT NOT NULL,
    ram_gb     INTEGER NOT NULL,
    storage_gb INTEGER NOT NULL
);
CREATE INDEX skus_by_product ON skus (product);

CREATE TABLE prices (
    market     TEXT NOT NULL REFERENCES markets (code),
    sku        TEXT NOT NULL REFERENCES skus (sku),
    amount     INTEGER NOT NULL CHECK (amount >= 0),
    updated_at TEXT NOT NULL,
    PRIMARY KEY (market, sku)
);

CREATE TABLE launches (
    product   TEXT NOT NULL REFERENCES products (id),
    market    TEXT NOT NULL REFERENCES markets (code),
    teaser_at TEXT NOT NULL,
    unveil_at TEXT NOT NULL,
    sale_from TEXT NOT NULL,
    PRIMARY KEY (product, market),
    CHECK (teaser_at <= unveil_at AND unveil_at <= sale_from)
);
CREATE INDEX launches_by_market ON launches (market);

CREATE TABLE locations (
    id     TEXT PRIMARY KEY,
    kind   TEXT NOT NULL CHECK (kind IN ('warehouse', 'store')),
    market TEXT NOT NULL REFERENCES markets (code),
    name   TEXT NOT NULL,
    city   TEXT NOT NULL
);

-- The ledger: every change of stock, append-only.
CREATE TABLE stock_movements (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    location       TEXT NOT NULL REFERENCES locations (id),
    sku            TEXT NOT NULL REFERENCES skus (sku),
    kind           TEXT NOT NULL,
    quantity       INTEGER NOT NULL,
    reference      TEXT,
    at             TEXT NOT NULL,
    on_hand_after  INTEGER NOT NULL,
    reserved_after INTEGER NOT NULL,
    incoming_after INTEGER NOT NULL
);
CREATE INDEX stock_movements_by_location ON stock_movements (location, id);

-- The ledger's running sum per SKU and location, written in the same transaction as
-- each movement. The checks are the never-negative rule, enforced by the database too.
CREATE TABLE stock_levels (
    location TEXT NOT NULL REFERENCES locations (id),
    sku      TEXT NOT NULL REFERENCES skus (sku),
    on_hand  INTEGER NOT NULL CHECK (on_hand >= 0),
    reserved INTEGER NOT NULL CHECK (reserved >= 0),
    incoming INTEGER NOT NULL CHECK (incoming >= 0),
    CHECK (on_hand - reserved >= 0),
    PRIMARY KEY (location, sku)
);
