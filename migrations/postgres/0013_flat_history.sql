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

CREATE FUNCTION store_count_add(counter TEXT, delta BIGINT) RETURNS void AS $$
BEGIN
    INSERT INTO store_counts (name, n) VALUES (counter, delta)
        ON CONFLICT (name) DO UPDATE SET n = store_counts.n + delta;
END
$$ LANGUAGE plpgsql;

-- Seconds from accepting `epoch`'s batch to `committed_at`.
CREATE FUNCTION commit_latency(epoch_ BIGINT, committed_at_ BIGINT) RETURNS BIGINT AS $$
    SELECT committed_at_ - received_at FROM batches WHERE epoch = epoch_
$$ LANGUAGE sql STABLE;

CREATE FUNCTION commit_latency_add(latency BIGINT, sign BIGINT) RETURNS void AS $$
BEGIN
    PERFORM store_count_add('commit_latency_sum', sign * latency);
    PERFORM store_count_add('commit_latency_le:' || bound, sign)
        FROM commit_latency_buckets WHERE latency <= bound;
END
$$ LANGUAGE plpgsql;

CREATE FUNCTION count_rows() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM store_count_add(TG_ARGV[0], 1);
    ELSE
        PERFORM store_count_add(TG_ARGV[0], -1);
    END IF;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER batches_counted AFTER INSERT OR DELETE ON batches
    FOR EACH ROW EXECUTE FUNCTION count_rows('batches');
CREATE TRIGGER audits_counted AFTER INSERT OR DELETE ON conservation_audits
    FOR EACH ROW EXECUTE FUNCTION count_rows('conservation_audits');

CREATE FUNCTION count_commitments() RETURNS trigger AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        PERFORM commit_latency_add(commit_latency(OLD.epoch, OLD.committed_at), -1);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        PERFORM commit_latency_add(commit_latency(NEW.epoch, NEW.committed_at), 1);
    END IF;
    IF TG_OP = 'INSERT' THEN
        PERFORM store_count_add('commitments', 1);
        PERFORM store_count_add('commit_latency_count', 1);
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM store_count_add('commitments', -1);
        PERFORM store_count_add('commit_latency_count', -1);
    END IF;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER commitments_counted AFTER INSERT OR DELETE OR UPDATE OF committed_at ON commitments
    FOR EACH ROW EXECUTE FUNCTION count_commitments();

CREATE FUNCTION count_attempts() RETURNS trigger AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        PERFORM store_count_add('attempts:' || OLD.purpose || ':' || OLD.status, -1);
        IF OLD.status = 'mined' THEN
            PERFORM store_count_add('gas_mined', -COALESCE(OLD.gas_used, 0));
        END IF;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        PERFORM store_count_add('attempts:' || NEW.purpose || ':' || NEW.status, 1);
        IF NEW.status = 'mined' THEN
            PERFORM store_count_add('gas_mined', COALESCE(NEW.gas_used, 0));
        END IF;
    END IF;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER attempts_counted AFTER INSERT OR DELETE OR UPDATE OF status, gas_used ON tx_attempts
    FOR EACH ROW EXECUTE FUNCTION count_attempts();

-- Epochs not final yet are few (those inside their challenge window): counted through this index, the final
-- ones are the rest.
CREATE INDEX commitments_final_at ON commitments (final_at);
-- The relayer reads the commitments whose claims do not pay yet on every pass.
CREATE INDEX commitments_payable_at ON commitments (payable_at);
