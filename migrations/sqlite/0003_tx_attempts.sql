-- Every transaction the relayer sent or tried to send, with its fees and fate: one row per attempt, so a
-- replacement (same nonce, higher fees) is a new row and the replaced one is marked.
CREATE TABLE tx_attempts (
    id                       INTEGER PRIMARY KEY AUTOINCREMENT,
    -- What the transaction does: 'commit' (a state root) or 'settle' (an epoch's net curve orders).
    purpose                  TEXT    NOT NULL,
    epoch                    INTEGER NOT NULL,
    nonce                    INTEGER NOT NULL,
    -- NULL when the node refused the transaction before it had a hash in its pool.
    tx_hash                  BLOB,
    max_fee_per_gas          TEXT    NOT NULL,
    max_priority_fee_per_gas TEXT    NOT NULL,
    gas_limit                INTEGER NOT NULL,
    -- Block number when it was sent, the base of its resubmission deadline.
    sent_block               INTEGER NOT NULL,
    status                   TEXT    NOT NULL CHECK (status IN ('sent', 'mined', 'replaced', 'refused', 'reverted')),
    error                    TEXT,
    block_number             INTEGER,
    gas_used                 INTEGER,
    sent_at                  INTEGER NOT NULL,
    updated_at               INTEGER NOT NULL
);
CREATE INDEX tx_attempts_by_purpose ON tx_attempts (purpose, epoch);
