-- Regular online orders (shipped or picked up), outside flash sales. They follow the
-- same lifecycle as flash-sale orders; their units are reserved in the stock ledger.

CREATE TABLE online_orders (
    id               TEXT PRIMARY KEY, -- ULID
    customer         INTEGER NOT NULL REFERENCES customers (id),
    idempotency_key  TEXT NOT NULL,    -- fingerprint of the customer's key, hex
    request_hash     INTEGER NOT NULL,
    market           TEXT NOT NULL REFERENCES markets (code),
    location         TEXT NOT NULL REFERENCES locations (id),
    fulfillment      TEXT NOT NULL CHECK (fulfillment IN ('ship', 'pickup')),
    status           TEXT NOT NULL CHECK (status IN
                       ('reserved', 'paid', 'fulfilled', 'cancelled', 'expired', 'refund_due')),
    amount           INTEGER NOT NULL CHECK (amount >= 0),
    currency         TEXT NOT NULL,
    created_at       TEXT NOT NULL,
    pay_by           TEXT NOT NULL,
    payment_failures INTEGER NOT NULL DEFAULT 0,
    UNIQUE (customer, idempotency_key)
);
CREATE INDEX online_orders_reserved_by_pay_by ON online_orders (pay_by) WHERE status = 'reserved';

CREATE TABLE online_order_lines (
    order_id   TEXT NOT NULL REFERENCES online_orders (id),
    sku        TEXT NOT NULL REFERENCES skus (sku),
    product    TEXT NOT NULL REFERENCES products (id),
    quantity   INTEGER NOT NULL CHECK (quantity > 0),
    unit_price INTEGER NOT NULL CHECK (unit_price >= 0),
    campaign   INTEGER,
    PRIMARY KEY (order_id, sku)
);

-- Payment provider events applied to online orders; an event id is applied once.
CREATE TABLE online_payment_events (
    event_id TEXT PRIMARY KEY,
    order_id TEXT NOT NULL REFERENCES online_orders (id),
    outcome  TEXT NOT NULL CHECK (outcome IN ('succeeded', 'failed')),
    at       TEXT NOT NULL
);
