-- The escrow's `Withdrawn` event now carries the claim's flow penalty and where its slice of the curve starts
-- (priorRedeemed), so reconciliation checks them against the committed claim too. Decimal uint256 as text;
-- NULL only for events stored before this version (those are compared on the other fields).
ALTER TABLE escrow_withdrawals ADD COLUMN flow_penalty TEXT;
ALTER TABLE escrow_withdrawals ADD COLUMN prior_redeemed TEXT;
