//! The open connections, by transport and peer address, and their RFC 5923 aliases.

use std::collections::HashMap;
use std::net::SocketAddr;

use bytes::Bytes;
use tandem_sip_core::Transport;
use tokio::sync::mpsc;

use super::OUTBOUND_QUEUE;

/// A connection's transport and its peer's address.
pub(super) type ConnKey = (Transport, SocketAddr);

/// Connection handles (the sending end of each connection task's queue).
#[derive(Debug, Default)]
pub(super) struct Connections {
    by_peer: HashMap<ConnKey, Conn>,
    /// Alias (transport, Via sent-by) → the connection it names (RFC 5923 §5).
    aliases: HashMap<ConnKey, ConnKey>,
    next_id: u64,
}

#[derive(Debug)]
struct Conn {
    id: u64,
    tx: mpsc::Sender<Bytes>,
}

impl Connections {
    /// Open connections.
    pub(super) fn len(&self) -> usize {
        self.by_peer.len()
    }

    /// Registers a new connection to `key` (replacing an older one) and returns its id and
    /// the queue its task drains.
    pub(super) fn insert(&mut self, key: ConnKey) -> (u64, mpsc::Receiver<Bytes>) {
        let (tx, rx) = mpsc::channel(OUTBOUND_QUEUE);
        self.next_id += 1;
        let id = self.next_id;
        self.by_peer.insert(key, Conn { id, tx });
        (id, rx)
    }

    /// Forgets connection `id` to `key` and the aliases naming it; a newer connection to the
    /// same peer stays.
    pub(super) fn remove(&mut self, key: ConnKey, id: u64) {
        if self.by_peer.get(&key).is_some_and(|c| c.id == id) {
            self.by_peer.remove(&key);
            self.aliases.retain(|_, target| *target != key);
        }
    }

    /// Records that `alias` names the connection `key`.
    pub(super) fn add_alias(&mut self, alias: ConnKey, key: ConnKey) {
        if alias != key && self.by_peer.contains_key(&key) {
            self.aliases.insert(alias, key);
        }
    }

    /// The queue of the connection to `key`, directly or through an alias.
    pub(super) fn sender(&self, key: ConnKey) -> Option<&mpsc::Sender<Bytes>> {
        let conn = match self.by_peer.get(&key) {
            Some(c) => c,
            None => self.by_peer.get(self.aliases.get(&key)?)?,
        };
        Some(&conn.tx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(port: u16) -> ConnKey {
        (Transport::Tcp, SocketAddr::from(([127, 0, 0, 1], port)))
    }

    #[test]
    fn alias_reaches_the_connection_until_it_closes() {
        let mut c = Connections::default();
        let (id, _rx) = c.insert(key(40_000));
        c.add_alias(key(5060), key(40_000));
        assert!(c.sender(key(5060)).is_some());
        assert!(c.sender((Transport::Tls, key(5060).1)).is_none());
        c.remove(key(40_000), id);
        assert!(c.sender(key(5060)).is_none());
        assert_eq!(c.len(), 0);
    }

    #[test]
    fn a_stale_close_keeps_the_newer_connection() {
        let mut c = Connections::default();
        let (old, _rx1) = c.insert(key(5060));
        let (_new, _rx2) = c.insert(key(5060));
        c.remove(key(5060), old);
        assert!(c.sender(key(5060)).is_some());
    }

    #[test]
    fn alias_to_an_unknown_connection_is_ignored() {
        let mut c = Connections::default();
        c.add_alias(key(5060), key(40_000));
        assert!(c.sender(key(5060)).is_none());
    }
}
