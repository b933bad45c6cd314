//! A TC-string builder for tests: IAB TCF v2.2 core segment (and a publisher TC segment) bit by
//! bit, so each test states exactly what the CMP recorded.

/// Our vendor id in the tests' configs.
pub const VENDOR: u16 = 42;

// ---------------------------------------------------------------------------------------------
// TC string builder

/// Builds TC strings bit by bit (MSB first), base64url without padding.
#[derive(Default, Clone)]
pub struct W(Vec<bool>);

impl W {
    pub fn int(mut self, v: u64, n: u32) -> Self {
        assert!(v < 1 << n);
        for i in (0..n).rev() {
            self.0.push(v >> i & 1 == 1);
        }
        self
    }
    pub fn flags(mut self, ids: &[u64], n: u64) -> Self {
        for id in 1..=n {
            self.0.push(ids.contains(&id));
        }
        self
    }
    pub fn vendors(self, ids: &[u64]) -> Self {
        let max = ids.iter().copied().max().unwrap_or(0);
        self.int(max, 16).int(0, 1).flags(ids, max)
    }
    pub fn b64(&self) -> String {
        b64(&self.0)
    }
}

/// Bits (MSB first) as base64url without padding, zero-padded to a multiple of 6.
pub fn b64(bits: &[bool]) -> String {
    const DICT: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    bits.chunks(6)
        .map(|c| {
            let v = c
                .iter()
                .chain(std::iter::repeat(&false))
                .take(6)
                .fold(0, |a, &b| a << 1 | usize::from(b));
            DICT[v] as char
        })
        .collect()
}

/// What a CMP recorded; `build` encodes it as a TC string.
#[derive(Clone, Default, Debug)]
pub struct Tc {
    pub policy: u64,
    pub consents: Vec<u64>,
    pub li: Vec<u64>,
    pub vendor_consents: Vec<u64>,
    pub vendor_li: Vec<u64>,
    /// (purpose, type, vendor)
    pub restrictions: Vec<(u64, u64, u64)>,
    /// Publisher TC segment: (consents, legitimate interests).
    pub publisher: Option<(Vec<u64>, Vec<u64>)>,
}

impl Tc {
    pub fn consent(ids: &[u64]) -> Tc {
        Tc {
            policy: 4,
            consents: ids.to_vec(),
            ..Tc::default()
        }
    }
    /// Consent to purposes 1-11, for our vendor too.
    pub fn all() -> Tc {
        Tc {
            vendor_consents: vec![VENDOR as u64],
            ..Tc::consent(&ALL_PURPOSES)
        }
    }
    pub fn li(mut self, ids: &[u64]) -> Tc {
        self.li = ids.to_vec();
        self
    }
    pub fn vendors(mut self, consents: &[u64], li: &[u64]) -> Tc {
        self.vendor_consents = consents.to_vec();
        self.vendor_li = li.to_vec();
        self
    }
    pub fn restrict(mut self, purpose: u64, kind: u64, vendor: u64) -> Tc {
        self.restrictions.push((purpose, kind, vendor));
        self
    }
    pub fn publisher(mut self, consents: &[u64], li: &[u64]) -> Tc {
        self.publisher = Some((consents.to_vec(), li.to_vec()));
        self
    }
    pub fn build(&self) -> String {
        let mut core = W::default()
            .int(2, 6) // version
            .int(17_000_000_000, 36) // created, deciseconds
            .int(17_000_864_000, 36) // lastUpdated
            .int(300, 12) // cmpId
            .int(7, 12) // cmpVersion
            .int(1, 6) // consentScreen
            .int(4, 6) // consentLanguage "EN"
            .int(13, 6)
            .int(180, 12) // vendorListVersion
            .int(self.policy, 6)
            .int(0, 1) // isServiceSpecific
            .int(0, 1) // useNonStandardTexts
            .flags(&[], 12)
            .flags(&self.consents, 24)
            .flags(&self.li, 24)
            .int(0, 1) // purposeOneTreatment
            .int(3, 6) // publisherCountryCode "DE"
            .int(4, 6)
            .vendors(&self.vendor_consents)
            .vendors(&self.vendor_li)
            .int(self.restrictions.len() as u64, 12);
        for &(purpose, kind, vendor) in &self.restrictions {
            core = core
                .int(purpose, 6)
                .int(kind, 2)
                .int(1, 12)
                .int(0, 1)
                .int(vendor, 16);
        }
        let mut s = core.b64();
        if let Some((consents, li)) = &self.publisher {
            let seg = W::default()
                .int(3, 3)
                .flags(consents, 24)
                .flags(li, 24)
                .int(0, 6);
            s = format!("{s}.{}", seg.b64());
        }
        s
    }
}

pub const ALL_PURPOSES: [u64; 11] = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
