#!/usr/bin/env node
// Generates the TCF v2.2 consent-string fixtures for tests/tcf.rs from the reference
// implementation @iabtcf/core (pinned in package.json):
//
//   tests/fixtures/tcf/valid.json      [{string, source, expected}]  expected = the reference's
//                                      decode, in the JSON shape of edgewise::tcf::TcString
//   tests/fixtures/tcf/malformed.json  [{string, why, code, referenceThrows, referenceError?}]
//                                      every one must be rejected by our decoder (with `code`,
//                                      when not null); the reference may accept some of them
//
// Offline and deterministic: a seeded PRNG, no clock, no network. Rerunning writes
// byte-identical files. Run: node scripts/tcf-fixtures.mjs
//
// Sources of valid strings:
//   segments  @iabtcf/core's SegmentEncoder per segment (every field under our control)
//   gvl       @iabtcf/core's full TCString.encode with a synthetic GVL (the path CMPs use)
//   hand      our own bit writer, for layouts the reference encoder never emits (unsorted or
//             overlapping ranges, duplicate restrictions, byte-only padding, segment order...)

import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  Base64Url,
  GVL,
  PurposeRestriction,
  Segment,
  SegmentEncoder,
  TCModel,
  TCString,
} from '@iabtcf/core';

const OUT = join(dirname(fileURLToPath(import.meta.url)), '..', 'tests', 'fixtures', 'tcf');

// ---------------------------------------------------------------------------------------------
// Deterministic PRNG (mulberry32).
let seed = 0x7cf2022;
function rand() {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const int = (lo, hi) => lo + Math.floor(rand() * (hi - lo + 1)); // inclusive
const chance = (p) => rand() < p;
const pick = (xs) => xs[Math.floor(rand() * xs.length)];
const letters = () => String.fromCharCode(65 + int(0, 25), 65 + int(0, 25));
const LANGS = ['BG', 'CA', 'CS', 'DA', 'DE', 'EL', 'EN', 'ES', 'ET', 'FI', 'FR', 'HR', 'HU', 'IT',
  'JA', 'LT', 'LV', 'MT', 'NL', 'NO', 'PL', 'PT', 'RO', 'RU', 'SK', 'SL', 'SV', 'TR', 'ZH'];

/** Random subset of 1..n with density p. */
function subset(n, p) {
  const out = [];
  for (let i = 1; i <= n; i++) if (chance(p)) out.push(i);
  return out;
}

/** A random vendor id set of one of several shapes (so both encodings get chosen). */
function vendorSet(kind = pick(['empty', 'dense', 'dense', 'sparse', 'sparse', 'runs', 'runs', 'big', 'edge'])) {
  const s = new Set();
  switch (kind) {
    case 'empty':
      break;
    case 'dense': { // bitfield
      const max = int(1, pick([40, 300, 1200]));
      const p = pick([0.3, 0.6, 0.95]);
      for (let i = 1; i <= max; i++) if (chance(p)) s.add(i);
      break;
    }
    case 'sparse': { // few ids spread wide: range encoding
      const n = int(1, 12);
      const hi = pick([500, 5000, 65535]);
      for (let i = 0; i < n; i++) s.add(int(1, hi));
      break;
    }
    case 'runs': { // contiguous runs: range encoding
      let at = int(1, 400);
      for (let r = int(1, 8); r > 0; r--) {
        const len = int(1, 120);
        for (let i = 0; i < len && at + i <= 65535; i++) s.add(at + i);
        at += len + int(2, 3000);
        if (at > 65000) break;
      }
      break;
    }
    case 'big': { // high ids, dense run near the top of the id space
      const start = int(20000, 64000);
      for (let i = start; i < start + int(10, 400) && i <= 65535; i++) s.add(i);
      if (chance(0.5)) s.add(int(1, 100));
      break;
    }
    case 'edge': // the extremes of the 16-bit id space
      s.add(1);
      s.add(65535);
      if (chance(0.5)) s.add(65534);
      break;
  }
  return [...s].sort((a, b) => a - b);
}

// ---------------------------------------------------------------------------------------------
// Reference decode -> the JSON shape of edgewise::tcf::TcString (serde camelCase).
const ids = (vector) => [...vector.values()].sort((a, b) => a - b);
function segmentTypes(str) {
  return str.split('.').slice(1).map((s) => parseInt(Base64Url.decode(s.charAt(0)).slice(0, 3), 2));
}
function expectedOf(str) {
  const m = TCString.decode(str);
  const restrictions = [];
  for (const [hash, bst] of m.publisherRestrictions.map) {
    const pr = PurposeRestriction.unHash(hash);
    const vendors = bst.get();
    if (vendors.length) restrictions.push({ purposeId: pr.purposeId, restrictionType: pr.restrictionType, vendors });
  }
  restrictions.sort((a, b) => a.purposeId - b.purposeId || a.restrictionType - b.restrictionType);
  const e = {
    version: m.version,
    created: Math.floor(m.created.getTime() / 1000),
    lastUpdated: Math.floor(m.lastUpdated.getTime() / 1000),
    cmpId: m.cmpId,
    cmpVersion: m.cmpVersion,
    consentScreen: m.consentScreen,
    consentLanguage: m.consentLanguage,
    vendorListVersion: m.vendorListVersion,
    policyVersion: m.policyVersion,
    isServiceSpecific: m.isServiceSpecific,
    useNonStandardTexts: m.useNonStandardStacks,
    specialFeatureOptins: ids(m.specialFeatureOptins),
    purposeConsents: ids(m.purposeConsents),
    purposeLegitimateInterests: ids(m.purposeLegitimateInterests),
    purposeOneTreatment: m.purposeOneTreatment,
    publisherCountryCode: m.publisherCountryCode,
    vendorConsents: ids(m.vendorConsents),
    vendorLegitimateInterests: ids(m.vendorLegitimateInterests),
    publisherRestrictions: restrictions,
  };
  const types = segmentTypes(str);
  if (types.includes(1)) e.disclosedVendors = ids(m.vendorsDisclosed);
  if (types.includes(3)) {
    e.publisherConsents = ids(m.publisherConsents);
    e.publisherLegitimateInterests = ids(m.publisherLegitimateInterests);
    e.numCustomPurposes = m.numCustomPurposes;
    e.customPurposeConsents = ids(m.publisherCustomConsents);
    e.customPurposeLegitimateInterests = ids(m.publisherCustomLegitimateInterests);
  }
  return e;
}

// ---------------------------------------------------------------------------------------------
// Source "segments": random models through SegmentEncoder, one segment at a time.
const T_MIN = Date.UTC(2020, 0, 1);
const T_MAX = Date.UTC(2035, 0, 1);

function randomModel() {
  const m = new TCModel();
  const created = int(T_MIN, T_MAX);
  m.created = new Date(created);
  m.lastUpdated = new Date(chance(0.3) ? created : created + int(0, 400 * 86400000));
  m.cmpId = int(2, pick([300, 4095]));
  m.cmpVersion = int(0, pick([10, 4095]));
  m.consentScreen = int(0, 63);
  m.consentLanguage = chance(0.8) ? pick(LANGS) : letters();
  m.publisherCountryCode = chance(0.7) ? pick(['DE', 'FR', 'GB', 'IT', 'ES', 'NL', 'AA']) : letters();
  m.vendorListVersion = int(0, pick([200, 4095]));
  m.policyVersion = chance(0.04) ? int(6, 63) : pick([4, 5]);
  m.isServiceSpecific = chance(0.5);
  m.useNonStandardStacks = chance(0.2);
  m.purposeOneTreatment = chance(0.15);
  m.specialFeatureOptins.set(subset(12, pick([0, 0.2, 0.5, 1])));
  m.purposeConsents.set(subset(24, pick([0, 0.3, 0.5, 1])));
  m.purposeLegitimateInterests.set(subset(24, pick([0, 0.2, 0.5])));
  m.vendorConsents.set(vendorSet());
  m.vendorLegitimateInterests.set(chance(0.3) ? [] : vendorSet());

  // Publisher restrictions over a "GVL" whose id space has gaps: the reference encoder merges
  // runs of restricted vendors across ids missing from the GVL, as CMPs do.
  if (chance(0.55)) {
    const top = pick([60, 400, 2500]);
    const gvlIds = new Set();
    for (let i = 1; i <= top; i++) if (!chance(0.12)) gvlIds.add(i);
    const gvlList = [...gvlIds];
    for (let n = int(1, 5); n > 0; n--) {
      const pr = new PurposeRestriction(int(1, chance(0.9) ? 11 : 24), int(0, 2));
      const k = chance(0.3) ? int(20, 150) : int(1, 12);
      const startAt = int(0, gvlList.length - 1);
      for (let i = 0; i < k; i++) {
        // mix of runs and scattered ids
        const id = chance(0.6) ? gvlList[Math.min(startAt + i, gvlList.length - 1)] : pick(gvlList);
        m.publisherRestrictions.add(id, pr);
      }
    }
    m.publisherRestrictions.gvl = { vendorIds: gvlIds };
  }

  if (chance(0.3)) {
    m.publisherConsents.set(subset(24, pick([0, 0.3, 0.7])));
    m.publisherLegitimateInterests.set(subset(24, pick([0, 0.3])));
    const n = chance(0.5) ? 0 : int(1, chance(0.85) ? 12 : 63);
    m.numCustomPurposes = n;
    m.publisherCustomConsents.set(subset(n, 0.5));
    m.publisherCustomLegitimateInterests.set(subset(n, 0.3));
  }
  return m;
}

function encodeSegments(m) {
  const segs = [Segment.CORE];
  const optional = [];
  if (chance(0.5)) {
    m.vendorsDisclosed.set(vendorSet(pick(['empty', 'dense', 'dense', 'sparse', 'runs', 'big'])));
    optional.push(Segment.VENDORS_DISCLOSED);
  }
  if (chance(0.08)) {
    m.vendorsAllowed.set(vendorSet(pick(['empty', 'dense', 'sparse'])));
    optional.push(Segment.VENDORS_ALLOWED);
  }
  if (m.publisherConsents.size || m.numCustomPurposes || chance(0.15)) optional.push(Segment.PUBLISHER_TC);
  if (optional.length > 1 && chance(0.15)) optional.reverse(); // any order after the core
  return [...segs, ...optional].map((s) => SegmentEncoder.encode(m, s)).join('.');
}

// ---------------------------------------------------------------------------------------------
// Source "gvl": TCString.encode with a synthetic Global Vendor List (no network).
function syntheticGvl() {
  const named = (n) => Object.fromEntries(Array.from({ length: n }, (_, i) => [i + 1, { id: i + 1, name: `x${i + 1}`, description: '' }]));
  const vendors = {};
  const top = pick([50, 300, 1200]);
  for (let id = 1; id <= top; id++) {
    if (chance(0.25)) continue;
    const purposes = subset(11, 0.4);
    const legIntPurposes = subset(11, 0.25).filter((p) => !purposes.includes(p) && p !== 1);
    const flexiblePurposes = chance(0.3) ? [...purposes, ...legIntPurposes].filter(() => chance(0.5)) : [];
    vendors[id] = {
      id, name: `v${id}`, purposes, legIntPurposes, flexiblePurposes,
      specialPurposes: chance(0.3) ? [1] : [], features: [], specialFeatures: chance(0.2) ? [1] : [],
      policyUrl: '',
    };
  }
  return new GVL({
    gvlSpecificationVersion: 3,
    vendorListVersion: int(1, 4095),
    tcfPolicyVersion: pick([4, 5]),
    lastUpdated: '2024-01-01T00:00:00Z',
    purposes: named(11), specialPurposes: named(2), features: named(3), specialFeatures: named(2),
    stacks: {}, vendors,
  });
}

function encodeWithGvl() {
  const gvl = syntheticGvl();
  const m = new TCModel(gvl);
  const created = int(T_MIN, T_MAX);
  m.created = new Date(created);
  m.lastUpdated = new Date(created + int(0, 86400000));
  m.cmpId = int(2, 4095);
  m.cmpVersion = int(0, 50);
  m.consentScreen = int(0, 10);
  m.publisherCountryCode = pick(['DE', 'FR', 'GB']);
  m.isServiceSpecific = chance(0.6);
  m.purposeOneTreatment = chance(0.1);
  if (chance(0.5)) m.setAll();
  else {
    m.purposeConsents.set(subset(11, 0.5));
    m.purposeLegitimateInterests.set(subset(11, 0.4));
    m.specialFeatureOptins.set(subset(2, 0.5));
    const vids = [...gvl.vendorIds];
    m.vendorConsents.set(vids.filter(() => chance(0.6)));
    m.vendorLegitimateInterests.set(vids.filter(() => chance(0.4)));
  }
  const vids = [...gvl.vendorIds];
  for (let n = int(0, 6); n > 0; n--) {
    const pr = new PurposeRestriction(int(1, 11), int(0, 2));
    for (let k = int(1, 30); k > 0; k--) m.publisherRestrictions.add(pick(vids), pr);
  }
  if (chance(0.4)) {
    m.publisherConsents.set(subset(11, 0.5));
    m.publisherLegitimateInterests.set(subset(11, 0.3));
  }
  return TCString.encode(m, { isForVendors: chance(0.5) });
}

// ---------------------------------------------------------------------------------------------
// Source "hand": our own bit writer (also the base of most malformed strings).
class Bits {
  constructor() { this.s = ''; }
  int(v, n) {
    if (!(v >= 0 && v < 2 ** n)) throw new Error(`${v} does not fit ${n} bits`);
    this.s += v.toString(2).padStart(n, '0');
    return this;
  }
  bool(b) { this.s += b ? '1' : '0'; return this; }
  flags(list, n) { for (let i = 1; i <= n; i++) this.bool(list.includes(i)); return this; }
  /** vendor section: {max, field: [ids]} or {max, ranges: [[start] | [start, end]]} */
  vendors(v) {
    this.int(v.max, 16);
    if (v.ranges) {
      this.bool(true).int(v.ranges.length, 12);
      for (const r of v.ranges) this.range(r);
    } else {
      this.bool(false).flags(v.field, v.max);
    }
    return this;
  }
  range(r) {
    this.bool(r.length === 2).int(r[0], 16);
    if (r.length === 2) this.int(r[1], 16);
    return this;
  }
  /** [{p, t, entries: [[start] | [start, end]]}] */
  restrictions(list) {
    this.int(list.length, 12);
    for (const r of list) {
      this.int(r.p, 6).int(r.t, 2).int(r.entries.length, 12);
      for (const e of r.entries) this.range(e);
    }
    return this;
  }
}

/** base64url of a bit string; pad: 'lcm' (24 bits, like @iabtcf/core), 'byte', or 'six'. */
function b64(bits, pad = 'lcm') {
  const unit = { lcm: 24, byte: 8, six: 6 }[pad];
  let s = bits;
  if (s.length % unit) s += '0'.repeat(unit - (s.length % unit));
  if (s.length % 6) s += '0'.repeat(6 - (s.length % 6));
  let out = '';
  for (let i = 0; i < s.length; i += 6) out += Base64Url.DICT[parseInt(s.slice(i, i + 6), 2)];
  return out;
}

const BASE = {
  version: 2, created: 17000000000, updated: 17000864000, cmpId: 300, cmpVersion: 7, screen: 2,
  lang: [4, 13] /* EN */, vlv: 180, policy: 4, iss: false, nst: false,
  sf: [1, 2], pc: [1, 2, 3, 4, 7, 9, 10], pli: [2, 7, 8, 9, 10], p1t: false, cc: [3, 4] /* DE */,
  vc: { max: 40, field: [1, 3, 5, 8, 13, 21, 34, 40] },
  vli: { max: 700, ranges: [[10, 20], [300], [650, 700]] },
  pr: [{ p: 2, t: 0, entries: [[5], [9, 12]] }, { p: 7, t: 1, entries: [[30, 33]] }],
};
function core(o = {}) {
  const c = { ...BASE, ...o };
  return new Bits().int(c.version, 6).int(c.created, 36).int(c.updated, 36).int(c.cmpId, 12)
    .int(c.cmpVersion, 12).int(c.screen, 6).int(c.lang[0], 6).int(c.lang[1], 6).int(c.vlv, 12)
    .int(c.policy, 6).bool(c.iss).bool(c.nst).flags(c.sf, 12).flags(c.pc, 24).flags(c.pli, 24)
    .bool(c.p1t).int(c.cc[0], 6).int(c.cc[1], 6).vendors(c.vc).vendors(c.vli).restrictions(c.pr).s;
}
const disclosed = (v = { max: 50, ranges: [[1, 50]] }, type = 1) => new Bits().int(type, 3).vendors(v).s;
function pubTc(o = {}) {
  const c = { pc: [1, 2], pli: [3], n: 3, cc: [1, 3], cli: [2], type: 3, ...o };
  return new Bits().int(c.type, 3).flags(c.pc, 24).flags(c.pli, 24).int(c.n, 6).flags(c.cc, c.n).flags(c.cli, c.n).s;
}

const HAND = [
  () => b64(core()),
  () => b64(core(), 'byte'),
  () => b64(core(), 'six'),
  () => b64(core()) + 'AAAA', // extra zero padding
  () => [core(), disclosed(), pubTc()].map((s) => b64(s, 'byte')).join('.'),
  () => [core(), pubTc(), disclosed()].map((s) => b64(s)).join('.'), // optional segments swapped
  () => [core(), disclosed({ max: 9, field: [2, 4] }, 2)].map((s) => b64(s)).join('.'), // allowed vendors
  () => [core(), disclosed({ max: 9, field: [2, 4] }, 2), disclosed()].map((s) => b64(s)).join('.'),
  // unsorted, overlapping, touching ranges
  () => b64(core({ vc: { max: 900, ranges: [[800, 900], [5], [3, 10], [10, 12], [5], [600, 610]] } })),
  // range encoding of a tiny set, and of nothing
  () => b64(core({ vc: { max: 3, ranges: [[2]] }, vli: { max: 0, ranges: [] } })),
  () => b64(core({ vc: { max: 500, ranges: [] }, vli: { max: 0, field: [] } })),
  // bitfield longer than its highest set id
  () => b64(core({ vc: { max: 200, field: [1, 2] } })),
  // single id 65535 in a 65535-bit bitfield
  () => b64(core({ vc: { max: 65535, field: [65535] }, vli: { max: 0, field: [] } })),
  // duplicate restriction keys merge; an empty restriction means nothing
  () => b64(core({ pr: [{ p: 3, t: 2, entries: [[50, 52]] }, { p: 1, t: 0, entries: [] }, { p: 3, t: 2, entries: [[51, 60], [7]] }] })),
  // restriction purpose ids outside 1..24 and a long restricted range
  () => b64(core({ pr: [{ p: 63, t: 1, entries: [[1]] }, { p: 40, t: 0, entries: [[100, 2100]] }] })),
  // conflicting restriction types for one vendor
  () => b64(core({ pr: [{ p: 2, t: 0, entries: [[8]] }, { p: 2, t: 1, entries: [[8]] }, { p: 2, t: 2, entries: [[8]] }] })),
  // extreme timestamps and counters
  () => b64(core({ created: 0, updated: 2 ** 36 - 1, cmpId: 2, cmpVersion: 4095, screen: 63, vlv: 4095, policy: 63 })),
  () => b64(core({ created: 9, updated: 19, cmpId: 4095, cmpVersion: 0, screen: 0, vlv: 0, policy: 5 })),
  // every flag set, purpose 1 LI set (not allowed by v2.2 policy, but well-formed)
  () => b64(core({ iss: true, nst: true, p1t: true, sf: subset(12, 1), pc: subset(24, 1), pli: subset(24, 1), lang: [25, 25], cc: [0, 0] })),
  // publisher TC: 0 and 63 custom purposes
  () => [core(), pubTc({ n: 0, cc: [], cli: [] })].map((s) => b64(s)).join('.'),
  () => [core(), pubTc({ pc: subset(24, 1), pli: subset(24, 1), n: 63, cc: subset(63, 1), cli: subset(63, 1) })].map((s) => b64(s)).join('.'),
  // disclosed vendors: empty bitfield, and a wide range
  () => [core(), disclosed({ max: 0, field: [] })].map((s) => b64(s)).join('.'),
  () => [core(), disclosed({ max: 3000, ranges: [[1, 1200], [2999, 3000]] })].map((s) => b64(s, 'six')).join('.'),
];

// ---------------------------------------------------------------------------------------------
// Malformed strings: [why, code (ours; null = any), string]
const flip = (bits, at, value) => bits.slice(0, at) + value + bits.slice(at + value.length);
function malformed() {
  const out = [];
  const add = (why, code, string) => out.push({ why, code, string });
  const good = core();
  const goodFull = [core(), disclosed(), pubTc()];

  add('empty string', 'tcf_empty', '');
  add('only a dot', 'tcf_bad_segment', '.');
  add('empty segment after the core', 'tcf_bad_segment', b64(good) + '.');
  add('empty segment between segments', 'tcf_bad_segment', b64(good) + '..' + b64(disclosed()));
  add('leading dot: empty core segment', 'tcf_bad_segment', '.' + b64(good));
  for (const [name, ch] of [['plus', '+'], ['slash', '/'], ['= padding', '='], ['space', ' '], ['bang', '!'], ['non-ASCII', 'é'], ['newline', '\n']]) {
    const s = b64(good);
    add(`character outside web-safe base64: ${name}`, 'tcf_bad_base64', s.slice(0, 10) + ch + s.slice(11));
  }
  add('standard base64 padding appended', 'tcf_bad_base64', b64(good, 'byte') + '==');
  add('percent-encoded', 'tcf_bad_base64', b64(good).slice(0, 20) + '%3D');
  add('bad character in an optional segment', 'tcf_bad_base64', b64(good) + '.' + b64(disclosed()).replace(/^./, '*'));

  for (const v of [0, 1, 3, 4, 63]) add(`core version ${v}`, 'tcf_unsupported_version', b64(core({ version: v })));
  // A TCF v1.1 string as v1 encoders wrote it (version 1, no policy version).
  add('TCF v1.1 string', 'tcf_unsupported_version', b64(new Bits().int(1, 6).int(15000000000, 36).int(15000000000, 36)
    .int(10, 12).int(1, 12).int(1, 6).int(4, 6).int(13, 6).int(50, 12).flags([1, 2, 3], 24)
    .int(30, 16).bool(false).flags([1, 5, 30], 30).s));
  for (const p of [0, 1, 2, 3]) add(`policy version ${p} (before TCF v2.2)`, 'tcf_policy_version', b64(core({ policy: p })));
  {
    // A TCF v2.0 era string from the reference encoder (policy version 2).
    const m = new TCModel();
    m.created = new Date(Date.UTC(2021, 4, 3)); m.lastUpdated = m.created;
    m.cmpId = 10; m.vendorListVersion = 100; m.policyVersion = 2;
    m.purposeConsents.set([1, 2, 3]); m.vendorConsents.set([1, 2, 8, 755]);
    add('policy version 2 string encoded by @iabtcf/core', 'tcf_policy_version', SegmentEncoder.encode(m, Segment.CORE));
  }
  add('cmp id 0', 'tcf_bad_cmp_id', b64(core({ cmpId: 0 })));
  add('cmp id 1', 'tcf_bad_cmp_id', b64(core({ cmpId: 1 })));
  add('consent language first letter 26', 'tcf_bad_language', b64(core({ lang: [26, 0] })));
  add('consent language second letter 63', 'tcf_bad_language', b64(core({ lang: [4, 63] })));
  add('publisher country code letter 30', 'tcf_bad_language', b64(core({ cc: [30, 4] })));
  add('publisher country code letter 60', 'tcf_bad_language', b64(core({ cc: [3, 60] })));

  add('vendor consents: range end < start', 'tcf_bad_vendor_range', b64(core({ vc: { max: 100, ranges: [[50, 40]] } })));
  add('vendor LI: range end < start', 'tcf_bad_vendor_range', b64(core({ vli: { max: 100, ranges: [[3], [9, 8]] } })));
  add('disclosed vendors: range end < start', 'tcf_bad_vendor_range', [core(), disclosed({ max: 80, ranges: [[70, 1]] })].map((s) => b64(s)).join('.'));
  add('publisher restriction: range end < start', 'tcf_bad_vendor_range', b64(core({ pr: [{ p: 2, t: 1, entries: [[20, 19]] }] })));
  add('vendor consents: single vendor id 0', 'tcf_bad_vendor_id', b64(core({ vc: { max: 100, ranges: [[0]] } })));
  add('vendor consents: range from vendor id 0', 'tcf_bad_vendor_id', b64(core({ vc: { max: 100, ranges: [[0, 5]] } })));
  add('publisher restriction: vendor id 0', 'tcf_bad_vendor_id', b64(core({ pr: [{ p: 2, t: 1, entries: [[0]] }] })));
  add('vendor consents: range past maxVendorId', 'tcf_bad_vendor_id', b64(core({ vc: { max: 100, ranges: [[90, 101]] } })));
  add('vendor LI: single id past maxVendorId', 'tcf_bad_vendor_id', b64(core({ vli: { max: 10, ranges: [[11]] } })));
  add('vendor consents: range with maxVendorId 0', 'tcf_bad_vendor_id', b64(core({ vc: { max: 0, ranges: [[1]] } })));
  add('restriction type 3 (undefined) with vendors', 'tcf_bad_restriction', b64(core({ pr: [{ p: 2, t: 3, entries: [[5]] }] })));
  add('restriction type 3 (undefined) without vendors', 'tcf_bad_restriction', b64(core({ pr: [{ p: 2, t: 3, entries: [] }] })));
  add('restriction purpose id 0 with vendors', 'tcf_bad_restriction', b64(core({ pr: [{ p: 0, t: 1, entries: [[5]] }] })));
  add('restriction purpose id 0 without vendors', 'tcf_bad_restriction', b64(core({ pr: [{ p: 0, t: 0, entries: [] }] })));

  for (const t of [4, 5, 6, 7]) add(`unknown segment type ${t}`, 'tcf_bad_segment', b64(good) + '.' + b64(disclosed(undefined, t)));
  add('second core segment', 'tcf_duplicate_segment', b64(good) + '.' + b64(good));
  add('duplicate disclosed vendors segment', 'tcf_duplicate_segment', [core(), disclosed(), disclosed()].map((s) => b64(s)).join('.'));
  add('duplicate publisher TC segment', 'tcf_duplicate_segment', [core(), pubTc(), disclosed(), pubTc()].map((s) => b64(s)).join('.'));
  add('duplicate allowed vendors segment', 'tcf_duplicate_segment', [core(), disclosed(undefined, 2), disclosed(undefined, 2)].map((s) => b64(s)).join('.'));
  add('no core segment: disclosed vendors only', 'tcf_unsupported_version', b64(disclosed()));
  add('core segment after the disclosed vendors segment', 'tcf_unsupported_version', b64(disclosed()) + '.' + b64(good));

  // Truncations: every content bit is required, so any prefix shorter than the content fails.
  for (const chars of [1, 2, 6, 7, 13, 14, 20, 22, 25, 30, 34, 36, 38, 41, 45, 50, Math.floor(good.length / 6) - 1]) {
    if (chars * 6 < good.length) add(`core truncated to ${chars} chars (${good.length} content bits)`, 'tcf_truncated', b64(good).slice(0, chars));
  }
  {
    const d = disclosed({ max: 400, field: subset(400, 0.5) });
    add('disclosed vendors bitfield truncated', 'tcf_truncated', b64(good) + '.' + b64(d).slice(0, 30));
    add('publisher TC truncated in the custom purposes', 'tcf_truncated', b64(good) + '.' + b64(pubTc({ n: 40, cc: [1], cli: [] })).slice(0, 15));
    add('segment type only', 'tcf_truncated', b64(good) + '.I');
  }
  add('vendor bitfield claims maxVendorId 60000', 'tcf_truncated', b64(core({ vc: { max: 60000, field: [] } }).slice(0, 250)));
  add('vendor range section claims 8 entries, has 2', 'tcf_truncated',
    b64(good.slice(0, 213) + new Bits().int(90, 16).bool(true).int(8, 12).range([1]).range([2]).s, 'six'));
  add('restrictions count 7, none present', 'tcf_truncated', b64(core({ pr: [] }).slice(0, -12) + '000000000111', 'six'));

  // Non-zero padding after the content.
  {
    const s = b64(good);
    const bits = Base64Url.decode(s);
    add('non-zero padding bit after the core content', 'tcf_trailing_bits', Base64Url.encode(flip(bits, bits.length - 1, '1')));
    add('garbage after the core content', 'tcf_trailing_bits', s + 'xyz0');
    const d = b64(disclosed());
    add('non-zero padding after the disclosed vendors content', 'tcf_trailing_bits', s + '.' + d.slice(0, -1) + 'B');
  }

  // Bounded work: overlapping full-width ranges past the id budget.
  add('range entries claiming more than 2^21 vendor ids', 'tcf_too_many_ids',
    b64(core({ vc: { max: 65535, ranges: Array.from({ length: 40 }, () => [1, 65535]) } })));

  // Byte flips of strings from the reference encoder into invalid states.
  for (let i = 0; i < 6; i++) {
    const str = encodeSegments(randomModel()).split('.')[0];
    const bits = Base64Url.decode(str);
    const [what, code, at, value] = pick([
      ['policy version 3', 'tcf_policy_version', 132, '000011'],
      ['version 3', 'tcf_unsupported_version', 0, '000011'],
      ['consent language letter 27', 'tcf_bad_language', 108, '011011'],
      ['publisher country letter 62', 'tcf_bad_language', 201, '111110'],
      ['cmp id 1', 'tcf_bad_cmp_id', 78, '000000000001'],
    ]);
    add(`reference-encoded string with ${what} flipped in`, code, Base64Url.encode(flip(bits, at, value)));
  }

  // Garbage.
  add('too long: 70,000 characters', 'tcf_too_long', Array.from({ length: 70000 }, () => pick([...Base64Url.DICT])).join(''));
  add('1,000 zero characters', 'tcf_unsupported_version', 'A'.repeat(1000));
  add('plain text', null, 'hello world');
  add('JSON', 'tcf_bad_base64', '{"gdpr":1}');
  for (let i = 0; i < 8; i++) {
    const bytes = Array.from({ length: int(1, 200) }, () => int(0, 255));
    const bits = bytes.map((b) => b.toString(2).padStart(8, '0')).join('');
    add(`random bytes (${bytes.length}) base64url-encoded`, null, b64(bits, 'six'));
  }
  for (let i = 0; i < 4; i++) {
    // random bits behind a valid-looking header: version 2, policy 4
    const head = good.slice(0, 138);
    const tail = Array.from({ length: int(1, 600) }, () => (chance(0.5) ? '1' : '0')).join('');
    add('valid header, random body', null, b64(head + tail, 'six'));
  }
  // Full string with each segment truncated by one character in turn.
  goodFull.forEach((seg, i) => {
    const segs = goodFull.map((s) => b64(s, 'six'));
    if ((segs[i].length - 1) * 6 < seg.length) {
      segs[i] = segs[i].slice(0, -1);
      add(`segment ${i} of a 3-segment string one character short`, 'tcf_truncated', segs.join('.'));
    }
  });
  return out;
}

// ---------------------------------------------------------------------------------------------
function main() {
  const valid = [];
  const seen = new Set();
  const push = (source, string) => {
    if (seen.has(string)) return;
    seen.add(string);
    valid.push({ string, source, expected: expectedOf(string) });
  };
  HAND.forEach((f) => push('hand', f()));
  for (let i = 0; i < 40; i++) push('gvl', encodeWithGvl());
  while (valid.length < 300) push('segments', encodeSegments(randomModel()));

  const bad = malformed().map((c) => {
    const r = { string: c.string, why: c.why, code: c.code, referenceThrows: false };
    try {
      TCString.decode(c.string);
    } catch (e) {
      r.referenceThrows = true;
      r.referenceError = `${e.name}: ${e.message}`;
    }
    return r;
  });

  mkdirSync(OUT, { recursive: true });
  const write = (name, data) => {
    const text = '[\n' + data.map((d) => JSON.stringify(d)).join(',\n') + '\n]\n';
    writeFileSync(join(OUT, name), text);
    return text.length;
  };
  const a = write('valid.json', valid);
  const b = write('malformed.json', bad);
  const accepted = bad.filter((c) => !c.referenceThrows);
  console.log(`valid: ${valid.length} strings (${a} bytes); malformed: ${bad.length} (${b} bytes), ` +
    `${accepted.length} accepted by @iabtcf/core:`);
  for (const c of accepted) console.log(`  - ${c.why}`);
}

main();
