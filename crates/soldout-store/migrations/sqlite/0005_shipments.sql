-- The shipment ledger: every unit that leaves the company (negative for a return),
-- and its running totals per quarter, market, channel, product and currency, kept in
-- the same transaction as each row so reports never scan the ledger.

CREATE TABLE shipments (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    day      TEXT NOT NULL,    -- YYYY-MM-DD
    quarter  TEXT NOT NULL,    -- YYYYQn
    market   TEXT NOT NULL,
    channel  TEXT NOT NULL CHECK (channel IN ('flash_sale', 'online', 'store', 'partner')),
    product  TEXT NOT NULL,
    sku      TEXT,
    units    INTEGER NOT NULL,
    revenue  INTEGER NOT NULL,
    currency TEXT NOT NULL,
    source   TEXT NOT NULL
);
CREATE INDEX shipments_by_quarter ON shipments (quarter, market);

CREATE TABLE shipment_totals (
    quarter  TEXT NOT NULL,
    market   TEXT NOT NULL,
    channel  TEXT NOT NULL,
    product  TEXT NOT NULL,
    currency TEXT NOT NULL,
    units    INTEGER NOT NULL,
    revenue  INTEGER NOT NULL,
    PRIMARY KEY (quarter, market, channel, product, currency)
);
CREATE INDEX shipments_by_source ON shipments (source);

-- Each imported file: recognised by the hash of its content, so importing it again
-- changes nothing; a named batch is replaced by importing under its name again.
CREATE TABLE imports (
    kind         TEXT NOT NULL,
    batch        TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    rows         INTEGER NOT NULL,
    imported_at  TEXT NOT NULL,
    PRIMARY KEY (kind, batch)
);
CREATE INDEX imports_by_hash ON imports (kind, content_hash);
