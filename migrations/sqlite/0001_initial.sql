-- Verified batches, one per epoch, exactly as received.
CREATE TABLE batches (
    epoch        INTEGER PRIMARY KEY,
    digest       BLOB    NOT NULL UNIQUE,
    parent       BLOB    NOT NULL,
    timestamp    INTEGER NOT NULL,
    signers      INTEGER NOT NULL,
    state_root   BLOB    NOT NULL,
    total_supply TEXT    NOT NULL,
    total_reserve TEXT   NOT NULL,
    flow_pressure TEXT   NOT NULL,
    raw          BLOB    NOT NULL,
    received_at  INTEGER NOT NULL
);

-- Rejected input, kept with its reason; nothing is dropped.
CREATE TABLE quarantine (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    source      TEXT    NOT NULL,
    epoch       INTEGER,
    reason      TEXT    NOT NULL,
    detail      TEXT    NOT NULL,
    raw         BLOB    NOT NULL,
    raw_hash    BLOB    NOT NULL,
    received_at INTEGER NOT NULL
);
CREATE INDEX quarantine_source_hash ON quarantine (source, raw_hash);

-- Withdrawal claims of committed state roots, with their proofs (concatenated 32-byte siblings).
CREATE TABLE claims (
    claim_id     TEXT    PRIMARY KEY,
    epoch        INTEGER NOT NULL REFERENCES batches (epoch),
    account      BLOB    NOT NULL,
    recipient    BLOB    NOT NULL,
    myco_amount  TEXT    NOT NULL,
    flow_penalty TEXT    NOT NULL,
    prior_redeemed TEXT  NOT NULL,
    leaf         BLOB    NOT NULL,
    proof        BLOB    NOT NULL
);
CREATE INDEX claims_epoch ON claims (epoch);

-- State roots landed on chain.
CREATE TABLE commitments (
    epoch        INTEGER PRIMARY KEY REFERENCES batches (epoch),
    state_root   BLOB    NOT NULL,
    tx_hash      BLOB,
    block_number INTEGER,
    gas_used     INTEGER,
    committed_at INTEGER NOT NULL
);

-- USDCEscrow events, as of the canonical chain.
CREATE TABLE escrow_deposits (
    deposit_id   INTEGER PRIMARY KEY,
    depositor    BLOB    NOT NULL,
    recipient    BLOB    NOT NULL,
    amount       TEXT    NOT NULL,
    block_number INTEGER NOT NULL,
    block_hash   BLOB    NOT NULL,
    tx_hash      BLOB    NOT NULL,
    log_index    INTEGER NOT NULL
);

CREATE TABLE escrow_withdrawals (
    claim_id     TEXT    PRIMARY KEY,
    recipient    BLOB    NOT NULL,
    account      BLOB    NOT NULL,
    epoch        INTEGER NOT NULL,
    myco_amount  TEXT    NOT NULL,
    usdc_amount  TEXT    NOT NULL,
    block_number INTEGER NOT NULL,
    block_hash   BLOB    NOT NULL,
    tx_hash      BLOB    NOT NULL,
    log_index    INTEGER NOT NULL
);

-- Where the escrow watcher resumes: the next block to read.
CREATE TABLE watcher_cursor (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    next_block INTEGER NOT NULL
);

-- Escrow deposits credited by accepted batches: a deposit is credited once, ever.
CREATE TABLE credits (
    deposit_id INTEGER PRIMARY KEY,
    epoch      INTEGER NOT NULL REFERENCES batches (epoch),
    account    BLOB    NOT NULL,
    amount     TEXT    NOT NULL
);

-- Two conflicting certified batches for one epoch. While any row exists the relayer refuses to run.
CREATE TABLE equivocations (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    epoch       INTEGER NOT NULL,
    first_digest  BLOB  NOT NULL,
    first_raw     BLOB  NOT NULL,
    first_origin  TEXT  NOT NULL,
    second_digest BLOB  NOT NULL,
    second_raw    BLOB  NOT NULL,
    second_origin TEXT  NOT NULL,
    detected_at INTEGER NOT NULL
);
