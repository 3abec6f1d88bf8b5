// The certified envelope of docs/batch-format.md (§1, §3), shared by the interoperability scripts: every
// validator signs keccak256("myco-bridge/batch/v1" ‖ chain_id ‖ epoch ‖ parent ‖ keccak256(document)).

import { ed25519 } from '@noble/curves/ed25519.js';
import { keccak_256 } from '@noble/hashes/sha3.js';

const enc = new TextEncoder();

/** 8 bytes, big-endian. */
export const u64be = (n) => { const b = Buffer.alloc(8); b.writeBigUInt64BE(BigInt(n)); return b; };

/** The batch digest and the envelope of `document` (a saved Automerge document) signed by every validator key. */
export function certify(chainId, epoch, parent, document, validators) {
  const digest = keccak_256(Buffer.concat([
    enc.encode('myco-bridge/batch/v1'), u64be(chainId), u64be(epoch), parent, keccak_256(document),
  ]));
  const signatures = validators.map((sk) => Buffer.concat([ed25519.getPublicKey(sk), ed25519.sign(digest, sk)]));
  const docLen = Buffer.alloc(4); docLen.writeUInt32BE(document.length);
  const sigCount = Buffer.alloc(2); sigCount.writeUInt16BE(signatures.length);
  const envelope = Buffer.concat([
    enc.encode('MYCOBAT1'), u64be(chainId), u64be(epoch), parent, docLen, document, sigCount, ...signatures,
  ]);
  return { digest, envelope };
}
