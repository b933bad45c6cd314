//! A small, fast, seedable PRNG: xoshiro256** (Blackman & Vigna, "Scrambled Linear Pseudorandom
//! Number Generators", ACM TOMS 2021), seeded through SplitMix64 (Steele, Lea & Flood, OOPSLA 2014)
//! as the authors recommend. Its whole state is four `u64`, so it goes into snapshots as is.
//!
//! Production seeds come from the OS / `crypto.getRandomValues` via `getrandom`; tests and
//! simulations pass a seed and get identical runs.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rng {
    s: [u64; 4],
}

/// One SplitMix64 step: advances `state` and returns a well-mixed output.
pub fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Rng {
    pub fn from_seed(seed: u64) -> Self {
        let mut sm = seed;
        let mut s = [0u64; 4];
        for x in &mut s {
            *x = splitmix64(&mut sm);
        }
        // xoshiro's only bad state is all zeros; SplitMix64 cannot produce four zeros in a row,
        // but a restored state could be anything.
        if s == [0; 4] {
            s[0] = 1;
        }
        Rng { s }
    }

    /// A seed from the platform's secure randomness; falls back to a fixed seed mixed with the
    /// clock if none is available (never panics: a missing entropy source must not break a page).
    pub fn from_entropy(fallback_mix: u64) -> Self {
        let mut buf = [0u8; 8];
        let seed = match getrandom::fill(&mut buf) {
            Ok(()) => u64::from_le_bytes(buf),
            Err(_) => 0x005E_ED0F_ED6E_u64 ^ fallback_mix,
        };
        Rng::from_seed(seed)
    }

    /// Restores a state read from a snapshot (repairs the forbidden all-zero state).
    pub fn from_state(s: [u64; 4]) -> Self {
        if s == [0; 4] {
            Rng::from_seed(0)
        } else {
            Rng { s }
        }
    }

    pub fn next_u64(&mut self) -> u64 {
        let result = self.s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = self.s[1] << 17;
        self.s[2] ^= self.s[0];
        self.s[3] ^= self.s[1];
        self.s[1] ^= self.s[2];
        self.s[0] ^= self.s[3];
        self.s[2] ^= t;
        self.s[3] = self.s[3].rotate_left(45);
        result
    }

    /// Uniform in [0, 1) with 53 bits of precision.
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform integer in [0, n); `n == 0` returns 0. Lemire's multiply-shift (bias < 2^-64·n).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            return 0;
        }
        ((self.next_u64() as u128 * n as u128) >> 64) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_stream_and_uniformish() {
        let mut a = Rng::from_seed(42);
        let mut b = Rng::from_seed(42);
        let mut buckets = [0u32; 10];
        for _ in 0..100_000 {
            let x = a.next_f64();
            assert_eq!(x, b.next_f64());
            assert!((0.0..1.0).contains(&x));
            buckets[(x * 10.0) as usize] += 1;
        }
        for c in buckets {
            assert!((9_000..11_000).contains(&c), "bucket count {c}");
        }
        assert_ne!(Rng::from_seed(1).next_u64(), Rng::from_seed(2).next_u64());
    }

    #[test]
    fn below_stays_in_range() {
        let mut r = Rng::from_seed(7);
        assert_eq!(r.below(0), 0);
        for n in 1..50 {
            for _ in 0..100 {
                assert!(r.below(n) < n);
            }
        }
    }
}
