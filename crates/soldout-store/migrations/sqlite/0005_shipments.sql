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
