-- What the settlement math computed for each accepted epoch: the redemption rate its claims are paid at and
-- how its credited deposits split over the reserve vaults.
CREATE TABLE epoch_outputs (
    epoch         BIGINT PRIMARY KEY REFERENCES batches (epoch),
    -- Average WAD USD per MYCO over the epoch's claims before penalties (the marginal rate without claims).
    pamm_rate     TEXT    NOT NULL,
    redeemed_myco TEXT    NOT NULL,
    -- USDC the escrow pays for all of the epoch's claims, flow penalties applied.
    payout_usdc   TEXT    NOT NULL,
    -- JSON: [{"vault": id, "deposit_usd": amount}], or {"error": reason}; NULL when the batch lists no vaults.
    deposit_split TEXT
);

-- Each epoch's net curve orders, recorded as planned before they are sent and completed once executed.
CREATE TABLE curve_settlements (
    epoch          BIGINT PRIMARY KEY REFERENCES batches (epoch),
    -- Curve spot price (WAD) the batch auction ran at.
    spot           TEXT    NOT NULL,
    clearing_price TEXT,
    matched_myco   TEXT    NOT NULL,
    fills          BIGINT NOT NULL,
    sell_myco      TEXT    NOT NULL,
    sell_min_usdc  TEXT    NOT NULL,
    buy_usdc       TEXT    NOT NULL,
    buy_min_myco   TEXT    NOT NULL,
    -- Net orders not executed and why, one per line ('' when none).
    skipped        TEXT    NOT NULL,
    status         TEXT    NOT NULL CHECK (status IN ('planned', 'executed', 'nothing')),
    usdc_out       TEXT,
    myco_out       TEXT,
    tx_hash        BYTEA,
    block_number   BIGINT,
    gas_used       BIGINT,
    planned_at     BIGINT NOT NULL,
    executed_at    BIGINT
);
