//! DTMF tone generation (ITU-T Q.23 frequencies).

use super::frequencies;
use super::rfc4733::DtmfError;

/// Timing and level of generated DTMF.
#[derive(Debug, Clone, PartialEq)]
pub struct DtmfToneConfig {
    /// Sample rate in Hz.
    pub rate: u32,
    /// Tone duration per digit in ms.
    pub tone_ms: u32,
    /// Silence after each digit in ms.
    pub gap_ms: u32,
    /// Peak amplitude of each of the two tones (16-bit scale). The default 7000 is about
    /// -10 dBm0 per tone on the G.711 scale, the usual send level.
    pub amplitude: f64,
}

impl Default for DtmfToneConfig {
    fn default() -> Self {
        Self {
            rate: 8000,
            tone_ms: 80,
            gap_ms: 80,
            amplitude: 7000.0,
        }
    }
}

/// One digit's tone (without gap).
pub fn generate_tone(digit: char, config: &DtmfToneConfig) -> Result<Vec<i16>, DtmfError> {
    let (f1, f2) = frequencies(digit).ok_or(DtmfError::NotADigit(digit))?;
    let n = (config.rate / 1000 * config.tone_ms) as usize;
    let w = 2.0 * std::f64::consts::PI / f64::from(config.rate);
    Ok((0..n)
        .map(|i| {
            let i = i as f64;
            (config.amplitude * ((w * f1 * i).sin() + (w * f2 * i).sin())) as i16
        })
        .collect())
}

/// A digit string as tones separated by gaps.
pub fn generate_digits(digits: &str, config: &DtmfToneConfig) -> Result<Vec<i16>, DtmfError> {
    let gap = (config.rate / 1000 * config.gap_ms) as usize;
    let mut out = Vec::new();
    for d in digits.chars() {
        out.extend(generate_tone(d, config)?);
        out.extend(std::iter::repeat_n(0, gap));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_and_levels() {
        let c = DtmfToneConfig::default();
        let t = generate_tone('1', &c).unwrap();
        assert_eq!(t.len(), 640);
        assert!(t.iter().all(|s| s.unsigned_abs() <= 14_000));
        assert_eq!(generate_digits("12", &c).unwrap().len(), 4 * 640);
        assert_eq!(generate_tone('x', &c), Err(DtmfError::NotADigit('x')));
    }
}
