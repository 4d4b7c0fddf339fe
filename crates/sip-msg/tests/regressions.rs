//! Inputs the fuzzers found (fuzz/regressions/), kept as tests so `cargo test` guards them.

use bytes::Bytes;
use tandem_sip_msg::{
    HeaderName, Limits, Message, ParseError, Verdict, check_datagram, error_response,
};

#[test]
fn unterminated_last_line_is_rejected_so_an_edit_cannot_glue_onto_it() {
    for raw in [
        &include_bytes!(
            "../../../fuzz/regressions/sip_msg_parse-push_header-unterminated-last-line.sip"
        )[..],
        &include_bytes!(
            "../../../fuzz/regressions/sip_msg_parse-push_header-unterminated-start-line.sip"
        )[..],
    ] {
        let err = Message::parse(Bytes::copy_from_slice(raw), &Limits::default()).unwrap_err();
        assert_eq!(err, ParseError::UnterminatedLine);
    }
    // A terminated last line without the empty line is still accepted (RFC 4475 baddn.dat
    // shape), and an edit appends a well-formed field.
    let mut m = Message::parse(
        Bytes::from_static(b"OPTIONS sip:a@b SIP/2.0\r\nCall-ID: c\r\n"),
        &Limits::default(),
    )
    .unwrap();
    m.push_header(&HeaderName::new("X-New"), "1").unwrap();
    let printed = m.to_bytes();
    assert!(
        printed.starts_with(b"OPTIONS sip:a@b SIP/2.0\r\nCall-ID: c\r\nX-New: 1\r\n"),
        "{printed:?}"
    );
    Message::parse(printed, &Limits::default()).unwrap();
}

#[test]
fn error_response_to_a_request_with_a_cr_in_a_header_name_parses() {
    let raw =
        include_bytes!("../../../fuzz/regressions/sip_msg_parse-error_response-unparseable.sip");
    let Verdict::Reject { status, reason } =
        check_datagram(Bytes::from_static(raw), &Limits::default())
    else {
        panic!("the request is malformed")
    };
    let response = error_response(raw, status, &reason, "t1").unwrap();
    let parsed = Message::parse(response, &Limits::default()).unwrap();
    assert_eq!(parsed.status(), Some(status));
}

#[test]
fn encoded_len_is_the_printed_length() {
    let raw = b"OPTIONS sip:a@b SIP/2.0\r\nCall-ID: c\r\nContent-Length: 5\r\n\r\nhello";
    let mut m = Message::parse(Bytes::from_static(raw), &Limits::default()).unwrap();
    assert_eq!(m.encoded_len(), raw.len());
    m.push_header(&HeaderName::new("X-New"), "1").unwrap();
    assert_eq!(m.encoded_len(), m.to_bytes().len());
    let mut bare = Message::parse(
        Bytes::from_static(b"OPTIONS sip:a@b SIP/2.0\r\nCall-ID: c\r\n"),
        &Limits::default(),
    )
    .unwrap();
    bare.push_header(&HeaderName::new("X-New"), "1").unwrap();
    assert_eq!(bare.encoded_len(), bare.to_bytes().len());
}
