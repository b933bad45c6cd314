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

    /// Standard normal N(0, 1): Marsaglia's polar method (Marsaglia & Bray, SIAM Review 1964);
    /// the second value of each pair is discarded so the state stays four words.
    pub fn normal(&mut self) -> f64 {
        loop {
            let u = 2.0 * self.next_f64() - 1.0;
            let v = 2.0 * self.next_f64() - 1.0;
            let s = u * u + v * v;
            if s > 0.0 && s < 1.0 {
                return u * (-2.0 * s.ln() / s).sqrt();
            }
        }
    }

    /// Gamma(shape, 1) for `shape > 0`: Marsaglia & Tsang, "A Simple Method for Generating Gamma
    /// Variables", ACM TOMS 2000; shapes below 1 use `Gamma(a) = Gamma(a + 1) · U^(1/a)`.
    /// A non-finite or non-positive shape returns 0.
    pub fn gamma(&mut self, shape: f64) -> f64 {
        if !(shape.is_finite() && shape > 0.0) {
            return 0.0;
        }
        if shape < 1.0 {
            let u = self.next_f64().max(f64::MIN_POSITIVE);
            return self.gamma(shape + 1.0) * u.powf(1.0 / shape);
        }
        let d = shape - 1.0 / 3.0;
        let c = 1.0 / (9.0 * d).sqrt();
        loop {
            let x = self.normal();
            let v = 1.0 + c * x;
            if v <= 0.0 {
                continue;
            }
            let v = v * v * v;
            let u = self.next_f64();
            if u < 1.0 - 0.0331 * x * x * x * x
                || u.max(f64::MIN_POSITIVE).ln() < 0.5 * x * x + d * (1.0 - v + v.ln())
            {
                return d * v;
            }
        }
    }

    /// Beta(a, b) as `X / (X + Y)` with `X ~ Gamma(a)`, `Y ~ Gamma(b)`.
    pub fn beta(&mut self, a: f64, b: f64) -> f64 {
        let x = self.gamma(a);
        let y = self.gamma(b);
        if x + y > 0.0 {
            x / (x + y)
        } else {
            0.5
        }
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
    fn normal_gamma_beta_have_their_moments() {
        let mut r = Rng::from_seed(3);
        let n = 200_000;
        let mean_var = |xs: &[f64]| {
            let m = xs.iter().sum::<f64>() / xs.len() as f64;
            let v = xs.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / xs.len() as f64;
            (m, v)
        };
        let z: Vec<f64> = (0..n).map(|_| r.normal()).collect();
        let (m, v) = mean_var(&z);
        assert!(m.abs() < 0.01 && (v - 1.0).abs() < 0.02, "normal {m} {v}");
        for shape in [0.3, 1.0, 2.5, 40.0] {
            let g: Vec<f64> = (0..n).map(|_| r.gamma(shape)).collect();
            let (m, v) = mean_var(&g);
            assert!((m / shape - 1.0).abs() < 0.02, "gamma({shape}) mean {m}");
            assert!((v / shape - 1.0).abs() < 0.05, "gamma({shape}) var {v}");
        }
        let (a, b) = (3.0, 7.0);
        let x: Vec<f64> = (0..n).map(|_| r.beta(a, b)).collect();
        let (m, v) = mean_var(&x);
        assert!((m - 0.3).abs() < 0.003, "beta mean {m}");
        assert!((v - a * b / ((a + b) * (a + b) * (a + b + 1.0))).abs() < 0.001);
        assert_eq!(r.gamma(f64::NAN), 0.0);
        assert_eq!(r.gamma(-1.0), 0.0);
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
