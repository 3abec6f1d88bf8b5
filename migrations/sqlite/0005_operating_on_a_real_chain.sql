-- When each commitment becomes final, in the chain's time (its block timestamp plus the contract's challenge
-- window, as StateCommitment reports them); NULL until read.
ALTER TABLE commitments ADD COLUMN final_at INTEGER;

-- The chain as the relayer last saw it: finality and lags are judged against the chain's clock, never the
-- relayer's. One row.
CREATE TABLE chain_clock (
    id              INTEGER PRIMARY KEY CHECK (id = 1),
    head_block      INTEGER NOT NULL,
    -- The head block's timestamp (seconds).
    head_time       INTEGER NOT NULL,
    -- The node's `finalized` block, when it reports one.
    finalized_block INTEGER,
    observed_at     INTEGER NOT NULL
);

-- Why the relayer halted; cleared when a relayer starts again. The newest open row is the current halt.
CREATE TABLE halts (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    reason     TEXT    NOT NULL,
    halted_at  INTEGER NOT NULL,
    cleared_at INTEGER
);

-- Net order legs planned but not executed, by reason code (float_myco, float_usdc, curve_supply, slippage).
CREATE TABLE net_order_skips (
    epoch  INTEGER NOT NULL REFERENCES batches (epoch),
    reason TEXT    NOT NULL,
    detail TEXT    NOT NULL
);
CREATE INDEX net_order_skips_reason ON net_order_skips (reason);

-- The timestamp of the last block the watcher has read: a credit certified by a batch no later than this, for a
-- deposit the watcher has not seen, names a deposit the chain does not have. NULL after a rewind until re-read.
ALTER TABLE watcher_cursor ADD COLUMN read_time INTEGER;
