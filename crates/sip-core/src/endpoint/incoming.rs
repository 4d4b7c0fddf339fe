//! Received messages: the transport-level verdict, transaction matching (RFC 3261 §17.1.3,
//! §17.2.3), the UAS core's automatic answers (§8.2) and CANCEL (§9.2).

use super::*;

impl Endpoint {
    pub(super) fn handle_verdict(
        &mut self,
        now: Instant,
        flow: Flow,
        verdict: Verdict,
        raw: &[u8],
    ) {
        match verdict {
            Verdict::Accept(m) if m.is_request() => self.handle_request(now, flow, *m),
            Verdict::Accept(m) => self.handle_response(now, flow, *m),
            Verdict::Reject { status, reason } => {
                // §8.2.6 stateless answer; its destination follows the same Via rules.
                let tag = self.new_tag();
                if let Some(bytes) = tandem_sip_msg::error_response(raw, status, &reason, &tag) {
                    let dest = Message::parse(bytes.clone(), &tandem_sip_msg::Limits::default())
                        .ok()
                        .map_or(flow, |r| response_flow(&r, flow));
                    self.outputs.push_back(Output::Transmit(Transmit {
                        flow: dest,
                        payload: bytes,
                    }));
                }
            }
            Verdict::Drop { reason } => {
                self.outputs
                    .push_back(Output::Event(Event::Discarded { flow, reason }));
            }
        }
    }

    fn handle_response(&mut self, now: Instant, flow: Flow, response: Message) {
        let key = ClientKey::of_response(&response);
        let Some(id) = key.as_ref().and_then(|k| self.client_index.get(k)).copied() else {
            self.discard(flow, "response matches no client transaction");
            return;
        };
        // §8.1.3.3: a response with more than one Via is discarded by a UAC.
        let vias = response.typed_all::<Via<'_>>().map_or(0, |v| v.len());
        if vias != 1 {
            self.discard(flow, "response carries more than one Via");
            return;
        }
        let (Some(status), Some(e)) = (response.status(), self.clients.get_mut(id)) else {
            return;
        };
        let actions = e.tx.on_response(status, now, &self.config.timers);
        // §17.1.1.3: the client INVITE transaction ACKs a non-2xx final response itself.
        if e.tx.kind == ClientKind::Invite
            && e.tx.state == ClientState::Completed
            && e.tx.ack.is_none()
            && let Ok(ack) = derived_request(&e.request, Method::Ack, Some(&response))
        {
            let bytes = ack.to_bytes();
            e.tx.ack = Some(bytes.clone());
            self.outputs.push_back(Output::Transmit(Transmit {
                flow: e.flow,
                payload: bytes,
            }));
        }
        let mut actions = actions;
        if actions.contains(&Action::PassUp) {
            if self.retry_on_response(now, id, &actions, &response) {
                return;
            }
            self.dialog_on_response(id, &response);
            // RFC 3262 §4: PRACK a reliable provisional; drop its retransmissions.
            if !self.prack_on_provisional(now, id, &response) {
                actions.retain(|a| *a != Action::PassUp);
            }
            self.session_on_response(now, id, &response);
        }
        self.run_client(now, id, actions, Some(response));
    }

    fn handle_request(&mut self, now: Instant, flow: Flow, mut request: Message) {
        let Some(method) = request.method() else {
            return;
        };
        stamp_received(&mut request, flow);
        let Some(key) = ServerKey::of_request(&request, method.clone()) else {
            self.discard(flow, "request without a usable Via");
            return;
        };
        // §17.2.3: a retransmission, or the ACK of a non-2xx / 2xx of an INVITE transaction.
        if let Some(&id) = self.server_index.get(&key) {
            let Some(e) = self.servers.get_mut(id) else {
                return;
            };
            let actions = if method == Method::Ack {
                e.tx.on_ack(now, &self.config.timers)
            } else {
                e.tx.on_retransmission()
            };
            self.run_server(id, actions, Some(request));
            return;
        }
        match method {
            // An ACK for a 2xx has a branch of its own (§17.1.1.3): match it to the INVITE
            // transaction still in Accepted (RFC 6026 §7.1) by its dialog fields.
            Method::Ack => {
                if let Some(&id) = AckKey::of(&request)
                    .as_ref()
                    .and_then(|k| self.accepted_index.get(k))
                    && let Some(e) = self.servers.get_mut(id)
                {
                    let actions = e.tx.on_ack(now, &self.config.timers);
                    if actions.is_empty() {
                        return; // a retransmitted ACK
                    }
                    self.dialog_on_ack(id);
                    self.run_server(id, actions, Some(request));
                    return;
                }
                let event = Event::StrayAck {
                    ack: Box::new(request),
                    flow,
                };
                self.outputs.push_back(Output::Event(event));
            }
            Method::Cancel => self.handle_cancel(now, flow, request, key),
            _ => self.handle_new_request(now, flow, request, method, key),
        }
    }

    fn handle_new_request(
        &mut self,
        now: Instant,
        flow: Flow,
        request: Message,
        method: Method,
        key: ServerKey,
    ) {
        let merge_key = merge_key(&request, &method);
        let merged = merge_key
            .as_ref()
            .and_then(|k| self.merge_index.get(k))
            .is_some();
        let kind = if method == Method::Invite {
            ServerKind::Invite
        } else {
            ServerKind::NonInvite
        };
        let tx = ServerTx::new(kind, flow.transport.is_reliable(), &self.config.timers);
        let to_tag = self.new_tag_number();
        let response_flow = response_flow(&request, flow);
        // §12.1.1 for INVITE; RFC 3515 §2.4.4 / RFC 6665: a REFER's 2xx creates a dialog too.
        let creates_dialog = matches!(method, Method::Invite | Method::Refer)
            && request
                .typed::<ToHeader<'_>>()
                .ok()
                .flatten()
                .is_some_and(|t| t.0.tag().is_none());
        let entry = ServerEntry {
            tx,
            key: key.clone(),
            flow: response_flow,
            request: Some(Box::new(compacted(request))),
            ack_key: None,
            to_tag,
            merge_key: if merged { None } else { merge_key.clone() },
            dialog: None,
            creates_dialog,
            reliable: prack::Reliable::default(),
            announced: false,
        };
        let id = self.servers.insert(entry);
        self.server_index.insert(key, id);
        let txid = ServerTxId(id);
        if merged {
            // §8.2.2.2: the same request reached us by two paths.
            let _ = self.reply(now, txid, 482, "Loop Detected");
            return;
        }
        if let Some(k) = merge_key {
            self.merge_index.insert(k, id);
        }
        // RFC 3262: supporting 100rel means serving PRACK.
        let with_prack;
        let allow = if self.supports_100rel() && !self.config.allow.contains(&Method::Prack) {
            with_prack = [self.config.allow.as_slice(), &[Method::Prack]].concat();
            &with_prack
        } else {
            &self.config.allow
        };
        let policy = UasPolicy {
            allow,
            supported: &self.config.supported,
            accept: &self.config.accept,
        };
        let rejection = self
            .servers
            .get(id)
            .and_then(|e| e.request.as_deref())
            .and_then(|r| check_request(r, &method, &policy));
        if let Some(rejection) = rejection {
            if let Ok(mut r) = self.make_response(txid, rejection.status, rejection.reason) {
                for (name, value) in &rejection.headers {
                    let _ = r.push_header(&HeaderName::new(name), value);
                }
                let _ = self.respond(now, txid, r);
            }
            return;
        }
        // §12.2.2, §14: in-dialog requests are matched to their dialog; 481, an out-of-order
        // CSeq and INVITE glare are answered here.
        if self.dialog_on_request(now, id) {
            return;
        }
        // RFC 3262 §3: a PRACK must acknowledge the pending reliable provisional.
        if method == Method::Prack && self.prack_on_request(now, id) {
            return;
        }
        // RFC 4028 §8.1: a session interval below our minimum gets 422.
        if matches!(method, Method::Invite | Method::Update) && self.session_on_request(now, id) {
            return;
        }
        // §17.2.1: an INVITE server transaction answers 100 Trying at once, which stops the
        // client's retransmissions while the application (or the far leg) takes its time.
        if kind == ServerKind::Invite {
            let _ = self.reply(now, txid, 100, "Trying");
        }
        let Some(e) = self.servers.get_mut(id) else {
            return;
        };
        e.announced = true;
        let Some(request) = e.request.clone() else {
            return;
        };
        let event = Event::Request {
            tx: txid,
            request,
            flow,
        };
        self.outputs.push_back(Output::Event(event));
    }

    /// §9.2: CANCEL gets its own transaction; it matches the INVITE with the same branch.
    fn handle_cancel(&mut self, now: Instant, flow: Flow, request: Message, key: ServerKey) {
        let invite_key = match &key {
            ServerKey::Rfc3261 {
                branch, sent_by, ..
            } => ServerKey::Rfc3261 {
                branch: branch.clone(),
                sent_by: sent_by.clone(),
                method: Method::Invite,
            },
            ServerKey::Rfc2543 { fingerprint, .. } => ServerKey::Rfc2543 {
                fingerprint: fingerprint.clone(),
                method: Method::Invite,
            },
        };
        let invite = self.server_index.get(&invite_key).copied();
        let tx = ServerTx::new(
            ServerKind::NonInvite,
            flow.transport.is_reliable(),
            &self.config.timers,
        );
        let to_tag = self.new_tag_number();
        let entry = ServerEntry {
            tx,
            key: key.clone(),
            flow: response_flow(&request, flow),
            request: Some(Box::new(request)),
            ack_key: None,
            to_tag,
            merge_key: None,
            dialog: None,
            creates_dialog: false,
            reliable: prack::Reliable::default(),
            announced: false,
        };
        let id = self.servers.insert(entry);
        self.server_index.insert(key, id);
        let cancel_tx = ServerTxId(id);
        let pending = invite
            .and_then(|i| self.servers.get(i))
            .is_some_and(|e| e.tx.state == ServerState::Proceeding);
        match invite {
            Some(invite) if pending => {
                let _ = self.reply(now, cancel_tx, 200, "OK");
                let _ = self.reply(now, ServerTxId(invite), 487, "Request Terminated");
                self.outputs.push_back(Output::Event(Event::Cancelled {
                    tx: ServerTxId(invite),
                }));
            }
            // Final response already sent: the CANCEL has no effect, but it matched (§9.2).
            Some(_) => {
                let _ = self.reply(now, cancel_tx, 200, "OK");
            }
            None => {
                let _ = self.reply(now, cancel_tx, 481, "Call/Transaction Does Not Exist");
            }
        }
    }
}

/// RFC 3261 §18.2.1 and RFC 3581 §4: record where the request really came from in its top Via,
/// so responses (which copy the Via) can be routed back through NATs.
pub(super) fn stamp_received(request: &mut Message, flow: Flow) {
    let (differs, wants_rport) = match request.typed_first::<Via<'_>>() {
        Ok(Some(via)) => {
            let differs = via
                .host
                .to_string()
                .trim_start_matches('[')
                .trim_end_matches(']')
                != flow.remote.ip().to_string();
            (differs, via.rport().is_some())
        }
        _ => return,
    };
    if differs || wants_rport {
        let _ = request.set_top_via_param("received", Some(&flow.remote.ip().to_string()));
    }
    if wants_rport {
        let _ = request.set_top_via_param("rport", Some(&flow.remote.port().to_string()));
    }
}

/// Where the responses to a request go (§18.2.2, RFC 3581 §4): the same connection for a
/// reliable transport; for UDP the source address when `rport` was asked for, else the
/// source IP (`received`) with the sent-by port (default 5060).
pub(super) fn response_flow(request: &Message, flow: Flow) -> Flow {
    if flow.transport.is_reliable() {
        return flow;
    }
    let Ok(Some(via)) = request.typed_first::<Via<'_>>() else {
        return flow;
    };
    if via.rport().is_some() {
        return flow;
    }
    let port = via.port.unwrap_or(5060);
    Flow {
        remote: SocketAddr::new(flow.remote.ip(), port),
        ..flow
    }
}

/// The §8.2.2.2 merge key of a request without a To tag.
pub(super) fn merge_key(request: &Message, method: &Method) -> Option<MergeKey> {
    let to = request.typed::<ToHeader<'_>>().ok()??;
    if to.0.tag().is_some() {
        return None;
    }
    let from_tag = request.typed::<FromHeader<'_>>().ok()??.0.tag()?.into();
    let call_id = request.typed::<CallId<'_>>().ok()??.0.into();
    let cseq = request.typed::<CSeq>().ok()??.seq;
    Some(MergeKey {
        from_tag,
        call_id,
        cseq,
        method: method.clone(),
    })
}
