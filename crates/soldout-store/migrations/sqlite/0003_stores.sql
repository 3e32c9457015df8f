-- Signature stores: clerks, point-of-sale receipts, the device registry, returns and
-- refunds, discrepancies, transfers and campaigns. Damaged returns get their own level.

ALTER TABLE stock_levels ADD COLUMN damaged INTEGER NOT NULL DEFAULT 0 CHECK (damaged >= 0);
ALTER TABLE stock_movements ADD COLUMN damaged_after INTEGER NOT NULL DEFAULT 0;

CREATE TABLE clerks (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    store      TEXT NOT NULL REFERENCES locations (id),
    name       TEXT NOT NULL,
    created_at TEXT NOT NULL
);

CREATE TABLE pos_sales (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    store             TEXT NOT NULL REFERENCES locations (id),
    market            TEXT NOT NULL REFERENCES markets (code),
    client_id         TEXT NOT NULL,
    request_hash      INTEGER NOT NULL, -- what was sold and how it was paid
    clerk             INTEGER REFERENCES clerks (id),
    occurred_at       TEXT NOT NULL,
    recorded_at       TEXT NOT NULL,
    offline           INTEGER NOT NULL,
    total             INTEGER NOT NULL,
    currency          TEXT NOT NULL,
    payment_method    TEXT NOT NULL CHECK (payment_method IN ('cash', 'card')),
    payment_reference TEXT,
    -- A point of sale's own id is its idempotency key within its store.
    UNIQUE (store, client_id)
);

CREATE TABLE pos_sale_lines (
    sale       INTEGER NOT NULL REFERENCES pos_sales (id),
    line       INTEGER NOT NULL,
    sku        TEXT NOT NULL REFERENCES skus (sku),
    product    TEXT NOT NULL REFERENCES products (id),
    quantity   INTEGER NOT NULL CHECK (quantity > 0),
    unit_price INTEGER NOT NULL CHECK (unit_price >= 0),
    campaign   INTEGER,
    serials    TEXT NOT NULL, -- JSON array, one per unit
    PRIMARY KEY (sale, line)
);

-- Every unit handed over. A serial is sold once until it is returned; selling it
-- again replaces its row.
CREATE TABLE devices (
    serial      TEXT PRIMARY KEY,
    sku         TEXT NOT NULL REFERENCES skus (sku),
    product     TEXT NOT NULL REFERENCES products (id),
    market      TEXT NOT NULL REFERENCES markets (code),
    channel     TEXT NOT NULL CHECK (channel IN ('flash_sale', 'online', 'store')),
    location    TEXT NOT NULL REFERENCES locations (id),
    sold_at     TEXT NOT NULL,
    price       INTEGER NOT NULL,
    currency    TEXT NOT NULL,
    os_version  TEXT NOT NULL,
    sold_on     TEXT NOT NULL,
    returned_at TEXT
);

CREATE TABLE refunds (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    serial     TEXT NOT NULL,
    store      TEXT NOT NULL REFERENCES locations (id),
    amount     INTEGER NOT NULL CHECK (amount >= 0),
    currency   TEXT NOT NULL,
    reason     TEXT NOT NULL,
    condition  TEXT NOT NULL CHECK (condition IN ('resellable', 'damaged')),
    sold_on    TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX refunds_by_store ON refunds (store, id);

CREATE TABLE discrepancies (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    location    TEXT NOT NULL REFERENCES locations (id),
    sku         TEXT NOT NULL REFERENCES skus (sku),
    kind        TEXT NOT NULL,
    quantity    INTEGER NOT NULL CHECK (quantity > 0),
    reference   TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    resolved_at TEXT,
    resolution  TEXT
);
CREATE INDEX discrepancies_by_location ON discrepancies (location, id);

CREATE TABLE transfers (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    source      TEXT NOT NULL REFERENCES locations (id),
    destination TEXT NOT NULL REFERENCES locations (id),
    status      TEXT NOT NULL CHECK (status IN ('requested', 'in_transit', 'received')),
    created_at  TEXT NOT NULL,
    shipped_at  TEXT,
    received_at TEXT,
    CHECK (source <> destination)
);
CREATE INDEX transfers_by_source ON transfers (source, id);
CREATE INDEX transfers_by_destination ON transfers (destination, id);

CREATE TABLE transfer_lines (
    transfer INTEGER NOT NULL REFERENCES transfers (id),
    sku      TEXT NOT NULL REFERENCES skus (sku),
    quantity INTEGER NOT NULL CHECK (quantity > 0),
    received INTEGER CHECK (received >= 0 AND received <= quantity),
    PRIMARY KEY (transfer, sku)
);

CREATE TABLE campaigns (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT NOT NULL,
    market      TEXT NOT NULL REFERENCES markets (code),
    skus        TEXT NOT NULL, -- JSON array
    price       INTEGER CHECK (price >= 0),
    percent_off INTEGER CHECK (percent_off BETWEEN 1 AND 99),
    channels    TEXT NOT NULL, -- JSON array
    starts_at   TEXT NOT NULL,
    ends_at     TEXT NOT NULL,
    CHECK ((price IS NULL) <> (percent_off IS NULL)),
    CHECK (starts_at < ends_at)
);
CREATE INDEX campaigns_by_market ON campaigns (market);
