-- Hardening against hostile clients: payment events as first received, refunds owed
-- on online orders, the dashboard's server-side sessions, and revoked clerks.

-- Every payment provider event as it was first received. An event id names one
-- report: the same id again with anything else is refused, not absorbed.
CREATE TABLE payment_events (
    event_id    text PRIMARY KEY,
    order_id    text NOT NULL,
    outcome     text NOT NULL CHECK (outcome IN ('succeeded', 'failed')),
    amount      bigint NOT NULL,
    currency    text NOT NULL,
    received_at timestamptz NOT NULL
);

-- Successful payments an online order's buyer must get back (a second payment, or
-- one after the order expired or was cancelled).
ALTER TABLE online_orders ADD COLUMN refunds_due bigint NOT NULL DEFAULT 0 CHECK (refunds_due >= 0);

-- What a customer holds unpaid is counted inside every new order's transaction.
CREATE INDEX online_orders_reserved_by_customer ON online_orders (customer) WHERE status = 'reserved';

-- The dashboard's sessions. Only a hash of the session id is stored, so the table
-- does not hand out sessions to whoever reads it.
CREATE TABLE dashboard_sessions (
    id_hash      text PRIMARY KEY,
    clerk        bigint REFERENCES clerks (id), -- NULL: the admin
    created_at   timestamptz NOT NULL,
    last_seen_at timestamptz NOT NULL
);

ALTER TABLE clerks ADD COLUMN revoked_at timestamptz;
