-- Customers, flash sales and each sale's journal of decisions.

CREATE TABLE customers (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    email      TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL
);

CREATE TABLE sales (
    id                    INTEGER PRIMARY KEY AUTOINCREMENT,
    sku                   TEXT NOT NULL REFERENCES skus (sku),
    product               TEXT NOT NULL REFERENCES products (id),
    market                TEXT NOT NULL REFERENCES markets (code),
    location              TEXT NOT NULL REFERENCES locations (id),
    quantity              INTEGER NOT NULL CHECK (quantity > 0),
    price                 INTEGER NOT NULL CHECK (price >= 0),
    currency              TEXT NOT NULL,
    starts_at             TEXT NOT NULL,
    ends_at               TEXT NOT NULL,
    per_customer_limit    INTEGER NOT NULL CHECK (per_customer_limit > 0),
    payment_window_secs   INTEGER NOT NULL CHECK (payment_window_secs > 0),
    registration_required INTEGER NOT NULL,
    fair_start_secs       INTEGER NOT NULL CHECK (fair_start_secs >= 0),
    created_at            TEXT NOT NULL,
    CHECK (starts_at < ends_at)
);

-- Each row is one group commit of a sale's engine: a batch of events, encoded.
-- Replaying the rows in order rebuilds the sale.
CREATE TABLE sale_journal (
    sale   INTEGER NOT NULL REFERENCES sales (id),
    batch  INTEGER NOT NULL,
    events INTEGER NOT NULL CHECK (events > 0),
    body   BLOB NOT NULL,
    PRIMARY KEY (sale, batch)
);
