-- Market-wide tracker data: units per vendor (and model, where given) per market and
-- quarter, for share and rank. Our brand's rows are replaced by the ledger at report
-- time.
CREATE TABLE tracker_rows (
    batch  text NOT NULL,
    period text NOT NULL,
    market text NOT NULL,
    vendor text NOT NULL,
    model  text,
    units  bigint NOT NULL CHECK (units >= 0)
);
CREATE INDEX tracker_rows_by_period ON tracker_rows (period, market);
CREATE INDEX tracker_rows_by_batch ON tracker_rows (batch);
