-- The company's annual unit targets, one per year.
CREATE TABLE targets (
    year   INTEGER PRIMARY KEY,
    units  INTEGER NOT NULL CHECK (units > 0),
    set_at TEXT NOT NULL
);
