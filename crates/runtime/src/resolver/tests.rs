#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::sync::Mutex;

use tandem_sip_msg::Uri;

use super::*;

/// Synthetic DNS that also records the queries made.
#[derive(Default)]
struct FakeDns {
    naptr: HashMap<String, Vec<Naptr>>,
    srv: HashMap<String, Vec<Srv>>,
    ip: HashMap<String, Vec<IpAddr>>,
    queries: Mutex<Vec<String>>,
}

impl FakeDns {
    fn log(&self, q: String) {
        self.queries.lock().unwrap().push(q);
    }
    fn queries(&self) -> Vec<String> {
        self.queries.lock().unwrap().clone()
    }
}

impl Dns for FakeDns {
    async fn naptr(&self, domain: &str) -> Vec<Naptr> {
        self.log(format!("NAPTR {domain}"));
        self.naptr.get(domain).cloned().unwrap_or_default()
    }
    async fn srv(&self, name: &str) -> Vec<Srv> {
        self.log(format!("SRV {name}"));
        self.srv.get(name).cloned().unwrap_or_default()
    }
    async fn ip(&self, host: &str) -> Vec<IpAddr> {
        self.log(format!("A/AAAA {host}"));
        self.ip.get(host).cloned().unwrap_or_default()
    }
}

fn naptr(order: u16, preference: u16, service: &str, replacement: &str) -> Naptr {
    Naptr {
        order,
        preference,
        flags: "s".to_owned(),
        service: service.to_owned(),
        replacement: replacement.to_owned(),
    }
}

fn srv(priority: u16, weight: u16, port: u16, target: &str) -> Srv {
    Srv {
        priority,
        weight,
        port,
        target: target.to_owned(),
    }
}

fn sip(uri: &str) -> SipUri {
    match Uri::parse(uri).unwrap() {
        Uri::Sip(u) => u,
        other => panic!("{other:?}"),
    }
}

fn resolver(dns: FakeDns) -> Resolver<FakeDns> {
    Resolver::new(dns, vec![Transport::Udp, Transport::Tcp, Transport::Tls], 7)
}

fn target(transport: Transport, addr: &str) -> Target {
    Target {
        transport,
        addr: addr.parse().unwrap(),
    }
}

fn block_on<F: Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(f)
}

#[test]
fn numeric_ip_needs_no_dns() {
    let mut r = resolver(FakeDns::default());
    let cases = [
        (
            "sip:bob@192.0.2.1",
            target(Transport::Udp, "192.0.2.1:5060"),
        ),
        (
            "sip:bob@192.0.2.1:5070",
            target(Transport::Udp, "192.0.2.1:5070"),
        ),
        (
            "sips:bob@192.0.2.1",
            target(Transport::Tls, "192.0.2.1:5061"),
        ),
        (
            "sip:bob@192.0.2.1;transport=tcp",
            target(Transport::Tcp, "192.0.2.1:5060"),
        ),
        (
            "sip:bob@192.0.2.1;transport=TLS",
            target(Transport::Tls, "192.0.2.1:5061"),
        ),
        (
            "sips:bob@192.0.2.1;transport=tcp",
            target(Transport::Tls, "192.0.2.1:5061"),
        ),
        (
            "sip:bob@[2001:db8::1]",
            target(Transport::Udp, "[2001:db8::1]:5060"),
        ),
        (
            "sip:bob@[::1]:5080;transport=tcp",
            target(Transport::Tcp, "[::1]:5080"),
        ),
        (
            "sip:bob@example.com;maddr=192.0.2.9",
            target(Transport::Udp, "192.0.2.9:5060"),
        ),
    ];
    for (uri, want) in cases {
        assert_eq!(block_on(r.resolve(&sip(uri))).unwrap(), vec![want], "{uri}");
    }
    assert!(r.dns.queries().is_empty(), "{:?}", r.dns.queries());
}

#[test]
fn unusable_transports_are_refused() {
    let mut r = Resolver::new(FakeDns::default(), vec![Transport::Udp, Transport::Tcp], 1);
    for uri in [
        "sips:bob@192.0.2.1;transport=udp",
        "sip:bob@192.0.2.1;transport=sctp",
        "sip:bob@192.0.2.1;transport=tls",
    ] {
        assert!(
            matches!(
                block_on(r.resolve(&sip(uri))),
                Err(ResolveError::Transport(_))
            ),
            "{uri}"
        );
    }
}

#[test]
fn explicit_port_queries_only_addresses() {
    let mut dns = FakeDns::default();
    dns.ip.insert(
        "pbx.example.com".to_owned(),
        vec!["192.0.2.5".parse().unwrap()],
    );
    let mut r = resolver(dns);
    let got = block_on(r.resolve(&sip("sip:bob@pbx.example.com:5080"))).unwrap();
    assert_eq!(got, vec![target(Transport::Udp, "192.0.2.5:5080")]);
    assert_eq!(r.dns.queries(), vec!["A/AAAA pbx.example.com"]);
}

#[test]
fn naptr_then_srv_then_addresses() {
    let mut dns = FakeDns::default();
    dns.naptr.insert(
        "example.com".to_owned(),
        vec![
            naptr(50, 50, "SIP+D2U", "_sip._udp.example.com."),
            naptr(50, 10, "SIP+D2T", "_sip._tcp.example.com."),
            naptr(10, 10, "SIP+D2X", "_sip._x.example.com."), // unknown service
            naptr(90, 10, "SIPS+D2T", "_sips._tcp.example.com."),
        ],
    );
    dns.srv.insert(
        "_sip._tcp.example.com".to_owned(),
        vec![srv(0, 0, 5070, "a.example.com.")],
    );
    dns.srv.insert(
        "_sip._udp.example.com".to_owned(),
        vec![srv(0, 0, 5060, "b.example.com.")],
    );
    dns.ip.insert(
        "a.example.com.".to_owned(),
        vec!["192.0.2.1".parse().unwrap(), "2001:db8::1".parse().unwrap()],
    );
    dns.ip.insert(
        "b.example.com.".to_owned(),
        vec!["192.0.2.2".parse().unwrap()],
    );
    let mut r = resolver(dns);
    let got = block_on(r.resolve(&sip("sip:bob@example.com"))).unwrap();
    assert_eq!(
        got,
        vec![
            target(Transport::Tcp, "192.0.2.1:5070"),
            target(Transport::Tcp, "[2001:db8::1]:5070"),
            target(Transport::Udp, "192.0.2.2:5060"),
        ]
    );
}

#[test]
fn sips_follows_only_tls_records() {
    let mut dns = FakeDns::default();
    dns.naptr.insert(
        "example.com".to_owned(),
        vec![
            naptr(10, 10, "SIP+D2U", "_sip._udp.example.com"),
            naptr(20, 10, "SIPS+D2T", "_sips._tcp.example.com"),
        ],
    );
    dns.srv.insert(
        "_sips._tcp.example.com".to_owned(),
        vec![srv(0, 0, 5061, "tls.example.com")],
    );
    dns.ip.insert(
        "tls.example.com".to_owned(),
        vec!["192.0.2.3".parse().unwrap()],
    );
    let mut r = resolver(dns);
    let got = block_on(r.resolve(&sip("sips:bob@example.com"))).unwrap();
    assert_eq!(got, vec![target(Transport::Tls, "192.0.2.3:5061")]);
}

#[test]
fn without_naptr_srv_is_tried_per_transport_then_a_records() {
    let mut dns = FakeDns::default();
    dns.srv.insert(
        "_sip._udp.example.org".to_owned(),
        vec![srv(0, 0, 5062, "u.example.org")],
    );
    dns.ip.insert(
        "u.example.org".to_owned(),
        vec!["192.0.2.7".parse().unwrap()],
    );
    dns.ip.insert(
        "bare.example.org".to_owned(),
        vec!["192.0.2.8".parse().unwrap()],
    );
    let mut r = resolver(dns);
    let got = block_on(r.resolve(&sip("sip:bob@example.org"))).unwrap();
    assert_eq!(got, vec![target(Transport::Udp, "192.0.2.7:5062")]);
    assert_eq!(
        r.dns.queries(),
        vec![
            "NAPTR example.org",
            "SRV _sip._udp.example.org",
            "A/AAAA u.example.org",
            "SRV _sip._tcp.example.org",
            "SRV _sips._tcp.example.org",
        ]
    );
    // No NAPTR and no SRV: A/AAAA with UDP on 5060.
    let got = block_on(r.resolve(&sip("sip:bob@bare.example.org"))).unwrap();
    assert_eq!(got, vec![target(Transport::Udp, "192.0.2.8:5060")]);
    // A transport parameter skips NAPTR and asks that transport's SRV.
    let got = block_on(r.resolve(&sip("sip:bob@bare.example.org;transport=tcp"))).unwrap();
    assert_eq!(got, vec![target(Transport::Tcp, "192.0.2.8:5060")]);
    assert!(r.dns.queries().ends_with(&[
        "SRV _sip._tcp.bare.example.org".to_owned(),
        "A/AAAA bare.example.org".to_owned()
    ]));
    assert!(matches!(
        block_on(r.resolve(&sip("sip:bob@nowhere.example"))),
        Err(ResolveError::NoAddress(_))
    ));
}

#[test]
fn srv_priority_comes_first_and_weights_share_the_traffic() {
    let records = vec![
        srv(20, 0, 1, "backup"),
        srv(10, 60, 2, "big"),
        srv(10, 20, 3, "small"),
        srv(10, 0, 4, "zero"),
    ];
    let mut rng = SmallRng::seed_from_u64(42);
    let mut first = HashMap::new();
    for _ in 0..10_000 {
        let order = order_srv(records.clone(), &mut rng);
        assert_eq!(order.len(), 4);
        assert_eq!(order[3].target, "backup");
        *first.entry(order[0].target.clone()).or_insert(0u32) += 1;
    }
    // Weights 60:20:0 over a draw in 0..=80: big ≈ 60/81, small ≈ 20/81, zero ≈ 1/81.
    let share = |t: &str| f64::from(first.get(t).copied().unwrap_or(0)) / 10_000.0;
    assert!((share("big") - 60.0 / 81.0).abs() < 0.03, "{first:?}");
    assert!((share("small") - 20.0 / 81.0).abs() < 0.03, "{first:?}");
    assert!(share("zero") < 0.03, "{first:?}");
}

#[test]
fn srv_order_is_repeatable_from_the_seed() {
    let records: Vec<Srv> = (0..8).map(|i| srv(0, 10, i, &format!("h{i}"))).collect();
    let a = order_srv(records.clone(), &mut SmallRng::seed_from_u64(3));
    let b = order_srv(records, &mut SmallRng::seed_from_u64(3));
    assert_eq!(a, b);
}

#[test]
fn a_lone_dot_target_means_no_service() {
    let mut rng = SmallRng::seed_from_u64(0);
    assert!(order_srv(vec![srv(0, 0, 5060, ".")], &mut rng).is_empty());
}

#[test]
fn naptr_selection_orders_and_filters() {
    let records = vec![
        naptr(20, 10, "SIP+D2U", "u"),
        naptr(10, 20, "SIP+D2T", "t"),
        naptr(10, 10, "SIP+D2W", "w"),
        naptr(5, 10, "E2U+sip", "e164"),
        Naptr {
            flags: "a".to_owned(),
            ..naptr(1, 1, "SIP+D2U", "not-srv")
        },
    ];
    let all = [
        Transport::Udp,
        Transport::Tcp,
        Transport::Tls,
        Transport::Ws,
    ];
    assert_eq!(
        select_naptr(&records, false, &all),
        vec![
            (Transport::Ws, "w".to_owned()),
            (Transport::Tcp, "t".to_owned()),
            (Transport::Udp, "u".to_owned()),
        ]
    );
    assert_eq!(
        select_naptr(&records, false, &[Transport::Udp]),
        vec![(Transport::Udp, "u".to_owned())]
    );
    assert!(select_naptr(&records, true, &all).is_empty());
}
