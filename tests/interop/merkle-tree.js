// Reference state roots: OpenZeppelin's StandardMerkleTree over withdrawal claims, for the Rust differential
// test and the Merkle benchmark.
//
// usage: node tests/interop/merkle-tree.js < claims.json > roots.json
// input:  {"trees": [[[chainId, escrow, claimId, account, recipient, mycoAmount, flowPenalty, epoch,
//                       priorRedeemed], ...], ...]}
// output: {"trees": [{"root": "0x…", "proofs": [["0x…", ...], ...], "ms": 12.3}, ...]} (proofs in input order)
'use strict';
const { StandardMerkleTree } = require('@openzeppelin/merkle-tree');

const TYPES = ['uint256', 'address', 'uint256', 'bytes32', 'address', 'uint256', 'uint256', 'uint64', 'uint256'];
const input = JSON.parse(require('fs').readFileSync(0, 'utf8'));
const trees = input.trees.map((values) => {
  const start = process.hrtime.bigint();
  const tree = StandardMerkleTree.of(values, TYPES);
  const root = tree.root;
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  const proofs = input.proofs === false ? [] : values.map((_, i) => tree.getProof(i));
  return { root, proofs, ms };
});
process.stdout.write(JSON.stringify({ trees }));
