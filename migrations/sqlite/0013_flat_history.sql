-- Where reconciliation resumes, so a pass reads what changed since the last one and the mismatches still open, not
-- every event and claim ever stored. Events below `withdrawals_from_block` were checked; deposits up to
-- `deposits_after` are credited or have an open mismatch; credits of epochs before `credits_from_epoch` were
-- checked. No row: the next pass reads everything (a new store, or a rewind after a reorg deleted it).
CREATE TABLE reconcile_cursors (
    id                     INTEGER PRIMARY KEY CHECK (id = 1),
    withdrawals_from_block BIGINT  NOT NULL,
    deposits_after         BIGINT  NOT NULL,
    credits_from_epoch     BIGINT  NOT NULL
);

CREATE INDEX escrow_withdrawals_block ON escrow_withdrawals (block_number);
CREATE INDEX credits_epoch ON credits (epoch);

-- Counts kept in the transactions that change what they count, so `/metrics` reads one row instead of joining
-- every claim with every payment. Started here from the rows already stored.
CREATE TABLE store_counts (
    name TEXT   PRIMARY KEY,
    n    BIGINT NOT NULL
);
INSERT INTO store_counts (name, n)
    SELECT 'claims_unpaid', COUNT(*) FROM claims k LEFT JOIN escrow_withdrawals w ON w.claim_id = k.claim_id
    WHERE w.claim_id IS NULL;

-- Open mismatches are few and read on every scrape and pass; resolved ones only grow.
CREATE INDEX mismatches_open ON mismatches (kind) WHERE resolved_at IS NULL;

-- The other counts `/metrics` reads, kept by triggers so every write path keeps them (names as in
-- `store::counts`): batches, commitments, the commit latency histogram (`commit_latency_buckets` are its bounds,
-- in seconds), transaction attempts by purpose and status, gas used by mined attempts, and conservation audits.
CREATE TABLE commit_latency_buckets (bound BIGINT PRIMARY KEY);
INSERT INTO commit_latency_buckets (bound) VALUES (1), (2), (5), (10), (30), (60), (120), (300), (600), (1800);

INSERT INTO store_counts (name, n) SELECT 'batches', COUNT(*) FROM batches;
INSERT INTO store_counts (name, n) SELECT 'commitments', COUNT(*) FROM commitments;
INSERT INTO store_counts (name, n) SELECT 'conservation_audits', COUNT(*) FROM conservation_audits;
INSERT INTO store_counts (name, n)
    SELECT 'commit_latency_count', COUNT(*) FROM commitments c JOIN batches b ON b.epoch = c.epoch;
INSERT INTO store_counts (name, n)
    SELECT 'commit_latency_sum', COALESCE(SUM(c.committed_at - b.received_at), 0)
    FROM commitments c JOIN batches b ON b.epoch = c.epoch;
INSERT INTO store_counts (name, n)
    SELECT 'commit_latency_le:' || k.bound,
           (SELECT COUNT(*) FROM commitments c JOIN batches b ON b.epoch = c.epoch
            WHERE c.committed_at - b.received_at <= k.bound)
    FROM commit_latency_buckets k;
INSERT INTO store_counts (name, n)
    SELECT 'attempts:' || purpose || ':' || status, COUNT(*) FROM tx_attempts GROUP BY purpose, status;
INSERT INTO store_counts (name, n)
    SELECT 'gas_mined', COALESCE(SUM(gas_used), 0) FROM tx_attempts WHERE status = 'mined';

CREATE TRIGGER batches_counted AFTER INSERT ON batches BEGIN
    UPDATE store_counts SET n = n + 1 WHERE name = 'batches';
END;
CREATE TRIGGER batches_uncounted AFTER DELETE ON batches BEGIN
    UPDATE store_counts SET n = n - 1 WHERE name = 'batches';
END;
CREATE TRIGGER audits_counted AFTER INSERT ON conservation_audits BEGIN
    UPDATE store_counts SET n = n + 1 WHERE name = 'conservation_audits';
END;
CREATE TRIGGER audits_uncounted AFTER DELETE ON conservation_audits BEGIN
    UPDATE store_counts SET n = n - 1 WHERE name = 'conservation_audits';
END;

CREATE TRIGGER commitments_counted AFTER INSERT ON commitments BEGIN
    UPDATE store_counts SET n = n + 1 WHERE name IN ('commitments', 'commit_latency_count');
    UPDATE store_counts SET n = n + NEW.committed_at - (SELECT received_at FROM batches WHERE epoch = NEW.epoch)
        WHERE name = 'commit_latency_sum';
    UPDATE store_counts SET n = n + 1 WHERE name IN
        (SELECT 'commit_latency_le:' || bound FROM commit_latency_buckets
         WHERE NEW.committed_at - (SELECT received_at FROM batches WHERE epoch = NEW.epoch) <= bound);
END;
CREATE TRIGGER commitments_recounted AFTER UPDATE OF committed_at ON commitments BEGIN
    UPDATE store_counts SET n = n + NEW.committed_at - OLD.committed_at WHERE name = 'commit_latency_sum';
    UPDATE store_counts SET n = n - 1 WHERE name IN
        (SELECT 'commit_latency_le:' || bound FROM commit_latency_buckets
         WHERE OLD.committed_at - (SELECT received_at FROM batches WHERE epoch = OLD.epoch) <= bound);
    UPDATE store_counts SET n = n + 1 WHERE name IN
        (SELECT 'commit_latency_le:' || bound FROM commit_latency_buckets
         WHERE NEW.committed_at - (SELECT received_at FROM batches WHERE epoch = NEW.epoch) <= bound);
END;
CREATE TRIGGER commitments_uncounted AFTER DELETE ON commitments BEGIN
    UPDATE store_counts SET n = n - 1 WHERE name IN ('commitments', 'commit_latency_count');
    UPDATE store_counts SET n = n - (OLD.committed_at - (SELECT received_at FROM batches WHERE epoch = OLD.epoch))
        WHERE name = 'commit_latency_sum';
    UPDATE store_counts SET n = n - 1 WHERE name IN
        (SELECT 'commit_latency_le:' || bound FROM commit_latency_buckets
         WHERE OLD.committed_at - (SELECT received_at FROM batches WHERE epoch = OLD.epoch) <= bound);
END;

CREATE TRIGGER attempts_counted AFTER INSERT ON tx_attempts BEGIN
    INSERT INTO store_counts (name, n) VALUES ('attempts:' || NEW.purpose || ':' || NEW.status, 1)
        ON CONFLICT (name) DO UPDATE SET n = n + 1;
    UPDATE store_counts SET n = n + COALESCE(NEW.gas_used, 0) WHERE name = 'gas_mined' AND NEW.status = 'mined';
END;
CREATE TRIGGER attempts_recounted AFTER UPDATE OF status, gas_used ON tx_attempts BEGIN
    UPDATE store_counts SET n = n - 1 WHERE name = 'attempts:' || OLD.purpose || ':' || OLD.status;
    INSERT INTO store_counts (name, n) VALUES ('attempts:' || NEW.purpose || ':' || NEW.status, 1)
        ON CONFLICT (name) DO UPDATE SET n = n + 1;
    UPDATE store_counts SET n = n - COALESCE(OLD.gas_used, 0) WHERE name = 'gas_mined' AND OLD.status = 'mined';
    UPDATE store_counts SET n = n + COALESCE(NEW.gas_used, 0) WHERE name = 'gas_mined' AND NEW.status = 'mined';
END;
CREATE TRIGGER attempts_uncounted AFTER DELETE ON tx_attempts BEGIN
    UPDATE store_counts SET n = n - 1 WHERE name = 'attempts:' || OLD.purpose || ':' || OLD.status;
    UPDATE store_counts SET n = n - COALESCE(OLD.gas_used, 0) WHERE name = 'gas_mined' AND OLD.status = 'mined';
END;

-- Epochs not final yet are few (those inside their challenge window): counted through this index, the final
-- ones are the rest.
CREATE INDEX commitments_final_at ON commitments (final_at);
-- The relayer reads the commitments whose claims do not pay yet on every pass.
CREATE INDEX commitments_payable_at ON commitments (payable_at);
