// Builds and signs a myco-bridge batch from docs/batch-format.md alone, with the JavaScript Automerge package and
// an Ed25519 library from npm: the interoperability check for validators written in other languages.
//
// usage: node tests/interop/make-batch.mjs OUT_DIR [CHAIN_ID]
// writes OUT_DIR/1.batch and OUT_DIR/validators.txt (the validators' public keys, one hex key per line)

import { writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import * as A from '@automerge/automerge';
import { ed25519 } from '@noble/curves/ed25519.js';
import { keccak_256 } from '@noble/hashes/sha3.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { certify, u64be } from './envelope.mjs';

const outDir = process.argv[2];
const chainId = BigInt(process.argv[3] ?? '31337');
if (!outDir) throw new Error('usage: make-batch.mjs OUT_DIR [CHAIN_ID]');

const enc = new TextEncoder();
const hex = (bytes) => '0x' + Buffer.from(bytes).toString('hex');
const u256be = (n) => Buffer.from(BigInt(n).toString(16).padStart(64, '0'), 'hex');
const str = (s) => new A.ImmutableString(s); // scalar strings, as the spec asks
const key = (label) => sha256(enc.encode(label)); // deterministic 32-byte Ed25519 secret keys

// Four validators; quorum floor(2*4/3)+1 = 3.
const validators = [0, 1, 2, 3].map((i) => key(`interop validator ${i}`));
const maker = key('interop maker');
const makerPub = ed25519.getPublicKey(maker);

const epoch = 1n;
const parent = new Uint8Array(32); // epoch 1 links to the zero digest
const timestamp = 1_800_000_000;

// An intent: sell 2 MYCO for at least 1.98 USDC, signed by its maker (spec: intent signatures).
const intent = {
  id: keccak_256(enc.encode('interop intent 1')),
  sellToken: 0, // MYCO
  buyToken: 1, // USDC
  sellAmount: 2_000_000_000_000_000_000n,
  minBuy: 1_980_000n,
  validUntil: timestamp + 3600,
  partial: true,
};
const intentDigest = keccak_256(Buffer.concat([
  enc.encode('myco-bridge/intent/v1'), u64be(chainId), intent.id, makerPub,
  Buffer.from([intent.sellToken, intent.buyToken]), u256be(intent.sellAmount), u256be(intent.minBuy),
  u64be(intent.validUntil), Buffer.from([intent.partial ? 1 : 0]),
]));
const intentSig = ed25519.sign(intentDigest, maker);

const wad = 10n ** 18n;
const supply = 5n * wad;
const state = {
  version: new A.Uint(1),
  epoch: new A.Uint(Number(epoch)),
  parent: str(hex(parent)),
  timestamp: new A.Uint(timestamp),
  balances: { MYCO: { [hex(makerPub)]: str(supply.toString()) }, USDC: {} },
  intents: [{
    // sell_token is a plain JS string, which Automerge stores as a text object: the spec accepts both forms.
    id: str(hex(intent.id)), maker: str(hex(makerPub)), sell_token: 'MYCO', buy_token: str('USDC'),
    sell_amount: str(intent.sellAmount.toString()), min_buy: str(intent.minBuy.toString()),
    valid_until: intent.validUntil, partial: intent.partial, signature: str(hex(intentSig)),
  }],
  flows: {},
  deposits: [{ deposit_id: 1, account: str(hex(makerPub)), amount: str('5000000') }],
  withdrawals: [{
    claim_id: str('1'), account: str(hex(makerPub)), amount: str(wad.toString()),
    recipient: str('0x70997970C51812dc3A010C7d01b50e0d17dc79C8'),
  }],
  reserve: {
    total_supply: str(supply.toString()), total_reserve: str(supply.toString()), flow_pressure: str('0'),
    redemption_level: str('0'), redemption_updated: 0,
    vaults: [{ id: str('t-bills'), value: str(supply.toString()), target_weight: str(wad.toString()) }],
  },
};
// Built with change() rather than from(): from() does not keep Uint / ImmutableString wrappers as scalars.
const doc = A.change(A.init(), (d) => { for (const [k, v] of Object.entries(state)) d[k] = v; });
const document = A.save(doc);

// The certificate and the envelope (envelope.mjs).
const { digest, envelope } = certify(chainId, epoch, parent, document, validators);

mkdirSync(outDir, { recursive: true });
writeFileSync(join(outDir, '1.batch'), envelope);
writeFileSync(join(outDir, 'validators.txt'), validators.map((sk) => hex(ed25519.getPublicKey(sk))).join('\n') + '\n');
console.log(`wrote ${join(outDir, '1.batch')} (${envelope.length} bytes), digest ${hex(digest)}`);
