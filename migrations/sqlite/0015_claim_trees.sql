-- Each epoch's Merkle tree stored once (its 2n − 1 nodes, root first, 32 bytes each, laid out as
-- OpenZeppelin's StandardMerkleTree), and each claim's place in it, instead of a 17-hash proof per claim: a proof is
-- read from the tree when asked for. At 100,000 claims an epoch that is 6.4 MB instead of 54 MB of proofs.
-- Claims stored before this migration keep their proof (and no tree_index); new ones store an empty proof.
CREATE TABLE claim_trees (
    epoch BIGINT PRIMARY KEY REFERENCES batches (epoch),
    nodes BLOB   NOT NULL
);
ALTER TABLE claims ADD COLUMN tree_index BIGINT;
