-- The escrow's cancellations of commitments and their undoing, and its pauses, as of the canonical chain (the
-- watcher keeps them with the deposits and withdrawals, and a reorg rewinds them the same way). The API says a
-- claim is `cancelled` while a cancellation of its epoch's commitment stands, so users do not send withdrawals that
-- revert.
CREATE TABLE escrow_commitment_controls (
    block_number    BIGINT  NOT NULL,
    log_index       BIGINT  NOT NULL,
    kind            TEXT    NOT NULL CHECK (kind IN ('cancelled', 'uncancel_scheduled', 'uncancel_vetoed', 'uncancelled')),
    epoch           BIGINT  NOT NULL,
    commitment_hash BYTEA    NOT NULL,
    actor           BYTEA,
    reason          TEXT,
    effective_at    BIGINT,
    tx_hash         BYTEA    NOT NULL,
    PRIMARY KEY (block_number, log_index)
);
CREATE INDEX escrow_commitment_controls_by_epoch ON escrow_commitment_controls (epoch, commitment_hash);

-- Pauses and resumptions of deposits and withdrawals (`PauseChanged`), and each withdrawal stop's end
-- (`WithdrawalsStopped`: `until`, when it lapses by itself).
CREATE TABLE escrow_pauses (
    block_number BIGINT  NOT NULL,
    log_index    BIGINT  NOT NULL,
    side         TEXT    NOT NULL CHECK (side IN ('deposits', 'withdrawals')),
    paused       INTEGER NOT NULL,
    until        BIGINT,
    actor        BYTEA,
    tx_hash      BYTEA    NOT NULL,
    PRIMARY KEY (block_number, log_index)
);
