//! `Via` (RFC 3261 §20.42, §18.2.1; RFC 3581 rport; RFC 5118 §4.5 IPv6 `received`).

use super::{TypedHeader, bad};
use crate::error::HeaderError;
use crate::header::HeaderName;
use crate::lex::{Cursor, Param, find_param};
use crate::uri::{Host, parse_host, parse_port};

/// One Via value: `SIP/2.0/UDP host:port;branch=...;received=...;rport`.
///
/// LWS is allowed around the slashes and before parameters (RFC 4475 §3.1.1.1); the
/// transport is any token (RFC 4475 §3.1.1.10) and compares case-insensitively.
#[derive(Debug, Clone, PartialEq)]
pub struct Via<'a> {
    /// `SIP` as written.
    pub protocol_name: &'a str,
    /// `2.0` as written.
    pub protocol_version: &'a str,
    /// `UDP`, `TCP`, `TLS`, `SCTP`, `WS`, ... as written.
    pub transport: &'a str,
    /// sent-by host.
    pub host: Host,
    /// sent-by port.
    pub port: Option<u16>,
    /// via-params in order.
    pub params: Vec<Param<'a>>,
}

impl<'a> Via<'a> {
    /// Parses one Via value.
    pub fn parse(v: &'a str) -> Result<Self, &'static str> {
        let mut c = Cursor::new(v);
        let protocol_name = c.token().ok_or("missing protocol name")?;
        if !c.eat(b'/') {
            return Err("missing / after protocol name");
        }
        let protocol_version = c.token().ok_or("missing protocol version")?;
        if !c.eat(b'/') {
            return Err("missing / after protocol version");
        }
        let transport = c.token().ok_or("missing transport")?;
        c.skip_lws();
        let (host, after) = parse_host(c.rest()).map_err(|_| "invalid sent-by host")?;
        let mut c = Cursor::new(after);
        let mut port = None;
        if c.eat(b':') {
            c.skip_lws();
            let p = c.take_while(|b| b.is_ascii_digit());
            port = Some(parse_port(p).map_err(|_| "invalid sent-by port")?);
        }
        let params = c.params()?;
        c.end()?;
        let via = Self {
            protocol_name,
            protocol_version,
            transport,
            host,
            port,
            params,
        };
        if via.branch() == Some("") {
            return Err("empty branch");
        }
        Ok(via)
    }

    /// A parameter by case-insensitive name.
    pub fn param(&self, name: &str) -> Option<&Param<'a>> {
        find_param(&self.params, name)
    }

    /// The `branch` parameter (RFC 3261 §8.1.1.7).
    pub fn branch(&self) -> Option<&'a str> {
        self.param("branch").and_then(|p| p.value)
    }

    /// True when the branch carries the RFC 3261 magic cookie `z9hG4bK` (§8.1.1.7).
    pub fn has_rfc3261_branch(&self) -> bool {
        self.branch().is_some_and(|b| b.starts_with("z9hG4bK"))
    }

    /// The `received` parameter, brackets of an IPv6 reference kept as written
    /// (RFC 5118 §4.5).
    pub fn received(&self) -> Option<&'a str> {
        self.param("received").and_then(|p| p.value)
    }

    /// `rport` (RFC 3581): `None` absent, `Some(None)` flag only, `Some(Some(port))` filled.
    pub fn rport(&self) -> Option<Option<u16>> {
        self.param("rport")
            .map(|p| p.value.and_then(|v| v.parse().ok()))
    }

    /// The `maddr` parameter.
    pub fn maddr(&self) -> Option<&'a str> {
        self.param("maddr").and_then(|p| p.value)
    }

    /// The `ttl` parameter.
    pub fn ttl(&self) -> Option<u8> {
        self.param("ttl")
            .and_then(|p| p.value)
            .and_then(|v| v.parse().ok())
    }

    /// Case-insensitive transport check (`via.is_transport("udp")`).
    pub fn is_transport(&self, t: &str) -> bool {
        self.transport.eq_ignore_ascii_case(t)
    }
}

impl<'a> TypedHeader<'a> for Via<'a> {
    const NAME: HeaderName = HeaderName::Via;
    const LIST: bool = true;
    fn decode(v: &'a str) -> Result<Self, HeaderError> {
        Self::parse(v).map_err(|w| bad(&Self::NAME, w))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folded_and_spaced() {
        let v = Via::parse("SIP  /   2.0\r\n /UDP\r\n    192.0.2.2;branch=390skdjuw").unwrap();
        assert_eq!(
            (v.protocol_name, v.protocol_version, v.transport),
            ("SIP", "2.0", "UDP")
        );
        assert_eq!(v.branch(), Some("390skdjuw"));
        let v = Via::parse("SIP  /    2.0   / UDP  192.168.255.111   ; branch=\r\n z9hG4bK30239")
            .unwrap();
        assert_eq!(v.branch(), Some("z9hG4bK30239"));
        assert!(v.has_rfc3261_branch());
    }

    #[test]
    fn ipv6_and_params() {
        let v = Via::parse(
            "SIP/2.0/UDP [2001:db8::9:1]:6050;received=2001:db8::9:255;branch=z9hG4bKas3;rport",
        )
        .unwrap();
        assert_eq!(v.host, Host::Ipv6("2001:db8::9:1".into()));
        assert_eq!(v.port, Some(6050));
        assert_eq!(v.received(), Some("2001:db8::9:255"));
        assert_eq!(v.branch(), Some("z9hG4bKas3"));
        assert_eq!(v.rport(), Some(None));
        let v = Via::parse("SIP/2.0/tcp h:5060;received=[2001:db8::9:255];rport=7").unwrap();
        assert_eq!(v.received(), Some("[2001:db8::9:255]"));
        assert_eq!(v.rport(), Some(Some(7)));
        assert!(v.is_transport("TCP"));
    }

    #[test]
    fn rejects() {
        for v in [
            "SIP/2.0/UDP 192.0.2.15;;",
            ";",
            "",
            "SIP/2.0 h",
            "SIP/2.0/UDP",
            "SIP/2.0/UDP h:x",
            "SIP/2.0/UDP h;branch=",
        ] {
            assert!(Via::parse(v).is_err(), "{v}");
        }
    }
}
