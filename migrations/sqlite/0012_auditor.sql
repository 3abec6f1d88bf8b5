-- The auditor (`myco-bridge audit`): what it read from StateCommitment, what it found, and what it did about it.

-- An equivocation's shape: two certified batches for one epoch, or a certified batch whose parent forks the
-- accepted chain (stored under the forked epoch, the second side being the batch of the epoch after it).
ALTER TABLE equivocations ADD COLUMN kind TEXT NOT NULL DEFAULT 'two_batches';

-- Every commitment StateCommitment emitted (RootCommitted), as the auditor read it, and its verdict: NULL until
-- the epoch's certified batch is here to compare with, then 'matches' or 'differs'. `signers` are the attesters
-- whose signatures the commit transaction carried (comma-separated; empty when it went through another contract).
CREATE TABLE audit_commitments (
    epoch           INTEGER NOT NULL,
    commitment_hash BLOB    NOT NULL,
    state_root      BLOB    NOT NULL,
    parent_root     BLOB    NOT NULL,
    batch_digest    BLOB    NOT NULL,
    total_supply    TEXT    NOT NULL,
    total_reserve   TEXT    NOT NULL,
    flow_pressure   TEXT    NOT NULL,
    timestamp       INTEGER NOT NULL,
    final_at        INTEGER NOT NULL,
    block_number    INTEGER NOT NULL,
    tx_hash         BLOB    NOT NULL,
    signers         TEXT,
    revoked         INTEGER NOT NULL DEFAULT 0,
    verdict         TEXT,
    PRIMARY KEY (epoch, commitment_hash)
);
CREATE INDEX audit_commitments_unchecked ON audit_commitments (verdict, epoch);

-- What the auditor found, once each (kind, epoch, subject): a commitment that differs from the certified batch,
-- a batch that breaks conservation, an equivocation or a fork, a withdrawal that differs from its claim. `action`
-- is what was done: 'open' (to act on), 'revoked' (with `action_tx`), 'alarmed' (no guardian key), 'final' (found
-- after its window closed), 'gone' (the chain no longer holds it), 'reported' (nothing on chain to act on).
CREATE TABLE audit_findings (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    kind         TEXT    NOT NULL,
    epoch        INTEGER NOT NULL,
    subject      TEXT    NOT NULL,
    detail       TEXT    NOT NULL,
    evidence     TEXT    NOT NULL,
    action       TEXT    NOT NULL,
    action_tx    BLOB,
    detected_at  INTEGER NOT NULL,
    acted_at     INTEGER,
    UNIQUE (kind, epoch, subject)
);

-- Every attester set StateCommitment put in force (AttestersChanged, the constructor's included), as the auditor
-- read it: a commit's signatures are judged against the set in force at its block, from the logs alone (no call
-- at a past block, which a node without the history's state cannot answer).
CREATE TABLE audit_attester_sets (
    block_number INTEGER NOT NULL,
    log_index    INTEGER NOT NULL,
    attesters    TEXT    NOT NULL,
    threshold    INTEGER NOT NULL,
    PRIMARY KEY (block_number, log_index)
);

-- How far the auditor has read StateCommitment's logs (one row).
CREATE TABLE audit_cursor (
    id     INTEGER PRIMARY KEY CHECK (id = 1),
    block  INTEGER NOT NULL
);
