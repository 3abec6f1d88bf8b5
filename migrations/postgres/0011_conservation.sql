-- The conservation audit (docs/settlement-math.md, "Conservation between epochs").

-- What each executed epoch's settlement credits and debits, one row per intent that traded (peer to peer or
-- from the curve), computed once the epoch's net orders executed. Its rows are the settlement a later batch must
-- apply, and the intents that may not be listed again while valid.
CREATE TABLE settlement_fills (
    epoch        BIGINT NOT NULL,
    maker        BYTEA    NOT NULL,
    intent_id    BYTEA    NOT NULL,
    sell_token   TEXT    NOT NULL,
    sold         TEXT    NOT NULL,
    bought       TEXT    NOT NULL,
    valid_until  BIGINT NOT NULL,
    PRIMARY KEY (maker, intent_id)
);
CREATE INDEX settlement_fills_valid ON settlement_fills (valid_until);
CREATE INDEX settlement_fills_epoch ON settlement_fills (epoch);

-- Every epoch whose net orders executed on chain (with or without fills): its settlement is known. The relayer
-- records it when it executes them; an attester or an auditor when it reads the curve's EpochSettled log.
CREATE TABLE settled_epochs (
    epoch        BIGINT PRIMARY KEY
);

-- Which batch applied each executed epoch's settlement.
CREATE TABLE settlement_applications (
    settled_epoch BIGINT PRIMARY KEY,
    applied_in    BIGINT NOT NULL
);

-- Every labor-attested mint an audited batch carried (for contributors' limits and cooldowns).
CREATE TABLE mints (
    epoch        BIGINT NOT NULL,
    position     BIGINT NOT NULL,
    contributor  BYTEA    NOT NULL,
    amount       TEXT    NOT NULL,
    PRIMARY KEY (epoch, position)
);
CREATE INDEX mints_contributor ON mints (contributor, epoch);

-- Each audited epoch's terms (JSON: every ledger line with its named flows), shown by the API and the demo.
CREATE TABLE conservation_audits (
    epoch       BIGINT PRIMARY KEY,
    terms       TEXT    NOT NULL,
    audited_at  BIGINT NOT NULL
);

-- A batch that broke conservation: the rule, the figures, and the batch's digest. While a row is here the
-- relayer does not run: a person must look at it (as for an equivocation).
CREATE TABLE conservation_violations (
    epoch        BIGINT PRIMARY KEY,
    kind         TEXT    NOT NULL,
    detail       TEXT    NOT NULL,
    digest       BYTEA    NOT NULL,
    recorded_at  BIGINT NOT NULL
);
