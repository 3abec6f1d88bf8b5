-- The highest epoch the auditor has read final on chain (`isFinal`), and when: its own record of finality, so it
-- never revokes what was final whatever a contract reads later. Epochs become final in commit order, so one
-- number covers every epoch up to it.
CREATE TABLE audit_final (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    epoch    BIGINT  NOT NULL,
    seen_at  BIGINT  NOT NULL
);

-- `audit_findings.action` gains 'cleared': the finding stopped holding against the current chain and batches
-- before anything was done (its batch is not the accepted one any more, its violation was resolved), so nothing
-- was revoked. Found again, it is opened again.
