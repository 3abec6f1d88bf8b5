-- When each commitment's claims start to pay (chain time): final plus the escrow's withdrawal delay, as
-- USDCEscrow.payableAt reports it; NULL until read (then finality alone is shown).
ALTER TABLE commitments ADD COLUMN payable_at BIGINT;
