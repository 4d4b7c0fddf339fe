//! `Message::parse` allocates nothing for a typical INVITE (header spans live inline, the
//! input `Bytes` is kept by reference count).

#![allow(clippy::unwrap_used, reason = "test helpers may unwrap")]
// A counting global allocator needs `unsafe impl GlobalAlloc`; it only forwards to `System`.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use tandem_sip_msg::{Limits, Message};

struct Counting;

static ALLOCS: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::SeqCst);
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::SeqCst);
        unsafe { System.realloc(p, l, n) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const INVITE: &[u8] = b"INVITE sip:bob@biloxi.example.com SIP/2.0\r\n\
Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds;rport\r\n\
Via: SIP/2.0/TCP proxy.example.com;branch=z9hG4bK77ef4c2312983.1;received=192.0.2.101\r\n\
Max-Forwards: 70\r\n\
To: Bob <sip:bob@biloxi.example.com>\r\n\
From: \"Alice\" <sip:alice@atlanta.example.com>;tag=1928301774\r\n\
Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n\
CSeq: 314159 INVITE\r\n\
Contact: <sip:alice@pc33.atlanta.example.com;transport=tcp>\r\n\
Record-Route: <sip:proxy.example.com;lr>\r\n\
Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, PRACK, UPDATE, REFER, NOTIFY\r\n\
Supported: 100rel, timer, replaces\r\n\
Session-Expires: 1800;refresher=uac\r\n\
User-Agent: Tandem-Test/1.0\r\n\
X-Custom: folded\r\n value\r\n\
Content-Type: application/sdp\r\n\
Content-Length: 127\r\n\
\r\n\
v=0\r\n\
o=alice 2890844526 2890844526 IN IP4 pc33.atlanta.example.com\r\n\
s=-\r\n\
c=IN IP4 192.0.2.101\r\n\
t=0 0\r\n\
m=audio 49172 RTP/AVP 0\r\n";

#[test]
fn parse_does_not_allocate() {
    let limits = Limits::default();
    let bytes = Bytes::from(INVITE.to_vec());
    // Promote the Vec-backed Bytes to its shared form outside the measured region.
    let keep = bytes.clone();
    let before = ALLOCS.load(Ordering::SeqCst);
    let msg = Message::parse(bytes, &limits);
    let after = ALLOCS.load(Ordering::SeqCst);
    let msg = msg.unwrap();
    assert_eq!(after - before, 0, "Message::parse allocated");
    assert_eq!(msg.header_count(), 16);
    assert_eq!(msg.body().len(), 127);
    let mut out = Vec::with_capacity(INVITE.len());
    let before = ALLOCS.load(Ordering::SeqCst);
    msg.write_to(&mut out);
    assert_eq!(
        ALLOCS.load(Ordering::SeqCst) - before,
        0,
        "write_to allocated"
    );
    assert_eq!(out, &keep[..]);
    // Static bytes need no promotion at all.
    let before = ALLOCS.load(Ordering::SeqCst);
    let m2 = Message::parse(Bytes::from_static(INVITE), &limits);
    assert_eq!(ALLOCS.load(Ordering::SeqCst) - before, 0);
    assert!(m2.is_ok());
}
