use std::cell::Cell;
use std::time::{Duration, Instant};

use bytes::Bytes;
use proptest::prelude::*;
use tandem_sip_msg::headers::Credentials;
use tandem_sip_msg::{Limits, Message};

use super::*;

const RFC_NONCE: &str = "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v";
const RFC_OPAQUE: &str = "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS";
const RFC_CNONCE: &str = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ";
const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

fn rfc_challenge(algorithm: &str) -> String {
    format!(
        "Digest realm=\"http-auth@example.org\", qop=\"auth, auth-int\", algorithm={algorithm}, \
         nonce=\"{RFC_NONCE}\", opaque=\"{RFC_OPAQUE}\""
    )
}

fn mufasa() -> DigestRequest<'static> {
    DigestRequest {
        method: "GET",
        uri: "/dir/index.html",
        username: "Mufasa",
        password: "Circle of Life",
        cnonce: RFC_CNONCE,
        nc: 1,
    }
}

fn server(now: Instant) -> DigestAuthenticator {
    let mut c = DigestConfig::new("example.com", SECRET);
    c.seed = 42;
    DigestAuthenticator::new(c, now).unwrap()
}

fn alice(user: &str, _realm: &str) -> Option<Secret> {
    (user == "alice").then(|| Secret::Password("wonderland".into()))
}

/// Answers the challenge for `algorithm` among `challenges`.
fn answer_with(challenges: &[String], algorithm: Algorithm, request: &DigestRequest<'_>) -> String {
    let c = challenges
        .iter()
        .find(|c| c.contains(&format!("algorithm={algorithm},")))
        .unwrap();
    DigestClient::authorize_with(c, request).unwrap()
}

fn req<'a>(user: &'a str, password: &'a str, nc: u32) -> DigestRequest<'a> {
    DigestRequest {
        method: "REGISTER",
        uri: "sip:example.com",
        username: user,
        password,
        cnonce: "0a4f113b",
        nc,
    }
}

fn verify(s: &mut DigestAuthenticator, now: Instant, value: &str) -> AuthOutcome {
    let c = Credentials::parse(value).unwrap();
    s.verify(now, "REGISTER", &[c], alice)
}

fn param<'a>(value: &'a str, name: &str) -> &'a str {
    let start = value.find(&format!("{name}=")).unwrap() + name.len() + 1;
    let rest = &value[start..];
    let end = rest.find(", ").unwrap_or(rest.len());
    rest[..end].trim_matches('"')
}

#[test]
fn rfc7616_section_3_9_1_vectors() {
    // RFC 7616 §3.9.1: the same request answered with SHA-256 and with MD5.
    for (alg, expected) in [
        (
            "SHA-256",
            "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1",
        ),
        ("MD5", "8ca523f5e9506fed4657c9700eebdbec"),
    ] {
        let v = DigestClient::authorize_with(&rfc_challenge(alg), &mufasa()).unwrap();
        assert_eq!(param(&v, "response"), expected, "{alg}");
        assert_eq!(param(&v, "opaque"), RFC_OPAQUE);
        assert_eq!(param(&v, "qop"), "auth");
        assert_eq!(param(&v, "nc"), "00000001");
        assert_eq!(param(&v, "cnonce"), RFC_CNONCE);
        assert_eq!(param(&v, "algorithm"), alg);
        assert_eq!(param(&v, "realm"), "http-auth@example.org");

        // The server computes the same digest: a correct answer to a nonce it did not
        // issue earns `stale=true`; the same answer with another password is refused.
        let now = Instant::now();
        let mut config = DigestConfig::new("http-auth@example.org", SECRET);
        config.algorithms = vec![Algorithm::Sha256, Algorithm::Md5];
        let mut s = DigestAuthenticator::new(config, now).unwrap();
        let creds = Credentials::parse(&v).unwrap();
        let pw = |p: &'static str| move |_: &str, _: &str| Some(Secret::Password(p.into()));
        assert_eq!(
            s.verify(
                now,
                "GET",
                std::slice::from_ref(&creds),
                pw("Circle of Life")
            ),
            AuthOutcome::Challenge { stale: true }
        );
        assert_eq!(
            s.verify(now, "GET", &[creds], pw("Circle of life")),
            AuthOutcome::Forbidden
        );
    }
    // SHA-256-sess: HA1 = H(H(user:realm:pw):nonce:cnonce) (computed independently).
    let v = DigestClient::authorize_with(&rfc_challenge("SHA-256-sess"), &mufasa()).unwrap();
    assert_eq!(
        param(&v, "response"),
        "2fd51b3a77ad75bad6afad6003e818d767133c46d9e2749e7f5232ae1ea3efd7"
    );
}

#[test]
fn rfc2617_vector_and_legacy_form() {
    // RFC 2617 §3.5.
    let challenge = "Digest realm=\"testrealm@host.com\", qop=\"auth,auth-int\", \
                     nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", \
                     opaque=\"5ccc069c403ebaf9f0171e9517f40e41\"";
    let r = DigestRequest {
        password: "Circle Of Life",
        cnonce: "0a4f113b",
        ..mufasa()
    };
    let v = DigestClient::authorize_with(challenge, &r).unwrap();
    assert_eq!(param(&v, "response"), "6629fae49393a05397450978507c4ef1");
    assert_eq!(param(&v, "algorithm"), "MD5");
    // Without qop: KD(HA1, nonce:HA2), and no cnonce, nc or qop in the answer.
    let legacy =
        "Digest realm=\"testrealm@host.com\", nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\"";
    let v = DigestClient::authorize_with(legacy, &r).unwrap();
    assert_eq!(param(&v, "response"), "670fd8c2df070c60b045671b8b24ff02");
    for absent in ["cnonce=", "nc=", "qop=", "opaque="] {
        assert!(!v.contains(absent), "{v}");
    }
}

#[test]
fn challenge_shape() {
    let now = Instant::now();
    let mut s = server(now);
    let c = s.challenge(now, false);
    assert_eq!(c.len(), 2);
    let nonce = param(&c[0], "nonce").to_owned();
    assert_eq!(nonce.len(), 64);
    assert_eq!(
        c[0],
        format!("Digest realm=\"example.com\", nonce=\"{nonce}\", algorithm=SHA-256, qop=\"auth\"")
    );
    assert_eq!(
        c[1],
        format!("Digest realm=\"example.com\", nonce=\"{nonce}\", algorithm=MD5, qop=\"auth\"")
    );
    let stale = s.challenge(now, true);
    assert!(stale.iter().all(|c| c.ends_with(", stale=true")));
    assert_ne!(
        param(&stale[0], "nonce"),
        nonce,
        "every challenge has a fresh nonce"
    );
    assert_eq!(DigestClient::select(&c), Some(c[0].as_str()));
    assert!(format!("{:?}", s.config()).contains("<redacted>"));
    assert_eq!(
        format!("{:?}", Secret::Password("x".into())),
        "Password(<redacted>)"
    );
}

#[test]
fn round_trips() {
    let now = Instant::now();
    for alg in Algorithm::PREFERENCE {
        let mut config = DigestConfig::new("example.com", SECRET);
        config.algorithms = vec![alg];
        let mut s = DigestAuthenticator::new(config, now).unwrap();
        let c = s.challenge(now, false);
        let v = answer_with(&c, alg, &req("alice", "wonderland", 1));
        assert_eq!(
            verify(&mut s, now, &v),
            AuthOutcome::Ok {
                username: "alice".into()
            },
            "{alg}"
        );
        // HA1 instead of the password.
        let ha1 = base_ha1(alg.hash(), "bob", "example.com", b"builder").to_uppercase();
        let secret = match alg.hash() {
            Hash::Md5 => Secret::Ha1 {
                md5: Some(ha1),
                sha256: None,
                sha512_256: None,
            },
            Hash::Sha256 => Secret::Ha1 {
                md5: None,
                sha256: Some(ha1),
                sha512_256: None,
            },
            Hash::Sha512Trunc256 => Secret::Ha1 {
                md5: None,
                sha256: None,
                sha512_256: Some(ha1),
            },
        };
        let v = answer_with(&c, alg, &req("bob", "builder", 2));
        let creds = Credentials::parse(&v).unwrap();
        assert_eq!(
            s.verify(now, "REGISTER", std::slice::from_ref(&creds), |_, _| Some(
                secret.clone()
            )),
            AuthOutcome::Ok {
                username: "bob".into()
            }
        );
        // An HA1 stored only for another hash fails like a wrong password.
        let other = Secret::Ha1 {
            md5: None,
            sha256: None,
            sha512_256: None,
        };
        assert_eq!(
            s.verify(now, "REGISTER", &[creds], |_, _| Some(other.clone())),
            AuthOutcome::Forbidden
        );
    }
    // The stateful client over a whole exchange, through the request's Authorization.
    let mut s = server(now);
    let mut client = DigestClient::new(1);
    let c = s.challenge(now, false);
    for n in 1..=3 {
        let v = client
            .authorize(
                DigestClient::select(&c).unwrap(),
                "REGISTER",
                "sip:example.com",
                "alice",
                "wonderland",
            )
            .unwrap();
        assert_eq!(param(&v, "nc"), format!("{n:08x}"));
        let text = format!(
            "REGISTER sip:example.com SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK{n}\r\n\
             From: <sip:alice@example.com>;tag=1\r\nTo: <sip:alice@example.com>\r\n\
             Call-ID: c\r\nCSeq: {n} REGISTER\r\nAuthorization: {v}\r\nContent-Length: 0\r\n\r\n"
        );
        let m = Message::parse(Bytes::from(text), &Limits::default()).unwrap();
        assert_eq!(
            s.verify_request(now, &m, AuthKind::Www, alice),
            AuthOutcome::Ok {
                username: "alice".into()
            }
        );
        // The same credentials in Proxy-Authorization are not looked at for `Www`.
        assert_eq!(
            s.verify_request(now, &m, AuthKind::Proxy, alice),
            AuthOutcome::Challenge { stale: false }
        );
    }
    // The method is bound into HA2.
    let v = answer_with(&c, Algorithm::Sha256, &req("alice", "wonderland", 9));
    let creds = Credentials::parse(&v).unwrap();
    assert_eq!(
        s.verify(now, "INVITE", &[creds], alice),
        AuthOutcome::Forbidden
    );
}

#[test]
fn stale_nonce() {
    let t0 = Instant::now();
    let mut s = server(t0);
    let c = s.challenge(t0, false);
    let lifetime = s.config().nonce_lifetime;
    let v1 = answer_with(&c, Algorithm::Sha256, &req("alice", "wonderland", 1));
    let v2 = answer_with(&c, Algorithm::Sha256, &req("alice", "wonderland", 2));
    let v3 = answer_with(&c, Algorithm::Sha256, &req("alice", "nope", 3));
    let just_before = t0 + lifetime - Duration::from_millis(1);
    assert!(matches!(
        verify(&mut s, just_before, &v1),
        AuthOutcome::Ok { .. }
    ));
    assert_eq!(s.tracked_nonces(), 1);
    assert_eq!(
        verify(&mut s, t0 + lifetime, &v2),
        AuthOutcome::Challenge { stale: true }
    );
    // Expired nonces are forgotten.
    assert_eq!(s.tracked_nonces(), 0);
    // A wrong password never earns `stale=true`.
    assert_eq!(verify(&mut s, t0 + lifetime, &v3), AuthOutcome::Forbidden);
    // A nonce from the future (clock origin) or of another instance is unusable.
    let mut other = DigestAuthenticator::new(
        DigestConfig {
            seed: 43,
            ..s.config().clone()
        },
        t0,
    )
    .unwrap();
    let c = other.challenge(t0, false);
    let v = answer_with(&c, Algorithm::Md5, &req("alice", "wonderland", 1));
    assert_eq!(
        verify(&mut s, t0, &v),
        AuthOutcome::Challenge { stale: true }
    );
    assert!(matches!(verify(&mut other, t0, &v), AuthOutcome::Ok { .. }));
}

#[test]
fn replayed_nonce_count() {
    let now = Instant::now();
    let mut s = server(now);
    let c = s.challenge(now, false);
    let v = |nc| answer_with(&c, Algorithm::Sha256, &req("alice", "wonderland", nc));
    assert!(matches!(verify(&mut s, now, &v(1)), AuthOutcome::Ok { .. }));
    assert_eq!(
        verify(&mut s, now, &v(1)),
        AuthOutcome::Challenge { stale: true }
    );
    assert!(matches!(verify(&mut s, now, &v(5)), AuthOutcome::Ok { .. }));
    assert_eq!(
        verify(&mut s, now, &v(3)),
        AuthOutcome::Challenge { stale: true }
    );
    assert_eq!(
        verify(&mut s, now, &v(5)),
        AuthOutcome::Challenge { stale: true }
    );
    assert!(matches!(verify(&mut s, now, &v(6)), AuthOutcome::Ok { .. }));
    // A wrong answer does not advance the count.
    let bad = answer_with(&c, Algorithm::Sha256, &req("alice", "x", 100));
    assert_eq!(verify(&mut s, now, &bad), AuthOutcome::Forbidden);
    assert!(matches!(verify(&mut s, now, &v(7)), AuthOutcome::Ok { .. }));
}

#[test]
fn tracking_is_bounded() {
    let now = Instant::now();
    let mut config = DigestConfig::new("example.com", SECRET);
    config.max_tracked_nonces = 2;
    let mut s = DigestAuthenticator::new(config, now).unwrap();
    let challenges: Vec<_> = (0..3)
        .map(|i| s.challenge(now + Duration::from_millis(i), false))
        .collect();
    let at = now + Duration::from_secs(1);
    for c in &challenges {
        let v = answer_with(c, Algorithm::Sha256, &req("alice", "wonderland", 1));
        assert!(matches!(verify(&mut s, at, &v), AuthOutcome::Ok { .. }));
        assert!(s.tracked_nonces() <= 2);
    }
    // The oldest nonce was evicted while alive: its count is unknown, so it is stale.
    let v = answer_with(
        &challenges[0],
        Algorithm::Sha256,
        &req("alice", "wonderland", 2),
    );
    assert_eq!(
        verify(&mut s, at, &v),
        AuthOutcome::Challenge { stale: true }
    );
    let v = answer_with(
        &challenges[2],
        Algorithm::Sha256,
        &req("alice", "wonderland", 2),
    );
    assert!(matches!(verify(&mut s, at, &v), AuthOutcome::Ok { .. }));
}

#[test]
fn unknown_user_and_wrong_password_are_indistinguishable() {
    let now = Instant::now();
    let mut s = server(now);
    let c = s.challenge(now, false);
    let mut outcomes = Vec::new();
    for (user, password) in [
        ("alice", "guess"),
        ("mallory", "guess"),
        ("mallory", "wonderland"),
    ] {
        for alg in [Algorithm::Sha256, Algorithm::Md5] {
            let v = answer_with(&c, alg, &req(user, password, 1));
            let calls = Cell::new(0);
            let creds = Credentials::parse(&v).unwrap();
            let o = s.verify(now, "REGISTER", &[creds], |u, r| {
                calls.set(calls.get() + 1);
                alice(u, r)
            });
            assert_eq!(calls.get(), 1, "the lookup runs once either way");
            outcomes.push(o);
        }
    }
    assert!(
        outcomes.iter().all(|o| *o == AuthOutcome::Forbidden),
        "{outcomes:?}"
    );
    // The challenge that follows does not depend on who asked: same text but the nonce.
    let strip = |v: Vec<String>| {
        v.into_iter()
            .map(|c| c.replace(param(&c, "nonce"), "N"))
            .collect::<Vec<_>>()
    };
    let after_unknown = strip(s.challenge(now, false));
    let after_wrong = strip(s.challenge(now, false));
    assert_eq!(after_unknown, after_wrong);
    assert_eq!(
        after_unknown[0],
        "Digest realm=\"example.com\", nonce=\"N\", algorithm=SHA-256, qop=\"auth\""
    );
}

#[test]
fn credentials_not_for_us_get_a_challenge() {
    let now = Instant::now();
    let mut s = server(now);
    assert_eq!(
        s.verify(now, "REGISTER", &[], alice),
        AuthOutcome::Challenge { stale: false }
    );
    let c = s.challenge(now, false);
    let v = answer_with(&c, Algorithm::Sha256, &req("alice", "wonderland", 1));
    let other_realm = v.replace("realm=\"example.com\"", "realm=\"example.org\"");
    assert_eq!(
        verify(&mut s, now, &other_realm),
        AuthOutcome::Challenge { stale: false }
    );
    // RFC 4475 §3.3.7 regaut01: an unknown scheme; the registrar challenges with Digest.
    let raw = include_bytes!("../../../sip-msg/tests/data/rfc4475/regaut01.dat");
    let m = Message::parse(Bytes::from_static(raw), &Limits::default()).unwrap();
    assert_eq!(
        s.verify_request(now, &m, AuthKind::Www, alice),
        AuthOutcome::Challenge { stale: false }
    );
}

#[test]
fn malformed_credentials_are_forbidden() {
    let now = Instant::now();
    let mut s = server(now);
    let c = s.challenge(now, false);
    let good = answer_with(&c, Algorithm::Sha256, &req("alice", "wonderland", 1));
    let nc = param(&good, "nc").to_owned();
    let response = param(&good, "response").to_owned();
    for bad in [
        good.replace(", qop=auth", ""),
        good.replace("qop=auth", "qop=auth-int"),
        good.replace(&format!("nc={nc}"), "nc=1"),
        good.replace(&format!("nc={nc}"), "nc=00000000"),
        good.replace(&format!("nc={nc}"), "nc=0000000g"),
        good.replace("cnonce=\"0a4f113b\"", "cnonce=\"\""),
        good.replace("algorithm=SHA-256", "algorithm=SHA-512-256"),
        good.replace("algorithm=SHA-256", "algorithm=SHA-1"),
        good.replace("algorithm=SHA-256", "algorithm=MD5"),
        good.replace(&response, &response[..32]),
        good.replace("uri=\"sip:example.com\", ", ""),
        good.replace("username=\"alice\", ", ""),
        format!("{good}, userhash=true"),
    ] {
        assert_eq!(verify(&mut s, now, &bad), AuthOutcome::Forbidden, "{bad}");
    }
    // Upper-case hex in the response is accepted.
    let upper = good.replace(&response, &response.to_uppercase());
    assert!(matches!(
        verify(&mut s, now, &upper),
        AuthOutcome::Ok { .. }
    ));
}

#[test]
fn client_errors_and_selection() {
    let r = mufasa();
    let e = |c: &str| DigestClient::authorize_with(c, &r).unwrap_err();
    assert_eq!(e("Basic realm=\"x\""), AuthError::NotDigest);
    assert_eq!(e("Digest nonce=\"n\""), AuthError::MissingParam("realm"));
    assert_eq!(e("Digest realm=\"r\""), AuthError::MissingParam("nonce"));
    assert_eq!(
        e("Digest realm=\"r\", nonce=\"n\", algorithm=SHA-1"),
        AuthError::UnsupportedAlgorithm("SHA-1".into())
    );
    assert_eq!(
        e("Digest realm=\"r\", nonce=\"n\", qop=\"auth-int\""),
        AuthError::UnsupportedQop("auth-int".into())
    );
    assert!(matches!(
        e("Digest realm=\"unterminated"),
        AuthError::Malformed(_)
    ));
    let ok = "Digest realm=\"r\", nonce=\"n\", qop=\"auth\"";
    assert_eq!(
        DigestClient::authorize_with(ok, &DigestRequest { nc: 0, ..r }).unwrap_err(),
        AuthError::ZeroNonceCount
    );
    assert_eq!(
        DigestClient::authorize_with(
            ok,
            &DigestRequest {
                username: "a\r\nb",
                ..r
            }
        )
        .unwrap_err(),
        AuthError::InvalidValue("username")
    );
    let v = DigestClient::authorize_with(
        ok,
        &DigestRequest {
            username: "a\"b\\c",
            ..r
        },
    )
    .unwrap();
    assert!(v.starts_with(r#"Digest username="a\"b\\c", "#), "{v}");
    assert_eq!(
        Credentials::parse(&v).unwrap().param("username").unwrap(),
        "a\"b\\c"
    );
    let list = [
        "Basic realm=\"r\"",
        "Digest realm=\"r\", nonce=\"n\", algorithm=SHA-1",
        "Digest realm=\"r\", nonce=\"n\", algorithm=MD5",
    ];
    assert_eq!(DigestClient::select(&list), Some(list[2]));
    assert_eq!(DigestClient::select(&list[..2]), None);
}

#[test]
fn config_errors() {
    let now = Instant::now();
    let base = DigestConfig::new("example.com", SECRET);
    let err = |c: DigestConfig| DigestAuthenticator::new(c, now).unwrap_err();
    assert_eq!(
        err(DigestConfig {
            realm: String::new(),
            ..base.clone()
        }),
        DigestConfigError::BadRealm
    );
    assert_eq!(
        err(DigestConfig {
            algorithms: vec![],
            ..base.clone()
        }),
        DigestConfigError::BadAlgorithms
    );
    assert_eq!(
        err(DigestConfig {
            algorithms: vec![Algorithm::Md5, Algorithm::Md5],
            ..base.clone()
        }),
        DigestConfigError::BadAlgorithms
    );
    assert_eq!(
        err(DigestConfig {
            secret: b"short".to_vec(),
            ..base.clone()
        }),
        DigestConfigError::WeakSecret
    );
    assert_eq!(
        err(DigestConfig {
            max_tracked_nonces: 0,
            ..base
        }),
        DigestConfigError::ZeroLimit
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Any header text: no panic, and never `Ok`.
    #[test]
    fn arbitrary_credentials_never_panic(value in "\\PC{0,200}") {
        let now = Instant::now();
        let mut s = server(now);
        if let Ok(c) = Credentials::parse(&value) {
            let o = s.verify(now, "REGISTER", &[c], alice);
            prop_assert!(!matches!(o, AuthOutcome::Ok { .. }), "accepted: {:?}", o);
        }
        let _ = DigestClient::authorize_with(&value, &mufasa());
        let _ = DigestClient::new(1).authorize(&value, "REGISTER", "sip:x", "u", "p");
    }

    /// Digest-shaped credentials with arbitrary field values.
    #[test]
    fn arbitrary_digest_fields_never_panic(
        user in "[^\"\\\\]{0,20}",
        nonce in "[0-9a-fA-F]{0,70}",
        nc in "[0-9a-zA-Z]{0,10}",
        alg in "(MD5|SHA-256|sha-256|SHA-512-256|MD5-sess|x{0,3})",
        qop in "(auth|auth-int|)",
        response in "[0-9a-f]{0,70}",
    ) {
        let now = Instant::now();
        let mut s = server(now);
        let v = format!(
            "Digest username=\"{user}\", realm=\"example.com\", nonce=\"{nonce}\", \
             uri=\"sip:example.com\", response=\"{response}\", algorithm={alg}, \
             cnonce=\"c\", qop={qop}, nc={nc}"
        );
        if let Ok(c) = Credentials::parse(&v) {
            let o = s.verify(now, "REGISTER", &[c], alice);
            prop_assert!(!matches!(o, AuthOutcome::Ok { .. }), "accepted: {:?}", o);
        }
    }
}
