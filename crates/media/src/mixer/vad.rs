//! Energy-based talker detection with hangover.

/// Thresholds of the talker detector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VadConfig {
    /// Mean-square level (16-bit scale) above which a frame is speech. The default 10,000
    /// is about -40 dBFS.
    pub threshold: i64,
    /// Frames a talker stays active after the last loud frame (hangover).
    pub hangover_frames: u32,
}

impl Default for VadConfig {
    fn default() -> Self {
        Self {
            threshold: 10_000,
            hangover_frames: 10,
        }
    }
}

/// Whether a participant is talking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Talk {
    /// Loud frames within the hangover.
    Talking,
    /// Quiet.
    Silent,
}

/// Per-participant detector state.
#[derive(Debug, Clone)]
pub struct Vad {
    config: VadConfig,
    remaining: u32,
}

impl Vad {
    /// A silent detector.
    pub fn new(config: VadConfig) -> Self {
        Self {
            config,
            remaining: 0,
        }
    }

    /// Feeds one frame, returning the new state.
    pub fn process(&mut self, frame: &[i16]) -> Talk {
        if frame.is_empty() {
            return self.state();
        }
        let energy: i64 = frame.iter().map(|&s| i64::from(s) * i64::from(s)).sum();
        if energy / frame.len() as i64 >= self.config.threshold {
            self.remaining = self.config.hangover_frames + 1;
        } else {
            self.remaining = self.remaining.saturating_sub(1);
        }
        self.state()
    }

    /// Current state.
    pub fn state(&self) -> Talk {
        if self.remaining > 0 {
            Talk::Talking
        } else {
            Talk::Silent
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hangover() {
        let mut v = Vad::new(VadConfig {
            threshold: 10_000,
            hangover_frames: 2,
        });
        assert_eq!(v.process(&[10; 160]), Talk::Silent);
        assert_eq!(v.process(&[1000; 160]), Talk::Talking);
        assert_eq!(v.process(&[0; 160]), Talk::Talking);
        assert_eq!(v.process(&[0; 160]), Talk::Talking);
        assert_eq!(v.process(&[0; 160]), Talk::Silent);
    }
}
