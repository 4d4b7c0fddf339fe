//! Call detail records: what the SIP application tells [`CdrSink`], one writer thread puts in
//! SQLite (`tandem_store`'s blocking [`SyncWriter`]), and `tandem cdr list|show` reads back.
//!
//! The SIP loop must never wait on a disk, so the sink only does `try_send` on a bounded
//! queue: a full queue drops the record and counts it (a warning with the count) instead of
//! blocking or growing without bound. The writer commits each record as soon as it arrives
//! (with any others that queued up during the previous commit), so a record is in the
//! database (the OS's page cache, which outlives a `kill -9`) within a commit's time of the
//! call's end: what a kill can take is only what is still queued. A call is written when it
//! starts and again when it ends, so a crash leaves the calls it was carrying as rows with no
//! end instead of leaving no trace.

use std::collections::HashMap;
use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime};

use tandem_call::{CallEvent, CallId, CallInfo, CallRecord, CallState, EndCause, Leg, LegRecord};
use tandem_sip_core::Flow;
use tandem_sip_msg::Message;
use tandem_sip_msg::headers::{CallId as CallIdHeader, FromHeader, ToHeader};
use tandem_store::{
    CallEnd, CallKind, CallQuery, CallStart, CdrCall, CdrLeg, CdrWrite, EndedBy, LegName, Store,
    SyncWriter, Timestamp,
};
use tokio::sync::mpsc;
use tracing::{debug, warn};

/// How long a clean shutdown waits for the writer to drain the queue.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// What the application calls, synchronously, from the SIP driver. Never blocks.
#[derive(Debug)]
pub(crate) struct CdrSink {
    tx: mpsc::Sender<CdrWrite>,
    /// Records dropped because the queue was full, since the start.
    dropped: u64,
    /// Prefix of this run's call keys: the start time, so keys stay unique on this node
    /// across restarts (`tandem_call::CallId`s start again at 1 in every process).
    run: String,
    next: u64,
    /// Calls started and not yet ended.
    live: HashMap<CallId, Live>,
    /// Calls in a conference room, by SIP Call-ID.
    rooms: HashMap<String, Live>,
}

/// How a call left its conference room.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RoomExit {
    /// The caller sent BYE.
    HangUp,
    /// The caller never acknowledged Tandem's 2xx (RFC 3261 §13.3.1.4).
    AckTimeout,
}

#[derive(Debug)]
struct Live {
    key: String,
    started: Timestamp,
    answered: Option<Timestamp>,
}

/// The writer thread, to be awaited at shutdown after the sink is dropped.
#[derive(Debug)]
pub(crate) struct CdrWriter {
    /// The count of records written, when the thread ends.
    done: tokio::sync::oneshot::Receiver<u64>,
    /// The store the records go to, closed once the thread is done.
    store: Store,
}

impl CdrSink {
    /// Starts the writer thread on a connection of its own to `store`'s database.
    /// `capacity` is at least 1.
    pub(crate) fn start(store: Store, capacity: usize) -> Result<(Self, CdrWriter), String> {
        Self::start_gated(store, capacity, None)
    }

    /// [`Self::start`], with a writer that waits for `gate` to be signalled or dropped
    /// before it takes the first record (tests fill the queue first).
    fn start_gated(
        store: Store,
        capacity: usize,
        gate: Option<std::sync::mpsc::Receiver<()>>,
    ) -> Result<(Self, CdrWriter), String> {
        let db = SyncWriter::open(store.path()).map_err(|e| e.to_string())?;
        let (tx, rx) = mpsc::channel(capacity.max(1));
        let (done_tx, done) = tokio::sync::oneshot::channel();
        std::thread::Builder::new()
            .name("tandem-cdr".into())
            .spawn(move || {
                if let Some(gate) = gate {
                    let _ = gate.recv();
                }
                let _ = done_tx.send(write_all(db, rx));
            })
            .map_err(|e| format!("cannot start the call record writer: {e}"))?;
        let run = format!("{:x}", Timestamp::now().as_unix_ms());
        let sink = Self {
            tx,
            dropped: 0,
            run,
            next: 1,
            live: HashMap::new(),
            rooms: HashMap::new(),
        };
        Ok((sink, CdrWriter { done, store }))
    }

    /// A call was created (`B2bua::establish` or `B2bua::originate`): its row is written
    /// now, with no end and the legs that exist (their dialogs and parties), so a crash
    /// leaves it visible and findable by either leg's Call-ID.
    pub(crate) fn call_started(&mut self, info: &CallInfo) {
        let (now, system_now) = (Instant::now(), SystemTime::now());
        let at = |i: Instant| wall(i, now, system_now);
        let started = at(info.started);
        let key = self.next_key();
        self.send(CdrWrite::Started(CallStart {
            key: key.clone(),
            kind: kind_of(info.kind),
            started_at: started,
            legs: info
                .legs
                .iter()
                .map(|l| CdrLeg {
                    sip_call_id: Some(l.sip_call_id.clone()),
                    from_uri: Some(uri_of_name_addr(&l.from).to_owned()),
                    to_uri: Some(uri_of_name_addr(&l.to).to_owned()),
                    remote_addr: Some(l.remote.to_string()),
                    transport: Some(l.transport.to_string()),
                    started_at: Some(at(l.started)),
                    answered_at: l.answered.map(at),
                    ..CdrLeg::new(leg_name(l.leg))
                })
                .collect(),
        }));
        self.live.insert(
            info.call,
            Live {
                key,
                started,
                answered: info.answered.map(at),
            },
        );
    }

    /// A call joined a conference room: Tandem answered `invite` (received on `flow`) with
    /// 200 at once, so the row starts answered.
    pub(crate) fn room_joined(&mut self, sip_call_id: &str, invite: &Message, flow: Flow) {
        let started = Timestamp::now();
        let key = self.next_key();
        let leg_a = CdrLeg {
            started_at: Some(started),
            answered_at: Some(started),
            final_status: Some(200),
            ..leg_of_request(LegName::A, invite, flow)
        };
        self.send(CdrWrite::Started(CallStart {
            key: key.clone(),
            kind: CallKind::Conference,
            started_at: started,
            legs: vec![leg_a],
        }));
        self.send(CdrWrite::Answered {
            key: key.clone(),
            at: started,
        });
        self.rooms.insert(
            sip_call_id.to_owned(),
            Live {
                key,
                started,
                answered: Some(started),
            },
        );
    }

    /// A conference call left its room.
    pub(crate) fn room_left(&mut self, sip_call_id: &str, exit: RoomExit) {
        let Some(live) = self.rooms.remove(sip_call_id) else {
            return;
        };
        let ended_at = Timestamp::now();
        let (cause, ended_by) = match exit {
            RoomExit::HangUp => ("caller_hang_up", EndedBy::Remote),
            RoomExit::AckTimeout => ("ack_timeout", EndedBy::Lost),
        };
        self.send(CdrWrite::Ended(CallEnd {
            key: live.key,
            kind: CallKind::Conference,
            started_at: live.started,
            answered_at: live.answered,
            ended_at,
            cause: cause.to_owned(),
            cause_detail: None,
            final_status: Some(200),
            legs: vec![CdrLeg {
                ended_at: Some(ended_at),
                ended_by: Some(ended_by),
                ..CdrLeg::new(LegName::A)
            }],
        }));
    }

    /// Every event of the call layer goes through here: answers of the calls
    /// [`Self::call_started`] announced, and every call's record (`CallEvent::Record`, which
    /// comes before `Ended`); the rest is ignored. An `Ended` without a record before it
    /// still ends its row, with what the cause tells.
    pub(crate) fn observe(&mut self, event: &CallEvent) {
        if let CallEvent::Record(record) = event {
            let live = self.live.remove(&record.call);
            let key = match live {
                Some(live) => live.key,
                None => self.next_key(),
            };
            let end = end_of_record(key, record, Instant::now(), SystemTime::now());
            self.send(CdrWrite::Ended(end));
        } else if let CallEvent::StateChanged {
            call,
            state: CallState::Established,
        } = event
        {
            let at = Timestamp::now();
            if let Some(live) = self.live.get_mut(call) {
                live.answered = Some(at);
                let key = live.key.clone();
                self.send(CdrWrite::Answered { key, at });
            }
        } else if let CallEvent::Ended { call, cause } = event
            && let Some(live) = self.live.remove(call)
        {
            let end = end_of_cause(live, cause, Timestamp::now());
            self.send(CdrWrite::Ended(end));
        }
    }

    /// A key no other call of this node has had.
    fn next_key(&mut self) -> String {
        let key = format!("{}-{}", self.run, self.next);
        self.next += 1;
        key
    }

    /// Records dropped because the writer could not keep up.
    #[cfg(test)]
    pub(crate) fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Queues `write`, or drops and counts it. The last quarter of the queue is kept for end
    /// records: under pressure the record of a finished call (what a crash must not lose)
    /// wins over a start or an answer, which the end record repeats anyway.
    fn send(&mut self, write: CdrWrite) {
        let reserve = self.tx.max_capacity() / 4;
        if !matches!(write, CdrWrite::Ended(_)) && self.tx.capacity() <= reserve {
            self.dropped += 1;
            if self.dropped % 100 == 1 {
                warn!(
                    dropped = self.dropped,
                    record = kind(&write),
                    "call record queue nearly full; kept for end records; record dropped"
                );
            }
            return;
        }
        match self.tx.try_send(write) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(w)) => {
                self.dropped += 1;
                // The first and then every hundredth: a stalled disk must not flood the log.
                if self.dropped % 100 == 1 {
                    warn!(
                        dropped = self.dropped,
                        record = kind(&w),
                        "call record queue full; record dropped"
                    );
                }
            }
            Err(mpsc::error::TrySendError::Closed(w)) => {
                self.dropped += 1;
                warn!(
                    dropped = self.dropped,
                    record = kind(&w),
                    "call record writer stopped; record dropped"
                );
            }
        }
    }
}

/// What a write is, for the log.
fn kind(write: &CdrWrite) -> &'static str {
    match write {
        CdrWrite::Started(_) => "start",
        CdrWrite::Answered { .. } => "answer",
        CdrWrite::Ended(_) => "end",
    }
}

impl CdrWriter {
    /// Waits (bounded) until every queued record is written. The sink must be dropped first:
    /// the writer ends when the queue is closed and empty.
    pub(crate) async fn finish(self) {
        match tokio::time::timeout(DRAIN_TIMEOUT, self.done).await {
            Ok(Ok(written)) => debug!(written, "call record writer finished"),
            Ok(Err(_)) => warn!("call record writer failed"),
            Err(_) => warn!("call record writer still busy at shutdown; records may be lost"),
        }
        self.store.close().await;
    }
}

/// Most records committed in one transaction.
const BATCH: usize = 64;

/// The writer thread. It writes a record as soon as it arrives; records that arrived while
/// the previous commit ran are committed together (group commit), so a burst does not leave
/// the writer further and further behind, and the records a `kill -9` can take (those still
/// in the queue) stay few. Order is kept: a call's start is always written before its end. A
/// batch that fails is written again record by record, each retried twice, so one bad
/// record costs only itself.
///
/// A thread with its own blocking connection rather than a task on sqlx: sqlx hands every
/// statement to its connection's worker thread and wakes the caller with each result, about
/// a dozen thread wake-ups per call's records, which cost the server more CPU than its SIP
/// work at moderate call rates (bench/RESULTS.md). The SIP driver's `try_send` wakes this
/// thread at most once per batch.
fn write_all(mut db: SyncWriter, mut rx: mpsc::Receiver<CdrWrite>) -> u64 {
    let mut written = 0;
    let mut batch = Vec::with_capacity(BATCH);
    while let Some(first) = rx.blocking_recv() {
        batch.push(first);
        while batch.len() < BATCH {
            match rx.try_recv() {
                Ok(write) => batch.push(write),
                Err(_) => break,
            }
        }
        match db.write(&batch) {
            Ok(()) => written += batch.len() as u64,
            Err(e) => {
                debug!(error = %e, records = batch.len(), "call record batch failed; one by one");
                for write in &batch {
                    if write_one(&mut db, write) {
                        written += 1;
                    }
                }
            }
        }
        batch.clear();
    }
    written
}

/// One record in its own transaction, tried three times; false when it could not be written.
fn write_one(db: &mut SyncWriter, write: &CdrWrite) -> bool {
    let mut attempt = 0;
    loop {
        match db.write(std::slice::from_ref(write)) {
            Ok(()) => return true,
            Err(e) if attempt < 2 => {
                attempt += 1;
                debug!(error = %e, attempt, "call record write failed; retrying");
                std::thread::sleep(Duration::from_millis(50 << attempt));
            }
            Err(e) => {
                warn!(error = %e, record = kind(write), "call record not written");
                return false;
            }
        }
    }
}

/// A leg as its INVITE shows it: Call-ID, From and To URIs, the peer and transport.
fn leg_of_request(leg: LegName, invite: &Message, flow: Flow) -> CdrLeg {
    let call_id = invite.typed::<CallIdHeader<'_>>().ok().flatten();
    let from = invite.typed::<FromHeader<'_>>().ok().flatten();
    let to = invite.typed::<ToHeader<'_>>().ok().flatten();
    CdrLeg {
        sip_call_id: call_id.map(|c| c.0.to_owned()),
        from_uri: from.map(|h| h.0.uri_text.to_owned()),
        to_uri: to.map(|h| h.0.uri_text.to_owned()),
        remote_addr: Some(flow.remote.to_string()),
        transport: Some(flow.transport.to_string()),
        ..CdrLeg::new(leg)
    }
}

/// The store's record of the call layer's: `Instant`s become wall-clock times against one
/// pair of clock readings (`now`, `system_now`), taken when the record arrives.
fn end_of_record(key: String, r: &CallRecord, now: Instant, system_now: SystemTime) -> CallEnd {
    let at = |i: Instant| wall(i, now, system_now);
    let (cause, cause_detail) = cause_token(&r.cause);
    CallEnd {
        key,
        kind: kind_of(r.kind),
        started_at: at(r.started),
        answered_at: r.answered.map(at),
        ended_at: at(r.ended),
        cause,
        cause_detail,
        // What the caller (leg A) was answered; an originated call's first party too.
        final_status: r
            .legs
            .iter()
            .find(|l| l.leg == Leg::A)
            .and_then(|l| l.final_status),
        legs: r.legs.iter().map(|l| leg_of_record(l, at)).collect(),
    }
}

fn leg_of_record(l: &LegRecord, at: impl Fn(Instant) -> Timestamp) -> CdrLeg {
    CdrLeg {
        leg: leg_name(l.leg),
        sip_call_id: Some(l.sip_call_id.clone()),
        from_uri: Some(uri_of_name_addr(&l.from).to_owned()),
        to_uri: Some(uri_of_name_addr(&l.to).to_owned()),
        remote_addr: Some(l.remote.to_string()),
        transport: Some(l.transport.to_string()),
        started_at: Some(at(l.started)),
        answered_at: l.answered.map(&at),
        ended_at: Some(at(l.ended)),
        final_status: l.final_status,
        ended_by: Some(match l.ended_by {
            tandem_call::EndedBy::Local => EndedBy::Local,
            tandem_call::EndedBy::Remote => EndedBy::Remote,
            tandem_call::EndedBy::Lost => EndedBy::Lost,
        }),
    }
}

fn kind_of(kind: tandem_call::CallKind) -> CallKind {
    match kind {
        tandem_call::CallKind::Bridged => CallKind::B2b,
        tandem_call::CallKind::Originated => CallKind::Originate,
    }
}

fn leg_name(leg: Leg) -> LegName {
    match leg {
        Leg::A => LegName::A,
        Leg::B => LegName::B,
    }
}

/// The URI of a name-addr (`"Alice" <sip:a@x>` → `sip:a@x`); an addr-spec as it is.
fn uri_of_name_addr(text: &str) -> &str {
    match (text.find('<'), text.rfind('>')) {
        (Some(open), Some(close)) if open < close => &text[open + 1..close],
        _ => text.trim(),
    }
}

/// The end of a call from the call layer's `Ended` event: its cause, and the final status
/// leg A was sent as far as the cause tells it.
fn end_of_cause(live: Live, cause: &EndCause, ended_at: Timestamp) -> CallEnd {
    let (token, detail) = cause_token(cause);
    let final_status = if live.answered.is_some() {
        Some(200)
    } else if let EndCause::Rejected { relayed, .. } = cause {
        Some(*relayed)
    } else if matches!(cause, EndCause::NoAnswer) {
        Some(408)
    } else if matches!(cause, EndCause::Cancelled) {
        // RFC 3261 §9.2: the INVITE of a cancelled request is answered 487.
        Some(487)
    } else {
        None
    };
    let leg_a = CdrLeg {
        answered_at: live.answered,
        ended_at: Some(ended_at),
        final_status,
        ended_by: match cause {
            EndCause::CallerHangUp | EndCause::Cancelled => Some(EndedBy::Remote),
            EndCause::CalleeHangUp | EndCause::Rejected { .. } => Some(EndedBy::Local),
            _ => None,
        },
        ..CdrLeg::new(LegName::A)
    };
    CallEnd {
        key: live.key,
        kind: CallKind::B2b,
        started_at: live.started,
        answered_at: live.answered,
        ended_at,
        cause: token,
        cause_detail: detail,
        final_status,
        legs: vec![leg_a],
    }
}

/// A stable snake_case token for the cause (its variant name: `CallerHangUp` →
/// `caller_hang_up`) and the variant's fields as detail. Taken from `Debug` so that a cause
/// added to the call layer is recorded by name without a change here.
fn cause_token(cause: &EndCause) -> (String, Option<String>) {
    let text = format!("{cause:?}");
    let name_len = text
        .find(|c: char| !c.is_ascii_alphanumeric())
        .unwrap_or(text.len());
    let (name, rest) = text.split_at(name_len);
    let mut token = String::with_capacity(name.len() + 4);
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            token.push('_');
        }
        token.push(c.to_ascii_lowercase());
    }
    let detail = match cause {
        EndCause::Failed(why) => Some(why.clone()),
        _ => {
            let rest = rest.trim();
            (!rest.is_empty()).then(|| rest.to_owned())
        }
    };
    (token, detail)
}

/// Wall-clock time of a core `Instant`, against one pair of clock readings taken by the
/// caller (so all times of one record are converted consistently).
fn wall(at: Instant, now: Instant, system_now: SystemTime) -> Timestamp {
    let system = match now.checked_duration_since(at) {
        Some(ago) => system_now.checked_sub(ago).unwrap_or(system_now),
        None => system_now + at.saturating_duration_since(now),
    };
    Timestamp::from_system_time(system)
}

/// `tandem cdr list`: the newest calls, a table or JSON.
pub(crate) fn list(data: &Path, limit: u32, since: Option<Timestamp>, json: bool) -> ExitCode {
    let query = CallQuery {
        limit,
        offset: 0,
        since,
    };
    read(
        data,
        |store| async move { store.calls(&query).await },
        |calls| {
            if json {
                serde_json::to_string_pretty(&calls).unwrap_or_default()
            } else {
                table(&calls)
            }
        },
    )
}

/// `tandem cdr show ID`: one call with its legs (JSON with `--json`).
/// `id` is a row id, or else a leg's SIP Call-ID (some peers use digits only, so a number
/// that is no row id is tried as a Call-ID too).
pub(crate) fn show(data: &Path, id: &str, json: bool) -> ExitCode {
    let mut missing = false;
    let code = read(
        data,
        |store| async move {
            if let Ok(row) = id.parse::<i64>()
                && let Some(call) = store.call(row).await?
            {
                return Ok(Some(call));
            }
            store.call_by_sip_call_id(id).await
        },
        |call| match call {
            None => {
                missing = true;
                String::new()
            }
            Some(call) if json => serde_json::to_string_pretty(&call).unwrap_or_default(),
            Some(call) => details(&call),
        },
    );
    if missing {
        eprintln!("tandem: no call {id} in {}", data.display());
        return ExitCode::FAILURE;
    }
    code
}

/// Opens the database read-side, runs `query`, prints `render` of its answer.
fn read<T, F, Fut>(data: &Path, query: F, render: impl FnOnce(T) -> String) -> ExitCode
where
    F: FnOnce(Store) -> Fut,
    Fut: Future<Output = Result<T, tandem_store::StoreError>>,
{
    let db = data.join(tandem_store::DB_FILE);
    if !db.exists() {
        eprintln!(
            "tandem: no call records at {} (use --data DIR)",
            db.display()
        );
        return ExitCode::FAILURE;
    }
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("tandem: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let answer = runtime.block_on(async {
        let store = Store::open(data).await?;
        let answer = query(store.clone()).await;
        store.close().await;
        answer
    });
    match answer {
        Ok(value) => {
            let text = render(value);
            if !text.is_empty() {
                println!("{text}");
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("tandem: {e}");
            ExitCode::FAILURE
        }
    }
}

/// One line per call: id, start, kind, duration of the answered part, state, status, cause,
/// caller and callee (leg A's From and To).
fn table(calls: &[CdrCall]) -> String {
    let mut out = format!(
        "{:>6}  {:<24}  {:<10}  {:>9}  {:<8}  {:>6}  {:<16}  {}",
        "ID", "STARTED", "KIND", "TALK", "STATE", "STATUS", "CAUSE", "FROM -> TO"
    );
    for c in calls {
        let a = c.legs.iter().find(|l| l.leg == LegName::A);
        let talk = match (c.answered_at, c.ended_at) {
            (Some(a), Some(e)) => format!("{:.1}s", (e.as_unix_ms() - a.as_unix_ms()) as f64 / 1e3),
            _ => "-".to_owned(),
        };
        out.push_str(&format!(
            "\n{:>6}  {:<24}  {:<10}  {:>9}  {:<8}  {:>6}  {:<16}  {} -> {}",
            c.id,
            c.started_at.to_string(),
            c.kind.as_str(),
            talk,
            c.state.as_str(),
            c.final_status.map_or("-".to_owned(), |s| s.to_string()),
            c.cause.as_deref().unwrap_or("-"),
            a.and_then(|l| l.from_uri.as_deref()).unwrap_or("?"),
            a.and_then(|l| l.to_uri.as_deref()).unwrap_or("?"),
        ));
    }
    out
}

/// A call and its legs, one field per line.
fn details(c: &CdrCall) -> String {
    let time = |t: Option<Timestamp>| t.map_or("-".to_owned(), |t| t.to_string());
    let text = |t: &Option<String>| t.clone().unwrap_or_else(|| "-".to_owned());
    let mut out = format!(
        "call {} ({}, key {})\n  state     {}\n  started   {}\n  answered  {}\n  ended     {}\n  \
         status    {}\n  cause     {}{}",
        c.id,
        c.kind,
        c.key,
        c.state,
        c.started_at,
        time(c.answered_at),
        time(c.ended_at),
        c.final_status.map_or("-".to_owned(), |s| s.to_string()),
        text(&c.cause),
        c.cause_detail
            .as_deref()
            .map_or(String::new(), |d| format!(" ({d})")),
    );
    for l in &c.legs {
        out.push_str(&format!(
            "\nleg {}\n  call-id   {}\n  from      {}\n  to        {}\n  remote    {} {}\n  \
             started   {}\n  answered  {}\n  ended     {}\n  status    {}\n  ended by  {}",
            l.leg,
            text(&l.sip_call_id),
            text(&l.from_uri),
            text(&l.to_uri),
            text(&l.transport),
            text(&l.remote_addr),
            time(l.started_at),
            time(l.answered_at),
            time(l.ended_at),
            l.final_status.map_or("-".to_owned(), |s| s.to_string()),
            l.ended_by.map_or("-", EndedBy::as_str),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn causes_become_snake_case_tokens_with_their_fields_as_detail() {
        assert_eq!(
            cause_token(&EndCause::CallerHangUp),
            ("caller_hang_up".to_owned(), None)
        );
        let (token, detail) = cause_token(&EndCause::Rejected {
            status: 486,
            relayed: 486,
        });
        assert_eq!(token, "rejected");
        assert_eq!(detail.as_deref(), Some("{ status: 486, relayed: 486 }"));
        assert_eq!(
            cause_token(&EndCause::Failed("bad \"sdp\"".into())),
            ("failed".to_owned(), Some("bad \"sdp\"".to_owned()))
        );
    }

    #[test]
    fn instants_become_wall_clock_times_around_one_reading() {
        let now = Instant::now();
        let system = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
        let earlier = now.checked_sub(Duration::from_millis(1_500)).unwrap();
        assert_eq!(wall(earlier, now, system).as_unix_ms(), 998_500);
        assert_eq!(wall(now, now, system).as_unix_ms(), 1_000_000);
        let later = now + Duration::from_millis(20);
        assert_eq!(wall(later, now, system).as_unix_ms(), 1_000_020);
    }

    #[test]
    fn a_leg_record_becomes_a_leg_row() {
        let now = Instant::now();
        let system = SystemTime::UNIX_EPOCH + Duration::from_secs(2_000);
        let r = LegRecord {
            leg: Leg::B,
            sip_call_id: "b@tandem".into(),
            from: "\"Alice\" <sip:alice@example.com>".into(),
            to: "<sip:bob@192.0.2.9:5080;transport=udp>".into(),
            remote: "192.0.2.9:5080".parse().unwrap(),
            transport: tandem_sip_core::Transport::Udp,
            started: now.checked_sub(Duration::from_secs(10)).unwrap(),
            answered: Some(now.checked_sub(Duration::from_secs(8)).unwrap()),
            ended: now,
            final_status: Some(200),
            ended_by: tandem_call::EndedBy::Remote,
        };
        let leg = leg_of_record(&r, |i| wall(i, now, system));
        assert_eq!(
            leg,
            CdrLeg {
                leg: LegName::B,
                sip_call_id: Some("b@tandem".into()),
                from_uri: Some("sip:alice@example.com".into()),
                to_uri: Some("sip:bob@192.0.2.9:5080;transport=udp".into()),
                remote_addr: Some("192.0.2.9:5080".into()),
                transport: Some("UDP".into()),
                started_at: Some(Timestamp::from_unix_ms(1_990_000)),
                answered_at: Some(Timestamp::from_unix_ms(1_992_000)),
                ended_at: Some(Timestamp::from_unix_ms(2_000_000)),
                final_status: Some(200),
                ended_by: Some(EndedBy::Remote),
            }
        );
        assert_eq!(uri_of_name_addr(" sip:a@b "), "sip:a@b");
        assert_eq!(uri_of_name_addr("x <sip:a@b"), "x <sip:a@b");
    }

    #[test]
    fn a_full_queue_drops_and_counts_instead_of_blocking() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        runtime.block_on(async {
            let store = Store::open(dir.path()).await.unwrap();
            let (go, gate) = std::sync::mpsc::channel();
            let (mut sink, writer) = CdrSink::start_gated(store, 2, Some(gate)).unwrap();
            // The writer waits for `go`, so the third and later sends find the queue full.
            for i in 0..5u64 {
                sink.send(CdrWrite::Answered {
                    key: format!("k{i}"),
                    at: Timestamp::from_unix_ms(0),
                });
            }
            assert_eq!(sink.dropped(), 3);
            drop((sink, go));
            writer.finish().await;

            // A queue of 8 keeps its last 2 places for end records.
            let store = Store::open(dir.path()).await.unwrap();
            let (go, gate) = std::sync::mpsc::channel();
            let (mut sink, writer) = CdrSink::start_gated(store, 8, Some(gate)).unwrap();
            for i in 0..8u64 {
                sink.send(CdrWrite::Answered {
                    key: format!("k{i}"),
                    at: Timestamp::from_unix_ms(0),
                });
            }
            assert_eq!(sink.dropped(), 2, "answers stop at 6 of 8");
            for i in 0..3u64 {
                sink.send(CdrWrite::Ended(CallEnd {
                    key: format!("end{i}"),
                    kind: CallKind::B2b,
                    started_at: Timestamp::from_unix_ms(0),
                    answered_at: None,
                    ended_at: Timestamp::from_unix_ms(1),
                    cause: "no_answer".into(),
                    cause_detail: None,
                    final_status: Some(408),
                    legs: Vec::new(),
                }));
            }
            assert_eq!(
                sink.dropped(),
                3,
                "two ends fit, the third finds the queue full"
            );
            drop((sink, go));
            writer.finish().await;
            // The writer closed its pool when it finished.
            let store = Store::open(dir.path()).await.unwrap();
            let ended = store.calls(&CallQuery::default()).await.unwrap();
            assert_eq!(ended.len(), 2, "{ended:?}");
        });
    }
}
