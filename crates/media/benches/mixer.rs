//! Codec throughput per 20 ms frame and mixer tick cost for rooms of 5 G.711 participants.
//!
//! "Participants per core in real time" = 20 ms / (time per tick / participants).

#![allow(missing_docs, clippy::unwrap_used)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use tandem_media::codec::CodecKind;
use tandem_media::codec::g711::ulaw_encode;
use tandem_media::mixer::{Mixer, ParticipantConfig, RoomConfig};

fn signal(len: usize) -> Vec<i16> {
    (0..len)
        .map(|i| ((i * 37 % 200) as i16 - 100) * 80)
        .collect()
}

fn codecs(c: &mut Criterion) {
    for kind in [CodecKind::Pcmu, CodecKind::Pcma, CodecKind::G722] {
        let pcm = signal(kind.samples_per(20));
        let mut enc = kind.encoder().unwrap();
        let mut dec = kind.decoder().unwrap();
        let mut bytes = Vec::new();
        c.bench_function(&format!("encode_20ms/{}", kind.encoding_name()), |b| {
            b.iter(|| {
                bytes.clear();
                enc.encode(black_box(&pcm), &mut bytes).unwrap();
            })
        });
        let mut out = Vec::new();
        c.bench_function(&format!("decode_20ms/{}", kind.encoding_name()), |b| {
            b.iter(|| {
                out.clear();
                dec.decode(black_box(&bytes), &mut out).unwrap();
            })
        });
    }
}

fn mixer(c: &mut Criterion) {
    const ROOMS: usize = 20;
    const PER_ROOM: usize = 5;
    let mut mixer = Mixer::new();
    let mut parts = Vec::new();
    for r in 0..ROOMS {
        let room = mixer.add_room(RoomConfig::new(8000)).unwrap();
        for p in 0..PER_ROOM {
            let id = mixer
                .room_mut(room)
                .unwrap()
                .add(ParticipantConfig::new(
                    CodecKind::Pcmu,
                    (r * PER_ROOM + p) as u64,
                ))
                .unwrap();
            parts.push((room, id));
        }
    }
    let payload: Vec<u8> = signal(160).into_iter().map(ulaw_encode).collect();
    let t0 = Instant::now();
    let mut tick = 0u64;
    let mut group = c.benchmark_group("mixer");
    group.bench_function("tick_20_rooms_of_5_pcmu", |b| {
        b.iter(|| {
            let now = t0 + Duration::from_millis(20 * tick);
            // Two of five participants talk in every room.
            for (i, &(room, id)) in parts.iter().enumerate() {
                if i % PER_ROOM < 2 {
                    mixer
                        .room_mut(room)
                        .unwrap()
                        .push_rtp(id, now, tick, tick * 160, &payload)
                        .unwrap();
                }
            }
            mixer.tick(now).unwrap();
            while let Some(out) = mixer.poll_output() {
                black_box(out);
            }
            tick += 1;
        })
    });
    group.finish();
}

criterion_group!(benches, codecs, mixer);
criterion_main!(benches);
