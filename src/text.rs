//! Small text helpers for the decision path.

use std::fmt;

/// `x` with `decimals` (1..=6) decimals, as `{:.N}` prints it for the magnitudes the engine
/// explains (|x| < 10^12), without core's exact float formatting (slow in wasm): the value is
/// scaled, rounded to an integer and printed with integer formatting. Exact decimal ties may
/// round the other way by one in the last place; non-finite and huge values fall back to core.
#[derive(Clone, Copy, Debug)]
pub struct Fixed(pub f64, pub u32);

impl fmt::Display for Fixed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Fixed(x, decimals) = *self;
        let d = decimals.clamp(1, 6);
        let scale = 10u64.pow(d);
        if !x.is_finite() || x.abs() >= 1e12 {
            return write!(f, "{x:.*}", d as usize);
        }
        let m = (x.abs() * scale as f64).round() as u64;
        if x < 0.0 && m != 0 {
            f.write_str("-")?;
        }
        write!(f, "{}.{:0w$}", m / scale, m % scale, w = d as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::Fixed;

    #[test]
    fn fixed_matches_core_formatting() {
        for d in 1..=3u32 {
            let mut differ = 0;
            for i in 0..200_000u32 {
                let v = f64::from(i as f32 / 200_000.0 * 1.5) * 1000.0 - 700.0;
                let ours = Fixed(v, d).to_string();
                let core = format!("{v:.*}", d as usize);
                if ours != core {
                    differ += 1;
                }
            }
            assert!(
                differ < 20,
                "{differ} values formatted differently at {d} decimals"
            );
        }
        assert_eq!(Fixed(f64::NAN, 3).to_string(), "NaN");
        assert_eq!(Fixed(-0.0001, 3).to_string(), "0.000");
        assert_eq!(Fixed(1151.04, 1).to_string(), "1151.0");
        assert_eq!(Fixed(-2.5e13, 1).to_string(), "-25000000000000.0");
    }
}
