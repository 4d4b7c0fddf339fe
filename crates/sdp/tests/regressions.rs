//! Inputs the fuzzers found (fuzz/regressions/), kept as tests.

use tandem_sdp::{LineFault, SdpError, SessionDescription};

#[test]
fn a_format_with_a_bare_cr_is_rejected() {
    for raw in [
        &include_bytes!("../../../fuzz/regressions/sdp_parse-format-with-bare-cr.sdp")[..],
        &include_bytes!("../../../fuzz/regressions/sdp_parse-format-with-bare-cr-fuzzer.sdp")[..],
    ] {
        match SessionDescription::parse(raw) {
            Err(SdpError::Line {
                fault: LineFault::MediaFormat,
                ..
            }) => {}
            other => panic!("expected a format fault, got {other:?}"),
        }
    }
}
