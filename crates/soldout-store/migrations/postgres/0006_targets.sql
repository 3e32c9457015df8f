-- The company's annual unit targets, one per year.
CREATE TABLE targets (
    year   integer PRIMARY KEY,
    units  bigint NOT NULL CHECK (units > 0),
    set_at timestamptz NOT NULL
);
