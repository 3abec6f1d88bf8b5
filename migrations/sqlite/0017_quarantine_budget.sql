-- The quarantine's total is bounded, per source and overall (`store::quarantine::Budget`): a hostile endpoint that
-- serves fresh garbage for every epoch used to add about a MiB an epoch without end. A source is the endpoint
-- (scheme and authority of a batch URL) or the folder of a batch file, not the per-epoch origin.

-- Which source served the input, the bytes it takes (input kept, reason, and a fixed row overhead), and whether a
-- quorum certified it (evidence against the validators: never evicted to make room).
ALTER TABLE quarantine ADD COLUMN source_key TEXT;
ALTER TABLE quarantine ADD COLUMN kept_bytes INTEGER;
ALTER TABLE quarantine ADD COLUMN certified INTEGER NOT NULL DEFAULT 0;
UPDATE quarantine SET source_key = source, kept_bytes = LENGTH(raw) + LENGTH(detail) + 256;
CREATE INDEX quarantine_by_source_key ON quarantine (source_key, certified, id);

-- Bytes each source has in the quarantine now, and how many of them are certified evidence (kept with every
-- insert and eviction, so a bound check reads one row): a source's share bounds its uncertified bytes.
CREATE TABLE quarantine_sources (
    source_key       TEXT    PRIMARY KEY,
    kept_bytes       INTEGER NOT NULL,
    certified_bytes  INTEGER NOT NULL DEFAULT 0
);
INSERT INTO quarantine_sources (source_key, kept_bytes)
    SELECT source_key, SUM(kept_bytes) FROM quarantine GROUP BY source_key;

-- What the bound cost, counted so nothing is lost silently: inputs evicted to make room (the oldest uncertified of
-- their source first), inputs not kept because only certified evidence filled the room, and repeat counters folded
-- out of `quarantine_repeats` once a source has too many of them. By source and reason.
CREATE TABLE quarantine_dropped (
    source_key      TEXT    NOT NULL,
    reason          TEXT    NOT NULL,
    evicted         INTEGER NOT NULL DEFAULT 0,
    evicted_bytes   INTEGER NOT NULL DEFAULT 0,
    not_kept        INTEGER NOT NULL DEFAULT 0,
    folded_repeats  INTEGER NOT NULL DEFAULT 0,
    last_at         INTEGER NOT NULL,
    PRIMARY KEY (source_key, reason)
);

-- Repeat counters by source, so their number per source is bounded too.
ALTER TABLE quarantine_repeats ADD COLUMN source_key TEXT;
UPDATE quarantine_repeats SET source_key = source;
CREATE INDEX quarantine_repeats_by_source_key ON quarantine_repeats (source_key, last_at);
