-- Hashes of blocks the watcher has read (each range's last block and every block with an escrow event), to find
-- the common ancestor when the chain reorganises.
CREATE TABLE watcher_blocks (
    number INTEGER PRIMARY KEY,
    hash   BLOB    NOT NULL
);

-- Every reorganisation the watcher rewound over.
CREATE TABLE reorgs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    -- The last block both chains share; everything above it was re-read.
    ancestor    INTEGER NOT NULL,
    -- The watcher's tip before the rewind, and its hash there.
    old_tip     INTEGER NOT NULL,
    old_hash    BLOB    NOT NULL,
    detected_at INTEGER NOT NULL
);

-- The latest accepted epoch when the watcher stored the deposit: a deposit must be credited within K epochs.
ALTER TABLE escrow_deposits ADD COLUMN seen_epoch INTEGER NOT NULL DEFAULT 0;

-- Disagreements between the chain and the certified off-chain ledger, with their evidence; never deleted.
CREATE TABLE mismatches (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    -- unknown_withdrawal, withdrawal_differs, claim_paid_twice, deposit_not_credited, credit_unknown,
    -- credit_differs
    kind        TEXT    NOT NULL,
    -- The claim id or deposit id concerned.
    subject     TEXT    NOT NULL,
    epoch       INTEGER,
    detail      TEXT    NOT NULL,
    -- JSON: the on-chain event and the off-chain record compared.
    evidence    TEXT    NOT NULL,
    detected_at INTEGER NOT NULL,
    -- Set when the disagreement went away (e.g. a late credit, or a reorg removed the event); NULL while open.
    resolved_at INTEGER,
    UNIQUE (kind, subject)
);
