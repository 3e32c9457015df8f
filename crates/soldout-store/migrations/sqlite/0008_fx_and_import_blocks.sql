-- Exchange rates: a currency's units per US dollar in a quarter, kept as the exact
-- decimal text it was imported as. Where batches disagree, the latest import wins.
CREATE TABLE fx_rates (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    batch    TEXT NOT NULL,
    period   TEXT NOT NULL,
    currency TEXT NOT NULL,
    per_usd  TEXT NOT NULL
);
CREATE INDEX fx_rates_by_period ON fx_rates (period, currency);
CREATE INDEX fx_rates_by_batch ON fx_rates (batch);

-- Imported shipment rows, many to a block: each block holds up to 65,536 rows of one
-- quarter of one import, encoded compactly (a dictionary of market, channel,
-- product, SKU and currency, then day, key, units and revenue per row). Rows written
-- by sales and returns stay in `shipments`; the ledger is both. Blocks let an import
-- write millions of rows a second; their totals go to `shipment_totals` as usual.
CREATE TABLE shipment_blocks (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    source  TEXT NOT NULL,
    quarter TEXT NOT NULL,
    rows    INTEGER NOT NULL,
    data    BLOB NOT NULL
);
CREATE INDEX shipment_blocks_by_quarter ON shipment_blocks (quarter);
CREATE INDEX shipment_blocks_by_source ON shipment_blocks (source);
