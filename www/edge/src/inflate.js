// Raw DEFLATE (RFC 1951) decoding for state cookies written by the previous worker (`v1.`:
// a JSON snapshot, DEFLATEd). The current format (`v2.`) is compact enough to go uncompressed
// (see src/compact.rs), so nothing here runs for it. Reads stored and fixed-Huffman blocks —
// all the previous worker wrote — and refuses dynamic blocks; it only ever sees bytes whose
// HMAC checked out, and stops at `limit` output bytes anyway. v1 cookies expire at most 30 days
// (the cookie's Max-Age) after the upgrade; this file can go then.

const LEN_BASE = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258];
const LEN_EXTRA = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0];
const DIST_BASE = [
  1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145,
  8193, 12289, 16385, 24577,
];
const DIST_EXTRA = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13];

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
