-- Several nodes selling one sale: the units not yet leased, each node's lease of a
-- block of them (with its fencing epoch and an expiry on the database's clock), the
-- orders as rows (one per idempotency key), and each customer's units held, which a
-- constraint keeps within the sale's limit.

-- A sale sold through leases has a pool; a sale without one is sold from its journal.
CREATE TABLE sale_pools (
    sale        bigint PRIMARY KEY REFERENCES sales (id),
    unleased    bigint NOT NULL CHECK (unleased >= 0),
    released    bigint NOT NULL DEFAULT 0 CHECK (released >= 0),
    ended       boolean NOT NULL DEFAULT false,
    -- Units in paid and in fulfilled orders, kept by the transactions that move an
    -- order (rare beside buys); units reserved follow from the rest of the row.
    paid        bigint NOT NULL DEFAULT 0 CHECK (paid >= 0),
    fulfilled   bigint NOT NULL DEFAULT 0 CHECK (fulfilled >= 0),
    -- The last epoch handed out: every new lease takes the next one.
    epoch       bigint NOT NULL DEFAULT 0,
    -- The fair-start draw's seed, recorded once for every node: it closes the draw's
    -- entries; `drawn` says the draw's orders are written.
    drawn       boolean NOT NULL DEFAULT false,
    fair_start_seed bigint,
    sold_out_at timestamptz
);

-- One live lease per node and sale. `expires_ms` is milliseconds since the Unix
-- epoch on the database's clock; a batch commits only while it is ahead of that
-- clock and its epoch is the row's.
CREATE TABLE sale_leases (
    sale       bigint NOT NULL REFERENCES sales (id),
    node       text NOT NULL,
    epoch      bigint NOT NULL,
    granted    bigint NOT NULL CHECK (granted >= 0),
    sold       bigint NOT NULL CHECK (sold >= 0 AND sold <= granted),
    expires_ms bigint NOT NULL,
    PRIMARY KEY (sale, node)
);

CREATE TABLE sale_orders (
    id               text PRIMARY KEY,
    sale             bigint NOT NULL REFERENCES sales (id),
    customer         bigint NOT NULL,
    idempotency_key  text NOT NULL,
    quantity         bigint NOT NULL CHECK (quantity > 0),
    amount           bigint NOT NULL CHECK (amount >= 0),
    status           text NOT NULL,
    created_at       timestamptz NOT NULL,
    pay_by           timestamptz NOT NULL,
    payment_failures bigint NOT NULL DEFAULT 0,
    refunds_due      bigint NOT NULL DEFAULT 0 CHECK (refunds_due >= 0),
    -- When a cancellation or an expiry gave the units back (the live chart's steps).
    closed_at        timestamptz,
    node             text NOT NULL,
    epoch            bigint NOT NULL,
    UNIQUE (sale, idempotency_key)
);
CREATE INDEX sale_orders_by_status ON sale_orders (sale, status, pay_by);

-- Units a customer holds in a sale (reserved, paid or fulfilled) and orders placed.
CREATE TABLE sale_holders (
    sale        bigint NOT NULL REFERENCES sales (id),
    customer    bigint NOT NULL,
    held        bigint NOT NULL CHECK (held >= 0),
    orders      bigint NOT NULL CHECK (orders >= 0 AND orders <= 50),
    limit_units bigint NOT NULL,
    CHECK (held <= limit_units),
    PRIMARY KEY (sale, customer)
);

CREATE TABLE sale_registrations (
    sale     bigint NOT NULL REFERENCES sales (id),
    customer bigint NOT NULL,
    PRIMARY KEY (sale, customer)
);

-- The buys every node held for the fair-start draw, one per idempotency key. Every
-- node decides the same entries with the same seed the same way; one writes the
-- winners' orders.
CREATE TABLE sale_draw_entries (
    sale            bigint NOT NULL REFERENCES sales (id),
    idempotency_key text NOT NULL,
    customer        bigint NOT NULL,
    quantity        bigint NOT NULL CHECK (quantity > 0),
    node            text NOT NULL,
    PRIMARY KEY (sale, idempotency_key)
);

-- Which node wrote each group of rollout events, so every other node applies it to
-- its own books (a node follows the journal; its own groups it applied already).
ALTER TABLE rollout_journal ADD COLUMN node text NOT NULL DEFAULT '';
