-- An attester's record of what it signed, one row per epoch: it never signs a second, different commitment for
-- an epoch (it halts instead), across restarts. The commitment is kept whole so the endpoint can serve it.
CREATE TABLE attestations (
    epoch           INTEGER PRIMARY KEY,
    commitment_hash BLOB    NOT NULL,
    parent_root     BLOB    NOT NULL,
    state_root      BLOB    NOT NULL,
    batch_digest    BLOB    NOT NULL,
    total_supply    TEXT    NOT NULL,
    total_reserve   TEXT    NOT NULL,
    flow_pressure   TEXT    NOT NULL,
    timestamp       INTEGER NOT NULL,
    signer          BLOB    NOT NULL,
    signature       BLOB    NOT NULL,
    signed_at       INTEGER NOT NULL
);

-- The relayer's record of attesters that signed something other than what it computed: who (endpoint and
-- signer), for which epoch, which fields differ, and their whole attestation as evidence. Kept, never deleted.
CREATE TABLE attestation_disagreements (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    epoch       INTEGER NOT NULL,
    endpoint    TEXT    NOT NULL,
    signer      BLOB,
    fields      TEXT    NOT NULL,
    evidence    TEXT    NOT NULL,
    seen_at     INTEGER NOT NULL,
    UNIQUE (epoch, endpoint, fields)
);

-- The attesters whose signatures went on chain with each of our commitments (comma-separated addresses; empty
-- when the commitment was found already on chain).
ALTER TABLE commitments ADD COLUMN attested_by TEXT NOT NULL DEFAULT '';
