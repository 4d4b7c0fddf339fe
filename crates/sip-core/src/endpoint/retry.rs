//! Retries of a client request under the same handle: UAC digest authentication (RFC 3261
//! §8.1.3.5, §22.2, §22.3) and failover to the next resolved target (RFC 3263 §4.3).
//!
//! Both replace the *attempt* behind a [`ClientTxId`], never the handle: the entry in the
//! client table gets a new transaction (new branch) and request, while the attempt it
//! replaces, when it ended with a final response, moves to a silent entry of its own that
//! absorbs retransmissions of that response (and ACKs them, for an INVITE, §17.1.1.2) until
//! Timer D or K. So the TU maps every response to the request it sent by the handle alone,
//! and sees only the responses of the last attempt.

use std::fmt;
use std::time::Instant;

use tandem_sip_msg::headers::{CSeq, Challenge, SessionExpires};
use tandem_sip_msg::{HeaderName, Message, Method};

use super::{ClientEntry, ClientTxId, Endpoint, Event, Output, Report, unfold};
use crate::auth::{AuthKind, DigestClient};
use crate::slab::SlotId;
use crate::transaction::{Action, ClientState, ClientTx};
use crate::transport::Flow;

/// How many times one request is re-sent with new credentials before a challenge is passed
/// up anyway (a loop of `stale=true` challenges must end).
const MAX_AUTH_RETRIES: usize = 4;

/// A user name and password for a realm, set with [`Endpoint::set_credentials`].
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct StoredCredentials {
    /// `None`: any realm without credentials of its own.
    realm: Option<String>,
    username: String,
    password: String,
}

impl fmt::Debug for StoredCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoredCredentials")
            .field("realm", &self.realm)
            .field("username", &"<redacted>")
            .field("password", &"<redacted>")
            .finish()
    }
}

/// One challenge a request answers, kept to recompute the answer for every later attempt
/// (a new CSeq and a new nonce count each time, RFC 7616 §3.4).
#[derive(Debug, Clone)]
pub(super) struct Answered {
    kind: AuthKind,
    realm: String,
    challenge: String,
}

/// What to do with a final response instead of passing it up.
enum Plan {
    /// Re-send with CSeq + 1 and this change.
    Amend(Amend),
    /// Re-send to the next target, same CSeq.
    Failover(Flow),
}

/// How a re-sent request differs from the last attempt, besides CSeq + 1.
enum Amend {
    /// New credentials (§22.2).
    Authenticate(Vec<Answered>),
    /// RFC 4028 §7.4: the session interval the 422 asked for.
    SessionInterval(u32),
}

impl Endpoint {
    // ----- commands -----

    /// Sets the credentials the endpoint answers 401 and 407 challenges with for `realm`
    /// (`None`: any realm without credentials of its own), replacing earlier ones for it.
    ///
    /// With credentials set, a 401/407 to any request (sent with `send_request`,
    /// `send_request_to_targets` or `send_in_dialog`) whose challenge names a known realm
    /// never reaches the TU: the endpoint re-sends the request (RFC 3261 §8.1.3.5, §22.2)
    /// under the same [`ClientTxId`] with CSeq + 1, the same Call-ID, From tag, To, Route and
    /// body, and an `Authorization` (401) or `Proxy-Authorization` (407) computed by
    /// [`DigestClient`]; answers to earlier challenges of the same request (a proxy's and
    /// the UAS's) are recomputed and kept. The challenge is passed up instead when no realm
    /// has credentials, when a realm already answered challenges again without
    /// `stale=true` (wrong credentials), or after 4 retries. CANCEL is never retried.
    pub fn set_credentials(&mut self, realm: Option<&str>, username: &str, password: &str) {
        self.credentials.retain(|c| c.realm.as_deref() != realm);
        self.credentials.push(StoredCredentials {
            realm: realm.map(str::to_owned),
            username: username.to_owned(),
            password: password.to_owned(),
        });
    }

    /// Forgets every credential set with [`Self::set_credentials`].
    pub fn clear_credentials(&mut self) {
        self.credentials.clear();
    }

    /// The runtime could not send on `flow` (connection refused or reset, ICMP unreachable):
    /// every client transaction using it fails at once (RFC 3261 §8.1.3.1 treats it as a 503;
    /// RFC 3263 §4.3): a request sent with [`Self::send_request_to_targets`] goes to its next
    /// target, any other is reported as [`Event::Timeout`]. Transactions that already have a
    /// final response are left to their timers.
    pub fn handle_transport_error(&mut self, now: Instant, flow: Flow) {
        let failed: Vec<SlotId> = self
            .clients
            .iter()
            .filter(|(_, e)| {
                e.flow == flow
                    && matches!(
                        e.tx.state,
                        ClientState::Calling | ClientState::Trying | ClientState::Proceeding
                    )
            })
            .map(|(id, _)| id)
            .collect();
        for id in failed {
            self.client_failed(now, id);
        }
    }

    // ----- hooks called by the endpoint -----

    /// Client transaction `id` got no answer (Timer B or F) or its transport failed: the next
    /// target if any, else the transaction ends and the TU hears [`Event::Timeout`].
    pub(super) fn client_failed(&mut self, now: Instant, id: SlotId) {
        let next = self
            .clients
            .get_mut(id)
            .filter(|e| e.report == Report::Tu)
            .and_then(|e| e.targets.pop_front());
        if let Some(flow) = next {
            self.drop_early_forks(id);
            if self.restart(now, id, flow, None, None) {
                return;
            }
        }
        let Some(e) = self.clients.remove(id) else {
            return;
        };
        self.client_index.remove(&e.key);
        self.dialog_on_client_end(id, &e, true);
        if e.report == Report::Tu {
            self.outputs
                .push_back(Output::Event(Event::Timeout { tx: ClientTxId(id) }));
        }
    }

    /// A final response of client transaction `id` is about to be passed up with `actions`.
    /// Returns whether it was consumed by a retry instead.
    pub(super) fn retry_on_response(
        &mut self,
        now: Instant,
        id: SlotId,
        actions: &[Action],
        response: &Message,
    ) -> bool {
        let Some(plan) = self.plan(id, response) else {
            return false;
        };
        self.drop_early_forks(id);
        match plan {
            Plan::Amend(amend) => {
                let flow = self.clients.get(id).map(|e| e.flow);
                flow.is_some_and(|f| self.restart(now, id, f, Some(amend), Some(actions)))
            }
            Plan::Failover(flow) => {
                if let Some(e) = self.clients.get_mut(id) {
                    e.targets.pop_front();
                }
                self.restart(now, id, flow, None, Some(actions))
            }
        }
    }

    // ----- internals -----

    fn plan(&self, id: SlotId, response: &Message) -> Option<Plan> {
        let e = self.clients.get(id)?;
        if e.report != Report::Tu || e.key.method == Method::Cancel {
            return None;
        }
        match response.status()? {
            503 if e.forks.is_empty() => e.targets.front().copied().map(Plan::Failover),
            401 => self
                .auth_plan(e, response, AuthKind::Www)
                .map(|a| Plan::Amend(Amend::Authenticate(a))),
            407 => self
                .auth_plan(e, response, AuthKind::Proxy)
                .map(|a| Plan::Amend(Amend::Authenticate(a))),
            // RFC 4028 §7.4: once, with the interval the 422 names, if it is larger.
            422 if !e.session_retried => {
                let min = super::session::min_se_of(response)?;
                let asked = e.request.typed::<SessionExpires<'_>>().ok().flatten()?;
                (min > asked.delta).then_some(Plan::Amend(Amend::SessionInterval(min)))
            }
            _ => None,
        }
    }

    /// The answers the next attempt carries, or `None` to pass the challenge up.
    fn auth_plan(
        &self,
        e: &ClientEntry,
        response: &Message,
        kind: AuthKind,
    ) -> Option<Vec<Answered>> {
        if self.credentials.is_empty() || e.auth_retries >= MAX_AUTH_RETRIES {
            return None;
        }
        let values: Vec<String> = response
            .values(&kind.challenge_header())
            .map(unfold)
            .collect();
        // Per realm, the first challenge this client can answer (RFC 8760 §2.4 order).
        let mut fresh: Vec<Answered> = Vec::new();
        for v in &values {
            let Some(realm) = realm_of(v) else { continue };
            if fresh.iter().any(|a| a.realm == realm) || self.lookup(&realm).is_none() {
                continue;
            }
            if DigestClient::select(std::slice::from_ref(v)).is_none() {
                continue;
            }
            let answered_before = e.auth.iter().any(|a| a.kind == kind && a.realm == realm);
            if answered_before && !is_stale(v) {
                // §22.2: the same realm challenged our answer: the credentials are wrong.
                return None;
            }
            fresh.push(Answered {
                kind,
                realm,
                challenge: v.clone(),
            });
        }
        if fresh.is_empty() {
            return None;
        }
        let mut answers: Vec<Answered> = e
            .auth
            .iter()
            .filter(|a| !fresh.iter().any(|f| f.kind == a.kind && f.realm == a.realm))
            .cloned()
            .collect();
        answers.extend(fresh);
        Some(answers)
    }

    fn lookup(&self, realm: &str) -> Option<&StoredCredentials> {
        self.credentials
            .iter()
            .find(|c| c.realm.as_deref() == Some(realm))
            .or_else(|| self.credentials.iter().find(|c| c.realm.is_none()))
    }

    /// §13.2.2.3 / RFC 3263: the attempt is over, so are the early dialogs it created.
    fn drop_early_forks(&mut self, id: SlotId) {
        let forks = self
            .clients
            .get_mut(id)
            .map(|e| std::mem::take(&mut e.forks))
            .unwrap_or_default();
        for (_, d) in forks {
            if self
                .dialogs
                .get(d)
                .is_some_and(|dl| dl.state == crate::DialogState::Early)
            {
                self.remove_dialog(d);
            }
        }
    }

    /// Sends the next attempt of `id` to `flow`: the request as last sent without its top
    /// Via; with CSeq + 1, and the change, when `amend` is given (answers to earlier
    /// challenges are recomputed, since a nonce count may not repeat). `retired`: the actions
    /// of the old attempt's final response, carried out by a silent entry that keeps the old
    /// transaction (`None`: the old transaction is dropped). Returns false if the request
    /// could not be rebuilt (then nothing changed).
    fn restart(
        &mut self,
        now: Instant,
        id: SlotId,
        flow: Flow,
        amend: Option<Amend>,
        retired: Option<&[Action]>,
    ) -> bool {
        let Some(e) = self.clients.get(id) else {
            return false;
        };
        let method = e.key.method.clone();
        let mut request = e.request.clone();
        let via = request.headers().position(|h| h.is(&HeaderName::Via));
        if let Some(via) = via {
            let _ = request.remove_header_at(via);
        }
        let mut new_cseq = None;
        let mut answers = None;
        let mut session_retried = false;
        if let Some(amend) = amend {
            let list = match amend {
                Amend::Authenticate(list) => list,
                Amend::SessionInterval(min) => {
                    session_retried = true;
                    let set = request
                        .replace_header(&HeaderName::SessionExpires, &min.to_string())
                        .and_then(|()| {
                            request.replace_header(&HeaderName::MinSe, &min.to_string())
                        });
                    if set.is_err() {
                        return false;
                    }
                    e.auth.clone()
                }
            };
            let Some(seq) = request.typed::<CSeq>().ok().flatten().map(|c| c.seq) else {
                return false;
            };
            let seq = seq.wrapping_add(1);
            if request
                .replace_header(&HeaderName::CSeq, &format!("{seq} {method}"))
                .is_err()
            {
                return false;
            }
            new_cseq = Some(seq);
            if !list.is_empty() && self.authorize(&mut request, &method, &list).is_err() {
                return false;
            }
            answers = Some(list);
        }
        let Ok((key, kind)) = self.prepare_request(&mut request, flow, method) else {
            return false;
        };
        let octets = request.to_bytes();
        let (tx, start) = ClientTx::start(
            kind,
            octets.clone(),
            flow.transport.is_reliable(),
            now,
            &self.config.timers,
        );
        let request = super::parsed_as(request, octets);
        let Some(e) = self.clients.get_mut(id) else {
            return false;
        };
        let old_tx = std::mem::replace(&mut e.tx, tx);
        let old_key = std::mem::replace(&mut e.key, key.clone());
        let old_flow = std::mem::replace(&mut e.flow, flow);
        let old_request = std::mem::replace(&mut e.request, request);
        if let Some(answers) = answers {
            if !session_retried {
                e.auth_retries += 1;
            }
            e.auth = answers;
        }
        e.session_retried |= session_retried;
        let dialog = e.dialog;
        self.client_index.remove(&old_key);
        self.client_index.insert(key, id);
        if let Some(retired) = retired {
            let mut shadow = ClientEntry::new(old_tx, old_key.clone(), old_flow, old_request);
            shadow.report = Report::Silent;
            let sid = self.clients.insert(shadow);
            self.client_index.insert(old_key, sid);
            let keep: Vec<Action> = retired
                .iter()
                .filter(|a| !matches!(a, Action::PassUp))
                .cloned()
                .collect();
            self.run_client(now, sid, keep, None);
        }
        // §12.2.1.1: an in-dialog request's new CSeq is the dialog's local sequence number.
        if let (Some(d), Some(seq)) = (dialog, new_cseq)
            && let Some(dl) = self.dialogs.get_mut(d)
        {
            dl.local_seq = Some(dl.local_seq.map_or(seq, |s| s.max(seq)));
        }
        self.run_client(now, id, start, None);
        true
    }

    /// Replaces the request's Authorization / Proxy-Authorization fields with answers to
    /// `answers`.
    fn authorize(
        &mut self,
        request: &mut Message,
        method: &Method,
        answers: &[Answered],
    ) -> Result<(), ()> {
        let uri = request.request_line().map(|l| l.uri.to_owned()).ok_or(())?;
        for kind in [AuthKind::Www, AuthKind::Proxy] {
            if answers.iter().any(|a| a.kind == kind) {
                request.remove_headers(&kind.credentials_header());
            }
        }
        for a in answers {
            let (username, password) = match self.lookup(&a.realm) {
                Some(c) => (c.username.clone(), c.password.clone()),
                None => return Err(()),
            };
            let value = self
                .digest
                .authorize(&a.challenge, method.as_str(), &uri, &username, &password)
                .map_err(|_| ())?;
            request
                .push_header(&a.kind.credentials_header(), &value)
                .map_err(|_| ())?;
        }
        Ok(())
    }
}

fn realm_of(challenge: &str) -> Option<String> {
    let c = Challenge::parse(challenge).ok()?;
    if !c.scheme.eq_ignore_ascii_case("Digest") {
        return None;
    }
    c.param("realm").map(std::borrow::Cow::into_owned)
}

fn is_stale(challenge: &str) -> bool {
    Challenge::parse(challenge)
        .ok()
        .and_then(|c| c.param("stale").map(|s| s.eq_ignore_ascii_case("true")))
        .unwrap_or(false)
}
