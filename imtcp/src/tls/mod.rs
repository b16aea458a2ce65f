//! TLS for imtcp, served by rustls whatever driver the config names
//! (gtls, ossl, mbedtls): the policy an input's settings describe, the
//! peer-certificate checks of the C drivers, and the per-session layer that
//! sits between the socket and the framing.
//!
//! Everything here is pure Rust: unit tests drive it with a rustls client and
//! in-memory streams, without rsyslogd.

pub mod chain;
pub mod identity;
pub mod peer;
pub mod priority;
pub mod session;
pub mod texts;

pub use peer::{AuthMode, Expired, PeerCheck, PeerPolicy, Rejection};
pub use session::{Feed, TlsFailure, TlsSession};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, CertificateRevocationListDer, PrivateKeyDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{DigitallySignedStruct, DistinguishedName, ServerConfig, SignatureScheme};
use std::sync::Arc;

/// The driver a config names; all are served by rustls, but texts and a few
/// defaults follow the named one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Driver {
    Gtls,
    Ossl,
    Mbedtls,
}

impl Driver {
    /// Driver by name as rsyslog spells it (case-insensitive); `None` for
    /// ptcp and unknown names.
    pub fn by_name(name: &str) -> Option<Driver> {
        match name.to_ascii_lowercase().as_str() {
            "gtls" => Some(Driver::Gtls),
            "ossl" => Some(Driver::Ossl),
            "mbedtls" => Some(Driver::Mbedtls),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Driver::Gtls => "gtls",
            Driver::Ossl => "ossl",
            Driver::Mbedtls => "mbedtls",
        }
    }
}

/// The files and settings of one TLS listener, after module, input and
/// global() values are merged.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsFiles {
    pub ca: Option<String>,
    pub crl: Option<String>,
    pub cert: Option<String>,
    pub key: Option<String>,
    /// global(NetstreamDriverCAExtraFiles): more CA files, comma-separated.
    pub ca_extra: Option<String>,
}

/// A ready TLS listener configuration: the rustls server config and the
/// checks a session makes once the handshake is done.
#[derive(Debug)]
pub struct TlsServer {
    pub driver: Driver,
    pub config: Arc<ServerConfig>,
    pub check: Arc<PeerCheck>,
}

/// A setup problem: the text for rsyslog's log (the input is not started).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetupError(pub String);

/// Warnings the setup produced (logged, the input still starts).
pub type Warnings = Vec<String>;

fn read_certs(path: &str, what: &str) -> Result<Vec<CertificateDer<'static>>, SetupError> {
    let data = std::fs::read(path).map_err(|e| SetupError(format!("error reading {what} file '{path}': {e}")))?;
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&data)
        .collect::<Result<_, _>>()
        .map_err(|e| SetupError(format!("error parsing {what} file '{path}': {e}")))?;
    if certs.is_empty() {
        return Err(SetupError(format!("{what} file '{path}' holds no PEM certificate")));
    }
    Ok(certs)
}

impl TlsServer {
    /// Builds the listener's TLS configuration. `priority` is
    /// gnutlsPriorityString; what rustls cannot honour of it is returned as
    /// a warning.
    pub fn new(
        driver: Driver,
        files: &TlsFiles,
        policy: PeerPolicy,
        priority: Option<&str>,
    ) -> Result<(TlsServer, Warnings), SetupError> {
        let mut warnings = Vec::new();
        let (Some(cert_file), Some(key_file)) = (&files.cert, &files.key) else {
            return Err(SetupError(match (&files.cert, &files.key) {
                (None, None) => "no certificate file and no key file are set (streamDriver.certFile, streamDriver.keyFile or global DefaultNetstreamDriverCertFile/KeyFile); rustls has no anonymous cipher suites, so a TLS listener needs both".to_string(),
                (None, _) => "no certificate file is set (streamDriver.certFile or global DefaultNetstreamDriverCertFile)".to_string(),
                _ => "no key file is set (streamDriver.keyFile or global DefaultNetstreamDriverKeyFile)".to_string(),
            }));
        };
        let chain = read_certs(cert_file, "certificate")?;
        let key = PrivateKeyDer::from_pem_file(key_file)
            .map_err(|e| SetupError(format!("error reading key file '{key_file}': {e}")))?;

        let mut ca_certs = Vec::new();
        if let Some(ca) = &files.ca {
            ca_certs.extend(read_certs(ca, "CA")?);
        }
        if let Some(extra) = &files.ca_extra {
            for f in extra.split(',').map(str::trim).filter(|f| !f.is_empty()) {
                ca_certs.extend(read_certs(f, "extra CA")?);
            }
        }
        let mut anchors = chain::Anchors::from_ca_certs(&ca_certs).map_err(SetupError)?;
        if let Some(crl) = &files.crl {
            let data = std::fs::read(crl).map_err(|e| SetupError(format!("error reading CRL file '{crl}': {e}")))?;
            let crls: Vec<Vec<u8>> = CertificateRevocationListDer::pem_slice_iter(&data)
                .map(|r| r.map(|c| c.as_ref().to_vec()))
                .collect::<Result<_, _>>()
                .map_err(|e| SetupError(format!("error parsing CRL file '{crl}': {e}")))?;
            anchors.add_crls(&crls).map_err(SetupError)?;
        }
        if policy.auth != AuthMode::Anon && ca_certs.is_empty() {
            return Err(SetupError(format!(
                "authMode {} needs a CA file (streamDriver.CAFile or global DefaultNetstreamDriverCAFile)",
                policy.auth.name()
            )));
        }

        let mut provider = rustls::crypto::ring::default_provider();
        let mut versions: Vec<&'static rustls::SupportedProtocolVersion> =
            vec![&rustls::version::TLS13, &rustls::version::TLS12];
        if let Some(p) = priority {
            let pr = priority::Priority::parse(p);
            if !pr.ignored.is_empty() {
                warnings.push(format!(
                    "gnutlsPriorityString: rustls cannot honour '{}'; ignored",
                    pr.ignored.join("', '")
                ));
            }
            if let Some(problem) = pr.problem() {
                return Err(SetupError(format!("gnutlsPriorityString '{p}': {problem}")));
            }
            versions.retain(|v| {
                if v.version == rustls::ProtocolVersion::TLSv1_3 {
                    pr.tls13
                } else {
                    pr.tls12
                }
            });
            provider.cipher_suites.retain(|cs| pr.suites.contains(&suite_of(cs)));
        }
        let hints: Vec<DistinguishedName> = ca_certs
            .iter()
            .filter_map(|c| {
                webpki::anchor_from_trusted_cert(c)
                    .ok()
                    .map(|a| DistinguishedName::in_sequence(a.subject.as_ref()))
            })
            .collect();
        let check = Arc::new(PeerCheck::new(policy, anchors));
        let algs = provider.signature_verification_algorithms;
        let verifier = Arc::new(PostHandshakeVerifier {
            offer: check.policy.auth != AuthMode::Anon,
            hints,
            algs,
        });
        let provider = Arc::new(provider);
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(&versions)
            .map_err(|e| SetupError(format!("TLS setup failed: {e}")))?
            .with_client_cert_verifier(verifier)
            .with_single_cert(chain, key)
            .map_err(|e| {
                SetupError(format!(
                    "certificate file '{cert_file}' and key file '{key_file}' do not form a usable pair: {e}"
                ))
            })?;
        // Senders reconnect rarely and never resume: no tickets to compute and send.
        config.send_tls13_tickets = 0;
        config.ignore_client_order = false;
        Ok((
            TlsServer {
                driver,
                config: Arc::new(config),
                check,
            },
            warnings,
        ))
    }
}

fn suite_of(cs: &rustls::SupportedCipherSuite) -> priority::Suite {
    use priority::Suite as S;
    use rustls::CipherSuite as C;
    match cs.suite() {
        C::TLS13_AES_256_GCM_SHA384 => S::Tls13Aes256Gcm,
        C::TLS13_AES_128_GCM_SHA256 => S::Tls13Aes128Gcm,
        C::TLS13_CHACHA20_POLY1305_SHA256 => S::Tls13Chacha20,
        C::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384 => S::EcdheEcdsaAes256Gcm,
        C::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 => S::EcdheEcdsaAes128Gcm,
        C::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256 => S::EcdheEcdsaChacha20,
        C::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384 => S::EcdheRsaAes256Gcm,
        C::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 => S::EcdheRsaAes128Gcm,
        _ => S::EcdheRsaChacha20,
    }
}

/// Asks for a client certificate (except in anon mode) and checks only that
/// the client holds its key during the handshake; like the C drivers, the
/// certificate itself is judged once the handshake is done ([`PeerCheck`]),
/// where the session knows the peer for its log lines.
#[derive(Debug)]
struct PostHandshakeVerifier {
    offer: bool,
    hints: Vec<DistinguishedName>,
    algs: rustls::crypto::WebPkiSupportedAlgorithms,
}

impl ClientCertVerifier for PostHandshakeVerifier {
    fn offer_client_auth(&self) -> bool {
        self.offer
    }

    fn client_auth_mandatory(&self) -> bool {
        false
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &self.hints
    }

    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algs)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algs)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algs.supported_schemes()
    }
}

/// A TLS ClientHello record header: what the first bytes of a session on a
/// plain listener look like when the client speaks TLS (content type 22,
/// version 3.x with x ≤ 4, a plausible record length).
pub fn looks_like_client_hello(first: &[u8]) -> bool {
    if first.len() < 5 {
        return false;
    }
    let len = u16::from_be_bytes([first[3], first[4]]);
    first[0] == 0x16 && first[1] == 0x03 && first[2] <= 0x04 && (40..=16384).contains(&len)
}

#[cfg(test)]
mod tests;
