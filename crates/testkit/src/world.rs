//! Several SIP endpoints on one simulated network, run in virtual time.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use tandem_sip_core::{Endpoint, EndpointConfig, Event, Flow, Output, Transport};

use crate::{LinkConfig, SimNet, VirtualClock};

/// What a node's script does when its endpoint reports an event.
pub type Script = Box<dyn FnMut(&mut Endpoint, Instant, &Event)>;

/// One SIP endpoint at one address, with the events it reported.
pub struct Node {
    /// Its address (UDP).
    pub addr: SocketAddr,
    /// The endpoint under test.
    pub endpoint: Endpoint,
    /// Every event it reported, with the virtual time.
    pub events: Vec<(Instant, Event)>,
    script: Option<Script>,
    deadline: Option<Instant>,
}

impl std::fmt::Debug for Node {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Node")
            .field("addr", &self.addr)
            .field("events", &self.events.len())
            .finish()
    }
}

/// Endpoints, a network and a clock.
#[derive(Debug)]
pub struct World {
    /// The virtual clock.
    pub clock: VirtualClock,
    /// The network between the nodes.
    pub net: SimNet,
    /// The nodes, in the order added.
    pub nodes: Vec<Node>,
}

/// Handle of a node in a [`World`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NodeId(pub usize);

impl World {
    /// An empty world whose links behave as `link`, with impairments drawn from `seed`.
    pub fn new(seed: u64, link: LinkConfig) -> Self {
        Self {
            clock: VirtualClock::new(),
            net: SimNet::new(seed, link),
            nodes: Vec::new(),
        }
    }

    /// Adds an endpoint at `addr` (its RNG seeded from `seed`).
    pub fn add_node(&mut self, addr: &str, config: EndpointConfig) -> NodeId {
        let addr: SocketAddr = addr
            .parse()
            .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 5060)));
        self.nodes.push(Node {
            addr,
            endpoint: Endpoint::new(config),
            events: Vec::new(),
            script: None,
            deadline: None,
        });
        NodeId(self.nodes.len() - 1)
    }

    /// Sets what node `id` does on each event.
    pub fn set_script(
        &mut self,
        id: NodeId,
        script: impl FnMut(&mut Endpoint, Instant, &Event) + 'static,
    ) {
        if let Some(n) = self.nodes.get_mut(id.0) {
            n.script = Some(Box::new(script));
        }
    }

    /// The flow from node `from` to node `to` over UDP.
    pub fn flow(&self, from: NodeId, to: NodeId) -> Flow {
        Flow {
            transport: Transport::Udp,
            local: self.nodes[from.0].addr,
            remote: self.nodes[to.0].addr,
        }
    }

    /// Node `id`.
    pub fn node(&mut self, id: NodeId) -> &mut Node {
        &mut self.nodes[id.0]
    }

    /// Runs node `id`'s endpoint through `f` (a command), then processes its outputs.
    pub fn command<R>(&mut self, id: NodeId, f: impl FnOnce(&mut Endpoint, Instant) -> R) -> R {
        let now = self.clock.now();
        let r = f(&mut self.nodes[id.0].endpoint, now);
        self.drain(id.0);
        r
    }

    /// Runs until nothing is in flight and no timer is pending, or `limit` of virtual time
    /// has passed. Returns the virtual time spent.
    pub fn run_for(&mut self, limit: Duration) -> Duration {
        let start = self.clock.now();
        let end = start + limit;
        for i in 0..self.nodes.len() {
            self.drain(i);
        }
        loop {
            let next_net = self.net.next_delivery();
            let next_timer = self.nodes.iter().filter_map(|n| n.deadline).min();
            let Some(next) = [next_net, next_timer].into_iter().flatten().min() else {
                break;
            };
            if next > end {
                self.clock.advance_to(end);
                break;
            }
            self.clock.advance_to(next);
            let now = self.clock.now();
            while let Some(d) = self.net.poll_delivery(now) {
                if let Some(i) = self.nodes.iter().position(|n| n.addr == d.to) {
                    let flow = Flow {
                        transport: Transport::Udp,
                        local: d.to,
                        remote: d.from,
                    };
                    self.nodes[i].endpoint.handle_datagram(now, flow, d.payload);
                    self.drain(i);
                }
            }
            for i in 0..self.nodes.len() {
                if self.nodes[i].deadline.is_some_and(|t| t <= now) {
                    self.nodes[i].endpoint.handle_timeout(now);
                    self.drain(i);
                }
            }
        }
        self.clock.now() - start
    }

    /// Delivers raw bytes to node `to` as if sent from `from` (for malformed input).
    pub fn inject(&mut self, from: SocketAddr, to: NodeId, payload: Bytes) {
        let now = self.clock.now();
        let addr = self.nodes[to.0].addr;
        self.net.send(now, from, addr, payload);
    }

    fn drain(&mut self, i: usize) {
        let now = self.clock.now();
        loop {
            let node = &mut self.nodes[i];
            match node.endpoint.poll_output() {
                Output::Transmit(t) => self.net.send(now, t.flow.local, t.flow.remote, t.payload),
                Output::Event(e) => {
                    if let Some(script) = node.script.as_mut() {
                        script(&mut node.endpoint, now, &e);
                    }
                    node.events.push((now, e));
                }
                Output::Timeout(deadline) => {
                    node.deadline = deadline;
                    break;
                }
            }
        }
    }
}
