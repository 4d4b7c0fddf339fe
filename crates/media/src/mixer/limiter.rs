//! Soft-clip limiter from the i32 mix bus to i16: linear up to a knee, then a smooth curve
//! that approaches full scale without reaching it, so sums never wrap around.

/// Level below which samples pass unchanged (-2.5 dBFS).
pub const KNEE: i32 = 24_576;

/// Limits one mixed sample to the i16 range (monotonic, odd-symmetric, integer-only so that
/// output is bit-exact on every platform).
#[inline]
pub fn soft_clip(x: i32) -> i16 {
    let mag = x.unsigned_abs() as i64;
    let knee = i64::from(KNEE);
    let y = if mag <= knee {
        mag
    } else {
        // y = knee + range * s / (s + range): slope 1 at the knee, → 32767 as s → ∞.
        let range = 32_767 - knee;
        let s = mag - knee;
        knee + range * s / (s + range)
    };
    // y ≤ 32767 by construction.
    let y = y as i16;
    if x < 0 { -y } else { y }
}

/// Limits a whole buffer into `out` (same length).
pub fn limit(mix: &[i32], out: &mut [i16]) {
    for (o, &m) in out.iter_mut().zip(mix) {
        *o = soft_clip(m);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transparent_below_knee_and_bounded_above() {
        for x in [-KNEE, -1000, 0, 1, 1000, KNEE] {
            assert_eq!(i32::from(soft_clip(x)), x);
        }
        assert!(soft_clip(i32::MAX) < i16::MAX);
        assert!(soft_clip(i32::MIN) > -i16::MAX);
        assert!(soft_clip(5 * 32_767) > 30_000);
        // Monotonic.
        let mut prev = soft_clip(-200_000);
        for x in (-200_000..200_000).step_by(7) {
            let y = soft_clip(x);
            assert!(y >= prev);
            prev = y;
        }
    }
}
