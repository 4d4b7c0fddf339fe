//! Session timers (RFC 4028), enabled by listing `timer` in
//! [`EndpointConfig::supported`](crate::EndpointConfig::supported), with the intervals of
//! [`SessionTimerConfig`](crate::SessionTimerConfig).
//!
//! - Requests: INVITEs and UPDATEs Tandem sends get `Session-Expires: <interval>`,
//!   `Min-SE: <min_se>`, `Supported: timer` and `Allow` (from the configuration) unless the
//!   TU wrote its own `Session-Expires`. A 422 answer is retried once, automatically, with
//!   the `Min-SE` it names (§7.4), under the same handle.
//! - Requests received: an INVITE or UPDATE whose `Session-Expires` is below `min_se` gets
//!   422 with `Min-SE` from the endpoint (§8.1); others reach the TU.
//! - Responses: a 2xx the TU sends to an INVITE or UPDATE gets `Session-Expires` (§9): the
//!   request's interval and refresher; without a refresher, `uac` when the UAC supports
//!   timers, else `uas`; without a `Session-Expires` in a request from a UAC that supports
//!   timers, the configured interval with `refresher=uas`. `refresher=uac` adds
//!   `Require: timer`; `Allow` from the configuration is added when absent (so the
//!   refresher knows whether UPDATE may be used). A TU that writes its own
//!   `Session-Expires` keeps it.
//! - The negotiated interval and refresher are the dialog's
//!   ([`Dialog::session_interval`], [`Dialog::session_refresher`]), renewed by every 2xx
//!   to an INVITE or UPDATE in the dialog; a 2xx without `Session-Expires` turns the timer
//!   off (§7.2).
//! - The refresher's endpoint refreshes at half the interval by itself (§10): an UPDATE
//!   without body when the peer's `Allow` lists UPDATE, else a re-INVITE carrying the last
//!   session description Tandem sent in the dialog (ACKed by the endpoint). Neither the
//!   refresh nor its responses are reported; the peer's TU sees an ordinary UPDATE or
//!   re-INVITE to answer.
//! - Both sides watch the expiry (§10): the side that does not refresh, at interval −
//!   min(32 s, interval/3) after the last refresh; the refresher, whose refreshes failed to
//!   get a 2xx, at the full interval. Then the endpoint sends BYE and reports
//!   [`Event::SessionExpired`]; the dialog ends with the BYE's response or timeout. (A
//!   refresh answered 408 or 481, or timing out, ends the dialog at once, as any in-dialog
//!   request does, §12.2.1.2.)
//!
//! [`Dialog::session_interval`]: crate::Dialog::session_interval
//! [`Dialog::session_refresher`]: crate::Dialog::session_refresher
//! [`Event::SessionExpired`]: crate::Event::SessionExpired

use std::time::{Duration, Instant};

use tandem_sip_msg::headers::{CSeq, MinSe, Refresher, SessionExpires};
use tandem_sip_msg::{EditError, HeaderName, Message, Method};

use super::{Endpoint, Event, Output, Report, ServerTxId, lists_token, unfold};
use crate::DialogId;
use crate::dialog::{DialogKey, Session, SessionRefresher};
use crate::slab::SlotId;
use crate::timer::{Owner, TimerName};

impl Endpoint {
    /// Whether the configuration lists `timer` (RFC 4028) among the supported options.
    fn session_timers(&self) -> bool {
        self.config
            .supported
            .iter()
            .any(|s| s.eq_ignore_ascii_case("timer"))
    }

    fn interval_secs(&self) -> u32 {
        secs(
            self.config
                .session_timer
                .interval
                .max(self.config.session_timer.min_se),
        )
    }

    fn min_se_secs(&self) -> u32 {
        secs(self.config.session_timer.min_se).max(90)
    }

    // ----- hooks called by the endpoint -----

    /// An INVITE or UPDATE is about to be sent: §7.1 headers.
    pub(super) fn session_prepare_request(&self, request: &mut Message) -> Result<(), EditError> {
        if !self.session_timers() || request.value(&HeaderName::SessionExpires).is_some() {
            return Ok(());
        }
        request.push_header(
            &HeaderName::SessionExpires,
            &self.interval_secs().to_string(),
        )?;
        if request.value(&HeaderName::MinSe).is_none() {
            request.push_header(&HeaderName::MinSe, &self.min_se_secs().to_string())?;
        }
        if !lists_token(request, &HeaderName::Supported, "timer") {
            request.push_header(&HeaderName::Supported, "timer")?;
        }
        if request.value(&HeaderName::Allow).is_none() {
            let allow: Vec<&str> = self.config.allow.iter().map(Method::as_str).collect();
            request.push_header(&HeaderName::Allow, &allow.join(", "))?;
        }
        Ok(())
    }

    /// A new INVITE or UPDATE in server transaction `id`: 422 when its interval is too small
    /// (§8.1). Returns whether the endpoint answered.
    pub(super) fn session_on_request(&mut self, now: Instant, id: SlotId) -> bool {
        if !self.session_timers() {
            return false;
        }
        let min = self.min_se_secs();
        let Some(e) = self.servers.get(id) else {
            return false;
        };
        let asked = e
            .request
            .as_deref()
            .and_then(|r| r.typed::<SessionExpires<'_>>().ok().flatten());
        if asked.is_none_or(|se| se.delta >= min) {
            return false;
        }
        if let Ok(mut r) = self.make_response(ServerTxId(id), 422, "Session Interval Too Small") {
            let _ = r.push_header(&HeaderName::MinSe, &min.to_string());
            let _ = self.respond(now, ServerTxId(id), r);
        }
        true
    }

    /// Before a response of server transaction `id` is sent: §9 `Session-Expires` in a 2xx
    /// to INVITE or UPDATE.
    pub(super) fn session_prepare_response(&self, id: SlotId, response: &mut Message, status: u16) {
        if !self.session_timers()
            || status / 100 != 2
            || response.value(&HeaderName::SessionExpires).is_some()
        {
            return;
        }
        let Some(request) = self.servers.get(id).and_then(|e| e.request.as_deref()) else {
            return;
        };
        if !matches!(request.method(), Some(Method::Invite | Method::Update)) {
            return;
        }
        let uac_supports = lists_token(request, &HeaderName::Supported, "timer")
            || lists_token(request, &HeaderName::Require, "timer");
        let (delta, refresher) = match request.typed::<SessionExpires<'_>>().ok().flatten() {
            Some(se) => {
                let refresher = se.refresher.unwrap_or(if uac_supports {
                    Refresher::Uac
                } else {
                    Refresher::Uas
                });
                (se.delta.max(self.min_se_secs()), refresher)
            }
            None if uac_supports => (self.interval_secs(), Refresher::Uas),
            None => return,
        };
        let who = match refresher {
            Refresher::Uac => "uac",
            Refresher::Uas => "uas",
        };
        let _ = response.push_header(
            &HeaderName::SessionExpires,
            &format!("{delta};refresher={who}"),
        );
        // So the refresher knows whether it may refresh with UPDATE.
        if response.value(&HeaderName::Allow).is_none() {
            let allow: Vec<&str> = self.config.allow.iter().map(Method::as_str).collect();
            let _ = response.push_header(&HeaderName::Allow, &allow.join(", "));
        }
        if refresher == Refresher::Uac && !lists_token(response, &HeaderName::Require, "timer") {
            let _ = response.push_header(&HeaderName::Require, "timer");
        }
    }

    /// A response of server transaction `id` was sent (dialog hooks done): a 2xx to INVITE
    /// or UPDATE sets the dialog's session timer.
    pub(super) fn session_on_responded(
        &mut self,
        now: Instant,
        id: SlotId,
        response: &Message,
        status: u16,
    ) {
        if !self.session_timers() || status / 100 != 2 {
            return;
        }
        let Some(e) = self.servers.get(id) else {
            return;
        };
        let Some(request) = e.request.as_deref() else {
            return;
        };
        if !matches!(request.method(), Some(Method::Invite | Method::Update)) {
            return;
        }
        let Some(d) = e.dialog else {
            return;
        };
        let allows_update = lists_token(request, &HeaderName::Allow, "UPDATE");
        // We are the UAS of this transaction: refresher=uac is the peer.
        let session = negotiated(response, SessionRefresher::Remote);
        if let Some(dl) = self.dialogs.get_mut(d) {
            dl.peer_allows_update |= allows_update;
            if !response.body().is_empty() {
                let body = (content_type(response), response.body().to_vec().into());
                dl.local_body = Some(Box::new(body));
            }
            dl.session = session;
        }
        self.arm_session(now, d);
    }

    /// A response of client transaction `id` is being handled (dialog hooks done): a 2xx to
    /// INVITE or UPDATE sets the dialog's session timer; the 2xx of the endpoint's own
    /// refreshing re-INVITE is ACKed here.
    pub(super) fn session_on_response(&mut self, now: Instant, id: SlotId, response: &Message) {
        let (Some(status), Some(e)) = (response.status(), self.clients.get(id)) else {
            return;
        };
        let method = e.key.method.clone();
        if status / 100 != 2 || !matches!(method, Method::Invite | Method::Update) {
            return;
        }
        let d = e.dialog.or_else(|| {
            DialogKey::of_outgoing(response).and_then(|k| self.dialog_index.get(&k).copied())
        });
        let Some(d) = d else {
            return;
        };
        if e.report == Report::Silent
            && method == Method::Invite
            && let Some(seq) = response.typed::<CSeq>().ok().flatten().map(|c| c.seq)
        {
            let _ = self.ack_2xx(DialogId(d), seq, None);
        }
        if !self.session_timers() {
            return;
        }
        let Some(e) = self.clients.get(id) else {
            return;
        };
        let body = (!e.request.body().is_empty())
            .then(|| (content_type(&e.request), e.request.body().to_vec().into()));
        // We are the UAC of this transaction: refresher=uac is us.
        let session = negotiated(response, SessionRefresher::Local);
        let allows_update = lists_token(response, &HeaderName::Allow, "UPDATE");
        if let Some(dl) = self.dialogs.get_mut(d) {
            dl.peer_allows_update |= allows_update;
            if body.is_some() {
                dl.local_body = body.map(Box::new);
            }
            dl.session = session;
        }
        self.arm_session(now, d);
    }

    /// A session timer of dialog `d` fired.
    pub(super) fn session_on_timer(&mut self, now: Instant, d: SlotId, name: TimerName) {
        match name {
            TimerName::SessionRefresh => self.refresh_session(now, d),
            TimerName::SessionExpiry => {
                // §10: no refresh in time: end the session.
                let dialog = DialogId(d);
                if let Some(dl) = self.dialogs.get_mut(d) {
                    dl.session = None;
                }
                let bye = self
                    .dialog_request(dialog, &Method::Bye)
                    .and_then(|m| self.send_in_dialog(now, dialog, m));
                if let Ok(tx) = bye
                    && let Some(e) = self.clients.get_mut(tx.0)
                {
                    e.report = Report::Silent;
                }
                self.outputs
                    .push_back(Output::Event(Event::SessionExpired { dialog }));
            }
            _ => {}
        }
    }

    // ----- internals -----

    /// (Re)arms dialog `d`'s refresh (when Tandem refreshes) and expiry from `now`.
    fn arm_session(&mut self, now: Instant, d: SlotId) {
        let Some(dl) = self.dialogs.get_mut(d) else {
            return;
        };
        if let Some(dd) = &mut dl.deadlines {
            dd.clear(TimerName::SessionRefresh);
            dd.clear(TimerName::SessionExpiry);
        }
        let Some(s) = dl.session else {
            return;
        };
        let mut arm = |name, at| {
            dl.deadlines.get_or_insert_default().set(name, at);
            self.timers.schedule(at, Owner::Dialog(d), name);
        };
        // §10: the refresher refreshes at half the interval and gives up at its end; the
        // other side gives up min(32 s, interval/3) before the end, so a BYE crossing a
        // late refresh comes from one side only.
        match s.refresher {
            SessionRefresher::Local => {
                arm(TimerName::SessionRefresh, now + s.interval / 2);
                arm(TimerName::SessionExpiry, now + s.interval);
            }
            SessionRefresher::Remote => {
                let margin = (s.interval / 3).min(Duration::from_secs(32));
                arm(TimerName::SessionExpiry, now + s.interval - margin);
            }
        }
    }

    /// §10: the refresher's refresh: UPDATE if the peer allows it, else a re-INVITE.
    fn refresh_session(&mut self, now: Instant, d: SlotId) {
        let dialog = DialogId(d);
        let Some(dl) = self.dialogs.get(d) else {
            return;
        };
        let Some(s) = dl.session else {
            return;
        };
        let method = if dl.peer_allows_update {
            Method::Update
        } else {
            Method::Invite
        };
        let body = dl.local_body.as_deref().cloned();
        let interval = secs(s.interval);
        let min = self.min_se_secs();
        let sent = self.dialog_request(dialog, &method).and_then(|mut m| {
            m.push_header(
                &HeaderName::SessionExpires,
                &format!("{interval};refresher=uac"),
            )?;
            m.push_header(&HeaderName::MinSe, &min.to_string())?;
            if method == Method::Invite
                && let Some((ct, bytes)) = body
            {
                m.set_body(Some(&ct), bytes)?;
            }
            self.send_in_dialog(now, dialog, m)
        });
        match sent {
            Ok(tx) => {
                if let Some(e) = self.clients.get_mut(tx.0) {
                    e.report = Report::Silent;
                }
            }
            Err(_) => {
                // An INVITE transaction is in progress (§14.1): its 2xx will refresh; try
                // again shortly in case it fails.
                let at = now + self.config.timers.t1 * 4;
                if let Some(dl) = self.dialogs.get_mut(d) {
                    dl.deadlines
                        .get_or_insert_default()
                        .set(TimerName::SessionRefresh, at);
                    self.timers
                        .schedule(at, Owner::Dialog(d), TimerName::SessionRefresh);
                }
            }
        }
    }
}

/// The session a 2xx negotiated: its `Session-Expires`, with `refresher=uac` mapped to
/// `uac_is` (who the UAC of that transaction is, seen from Tandem).
fn negotiated(response: &Message, uac_is: SessionRefresher) -> Option<Session> {
    let se = response.typed::<SessionExpires<'_>>().ok().flatten()?;
    let other = match uac_is {
        SessionRefresher::Local => SessionRefresher::Remote,
        SessionRefresher::Remote => SessionRefresher::Local,
    };
    let refresher = match se.refresher {
        Some(Refresher::Uas) => other,
        // §7.2: a 2xx without refresher leaves the refresh to the UAC.
        Some(Refresher::Uac) | None => uac_is,
    };
    Some(Session {
        interval: Duration::from_secs(u64::from(se.delta.max(1))),
        refresher,
    })
}

/// The `Min-SE` a 422 names.
pub(super) fn min_se_of(response: &Message) -> Option<u32> {
    response
        .typed::<MinSe<'_>>()
        .ok()
        .flatten()
        .map(|m| m.delta)
}

fn content_type(m: &Message) -> String {
    m.value(&HeaderName::ContentType)
        .map_or_else(|| "application/sdp".to_owned(), unfold)
}

fn secs(d: Duration) -> u32 {
    u32::try_from(d.as_secs()).unwrap_or(u32::MAX)
}
