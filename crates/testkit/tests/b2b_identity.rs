//! Scenario S1's caller identity on leg B: leg A's From by default, the settings' From
//! override, and a `P-Asserted-Identity` (RFC 3325 §9.1) that replaces whatever the
//! allow-list copied from leg A.
#![allow(clippy::unwrap_used)]

mod b2b_common;

use b2b_common::{A_OFFER, Callee, setup, setup_with, values};
use tandem_sip_msg::HeaderName;
use tandem_sip_msg::headers::FromHeader;

const CALLER_PAI: &str = "<sip:+15550001111@carrier.example>";
const TANDEM_PAI: &str = "\"Support\" <sip:+15551230000@tandem.example>";

fn from_uri(m: &tandem_sip_msg::Message) -> String {
    let from = m.typed::<FromHeader<'_>>().unwrap().unwrap();
    from.0.uri.to_string()
}

#[test]
fn the_callers_identity_crosses_only_when_allow_listed() {
    let mut t = setup(140, Callee::Rings);
    t.invite_with(
        Some(A_OFFER),
        &[(HeaderName::PAssertedIdentity, CALLER_PAI)],
    );
    t.run(200);
    let (_, b_invite) = t.callee_invite();
    assert!(values(&b_invite, &HeaderName::PAssertedIdentity).is_empty());
    let a_invite = t.first(t.caller, t.tandem, "INVITE");
    assert_eq!(from_uri(&b_invite), from_uri(&a_invite), "caller id kept");

    let mut t = setup_with(141, Callee::Rings, |s| {
        s.pass_through = vec![HeaderName::PAssertedIdentity];
    });
    t.invite_with(
        Some(A_OFFER),
        &[(HeaderName::PAssertedIdentity, CALLER_PAI)],
    );
    t.run(200);
    let (_, b_invite) = t.callee_invite();
    assert_eq!(
        values(&b_invite, &HeaderName::PAssertedIdentity),
        [CALLER_PAI]
    );
}

#[test]
fn the_settings_assert_their_own_identity_and_from() {
    let mut t = setup_with(142, Callee::Rings, |s| {
        s.pass_through = vec![HeaderName::PAssertedIdentity];
        s.asserted_identity = Some(TANDEM_PAI.to_owned());
        s.from = Some("\"Support\" <sip:support@tandem.example>".to_owned());
    });
    t.invite_with(
        Some(A_OFFER),
        &[(HeaderName::PAssertedIdentity, CALLER_PAI)],
    );
    t.run(200);
    let (_, b_invite) = t.callee_invite();
    assert_eq!(
        values(&b_invite, &HeaderName::PAssertedIdentity),
        [TANDEM_PAI],
        "one identity, the settings' one"
    );
    assert_eq!(from_uri(&b_invite), "sip:support@tandem.example");
}
