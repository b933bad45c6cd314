//! A compact, self-describing binary form of serde data: snapshot format 2.
//!
//! It has JSON's data model (null, booleans, numbers, strings, sequences, maps), so the snapshot
//! types keep every serde attribute they have (internally tagged enums, `deny_unknown_fields`,
//! defaults, untagged values) — but numbers are binary, small ones fit in the tag byte, and a
//! string (a field name, a variant id, a category) is written once and then referred to by its
//! index. That is CBOR's design (RFC 8949) with its "stringref" extension (tag 25,
//! <http://cbor.schmorp.de/stringref>), cut down to what snapshots need and without CBOR's
//! per-item header arithmetic. An edge state snapshot is about a third of its JSON and small
//! enough to go into a cookie without DEFLATE.
//!
//! Each value starts with one byte (varints are unsigned LEB128, at most 10 bytes):
//!
//! | byte | value |
//! |---|---|
//! | `0x00` | null (a unit, `None`) |
//! | `0x01`, `0x02` | false, true |
//! | `0x03` varint | an unsigned integer |
//! | `0x04` varint *n* | the negative integer −1 − *n* |
//! | `0x05` varint | an `f64` holding an integer of magnitude ≤ 2⁵³ (not −0), zigzag-coded |
//! | `0x06` varint | such an `f64` as the zigzag-coded difference from the *anchor* |
//! | `0x07` 4 bytes | an `f64` that an `f32` holds exactly (little-endian `f32`) |
//! | `0x08` 8 bytes | any other `f64` (little-endian, NaN and infinities included) |
//! | `0x09` 4 bytes | an `f32` |
//! | `0x0a` varint *n*, *n* bytes | a new UTF-8 string; it becomes the string table's next entry |
//! | `0x0b` varint *k*, varint *n*, *n* bytes | a new string: the first *k* bytes of the previous new string, then these *n* (front coding) |
//! | `0x0c` varint *i* | the string table's entry *i* |
//! | `0x0d` varint *n*, *n* bytes | a byte string |
//! | `0x0e` varint *n*, *n* values | a sequence |
//! | `0x0f` varint *n*, *n* key–value pairs | a map (a struct is a map keyed by field name) |
//! | `0x10..=0x7f` | the string table's entry 0..=111 |
//! | `0x80..=0xff` | the unsigned integer 0..=127 |
//!
//! The string table starts with a *dictionary* that writer and reader share (the snapshot's field
//! names and variant ids, see [`crate::snapshot`]), so a field name costs one byte from its first
//! use — the preset-dictionary idea of zlib (RFC 1950, `FDICT`) and zstd. The anchor is the last
//! integral `f64` of magnitude ≥ 2³² written (a timestamp, in practice; 0 at the start): the
//! timestamps of a session's events and decisions are milliseconds apart, so each costs two or
//! three bytes instead of seven.
//!
use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::hash::{BuildHasherDefault, Hasher};

use serde::de::{self, DeserializeSeed, IntoDeserializer, Visitor};
use serde::ser::{self, Serialize};

/// Sequences and maps nested deeper than this are refused (a snapshot nests about 6 deep).
pub const MAX_DEPTH: u32 = 64;

const NULL: u8 = 0x00;
const FALSE: u8 = 0x01;
const TRUE: u8 = 0x02;
const UINT: u8 = 0x03;
const NEGINT: u8 = 0x04;
const F64_INT: u8 = 0x05;
const F64_DELTA: u8 = 0x06;
const F64_AS_F32: u8 = 0x07;
const F64: u8 = 0x08;
const F32: u8 = 0x09;
const STR_NEW: u8 = 0x0a;
const STR_FRONT: u8 = 0x0b;
const STR_REF: u8 = 0x0c;
const BYTES: u8 = 0x0d;
const SEQ: u8 = 0x0e;
const MAP: u8 = 0x0f;
const STR_REF_SMALL: u8 = 0x10;
const UINT_SMALL: u8 = 0x80;
/// String table entries with a one-byte reference.
const SMALL_REFS: u32 = (UINT_SMALL - STR_REF_SMALL) as u32;
/// Integral `f64`s at least this large move the anchor.
const ANCHOR_MIN: f64 = 4_294_967_296.0;
/// Front coding is used when at least this many leading bytes are shared.
const MIN_FRONT: usize = 3;
/// Integers up to 2⁵³ are exact in an `f64`.
const F64_INT_LIMIT: f64 = 9_007_199_254_740_992.0;

/// What went wrong encoding or decoding (decoding errors say at which byte).
#[derive(Debug, Clone, PartialEq)]
pub struct Error {
    message: String,
    at: Option<usize>,
}

impl Error {
    fn new(message: String) -> Error {
        Error { message, at: None }
    }

    /// The message without the byte position (for input that was re-encoded first).
    pub fn without_position(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.at {
            Some(at) => write!(f, "{} at byte {at}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for Error {}

impl ser::Error for Error {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Error::new(msg.to_string())
    }
}

impl de::Error for Error {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Error::new(msg.to_string())
    }
}

/// A preset string table shared by writer and reader, with its lookup built once.
pub struct Dictionary {
    words: &'static [&'static str],
    index: HashMap<&'static str, u32, BuildHasherDefault<Fx>>,
}

impl Dictionary {
    /// A word's index is its first position in `words`.
    pub fn new(words: &'static [&'static str]) -> Dictionary {
        let mut index = HashMap::with_capacity_and_hasher(words.len(), Default::default());
        for (i, w) in words.iter().enumerate() {
            index.entry(*w).or_insert(i as u32);
        }
        Dictionary { words, index }
    }
}

/// The string tables' hash: FxHash's step (rustc's hasher, the `rustc-hash` crate: rotate,
/// xor, multiply) over a string's length and its first and last eight bytes — constant time.
/// The tables hold field names, variant ids and the writer's own data strings; SipHash's
/// resistance to chosen keys buys nothing there and costs several times as much.
#[derive(Default)]
struct Fx(u64);

const FX_K: u64 = 0x517c_c1b7_2722_0a95;

fn word(bytes: &[u8]) -> u64 {
    let mut w = [0u8; 8];
    let n = bytes.len().min(8);
    if let (Some(to), Some(from)) = (w.get_mut(..n), bytes.get(..n)) {
        to.copy_from_slice(from);
    }
    u64::from_le_bytes(w)
}

impl Hasher for Fx {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        let tail = bytes
            .get(bytes.len().saturating_sub(8)..)
            .unwrap_or_default();
        let mut h = (self.0.rotate_left(5) ^ bytes.len() as u64).wrapping_mul(FX_K);
        h = (h.rotate_left(5) ^ word(bytes)).wrapping_mul(FX_K);
        h = (h.rotate_left(5) ^ word(tail)).wrapping_mul(FX_K);
        self.0 = h;
    }
}

/// Encodes a value; `dictionary` presets the string table (the reader must use the same one).
pub fn to_vec<T: Serialize + ?Sized>(value: &T, dictionary: &Dictionary) -> Result<Vec<u8>, Error> {
    let mut w = Writer::new(dictionary);
    value.serialize(&mut w)?;
    Ok(w.out)
}

/// Re-encodes any self-describing serde input (JSON: format 1 snapshots) in this format without
/// knowing its type, so a type's `Deserialize` is compiled once — for this format — and not
/// once more per input format (in the wasm build, each copy of the snapshot types' generated
/// decoders costs tens of kilobytes).
pub fn transcode<'de, D: de::Deserializer<'de>>(
    input: D,
    dictionary: &Dictionary,
) -> Result<Vec<u8>, D::Error> {
    let mut w = Writer::new(dictionary);
    Transcode(&mut w).deserialize(input)?;
    Ok(w.out)
}

/// Decodes a value written with the same `dictionary`; every byte must belong to it.
pub fn from_slice<'de, T: de::Deserialize<'de>>(
    bytes: &'de [u8],
    dictionary: &Dictionary,
) -> Result<T, Error> {
    let mut r = Reader {
        input: bytes,
        pos: 0,
        words: dictionary.words,
        strings: Vec::new(),
        last_new: None,
        anchor: 0,
        depth: 0,
    };
    let value = T::deserialize(&mut r).map_err(|e| r.at(e))?;
    if r.pos != bytes.len() {
        return r.fail(&format!("{} bytes after the value", bytes.len() - r.pos));
    }
    Ok(value)
}

// ── writing ───────────────────────────────────────────────────────────────────────────────

struct Writer<'d> {
    out: Vec<u8>,
    dictionary: &'d Dictionary,
    /// New strings → their table index.
    strings: HashMap<Box<str>, u32, BuildHasherDefault<Fx>>,
    /// The next table index.
    next: u32,
    anchor: i64,
    /// The previous new string (front coding starts from it).
    last_new: String,
    /// Table indices of `&'static` strings (field names, variant ids) by address: a static
    /// string's bytes never change, so its address identifies it (direct-mapped).
    statics: [(usize, usize, u32); STATIC_CACHE],
}

const STATIC_CACHE: usize = 256;

impl<'d> Writer<'d> {
    fn new(dictionary: &'d Dictionary) -> Writer<'d> {
        Writer {
            statics: [(0, 0, 0); STATIC_CACHE],
            out: Vec::with_capacity(1024),
            dictionary,
            strings: HashMap::with_capacity_and_hasher(64, Default::default()),
            next: dictionary.words.len() as u32,
            anchor: 0,
            last_new: String::new(),
        }
    }
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn varint_len(v: u64) -> u32 {
    (64 - (v | 1).leading_zeros()).div_ceil(7)
}

fn zigzag(i: i64) -> u64 {
    ((i << 1) ^ (i >> 63)) as u64
}

fn unzigzag(z: u64) -> i64 {
    ((z >> 1) as i64) ^ -((z & 1) as i64)
}

/// An `f64` the integer forms hold exactly.
fn integral(v: f64) -> Option<i64> {
    (v.fract() == 0.0 && v.abs() <= F64_INT_LIMIT && !(v == 0.0 && v.is_sign_negative()))
        .then_some(v as i64)
}

impl<'d> Writer<'d> {
    fn null(&mut self) {
        self.out.push(NULL);
    }

    fn bool(&mut self, v: bool) {
        self.out.push(if v { TRUE } else { FALSE });
    }

    fn bytes(&mut self, v: &[u8]) {
        self.out.push(BYTES);
        put_varint(&mut self.out, v.len() as u64);
        self.out.extend_from_slice(v);
    }

    fn uint(&mut self, v: u64) {
        if v < 0x80 {
            self.out.push(UINT_SMALL | v as u8);
        } else {
            self.out.push(UINT);
            put_varint(&mut self.out, v);
        }
    }

    fn int(&mut self, v: i64) {
        if v >= 0 {
            self.uint(v as u64);
        } else {
            self.out.push(NEGINT);
            put_varint(&mut self.out, !(v as u64));
        }
    }

    fn f64(&mut self, v: f64) {
        if let Some(i) = integral(v) {
            let abs = zigzag(i);
            let delta = zigzag(i - self.anchor);
            if varint_len(delta) < varint_len(abs) {
                self.out.push(F64_DELTA);
                put_varint(&mut self.out, delta);
            } else {
                self.out.push(F64_INT);
                put_varint(&mut self.out, abs);
            }
            if v.abs() >= ANCHOR_MIN {
                self.anchor = i;
            }
        } else if (v as f32) as f64 == v {
            self.out.push(F64_AS_F32);
            self.out.extend_from_slice(&(v as f32).to_le_bytes());
        } else {
            self.out.push(F64);
            self.out.extend_from_slice(&v.to_le_bytes());
        }
    }

    /// A `&'static` string: looked up by address after its first use.
    fn static_str(&mut self, s: &'static str) {
        let at = s.as_ptr() as usize;
        let slot = ((at as u64).wrapping_mul(FX_K) >> 56) as usize % STATIC_CACHE;
        if let Some(&(a, n, i)) = self.statics.get(slot) {
            if a == at && n == s.len() {
                self.str_ref(i);
                return;
            }
        }
        let i = self.str(s);
        if let Some(e) = self.statics.get_mut(slot) {
            *e = (at, s.len(), i);
        }
    }

    fn str_ref(&mut self, i: u32) {
        if i < SMALL_REFS {
            self.out.push(STR_REF_SMALL + i as u8);
        } else {
            self.out.push(STR_REF);
            put_varint(&mut self.out, u64::from(i));
        }
    }

    /// Writes a string (a reference when the table has it); returns its table index.
    fn str(&mut self, s: &str) -> u32 {
        if let Some(&i) = self.dictionary.index.get(s).or_else(|| self.strings.get(s)) {
            self.str_ref(i);
            return i;
        }
        let mut k = self
            .last_new
            .bytes()
            .zip(s.bytes())
            .take_while(|(a, b)| a == b)
            .count();
        while !s.is_char_boundary(k) {
            k -= 1;
        }
        if k >= MIN_FRONT {
            self.out.push(STR_FRONT);
            put_varint(&mut self.out, k as u64);
        } else {
            k = 0;
            self.out.push(STR_NEW);
        }
        put_varint(&mut self.out, (s.len() - k) as u64);
        self.out
            .extend_from_slice(s.as_bytes().get(k..).unwrap_or_default());
        let i = self.next;
        self.strings.insert(s.into(), i);
        self.next += 1;
        self.last_new.clear();
        self.last_new.push_str(s);
        i
    }

    /// Starts a sequence or map. With an unknown length, a 5-byte varint is reserved and
    /// patched by [`Compound::finish`] (LEB128 allows the padding).
    fn open(&mut self, tag: u8, len: Option<usize>) -> Compound<'_, 'd> {
        self.out.push(tag);
        let patch_at = match len {
            Some(n) => {
                put_varint(&mut self.out, n as u64);
                None
            }
            None => {
                let at = self.out.len();
                self.out.extend_from_slice(&[0x80, 0x80, 0x80, 0x80, 0x00]);
                Some(at)
            }
        };
        Compound {
            w: self,
            expected: len,
            patch_at,
            count: 0,
        }
    }
}

struct Compound<'a, 'd> {
    w: &'a mut Writer<'d>,
    expected: Option<usize>,
    patch_at: Option<usize>,
    count: usize,
}

impl Compound<'_, '_> {
    fn finish(self) -> Result<(), Error> {
        if let Some(at) = self.patch_at {
            if self.count >= 1 << 28 {
                return Err(Error::new(format!("{} elements is too many", self.count)));
            }
            let slot = self.w.out.get_mut(at..at + 5).unwrap_or_default();
            for (k, b) in slot.iter_mut().enumerate() {
                let bits = ((self.count >> (7 * k)) & 0x7f) as u8;
                *b = if k < 4 { bits | 0x80 } else { bits };
            }
        }
        match self.expected {
            Some(n) if n != self.count => Err(Error::new(format!(
                "a value said it has {n} elements and wrote {}",
                self.count
            ))),
            _ => Ok(()),
        }
    }
}

/// Integer serializers: widened to `i64` / `u64`.
macro_rules! integers {
    ($($name:ident($t:ty) => $write:ident),*) => {$(
        fn $name(self, v: $t) -> Result<(), Error> {
            self.$write(v.into());
            Ok(())
        }
    )*};
}

/// Deserializer methods that read as another one does (`deserialize_u8` as `deserialize_u64`).
macro_rules! read_as {
    ($($name:ident => $as:ident),*) => {$(
        fn $name<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
            self.$as(visitor)
        }
    )*};
}

impl<'a, 'd> ser::Serializer for &'a mut Writer<'d> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Compound<'a, 'd>;
    type SerializeTuple = Compound<'a, 'd>;
    type SerializeTupleStruct = Compound<'a, 'd>;
    type SerializeTupleVariant = Compound<'a, 'd>;
    type SerializeMap = Compound<'a, 'd>;
    type SerializeStruct = Compound<'a, 'd>;
    type SerializeStructVariant = Compound<'a, 'd>;

    fn serialize_bool(self, v: bool) -> Result<(), Error> {
        self.bool(v);
        Ok(())
    }
    integers! {
        serialize_i8(i8) => int, serialize_i16(i16) => int, serialize_i32(i32) => int,
        serialize_i64(i64) => int, serialize_u8(u8) => uint, serialize_u16(u16) => uint,
        serialize_u32(u32) => uint, serialize_u64(u64) => uint
    }
    fn serialize_f32(self, v: f32) -> Result<(), Error> {
        self.out.push(F32);
        self.out.extend_from_slice(&v.to_le_bytes());
        Ok(())
    }
    fn serialize_f64(self, v: f64) -> Result<(), Error> {
        self.f64(v);
        Ok(())
    }
    fn serialize_char(self, v: char) -> Result<(), Error> {
        self.str(v.encode_utf8(&mut [0; 4]));
        Ok(())
    }
    fn serialize_str(self, v: &str) -> Result<(), Error> {
        self.str(v);
        Ok(())
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<(), Error> {
        self.bytes(v);
        Ok(())
    }
    fn serialize_none(self) -> Result<(), Error> {
        self.null();
        Ok(())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Error> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), Error> {
        self.null();
        Ok(())
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<(), Error> {
        self.serialize_unit()
    }
    /// As JSON does: the variant's name.
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<(), Error> {
        self.static_str(variant);
        Ok(())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        value.serialize(self)
    }
    /// `{variant: value}`, as JSON does.
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        self.out.push(MAP);
        put_varint(&mut self.out, 1);
        self.static_str(variant);
        value.serialize(self)
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<Compound<'a, 'd>, Error> {
        Ok(self.open(SEQ, len))
    }
    fn serialize_tuple(self, len: usize) -> Result<Compound<'a, 'd>, Error> {
        Ok(self.open(SEQ, Some(len)))
    }
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        len: usize,
    ) -> Result<Compound<'a, 'd>, Error> {
        Ok(self.open(SEQ, Some(len)))
    }
    /// `{variant: [fields]}`.
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Compound<'a, 'd>, Error> {
        self.out.push(MAP);
        put_varint(&mut self.out, 1);
        self.static_str(variant);
        Ok(self.open(SEQ, Some(len)))
    }
    fn serialize_map(self, len: Option<usize>) -> Result<Compound<'a, 'd>, Error> {
        Ok(self.open(MAP, len))
    }
    fn serialize_struct(self, _name: &'static str, len: usize) -> Result<Compound<'a, 'd>, Error> {
        Ok(self.open(MAP, Some(len)))
    }
    /// `{variant: {fields}}`.
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Compound<'a, 'd>, Error> {
        self.out.push(MAP);
        put_varint(&mut self.out, 1);
        self.static_str(variant);
        Ok(self.open(MAP, Some(len)))
    }
}

impl ser::SerializeSeq for Compound<'_, '_> {
    type Ok = ();
    type Error = Error;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.count += 1;
        value.serialize(&mut *self.w)
    }
    fn end(self) -> Result<(), Error> {
        self.finish()
    }
}

/// Tuples, tuple structs and tuple variants' fields are a sequence's elements.
macro_rules! like_a_sequence {
    ($($kind:ident :: $add:ident),*) => {$(
        impl ser::$kind for Compound<'_, '_> {
            type Ok = ();
            type Error = Error;
            fn $add<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
                ser::SerializeSeq::serialize_element(self, value)
            }
            fn end(self) -> Result<(), Error> {
                self.finish()
            }
        }
    )*};
}

like_a_sequence!(
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field,
    SerializeTupleVariant::serialize_field
);

impl ser::SerializeMap for Compound<'_, '_> {
    type Ok = ();
    type Error = Error;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Error> {
        self.count += 1;
        key.serialize(&mut *self.w)
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        value.serialize(&mut *self.w)
    }
    fn end(self) -> Result<(), Error> {
        self.finish()
    }
}

impl ser::SerializeStruct for Compound<'_, '_> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        self.count += 1;
        self.w.static_str(key);
        value.serialize(&mut *self.w)
    }
    fn end(self) -> Result<(), Error> {
        self.finish()
    }
}

impl ser::SerializeStructVariant for Compound<'_, '_> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        ser::SerializeStruct::serialize_field(self, key, value)
    }
    fn end(self) -> Result<(), Error> {
        self.finish()
    }
}

// ── transcoding ───────────────────────────────────────────────────────────────────────────

struct Transcode<'a, 'd>(&'a mut Writer<'d>);

impl<'de> DeserializeSeed<'de> for Transcode<'_, '_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, input: D) -> Result<(), D::Error> {
        input.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Transcode<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<(), E> {
        self.0.bool(v);
        Ok(())
    }
    fn visit_i64<E>(self, v: i64) -> Result<(), E> {
        self.0.int(v);
        Ok(())
    }
    fn visit_u64<E>(self, v: u64) -> Result<(), E> {
        self.0.uint(v);
        Ok(())
    }
    fn visit_f64<E>(self, v: f64) -> Result<(), E> {
        self.0.f64(v);
        Ok(())
    }
    fn visit_str<E>(self, v: &str) -> Result<(), E> {
        self.0.str(v);
        Ok(())
    }
    fn visit_bytes<E>(self, v: &[u8]) -> Result<(), E> {
        self.0.bytes(v);
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        self.0.null();
        Ok(())
    }
    fn visit_none<E>(self) -> Result<(), E> {
        self.0.null();
        Ok(())
    }
    fn visit_some<D: de::Deserializer<'de>>(self, input: D) -> Result<(), D::Error> {
        input.deserialize_any(self)
    }
    fn visit_seq<A: de::SeqAccess<'de>>(self, mut items: A) -> Result<(), A::Error> {
        let mut c = self.0.open(SEQ, None);
        while items.next_element_seed(Transcode(&mut *c.w))?.is_some() {
            c.count += 1;
        }
        c.finish().map_err(de::Error::custom)
    }
    fn visit_map<A: de::MapAccess<'de>>(self, mut entries: A) -> Result<(), A::Error> {
        let mut c = self.0.open(MAP, None);
        while entries.next_key_seed(Transcode(&mut *c.w))?.is_some() {
            entries.next_value_seed(Transcode(&mut *c.w))?;
            c.count += 1;
        }
        c.finish().map_err(de::Error::custom)
    }
}

// ── reading ───────────────────────────────────────────────────────────────────────────────

struct Reader<'de> {
    input: &'de [u8],
    pos: usize,
    /// The string table: the dictionary's words, then `strings` (the new ones, checked UTF-8).
    words: &'static [&'static str],
    strings: Vec<Cow<'de, str>>,
    /// The previous new string's index in `strings`.
    last_new: Option<usize>,
    anchor: i64,
    depth: u32,
}

impl<'de> Reader<'de> {
    /// Adds the position to an error that does not have one yet.
    fn at(&self, mut e: Error) -> Error {
        e.at = e.at.or(Some(self.pos));
        e
    }

    fn fail<T>(&self, what: &str) -> Result<T, Error> {
        Err(Error {
            message: what.to_owned(),
            at: Some(self.pos),
        })
    }

    fn peek(&self) -> Result<u8, Error> {
        match self.input.get(self.pos) {
            Some(&b) => Ok(b),
            None => self.fail("unexpected end"),
        }
    }

    fn byte(&mut self) -> Result<u8, Error> {
        let b = self.peek()?;
        self.pos += 1;
        Ok(b)
    }

    fn take(&mut self, n: usize) -> Result<&'de [u8], Error> {
        match self.input.get(self.pos..self.pos.saturating_add(n)) {
            Some(s) => {
                self.pos += n;
                Ok(s)
            }
            None => self.fail(&format!(
                "{n} bytes wanted, {} left",
                self.input.len() - self.pos
            )),
        }
    }

    fn varint(&mut self) -> Result<u64, Error> {
        let mut v = 0u64;
        for shift in (0..70).step_by(7) {
            let b = self.byte()?;
            if shift == 63 && b > 1 {
                return self.fail("varint overflows 64 bits");
            }
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        self.fail("varint longer than 10 bytes")
    }

    /// A count of items that each take at least `min_bytes`: never more than the input holds.
    fn count(&mut self, min_bytes: usize) -> Result<usize, Error> {
        let n = self.varint()?;
        let left = (self.input.len() - self.pos) as u64;
        if n.saturating_mul(min_bytes as u64) > left {
            return self.fail(&format!("{n} elements claimed, {left} bytes left"));
        }
        Ok(n as usize)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], Error> {
        let s = self.take(N)?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Ok(a)
    }

    /// Reads a string (a new one joins the table) → its table index.
    fn string(&mut self, tag: u8) -> Result<usize, Error> {
        let entry = match tag {
            STR_NEW => {
                let n = self.count(1)?;
                let bytes = self.take(n)?;
                let Ok(s) = std::str::from_utf8(bytes) else {
                    return self.fail("a string that is not UTF-8");
                };
                Cow::Borrowed(s)
            }
            STR_FRONT => {
                let k = self.varint()?;
                let prev = self.last_new.and_then(|i| self.strings.get(i));
                let head = match prev.and_then(|p| p.get(..usize::try_from(k).ok()?)) {
                    Some(head) => head,
                    None => {
                        return self
                            .fail(&format!("{k} bytes of a previous string that is not there"))
                    }
                };
                let mut owned = String::with_capacity(head.len() + 16);
                owned.push_str(head);
                let n = self.count(1)?;
                let bytes = self.take(n)?;
                let Ok(tail) = std::str::from_utf8(bytes) else {
                    return self.fail("a string that is not UTF-8");
                };
                owned.push_str(tail);
                Cow::Owned(owned)
            }
            _ => {
                let i = if tag == STR_REF {
                    self.varint()?
                } else {
                    u64::from(tag - STR_REF_SMALL)
                };
                let len = self.words.len() + self.strings.len();
                return match usize::try_from(i).ok().filter(|&i| i < len) {
                    Some(i) => Ok(i),
                    None => self.fail(&format!("string {i} referred to before it was written")),
                };
            }
        };
        self.strings.push(entry);
        self.last_new = Some(self.strings.len() - 1);
        Ok(self.words.len() + self.strings.len() - 1)
    }

    /// The string table's entry `i`.
    fn text(&self, i: usize) -> Option<Text<'_, 'de>> {
        if let Some(w) = self.words.get(i) {
            return Some(Text::Input(w));
        }
        Some(match self.strings.get(i - self.words.len())? {
            Cow::Borrowed(s) => Text::Input(s),
            Cow::Owned(s) => Text::Decoded(s),
        })
    }

    /// An integral `f64` read: it moves the anchor as the writer's did.
    fn integral(&mut self, i: i64) -> Result<f64, Error> {
        let v = i as f64;
        if v.abs() > F64_INT_LIMIT {
            return self.fail("an integral f64 beyond 2^53");
        }
        if v.abs() >= ANCHOR_MIN {
            self.anchor = i;
        }
        Ok(v)
    }

    fn nested<T>(&mut self, f: impl FnOnce(&mut Self) -> Result<T, Error>) -> Result<T, Error> {
        if self.depth >= MAX_DEPTH {
            return self.fail(&format!("nested deeper than {MAX_DEPTH}"));
        }
        self.depth += 1;
        let r = f(self);
        self.depth -= 1;
        r
    }
}

/// A string of the table: borrowed from the input (or the dictionary), or decoded (front coded).
enum Text<'a, 'de> {
    Input(&'de str),
    Decoded(&'a str),
}

/// One value's head, decoded without knowing what the caller wants (so the tag decoding is
/// compiled once, not once per type being read).
enum Item<'de> {
    Unit,
    Bool(bool),
    U64(u64),
    I64(i64),
    F64(f64),
    F32(f32),
    /// A string table index.
    Str(usize),
    Bytes(&'de [u8]),
    Seq(usize),
    Map(usize),
}

impl Item<'_> {
    fn unexpected(&self) -> de::Unexpected<'static> {
        match *self {
            Item::Unit => de::Unexpected::Unit,
            Item::Bool(b) => de::Unexpected::Bool(b),
            Item::U64(n) => de::Unexpected::Unsigned(n),
            Item::I64(n) => de::Unexpected::Signed(n),
            Item::F64(x) => de::Unexpected::Float(x),
            Item::F32(x) => de::Unexpected::Float(f64::from(x)),
            Item::Str(_) => de::Unexpected::Other("a string"),
            Item::Bytes(_) => de::Unexpected::Other("bytes"),
            Item::Seq(_) => de::Unexpected::Seq,
            Item::Map(_) => de::Unexpected::Map,
        }
    }
}

impl<'de> Reader<'de> {
    fn item(&mut self) -> Result<Item<'de>, Error> {
        let tag = self.byte()?;
        Ok(match tag {
            NULL => Item::Unit,
            FALSE => Item::Bool(false),
            TRUE => Item::Bool(true),
            UINT => Item::U64(self.varint()?),
            NEGINT => {
                let n = self.varint()?;
                if n > i64::MAX as u64 {
                    return self.fail("negative integer out of range");
                }
                Item::I64(-1 - n as i64)
            }
            F64_INT => {
                let i = unzigzag(self.varint()?);
                Item::F64(self.integral(i)?)
            }
            F64_DELTA => {
                let d = unzigzag(self.varint()?);
                match self.anchor.checked_add(d) {
                    Some(i) => Item::F64(self.integral(i)?),
                    None => return self.fail("an f64 delta out of range"),
                }
            }
            F64_AS_F32 => Item::F64(f64::from(f32::from_le_bytes(self.array()?))),
            F64 => Item::F64(f64::from_le_bytes(self.array()?)),
            F32 => Item::F32(f32::from_le_bytes(self.array()?)),
            BYTES => {
                let n = self.count(1)?;
                Item::Bytes(self.take(n)?)
            }
            SEQ => Item::Seq(self.count(1)?),
            MAP => Item::Map(self.count(2)?),
            UINT_SMALL..=0xff => Item::U64(u64::from(tag - UINT_SMALL)),
            t => Item::Str(self.string(t)?),
        })
    }

    /// Skips a value (`IgnoredAny`) without building anything.
    fn skip(&mut self) -> Result<(), Error> {
        match self.item()? {
            Item::Seq(n) => self.nested(|r| (0..n).try_for_each(|_| r.skip())),
            Item::Map(n) => self.nested(|r| (0..2 * n).try_for_each(|_| r.skip())),
            _ => Ok(()),
        }
    }

    fn visit_string<V: Visitor<'de>>(&self, i: usize, visitor: V) -> Result<V::Value, Error> {
        match self.text(i) {
            Some(Text::Input(s)) => visitor.visit_borrowed_str(s),
            Some(Text::Decoded(s)) => visitor.visit_str(s),
            None => self.fail("a string that is not there"),
        }
    }

    fn visit_seq<V: Visitor<'de>>(&mut self, n: usize, visitor: V) -> Result<V::Value, Error> {
        self.nested(|r| {
            let mut access = Items { r, left: n };
            let value = visitor.visit_seq(&mut access)?;
            match access.left {
                0 => Ok(value),
                left => access.r.fail(&format!("{left} sequence elements not read")),
            }
        })
    }

    fn visit_map<V: Visitor<'de>>(&mut self, n: usize, visitor: V) -> Result<V::Value, Error> {
        self.nested(|r| {
            let mut access = Items { r, left: n };
            let value = visitor.visit_map(&mut access)?;
            match access.left {
                0 => Ok(value),
                left => access.r.fail(&format!("{left} map entries not read")),
            }
        })
    }
}

/// The typed `deserialize_*` methods accept only their kind of value (numbers also accept
/// integers, as JSON does), so each type's decoder is compiled with the few visit methods it
/// uses; `deserialize_any` (internally tagged and untagged enums) takes anything.
impl<'de> de::Deserializer<'de> for &mut Reader<'de> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.item()? {
            Item::Unit => visitor.visit_unit(),
            Item::Bool(b) => visitor.visit_bool(b),
            Item::U64(n) => visitor.visit_u64(n),
            Item::I64(n) => visitor.visit_i64(n),
            Item::F64(x) => visitor.visit_f64(x),
            Item::F32(x) => visitor.visit_f32(x),
            Item::Str(i) => self.visit_string(i, visitor),
            Item::Bytes(b) => visitor.visit_borrowed_bytes(b),
            Item::Seq(n) => self.visit_seq(n, visitor),
            Item::Map(n) => self.visit_map(n, visitor),
        }
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.item()? {
            Item::Bool(b) => visitor.visit_bool(b),
            other => Err(de::Error::invalid_type(other.unexpected(), &visitor)),
        }
    }

    fn deserialize_u64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.item()? {
            Item::U64(n) => visitor.visit_u64(n),
            Item::I64(n) => visitor.visit_i64(n),
            other => Err(de::Error::invalid_type(other.unexpected(), &visitor)),
        }
    }

    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.item()? {
            Item::F64(x) => visitor.visit_f64(x),
            Item::F32(x) => visitor.visit_f32(x),
            Item::U64(n) => visitor.visit_u64(n),
            Item::I64(n) => visitor.visit_i64(n),
            other => Err(de::Error::invalid_type(other.unexpected(), &visitor)),
        }
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.item()? {
            Item::Str(i) => self.visit_string(i, visitor),
            other => Err(de::Error::invalid_type(other.unexpected(), &visitor)),
        }
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.item()? {
            Item::Bytes(b) => visitor.visit_borrowed_bytes(b),
            other => Err(de::Error::invalid_type(other.unexpected(), &visitor)),
        }
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.item()? {
            Item::Unit => visitor.visit_unit(),
            other => Err(de::Error::invalid_type(other.unexpected(), &visitor)),
        }
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.item()? {
            Item::Seq(n) => self.visit_seq(n, visitor),
            other => Err(de::Error::invalid_type(other.unexpected(), &visitor)),
        }
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.item()? {
            Item::Map(n) => self.visit_map(n, visitor),
            other => Err(de::Error::invalid_type(other.unexpected(), &visitor)),
        }
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.skip()?;
        visitor.visit_unit()
    }

    read_as! {
        deserialize_i8 => deserialize_u64, deserialize_i16 => deserialize_u64,
        deserialize_i32 => deserialize_u64, deserialize_i64 => deserialize_u64,
        deserialize_u8 => deserialize_u64, deserialize_u16 => deserialize_u64,
        deserialize_u32 => deserialize_u64, deserialize_f32 => deserialize_f64,
        deserialize_char => deserialize_str, deserialize_string => deserialize_str,
        deserialize_identifier => deserialize_str, deserialize_byte_buf => deserialize_bytes
    }
    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_unit(visitor)
    }
    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_seq(visitor)
    }
    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_seq(visitor)
    }
    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_map(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        if self.peek()? == NULL {
            self.pos += 1;
            visitor.visit_none()
        } else {
            visitor.visit_some(self)
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    /// A unit variant is its name; any other variant a one-entry map `{variant: content}`.
    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        match self.item()? {
            Item::Str(i) => match self.text(i) {
                Some(Text::Input(name) | Text::Decoded(name)) => {
                    visitor.visit_enum(name.into_deserializer())
                }
                None => self.fail("a string that is not there"),
            },
            Item::Map(1) => self.nested(|r| visitor.visit_enum(Variant { r })),
            _ => self.fail("an enum must be a variant name or a one-entry map"),
        }
    }

    fn is_human_readable(&self) -> bool {
        // The same shapes as the JSON form (format 1), so both decode through one set of types.
        true
    }
}

struct Items<'a, 'de> {
    r: &'a mut Reader<'de>,
    left: usize,
}

impl<'de> de::SeqAccess<'de> for Items<'_, 'de> {
    type Error = Error;
    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Error> {
        if self.left == 0 {
            return Ok(None);
        }
        self.left -= 1;
        seed.deserialize(&mut *self.r).map(Some)
    }
    fn size_hint(&self) -> Option<usize> {
        Some(self.left)
    }
}

impl<'de> de::MapAccess<'de> for Items<'_, 'de> {
    type Error = Error;
    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error> {
        if self.left == 0 {
            return Ok(None);
        }
        self.left -= 1;
        seed.deserialize(&mut *self.r).map(Some)
    }
    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Error> {
        seed.deserialize(&mut *self.r)
    }
    fn size_hint(&self) -> Option<usize> {
        Some(self.left)
    }
}

struct Variant<'a, 'de> {
    r: &'a mut Reader<'de>,
}

impl<'de> de::EnumAccess<'de> for Variant<'_, 'de> {
    type Error = Error;
    type Variant = Self;
    fn variant_seed<V: DeserializeSeed<'de>>(self, seed: V) -> Result<(V::Value, Self), Error> {
        let name = seed.deserialize(&mut *self.r)?;
        Ok((name, self))
    }
}

impl<'de> de::VariantAccess<'de> for Variant<'_, 'de> {
    type Error = Error;
    fn unit_variant(self) -> Result<(), Error> {
        de::Deserialize::deserialize(&mut *self.r)
    }
    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, Error> {
        seed.deserialize(&mut *self.r)
    }
    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value, Error> {
        de::Deserializer::deserialize_any(&mut *self.r, visitor)
    }
    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        de::Deserializer::deserialize_any(&mut *self.r, visitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::{Deserialize, Serialize};
    use std::collections::BTreeMap;

    const DICT: &[&str] = &["kind", "device", "kind"];

    fn dict() -> Dictionary {
        Dictionary::new(DICT)
    }

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    #[serde(tag = "kind", rename_all = "snake_case")]
    enum Tagged {
        A { x: f64, n: Vec<u64> },
        B { name: String },
    }

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    #[serde(untagged)]
    enum Loose {
        Number(f64),
        Text(String),
    }

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    #[serde(rename_all = "snake_case")]
    enum External {
        Unit,
        New(i32),
        Tuple(u8, String),
        Fields { a: bool },
    }

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Everything {
        tagged: Vec<Tagged>,
        loose: BTreeMap<String, Loose>,
        external: Vec<External>,
        floats: Vec<f64>,
        small: Vec<f32>,
        ints: Vec<i64>,
        big: u64,
        pair: [f64; 2],
        #[serde(default, skip_serializing_if = "Option::is_none")]
        maybe: Option<String>,
        none: Option<u8>,
        unit: (),
        text: String,
    }

    fn everything() -> Everything {
        Everything {
            tagged: vec![
                Tagged::A {
                    x: 0.5,
                    n: vec![0, 127, 128, u64::MAX],
                },
                Tagged::B {
                    name: "shoes".into(),
                },
                Tagged::B {
                    name: "shoes".into(),
                },
            ],
            loose: [
                ("device".to_string(), Loose::Text("mobile".into())),
                ("hour".to_string(), Loose::Number(14.0)),
            ]
            .into_iter()
            .collect(),
            external: vec![
                External::Unit,
                External::New(-7),
                External::Tuple(3, "x".into()),
                External::Fields { a: true },
            ],
            floats: vec![
                0.0,
                -0.0,
                1.0,
                -1.0,
                1_796_501_814_354.0,
                9_007_199_254_740_992.0,
                1e300,
                0.6956249999999999,
                0.25,
                f64::INFINITY,
                f64::NEG_INFINITY,
                f64::MIN_POSITIVE,
            ],
            small: vec![0.1, -3.5, f32::MAX],
            ints: vec![0, -1, i64::MIN, i64::MAX, 300],
            big: 10_802_620_664_521_543_564,
            pair: [3.0, 1.0],
            maybe: None,
            none: None,
            unit: (),
            text: "héllo — ✓".into(),
        }
    }

    #[test]
    fn round_trips_every_shape_the_snapshot_uses_bit_for_bit() {
        let v = everything();
        let bytes = to_vec(&v, &dict()).expect("encodes");
        let back: Everything = from_slice(&bytes, &dict()).expect("decodes");
        assert_eq!(back, v);
        let bits = |f: &[f64]| f.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(
            bits(&back.floats),
            bits(&v.floats),
            "-0.0 and every float exact"
        );
        let nan: f64 =
            from_slice(&to_vec(&f64::NAN, &dict()).expect("encodes"), &dict()).expect("decodes");
        assert!(nan.is_nan());
        // Re-encoding gives the same bytes (deterministic).
        assert_eq!(to_vec(&back, &dict()).expect("encodes"), bytes);
        // Smaller than JSON (which cannot even hold the infinities).
        let json = serde_json::to_vec(&v).expect("json");
        assert!(
            bytes.len() < json.len(),
            "{} vs JSON {}",
            bytes.len(),
            json.len()
        );
    }

    #[test]
    fn repeated_strings_are_one_byte_references() {
        let names = vec!["page_view".to_string(); 10];
        let bytes = to_vec(&names, &dict()).expect("encodes");
        // SEQ, count, new string (tag, len, 9 bytes), then 9 one-byte references.
        assert_eq!(bytes.len(), 2 + 2 + 9 + 9);
    }

    #[test]
    fn timestamps_are_deltas_ids_are_front_coded_dictionary_names_one_byte() {
        let t0 = 1_796_501_814_336.0;
        let ts = vec![
            t0,
            t0 + 8.0,
            t0 + 8.0,
            t0 + 19.0,
            14.0,
            t0 + 20.0,
            -t0,
            2.0 * t0,
        ];
        let bytes = to_vec(&ts, &dict()).expect("encodes");
        // SEQ, count; t0 absolute (1 + 6); deltas 1 + 1 each, 14.0 small (1 + 1), then t0 + 20
        // still from the anchor t0 + 19; −t0 and 2·t0 are cheaper absolute (1 + 6, 1 + 7).
        assert_eq!(
            bytes.len(),
            2 + 7 + 2 + 2 + 2 + 2 + 2 + 7 + 8,
            "{bytes:02x?}"
        );
        assert_eq!(
            from_slice::<Vec<f64>>(&bytes, &dict()).expect("decodes"),
            ts
        );

        let ids: Vec<String> = (19..31).map(|n| format!("4f482cd2-{n}")).collect();
        let bytes = to_vec(&ids, &dict()).expect("encodes");
        // The first in full (1 + 1 + 11), the rest: tag, shared length, new length and the new
        // bytes (two after "4f482cd2-", one when only the last digit changes).
        assert_eq!(bytes.len(), 2 + 13 + 5 + 9 * 4 + 5);
        assert_eq!(
            from_slice::<Vec<String>>(&bytes, &dict()).expect("decodes"),
            ids
        );
        // Front coding stops on a character boundary.
        let words = vec!["añob".to_string(), "añoc".to_string(), "añ€".to_string()];
        let bytes = to_vec(&words, &dict()).expect("encodes");
        assert_eq!(
            from_slice::<Vec<String>>(&bytes, &dict()).expect("decodes"),
            words
        );

        // Dictionary words are one byte from the first use; a duplicate entry is harmless.
        let bytes = to_vec(&["kind", "device", "kind"], &dict()).expect("encodes");
        assert_eq!(
            bytes,
            [SEQ, 3, STR_REF_SMALL, STR_REF_SMALL + 1, STR_REF_SMALL]
        );
        // The reader needs the writer's dictionary.
        let e = from_slice::<Vec<String>>(&bytes, &Dictionary::new(&[])).expect_err("refused");
        assert!(e.to_string().contains("string 0 referred to before"), "{e}");
    }

    #[test]
    fn json_transcodes_to_the_same_value() {
        let mut v = everything();
        v.floats.retain(|f| f.is_finite()); // JSON has no infinities
        v.small.retain(|f| f.is_finite());
        let json = serde_json::to_vec(&v).expect("json");
        let bytes = transcode(&mut serde_json::Deserializer::from_slice(&json), &dict())
            .expect("transcodes");
        let back: Everything = from_slice(&bytes, &dict()).expect("decodes");
        assert_eq!(back, v);
        // Re-encoded from the value, the bytes are the compact ones (counts no longer padded).
        assert!(to_vec(&back, &dict()).expect("encodes").len() < bytes.len());
        let e = transcode(&mut serde_json::Deserializer::from_slice(b"[1, 2"), &dict())
            .expect_err("refused");
        assert!(e.to_string().contains("EOF"), "{e}");
    }

    #[test]
    fn unknown_fields_are_still_refused() {
        #[derive(Serialize)]
        struct More {
            a: u8,
            b: u8,
        }
        #[derive(Debug, Deserialize)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct Less {
            a: u8,
        }
        let bytes = to_vec(&More { a: 1, b: 2 }, &dict()).expect("encodes");
        let e = from_slice::<Less>(&bytes, &dict()).expect_err("refused");
        assert!(e.to_string().contains("unknown field `b`"), "{e}");
    }

    #[test]
    fn hostile_bytes_are_errors_never_panics() {
        let good = to_vec(&everything(), &dict()).expect("encodes");
        // Every truncation and every single-byte change: an error or a value, never a panic.
        for cut in 0..good.len() {
            let _ = from_slice::<Everything>(&good[..cut], &dict());
        }
        for i in 0..good.len() {
            for x in [0x01u8, 0x80, 0xff] {
                let mut b = good.clone();
                b[i] ^= x;
                let _ = from_slice::<Everything>(&b, &dict());
            }
        }
        let cases: &[(&[u8], &str)] = &[
            (&[SEQ, 0xff, 0xff, 0xff, 0xff, 0x0f], "elements claimed"),
            (&[MAP, 0x05, 0x80], "elements claimed"),
            (&[STR_REF_SMALL + 3], "string 3 referred to before"),
            (
                &[STR_FRONT, 0x03, 0x01, b'a'],
                "3 bytes of a previous string",
            ),
            (
                &[F64_INT, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f],
                "beyond 2^53",
            ),
            (&[STR_NEW, 0x02, 0xff, 0xfe], "not UTF-8"),
            (
                &[
                    UINT, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f,
                ],
                "overflows",
            ),
            (&[0x81, 0x81], "1 bytes after the value"),
        ];
        for (bytes, want) in cases {
            let e = from_slice::<serde::de::IgnoredAny>(bytes, &dict()).expect_err("refused");
            assert!(e.to_string().contains(want), "{bytes:?}: {e}");
        }
        // Deep nesting stops at MAX_DEPTH instead of exhausting the stack.
        let mut deep = [SEQ, 1].repeat(100_000);
        deep.push(NULL);
        let e = from_slice::<serde::de::IgnoredAny>(&deep, &dict()).expect_err("refused");
        assert!(e.to_string().contains("nested deeper than 64"), "{e}");
    }

    #[test]
    fn unknown_length_sequences_are_patched() {
        struct Unsized(Vec<u32>);
        impl Serialize for Unsized {
            fn serialize<S: ser::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                use ser::SerializeSeq;
                let mut seq = s.serialize_seq(None)?;
                for x in &self.0 {
                    seq.serialize_element(x)?;
                }
                seq.end()
            }
        }
        let v: Vec<u32> = (0..300).collect();
        let bytes = to_vec(&Unsized(v.clone()), &dict()).expect("encodes");
        assert_eq!(from_slice::<Vec<u32>>(&bytes, &dict()).expect("decodes"), v);
    }
}
