-- What each stored claim pays in USDC (6 decimals), priced when its epoch is stored, so what committed claims
-- still owe is kept, not recomputed from every unpaid claim before each commitment. NULL for claims stored before
-- this migration (and for an epoch the math could not price): those are priced when read, as before.
ALTER TABLE claims ADD COLUMN usdc_payout TEXT;
CREATE INDEX claims_unpriced ON claims (epoch) WHERE usdc_payout IS NULL;

-- The USDC the priced, unpaid claims owe, per epoch (`epoch` >= 1) and over all epochs (`epoch` = 0, which no
-- batch has), kept in the transactions that store claims, store their payments and rewind payments. An epoch
-- whose claims are all paid has no row.
CREATE TABLE claims_owed (
    epoch BIGINT PRIMARY KEY,
    usdc  TEXT   NOT NULL
);
