//! TCF v2.2 decoder (`edgewise::tcf`) against the reference implementation `@iabtcf/core`:
//! fixtures from `scripts/tcf-fixtures.mjs` (regenerate with `node scripts/tcf-fixtures.mjs`),
//! plus hand-built strings, every-prefix truncation and random input.

use edgewise::tcf::{self, TcfError, ERROR_CODES};
use serde_json::Value;

mod common;

fn fixture(name: &str) -> Vec<Value> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/tcf")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (run node scripts/tcf-fixtures.mjs)",
            path.display()
        )
    });
    serde_json::from_str(&text).unwrap()
}

fn short(s: &str) -> String {
    if s.len() > 120 {
        format!("{}…({} chars)", &s[..120], s.len())
    } else {
        s.to_string()
    }
}

fn check_err(s: &str, e: &TcfError) {
    assert!(
        ERROR_CODES.contains(&e.code()),
        "undocumented code {} for {}",
        e.code(),
        short(s)
    );
    assert!(!e.to_string().is_empty());
}

#[test]
fn valid_fixtures_match_the_reference_field_by_field() {
    let cases = fixture("valid.json");
    assert!(cases.len() >= 250, "only {} valid fixtures", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        let s = case["string"].as_str().unwrap();
        let expected = case["expected"].as_object().unwrap();
        let tc = match tcf::decode(s) {
            Ok(tc) => tc,
            Err(e) => {
                failures.push(format!("{}: rejected: {} ({})", short(s), e, e.code()));
                continue;
            }
        };
        let got = serde_json::to_value(&tc).unwrap();
        let got = got.as_object().unwrap();
        for (field, want) in expected {
            if got.get(field) != Some(want) {
                failures.push(format!(
                    "{} [{}]: field {field}: got {}, want {}",
                    short(s),
                    case["source"],
                    got.get(field)
                        .map_or("(absent)".into(), |v| short(&v.to_string())),
                    short(&want.to_string())
                ));
            }
        }
        for field in got.keys() {
            if !expected.contains_key(field) {
                failures.push(format!("{}: unexpected field {field}", short(s)));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures[..failures.len().min(40)].join("\n")
    );
}

#[test]
fn malformed_fixtures_are_rejected() {
    let cases = fixture("malformed.json");
    assert!(cases.len() >= 60, "only {} malformed fixtures", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        let s = case["string"].as_str().unwrap();
        let why = case["why"].as_str().unwrap();
        match tcf::decode(s) {
            Ok(tc) => failures.push(format!("{why}: {} accepted: {tc:?}", short(s))),
            Err(e) => {
                check_err(s, &e);
                if let Some(code) = case["code"].as_str() {
                    if e.code() != code {
                        failures.push(format!("{why}: got {} ({e}), want {code}", e.code()));
                    }
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Builds TC strings bit by bit (MSB first), base64url without padding.
#[derive(Default, Clone)]
struct W(Vec<bool>);

impl W {
    fn int(mut self, v: u64, n: u32) -> Self {
        assert!(n == 64 || v < 1 << n);
        for i in (0..n).rev() {
            self.0.push(v >> i & 1 == 1);
        }
        self
    }
    fn flags(mut self, ids: &[u32], n: u32) -> Self {
        for id in 1..=n {
            self.0.push(ids.contains(&id));
        }
        self
    }
    fn lang(self, l: &str) -> Self {
        let b = l.as_bytes();
        self.int(u64::from(b[0] - b'A'), 6)
            .int(u64::from(b[1] - b'A'), 6)
    }
    fn b64(&self) -> String {
        common::tc::b64(&self.0)
    }
}

/// Core segment up to and including publisherCountryCode (213 bits).
fn header(policy: u64) -> W {
    W::default()
        .int(2, 6) // version
        .int(16_500_000_005, 36) // created, deciseconds
        .int(16_500_000_019, 36) // lastUpdated
        .int(28, 12) // cmpId
        .int(3, 12) // cmpVersion
        .int(1, 6) // consentScreen
        .lang("FR")
        .int(215, 12) // vendorListVersion
        .int(policy, 6)
        .int(1, 1) // isServiceSpecific
        .int(0, 1) // useNonStandardTexts
        .flags(&[1, 12], 12)
        .flags(&[1, 2, 24], 24)
        .flags(&[2, 23], 24)
        .int(0, 1) // purposeOneTreatment
        .lang("IT")
}

#[test]
fn hand_built_string_decodes_to_its_fields() {
    let bits = header(4)
        // vendor consents: bitfield, maxVendorId 6
        .int(6, 16)
        .int(0, 1)
        .flags(&[2, 6], 6)
        // vendor LI: range encoding, 2 entries: 9, 20..22
        .int(22, 16)
        .int(1, 1)
        .int(2, 12)
        .int(0, 1)
        .int(9, 16)
        .int(1, 1)
        .int(20, 16)
        .int(22, 16)
        // one restriction: purpose 3, require LI, vendors 4..5
        .int(1, 12)
        .int(3, 6)
        .int(2, 2)
        .int(1, 12)
        .int(1, 1)
        .int(4, 16)
        .int(5, 16);
    let disclosed = W::default()
        .int(1, 3)
        .int(3, 16)
        .int(0, 1)
        .flags(&[1, 3], 3);
    let publisher = W::default()
        .int(3, 3)
        .flags(&[1], 24)
        .flags(&[], 24)
        .int(2, 6)
        .flags(&[2], 2)
        .flags(&[1, 2], 2);
    let s = format!("{}.{}.{}", bits.b64(), disclosed.b64(), publisher.b64());
    let tc = tcf::decode(&s).unwrap();
    assert_eq!(tc.version, 2);
    assert_eq!(tc.created, 1_650_000_000);
    assert_eq!(tc.last_updated, 1_650_000_001);
    assert_eq!((tc.cmp_id, tc.cmp_version, tc.consent_screen), (28, 3, 1));
    assert_eq!(tc.consent_language, "FR");
    assert_eq!(tc.publisher_country_code, "IT");
    assert_eq!((tc.vendor_list_version, tc.policy_version), (215, 4));
    assert!(tc.is_service_specific && !tc.use_non_standard_texts && !tc.purpose_one_treatment);
    assert_eq!(tc.special_feature_optins, [1, 12]);
    assert_eq!(tc.purpose_consents, [1, 2, 24]);
    assert_eq!(tc.purpose_legitimate_interests, [2, 23]);
    assert_eq!(tc.vendor_consents, [2, 6]);
    assert_eq!(tc.vendor_legitimate_interests, [9, 20, 21, 22]);
    assert_eq!(tc.publisher_restrictions.len(), 1);
    let r = &tc.publisher_restrictions[0];
    assert_eq!((r.purpose_id, r.restriction_type), (3, 2));
    assert_eq!(r.vendors, [4, 5]);
    assert_eq!(tc.disclosed_vendors.as_deref(), Some(&[1u16, 3][..]));
    assert_eq!(tc.publisher_consents.as_deref(), Some(&[1u8][..]));
    assert_eq!(tc.publisher_legitimate_interests.as_deref(), Some(&[][..]));
    assert_eq!(tc.num_custom_purposes, Some(2));
    assert_eq!(tc.custom_purpose_consents.as_deref(), Some(&[2u8][..]));
    assert_eq!(
        tc.custom_purpose_legitimate_interests.as_deref(),
        Some(&[1u8, 2][..])
    );
    assert!(tc.purpose_consent(24) && !tc.purpose_consent(3));
    assert!(tc.vendor_consent(6) && !tc.vendor_consent(5));

    let json = serde_json::to_value(&tc).unwrap();
    assert_eq!(json["useNonStandardTexts"], false);
    assert_eq!(json["publisherRestrictions"][0]["restrictionType"], 2);
    assert_eq!(
        json["customPurposeLegitimateInterests"],
        serde_json::json!([1, 2])
    );

    // Without optional segments their keys are absent from the JSON.
    let core_only = tcf::decode(&bits.b64()).unwrap();
    let json = serde_json::to_value(&core_only).unwrap();
    for key in ["disclosedVendors", "publisherConsents", "numCustomPurposes"] {
        assert!(json.get(key).is_none(), "{key} present");
    }
}

/// A string produced by @iabtcf/core (the first `hand` fixture), checked without the fixture file.
#[test]
fn known_reference_string() {
    let tc = tcf::decode(
        "CP1R2oAP1VJkAEsAHCENC0EMAPLAAEPAAAYgAUKkICABBAryAHAAoAFACWQKKArwAIIACAALAAkADB0AGADwAQgA",
    )
    .unwrap();
    assert_eq!(
        (tc.created, tc.last_updated),
        (1_700_000_000, 1_700_086_400)
    );
    assert_eq!(
        (tc.cmp_id, tc.cmp_version, tc.vendor_list_version),
        (300, 7, 180)
    );
    assert_eq!(tc.consent_language, "EN");
    assert_eq!(tc.publisher_country_code, "DE");
    assert_eq!(tc.purpose_consents, [1, 2, 3, 4, 7, 9, 10]);
    assert_eq!(tc.vendor_consents, [1, 3, 5, 8, 13, 21, 34, 40]);
    assert_eq!(tc.vendor_legitimate_interests.len(), 11 + 1 + 51);
    assert_eq!(tc.publisher_restrictions[0].vendors, [5, 9, 10, 11, 12]);
}

fn code_of(s: &str) -> &'static str {
    tcf::decode(s).unwrap_err().code()
}

/// Core segment with empty vendor sections and no restrictions.
fn minimal(policy: u64) -> W {
    header(policy)
        .int(0, 16)
        .int(0, 1)
        .int(0, 16)
        .int(0, 1)
        .int(0, 12)
}

#[test]
fn policy_versions_before_4_are_rejected() {
    for p in 0..4 {
        let e = tcf::decode(&minimal(p).b64()).unwrap_err();
        assert_eq!(e.code(), "tcf_policy_version");
        assert!(e.to_string().contains(&format!("policyVersion {p}")), "{e}");
    }
    for p in [4, 5, 6, 63] {
        assert_eq!(
            tcf::decode(&minimal(p).b64()).unwrap().policy_version,
            p as u8
        );
    }
}

#[test]
fn range_encoding_covers_the_id_space() {
    let full = header(5)
        .int(65535, 16)
        .int(1, 1)
        .int(1, 12)
        .int(1, 1)
        .int(1, 16)
        .int(65535, 16)
        .int(0, 16)
        .int(0, 1)
        .int(0, 12);
    let tc = tcf::decode(&full.b64()).unwrap();
    assert_eq!(tc.vendor_consents.len(), 65535);
    assert_eq!(tc.vendor_consents.first(), Some(&1));
    assert_eq!(tc.vendor_consents.last(), Some(&65535));

    let range = |max: u64, start: u64, end: u64| {
        header(4)
            .int(max, 16)
            .int(1, 1)
            .int(1, 12)
            .int(1, 1)
            .int(start, 16)
            .int(end, 16)
            .int(0, 16)
            .int(0, 1)
            .int(0, 12)
            .b64()
    };
    assert_eq!(
        tcf::decode(&range(10, 3, 10)).unwrap().vendor_consents,
        [3, 4, 5, 6, 7, 8, 9, 10]
    );
    assert_eq!(code_of(&range(10, 5, 4)), "tcf_bad_vendor_range");
    assert_eq!(code_of(&range(10, 0, 4)), "tcf_bad_vendor_id");
    assert_eq!(code_of(&range(10, 5, 11)), "tcf_bad_vendor_id");
    let e = tcf::decode(&range(10, 5, 4)).unwrap_err().to_string();
    assert!(e.contains("vendorConsents") && e.contains("bit 242"), "{e}");
}

#[test]
fn segment_rules() {
    let core = minimal(4).b64();
    let seg = |t: u64| W::default().int(t, 3).int(0, 16).int(0, 1).b64();
    let ok = tcf::decode(&format!("{core}.{}.{}", seg(2), seg(1))).unwrap();
    assert_eq!(ok.disclosed_vendors, Some(vec![]));
    assert_eq!(code_of(&format!("{core}.{}", seg(5))), "tcf_bad_segment");
    assert_eq!(
        code_of(&format!("{core}.{}.{}", seg(1), seg(1))),
        "tcf_duplicate_segment"
    );
    assert_eq!(code_of(&format!("{core}.{core}")), "tcf_duplicate_segment");
    assert_eq!(code_of(&format!("{core}.")), "tcf_bad_segment");
    assert_eq!(code_of(""), "tcf_empty");
    assert_eq!(code_of(&format!("{core}=")), "tcf_bad_base64");
    assert_eq!(code_of(&"A".repeat(tcf::MAX_LEN + 1)), "tcf_too_long");
    // Zero padding of any length is fine; a set bit after the content is not.
    assert!(tcf::decode(&format!("{core}AAAAAAAA")).is_ok());
    assert_eq!(code_of(&format!("{core}AAAAAAAB")), "tcf_trailing_bits");
    // Restrictions: type 3 and purpose 0 are rejected even without vendors.
    let restriction = |p: u64, t: u64| {
        header(4)
            .int(0, 16)
            .int(0, 1)
            .int(0, 16)
            .int(0, 1)
            .int(1, 12)
            .int(p, 6)
            .int(t, 2)
            .int(0, 12)
            .b64()
    };
    assert!(tcf::decode(&restriction(1, 2))
        .unwrap()
        .publisher_restrictions
        .is_empty());
    assert_eq!(code_of(&restriction(1, 3)), "tcf_bad_restriction");
    assert_eq!(code_of(&restriction(0, 0)), "tcf_bad_restriction");
}

/// Shortest possible core segment: the 213-bit header, two empty vendor sections, no restrictions.
const MIN_CORE_BITS: usize = 213 + 17 + 17 + 12;

/// Every bit-length prefix of a full string (zero-padded to a base64 character): no panic, and
/// rejected whenever it is shorter than the shortest core segment. (A longer prefix can be a
/// valid string: cutting off bits that the zero padding restores changes nothing.)
#[test]
fn every_bit_prefix_is_rejected_or_decodes() {
    let core = header(4)
        .int(8, 16)
        .int(0, 1)
        .flags(&[1, 8], 8)
        .int(40, 16)
        .int(1, 1)
        .int(1, 12)
        .int(1, 1)
        .int(30, 16)
        .int(40, 16)
        .int(1, 12)
        .int(1, 6)
        .int(0, 2)
        .int(1, 12)
        .int(0, 1)
        .int(7, 16);
    let n = core.0.len();
    for k in 0..n {
        let prefix = W(core.0[..k].to_vec());
        let result = tcf::decode(&prefix.b64());
        match result {
            Err(e) => check_err(&prefix.b64(), &e),
            Ok(_) => assert!(
                k.div_ceil(6) * 6 >= MIN_CORE_BITS,
                "{k}-bit prefix accepted"
            ),
        }
    }
    let full = format!(
        "{}.{}",
        core.b64(),
        W::default()
            .int(3, 3)
            .flags(&[1], 24)
            .flags(&[2], 24)
            .int(5, 6)
            .flags(&[5], 5)
            .flags(&[], 5)
            .b64()
    );
    assert!(tcf::decode(&full).is_ok());
    for k in 0..full.len() {
        if let Err(e) = tcf::decode(&full[..k]) {
            check_err(&full[..k], &e);
        }
    }
}

/// Every character prefix of the fixture strings: no panic; rejected when shorter than the
/// shortest core segment.
#[test]
fn every_prefix_of_the_fixtures_is_safe() {
    for case in fixture("valid.json").iter().take(60) {
        let s = case["string"].as_str().unwrap();
        for k in 0..s.len() {
            match tcf::decode(&s[..k]) {
                Err(e) => check_err(&s[..k], &e),
                Ok(_) => assert!(k * 6 >= MIN_CORE_BITS, "{k}-char prefix of {s} accepted"),
            }
        }
    }
}

struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

#[test]
fn random_input_never_panics() {
    const DICT: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    let valid: Vec<String> = fixture("valid.json")
        .iter()
        .map(|c| c["string"].as_str().unwrap().to_string())
        .collect();
    let mut accepted = 0;
    for i in 0..6000 {
        let s: String = match i % 3 {
            // random base64url, sometimes with dots or a stray character
            0 => (0..rng.below(300))
                .map(|_| match rng.below(100) {
                    0 => '.',
                    1 => '=',
                    _ => DICT[rng.below(64) as usize] as char,
                })
                .collect(),
            // a valid header followed by random bits: reaches the vendor sections
            1 => {
                let mut w = header(4 + rng.below(2));
                for _ in 0..rng.below(2000) {
                    w.0.push(rng.below(2) == 1);
                }
                w.b64()
            }
            // a valid fixture with a few characters replaced
            _ => {
                let mut b = valid[rng.below(valid.len() as u64) as usize]
                    .clone()
                    .into_bytes();
                for _ in 0..1 + rng.below(3) {
                    let at = rng.below(b.len() as u64) as usize;
                    if b[at] != b'.' {
                        b[at] = DICT[rng.below(64) as usize];
                    }
                }
                String::from_utf8(b).unwrap()
            }
        };
        match tcf::decode(&s) {
            Ok(_) => accepted += 1,
            Err(e) => check_err(&s, &e),
        }
    }
    // Corrupted fixtures often still decode (a flipped consent bit is still a valid string).
    assert!(accepted < 6000);
}
