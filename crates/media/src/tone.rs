//! Call-progress tones (ITU-T E.180 and national variants): ringback, busy, beep.

/// A tone: frequencies summed, and an on/off cadence repeated forever (or played once).
#[derive(Debug, Clone, PartialEq)]
pub struct TonePattern {
    /// Frequencies in Hz, summed.
    pub freqs: Vec<f64>,
    /// Peak amplitude of each frequency.
    pub amplitude: f64,
    /// (on ms, off ms) pairs.
    pub cadence: Vec<(u32, u32)>,
    /// Repeat the cadence, or play it once then stay silent.
    pub repeat: Repeat,
}

/// Whether a cadence repeats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Repeat {
    /// Forever.
    Loop,
    /// Once.
    Once,
}

impl TonePattern {
    /// North American ringback: 440 + 480 Hz, 2 s on, 4 s off.
    pub fn ringback_us() -> Self {
        Self::new(&[440.0, 480.0], &[(2000, 4000)], Repeat::Loop)
    }

    /// UK ringback: 400 + 450 Hz, 0.4 on 0.2 off 0.4 on 2.0 off.
    pub fn ringback_uk() -> Self {
        Self::new(&[400.0, 450.0], &[(400, 200), (400, 2000)], Repeat::Loop)
    }

    /// European (CEPT) ringback: 425 Hz, 1 s on, 4 s off.
    pub fn ringback_eu() -> Self {
        Self::new(&[425.0], &[(1000, 4000)], Repeat::Loop)
    }

    /// North American busy: 480 + 620 Hz, 0.5 s on, 0.5 s off.
    pub fn busy_us() -> Self {
        Self::new(&[480.0, 620.0], &[(500, 500)], Repeat::Loop)
    }

    /// European busy: 425 Hz, 0.5 s on, 0.5 s off.
    pub fn busy_eu() -> Self {
        Self::new(&[425.0], &[(500, 500)], Repeat::Loop)
    }

    /// A beep (recording start, queue position): 1000 Hz for 250 ms, once.
    pub fn beep() -> Self {
        Self::new(&[1000.0], &[(250, 0)], Repeat::Once)
    }

    fn new(freqs: &[f64], cadence: &[(u32, u32)], repeat: Repeat) -> Self {
        Self {
            freqs: freqs.to_vec(),
            // About -13 dBm0 per frequency.
            amplitude: 5000.0,
            cadence: cadence.to_vec(),
            repeat,
        }
    }
}

/// Generates a [`TonePattern`] frame by frame at a given rate, phase-continuous.
#[derive(Debug, Clone)]
pub struct ToneGenerator {
    pattern: TonePattern,
    rate: u32,
    /// Samples generated since the start.
    n: u64,
    period: u64,
}

impl ToneGenerator {
    /// A generator at `rate` Hz.
    pub fn new(pattern: TonePattern, rate: u32) -> Self {
        let period = pattern
            .cadence
            .iter()
            .map(|&(on, off)| u64::from(on + off) * u64::from(rate) / 1000)
            .sum();
        Self {
            pattern,
            rate,
            n: 0,
            period,
        }
    }

    /// Fills the next frame.
    pub fn next_frame(&mut self, frame: &mut [i16]) {
        let rate = f64::from(self.rate);
        for s in frame.iter_mut() {
            *s = if self.is_on(self.n) {
                let t = self.n as f64 / rate;
                let v: f64 = self
                    .pattern
                    .freqs
                    .iter()
                    .map(|f| (2.0 * std::f64::consts::PI * f * t).sin())
                    .sum();
                (v * self.pattern.amplitude).clamp(-32767.0, 32767.0) as i16
            } else {
                0
            };
            self.n += 1;
        }
    }

    fn is_on(&self, n: u64) -> bool {
        if self.period == 0 || (self.pattern.repeat == Repeat::Once && n >= self.period) {
            return false;
        }
        let mut pos = n % self.period;
        for &(on, off) in &self.pattern.cadence {
            let on = u64::from(on) * u64::from(self.rate) / 1000;
            let off = u64::from(off) * u64::from(self.rate) / 1000;
            if pos < on {
                return true;
            }
            if pos < on + off {
                return false;
            }
            pos -= on + off;
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ringback_cadence() {
        let mut g = ToneGenerator::new(TonePattern::ringback_us(), 8000);
        let mut frame = [0i16; 160];
        let mut on = Vec::new();
        for _ in 0..600 {
            g.next_frame(&mut frame);
            on.push(frame.iter().any(|&s| s != 0));
        }
        // 2 s on (100 frames), 4 s off (200 frames), repeating.
        assert!(on[..100].iter().all(|&x| x));
        assert!(on[100..300].iter().all(|&x| !x));
        assert!(on[300..400].iter().all(|&x| x));
    }

    #[test]
    fn beep_once() {
        let mut g = ToneGenerator::new(TonePattern::beep(), 16_000);
        let mut frame = [0i16; 320];
        let mut loud = 0;
        for _ in 0..100 {
            g.next_frame(&mut frame);
            loud += usize::from(frame.iter().any(|&s| s != 0));
        }
        assert_eq!(loud, 13); // 250 ms in 20 ms frames, the last partly
        assert!(TonePattern::busy_eu().cadence == [(500, 500)]);
    }
}
