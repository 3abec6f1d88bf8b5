-- The conservation audit (docs/settlement-math.md, "Conservation between epochs").

-- What each executed epoch's settlement credits and debits, one row per intent that traded (peer to peer or
-- from the curve), computed once the epoch's net orders executed. Its rows are the settlement a later batch must
-- apply, and the intents that may not be listed again while valid.
CREATE TABLE settlement_fills (
    epoch        INTEGER NOT NULL,
    maker        BLOB    NOT NULL,
    intent_id    BLOB    NOT NULL,
    sell_token   TEXT    NOT NULL,
    sold         TEXT    NOT NULL,
    bought       TEXT    NOT NULL,
    valid_until  INTEGER NOT NULL,
    PRIMARY KEY (maker, intent_id)
);
CREATE INDEX settlement_fills_valid ON settlement_fills (valid_until);
CREATE INDEX settlement_fills_epoch ON settlement_fills (epoch);

-- Every epoch whose net orders executed on chain (with or without fills): its settlement is known. The relayer
-- records it when it executes them; an attester or an auditor when it reads the curve's EpochSettled log.
CREATE TABLE settled_epochs (
    epoch        INTEGER PRIMARY KEY
);

-- Which batch applied each executed epoch's settlement.
CREATE TABLE settlement_applications (
    settled_epoch INTEGER PRIMARY KEY,
    applied_in    INTEGER NOT NULL
);

-- Every labor-attested mint an audited batch carried (for contributors' limits and cooldowns).
CREATE TABLE mints (
    epoch        INTEGER NOT NULL,
    position     INTEGER NOT NULL,
    contributor  BLOB    NOT NULL,
    amount       TEXT    NOT NULL,
    PRIMARY KEY (epoch, position)
);
CREATE INDEX mints_contributor ON mints (contributor, epoch);

-- Each audited epoch's terms (JSON: every ledger line with its named flows), shown by the API and the demo.
CREATE TABLE conservation_audits (
    epoch       INTEGER PRIMARY KEY,
    terms       TEXT    NOT NULL,
    audited_at  INTEGER NOT NULL
);

-- A batch that broke conservation: the rule, the figures, and the batch's digest. While a row is here the
-- relayer does not run: a person must look at it (as for an equivocation).
CREATE TABLE conservation_violations (
    epoch        INTEGER PRIMARY KEY,
    kind         TEXT    NOT NULL,
    detail       TEXT    NOT NULL,
    digest       BLOB    NOT NULL,
    recorded_at  INTEGER NOT NULL
);
