//! `StreamFramer`: chunking invariance.
//!
//! The same octets pushed in arbitrary chunks (split points from `arbitrary`) or all at once
//! must give the same frames, up to what the framer documents:
//! - a `CRLFCRLF` ping split across reads is seen as two pongs, so frames are compared with
//!   every `Ping` expanded to two `Pong`s; at the end of the input one run may hold back a
//!   `CRLF CR` (waiting for a possible ping) where the other has already reported one more
//!   pong;
//! - framing errors happen at the same point, but a chunked run can see
//!   `HeaderSectionTooLarge` where the whole buffer, which already holds the end of the
//!   header section, reports the Content-Length or size error of that section.
//!
//! Also: every frame consumes the octets it stands for (consumed + buffered = pushed), a
//! `Frame::Message` prints exactly the framed octets and has the Content-Length body, and
//! `next_frame` never loops (bounded iterations, each frame consumes at least 2 octets).
#![no_main]

use arbitrary::{Arbitrary, Unstructured};
use libfuzzer_sys::fuzz_target;
use tandem_sip_msg::{Frame, FrameError, Limits, ParseError, StreamFramer};

#[derive(Debug, Clone, PartialEq, Eq)]
enum F {
    Pong,
    Message(Vec<u8>),
    Malformed(Vec<u8>, ParseError),
}

#[derive(Debug)]
struct Run {
    frames: Vec<F>,
    error: Option<FrameError>,
    /// Octets accounted for by frames.
    consumed: usize,
    buffered: usize,
}

fn drain(f: &mut StreamFramer, run: &mut Run) {
    if run.error.is_some() {
        // A failed framer keeps failing and ignores input.
        assert_eq!(f.next_frame().err(), run.error);
        return;
    }
    // Each frame consumes at least 2 octets: more iterations than that is a loop.
    let bound = f.buffered() / 2 + 2;
    for _ in 0..bound {
        let before = f.buffered();
        match f.next_frame() {
            Ok(None) => {
                assert_eq!(f.buffered(), before, "Ok(None) consumed input");
                return;
            }
            Ok(Some(frame)) => {
                let used = before - f.buffered();
                match frame {
                    Frame::Ping => {
                        assert_eq!(used, 4);
                        run.frames.push(F::Pong);
                        run.frames.push(F::Pong);
                    }
                    Frame::Pong => {
                        assert_eq!(used, 2);
                        run.frames.push(F::Pong);
                    }
                    Frame::Message(m) => {
                        let bytes = m.to_bytes();
                        assert_eq!(bytes.len(), used, "message frame length");
                        run.frames.push(F::Message(bytes.to_vec()));
                    }
                    Frame::Malformed { raw, error } => {
                        assert_eq!(raw.len(), used, "malformed frame length");
                        run.frames.push(F::Malformed(raw.to_vec(), error));
                    }
                }
                assert!(used >= 2, "a frame consumed {used} octets");
                run.consumed += used;
            }
            Err(e) => {
                assert_eq!(f.buffered(), 0, "a failed framer keeps octets");
                assert_eq!(f.next_frame().err(), Some(e.clone()), "error not sticky");
                run.error = Some(e);
                return;
            }
        }
    }
    panic!("next_frame did not settle after {bound} calls");
}

fn run(data: &[u8], cuts: &[usize], limits: Limits) -> Run {
    let mut f = StreamFramer::new(limits);
    let mut r = Run {
        frames: Vec::new(),
        error: None,
        consumed: 0,
        buffered: 0,
    };
    let mut at = 0;
    for &c in cuts.iter().chain(std::iter::once(&data.len())) {
        let c = c.clamp(at, data.len());
        f.push(&data[at..c]);
        at = c;
        drain(&mut f, &mut r);
    }
    r.buffered = f.buffered();
    if r.error.is_none() {
        assert_eq!(
            r.consumed + r.buffered,
            data.len(),
            "octets lost or invented"
        );
    }
    r
}

fn check_frames(data: &[u8], r: &Run) {
    // Frames are the input octets in order: a Message's bytes are exactly its stretch.
    let mut at = 0;
    for f in &r.frames {
        match f {
            F::Pong => {
                assert_eq!(&data[at..at + 2], b"\r\n");
                at += 2;
            }
            F::Message(b) | F::Malformed(b, _) => {
                assert_eq!(&data[at..at + b.len()], &b[..], "frame is not the input");
                at += b.len();
            }
        }
    }
}

fuzz_target!(|input: &[u8]| {
    let mut u = Unstructured::new(input);
    let Ok(size_sel) = u8::arbitrary(&mut u) else {
        return;
    };
    let Ok(mut cuts) = Vec::<u16>::arbitrary(&mut u) else {
        return;
    };
    let data = u.take_rest();
    // Small message-size limits make the size errors reachable with small inputs.
    let max = match size_sel % 4 {
        0 => Limits::default().max_message_size,
        1 => 64,
        2 => 256,
        _ => 32 + usize::from(size_sel),
    };
    let limits = Limits {
        max_message_size: max,
        ..Limits::default()
    };
    cuts.truncate(64);
    let mut cuts: Vec<usize> = cuts
        .into_iter()
        .map(|c| usize::from(c) % (data.len() + 1))
        .collect();
    cuts.sort_unstable();

    let whole = run(data, &[], limits);
    let chunked = run(data, &cuts, limits);
    check_frames(data, &whole);
    check_frames(data, &chunked);

    // Same error, at the same point (HeaderSectionTooLarge may stand in for the others).
    match (&whole.error, &chunked.error) {
        (None, None) => {}
        (Some(a), Some(b)) => assert!(
            a == b || *b == FrameError::HeaderSectionTooLarge,
            "errors differ: whole {a:?}, chunked {b:?}"
        ),
        (a, b) => panic!("errors differ: whole {a:?}, chunked {b:?}"),
    }

    // Same frames up to trailing pongs; the chunked run may have reported one trailing CRLF
    // (a pong) that the whole run still holds back, waiting for a possible ping.
    let strip = |fs: &[F]| -> usize { fs.iter().rposition(|f| *f != F::Pong).map_or(0, |i| i + 1) };
    let (wn, cn) = (strip(&whole.frames), strip(&chunked.frames));
    assert_eq!(
        whole.frames[..wn],
        chunked.frames[..cn],
        "frames differ between whole and chunked"
    );
    let wp = whole.frames.len() - wn;
    let cp = chunked.frames.len() - cn;
    if whole.error.is_none() {
        // Only a pending `CRLF CR` (held back by one run, one pong early in the other) can
        // make them differ; the octets are all accounted for either way.
        assert!(
            wp.abs_diff(cp) <= 1 && 2 * wp + whole.buffered == 2 * cp + chunked.buffered,
            "trailing pongs: whole {wp} (buffered {}), chunked {cp} (buffered {})",
            whole.buffered,
            chunked.buffered
        );
        if wp != cp {
            assert_eq!(
                whole.buffered.max(chunked.buffered),
                3,
                "held back other than CRLF CR"
            );
        }
    } else {
        assert_eq!(wp, cp, "pongs before the error differ");
    }
});
