//! Small SIP peers for the SDK's tests: plain tokio UDP sockets speaking SIP text on
//! loopback, and a bound SDK endpoint.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::time::Duration;

use tandem_sdk::{Endpoint, EndpointSettings, IncomingCalls, Transport};
use tokio::net::UdpSocket;

/// Longest wait for one message; every test is also bounded as a whole.
pub const WAIT: Duration = Duration::from_secs(10);
/// Bound of a whole test.
pub const TEST: Duration = Duration::from_secs(30);

pub const OFFER: &str = "v=0\r\no=alice 1000 1000 IN IP4 127.0.0.1\r\ns=-\r\n\
    c=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\na=sendrecv\r\n";
pub const ANSWER: &str = "v=0\r\no=bob 2000 2000 IN IP4 127.0.0.1\r\ns=-\r\n\
    c=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 50000 RTP/AVP 0\r\na=sendrecv\r\n";

/// An SDK endpoint on a free loopback UDP port.
pub async fn endpoint() -> (Endpoint, IncomingCalls, SocketAddr) {
    endpoint_with(|_| {}).await
}

/// [`endpoint`] with settings changed by `tune`.
pub async fn endpoint_with(
    tune: impl FnOnce(&mut EndpointSettings),
) -> (Endpoint, IncomingCalls, SocketAddr) {
    let mut settings = EndpointSettings::new("127.0.0.1:0".parse().unwrap()).udp_only();
    settings.seed = Some(7);
    tune(&mut settings);
    let ep = Endpoint::bind(settings).await.unwrap();
    let addr = ep.local_addr(Transport::Udp).unwrap();
    let calls = ep.incoming_calls();
    (ep, calls, addr)
}

/// A SIP message as text.
#[derive(Debug, Clone)]
pub struct Msg(pub String);

impl Msg {
    pub fn start_line(&self) -> &str {
        self.0.lines().next().unwrap_or("")
    }

    pub fn status(&self) -> Option<u16> {
        let line = self.start_line();
        line.strip_prefix("SIP/2.0 ")
            .and_then(|r| r.get(..3))
            .and_then(|c| c.parse().ok())
    }

    pub fn method(&self) -> Option<&str> {
        if self.status().is_some() {
            return None;
        }
        self.start_line().split(' ').next()
    }

    /// Values of header `name` (long or compact form, any case).
    pub fn headers(&self, name: &str) -> Vec<&str> {
        let compact = match name.to_ascii_lowercase().as_str() {
            "via" => "v",
            "from" => "f",
            "to" => "t",
            "call-id" => "i",
            "contact" => "m",
            "content-length" => "l",
            "content-type" => "c",
            "subject" => "s",
            _ => "",
        };
        let head = self.0.split("\r\n\r\n").next().unwrap_or("");
        head.lines()
            .skip(1)
            .filter_map(|l| {
                let (n, v) = l.split_once(':')?;
                let n = n.trim();
                (n.eq_ignore_ascii_case(name) || n.eq_ignore_ascii_case(compact)).then(|| v.trim())
            })
            .collect()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers(name).into_iter().next()
    }

    pub fn body(&self) -> &str {
        self.0.split_once("\r\n\r\n").map_or("", |(_, b)| b)
    }

    /// The CSeq method.
    pub fn cseq_method(&self) -> &str {
        self.header("CSeq")
            .and_then(|c| c.split_whitespace().nth(1))
            .unwrap_or("")
    }

    /// The URI inside the Contact header.
    pub fn contact_uri(&self) -> String {
        let c = self.header("Contact").unwrap();
        match (c.find('<'), c.find('>')) {
            (Some(a), Some(b)) => c[a + 1..b].to_owned(),
            _ => c.split(';').next().unwrap().to_owned(),
        }
    }
}

/// A UA on a loopback UDP socket.
pub struct Peer {
    pub sock: UdpSocket,
    pub addr: SocketAddr,
}

impl Peer {
    pub async fn bind() -> Self {
        let sock = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = sock.local_addr().unwrap();
        Self { sock, addr }
    }

    pub async fn send(&self, to: SocketAddr, text: &str) {
        self.sock.send_to(text.as_bytes(), to).await.unwrap();
    }

    pub async fn recv(&self) -> (Msg, SocketAddr) {
        let mut buf = vec![0u8; 65_536];
        let (n, from) = tokio::time::timeout(WAIT, self.sock.recv_from(&mut buf))
            .await
            .expect("no SIP message in time")
            .unwrap();
        (Msg(String::from_utf8_lossy(&buf[..n]).into_owned()), from)
    }

    /// The next request of `method`, skipping anything else (retransmissions, provisionals).
    pub async fn recv_request(&self, method: &str) -> (Msg, SocketAddr) {
        loop {
            let (m, from) = self.recv().await;
            if m.method() == Some(method) {
                return (m, from);
            }
        }
    }

    /// The next final response (>= 200) to a request of `method`.
    pub async fn recv_final(&self, method: &str) -> Msg {
        loop {
            let (m, _) = self.recv().await;
            if m.status().is_some_and(|s| s >= 200) && m.cseq_method() == method {
                return m;
            }
        }
    }
}

/// A response to `req`: Via, From, To (with `to_tag` added when it has none), Call-ID and
/// CSeq copied; a Contact and an SDP body when given.
pub fn response(
    req: &Msg,
    status: u16,
    reason: &str,
    to_tag: Option<&str>,
    contact: Option<SocketAddr>,
    sdp: Option<&str>,
) -> String {
    let mut r = format!("SIP/2.0 {status} {reason}\r\n");
    for via in req.headers("Via") {
        r.push_str(&format!("Via: {via}\r\n"));
    }
    r.push_str(&format!("From: {}\r\n", req.header("From").unwrap()));
    let to = req.header("To").unwrap();
    match to_tag {
        Some(tag) if !to.contains("tag=") => r.push_str(&format!("To: {to};tag={tag}\r\n")),
        _ => r.push_str(&format!("To: {to}\r\n")),
    }
    r.push_str(&format!("Call-ID: {}\r\n", req.header("Call-ID").unwrap()));
    r.push_str(&format!("CSeq: {}\r\n", req.header("CSeq").unwrap()));
    if let Some(c) = contact {
        r.push_str(&format!("Contact: <sip:peer@{c}>\r\n"));
    }
    finish(r, sdp)
}

fn finish(mut m: String, sdp: Option<&str>) -> String {
    match sdp {
        Some(body) => {
            m.push_str(&format!(
                "Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            ));
        }
        None => m.push_str("Content-Length: 0\r\n\r\n"),
    }
    m
}

/// The caller's side of one dialog: INVITE, ACK, BYE, CANCEL.
pub struct Caller {
    pub peer: Peer,
    pub tandem: SocketAddr,
    pub call_id: String,
    /// To header of the final response (with Tandem's tag).
    pub to: Option<String>,
    /// Tandem's Contact URI from the 2xx.
    pub remote_target: Option<String>,
}

impl Caller {
    pub async fn new(tandem: SocketAddr) -> Self {
        let peer = Peer::bind().await;
        let call_id = format!("a-leg-{}", peer.addr.port());
        Self {
            peer,
            tandem,
            call_id,
            to: None,
            remote_target: None,
        }
    }

    fn from(&self) -> String {
        format!("\"Alice\" <sip:alice@{}>;tag=alice-tag", self.peer.addr)
    }

    pub fn invite_text(&self, extra: &str) -> String {
        self.invite_text_with(extra, Some(OFFER))
    }

    /// The INVITE with `sdp` as its body (`None`: no body, a late offer).
    pub fn invite_text_with(&self, extra: &str, sdp: Option<&str>) -> String {
        let a = self.peer.addr;
        let m = format!(
            "INVITE sip:service@{t} SIP/2.0\r\nVia: SIP/2.0/UDP {a};branch=z9hG4bK-inv-{id};rport\r\n\
             From: {from}\r\nTo: <sip:service@{t}>\r\nCall-ID: {id}\r\nCSeq: 1 INVITE\r\n\
             Contact: <sip:alice@{a}>\r\nMax-Forwards: 70\r\nSubject: sdk test\r\n{extra}",
            t = self.tandem,
            id = self.call_id,
            from = self.from(),
        );
        finish(m, sdp)
    }

    pub async fn invite(&self) {
        self.peer.send(self.tandem, &self.invite_text("")).await;
    }

    pub async fn cancel(&self) {
        let a = self.peer.addr;
        let m = format!(
            "CANCEL sip:service@{t} SIP/2.0\r\nVia: SIP/2.0/UDP {a};branch=z9hG4bK-inv-{id};rport\r\n\
             From: {from}\r\nTo: <sip:service@{t}>\r\nCall-ID: {id}\r\nCSeq: 1 CANCEL\r\n\
             Max-Forwards: 70\r\n",
            t = self.tandem,
            id = self.call_id,
            from = self.from(),
        );
        self.peer.send(self.tandem, &finish(m, None)).await;
    }

    /// Waits for the INVITE's final response; ACKs it (§17.1.1.3 for a failure, §13.2.2.4
    /// for a 2xx).
    pub async fn final_response(&mut self) -> Msg {
        self.final_response_with(None).await
    }

    /// [`Self::final_response`], the ACK of a 2xx carrying `ack_sdp` (a late offer's answer).
    pub async fn final_response_with(&mut self, ack_sdp: Option<&str>) -> Msg {
        let r = self.peer.recv_final("INVITE").await;
        self.to = r.header("To").map(str::to_owned);
        let a = self.peer.addr;
        let status = r.status().unwrap();
        let (uri, branch) = if status < 300 {
            self.remote_target = Some(r.contact_uri());
            (r.contact_uri(), format!("z9hG4bK-ack-{}", self.call_id))
        } else {
            (
                format!("sip:service@{}", self.tandem),
                format!("z9hG4bK-inv-{}", self.call_id),
            )
        };
        let ack = format!(
            "ACK {uri} SIP/2.0\r\nVia: SIP/2.0/UDP {a};branch={branch};rport\r\nFrom: {from}\r\n\
             To: {to}\r\nCall-ID: {id}\r\nCSeq: 1 ACK\r\nMax-Forwards: 70\r\n",
            from = self.from(),
            to = self.to.as_deref().unwrap(),
            id = self.call_id,
        );
        let body = if status < 300 { ack_sdp } else { None };
        self.peer.send(self.tandem, &finish(ack, body)).await;
        r
    }

    /// An in-dialog request (`method`, CSeq `cseq`) with a body of `content_type`.
    pub async fn request(&self, method: &str, cseq: u32, content_type: &str, body: &str) {
        let a = self.peer.addr;
        let m = format!(
            "{method} {uri} SIP/2.0\r\nVia: SIP/2.0/UDP {a};branch=z9hG4bK-{cseq}-{id};rport\r\n\
             From: {from}\r\nTo: {to}\r\nCall-ID: {id}\r\nCSeq: {cseq} {method}\r\n\
             Max-Forwards: 70\r\nContent-Type: {content_type}\r\n\
             Content-Length: {len}\r\n\r\n{body}",
            uri = self.remote_target.as_deref().unwrap(),
            from = self.from(),
            to = self.to.as_deref().unwrap(),
            id = self.call_id,
            len = body.len(),
        );
        self.peer.send(self.tandem, &m).await;
    }

    pub async fn bye(&self) {
        let a = self.peer.addr;
        let m = format!(
            "BYE {uri} SIP/2.0\r\nVia: SIP/2.0/UDP {a};branch=z9hG4bK-bye-{id};rport\r\n\
             From: {from}\r\nTo: {to}\r\nCall-ID: {id}\r\nCSeq: 2 BYE\r\nMax-Forwards: 70\r\n",
            uri = self.remote_target.as_deref().unwrap(),
            from = self.from(),
            to = self.to.as_deref().unwrap(),
            id = self.call_id,
        );
        self.peer.send(self.tandem, &finish(m, None)).await;
    }
}

/// The callee's side: answers Tandem's INVITE, ACKs, BYEs.
pub struct Callee {
    pub peer: Peer,
    pub invite: Option<Msg>,
    pub tandem: Option<SocketAddr>,
}

pub const CALLEE_TAG: &str = "bob-tag";

impl Callee {
    pub async fn new() -> Self {
        Self {
            peer: Peer::bind().await,
            invite: None,
            tandem: None,
        }
    }

    /// The destination URI that reaches this callee.
    pub fn uri(&self) -> String {
        format!("sip:bob@{}", self.peer.addr)
    }

    pub async fn recv_invite(&mut self) -> Msg {
        let (inv, from) = self.peer.recv_request("INVITE").await;
        self.invite = Some(inv.clone());
        self.tandem = Some(from);
        inv
    }

    pub async fn answer(&self, status: u16, reason: &str) {
        let inv = self.invite.as_ref().unwrap();
        let ok = status < 300;
        let text = response(
            inv,
            status,
            reason,
            Some(CALLEE_TAG),
            (status > 100).then_some(self.peer.addr),
            ok.then_some(ANSWER),
        );
        self.peer.send(self.tandem.unwrap(), &text).await;
    }

    /// Answers a request (e.g. BYE) with 200.
    pub async fn ok(&self, req: &Msg) {
        let text = response(req, 200, "OK", None, None, None);
        self.peer.send(self.tandem.unwrap(), &text).await;
    }

    pub async fn bye(&self) {
        let inv = self.invite.as_ref().unwrap();
        let a = self.peer.addr;
        let m = format!(
            "BYE {uri} SIP/2.0\r\nVia: SIP/2.0/UDP {a};branch=z9hG4bK-bye-callee;rport\r\n\
             From: {to};tag={CALLEE_TAG}\r\nTo: {from}\r\nCall-ID: {id}\r\nCSeq: 1 BYE\r\n\
             Max-Forwards: 70\r\n",
            uri = inv.contact_uri(),
            to = inv.header("To").unwrap(),
            from = inv.header("From").unwrap(),
            id = inv.header("Call-ID").unwrap(),
        );
        self.peer.send(self.tandem.unwrap(), &finish(m, None)).await;
    }
}
