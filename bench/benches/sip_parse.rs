//! SIP message parsing: Tandem against the other Rust SIP parsers on crates.io, side by side.
//!
//! Three workloads per message (ids `<workload>/<message>/<parser>`):
//! - `parse_serialize`: parse a received datagram, print it into a reused `Vec<u8>`;
//! - `parse`: parse only (the message is dropped inside the timed loop, for every parser);
//! - `parse_typed`: parse, then read top Via branch, From/To tags, CSeq and Call-ID through
//!   each crate's typed header API (a B2BUA's per-message hot path).
//!
//! A parser that rejects a message (or one of those headers) is reported as `rejects` on
//! stderr and not timed. Run and record: see `RESULTS.md`.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

#[path = "../common/parsers.rs"]
mod parsers;

use std::hint::black_box;

use bytes::Bytes;
use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, Throughput, criterion_group, criterion_main};

use parsers::{Ezk, MESSAGES, Rsip, Rvoip, SipParser, Sipx, Tandem, datagram};

#[derive(Clone, Copy)]
enum Workload {
    ParseSerialize,
    Parse,
    ParseTyped,
}

impl Workload {
    const ALL: [Self; 3] = [Self::ParseSerialize, Self::Parse, Self::ParseTyped];

    fn name(self) -> &'static str {
        match self {
            Self::ParseSerialize => "parse_serialize",
            Self::Parse => "parse",
            Self::ParseTyped => "parse_typed",
        }
    }
}

fn add<P: SipParser>(g: &mut BenchmarkGroup<'_, WallTime>, w: Workload, msg: &str, raw: &Bytes) {
    let Some(parsed) = P::parse(raw) else {
        eprintln!("{}/{msg}/{}: rejects (parse error)", w.name(), P::NAME);
        return;
    };
    match w {
        Workload::ParseSerialize => {
            let mut out = Vec::with_capacity(raw.len() * 2);
            P::serialize(&parsed, &mut out);
            assert!(!out.is_empty());
            g.bench_function(P::NAME, |b| {
                b.iter(|| {
                    out.clear();
                    let m = P::parse(black_box(raw)).unwrap();
                    P::serialize(&m, &mut out);
                    black_box(out.len())
                });
            });
        }
        Workload::Parse => {
            g.bench_function(P::NAME, |b| {
                b.iter(|| P::parse(black_box(raw)).is_some());
            });
        }
        Workload::ParseTyped => {
            if P::typed(&parsed).is_none() {
                eprintln!("{}/{msg}/{}: rejects (typed header)", w.name(), P::NAME);
                return;
            }
            g.bench_function(P::NAME, |b| {
                b.iter(|| {
                    let m = P::parse(black_box(raw)).unwrap();
                    P::typed(&m).unwrap()
                });
            });
        }
    }
}

fn sip_parse(c: &mut Criterion) {
    for w in Workload::ALL {
        for (msg, octets) in MESSAGES {
            let raw = datagram(octets);
            let mut g = c.benchmark_group(format!("{}/{msg}", w.name()));
            g.throughput(Throughput::Bytes(raw.len() as u64));
            add::<Tandem>(&mut g, w, msg, &raw);
            add::<Sipx>(&mut g, w, msg, &raw);
            add::<Rsip>(&mut g, w, msg, &raw);
            add::<Ezk>(&mut g, w, msg, &raw);
            add::<Rvoip>(&mut g, w, msg, &raw);
            g.finish();
        }
    }
}

criterion_group!(benches, sip_parse);
criterion_main!(benches);
