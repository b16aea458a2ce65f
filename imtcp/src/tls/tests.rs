//! The TLS layer against a rustls client, in memory: every authMode branch,
//! each chain outcome, the priority string, garbage and aborted handshakes.

use super::chain::ChainError;
use super::*;
use rcgen::{
    BasicConstraints, CertificateParams, CertificateRevocationListParams, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyIdMethod, KeyPair, KeyUsagePurpose, RevokedCertParams, SerialNumber,
};
use rsyslog_ffi::host::HostFamily;
use rustls::pki_types::{PrivatePkcs8KeyDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore};
use std::io::Write as _;

struct Ca {
    params: CertificateParams,
    key: KeyPair,
    pem: String,
    der: CertificateDer<'static>,
}

fn ca(name: &str) -> Ca {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.distinguished_name.push(DnType::CommonName, name);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let cert = params.self_signed(&key).unwrap();
    Ca {
        pem: cert.pem(),
        der: cert.der().clone(),
        params,
        key,
    }
}

struct Leaf {
    pem: String,
    der: CertificateDer<'static>,
    key_pem: String,
    key_der: Vec<u8>,
    serial: u64,
}

#[derive(Clone)]
struct LeafSpec {
    cn: &'static str,
    san: Vec<&'static str>,
    eku: Vec<ExtendedKeyUsagePurpose>,
    expired: bool,
    not_yet: bool,
    serial: u64,
    is_ca: bool,
}

fn client_spec(cn: &'static str) -> LeafSpec {
    LeafSpec {
        cn,
        san: vec![cn],
        eku: vec![ExtendedKeyUsagePurpose::ClientAuth],
        expired: false,
        not_yet: false,
        serial: 1000,
        is_ca: false,
    }
}

fn leaf(issuer: &Ca, s: &LeafSpec) -> (Leaf, Option<Ca>) {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(s.san.iter().map(|x| x.to_string()).collect::<Vec<_>>()).unwrap();
    params.distinguished_name.push(DnType::CommonName, s.cn);
    params.extended_key_usages = s.eku.clone();
    params.serial_number = Some(SerialNumber::from(s.serial));
    if s.is_ca {
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    }
    if s.expired {
        params.not_before = rcgen::date_time_ymd(2020, 1, 1);
        params.not_after = rcgen::date_time_ymd(2021, 1, 1);
    }
    if s.not_yet {
        params.not_before = rcgen::date_time_ymd(2090, 1, 1);
        params.not_after = rcgen::date_time_ymd(2091, 1, 1);
    }
    let iss = Issuer::from_params(&issuer.params, &issuer.key);
    let cert = params.signed_by(&key, &iss).unwrap();
    let l = Leaf {
        pem: cert.pem(),
        der: cert.der().clone(),
        key_pem: key.serialize_pem(),
        key_der: key.serialize_der(),
        serial: s.serial,
    };
    let as_ca = s.is_ca.then(|| Ca {
        pem: l.pem.clone(),
        der: l.der.clone(),
        params,
        key,
    });
    (l, as_ca)
}

struct Pki {
    dir: tempdir::Dir,
    ca: Ca,
    files: TlsFiles,
}

mod tempdir {
    pub struct Dir(pub std::path::PathBuf);
    impl Dir {
        pub fn new() -> Dir {
            static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
            let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let p = std::env::temp_dir().join(format!("imtcp-tls-{}-{n}", std::process::id()));
            std::fs::create_dir_all(&p).unwrap();
            Dir(p)
        }
        pub fn file(&self, name: &str, content: &str) -> String {
            let p = self.0.join(name);
            std::fs::write(&p, content).unwrap();
            p.to_string_lossy().into_owned()
        }
    }
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

fn pki() -> Pki {
    let dir = tempdir::Dir::new();
    let ca = ca("rsyslog test CA");
    let (srv, _) = leaf(
        &ca,
        &LeafSpec {
            eku: vec![ExtendedKeyUsagePurpose::ServerAuth],
            ..client_spec("localhost")
        },
    );
    let files = TlsFiles {
        ca: Some(dir.file("ca.pem", &ca.pem)),
        cert: Some(dir.file("srv.pem", &srv.pem)),
        key: Some(dir.file("srv-key.pem", &srv.key_pem)),
        ..TlsFiles::default()
    };
    Pki { dir, ca, files }
}

fn policy(auth: AuthMode) -> PeerPolicy {
    PeerPolicy {
        driver: Driver::Gtls,
        host: HostFamily::V2504,
        auth,
        expired: Expired::Deny,
        check_purpose: false,
        prioritize_san: false,
        verify_depth: 0,
        permitted: Vec::new(),
    }
}

fn client_config(
    p: &Pki,
    cert: Option<(&[CertificateDer<'static>], &Leaf)>,
    versions: &[&'static rustls::SupportedProtocolVersion],
) -> Arc<ClientConfig> {
    let mut roots = RootCertStore::empty();
    roots.add(p.ca.der.clone()).unwrap();
    let b = ClientConfig::builder_with_protocol_versions(versions).with_root_certificates(roots);
    let c = match cert {
        Some((chain, l)) => b
            .with_client_auth_cert(
                chain.to_vec(),
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(l.key_der.clone())),
            )
            .unwrap(),
        None => b.with_no_client_auth(),
    };
    Arc::new(c)
}

/// Runs a session to the end of the handshake and sends `data`; returns what
/// the server passed on, or its failure.
fn exchange(server: &TlsServer, client: Arc<ClientConfig>, data: &[u8]) -> Result<Vec<u8>, TlsFailure> {
    let mut c = ClientConnection::new(client, ServerName::try_from("localhost").unwrap()).unwrap();
    let mut s = TlsSession::new(server).unwrap();
    let mut got = Vec::new();
    let mut scratch = vec![0u8; 4096];
    let mut sent = false;
    for _ in 0..20 {
        if !c.is_handshaking() && !sent {
            c.writer().write_all(data).unwrap();
            sent = true;
        }
        let mut wire = Vec::new();
        while c.wants_write() {
            c.write_tls(&mut wire).unwrap();
        }
        let r = s.feed(&wire, &mut scratch, &mut |b| got.extend_from_slice(b));
        let mut back = Vec::new();
        s.flush(&mut back).unwrap();
        r?;
        if !back.is_empty() {
            c.read_tls(&mut &back[..]).unwrap();
            // A client that sees an alert fails here; the server's view is what is tested.
            let _ = c.process_new_packets();
        }
        if sent && got.len() >= data.len() {
            break;
        }
    }
    Ok(got)
}

fn server(p: &Pki, pol: PeerPolicy) -> TlsServer {
    TlsServer::new(Driver::Gtls, &p.files, pol, None).unwrap().0
}

const BOTH: &[&rustls::SupportedProtocolVersion] = &[&rustls::version::TLS13, &rustls::version::TLS12];
const V12: &[&rustls::SupportedProtocolVersion] = &[&rustls::version::TLS12];

#[test]
fn anon_passes_data_without_client_certificate() {
    let p = pki();
    let s = server(&p, policy(AuthMode::Anon));
    for v in [BOTH, V12] {
        let got = exchange(&s, client_config(&p, None, v), b"<13>hello\n").unwrap();
        assert_eq!(got, b"<13>hello\n");
    }
}

fn with_cert(p: &Pki, s: &TlsServer, spec: &LeafSpec) -> Result<Vec<u8>, TlsFailure> {
    let (l, _) = leaf(&p.ca, spec);
    exchange(
        s,
        client_config(p, Some((std::slice::from_ref(&l.der), &l)), BOTH),
        b"x\n",
    )
}

fn rejection(r: Result<Vec<u8>, TlsFailure>) -> Rejection {
    match r {
        Err(TlsFailure::Rejected(x)) => x,
        other => panic!("expected a rejection, got {other:?}"),
    }
}

#[test]
fn certvalid_outcomes() {
    let p = pki();
    let s = server(&p, policy(AuthMode::CertValid));
    assert_eq!(with_cert(&p, &s, &client_spec("client.test")).unwrap(), b"x\n");
    assert_eq!(
        rejection(exchange(&s, client_config(&p, None, BOTH), b"x\n")),
        Rejection::NoCertificate
    );
    let expired = LeafSpec {
        expired: true,
        ..client_spec("old.test")
    };
    assert_eq!(
        rejection(with_cert(&p, &s, &expired)),
        Rejection::Chain(ChainError::Expired)
    );
    let not_yet = LeafSpec {
        not_yet: true,
        ..client_spec("new.test")
    };
    assert_eq!(
        rejection(with_cert(&p, &s, &not_yet)),
        Rejection::Chain(ChainError::NotYetValid)
    );
    // A client of another CA.
    let other = ca("other CA");
    let (l, _) = leaf(&other, &client_spec("client.test"));
    let r = exchange(
        &s,
        client_config(&p, Some((std::slice::from_ref(&l.der), &l)), BOTH),
        b"x\n",
    );
    assert_eq!(rejection(r), Rejection::Chain(ChainError::UnknownIssuer));
    // Server-only purpose: fine unless the purpose is checked.
    let server_only = LeafSpec {
        eku: vec![ExtendedKeyUsagePurpose::ServerAuth],
        ..client_spec("srv.test")
    };
    assert!(with_cert(&p, &s, &server_only).is_ok());
    let strict = server(
        &p,
        PeerPolicy {
            check_purpose: true,
            ..policy(AuthMode::CertValid)
        },
    );
    assert_eq!(
        rejection(with_cert(&p, &strict, &server_only)),
        Rejection::Chain(ChainError::Purpose)
    );
    assert!(with_cert(&p, &strict, &client_spec("client.test")).is_ok());
    // ossl: OpenSSL checks the purpose of a client certificate on its own.
    let ossl = server(
        &p,
        PeerPolicy {
            driver: Driver::Ossl,
            ..policy(AuthMode::CertValid)
        },
    );
    assert_eq!(
        rejection(with_cert(&p, &ossl, &server_only)),
        Rejection::Chain(ChainError::Purpose)
    );
    assert!(with_cert(&p, &ossl, &client_spec("client.test")).is_ok());
}

#[test]
fn expired_certificates_per_permit_expired() {
    let p = pki();
    let expired = LeafSpec {
        expired: true,
        ..client_spec("old.test")
    };
    let (l, _) = leaf(&p.ca, &expired);
    for (mode, ok, warn) in [
        (Expired::Deny, false, false),
        (Expired::Permit, true, false),
        (Expired::Warn, true, true),
    ] {
        let s = server(
            &p,
            PeerPolicy {
                expired: mode,
                ..policy(AuthMode::CertValid)
            },
        );
        let chain = [l.der.clone()];
        let r = s.check.check(Some(&chain), UnixTime::now());
        assert_eq!(r.is_ok(), ok, "{mode:?}");
        if let Ok(a) = r {
            assert_eq!(a.expired_warning, warn);
        }
    }
}

#[test]
fn permitted_expiry_does_not_excuse_an_unknown_signer() {
    // gtls accepts this one (its expiry test comes first and ends the check); we do not.
    let p = pki();
    let other = ca("other CA");
    let (l, _) = leaf(
        &other,
        &LeafSpec {
            expired: true,
            ..client_spec("old.test")
        },
    );
    for mode in [Expired::Permit, Expired::Warn] {
        let s = server(
            &p,
            PeerPolicy {
                expired: mode,
                ..policy(AuthMode::CertValid)
            },
        );
        let r = exchange(
            &s,
            client_config(&p, Some((std::slice::from_ref(&l.der), &l)), BOTH),
            b"x\n",
        );
        assert_eq!(rejection(r), Rejection::Chain(ChainError::UnknownIssuer), "{mode:?}");
    }
}

#[test]
fn crl_revokes() {
    let mut p = pki();
    let spec = LeafSpec {
        serial: 4242,
        ..client_spec("revoked.test")
    };
    let (l, _) = leaf(&p.ca, &spec);
    let crl = CertificateRevocationListParams {
        this_update: rcgen::date_time_ymd(2024, 1, 1),
        next_update: rcgen::date_time_ymd(2090, 1, 1),
        crl_number: SerialNumber::from(1u64),
        issuing_distribution_point: None,
        revoked_certs: vec![RevokedCertParams {
            serial_number: SerialNumber::from(l.serial),
            revocation_time: rcgen::date_time_ymd(2024, 1, 1),
            reason_code: None,
            invalidity_date: None,
        }],
        key_identifier_method: KeyIdMethod::Sha256,
    }
    .signed_by(&Issuer::from_params(&p.ca.params, &p.ca.key))
    .unwrap();
    p.files.crl = Some(p.dir.file("crl.pem", &crl.pem().unwrap()));
    let s = server(&p, policy(AuthMode::CertValid));
    let r = exchange(
        &s,
        client_config(&p, Some((std::slice::from_ref(&l.der), &l)), BOTH),
        b"x\n",
    );
    assert_eq!(rejection(r), Rejection::Chain(ChainError::Revoked));
    assert!(with_cert(&p, &s, &client_spec("good.test")).is_ok());
}

#[test]
fn verify_depth_per_driver() {
    let p = pki();
    // root -> i1 -> i2 -> i3 -> leaf; the client sends leaf and the three intermediates.
    let mut issuer = None::<Ca>;
    let mut inters = Vec::new();
    for n in ["i1", "i2", "i3"] {
        let spec = LeafSpec {
            is_ca: true,
            eku: vec![],
            ..client_spec(n)
        };
        let (_, c) = leaf(issuer.as_ref().unwrap_or(&p.ca), &spec);
        let c = c.unwrap();
        inters.push(c.der.clone());
        issuer = Some(c);
    }
    let (l, _) = leaf(issuer.as_ref().unwrap(), &client_spec("deep.test"));
    let mut chain = vec![l.der.clone()];
    chain.extend(inters.iter().rev().cloned());
    // gtls: certificates sent (4); ossl: intermediates in the path (3).
    let cases = [
        (Driver::Gtls, 0, true),
        (Driver::Gtls, 3, false),
        (Driver::Gtls, 4, true),
        (Driver::Ossl, 0, true),
        (Driver::Ossl, 2, false),
        (Driver::Ossl, 3, true),
    ];
    for (driver, depth, ok) in cases {
        let s = server(
            &p,
            PeerPolicy {
                driver,
                verify_depth: depth,
                ..policy(AuthMode::CertValid)
            },
        );
        let r = exchange(&s, client_config(&p, Some((&chain, &l)), BOTH), b"x\n");
        assert_eq!(r.is_ok(), ok, "{driver:?} depth {depth}");
    }
}

#[test]
fn name_mode_matches_permitted_peers() {
    let p = pki();
    // (permittedPeer, certificate name, gtls accepts, ossl accepts)
    let cases: &[(&[&str], &str, bool, bool)] = &[
        (&["client.test"], "client.test", true, true),
        // gtls compares case-sensitively, OpenSSL's host check does not.
        (&["CLIENT.test"], "client.test", false, true),
        (&["other.test"], "client.test", false, false),
        // rsyslog wildcards; ossl matches them against the subject line
        // "/CN=client.test", whose labels are "/CN=client" and "test".
        (&["*.test"], "client.test", true, true),
        (&["*.client.test"], "a.client.test", true, true),
        (&["*.client.test"], "client.test", false, false),
        (&["*.example.org"], "client.test", false, false),
        (&[], "client.test", false, false),
    ];
    for (permitted, cn, gtls, ossl) in cases {
        for (driver, ok) in [(Driver::Gtls, *gtls), (Driver::Ossl, *ossl)] {
            let s = server(
                &p,
                PeerPolicy {
                    driver,
                    permitted: permitted.iter().map(|x| x.to_string()).collect(),
                    ..policy(AuthMode::Name)
                },
            );
            let r = with_cert(&p, &s, &client_spec(cn));
            assert_eq!(r.is_ok(), ok, "{driver:?}: {permitted:?} vs {cn}");
            if !ok {
                let want_none = driver == Driver::Ossl && permitted.is_empty();
                match rejection(r) {
                    Rejection::NoPermittedPeers => assert!(want_none),
                    Rejection::Name { names } => {
                        assert!(!want_none);
                        if driver == Driver::Gtls {
                            assert_eq!(names, format!("DNSname: {cn}; CN: {cn}; "));
                        } else {
                            assert_eq!(names, format!("name: /CN={cn}; "));
                        }
                    }
                    other => panic!("{other:?}"),
                }
            }
        }
    }
    // prioritizeSAN (gtls): the CN is not looked at when a DNS SAN exists.
    let spec = LeafSpec {
        san: vec!["san.test"],
        ..client_spec("cn.test")
    };
    for (prio, ok) in [(false, true), (true, false)] {
        let s = server(
            &p,
            PeerPolicy {
                permitted: vec!["cn.test".into()],
                prioritize_san: prio,
                ..policy(AuthMode::Name)
            },
        );
        assert_eq!(with_cert(&p, &s, &spec).is_ok(), ok, "prioritizeSAN {prio}");
    }
}

#[test]
fn fingerprint_mode() {
    let p = pki();
    let (l, _) = leaf(&p.ca, &client_spec("fp.test"));
    let sha1 = identity::fingerprint(&l.der, false);
    let sha256 = identity::fingerprint(&l.der, true);
    assert!(sha1.starts_with("SHA1:") && sha1.len() == 5 + 20 * 3 - 1);
    assert!(sha256.starts_with("SHA256:") && sha256.len() == 7 + 32 * 3 - 1);
    // Both drivers compare exactly: the notation is case-sensitive.
    let cases = [
        (sha1.clone(), true),
        (sha256.clone(), true),
        (sha256.to_lowercase(), false),
        ("SHA1:00:11".to_string(), false),
    ];
    for (permitted, ok) in cases {
        let s = server(
            &p,
            PeerPolicy {
                permitted: vec![permitted.clone()],
                ..policy(AuthMode::Fingerprint)
            },
        );
        let r = exchange(
            &s,
            client_config(&p, Some((std::slice::from_ref(&l.der), &l)), BOTH),
            b"x\n",
        );
        assert_eq!(r.is_ok(), ok, "{permitted}");
        if !ok {
            assert_eq!(rejection(r), Rejection::Fingerprint { sha1: sha1.clone() });
        }
    }
    // gtls checks only the fingerprint (a certificate of an unknown CA passes),
    // ossl verifies the chain first.
    let other = ca("other CA");
    let (l, _) = leaf(&other, &client_spec("fp.test"));
    for (driver, ok) in [(Driver::Gtls, true), (Driver::Ossl, false)] {
        let s = server(
            &p,
            PeerPolicy {
                driver,
                permitted: vec![identity::fingerprint(&l.der, false)],
                ..policy(AuthMode::Fingerprint)
            },
        );
        let r = exchange(
            &s,
            client_config(&p, Some((std::slice::from_ref(&l.der), &l)), BOTH),
            b"x\n",
        );
        assert_eq!(r.is_ok(), ok, "{driver:?}");
    }
}

#[test]
fn garbage_and_aborted_handshakes_fail() {
    let p = pki();
    let s = server(&p, policy(AuthMode::Anon));
    let mut t = TlsSession::new(&s).unwrap();
    let mut scratch = [0u8; 64];
    let r = t.feed(b"<13>this is not TLS\n", &mut scratch, &mut |_| panic!("no plaintext"));
    assert!(matches!(r, Err(TlsFailure::Protocol(_))), "{r:?}");
    let mut t = TlsSession::new(&s).unwrap();
    assert!(t.eof().is_err());
}

#[test]
fn priority_string_limits_versions() {
    let p = pki();
    let (s, warnings) = TlsServer::new(
        Driver::Gtls,
        &p.files,
        policy(AuthMode::Anon),
        Some("NORMAL:-VERS-TLS1.2:+VERS-TLS1.0"),
    )
    .unwrap();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(exchange(&s, client_config(&p, None, BOTH), b"a\n").is_ok());
    assert!(exchange(&s, client_config(&p, None, V12), b"a\n").is_err());
    assert!(TlsServer::new(
        Driver::Ossl,
        &p.files,
        policy(AuthMode::Anon),
        Some("Protocol=-ALL,TLSv1.1")
    )
    .is_err());
}

#[test]
fn setup_errors_name_the_file() {
    let p = pki();
    let mut f = p.files.clone();
    f.ca = Some("/nonexistent/ca.pem".into());
    let e = TlsServer::new(Driver::Gtls, &f, policy(AuthMode::CertValid), None).unwrap_err();
    assert!(e.lines[0].text.contains("/nonexistent/ca.pem"), "{e:?}");
    assert_eq!(e.code, rsyslog_ffi::ret::GNUTLS_ERR);
    let e = TlsServer::new(Driver::Ossl, &f, policy(AuthMode::CertValid), None).unwrap_err();
    assert!(
        e.lines[0]
            .text
            .starts_with("Error: CA certificate could not be accessed."),
        "{e:?}"
    );
    assert!(e.lines[1].text.contains("OpenSSL Error Stack:"), "{e:?}");
    let mut f = p.files.clone();
    f.key = None;
    f.cert = None;
    // No certificate and key: C's warnings, and an ephemeral certificate
    // serves anon clients (rustls has no anonymous suites).
    let (s, w) = TlsServer::new(Driver::Gtls, &f, policy(AuthMode::Anon), None).unwrap();
    assert_eq!(w[0].text, "warning: certificate file is not set");
    assert_eq!(w[1].text, "warning: key file is not set");
    let mut c = ClientConnection::new(anon_client(), ServerName::try_from("localhost").unwrap()).unwrap();
    let mut t = TlsSession::new(&s).unwrap();
    // Panics unless an anon client completes the handshake.
    handshake_until_client_is_done(&mut c, &mut t);
    // No CA: a warning, the listener starts, and every peer fails the chain check.
    let mut f = p.files.clone();
    f.ca = None;
    let (s, w) = TlsServer::new(Driver::Gtls, &f, policy(AuthMode::CertValid), None).unwrap();
    assert_eq!(w[0].text, "Warning: CA certificate is not set");
    assert_eq!(
        rejection(with_cert(&p, &s, &client_spec("client.test"))),
        Rejection::Chain(ChainError::UnknownIssuer)
    );
    // Settings the drivers refuse.
    let peers = PeerPolicy {
        permitted: vec!["x".into()],
        ..policy(AuthMode::CertValid)
    };
    let e = TlsServer::new(Driver::Gtls, &p.files, peers, None).unwrap_err();
    assert_eq!(e.code, rsyslog_ffi::ret::VALUE_NOT_IN_THIS_MODE);
    for (purpose, san) in [(true, false), (false, true)] {
        let pol = PeerPolicy {
            driver: Driver::Ossl,
            check_purpose: purpose,
            prioritize_san: san,
            ..policy(AuthMode::CertValid)
        };
        assert!(TlsServer::new(Driver::Ossl, &p.files, pol.clone(), None).is_err());
        let gtls = PeerPolicy {
            driver: Driver::Gtls,
            ..pol
        };
        assert!(TlsServer::new(Driver::Gtls, &p.files, gtls, None).is_ok());
    }
}

#[test]
fn client_hello_detection() {
    assert!(looks_like_client_hello(&[0x16, 0x03, 0x01, 0x00, 0xc8, 1]));
    assert!(!looks_like_client_hello(&[0x16, 0x03, 0x01, 0x00, 0x10]));
    assert!(!looks_like_client_hello(&[0x16, 0x03, 0x05, 0x00, 0xc8]));
    assert!(!looks_like_client_hello(b"<13>hello"));
    assert!(!looks_like_client_hello(&[0x16, 0x03]));
}

#[test]
fn bytes_after_close_notify_are_ignored() {
    let p = pki();
    let s = server(&p, policy(AuthMode::Anon));
    let mut c = ClientConnection::new(
        client_config(&p, None, BOTH),
        ServerName::try_from("localhost").unwrap(),
    )
    .unwrap();
    let mut t = TlsSession::new(&s).unwrap();
    let mut scratch = vec![0u8; 4096];
    let mut got = Vec::new();
    handshake_until_client_is_done(&mut c, &mut t);
    c.writer().write_all(b"<13>last\n").unwrap();
    c.send_close_notify();
    let mut wire = client_wire(&mut c);
    // Trailing garbage in the same read: must neither loop nor fail.
    wire.extend_from_slice(&[0x17; 10000]);
    let r = t.feed(&wire, &mut scratch, &mut |b| got.extend_from_slice(b)).unwrap();
    assert_eq!(r, Feed::PeerClosed);
    assert_eq!(got, b"<13>last\n");
}

/// A fuzz finding (tls_session, crash-9792a1a3): the client's last handshake
/// flight, its first data and a bad byte in one read lost the data.
#[test]
fn data_with_the_finished_flight_survives_a_bad_byte_after_it() {
    let p = pki();
    let s = server(&p, policy(AuthMode::Anon));
    let mut c = ClientConnection::new(
        client_config(&p, None, BOTH),
        ServerName::try_from("localhost").unwrap(),
    )
    .unwrap();
    let mut t = TlsSession::new(&s).unwrap();
    let mut scratch = vec![0u8; 4096];
    // Until the client thinks it is done: its Finished is still queued.
    handshake_until_client_is_done(&mut c, &mut t);
    c.writer().write_all(b"<13>first\n").unwrap();
    let mut wire = client_wire(&mut c);
    wire.push(0x3d);
    let mut got = Vec::new();
    let r = t.feed(&wire, &mut scratch, &mut |b| got.extend_from_slice(b));
    assert!(matches!(r, Err(TlsFailure::Session(_))), "{r:?}");
    assert!(t.established());
    assert_eq!(got, b"<13>first\n");
}

/// A client that, like rsyslog's anon mode, checks nothing about the server.
fn anon_client() -> Arc<ClientConfig> {
    #[derive(Debug)]
    struct AcceptAnything(rustls::crypto::WebPkiSupportedAlgorithms);
    impl rustls::client::danger::ServerCertVerifier for AcceptAnything {
        fn verify_server_cert(
            &self,
            _: &CertificateDer<'_>,
            _: &[CertificateDer<'_>],
            _: &ServerName<'_>,
            _: &[u8],
            _: UnixTime,
        ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
            Ok(rustls::client::danger::ServerCertVerified::assertion())
        }
        fn verify_tls12_signature(
            &self,
            m: &[u8],
            c: &CertificateDer<'_>,
            d: &DigitallySignedStruct,
        ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
            rustls::crypto::verify_tls12_signature(m, c, d, &self.0)
        }
        fn verify_tls13_signature(
            &self,
            m: &[u8],
            c: &CertificateDer<'_>,
            d: &DigitallySignedStruct,
        ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
            rustls::crypto::verify_tls13_signature(m, c, d, &self.0)
        }
        fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
            self.0.supported_schemes()
        }
    }
    let algs = rustls::crypto::ring::default_provider().signature_verification_algorithms;
    Arc::new(
        ClientConfig::builder()
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnything(algs)))
            .with_no_client_auth(),
    )
}

/// `openssl ca -gencrl` for the CA of `p` with the database `index`: a
/// version 1 CRL (no CRL extensions), with `args` added.
fn openssl_v1_crl(p: &Pki, index: &str, args: &[&str]) -> std::path::PathBuf {
    let dir = &p.dir.0;
    let ca_key = p.dir.file("ca-key.pem", &p.ca.key.serialize_pem());
    let ca_cert = p.dir.file("ca-cert.pem", &p.ca.pem);
    p.dir.file("index.txt", index);
    let cnf = p.dir.file(
        "ca.cnf",
        &format!(
            "[ca]\ndefault_ca = d\n[d]\ndatabase = {}/index.txt\ncertificate = {ca_cert}\nprivate_key = {ca_key}\ndefault_md = sha256\ndefault_crl_days = 30\n",
            dir.display()
        ),
    );
    let crl = dir.join("crl-v1.pem");
    let out = std::process::Command::new("openssl")
        .args(["ca", "-gencrl", "-batch", "-config", &cnf, "-out"])
        .arg(&crl)
        .args(args)
        .output()
        .expect("openssl (package openssl) makes the v1 CRL");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = std::process::Command::new("openssl")
        .args(["crl", "-noout", "-text", "-in"])
        .arg(&crl)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&text.stdout).contains("Version 1 (0x0)"));
    crl
}

/// A version 1 CRL, as `openssl ca -gencrl` makes one without CRL
/// extensions (webpki reads only version 2): checked by our own code.
#[test]
fn version_1_crl_from_openssl_ca_revokes() {
    let mut p = pki();
    let spec = LeafSpec {
        serial: 0x4242,
        ..client_spec("revoked.test")
    };
    let (l, _) = leaf(&p.ca, &spec);
    let crl = openssl_v1_crl(
        &p,
        "R\t991231235959Z\t240101000000Z\t4242\tunknown\t/CN=revoked.test\n",
        &[],
    );
    p.files.crl = Some(crl.to_string_lossy().into_owned());
    let s = server(&p, policy(AuthMode::CertValid));
    let r = exchange(
        &s,
        client_config(&p, Some((std::slice::from_ref(&l.der), &l)), BOTH),
        b"x\n",
    );
    assert_eq!(rejection(r), Rejection::Chain(ChainError::Revoked));
    assert!(with_cert(&p, &s, &client_spec("good.test")).is_ok());
    // A v1 CRL that none of the CAs signed is refused at setup.
    let mut q = pki();
    q.files.crl = p.files.crl.clone();
    assert!(TlsServer::new(Driver::Gtls, &q.files, policy(AuthMode::CertValid), None).is_err());
}

/// upstream imtcp-tls-ossl-error-cert/-key/-key2: PEM that decodes but is
/// not a certificate, a key file holding a certificate, a corrupted key, and
/// a key of another certificate, each in the driver's words.
#[test]
fn broken_certificate_and_key_files() {
    let p = pki();
    let garbage = p.dir.file(
        "garbage.pem",
        "-----BEGIN CERTIFICATE-----\nMIIBAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n-----END CERTIFICATE-----\n",
    );
    let bad_key = p.dir.file(
        "bad-key.pem",
        "-----BEGIN PRIVATE KEY-----\nMIIBAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n-----END PRIVATE KEY-----\n",
    );
    let (other, _) = leaf(&p.ca, &client_spec("other.test"));
    let other_cert = p.dir.file("other.pem", &other.pem);
    let cases = [
        (
            Some(garbage.clone()),
            None,
            "Error: Certificate file could not be accessed.",
        ),
        (None, p.files.cert.clone(), "Error: Key could not be accessed."),
        (None, Some(bad_key.clone()), "Error: Key could not be accessed."),
        (Some(other_cert.clone()), None, "Error: Key could not be accessed."),
    ];
    for (cert, key, ossl_text) in cases {
        let mut f = p.files.clone();
        if let Some(c) = cert {
            f.cert = Some(c);
        }
        if let Some(k) = key {
            f.key = Some(k);
        }
        let e = TlsServer::new(Driver::Ossl, &f, policy(AuthMode::Anon), None).unwrap_err();
        assert!(e.lines[0].text.starts_with(ossl_text), "{e:?}");
        assert!(e.lines[1].text.contains("OpenSSL Error Stack:"), "{e:?}");
        let e = TlsServer::new(Driver::Gtls, &f, policy(AuthMode::Anon), None).unwrap_err();
        assert!(
            e.lines
                .last()
                .unwrap()
                .text
                .starts_with("error adding our certificate."),
            "{e:?}"
        );
    }
}

/// Runs the handshake until the client considers it done (its last flight
/// may still be queued in the client); the server must not hand out data.
fn handshake_until_client_is_done(c: &mut ClientConnection, t: &mut TlsSession) {
    let mut scratch = vec![0u8; 4096];
    for _ in 0..10 {
        if !c.is_handshaking() {
            return;
        }
        let wire = client_wire(c);
        t.feed(&wire, &mut scratch, &mut |_| panic!("no data during the handshake"))
            .unwrap();
        let mut back = Vec::new();
        t.flush(&mut back).unwrap();
        c.read_tls(&mut &back[..]).unwrap();
        c.process_new_packets().unwrap();
    }
    panic!("handshake did not complete");
}

/// What the client has queued for the wire.
fn client_wire(c: &mut ClientConnection) -> Vec<u8> {
    let mut wire = Vec::new();
    while c.wants_write() {
        c.write_tls(&mut wire).unwrap();
    }
    wire
}

/// A CRL of the test CA, valid from `this` to `next`, revoking nothing.
fn crl_of(p: &Pki, this: (i32, u8, u8), next: (i32, u8, u8)) -> String {
    let crl = CertificateRevocationListParams {
        this_update: rcgen::date_time_ymd(this.0, this.1, this.2),
        next_update: rcgen::date_time_ymd(next.0, next.1, next.2),
        crl_number: SerialNumber::from(7u64),
        issuing_distribution_point: None,
        revoked_certs: vec![],
        key_identifier_method: KeyIdMethod::Sha256,
    }
    .signed_by(&Issuer::from_params(&p.ca.params, &p.ca.key))
    .unwrap();
    crl.pem().unwrap()
}

/// Log lines of a refusal, as `texts` writes them for the peer "client.test".
fn refusal_lines(pol: &PeerPolicy, r: Rejection) -> Vec<String> {
    let ctx = texts::Ctx {
        host: "client.test",
        ip: "192.0.2.7",
        session: "0x1".into(),
        input_name: "in",
        first_data: false,
    };
    texts::failure(pol, &TlsFailure::Rejected(r), None, &ctx)
        .into_iter()
        .map(|l| l.text)
        .collect()
}

/// upstream imtcp-tls-gtls-crl/-ossl-crl: a CRL past its nextUpdate. No
/// peer whose certificate is checked gets through on any host: gtls of
/// current upstream refuses the listener, gtls on 8.2302/8.2504 starts it
/// with a warning and refuses every peer (their drivers accept the peer: a
/// deliberate difference), ossl fails the chain (OpenSSL's CRL time check).
#[test]
fn expired_crl_refuses_peers_on_every_host() {
    let mut p = pki();
    let file = p.dir.file("expired-crl.pem", &crl_of(&p, (2020, 1, 1), (2020, 2, 1)));
    p.files.crl = Some(file.clone());
    for host in [HostFamily::V2302, HostFamily::V2504, HostFamily::Master] {
        // gtls
        let pol = |auth| PeerPolicy { host, ..policy(auth) };
        let r = TlsServer::new(Driver::Gtls, &p.files, pol(AuthMode::CertValid), None);
        if host == HostFamily::Master {
            let e = r.unwrap_err();
            assert_eq!(e.code, rsyslog_ffi::ret::CRL_INVALID);
            assert_eq!(e.lines[0].text, format!("CRL '{file}' has expired"));
        } else {
            let (s, w) = r.unwrap();
            assert!(
                w.iter()
                    .any(|l| l.code == rsyslog_ffi::ret::CRL_INVALID && l.text.contains(&file)),
                "{w:?}"
            );
            assert_eq!(
                rejection(with_cert(&p, &s, &client_spec("client.test"))),
                Rejection::CrlExpired
            );
            // As current upstream's gtls: in every mode.
            let (s, _) = TlsServer::new(Driver::Gtls, &p.files, pol(AuthMode::Anon), None).unwrap();
            assert_eq!(
                rejection(exchange(&s, client_config(&p, None, BOTH), b"x\n")),
                Rejection::CrlExpired
            );
            let lines = refusal_lines(&pol(AuthMode::CertValid), Rejection::CrlExpired);
            assert_eq!(
                lines[0],
                "CRL has expired (nextUpdate passed), rejecting peer 'client.test'"
            );
        }
        // ossl
        let pol = |auth| PeerPolicy {
            driver: Driver::Ossl,
            host,
            ..policy(auth)
        };
        let (s, _) = TlsServer::new(Driver::Ossl, &p.files, pol(AuthMode::CertValid), None).unwrap();
        let r = rejection(with_cert(&p, &s, &client_spec("client.test")));
        assert_eq!(r, Rejection::Chain(ChainError::CrlExpired), "{host:?}");
        let lines = refusal_lines(&pol(AuthMode::CertValid), r);
        // The verify callback names the peer on current upstream only.
        let peer = if host == HostFamily::Master { "client.test" } else { "" };
        assert!(
            lines[0].ends_with(&format!("err 12:CRL has expired - peer '{peer}'")),
            "{lines:?}"
        );
        // Anon: OpenSSL verifies nothing.
        let (s, _) = TlsServer::new(Driver::Ossl, &p.files, pol(AuthMode::Anon), None).unwrap();
        assert!(exchange(&s, client_config(&p, None, BOTH), b"x\n").is_ok());
    }
    // A current CRL in the same file after the expired one: OpenSSL uses the
    // current one; GnuTLS reads the first.
    p.files.crl = Some(p.dir.file(
        "two-crls.pem",
        &format!(
            "{}{}",
            crl_of(&p, (2020, 1, 1), (2020, 2, 1)),
            crl_of(&p, (2024, 1, 1), (2090, 1, 1))
        ),
    ));
    let ossl = PeerPolicy {
        driver: Driver::Ossl,
        ..policy(AuthMode::CertValid)
    };
    let (s, _) = TlsServer::new(Driver::Ossl, &p.files, ossl, None).unwrap();
    assert!(with_cert(&p, &s, &client_spec("client.test")).is_ok());
    let (s, _) = TlsServer::new(Driver::Gtls, &p.files, policy(AuthMode::CertValid), None).unwrap();
    assert_eq!(
        rejection(with_cert(&p, &s, &client_spec("client.test"))),
        Rejection::CrlExpired
    );
}

/// The upstream testbench's CRLs are version 1 (`openssl ca -gencrl`):
/// their dates count as well.
#[test]
fn expired_version_1_crl_refuses_peers() {
    let mut p = pki();
    let crl = openssl_v1_crl(
        &p,
        "",
        &[
            "-crl_lastupdate",
            "20200101000000Z",
            "-crl_nextupdate",
            "20200102000000Z",
        ],
    );
    p.files.crl = Some(crl.to_string_lossy().into_owned());
    let (s, _) = TlsServer::new(Driver::Gtls, &p.files, policy(AuthMode::CertValid), None).unwrap();
    assert_eq!(
        rejection(with_cert(&p, &s, &client_spec("client.test"))),
        Rejection::CrlExpired
    );
    let ossl = PeerPolicy {
        driver: Driver::Ossl,
        ..policy(AuthMode::CertValid)
    };
    let (s, _) = TlsServer::new(Driver::Ossl, &p.files, ossl, None).unwrap();
    assert_eq!(
        rejection(with_cert(&p, &s, &client_spec("client.test"))),
        Rejection::Chain(ChainError::CrlExpired)
    );
    let master = PeerPolicy {
        host: HostFamily::Master,
        ..policy(AuthMode::CertValid)
    };
    assert_eq!(
        TlsServer::new(Driver::Gtls, &p.files, master, None).unwrap_err().code,
        rsyslog_ffi::ret::CRL_INVALID
    );
}

/// A CRL that was current when the listener started and expires later:
/// the peers after its nextUpdate are refused (gtls: every peer, as current
/// upstream checks per handshake; ossl: in the chain check).
#[test]
fn crl_expiring_after_startup_refuses_later_peers() {
    let mut p = pki();
    p.files.crl = Some(p.dir.file("crl.pem", &crl_of(&p, (2024, 1, 1), (2090, 1, 1))));
    let (l, _) = leaf(&p.ca, &client_spec("client.test"));
    let before = UnixTime::since_unix_epoch(std::time::Duration::from_secs(3_000_000_000)); // 2065
    let after = UnixTime::since_unix_epoch(std::time::Duration::from_secs(4_000_000_000)); // 2096
    for host in [HostFamily::V2504, HostFamily::Master] {
        for (driver, want) in [
            (Driver::Gtls, Rejection::CrlExpired),
            (Driver::Ossl, Rejection::Chain(ChainError::CrlExpired)),
        ] {
            let pol = PeerPolicy {
                driver,
                host,
                ..policy(AuthMode::CertValid)
            };
            let (s, _) = TlsServer::new(driver, &p.files, pol, None).unwrap();
            let certs = std::slice::from_ref(&l.der);
            assert!(s.check.check(Some(certs), before).is_ok(), "{driver:?} {host:?}");
            assert_eq!(s.check.check(Some(certs), after), Err(want), "{driver:?} {host:?}");
        }
    }
}

/// A CRL before its thisUpdate: current upstream's gtls refuses the
/// listener; OpenSSL fails the chain (error 11).
#[test]
fn crl_not_yet_valid() {
    let mut p = pki();
    let file = p.dir.file("future-crl.pem", &crl_of(&p, (2090, 1, 1), (2091, 1, 1)));
    p.files.crl = Some(file.clone());
    let master = PeerPolicy {
        host: HostFamily::Master,
        ..policy(AuthMode::CertValid)
    };
    let e = TlsServer::new(Driver::Gtls, &p.files, master, None).unwrap_err();
    assert_eq!(e.code, rsyslog_ffi::ret::CRL_INVALID);
    assert_eq!(
        e.lines[0].text,
        format!("CRL '{file}' is not yet valid (thisUpdate is in the future)")
    );
    for host in [HostFamily::V2504, HostFamily::Master] {
        let pol = PeerPolicy {
            driver: Driver::Ossl,
            host,
            ..policy(AuthMode::CertValid)
        };
        let (s, _) = TlsServer::new(Driver::Ossl, &p.files, pol.clone(), None).unwrap();
        let r = rejection(with_cert(&p, &s, &client_spec("client.test")));
        assert_eq!(r, Rejection::Chain(ChainError::CrlNotYetValid));
        assert!(refusal_lines(&pol, r)[0].contains("err 11:CRL is not yet valid"));
    }
}

/// ossl x509/name on current upstream (upstream imtcp-tls-ossl-x509name-
/// wildcard, -prioritize-san-cn-fallback, -prioritize-san-reject-cn): the
/// subject line, then each DNS and IP SAN, then the CN (not with
/// PrioritizeSAN when the certificate has a SAN), against permittedPeer
/// with rsyslog's wildcards; 8.2302/8.2504 match the subject line or use
/// OpenSSL's host check only, and refuse PrioritizeSAN.
#[test]
fn ossl_name_check_per_host() {
    let p = pki();
    let both = LeafSpec {
        san: vec!["testbench.rsyslog.test"],
        ..client_spec("rsyslog-client")
    };
    let cn_only = LeafSpec {
        san: vec![],
        ..client_spec("rsyslog-client")
    };
    let ip = LeafSpec {
        san: vec!["192.0.2.7"],
        ..client_spec("rsyslog-client")
    };
    // (certificate, permittedPeer, PrioritizeSAN, 8.2504 accepts, current upstream accepts)
    let cases: &[(&LeafSpec, &str, bool, bool, bool)] = &[
        (&both, "*.rsyslog.test", false, false, true),
        (&both, "rsyslog-client", false, false, true),
        (&both, "testbench.rsyslog.test", false, true, true),
        (&both, "TESTBENCH.rsyslog.test", false, true, true),
        (&both, "*.example.test", false, false, false),
        (&both, "rsyslog-client", true, false, false),
        (&both, "*.rsyslog.test", true, false, true),
        (&both, "testbench.rsyslog.test", true, false, true),
        (&cn_only, "rsyslog-client", true, false, true),
        (&cn_only, "rsyslog-client", false, true, true),
        (&ip, "192.0.2.7", false, false, true),
    ];
    for (spec, permitted, prio, old_ok, new_ok) in cases {
        for (host, ok) in [(HostFamily::V2504, *old_ok), (HostFamily::Master, *new_ok)] {
            let pol = PeerPolicy {
                driver: Driver::Ossl,
                host,
                prioritize_san: *prio,
                permitted: vec![permitted.to_string()],
                ..policy(AuthMode::Name)
            };
            let what = format!(
                "{host:?}: {permitted} vs {:?}/{:?}, prioritizeSAN {prio}",
                spec.cn, spec.san
            );
            let s = match TlsServer::new(Driver::Ossl, &p.files, pol, None) {
                Ok((s, _)) => s,
                Err(e) => {
                    // 8.2302/8.2504's ossl driver has no PrioritizeSAN.
                    assert!(*prio && host < HostFamily::Master, "{what}: {e:?}");
                    assert_eq!(e.code, rsyslog_ffi::ret::VALUE_NOT_SUPPORTED);
                    continue;
                }
            };
            assert_eq!(with_cert(&p, &s, spec).is_ok(), ok, "{what}");
        }
    }
    // What the refusal lists, per host.
    let refused = |host, prio| {
        let pol = PeerPolicy {
            driver: Driver::Ossl,
            host,
            prioritize_san: prio,
            permitted: vec!["nobody".into()],
            ..policy(AuthMode::Name)
        };
        let (s, _) = TlsServer::new(Driver::Ossl, &p.files, pol.clone(), None).unwrap();
        let r = rejection(with_cert(&p, &s, &ip));
        refusal_lines(&pol, r).remove(0)
    };
    let head =
        "net_ossl:TLS session terminated with remote syslog server: peer name not authorized, not permitted to talk to";
    assert_eq!(
        refused(HostFamily::V2504, false),
        format!("{head} name: /CN=rsyslog-client; ")
    );
    assert_eq!(
        refused(HostFamily::Master, false),
        format!("{head} name: /CN=rsyslog-client; IPaddress: 192.0.2.7; CN: rsyslog-client; ")
    );
    assert_eq!(
        refused(HostFamily::Master, true),
        format!("{head} name: /CN=rsyslog-client; IPaddress: 192.0.2.7; ")
    );
}

/// upstream imtcp-tls-ossl-error-ca (current upstream): the failed load
/// names the file, then the driver's line names it too.
#[test]
fn ossl_setup_errors_of_current_upstream_name_the_file() {
    let p = pki();
    let master = PeerPolicy {
        driver: Driver::Ossl,
        host: HostFamily::Master,
        ..policy(AuthMode::CertValid)
    };
    let mut f = p.files.clone();
    f.ca = Some("/nonexistent/ca.pem".into());
    let e = TlsServer::new(Driver::Ossl, &f, master.clone(), None).unwrap_err();
    assert_eq!(e.code, rsyslog_ffi::ret::TLS_CERT_ERR);
    assert!(
        e.lines[0].text.starts_with(
            "SSL_CTX_load_verify_locations: CA load failed for '/nonexistent/ca.pem'. OpenSSL Error Stack: "
        ),
        "{e:?}"
    );
    assert!(
        e.lines[1]
            .text
            .starts_with("Error: CA certificate '/nonexistent/ca.pem' could not be accessed. Check at least:"),
        "{e:?}"
    );
    // The key is loaded before the certificate: with both broken, the key is named.
    let mut f = p.files.clone();
    f.cert = Some(p.dir.file("bad-cert.pem", "not a certificate\n"));
    f.key = Some(p.dir.file("bad-key.pem", "not a key\n"));
    let e = TlsServer::new(Driver::Ossl, &f, master.clone(), None).unwrap_err();
    assert_eq!(e.code, rsyslog_ffi::ret::TLS_KEY_ERR);
    assert!(e.lines[0]
        .text
        .starts_with("SSL_CTX_use_PrivateKey_file: private key load failed for '"));
    assert!(e.lines[1].text.starts_with("Error: Key could not be accessed."));
    // 8.2504: the certificate first, and the texts without the file.
    let old = PeerPolicy {
        host: HostFamily::V2504,
        ..master.clone()
    };
    let e = TlsServer::new(Driver::Ossl, &f, old, None).unwrap_err();
    assert!(e.lines[0]
        .text
        .starts_with("Error: Certificate file could not be accessed."));
    // Current upstream's ossl driver has PrioritizeSAN.
    let san = PeerPolicy {
        prioritize_san: true,
        ..master
    };
    assert!(TlsServer::new(Driver::Ossl, &p.files, san, None).is_ok());
}
