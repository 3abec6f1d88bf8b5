-- Claims reissued under their own id in a later epoch after the guardian cancelled the commitment that first
-- held them (a withdrawal request with `reissues`). The claim's row moves to the new epoch; this keeps where it
-- came from: the old leaf (a payment through it, after an undone cancellation, is still the same claim: the
-- escrow's paid bit pays it once) and what it was priced at there (the conservation audit adds that back to the
-- reserve in the reissuing batch, since the old epoch's next batch took it out as paid).
CREATE TABLE claim_reissues (
    claim_id     TEXT    NOT NULL,
    from_epoch   BIGINT  NOT NULL,
    to_epoch     BIGINT  NOT NULL,
    from_leaf    BYTEA    NOT NULL,
    from_payout  TEXT,
    reissued_at  BIGINT  NOT NULL,
    PRIMARY KEY (claim_id, from_epoch)
);
CREATE INDEX claim_reissues_by_to_epoch ON claim_reissues (to_epoch);
