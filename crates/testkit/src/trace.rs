use std::net::SocketAddr;
use std::time::Instant;

use bytes::Bytes;

/// One datagram handed to the simulated network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceEntry {
    /// Virtual time it was sent.
    pub at: Instant,
    /// Sender.
    pub from: SocketAddr,
    /// Receiver.
    pub to: SocketAddr,
    /// The bytes.
    pub payload: Bytes,
    /// Whether the network dropped it.
    pub lost: bool,
}

impl TraceEntry {
    /// The first line of the payload (a SIP start line), lossily decoded.
    pub fn first_line(&self) -> String {
        let end = self
            .payload
            .iter()
            .position(|&b| b == b'\r' || b == b'\n')
            .unwrap_or(self.payload.len());
        String::from_utf8_lossy(self.payload.get(..end).unwrap_or_default()).into_owned()
    }

    /// A short label for sequence assertions: the method of a request (`INVITE`) or the status
    /// code of a response (`200`).
    pub fn label(&self) -> String {
        let line = self.first_line();
        let mut words = line.split(' ');
        match words.next() {
            Some("SIP/2.0") => words.next().unwrap_or_default().to_owned(),
            Some(method) => method.to_owned(),
            None => String::new(),
        }
    }
}

/// Everything a simulated network carried, in send order.
#[derive(Debug, Clone, Default)]
pub struct Trace {
    entries: Vec<TraceEntry>,
}

impl Trace {
    pub(crate) fn push(&mut self, e: TraceEntry) {
        self.entries.push(e);
    }

    pub(crate) fn entries_mut(&mut self) -> &mut Vec<TraceEntry> {
        &mut self.entries
    }

    /// All entries.
    pub fn entries(&self) -> &[TraceEntry] {
        &self.entries
    }

    /// Labels (method or status code) of the datagrams sent from `from` to `to`.
    pub fn labels_between(&self, from: SocketAddr, to: SocketAddr) -> Vec<String> {
        self.entries
            .iter()
            .filter(|e| e.from == from && e.to == to)
            .map(TraceEntry::label)
            .collect()
    }

    /// Labels of every datagram in send order, as `from>to LABEL` with ports only, for
    /// readable assertion failures.
    pub fn ladder(&self) -> Vec<String> {
        self.entries
            .iter()
            .map(|e| {
                let lost = if e.lost { " (lost)" } else { "" };
                format!("{}>{} {}{lost}", e.from.port(), e.to.port(), e.label())
            })
            .collect()
    }

    /// How many datagrams carried the label `label` (e.g. `"INVITE"`, `"200"`).
    pub fn count(&self, label: &str) -> usize {
        self.entries.iter().filter(|e| e.label() == label).count()
    }

    /// Asserts that the labels of the datagrams from `from` to `to`, with consecutive
    /// duplicates (retransmissions) collapsed, are exactly `expected`.
    #[track_caller]
    pub fn assert_flow(&self, from: SocketAddr, to: SocketAddr, expected: &[&str]) {
        let mut got = self.labels_between(from, to);
        got.dedup();
        assert_eq!(
            got,
            expected,
            "flow {from} -> {to}; whole ladder:\n{}",
            self.ladder().join("\n")
        );
    }
}
