-- Regular online orders (shipped or picked up), outside flash sales. They follow the
-- same lifecycle as flash-sale orders; their units are reserved in the stock ledger.

CREATE TABLE online_orders (
    id               text PRIMARY KEY, -- ULID
    customer         bigint NOT NULL REFERENCES customers (id),
    idempotency_key  text NOT NULL,    -- fingerprint of the customer's key, hex
    request_hash     bigint NOT NULL,
    market           text NOT NULL REFERENCES markets (code),
    location         text NOT NULL REFERENCES locations (id),
    fulfillment      text NOT NULL CHECK (fulfillment IN ('ship', 'pickup')),
    status           text NOT NULL CHECK (status IN
                       ('reserved', 'paid', 'fulfilled', 'cancelled', 'expired', 'refund_due')),
    amount           bigint NOT NULL CHECK (amount >= 0),
    currency         text NOT NULL,
    created_at       timestamptz NOT NULL,
    pay_by           timestamptz NOT NULL,
    payment_failures bigint NOT NULL DEFAULT 0,
    UNIQUE (customer, idempotency_key)
);
CREATE INDEX online_orders_reserved_by_pay_by ON online_orders (pay_by) WHERE status = 'reserved';

CREATE TABLE online_order_lines (
    order_id   text NOT NULL REFERENCES online_orders (id),
    sku        text NOT NULL REFERENCES skus (sku),
    product    text NOT NULL REFERENCES products (id),
    quantity   bigint NOT NULL CHECK (quantity > 0),
    unit_price bigint NOT NULL CHECK (unit_price >= 0),
    campaign   bigint,
    PRIMARY KEY (order_id, sku)
);

-- Payment provider events applied to online orders; an event id is applied once.
CREATE TABLE online_payment_events (
    event_id text PRIMARY KEY,
    order_id text NOT NULL REFERENCES online_orders (id),
    outcome  text NOT NULL CHECK (outcome IN ('succeeded', 'failed')),
    at       timestamptz NOT NULL
);
