-- OS releases and their staged rollouts (issue 8).
CREATE TABLE os_releases (
    id         TEXT PRIMARY KEY,
    body       TEXT NOT NULL, -- the release as checked, JSON
    created_at TEXT NOT NULL
);

CREATE TABLE os_rollouts (
    id         TEXT PRIMARY KEY,
    release    TEXT NOT NULL REFERENCES os_releases (id),
    terms      TEXT NOT NULL, -- the terms as checked, JSON
    created_at TEXT NOT NULL
);

-- Every rollout's events, in the order they were decided: groups of events written
-- together (one group per rollout per flush), postcard-encoded.
CREATE TABLE rollout_journal (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    rollout TEXT NOT NULL REFERENCES os_rollouts (id),
    events  BLOB NOT NULL
);
CREATE INDEX rollout_journal_by_rollout ON rollout_journal (rollout, id);

-- The Android base a device's OS is built on, once a rollout installed one.
ALTER TABLE devices ADD COLUMN os_base TEXT;

-- The installed base: devices sold before soldout or through partners, imported all
-- or nothing. A serial is in `devices` or here, never both.
CREATE TABLE installed_base (
    serial      TEXT PRIMARY KEY,
    sku         TEXT NOT NULL REFERENCES skus (sku),
    product     TEXT NOT NULL REFERENCES products (id),
    market      TEXT NOT NULL REFERENCES markets (code),
    sold_at     TEXT NOT NULL,
    os_version  TEXT NOT NULL,
    os_base     TEXT,
    imported_at TEXT NOT NULL
);
CREATE INDEX installed_base_by_market ON installed_base (market, product);
