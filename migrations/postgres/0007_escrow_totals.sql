-- Running totals of the escrow's events (count and USDC amount, a decimal uint256), kept in the same transaction
-- as the events themselves (added as a range is stored, subtracted as a reorg rewinds), so reading them never
-- loads a whole table. Rows appear on first use; a store upgraded to this version is backfilled once at start.
CREATE TABLE escrow_totals (
    kind   TEXT   PRIMARY KEY,
    events BIGINT NOT NULL,
    amount TEXT   NOT NULL
);
