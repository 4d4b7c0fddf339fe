#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use proptest::prelude::*;

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn t(ms: i64) -> Timestamp {
    Timestamp::from_unix_ms(ms)
}

fn leg_a(at: i64) -> CdrLeg {
    CdrLeg {
        sip_call_id: Some("a-call-id@192.0.2.1".into()),
        from_uri: Some("sip:alice@example.com".into()),
        to_uri: Some("sip:bob@example.com".into()),
        remote_addr: Some("192.0.2.1:5060".into()),
        transport: Some("UDP".into()),
        started_at: Some(t(at)),
        ..CdrLeg::new(LegName::A)
    }
}

fn start(key: &str, at: i64) -> CallStart {
    CallStart {
        key: key.into(),
        kind: CallKind::B2b,
        started_at: t(at),
        legs: vec![leg_a(at)],
    }
}

fn end(key: &str, at: i64) -> CallEnd {
    CallEnd {
        key: key.into(),
        kind: CallKind::B2b,
        started_at: t(at + 3),
        answered_at: Some(t(at + 100)),
        ended_at: t(at + 5_000),
        cause: "callee_hangup".into(),
        cause_detail: None,
        final_status: Some(200),
        legs: vec![
            CdrLeg {
                // The end record knows less about leg A than the start did.
                sip_call_id: None,
                answered_at: Some(t(at + 100)),
                ended_at: Some(t(at + 5_000)),
                final_status: Some(200),
                ended_by: Some(EndedBy::Local),
                started_at: Some(t(at + 3)),
                ..CdrLeg::new(LegName::A)
            },
            CdrLeg {
                leg: LegName::B,
                sip_call_id: Some("b-call-id@tandem".into()),
                from_uri: Some("sip:alice@example.com".into()),
                to_uri: Some("sip:bob@198.51.100.7".into()),
                remote_addr: Some("198.51.100.7:5080".into()),
                transport: Some("UDP".into()),
                started_at: Some(t(at + 2)),
                answered_at: Some(t(at + 99)),
                ended_at: Some(t(at + 5_000)),
                final_status: Some(200),
                ended_by: Some(EndedBy::Remote),
            },
        ],
    }
}

#[test]
fn a_started_call_is_a_half_row_until_it_ends() {
    let dir = tempfile::tempdir().unwrap();
    rt().block_on(async {
        let store = Store::open(dir.path()).await.unwrap();
        assert_eq!(store.path(), dir.path().join(DB_FILE));
        store.call_started(&start("k1", 1_000)).await.unwrap();
        let calls = store.calls(&CallQuery::default()).await.unwrap();
        assert_eq!(calls.len(), 1);
        let c = &calls[0];
        assert_eq!(
            (c.state, c.ended_at, c.cause.as_deref()),
            (CdrState::Started, None, None)
        );
        assert_eq!(c.legs, vec![leg_a(1_000)]);

        store.call_answered("k1", t(1_100)).await.unwrap();
        let c = store.call(c.id).await.unwrap().unwrap();
        assert_eq!(
            (c.state, c.answered_at),
            (CdrState::Answered, Some(t(1_100)))
        );

        let id = store.call_ended(&end("k1", 1_000)).await.unwrap();
        assert_eq!(id, c.id, "the end updates the start's row");
        let c = store.call(id).await.unwrap().unwrap();
        assert_eq!(c.state, CdrState::Ended);
        assert_eq!(c.started_at, t(1_000), "the start record's time is kept");
        assert_eq!(c.answered_at, Some(t(1_100)));
        assert_eq!(c.ended_at, Some(t(6_000)));
        assert_eq!(c.cause.as_deref(), Some("callee_hangup"));
        assert_eq!(c.final_status, Some(200));
        assert_eq!(c.legs.len(), 2);
        let a = &c.legs[0];
        assert_eq!(a.leg, LegName::A);
        assert_eq!(
            a.sip_call_id.as_deref(),
            Some("a-call-id@192.0.2.1"),
            "a NULL in the end record keeps the start's value"
        );
        assert_eq!(a.started_at, Some(t(1_000)), "the first leg start wins");
        assert_eq!(
            (a.final_status, a.ended_by),
            (Some(200), Some(EndedBy::Local))
        );
        assert_eq!(c.legs[1], end("k1", 1_000).legs[1]);
        for call_id in ["a-call-id@192.0.2.1", "b-call-id@tandem"] {
            let by = store.call_by_sip_call_id(call_id).await.unwrap();
            assert_eq!(by.map(|c| c.id), Some(id), "{call_id}");
        }
        assert_eq!(store.call_by_sip_call_id("nope").await.unwrap(), None);
        store.close().await;
    });
}

#[test]
fn an_end_without_a_start_is_a_whole_row_and_repeats_are_harmless() {
    let dir = tempfile::tempdir().unwrap();
    rt().block_on(async {
        let store = Store::open(dir.path()).await.unwrap();
        let id = store.call_ended(&end("lonely", 0)).await.unwrap();
        assert_eq!(store.call_ended(&end("lonely", 0)).await.unwrap(), id);
        store.call_started(&start("lonely", 0)).await.unwrap();
        store.call_answered("lonely", t(7)).await.unwrap();
        store.call_answered("nobody", t(7)).await.unwrap();
        let calls = store.calls(&CallQuery::default()).await.unwrap();
        assert_eq!(calls.len(), 1);
        let c = &calls[0];
        assert_eq!(
            c.state,
            CdrState::Ended,
            "a late start or answer does not reopen it"
        );
        assert_eq!(c.started_at, t(3));
        assert_eq!(c.answered_at, Some(t(100)));
        assert_eq!(c.legs.len(), 2);
        assert_eq!(store.call(id + 1).await.unwrap(), None);
    });
}

#[test]
fn calls_are_listed_newest_first_with_paging_and_since() {
    let dir = tempfile::tempdir().unwrap();
    rt().block_on(async {
        let store = Store::open(dir.path()).await.unwrap();
        // Start times out of insertion order, and two calls in the same millisecond.
        for (key, at) in [
            ("c2", 2_000),
            ("c0", 0),
            ("c3", 3_000),
            ("c1", 1_000),
            ("c1b", 1_000),
        ] {
            store.call_started(&start(key, at)).await.unwrap();
            if key != "c3" {
                store.call_ended(&end(key, at)).await.unwrap();
            }
        }
        let keys = |calls: Vec<CdrCall>| calls.into_iter().map(|c| c.key).collect::<Vec<_>>();
        let mut ids: Vec<i64> = store
            .calls(&CallQuery::default())
            .await
            .unwrap()
            .iter()
            .map(|c| c.id)
            .collect();
        ids.sort_unstable();
        assert_eq!(
            ids,
            [1, 2, 3, 4, 5],
            "ids without gaps: they are what operators type"
        );
        let all = store.calls(&CallQuery::default()).await.unwrap();
        assert!(all.iter().all(|c| !c.legs.is_empty()));
        assert_eq!(keys(all), ["c3", "c2", "c1b", "c1", "c0"]);
        let page = CallQuery {
            limit: 2,
            offset: 1,
            since: None,
        };
        let page = store.calls(&page).await.unwrap();
        assert_eq!(
            page.iter().map(|c| c.legs.len()).collect::<Vec<_>>(),
            [2, 2]
        );
        assert_eq!(keys(page), ["c2", "c1b"]);
        let since = CallQuery {
            since: Some(t(1_000)),
            ..CallQuery::default()
        };
        assert_eq!(
            keys(store.calls(&since).await.unwrap()),
            ["c3", "c2", "c1b", "c1"]
        );
        let none = CallQuery {
            offset: 10,
            ..CallQuery::default()
        };
        assert!(store.calls(&none).await.unwrap().is_empty());
    });
}

#[test]
fn a_reopened_database_keeps_its_rows_and_migrations_run_twice_harmlessly() {
    let dir = tempfile::tempdir().unwrap();
    let rt = rt();
    let id = rt.block_on(async {
        let store = Store::open(dir.path()).await.unwrap();
        store.call_started(&start("open", 10)).await.unwrap();
        let id = store.call_ended(&end("done", 20)).await.unwrap();
        // The migrator again on a current schema: nothing to do, no error.
        MIGRATOR.run(&store.pool).await.unwrap();
        // No close(): the next open must cope with a WAL that was never checkpointed.
        id
    });
    rt.block_on(async {
        let store = Store::open(dir.path()).await.unwrap();
        let calls = store.calls(&CallQuery::default()).await.unwrap();
        assert_eq!(calls.len(), 2);
        let done = store.call(id).await.unwrap().unwrap();
        assert_eq!((done.key.as_str(), done.legs.len()), ("done", 2));
        let open = calls.iter().find(|c| c.key == "open").unwrap();
        assert_eq!((open.state, open.ended_at), (CdrState::Started, None));
        let applied: i64 = sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations")
            .fetch_one(&store.pool)
            .await
            .unwrap();
        assert_eq!(applied, 2, "every migration once");
        let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
            .fetch_one(&store.pool)
            .await
            .unwrap();
        assert_eq!(mode, "wal");
    });
}

#[test]
fn a_missing_folder_is_an_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no/such/folder");
    let err = rt().block_on(Store::open(&missing)).unwrap_err();
    assert!(matches!(err, StoreError::Open { .. }), "{err:?}");
    assert!(
        err.to_string().contains("no/such/folder/tandem.db"),
        "{err}"
    );
}

#[test]
fn unknown_text_in_a_column_is_reported_not_guessed() {
    let dir = tempfile::tempdir().unwrap();
    rt().block_on(async {
        let store = Store::open(dir.path()).await.unwrap();
        let id = store.call_ended(&end("x", 0)).await.unwrap();
        sqlx::query("UPDATE calls SET kind = 'fax' WHERE id = ?1")
            .bind(id)
            .execute(&store.pool)
            .await
            .unwrap();
        let err = store.call(id).await.unwrap_err();
        assert!(
            matches!(&err, StoreError::Corrupt { column: "kind", value } if value == "fax"),
            "{err:?}"
        );
        sqlx::query("UPDATE calls SET kind = 'b2b', final_status = 70000 WHERE id = ?1")
            .bind(id)
            .execute(&store.pool)
            .await
            .unwrap();
        let err = store.call(id).await.unwrap_err();
        assert!(
            matches!(
                &err,
                StoreError::Corrupt {
                    column: "final_status",
                    ..
                }
            ),
            "{err:?}"
        );
    });
}

/// Not a check: `cargo test -p tandem-store -- --ignored --nocapture` prints how many calls
/// a second one writer records (a start and an end of two legs, each its own transaction).
#[test]
#[ignore]
fn write_rate() {
    let dir = tempfile::tempdir().unwrap();
    rt().block_on(async {
        let store = Store::open(dir.path()).await.unwrap();
        let n = 2_000;
        let started = std::time::Instant::now();
        for i in 0..n {
            let key = format!("k{i}");
            store.call_started(&start(&key, i)).await.unwrap();
            store.call_ended(&end(&key, i)).await.unwrap();
        }
        let elapsed = started.elapsed();
        eprintln!(
            "{n} calls (start + end) in {elapsed:?}: {:.0} calls/s, {:.0} µs per transaction",
            f64::from(n as u32) / elapsed.as_secs_f64(),
            elapsed.as_secs_f64() * 1e6 / f64::from(2 * n as u32)
        );
        // The same records committed 16 calls at a time, as a writer that fell behind does.
        let started = std::time::Instant::now();
        for chunk in 0..n / 16 {
            let mut batch = Vec::new();
            for i in chunk * 16..(chunk + 1) * 16 {
                let key = format!("g{i}");
                batch.push(CdrWrite::Started(start(&key, i)));
                batch.push(CdrWrite::Answered {
                    key: key.clone(),
                    at: t(i + 1),
                });
                batch.push(CdrWrite::Ended(end(&key, i)));
            }
            store.write(&batch).await.unwrap();
        }
        let elapsed = started.elapsed();
        eprintln!(
            "{n} calls (start + answer + end) 16 a commit in {elapsed:?}: {:.0} calls/s",
            f64::from(n as u32) / elapsed.as_secs_f64(),
        );
    });
}

fn opt<T: std::fmt::Debug>(s: impl Strategy<Value = T>) -> impl Strategy<Value = Option<T>> {
    proptest::option::of(s)
}

fn any_leg(leg: LegName) -> impl Strategy<Value = CdrLeg> {
    let text = || opt(".{0,40}");
    let time = || opt(any::<i64>().prop_map(Timestamp::from_unix_ms));
    let ended_by = prop_oneof![
        Just(EndedBy::Local),
        Just(EndedBy::Remote),
        Just(EndedBy::Lost)
    ];
    (
        (text(), text(), text(), text(), text()),
        (time(), time(), time(), opt(any::<u16>()), opt(ended_by)),
    )
        .prop_map(
            move |((sip_call_id, from_uri, to_uri, remote_addr, transport), times)| {
                let (started_at, answered_at, ended_at, final_status, ended_by) = times;
                CdrLeg {
                    leg,
                    sip_call_id,
                    from_uri,
                    to_uri,
                    remote_addr,
                    transport,
                    started_at,
                    answered_at,
                    ended_at,
                    final_status,
                    ended_by,
                }
            },
        )
}

fn any_end() -> impl Strategy<Value = CallEnd> {
    let kind = prop_oneof![
        Just(CallKind::B2b),
        Just(CallKind::Originate),
        Just(CallKind::Conference)
    ];
    (
        kind,
        any::<i64>(),
        opt(any::<i64>()),
        any::<i64>(),
        ".{0,20}",
        opt(".{0,60}"),
        opt(any::<u16>()),
        any_leg(LegName::A),
        opt(any_leg(LegName::B)),
    )
        .prop_map(
            |(kind, started, answered, ended, cause, detail, status, a, b)| CallEnd {
                key: String::new(),
                kind,
                started_at: t(started),
                answered_at: answered.map(t),
                ended_at: t(ended),
                cause,
                cause_detail: detail,
                final_status: status,
                legs: std::iter::once(a).chain(b).collect(),
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Whatever a record holds (any text, any instant, any status, absent values) reads back
    /// as written: the row conversion loses nothing and invents nothing.
    #[test]
    fn an_ended_call_reads_back_as_written(ends in proptest::collection::vec(any_end(), 1..4)) {
        let dir = tempfile::tempdir().unwrap();
        rt().block_on(async {
            let store = Store::open(dir.path()).await.unwrap();
            for (i, mut end) in ends.into_iter().enumerate() {
                end.key = format!("k{i}");
                let id = store.call_ended(&end).await.unwrap();
                let got = store.call(id).await.unwrap().unwrap();
                let want = CdrCall {
                    id,
                    key: end.key.clone(),
                    kind: end.kind,
                    state: CdrState::Ended,
                    started_at: end.started_at,
                    answered_at: end.answered_at,
                    ended_at: Some(end.ended_at),
                    cause: Some(end.cause.clone()),
                    cause_detail: end.cause_detail.clone(),
                    final_status: end.final_status,
                    legs: end.legs.clone(),
                };
                assert_eq!(got, want);
            }
        });
    }
}

#[test]
fn a_batch_is_written_in_order_all_or_none() {
    let dir = tempfile::tempdir().unwrap();
    rt().block_on(async {
        let store = Store::open(dir.path()).await.unwrap();
        store
            .write(&[
                CdrWrite::Started(start("one", 0)),
                CdrWrite::Answered {
                    key: "one".into(),
                    at: t(50),
                },
                CdrWrite::Started(start("two", 10)),
                CdrWrite::Ended(end("one", 0)),
            ])
            .await
            .unwrap();
        let calls = store.calls(&CallQuery::default()).await.unwrap();
        let states: Vec<_> = calls.iter().map(|c| (c.key.as_str(), c.state)).collect();
        assert_eq!(
            states,
            [("two", CdrState::Started), ("one", CdrState::Ended)]
        );
        assert_eq!(
            calls[1].answered_at,
            Some(t(100)),
            "the end record's answer wins"
        );
        // A leg the database refuses fails the whole batch: nothing of it is kept.
        sqlx::query(
            "CREATE TRIGGER no_b BEFORE INSERT ON legs WHEN NEW.leg = 'b'
             BEGIN SELECT RAISE(ABORT, 'refused'); END",
        )
        .execute(&store.pool)
        .await
        .unwrap();
        let err = store
            .write(&[
                CdrWrite::Started(start("three", 20)),
                CdrWrite::Ended(end("two", 10)),
            ])
            .await
            .unwrap_err();
        assert!(err.to_string().contains("refused"), "{err}");
        let calls = store.calls(&CallQuery::default()).await.unwrap();
        let states: Vec<_> = calls.iter().map(|c| (c.key.as_str(), c.state)).collect();
        assert_eq!(
            states,
            [("two", CdrState::Started), ("one", CdrState::Ended)]
        );
    });
}

/// The blocking writer writes what the async one does: the same batches on two databases
/// read back identically, a refused batch leaves nothing, and repeats are harmless.
#[test]
fn the_blocking_writer_writes_the_same_rows_all_or_none() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let batches = [
        vec![
            CdrWrite::Started(start("one", 0)),
            CdrWrite::Answered {
                key: "one".into(),
                at: t(50),
            },
            CdrWrite::Started(start("two", 10)),
        ],
        vec![CdrWrite::Ended(end("one", 0))],
        // An end with no start, then a start after its end and a repeated end.
        vec![CdrWrite::Ended(end("three", 20))],
        vec![
            CdrWrite::Started(start("three", 20)),
            CdrWrite::Ended(end("three", 20)),
        ],
    ];
    rt().block_on(async {
        let store_a = Store::open(a.path()).await.unwrap();
        let store_b = Store::open(b.path()).await.unwrap();
        let mut sync = SyncWriter::open(store_b.path()).unwrap();
        for batch in &batches {
            store_a.write(batch).await.unwrap();
            sync.write(batch).unwrap();
        }
        let want = store_a.calls(&CallQuery::default()).await.unwrap();
        assert_eq!(store_b.calls(&CallQuery::default()).await.unwrap(), want);
        assert_eq!(want.len(), 3);

        sqlx::query(
            "CREATE TRIGGER no_b BEFORE INSERT ON legs WHEN NEW.leg = 'b'
             BEGIN SELECT RAISE(ABORT, 'refused'); END",
        )
        .execute(&store_b.pool)
        .await
        .unwrap();
        let err = sync
            .write(&[
                CdrWrite::Started(start("four", 30)),
                CdrWrite::Ended(end("two", 10)),
            ])
            .unwrap_err();
        assert!(err.to_string().contains("refused"), "{err}");
        assert_eq!(store_b.calls(&CallQuery::default()).await.unwrap(), want);
        // The writer goes on after a failed batch.
        sync.write(&[CdrWrite::Started(start("five", 40))]).unwrap();
        assert_eq!(store_b.calls(&CallQuery::default()).await.unwrap().len(), 4);
    });
}

#[test]
fn the_blocking_writer_needs_a_created_database() {
    let dir = tempfile::tempdir().unwrap();
    assert!(SyncWriter::open(&dir.path().join(DB_FILE)).is_err());
}
