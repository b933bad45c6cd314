// Raw DEFLATE (RFC 1951) for the state cookie, in plain JavaScript: LZ77 with a hash chain and
// the fixed Huffman code, one final block. For a 4-6 KB snapshot this is several times cheaper
// than a CompressionStream, whose zlib state (~270 KB) is set up per stream. `deflateRaw` output
// is standard DEFLATE (zlib inflates it: tests/edge checks); `inflateRaw` reads stored and
// fixed-Huffman blocks — everything `deflateRaw` writes — and refuses dynamic blocks. It only
// ever sees bytes whose HMAC checked out, and stops at `limit` output bytes anyway.

const LEN_BASE = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258];
const LEN_EXTRA = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0];
const DIST_BASE = [
  1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145,
  8193, 12289, 16385, 24577,
];
const DIST_EXTRA = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13];

const WINDOW = 32768;
const MIN_MATCH = 3;
const MAX_MATCH = 258;
const HASH_BITS = 12;
const MAX_CHAIN = 8;
/** A match this long ends the search (longer ones are rare in a snapshot and cost time). */
const NICE_MATCH = 32;

// Length (3..258) → code index, distance (1..32768) → code index.
const LEN_CODE = new Uint8Array(MAX_MATCH + 1);
for (let c = 0; c < 29; c++) {
  const end = c === 28 ? 258 : LEN_BASE[c] + (1 << LEN_EXTRA[c]) - 1;
  for (let l = LEN_BASE[c]; l <= end; l++) LEN_CODE[l] = c;
}
LEN_CODE[258] = 28;

function distCode(d) {
  let lo = 0;
  let hi = 29;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (DIST_BASE[mid] <= d) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

function reverse(code, bits) {
  let r = 0;
  for (let i = 0; i < bits; i++) {
    r = (r << 1) | (code & 1);
    code >>= 1;
  }
  return r;
}

// Fixed literal/length code, bit-reversed for LSB-first output: [code, length] per symbol.
const FIXED_CODE = new Uint16Array(288);
const FIXED_LEN = new Uint8Array(288);
for (let s = 0; s < 288; s++) {
  let code;
  let len;
  if (s < 144) [code, len] = [0x30 + s, 8];
  else if (s < 256) [code, len] = [0x190 + s - 144, 9];
  else if (s < 280) [code, len] = [s - 256, 7];
  else [code, len] = [0xc0 + s - 280, 8];
  FIXED_CODE[s] = reverse(code, len);
  FIXED_LEN[s] = len;
}
const DIST_CODE_REV = Uint8Array.from({ length: 32 }, (_, c) => reverse(c, 5)); // an involution

class BitWriter {
  constructor(capacity) {
    this.out = new Uint8Array(capacity);
    this.pos = 0;
    this.buf = 0;
    this.cnt = 0;
  }
  bits(value, n) {
    this.buf |= value << this.cnt;
    this.cnt += n;
    while (this.cnt >= 8) {
      if (this.pos === this.out.length) {
        const grown = new Uint8Array(this.out.length * 2);
        grown.set(this.out);
        this.out = grown;
      }
      this.out[this.pos++] = this.buf & 0xff;
      this.buf >>>= 8;
      this.cnt -= 8;
    }
  }
  finish() {
    if (this.cnt > 0) this.bits(0, 8 - this.cnt);
    return this.out.subarray(0, this.pos);
  }
}

/** DEFLATE-compresses `data` (Uint8Array) into one fixed-Huffman block. */
export function deflateRaw(data) {
  const n = data.length;
  const w = new BitWriter(Math.max(64, n));
  w.bits(1, 1); // BFINAL
  w.bits(1, 2); // BTYPE = 01, fixed Huffman
  const head = new Int32Array(1 << HASH_BITS).fill(-1);
  let size = 256;
  while (size < n && size < WINDOW) size <<= 1;
  const prev = new Int32Array(size);
  const mask = size - 1;
  const shift = 32 - HASH_BITS;
  let i = 0;
  while (i < n) {
    let bestLen = 0;
    let bestDist = 0;
    let h = 0;
    const hashable = i + MIN_MATCH <= n;
    if (hashable) {
      h = Math.imul((data[i] << 16) | (data[i + 1] << 8) | data[i + 2], 0x9e3779b1) >>> shift;
      const limit = Math.min(MAX_MATCH, n - i);
      let cand = head[h];
      for (let chain = 0; cand >= 0 && i - cand <= WINDOW && chain < MAX_CHAIN; chain++) {
        if (data[cand + bestLen] === data[i + bestLen] && data[cand] === data[i]) {
          let l = 0;
          while (l < limit && data[cand + l] === data[i + l]) l++;
          if (l > bestLen) {
            bestLen = l;
            bestDist = i - cand;
            if (l >= NICE_MATCH || l === limit) break;
          }
        }
        const p = prev[cand & mask];
        if (p >= cand) break;
        cand = p;
      }
      prev[i & mask] = head[h];
      head[h] = i;
    }
    if (bestLen >= MIN_MATCH) {
      const lc = LEN_CODE[bestLen];
      w.bits(FIXED_CODE[257 + lc], FIXED_LEN[257 + lc]);
      if (LEN_EXTRA[lc]) w.bits(bestLen - LEN_BASE[lc], LEN_EXTRA[lc]);
      const dc = distCode(bestDist);
      w.bits(DIST_CODE_REV[dc], 5);
      if (DIST_EXTRA[dc]) w.bits(bestDist - DIST_BASE[dc], DIST_EXTRA[dc]);
      // Index the positions inside the match too (cheaply: no search).
      const end = i + bestLen;
      for (i++; i < end; i++) {
        if (i + MIN_MATCH > n) continue;
        const hh = Math.imul((data[i] << 16) | (data[i + 1] << 8) | data[i + 2], 0x9e3779b1) >>> shift;
        prev[i & mask] = head[hh];
        head[hh] = i;
      }
    } else {
      w.bits(FIXED_CODE[data[i]], FIXED_LEN[data[i]]);
      i++;
    }
  }
  w.bits(FIXED_CODE[256], FIXED_LEN[256]); // end of block
  return w.finish();
}

// Decoding tables for the fixed code, indexed by the next 9 (literal/length) or 5 (distance)
// input bits as they come (LSB-first, i.e. the code bit-reversed): symbol << 4 | code length.
const LIT_TABLE = new Uint16Array(512);
for (let s = 0; s < 288; s++) {
  const len = FIXED_LEN[s];
  for (let hi = 0; hi < 1 << (9 - len); hi++) LIT_TABLE[FIXED_CODE[s] | (hi << len)] = (s << 4) | len;
}

/** Inflates raw DEFLATE made of stored and fixed-Huffman blocks; throws on anything else. */
export function inflateRaw(input, limit) {
  let out = new Uint8Array(Math.min(limit, Math.max(256, input.length * 6)));
  let op = 0;
  let ip = 0;
  let buf = 0;
  let cnt = 0;
  const room = (k) => {
    if (op + k > limit) throw new Error("inflated data over the limit");
    if (op + k > out.length) {
      const grown = new Uint8Array(Math.min(limit, Math.max(out.length * 2, op + k)));
      grown.set(out.subarray(0, op));
      out = grown;
    }
  };
  // Refills to at least 24 bits when input remains; past the end, zero bits are read (a
  // truncated stream then fails the length/end checks below).
  let over = 0;
  const fill = () => {
    while (cnt <= 16) {
      if (ip < input.length) buf |= input[ip++] << cnt;
      else over++;
      cnt += 8;
    }
    if (over > 4) throw new Error("deflate stream truncated");
  };
  for (;;) {
    fill();
    const final = buf & 1;
    const type = (buf >>> 1) & 3;
    buf >>>= 3;
    cnt -= 3;
    if (type === 0) {
      // Stored: drop to the byte boundary, then LEN, NLEN and the bytes.
      const unread = (cnt >> 3) - over; // whole bytes loaded but not used (not the zero padding)
      if (unread < 0) throw new Error("deflate stream truncated");
      ip -= unread;
      buf = 0;
      cnt = 0;
      over = 0;
      if (ip + 4 > input.length) throw new Error("deflate stream truncated");
      const len = input[ip] | (input[ip + 1] << 8);
      const nlen = input[ip + 2] | (input[ip + 3] << 8);
      ip += 4;
      if ((len ^ 0xffff) !== nlen || ip + len > input.length) throw new Error("bad stored block");
      room(len);
      out.set(input.subarray(ip, ip + len), op);
      op += len;
      ip += len;
    } else if (type === 1) {
      for (;;) {
        fill();
        const e = LIT_TABLE[buf & 511];
        const sym = e >> 4;
        buf >>>= e & 15;
        cnt -= e & 15;
        if (sym < 256) {
          if (op >= out.length) room(1);
          else if (op >= limit) room(1);
          out[op++] = sym;
          continue;
        }
        if (sym === 256) break;
        const lc = sym - 257;
        if (lc >= 29) throw new Error("bad length code");
        fill();
        const len = LEN_BASE[lc] + (buf & ((1 << LEN_EXTRA[lc]) - 1));
        buf >>>= LEN_EXTRA[lc];
        cnt -= LEN_EXTRA[lc];
        fill();
        const dc = DIST_CODE_REV[buf & 31];
        buf >>>= 5;
        cnt -= 5;
        if (dc >= 30) throw new Error("bad distance code");
        fill();
        const dist = DIST_BASE[dc] + (buf & ((1 << DIST_EXTRA[dc]) - 1));
        buf >>>= DIST_EXTRA[dc];
        cnt -= DIST_EXTRA[dc];
        if (dist > op) throw new Error("distance before the start");
        room(len);
        for (let k = 0; k < len; k++, op++) out[op] = out[op - dist];
      }
    } else {
      throw new Error("unsupported deflate block type");
    }
    // Zero bits stand in for input past the end while decoding; reading any of them means
    // the stream was cut short (zeros decode as an end of block).
    if ((ip + over) * 8 - cnt > input.length * 8) throw new Error("deflate stream truncated");
    if (final) return out.slice(0, op);
  }
}
