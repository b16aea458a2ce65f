//! imtcp's TLS session layer (rustls server plus our post-handshake check)
//! fed arbitrary bytes, before a handshake and after a real one: it must
//! never panic or hang, must pass on exactly the plaintext a real client
//! sent (also when garbage follows it), and must stop at close_notify
//! whatever follows it.
//!
//! Input: byte 0 = flags (bit 0: do a real handshake first; bit 1: the
//! client sends close_notify after its data; bits 2..7: chunk size step),
//! byte 1 = where the rest splits into client plaintext and raw trailing
//! bytes.

#![no_main]

use imtcp::tls::{AuthMode, Driver, Expired, Feed, PeerPolicy, TlsFiles, TlsServer, TlsSession};
use libfuzzer_sys::fuzz_target;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use std::io::Write;
use std::sync::{Arc, OnceLock};

struct Fixture {
    server: TlsServer,
    client: Arc<rustls::ClientConfig>,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("imtcp-fuzz-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let ca = ca_params.self_signed(&ca_key).unwrap();
        let key = rcgen::KeyPair::generate().unwrap();
        let params = rcgen::CertificateParams::new(vec!["localhost".to_string()]).unwrap();
        let issuer = rcgen::Issuer::from_params(&ca_params, &ca_key);
        let cert = params.signed_by(&key, &issuer).unwrap();
        let w = |n: &str, c: String| {
            let p = dir.join(n);
            std::fs::write(&p, c).unwrap();
            p.to_string_lossy().into_owned()
        };
        let files = TlsFiles {
            ca: Some(w("ca.pem", ca.pem())),
            cert: Some(w("cert.pem", cert.pem())),
            key: Some(w("key.pem", key.serialize_pem())),
            ..TlsFiles::default()
        };
        let policy = PeerPolicy {
            driver: Driver::Gtls,
            host: rsyslog_ffi::host::HostFamily::V2504,
            auth: AuthMode::Anon,
            expired: Expired::Deny,
            check_purpose: false,
            prioritize_san: false,
            verify_depth: 0,
            permitted: Vec::new(),
        };
        let (server, _) = TlsServer::new(Driver::Gtls, &files, policy, None).unwrap();
        let mut roots = rustls::RootCertStore::empty();
        roots
            .add(CertificateDer::from_pem_slice(ca.pem().as_bytes()).unwrap())
            .unwrap();
        let client = Arc::new(
            rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                .with_safe_default_protocol_versions()
                .unwrap()
                .with_root_certificates(roots)
                .with_no_client_auth(),
        );
        Fixture { server, client }
    })
}

fn feed_chunks(t: &mut TlsSession, wire: &[u8], step: usize, got: &mut Vec<u8>) -> Result<Feed, ()> {
    let mut scratch = vec![0u8; 4096];
    let mut last = Feed::Open;
    for chunk in wire.chunks(step) {
        match t.feed(chunk, &mut scratch, &mut |b| got.extend_from_slice(b)) {
            Ok(Feed::PeerClosed) => return Ok(Feed::PeerClosed),
            Ok(f) => last = f,
            Err(_) => return Err(()),
        }
        let mut sink = Vec::new();
        let _ = t.flush(&mut sink);
    }
    Ok(last)
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 2 {
        return;
    }
    let f = fixture();
    let flags = data[0];
    let step = 1 + (flags >> 2) as usize * 67;
    let rest = &data[2..];
    let split = rest.len() * data[1] as usize / 256;
    let (plain, tail) = rest.split_at(split);
    let mut t = TlsSession::new(&f.server).unwrap();
    let mut got = Vec::new();
    if flags & 1 == 0 {
        // Garbage before any handshake: never plaintext.
        let _ = feed_chunks(&mut t, rest, step, &mut got);
        assert!(got.is_empty(), "plaintext without a handshake");
        return;
    }
    let mut c = rustls::ClientConnection::new(f.client.clone(), ServerName::try_from("localhost").unwrap()).unwrap();
    let mut scratch = vec![0u8; 4096];
    for _ in 0..10 {
        if !c.is_handshaking() {
            break;
        }
        let mut wire = Vec::new();
        while c.wants_write() {
            c.write_tls(&mut wire).unwrap();
        }
        t.feed(&wire, &mut scratch, &mut |_| panic!("plaintext during the handshake"))
            .unwrap();
        let mut back = Vec::new();
        t.flush(&mut back).unwrap();
        c.read_tls(&mut &back[..]).unwrap();
        c.process_new_packets().unwrap();
    }
    assert!(!c.is_handshaking());
    c.writer().write_all(plain).unwrap();
    if flags & 2 != 0 {
        c.send_close_notify();
    }
    let mut wire = Vec::new();
    while c.wants_write() {
        c.write_tls(&mut wire).unwrap();
    }
    let clean = wire.len();
    wire.extend_from_slice(tail);
    let r = feed_chunks(&mut t, &wire, step, &mut got);
    // Everything the client sent arrives, in order, whatever the tail is:
    // its records were complete before the tail began.
    assert_eq!(got, plain, "stream of {clean} clean bytes");
    if flags & 2 != 0 {
        assert_eq!(r, Ok(Feed::PeerClosed));
    }
});
