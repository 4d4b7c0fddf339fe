//! Heap allocations per message, counted with a counting global allocator.
//!
//! Asserts that Tandem parses each benchmark message (headers not yet inspected) and prints it
//! into a reused buffer with zero allocations, and prints the counts of every parser:
//! `cargo test -p tandem-bench --test alloc -- --nocapture`.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]
// A counting global allocator needs `unsafe impl GlobalAlloc`; it only forwards to `System`.
#![allow(unsafe_code)]

#[path = "../common/parsers.rs"]
mod parsers;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use bytes::Bytes;

use parsers::{Ezk, MESSAGES, Rsip, Rvoip, SipParser, Sipx, Tandem, datagram};

struct Counting;

thread_local! {
    // Per thread, so the test harness's other threads do not disturb the count.
    static ALLOCS: Cell<usize> = const { Cell::new(0) };
}

fn bump() {
    // `try_with`: the slot may be gone while the thread is being torn down.
    let _ = ALLOCS.try_with(|c| c.set(c.get() + 1));
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        bump();
        unsafe { System.alloc(l) }
    }
    unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 {
        bump();
        unsafe { System.alloc_zeroed(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        bump();
        unsafe { System.realloc(p, l, n) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Allocations (alloc + realloc calls) made by `f` on this thread.
fn count<T>(f: impl FnOnce() -> T) -> (usize, T) {
    let before = ALLOCS.with(Cell::get);
    let r = f();
    (ALLOCS.with(Cell::get) - before, r)
}

/// Allocation counts for one parser and message: parse, parse + serialise into a reused
/// buffer, parse + typed reads. `None` where the parser rejects the message or a header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Counts {
    parse: Option<usize>,
    serialize: Option<usize>,
    typed: Option<usize>,
}

fn counts<P: SipParser>(raw: &Bytes) -> Counts {
    // One untimed round first: lazily initialised tables of a crate are not per message.
    let Some(first) = P::parse(raw) else {
        return Counts {
            parse: None,
            serialize: None,
            typed: None,
        };
    };
    let typed_ok = P::typed(&first).is_some();
    let mut out = Vec::with_capacity(raw.len() * 4);
    P::serialize(&first, &mut out);
    drop(first);

    let (parse, m) = count(|| P::parse(raw));
    drop(m);
    out.clear();
    let (serialize, _) = count(|| {
        let m = P::parse(raw).unwrap();
        P::serialize(&m, &mut out);
    });
    let typed = typed_ok.then(|| count(|| P::typed(&P::parse(raw).unwrap())).0);
    Counts {
        parse: Some(parse),
        serialize: Some(serialize),
        typed,
    }
}

fn cell(n: Option<usize>) -> String {
    n.map_or_else(|| "rejects".to_owned(), |n| n.to_string())
}

fn report<P: SipParser>(rows: &mut Vec<(&'static str, &'static str, Counts)>) {
    for (msg, octets) in MESSAGES {
        let raw = datagram(octets);
        rows.push((P::NAME, msg, counts::<P>(&raw)));
    }
}

#[test]
fn allocations_per_message() {
    let mut rows = Vec::new();
    report::<Tandem>(&mut rows);
    report::<Sipx>(&mut rows);
    report::<Rsip>(&mut rows);
    report::<Ezk>(&mut rows);
    report::<Rvoip>(&mut rows);

    println!("| parser | message | parse | parse + serialize | parse + typed |");
    println!("|---|---|---:|---:|---:|");
    for (p, m, c) in &rows {
        println!(
            "| {p} | {m} | {} | {} | {} |",
            cell(c.parse),
            cell(c.serialize),
            cell(c.typed)
        );
    }

    for (p, m, c) in &rows {
        if *p == Tandem::NAME {
            assert_eq!(c.parse, Some(0), "tandem parse of {m} allocated");
            assert_eq!(
                c.serialize,
                Some(0),
                "tandem parse + write_to of {m} allocated"
            );
            assert!(c.typed.is_some(), "tandem typed reads of {m} failed");
        }
    }
}

#[test]
fn tandem_round_trips_every_message() {
    for (msg, octets) in MESSAGES {
        let raw = datagram(octets);
        let m = Tandem::parse(&raw).unwrap();
        let mut out = Vec::new();
        Tandem::serialize(&m, &mut out);
        assert_eq!(out, octets, "{msg}");
    }
}

/// `Bytes::from_static` input, as the sip-msg crate's own test uses: also allocation-free.
#[test]
fn static_input_does_not_allocate() {
    for (msg, octets) in MESSAGES {
        let raw = Bytes::from_static(octets);
        let (n, m) = count(|| Tandem::parse(&raw));
        assert!(m.is_some(), "{msg}");
        assert_eq!(n, 0, "{msg}");
    }
}

/// Sanity check of the adapters: what each parser prints, it parses again, and the typed
/// reads agree with Tandem's where both succeed.
#[test]
fn adapters_are_sane() {
    fn check<P: SipParser>(expected: &[Option<usize>]) {
        for ((msg, octets), want) in MESSAGES.into_iter().zip(expected) {
            let raw = datagram(octets);
            let Some(m) = P::parse(&raw) else { continue };
            let mut out = Vec::new();
            P::serialize(&m, &mut out);
            let again = P::parse(&Bytes::from(out));
            assert!(again.is_some(), "{} reparse of {msg}", P::NAME);
            if let (Some(got), Some(want)) = (P::typed(&m), want) {
                assert_eq!(got, *want, "{} typed checksum of {msg}", P::NAME);
            }
        }
    }
    let expected: Vec<Option<usize>> = MESSAGES
        .iter()
        .map(|(_, o)| Tandem::typed(&Tandem::parse(&datagram(o)).unwrap()))
        .collect();
    check::<Tandem>(&expected);
    check::<Sipx>(&expected);
    check::<Rsip>(&expected);
    check::<Ezk>(&expected);
    check::<Rvoip>(&expected);
}
