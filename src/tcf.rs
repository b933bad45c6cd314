//! IAB TCF v2.2 consent-string (TC string) decoder.
//!
//! Implements the decoding side of IAB Tech Lab, "Transparency & Consent String with Global
//! Vendor List Format", TCF v2.2 (2023): the core segment, the disclosed vendors segment and the
//! publisher TC segment. Cross-checked field by field against the reference implementation
//! `@iabtcf/core` 1.5.6 (`tests/tcf.rs`, fixtures from `scripts/tcf-fixtures.mjs`).
//!
//! A TC string is one or more `.`-separated segments, each web-safe base64 (`A-Z a-z 0-9 - _`)
//! without padding. The first segment is the core segment (it starts with the 6-bit version,
//! which must be 2); every other segment starts with a 3-bit segment type.
//!
//! Decisions where the spec leaves room, or where we are stricter than `@iabtcf/core`:
//! - `policy_version` must be at least 4 (TCF v2.2); older strings must be re-collected
//!   (`tcf_policy_version`). The reference accepts them.
//! - `cmp_id` must be at least 2 (`tcf_bad_cmp_id`), as in the reference.
//! - Language and country letters are 6-bit values 0..=25 (`A`..=`Z`); anything else is
//!   `tcf_bad_language`. The reference maps 26..=63 to non-letters.
//! - Vendor ids: 0 is invalid, a range must have `end >= start`, and in a vendor section every
//!   id must be `<= maxVendorId` (`tcf_bad_vendor_id`, `tcf_bad_vendor_range`). The reference
//!   silently ignores `end < start` and ids above `maxVendorId` in vendor sections.
//! - Publisher restrictions: restriction type 3 and purpose id 0 are rejected
//!   (`tcf_bad_restriction`) even when the restriction lists no vendors. Restrictions with the
//!   same purpose and type are merged; restrictions that list no vendor are dropped (they mean
//!   nothing); the result is sorted by `(purpose_id, restriction_type)`, each vendor list sorted
//!   and deduplicated: the content of the reference's model, in a canonical order.
//! - Segment type 2 (allowed vendors, removed in v2.2): accepted, validated like any vendor
//!   section, and ignored, as the reference accepts it. Types 0 (a second core), 4..=7
//!   (`tcf_bad_segment`) and a repeated segment (`tcf_duplicate_segment`) are rejected;
//!   the reference accepts repeated segments (the last one wins).
//! - Bits after a segment's content are padding and must be zero (`tcf_trailing_bits`); any
//!   number of them is accepted. The reference ignores them whatever their value.
//! - `=` padding and any other character outside the web-safe alphabet is `tcf_bad_base64`.
//! - Limits for untrusted input: at most [`MAX_LEN`] bytes (`tcf_too_long`) and at most
//!   [`MAX_RANGE_IDS`] vendor ids claimed by range entries over the whole string
//!   (`tcf_too_many_ids`), so decoding time and memory stay bounded.
//!
//! Timestamps are stored in deciseconds; [`TcString::created`] and [`TcString::last_updated`]
//! are unix seconds (floor).

use serde::Serialize;
use std::fmt;

/// Longest accepted input, in bytes.
pub const MAX_LEN: usize = 64 * 1024;
/// Most vendor ids that range entries (vendor sections and publisher restrictions together)
/// may claim in one string, counting overlaps. A real string claims a few thousand.
pub const MAX_RANGE_IDS: usize = 1 << 21;

/// Every code [`TcfError::code`] returns.
pub const ERROR_CODES: [&str; 15] = [
    "tcf_empty",
    "tcf_too_long",
    "tcf_bad_base64",
    "tcf_bad_segment",
    "tcf_duplicate_segment",
    "tcf_truncated",
    "tcf_unsupported_version",
    "tcf_policy_version",
    "tcf_bad_cmp_id",
    "tcf_bad_language",
    "tcf_bad_vendor_id",
    "tcf_bad_vendor_range",
    "tcf_bad_restriction",
    "tcf_trailing_bits",
    "tcf_too_many_ids",
];

/// A decoded TC string. Id lists are sorted ascending and hold the ids whose bit is set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TcString {
    /// Always 2.
    pub version: u8,
    /// Unix seconds.
    pub created: u64,
    /// Unix seconds.
    pub last_updated: u64,
    pub cmp_id: u16,
    pub cmp_version: u16,
    pub consent_screen: u8,
    /// Two uppercase letters.
    pub consent_language: String,
    pub vendor_list_version: u16,
    /// At least 4.
    pub policy_version: u8,
    pub is_service_specific: bool,
    pub use_non_standard_texts: bool,
    /// Ids 1..=12.
    pub special_feature_optins: Vec<u8>,
    /// Ids 1..=24.
    pub purpose_consents: Vec<u8>,
    /// Ids 1..=24.
    pub purpose_legitimate_interests: Vec<u8>,
    pub purpose_one_treatment: bool,
    /// Two uppercase letters.
    pub publisher_country_code: String,
    pub vendor_consents: Vec<u16>,
    pub vendor_legitimate_interests: Vec<u16>,
    pub publisher_restrictions: Vec<PublisherRestriction>,
    /// Disclosed vendors segment (type 1), if present.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disclosed_vendors: Option<Vec<u16>>,
    /// Publisher TC segment (type 3), if present: ids 1..=24.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub publisher_consents: Option<Vec<u8>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub publisher_legitimate_interests: Option<Vec<u8>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub num_custom_purposes: Option<u8>,
    /// Ids 1..=num_custom_purposes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom_purpose_consents: Option<Vec<u8>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom_purpose_legitimate_interests: Option<Vec<u8>>,
}

/// A publisher restriction: for `purpose_id`, these vendors are `restriction_type`
/// (0 = not allowed, 1 = require consent, 2 = require legitimate interest).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PublisherRestriction {
    pub purpose_id: u8,
    pub restriction_type: u8,
    pub vendors: Vec<u16>,
}

impl TcString {
    /// Whether the user consented to purpose `id` (core segment).
    pub fn purpose_consent(&self, id: u8) -> bool {
        self.purpose_consents.binary_search(&id).is_ok()
    }

    /// Whether vendor `id` has the user's consent (core segment).
    pub fn vendor_consent(&self, id: u16) -> bool {
        self.vendor_consents.binary_search(&id).is_ok()
    }
}

/// Why a TC string was rejected. `segment` is the 0-based index of the `.`-separated segment
/// (0 = core) and `bit` a bit offset inside that segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TcfError {
    Empty,
    TooLong {
        len: usize,
    },
    BadBase64 {
        pos: usize,
        byte: u8,
    },
    EmptySegment {
        segment: usize,
    },
    Truncated {
        segment: usize,
        field: &'static str,
        bit: usize,
        need: usize,
        have: usize,
    },
    UnsupportedVersion {
        version: u8,
    },
    PolicyVersion {
        version: u8,
    },
    BadCmpId {
        cmp_id: u16,
    },
    BadLanguage {
        field: &'static str,
        bit: usize,
        value: u8,
    },
    BadVendorId {
        segment: usize,
        field: &'static str,
        bit: usize,
        id: u16,
        max: u16,
    },
    BadVendorRange {
        segment: usize,
        field: &'static str,
        bit: usize,
        start: u16,
        end: u16,
    },
    BadRestriction {
        bit: usize,
        purpose_id: u8,
        restriction_type: u8,
    },
    BadSegment {
        segment: usize,
        segment_type: u8,
    },
    DuplicateSegment {
        segment: usize,
        segment_type: u8,
    },
    TrailingBits {
        segment: usize,
        bit: usize,
    },
    TooManyIds {
        segment: usize,
        field: &'static str,
        bit: usize,
    },
}

impl TcfError {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            TcfError::Empty => "tcf_empty",
            TcfError::TooLong { .. } => "tcf_too_long",
            TcfError::BadBase64 { .. } => "tcf_bad_base64",
            TcfError::EmptySegment { .. } | TcfError::BadSegment { .. } => "tcf_bad_segment",
            TcfError::Truncated { .. } => "tcf_truncated",
            TcfError::UnsupportedVersion { .. } => "tcf_unsupported_version",
            TcfError::PolicyVersion { .. } => "tcf_policy_version",
            TcfError::BadCmpId { .. } => "tcf_bad_cmp_id",
            TcfError::BadLanguage { .. } => "tcf_bad_language",
            TcfError::BadVendorId { .. } => "tcf_bad_vendor_id",
            TcfError::BadVendorRange { .. } => "tcf_bad_vendor_range",
            TcfError::BadRestriction { .. } => "tcf_bad_restriction",
            TcfError::DuplicateSegment { .. } => "tcf_duplicate_segment",
            TcfError::TrailingBits { .. } => "tcf_trailing_bits",
            TcfError::TooManyIds { .. } => "tcf_too_many_ids",
        }
    }
}

impl fmt::Display for TcfError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TcfError::Empty => write!(f, "TC string is empty"),
            TcfError::TooLong { len } => {
                write!(f, "TC string is {len} bytes long; the limit is {MAX_LEN}")
            }
            TcfError::BadBase64 { pos, byte } => write!(
                f,
                "TC string byte {pos} ({}) is not web-safe base64 (A-Z a-z 0-9 - _, no padding)",
                ascii(*byte)
            ),
            TcfError::EmptySegment { segment } => {
                write!(f, "TC string segment {segment} is empty")
            }
            TcfError::Truncated {
                segment,
                field,
                bit,
                need,
                have,
            } => write!(
                f,
                "TC string truncated: segment {segment}, {field} at bit {bit} needs {need} bits, {have} left"
            ),
            TcfError::UnsupportedVersion { version } => {
                write!(f, "TC string version {version} (core segment bits 0-5) is not supported; expected 2")?;
                if *version >= 8 {
                    // A non-zero segment type where the core segment must be.
                    write!(f, " (the first segment must be the core segment; this one starts like segment type {})", version >> 3)?;
                }
                Ok(())
            }
            TcfError::PolicyVersion { version } => write!(
                f,
                "TC string policyVersion {version} (core segment bit 132) predates TCF v2.2; need 4 or later, re-collect consent"
            ),
            TcfError::BadCmpId { cmp_id } => {
                write!(f, "TC string cmpId {cmp_id} (core segment bit 78) is invalid; CMP ids start at 2")
            }
            TcfError::BadLanguage { field, bit, value } => write!(
                f,
                "TC string {field}: letter at core segment bit {bit} is {value}, outside 0..=25 (A-Z)"
            ),
            TcfError::BadVendorId {
                segment,
                field,
                bit,
                id,
                max,
            } => {
                write!(f, "TC string {field}: vendor id {id} in the range entry at segment {segment} bit {bit} ")?;
                if *id == 0 {
                    write!(f, "is invalid; vendor ids start at 1")
                } else {
                    write!(f, "exceeds maxVendorId {max}")
                }
            }
            TcfError::BadVendorRange {
                segment,
                field,
                bit,
                start,
                end,
            } => write!(
                f,
                "TC string {field}: range entry at segment {segment} bit {bit} ends ({end}) before it starts ({start})"
            ),
            TcfError::BadRestriction {
                bit,
                purpose_id,
                restriction_type,
            } => write!(
                f,
                "TC string publisherRestrictions: entry at core segment bit {bit} has purpose {purpose_id}, type {restriction_type}; need purpose >= 1 and type 0, 1 or 2"
            ),
            TcfError::BadSegment {
                segment,
                segment_type,
            } => write!(
                f,
                "TC string segment {segment} has unknown segment type {segment_type}; expected 1 (disclosed vendors), 2 (allowed vendors) or 3 (publisher TC)"
            ),
            TcfError::DuplicateSegment {
                segment,
                segment_type,
            } => write!(
                f,
                "TC string segment {segment} repeats segment type {segment_type} (0 = core)"
            ),
            TcfError::TrailingBits { segment, bit } => write!(
                f,
                "TC string segment {segment} has a non-zero bit {bit} after its content (padding must be zero)"
            ),
            TcfError::TooManyIds {
                segment,
                field,
                bit,
            } => write!(
                f,
                "TC string {field}: range entry at segment {segment} bit {bit} exceeds the limit of {MAX_RANGE_IDS} vendor ids in range entries"
            ),
        }
    }
}

impl std::error::Error for TcfError {}

fn ascii(byte: u8) -> String {
    if byte.is_ascii_graphic() {
        format!("{:?}", char::from(byte))
    } else {
        format!("0x{byte:02x}")
    }
}

/// Reads bits MSB-first from one segment's 6-bit base64url values.
struct Reader {
    sextets: Vec<u8>,
    pos: usize,
    segment: usize,
    /// Vendor ids range entries may still claim (shared over the whole string).
    budget: usize,
}

impl Reader {
    fn load(&mut self, text: &str, start: usize, segment: usize) -> Result<(), TcfError> {
        if text.is_empty() {
            return Err(TcfError::EmptySegment { segment });
        }
        self.sextets.clear();
        for (i, byte) in text.bytes().enumerate() {
            let v = match byte {
                b'A'..=b'Z' => byte - b'A',
                b'a'..=b'z' => byte - b'a' + 26,
                b'0'..=b'9' => byte - b'0' + 52,
                b'-' => 62,
                b'_' => 63,
                _ => {
                    return Err(TcfError::BadBase64 {
                        pos: start + i,
                        byte,
                    })
                }
            };
            self.sextets.push(v);
        }
        self.pos = 0;
        self.segment = segment;
        Ok(())
    }

    fn bits_left(&self) -> usize {
        (self.sextets.len() * 6).saturating_sub(self.pos)
    }

    fn bit_at(&self, i: usize) -> u64 {
        self.sextets
            .get(i / 6)
            .map_or(0, |s| u64::from((s >> (5 - i % 6)) & 1))
    }

    fn need(&self, n: usize, field: &'static str) -> Result<(), TcfError> {
        let have = self.bits_left();
        if n > have {
            return Err(TcfError::Truncated {
                segment: self.segment,
                field,
                bit: self.pos,
                need: n,
                have,
            });
        }
        Ok(())
    }

    /// An unsigned integer of `n <= 36` bits.
    fn int(&mut self, n: usize, field: &'static str) -> Result<u64, TcfError> {
        self.need(n, field)?;
        let mut v = 0;
        for _ in 0..n {
            v = (v << 1) | self.bit_at(self.pos);
            self.pos += 1;
        }
        Ok(v)
    }

    fn flag(&mut self, field: &'static str) -> Result<bool, TcfError> {
        Ok(self.int(1, field)? == 1)
    }

    /// A bitfield of `n` bits; bit `i` (from 0) stands for id `i + 1`.
    fn flags(&mut self, n: u8, field: &'static str) -> Result<Vec<u8>, TcfError> {
        self.need(usize::from(n), field)?;
        let mut ids = Vec::new();
        for id in 1..=n {
            if self.flag(field)? {
                ids.push(id);
            }
        }
        Ok(ids)
    }

    fn lang(&mut self, field: &'static str) -> Result<String, TcfError> {
        let mut out = String::with_capacity(2);
        for _ in 0..2 {
            let bit = self.pos;
            let value = self.int(6, field)? as u8;
            if value > 25 {
                return Err(TcfError::BadLanguage { field, bit, value });
            }
            out.push(char::from(b'A' + value));
        }
        Ok(out)
    }

    /// One range entry (isARange, start, [end]) appended to `ids`; `max` bounds the ids.
    fn range_entry(
        &mut self,
        field: &'static str,
        max: u16,
        ids: &mut Vec<u16>,
    ) -> Result<(), TcfError> {
        let bit = self.pos;
        let is_range = self.flag(field)?;
        let start = self.int(16, field)? as u16;
        let end = if is_range {
            self.int(16, field)? as u16
        } else {
            start
        };
        let bad_id = if start == 0 {
            Some(0)
        } else if end > max {
            Some(end)
        } else {
            None
        };
        if let Some(id) = bad_id {
            return Err(TcfError::BadVendorId {
                segment: self.segment,
                field,
                bit,
                id,
                max,
            });
        }
        if end < start {
            return Err(TcfError::BadVendorRange {
                segment: self.segment,
                field,
                bit,
                start,
                end,
            });
        }
        let count = usize::from(end - start) + 1;
        if count > self.budget {
            return Err(TcfError::TooManyIds {
                segment: self.segment,
                field,
                bit,
            });
        }
        self.budget -= count;
        ids.extend(start..=end);
        Ok(())
    }

    /// A vendor section: maxVendorId, isRangeEncoding, then a bitfield or range entries.
    fn vendors(&mut self, field: &'static str) -> Result<Vec<u16>, TcfError> {
        let max = self.int(16, field)? as u16;
        let mut ids = Vec::new();
        if self.flag(field)? {
            let entries = self.int(12, field)?;
            for _ in 0..entries {
                self.range_entry(field, max, &mut ids)?;
            }
            ids.sort_unstable();
            ids.dedup();
        } else {
            self.need(usize::from(max), field)?;
            for id in 1..=max {
                if self.flag(field)? {
                    ids.push(id);
                }
            }
        }
        Ok(ids)
    }

    fn restrictions(&mut self) -> Result<Vec<PublisherRestriction>, TcfError> {
        const FIELD: &str = "publisherRestrictions";
        let mut out: Vec<PublisherRestriction> = Vec::new();
        let count = self.int(12, FIELD)?;
        for _ in 0..count {
            let bit = self.pos;
            let purpose_id = self.int(6, FIELD)? as u8;
            let restriction_type = self.int(2, FIELD)? as u8;
            if purpose_id == 0 || restriction_type > 2 {
                return Err(TcfError::BadRestriction {
                    bit,
                    purpose_id,
                    restriction_type,
                });
            }
            let entries = self.int(12, FIELD)?;
            let mut vendors = Vec::new();
            for _ in 0..entries {
                self.range_entry(FIELD, u16::MAX, &mut vendors)?;
            }
            let same = |r: &&mut PublisherRestriction| {
                r.purpose_id == purpose_id && r.restriction_type == restriction_type
            };
            match out.iter_mut().find(same) {
                Some(r) => r.vendors.extend(vendors),
                None => out.push(PublisherRestriction {
                    purpose_id,
                    restriction_type,
                    vendors,
                }),
            }
        }
        for r in &mut out {
            r.vendors.sort_unstable();
            r.vendors.dedup();
        }
        out.retain(|r| !r.vendors.is_empty());
        out.sort_unstable_by_key(|r| (r.purpose_id, r.restriction_type));
        Ok(out)
    }

    /// The rest of the segment must be zero padding.
    fn finish(&self) -> Result<(), TcfError> {
        let end = self.sextets.len() * 6;
        match (self.pos..end).find(|&i| self.bit_at(i) != 0) {
            Some(bit) => Err(TcfError::TrailingBits {
                segment: self.segment,
                bit,
            }),
            None => Ok(()),
        }
    }
}

/// Decodes a TC string: the core segment, then optional segments (disclosed vendors, publisher
/// TC; allowed vendors is validated and ignored), `.`-separated, in any order, each at most once.
/// Never panics; see the module docs for what is rejected.
pub fn decode(s: &str) -> Result<TcString, TcfError> {
    if s.is_empty() {
        return Err(TcfError::Empty);
    }
    if s.len() > MAX_LEN {
        return Err(TcfError::TooLong { len: s.len() });
    }
    let mut r = Reader {
        sextets: Vec::new(),
        pos: 0,
        segment: 0,
        budget: MAX_RANGE_IDS,
    };
    let mut parts = s.split('.');
    let core = parts.next().unwrap_or_default();
    r.load(core, 0, 0)?;
    let mut tc = decode_core(&mut r)?;
    r.finish()?;

    let mut start = core.len() + 1;
    let mut seen: u8 = 1; // bit per segment type; the core (type 0) is done
    for (i, part) in parts.enumerate() {
        let segment = i + 1;
        r.load(part, start, segment)?;
        start += part.len() + 1;
        let segment_type = r.int(3, "segmentType")? as u8;
        if segment_type > 3 {
            return Err(TcfError::BadSegment {
                segment,
                segment_type,
            });
        }
        if seen & (1 << segment_type) != 0 {
            return Err(TcfError::DuplicateSegment {
                segment,
                segment_type,
            });
        }
        seen |= 1 << segment_type;
        match segment_type {
            1 => tc.disclosed_vendors = Some(r.vendors("disclosedVendors")?),
            2 => {
                // Allowed vendors: dropped from TCF v2.2; validated, then ignored.
                r.vendors("allowedVendors")?;
            }
            _ => {
                tc.publisher_consents = Some(r.flags(24, "publisherConsents")?);
                tc.publisher_legitimate_interests =
                    Some(r.flags(24, "publisherLegitimateInterests")?);
                let n = r.int(6, "numCustomPurposes")? as u8;
                tc.num_custom_purposes = Some(n);
                tc.custom_purpose_consents = Some(r.flags(n, "customPurposeConsents")?);
                tc.custom_purpose_legitimate_interests =
                    Some(r.flags(n, "customPurposeLegitimateInterests")?);
            }
        }
        r.finish()?;
    }
    Ok(tc)
}

fn decode_core(r: &mut Reader) -> Result<TcString, TcfError> {
    let version = r.int(6, "version")? as u8;
    if version != 2 {
        return Err(TcfError::UnsupportedVersion { version });
    }
    let created = r.int(36, "created")? / 10;
    let last_updated = r.int(36, "lastUpdated")? / 10;
    let cmp_id = r.int(12, "cmpId")? as u16;
    if cmp_id < 2 {
        return Err(TcfError::BadCmpId { cmp_id });
    }
    let cmp_version = r.int(12, "cmpVersion")? as u16;
    let consent_screen = r.int(6, "consentScreen")? as u8;
    let consent_language = r.lang("consentLanguage")?;
    let vendor_list_version = r.int(12, "vendorListVersion")? as u16;
    let policy_version = r.int(6, "policyVersion")? as u8;
    if policy_version < 4 {
        return Err(TcfError::PolicyVersion {
            version: policy_version,
        });
    }
    Ok(TcString {
        version,
        created,
        last_updated,
        cmp_id,
        cmp_version,
        consent_screen,
        consent_language,
        vendor_list_version,
        policy_version,
        is_service_specific: r.flag("isServiceSpecific")?,
        use_non_standard_texts: r.flag("useNonStandardTexts")?,
        special_feature_optins: r.flags(12, "specialFeatureOptins")?,
        purpose_consents: r.flags(24, "purposeConsents")?,
        purpose_legitimate_interests: r.flags(24, "purposeLegitimateInterests")?,
        purpose_one_treatment: r.flag("purposeOneTreatment")?,
        publisher_country_code: r.lang("publisherCountryCode")?,
        vendor_consents: r.vendors("vendorConsents")?,
        vendor_legitimate_interests: r.vendors("vendorLegitimateInterests")?,
        publisher_restrictions: r.restrictions()?,
        disclosed_vendors: None,
        publisher_consents: None,
        publisher_legitimate_interests: None,
        num_custom_purposes: None,
        custom_purpose_consents: None,
        custom_purpose_legitimate_interests: None,
    })
}
