// Reads edgewise snapshots in the JS tests: format 2 (src/compact.rs, the runtime's own format)
// and format 1 (JSON, what earlier runtimes wrote). A second, independent reader of the format
// described in src/compact.rs; its dictionary is read from src/snapshot.rs, so there is one list.
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

/** `snapshot::DICTIONARY`, parsed from the Rust source. */
export const DICTIONARY = (() => {
  const src = fs.readFileSync(path.join(ROOT, "src/snapshot.rs"), "utf8");
  const m = /pub const DICTIONARY: &\[&str\] = &\[([\s\S]*?)\];/.exec(src);
  if (!m) throw new Error("src/snapshot.rs: DICTIONARY not found");
  return [...m[1].replace(/\/\/.*$/gm, "").matchAll(/"([^"]*)"/g)].map((x) => x[1]);
})();

/** Snapshot bytes → `{version, state}`; integers beyond 2^53 are BigInts (format 2). */
export function decodeSnapshot(bytes) {
  const b = Buffer.from(bytes);
  if (b.length < 18 || b.subarray(0, 8).toString("latin1") !== "EDGEWISE") throw new Error("not a snapshot");
  const version = b.readUInt16LE(8);
  const payload = b.subarray(18);
  if (payload.length !== b.readUInt32LE(10)) throw new Error("truncated snapshot");
  if (version === 1) return { version, state: JSON.parse(payload.toString()) };
  if (version !== 2) throw new Error(`snapshot format ${version}`);
  return { version, state: decodeCompact(payload) };
}

/** src/compact.rs's encoding → a JS value (maps become objects). */
export function decodeCompact(p, dictionary = DICTIONARY) {
  let pos = 0;
  const strings = [...dictionary];
  let lastNew = -1;
  let anchor = 0n;
  const byte = () => {
    if (pos >= p.length) throw new Error("unexpected end");
    return p[pos++];
  };
  const varint = () => {
    let v = 0n;
    for (let shift = 0n; ; shift += 7n) {
      const b = byte();
      v |= BigInt(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
    }
  };
  const unzigzag = (z) => (z >> 1n) ^ -(z & 1n);
  const integral = (i) => {
    if (i >= 1n << 32n || i <= -(1n << 32n)) anchor = i;
    return Number(i);
  };
  const take = (n) => {
    if (pos + n > p.length) throw new Error("unexpected end");
    pos += n;
    return p.subarray(pos - n, pos);
  };
  const newString = (s) => {
    strings.push(s);
    lastNew = strings.length - 1;
    return s;
  };
  const value = () => {
    const tag = byte();
    switch (tag) {
      case 0x00:
        return null;
      case 0x01:
        return false;
      case 0x02:
        return true;
      case 0x03: {
        const n = varint();
        return n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n;
      }
      case 0x04:
        return Number(-1n - varint());
      case 0x05:
        return integral(unzigzag(varint()));
      case 0x06:
        return integral(anchor + unzigzag(varint()));
      case 0x07:
      case 0x09:
        return Buffer.from(take(4)).readFloatLE(0);
      case 0x08:
        return Buffer.from(take(8)).readDoubleLE(0);
      case 0x0a:
        return newString(Buffer.from(take(Number(varint()))).toString("utf8"));
      case 0x0b: {
        const k = Number(varint());
        const head = Buffer.from(strings[lastNew], "utf8").subarray(0, k);
        return newString(Buffer.concat([head, Buffer.from(take(Number(varint())))]).toString("utf8"));
      }
      case 0x0c:
        return strings[Number(varint())];
      case 0x0d:
        return Buffer.from(take(Number(varint())));
      case 0x0e:
        return Array.from({ length: Number(varint()) }, value);
      case 0x0f: {
        const out = {};
        for (let n = Number(varint()); n > 0; n--) {
          const k = value();
          out[String(k)] = value();
        }
        return out;
      }
      default:
        if (tag >= 0x80) return tag - 0x80;
        if (tag - 0x10 >= strings.length) throw new Error(`string ${tag - 0x10} before it was written`);
        return strings[tag - 0x10];
    }
  };
  const v = value();
  if (pos !== p.length) throw new Error(`${p.length - pos} bytes after the value`);
  return v;
}
