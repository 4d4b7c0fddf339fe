//! `Uri::parse` on arbitrary text.
//!
//! Invariants: a parsed URI prints to text that parses again and is `equivalent` to the
//! first (RFC 3261 §19.1.4 / RFC 3966 §4 comparison); printing is a fixed point after one
//! round (print(parse(print(u))) == print(u)); `equivalent` is reflexive and symmetric on
//! the pair.
#![no_main]

use std::hint::black_box;

use libfuzzer_sys::fuzz_target;
use tandem_sip_msg::{Host, Uri};

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(u) = Uri::parse(s) else {
        return;
    };
    assert!(u.equivalent(&u), "equivalent is not reflexive: {u:?}");
    black_box(u.scheme());
    if let Some(sip) = u.as_sip() {
        black_box((
            sip.user_unescaped(),
            sip.is_loose_route(),
            sip.param("transport"),
            sip.host.ip(),
        ));
        // A host prints to text that parses to an equivalent host.
        let h = sip.host.to_string();
        let h2 = Host::parse(&h).unwrap_or_else(|e| panic!("host {h:?} does not re-parse: {e}"));
        assert!(sip.host.equivalent(&h2), "host {h:?} re-parses differently");
    }

    let printed = u.to_string();
    let u2 = Uri::parse(&printed)
        .unwrap_or_else(|e| panic!("{s:?} printed as {printed:?}, which does not parse: {e}"));
    assert!(
        u.equivalent(&u2),
        "{s:?} printed as {printed:?}, which is not equivalent: {u:?} vs {u2:?}"
    );
    assert!(
        u2.equivalent(&u),
        "equivalent is not symmetric: {u:?} vs {u2:?}"
    );
    assert_eq!(u2.to_string(), printed, "printing is not stable");
    assert_eq!(u.scheme(), u2.scheme());
});
