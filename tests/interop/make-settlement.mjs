// A validator in JavaScript applying a settlement, from docs/batch-format.md (version 2) and
// docs/settlement-math.md alone: epoch 1 mints MYCO for labor, credits a deposit and lists two crossing
// intents; epoch 2 applies epoch 1's peer-to-peer settlement (the batch auction computed here, at the curve's
// spot), mints again, and certifies a revaluation.
//
// usage: node tests/interop/make-settlement.mjs OUT_DIR [CHAIN_ID] [SPOT_WAD]
// writes OUT_DIR/1.batch, OUT_DIR/2.batch, validators.txt and labor.txt (the labor attester's public key)

import { writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import * as A from '@automerge/automerge';
import { ed25519 } from '@noble/curves/ed25519.js';
import { keccak_256 } from '@noble/hashes/sha3.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { certify, u64be } from './envelope.mjs';

const [outDir, chainArg, spotArg] = process.argv.slice(2);
if (!outDir) throw new Error('usage: make-settlement.mjs OUT_DIR [CHAIN_ID] [SPOT_WAD]');
const chainId = BigInt(chainArg ?? '31337');
const spot = BigInt(spotArg ?? '1000000000000000000');

const enc = new TextEncoder();
const hex = (bytes) => '0x' + Buffer.from(bytes).toString('hex');
const u256be = (n) => Buffer.from(BigInt(n).toString(16).padStart(64, '0'), 'hex');
const str = (s) => new A.ImmutableString(String(s));
// Integers inside nested objects are plain numbers (Automerge wraps only top-level Uint values as scalars; the
// spec accepts a number holding an exact integer up to 2^53).
const key = (label) => sha256(enc.encode(label));
const ceilDiv = (a, b) => (a + b - 1n) / b;
const WAD = 10n ** 18n;
const SCALE = 10n ** 30n; // USDC units · 1e30 / MYCO units = WAD USD per MYCO

const validators = [0, 1, 2, 3].map((i) => key(`interop validator ${i}`));
const labor = key('interop labor attester');
const [sellerKey, buyerKey] = [key('interop seller'), key('interop buyer')];
const [seller, buyer] = [ed25519.getPublicKey(sellerKey), ed25519.getPublicKey(buyerKey)];
const TOKEN = { MYCO: 0, USDC: 1 };

// Mint digest: keccak256("myco-bridge/mint/v1" ‖ chain_id ‖ epoch ‖ contributor ‖ keccak256(kind) ‖ units ‖ amount).
function mint(epoch, contributor, kind, units, amount) {
  const digest = keccak_256(Buffer.concat([
    enc.encode('myco-bridge/mint/v1'), u64be(chainId), u64be(epoch), contributor, keccak_256(enc.encode(kind)),
    u64be(units), u256be(amount),
  ]));
  return {
    contributor: str(hex(contributor)), kind: str(kind), units: Number(units), amount: str(amount),
    attester: str(hex(ed25519.getPublicKey(labor))), signature: str(hex(ed25519.sign(digest, labor))),
  };
}

function intent(makerKey, id, sell, buy, sellAmount, minBuy, validUntil, partial) {
  const maker = ed25519.getPublicKey(makerKey);
  const digest = keccak_256(Buffer.concat([
    enc.encode('myco-bridge/intent/v1'), u64be(chainId), id, maker, Buffer.from([TOKEN[sell], TOKEN[buy]]),
    u256be(sellAmount), u256be(minBuy), u64be(validUntil), Buffer.from([partial ? 1 : 0]),
  ]));
  return { id, maker, sell, buy, sellAmount, minBuy, validUntil, partial, signature: ed25519.sign(digest, makerKey) };
}

// The batch auction (docs/settlement-math.md, "CoW matching"), peer to peer: the fills at the uniform price.
function auction(intents, balances, now) {
  const sorted = [...intents].sort((a, b) => Buffer.compare(Buffer.concat([a.maker, a.id]), Buffer.concat([b.maker, b.id])));
  const reserved = new Map();
  const sellers = [], buyers = [];
  for (const i of sorted) {
    if (i.validUntil < now) continue;
    const k = hex(i.maker) + i.sell;
    const used = reserved.get(k) ?? 0n;
    if ((balances[i.sell][hex(i.maker)] ?? 0n) - used < i.sellAmount) continue;
    reserved.set(k, used + i.sellAmount);
    if (i.sell === 'MYCO') sellers.push({ ...i, limit: ceilDiv(i.minBuy * SCALE, i.sellAmount) });
    else buyers.push({ ...i, limit: (i.sellAmount * SCALE) / i.minBuy });
  }
  const byId = (a, b) => Buffer.compare(a.id, b.id);
  sellers.sort((a, b) => (a.limit < b.limit ? -1 : a.limit > b.limit ? 1 : byId(a, b)));
  buyers.sort((a, b) => (a.limit > b.limit ? -1 : a.limit < b.limit ? 1 : byId(a, b)));
  let best = null;
  for (const p of [...sellers, ...buyers].map((o) => o.limit).concat([spot]).filter((p) => p > 0n)) {
    const supply = sellers.filter((o) => o.limit <= p).reduce((s, o) => s + o.sellAmount, 0n);
    const budget = buyers.filter((o) => o.limit >= p).reduce((s, o) => s + o.sellAmount, 0n);
    const volume = supply < (budget * SCALE) / p ? supply : (budget * SCALE) / p;
    const dist = (x) => (x > spot ? x - spot : spot - x);
    if (!best || volume > best.volume || (volume === best.volume && (dist(p) < dist(best.p) || (dist(p) === dist(best.p) && p < best.p)))) {
      best = { volume, p };
    }
  }
  if (!best || best.volume === 0n) return [];
  const P = best.p;
  const sellSide = sellers.filter((o) => o.limit <= P), buySide = buyers.filter((o) => o.limit >= P);
  const sellCaps = sellSide.map((o) => o.sellAmount), buyCaps = buySide.map((o) => (o.sellAmount * SCALE) / P);
  const greedy = (orders, caps, target) => {
    let left = target;
    return orders.map((o, i) => { const take = caps[i] <= left ? caps[i] : o.partial ? left : 0n; left -= take; return take; });
  };
  const sum = (v) => v.reduce((a, b) => a + b, 0n);
  let target = sum(sellCaps) < sum(buyCaps) ? sum(sellCaps) : sum(buyCaps);
  let sold, bought;
  for (;;) {
    sold = greedy(sellSide, sellCaps, target);
    bought = greedy(buySide, buyCaps, sum(sold));
    if (sum(sold) === sum(bought)) break;
    target = sum(bought);
  }
  const fills = [];
  sellSide.forEach((o, i) => sold[i] > 0n && fills.push({ o, sold: sold[i], bought: (sold[i] * P) / SCALE }));
  buySide.forEach((o, i) => bought[i] > 0n && fills.push({ o, sold: ceilDiv(bought[i] * P, SCALE), bought: bought[i] }));
  return fills;
}

function certifyState(epoch, parent, state) {
  const doc = A.change(A.init(), (d) => { for (const [k, v] of Object.entries(state)) d[k] = v; });
  const { digest, envelope } = certify(chainId, epoch, parent, A.save(doc), validators);
  writeFileSync(join(outDir, `${epoch}.batch`), envelope);
  return digest;
}

const amounts = (m) => Object.fromEntries(Object.entries(m).map(([k, v]) => [k, str(v)]));
const intentDoc = (i) => ({
  id: str(hex(i.id)), maker: str(hex(i.maker)), sell_token: str(i.sell), buy_token: str(i.buy),
  sell_amount: str(i.sellAmount), min_buy: str(i.minBuy), valid_until: i.validUntil,
  partial: i.partial, signature: str(hex(i.signature)),
});
const vault = (value) => [{ id: str('t-bills'), value: str(value), target_weight: str(WAD) }];
mkdirSync(outDir, { recursive: true });

// Epoch 1: the seller is minted 5 MYCO for labor; the buyer's 5 USDC deposit is credited (the reserve grows by
// 5 USD, all held by the escrow); the seller offers 2 MYCO for at least 1.98 USDC, the buyer 2 USDC for at
// least 1.98 MYCO: at the spot of 1.0 both fill whole, nothing is left for the curve.
const t1 = 1_800_000_000;
const balances1 = { MYCO: { [hex(seller)]: 5n * WAD }, USDC: { [hex(buyer)]: 5_000_000n } };
const intents = [
  intent(sellerKey, keccak_256(enc.encode('interop sell')), 'MYCO', 'USDC', 2n * WAD, 1_980_000n, t1 + 3600, true),
  intent(buyerKey, keccak_256(enc.encode('interop buy')), 'USDC', 'MYCO', 2_000_000n, 198n * WAD / 100n, t1 + 3600, true),
];
const reserve1 = 5n * WAD;
const digest1 = certifyState(1n, new Uint8Array(32), {
  version: new A.Uint(2), epoch: new A.Uint(1), parent: str(hex(new Uint8Array(32))), timestamp: new A.Uint(t1),
  balances: { MYCO: amounts(balances1.MYCO), USDC: amounts(balances1.USDC) },
  intents: intents.map(intentDoc), flows: {},
  deposits: [{ deposit_id: 1, account: str(hex(buyer)), amount: str(5_000_000n) }], withdrawals: [],
  reserve: {
    total_supply: str(5n * WAD), total_reserve: str(reserve1), flow_pressure: str(0), redemption_level: str(0),
    redemption_updated: 0, vaults: vault(reserve1), onchain: str(reserve1),
  },
  mints: [mint(1n, seller, 'code-review', 4, 5n * WAD)], revaluations: [], settlements: [],
});

// Epoch 2: epoch 1's net orders executed on chain (nothing was left for the curve); its settlement is applied:
// each maker is debited what it sold and credited what it bought. The seller is minted 1 MYCO more; the vault
// gains 1 USD.
const fills = auction(intents, balances1, t1);
const balances2 = { MYCO: { ...balances1.MYCO }, USDC: { ...balances1.USDC } };
for (const { o, sold, bought } of fills) {
  const m = hex(o.maker);
  balances2[o.sell][m] = (balances2[o.sell][m] ?? 0n) - sold;
  balances2[o.buy][m] = (balances2[o.buy][m] ?? 0n) + bought;
}
balances2.MYCO[hex(seller)] += WAD;
const supply2 = Object.values(balances2.MYCO).reduce((a, b) => a + b, 0n);
const reserve2 = reserve1 + WAD;
certifyState(2n, digest1, {
  version: new A.Uint(2), epoch: new A.Uint(2), parent: str(hex(digest1)), timestamp: new A.Uint(t1 + 60),
  balances: { MYCO: amounts(balances2.MYCO), USDC: amounts(balances2.USDC) },
  intents: [], flows: {}, deposits: [], withdrawals: [],
  reserve: {
    total_supply: str(supply2), total_reserve: str(reserve2), flow_pressure: str(0), redemption_level: str(0),
    redemption_updated: 0, vaults: vault(reserve2), onchain: str(reserve1),
  },
  mints: [mint(2n, seller, 'code-review', 1, WAD)],
  revaluations: [{ vault: str('t-bills'), direction: str('gain'), amount: str(WAD), reason: str('coupon paid') }],
  settlements: [{
    epoch: 1,
    fills: fills.map(({ o, sold, bought }) => ({
      maker: str(hex(o.maker)), intent: str(hex(o.id)), sell_token: str(o.sell), sold: str(sold), bought: str(bought),
    })),
  }],
});
writeFileSync(join(outDir, 'validators.txt'), validators.map((sk) => hex(ed25519.getPublicKey(sk))).join('\n') + '\n');
writeFileSync(join(outDir, 'labor.txt'), hex(ed25519.getPublicKey(labor)) + '\n');
console.log(`wrote epochs 1 and 2 to ${outDir}: ${fills.length} fills applied`);
