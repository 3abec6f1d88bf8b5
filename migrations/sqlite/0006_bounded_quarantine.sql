-- The quarantine keeps one input per (source, epoch, reason); further rejections of the same kind from the same
-- source for the same epoch are counted here instead of stored (a source serving fresh garbage on every poll
-- cannot fill the disk).
CREATE TABLE quarantine_repeats (
    source  TEXT    NOT NULL,
    epoch   INTEGER NOT NULL,
    reason  TEXT    NOT NULL,
    count   INTEGER NOT NULL,
    last_at INTEGER NOT NULL,
    PRIMARY KEY (source, epoch, reason)
);

-- The length of the input as received (only its first bytes are kept when it was not certified by a quorum).
ALTER TABLE quarantine ADD COLUMN raw_len INTEGER;
CREATE INDEX quarantine_source_epoch_reason ON quarantine (source, epoch, reason);
