-- The escrow's cancellations of commitments and their undoing, and its pauses, as of the canonical chain (the
-- watcher keeps them with the deposits and withdrawals, and a reorg rewinds them the same way). The API says a
-- claim is `cancelled` while a cancellation of its epoch's commitment stands, so users do not send withdrawals that
-- revert.
CREATE TABLE escrow_commitment_controls (
    block_number    INTEGER NOT NULL,
    log_index       INTEGER NOT NULL,
    kind            TEXT    NOT NULL CHECK (kind IN ('cancelled', 'uncancel_scheduled', 'uncancel_vetoed', 'uncancelled')),
    epoch           INTEGER NOT NULL,
    commitment_hash BLOB    NOT NULL,
    actor           BLOB,
    reason          TEXT,
    effective_at    INTEGER,
    tx_hash         BLOB    NOT NULL,
    PRIMARY KEY (block_number, log_index)
);
CREATE INDEX escrow_commitment_controls_by_epoch ON escrow_commitment_controls (epoch, commitment_hash);

-- Pauses and resumptions of deposits and withdrawals (`PauseChanged`), and each withdrawal stop's end
-- (`WithdrawalsStopped`: `until`, when it lapses by itself).
CREATE TABLE escrow_pauses (
    block_number INTEGER NOT NULL,
    log_index    INTEGER NOT NULL,
    side         TEXT    NOT NULL CHECK (side IN ('deposits', 'withdrawals')),
    paused       INTEGER NOT NULL,
    until        INTEGER,
    actor        BLOB,
    tx_hash      BLOB    NOT NULL,
    PRIMARY KEY (block_number, log_index)
);
