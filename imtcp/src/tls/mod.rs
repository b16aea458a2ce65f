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

use rsyslog_ffi::host::HostFamily;
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

/// A setup problem: the driver's lines for rsyslog's log and the code the
/// listener setup fails with (the input is not started).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetupError {
    pub code: rsyslog_ffi::abi::RsRetVal,
    pub lines: Vec<texts::LogLine>,
}

impl SetupError {
    fn one(code: rsyslog_ffi::abi::RsRetVal, text: String) -> SetupError {
        SetupError {
            code,
            lines: vec![texts::LogLine {
                severity: texts::Severity::Err,
                code,
                text,
            }],
        }
    }
}

/// Lines the setup logs while the listener still starts.
pub type Warnings = Vec<texts::LogLine>;

/// Why a PEM file gave nothing usable.
#[derive(Debug)]
enum PemError {
    Read(std::io::Error),
    Parse(String),
    Empty,
}

impl std::fmt::Display for PemError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PemError::Read(e) => write!(f, "{e}"),
            PemError::Parse(e) => write!(f, "{e}"),
            PemError::Empty => write!(f, "no PEM certificate found"),
        }
    }
}

fn read_certs(path: &str) -> Result<Vec<CertificateDer<'static>>, PemError> {
    let data = std::fs::read(path).map_err(PemError::Read)?;
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&data)
        .collect::<Result<_, _>>()
        .map_err(|e| PemError::Parse(e.to_string()))?;
    if certs.is_empty() {
        return Err(PemError::Empty);
    }
    Ok(certs)
}

fn read_crls(path: &str) -> Result<Vec<Vec<u8>>, PemError> {
    let data = std::fs::read(path).map_err(PemError::Read)?;
    let crls: Vec<Vec<u8>> = CertificateRevocationListDer::pem_slice_iter(&data)
        .map(|r| r.map(|c| c.as_ref().to_vec()))
        .collect::<Result<_, _>>()
        .map_err(|e| PemError::Parse(e.to_string()))?;
    if crls.is_empty() {
        return Err(PemError::Parse("no PEM CRL found".into()));
    }
    Ok(crls)
}

impl TlsServer {
    /// Builds the listener's TLS configuration, with the outcomes of the
    /// named C driver for missing or broken files and settings. `priority`
    /// is gnutlsPriorityString.
    pub fn new(
        driver: Driver,
        files: &TlsFiles,
        policy: PeerPolicy,
        priority: Option<&str>,
    ) -> Result<(TlsServer, Warnings), SetupError> {
        use rsyslog_ffi::ret;
        let mut warnings: Warnings = Vec::new();
        let d = driver.name();
        let ossl = driver == Driver::Ossl;
        let master = policy.host >= HostFamily::Master;
        // Setters the driver refuses, in nsd_ptcp.c's LstnInit order
        // (SetCheckExtendedKeyUsage, SetPrioritizeSAN, ..., SetPermPeers).
        if ossl && policy.check_purpose {
            return Err(SetupError::one(
                ret::VALUE_NOT_SUPPORTED,
                "error: driver ChkExtendedKeyUsage 1 not supported by ossl netstream driver".to_string(),
            ));
        }
        // Current upstream's ossl driver has PrioritizeSAN; 8.2302/8.2504's refuses it.
        if ossl && policy.prioritize_san && !master {
            return Err(SetupError::one(
                ret::VALUE_NOT_SUPPORTED,
                "error: driver prioritizeSan 1 not supported by ossl netstream driver".to_string(),
            ));
        }
        if !policy.permitted.is_empty() && matches!(policy.auth, AuthMode::Anon | AuthMode::CertValid) {
            return Err(SetupError::one(
                ret::VALUE_NOT_IN_THIS_MODE,
                format!("authentication not supported by {d} netstream driver in the configured authentication mode - ignored"),
            ));
        }
        let access = |what: &str| {
            format!(
                "Error: {what} could not be accessed. Check at least: 1) file path is correct, 2) file exist, \
                 3) permissions are correct, 4) file content is correct. OpenSSL error info may follow in next messages"
            )
        };
        let stack = |e: &PemError| texts::LogLine {
            severity: texts::Severity::Err,
            code: ret::NO_ERRCODE,
            text: format!("net_ossl:remote '(null)' OpenSSL Error Stack: {e}"),
        };
        let ossl_fail = |code, what: &str, e: &PemError| SetupError {
            code,
            lines: vec![
                texts::LogLine {
                    severity: texts::Severity::Err,
                    code,
                    text: access(what),
                },
                stack(e),
            ],
        };
        // Current upstream (net_ossl_store.c): the failed load with the file
        // and the error, then the driver's line (naming the CA files).
        let ossl_load_fail = |code, call: &str, object: &str, file: &str, what: &str, e: &PemError| SetupError {
            code,
            lines: vec![
                texts::LogLine {
                    severity: texts::Severity::Err,
                    code,
                    text: format!("{call}: {object} load failed for '{file}'. OpenSSL Error Stack: {e}"),
                },
                texts::LogLine {
                    severity: texts::Severity::Err,
                    code,
                    text: access(what),
                },
            ],
        };

        // CA: extra CA files (ossl loads them first), then the CA file.
        let mut ca_certs = Vec::new();
        if let Some(extra) = &files.ca_extra {
            for f in extra.split(',').map(str::trim).filter(|f| !f.is_empty()) {
                match read_certs(f) {
                    Ok(c) => ca_certs.extend(c),
                    Err(e) if master => {
                        return Err(ossl_load_fail(
                            ret::TLS_CERT_ERR,
                            "SSL_CTX_load_verify_locations",
                            "CA",
                            f,
                            &format!("Extra Certificate file '{f}'"),
                            &e,
                        ))
                    }
                    Err(e) => {
                        let mut fail = SetupError::one(
                            ret::TLS_CERT_ERR,
                            format!(
                                "Error: Extra Certificate file could not be accessed. Check at least: 1) file path is correct, 2) file exist, 3) permissions are correct, 4) file content is correct. OpenSSL error info may follow in next messages ('{f}')"
                            ),
                        );
                        fail.lines.push(stack(&e));
                        return Err(fail);
                    }
                }
            }
        }
        // Current upstream's ossl: the CA file could not be loaded, naming it.
        let ca_load_fail = |ca: &str, e: &PemError| {
            ossl_load_fail(
                ret::TLS_CERT_ERR,
                "SSL_CTX_load_verify_locations",
                "CA",
                ca,
                &format!("CA certificate '{ca}'"),
                e,
            )
        };
        match &files.ca {
            None => warnings.push(texts::LogLine {
                severity: texts::Severity::Warning,
                code: ret::CA_CERT_MISSING,
                text: "Warning: CA certificate is not set".to_string(),
            }),
            Some(ca) => {
                match read_certs(ca) {
                    Ok(c) => ca_certs.extend(c),
                    Err(e) if ossl && master => return Err(ca_load_fail(ca, &e)),
                    Err(e) if ossl => return Err(ossl_fail(ret::TLS_CERT_ERR, "CA certificate", &e)),
                    Err(PemError::Read(_)) => {
                        return Err(SetupError::one(
                            ret::GNUTLS_ERR,
                            format!(
                            "error reading certificate file '{ca}' - a common cause is that the file  does not exist"
                        ),
                        ))
                    }
                    // GnuTLS imports no certificate from such a file and starts; peers then fail.
                    Err(e) => warnings.push(texts::LogLine {
                        severity: texts::Severity::Warning,
                        code: ret::GNUTLS_ERR,
                        text: format!(
                            "CA file '{ca}' holds no usable certificate ({e}): every peer certificate check will fail"
                        ),
                    }),
                }
            }
        }
        let mut anchors = match chain::Anchors::from_ca_certs(&ca_certs) {
            Ok(a) => a,
            Err(e) if ossl && master => {
                return Err(ca_load_fail(
                    files.ca.as_deref().unwrap_or_default(),
                    &PemError::Parse(e),
                ));
            }
            Err(e) if ossl => return Err(ossl_fail(ret::TLS_CERT_ERR, "CA certificate", &PemError::Parse(e))),
            Err(e) => {
                return Err(SetupError::one(
                    ret::GNUTLS_ERR,
                    format!("unexpected GnuTLS error reading CA certificate file in nsd_gtls.c: {e}"),
                ))
            }
        };
        if let Some(crl) = &files.crl {
            match read_crls(crl) {
                Ok(crls) => anchors
                    .add_crls(&crls)
                    .map_err(|e| SetupError::one(ret::CRL_INVALID, e))?,
                Err(e) if ossl => return Err(ossl_fail(ret::CRL_INVALID, "CRL", &e)),
                Err(PemError::Read(_)) => {
                    return Err(SetupError::one(
                        ret::GNUTLS_ERR,
                        format!("error reading Certificate revocation list (CRL) '{crl}' - a common cause is that the file  does not exist"),
                    ))
                }
                Err(e) => {
                    return Err(SetupError::one(
                        ret::GNUTLS_ERR,
                        format!("unexpected GnuTLS error reading Certificate revocation list (CRL) in nsd_gtls.c: {e}"),
                    ))
                }
            }
            // gtls: the CRL's validity period, as current upstream's
            // nsd_gtls.c checks it when the listener starts (its first CRL;
            // OpenSSL checks the CRL's time per peer, in the chain check).
            if let (false, Some(first)) = (ossl, anchors.first_crl()) {
                let now = UnixTime::now().as_secs().try_into().unwrap_or(i64::MAX);
                if master && first.not_yet_valid_at(now) {
                    return Err(SetupError::one(
                        ret::CRL_INVALID,
                        format!("CRL '{crl}' is not yet valid (thisUpdate is in the future)"),
                    ));
                }
                if first.expired_at(now) {
                    if master {
                        return Err(SetupError::one(ret::CRL_INVALID, format!("CRL '{crl}' has expired")));
                    }
                    // 8.2302/8.2504's driver would accept every peer as if
                    // the CRL were current; ours refuses them (see the README).
                    warnings.push(texts::LogLine {
                        severity: texts::Severity::Warning,
                        code: ret::CRL_INVALID,
                        text: format!(
                            "imtcp: CRL '{crl}' has expired (nextUpdate passed): every peer of this listener is refused until the CRL is renewed"
                        ),
                    });
                }
            }
        }

        // Our certificate and key.
        let (chain, key, cert_file, key_file) = match (&files.cert, &files.key) {
            (Some(c), Some(k)) => {
                let (cert_file, key_file) = (c.clone(), k.clone());
                // PEM that decodes is not yet a certificate: it must parse too.
                let chain = read_certs(&cert_file).and_then(|c| {
                    for der in &c {
                        webpki::EndEntityCert::try_from(der).map_err(|e| PemError::Parse(format!("{e:?}")))?;
                    }
                    Ok(c)
                });
                // The key must decode and be a key rustls can sign with.
                let key = PrivateKeyDer::from_pem_file(&key_file)
                    .map_err(|e| match e {
                        rustls::pki_types::pem::Error::Io(io) => PemError::Read(io),
                        other => PemError::Parse(format!("{other:?}")),
                    })
                    .and_then(|k| {
                        rustls::crypto::ring::sign::any_supported_type(&k)
                            .map_err(|e| PemError::Parse(e.to_string()))?;
                        Ok(k)
                    });
                let key_fail = |e: &PemError| {
                    if ossl && master {
                        ossl_load_fail(
                            ret::TLS_KEY_ERR,
                            "SSL_CTX_use_PrivateKey_file",
                            "private key",
                            &key_file,
                            "Key",
                            e,
                        )
                    } else if ossl {
                        ossl_fail(ret::TLS_KEY_ERR, "Key", e)
                    } else {
                        gtls_our_cert_error(&cert_file, &key_file, e)
                    }
                };
                // Current upstream's net_ossl.c loads the key before the certificate.
                if let (true, true, Err(e)) = (ossl, master, &key) {
                    return Err(key_fail(e));
                }
                let chain = match chain {
                    Ok(c) => c,
                    Err(e) if ossl && master => {
                        return Err(ossl_load_fail(
                            ret::TLS_CERT_ERR,
                            "SSL_CTX_use_certificate_chain_file",
                            "certificate",
                            &cert_file,
                            "Certificate file",
                            &e,
                        ))
                    }
                    Err(e) if ossl => return Err(ossl_fail(ret::TLS_CERT_ERR, "Certificate file", &e)),
                    Err(e) => return Err(gtls_our_cert_error(&cert_file, &key_file, &e)),
                };
                let key = match key {
                    Ok(k) => k,
                    Err(e) => return Err(key_fail(&e)),
                };
                (chain, key, cert_file, key_file)
            }
            (c, k) => {
                // The C drivers warn and serve anonymous suites only. rustls has
                // none: an ephemeral self-signed certificate stands in, which an
                // anon client accepts as it would anonymous DH (it checks
                // nothing); a client that verifies the server fails, as with C.
                let w = |code, gtls: &str, ossl_text: &str| texts::LogLine {
                    severity: texts::Severity::Warning,
                    code,
                    text: if ossl { ossl_text.to_string() } else { gtls.to_string() },
                };
                if c.is_none() {
                    warnings.push(w(
                        ret::CERT_MISSING,
                        "warning: certificate file is not set",
                        "Warning: Certificate file is not set",
                    ));
                }
                if k.is_none() {
                    warnings.push(w(
                        ret::CERTKEY_MISSING,
                        "warning: key file is not set",
                        "Warning: Key file is not set",
                    ));
                }
                let (chain, key) = ephemeral_certificate().map_err(|e| {
                    SetupError::one(
                        ret::CERT_MISSING,
                        format!("imtcp: no certificate and key, and none could be made: {e}"),
                    )
                })?;
                warnings.push(texts::LogLine {
                    severity: texts::Severity::Info,
                    code: ret::NO_ERRCODE,
                    text: format!(
                        "imtcp: {d} listener without certificate and key: serving an ephemeral self-signed certificate in place of anonymous cipher suites, which rustls does not have"
                    ),
                });
                (chain, key, "(ephemeral)".to_string(), "(ephemeral)".to_string())
            }
        };
        let mut provider = rustls::crypto::ring::default_provider();
        let mut versions: Vec<&'static rustls::SupportedProtocolVersion> =
            vec![&rustls::version::TLS13, &rustls::version::TLS12];
        if let Some(p) = priority {
            let pr = priority::Priority::parse(p);
            if !pr.ignored.is_empty() {
                warnings.push(texts::LogLine {
                    severity: texts::Severity::Warning,
                    code: ret::NO_ERRCODE,
                    text: format!(
                        "imtcp: gnutlsPriorityString: rustls cannot honour '{}'; ignored",
                        pr.ignored.join("', '")
                    ),
                });
            }
            if let Some(problem) = pr.problem() {
                return Err(SetupError::one(
                    ret::CONFIG_ERROR,
                    format!("imtcp: gnutlsPriorityString '{p}': {problem}"),
                ));
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
        for bad in check.invalid_patterns() {
            warnings.push(texts::LogLine {
                severity: texts::Severity::Err,
                code: ret::INVALID_WILDCARD,
                text: format!("error compiling wildcard expression '{bad}'"),
            });
        }
        if under_valgrind() {
            provider.cipher_suites.sort_by_key(|cs| {
                !matches!(
                    suite_of(cs),
                    priority::Suite::Tls13Chacha20
                        | priority::Suite::EcdheEcdsaChacha20
                        | priority::Suite::EcdheRsaChacha20
                )
            });
        }
        let algs = provider.signature_verification_algorithms;
        let verifier = Arc::new(PostHandshakeVerifier {
            offer: check.policy.auth != AuthMode::Anon,
            hints,
            algs,
        });
        let provider = Arc::new(provider);
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(&versions)
            .map_err(|e| SetupError::one(ret::TLS_CERT_ERR, format!("imtcp: TLS setup failed: {e}")))?
            .with_client_cert_verifier(verifier)
            .with_single_cert(chain, key)
            .map_err(|e| {
                // The key does not match the certificate (OpenSSL's
                // SSL_CTX_use_PrivateKey_file fails the same way).
                let why = PemError::Parse(format!("the key does not match the certificate: {e}"));
                if ossl && master {
                    SetupError {
                        code: ret::TLS_KEY_ERR,
                        lines: vec![
                            texts::LogLine {
                                severity: texts::Severity::Err,
                                code: ret::TLS_KEY_ERR,
                                text: "Error: Certificate and key are not usable together. OpenSSL error info may follow in next messages".to_string(),
                            },
                            stack(&why),
                        ],
                    }
                } else if ossl {
                    ossl_fail(ret::TLS_KEY_ERR, "Key", &why)
                } else {
                    gtls_our_cert_error(&cert_file, &key_file, &why)
                }
            })?;
        // Senders reconnect rarely and never resume: no tickets to compute and send.
        config.send_tls13_tickets = 0;
        if under_valgrind() {
            // memcheck reports a conditional jump on uninitialised data inside
            // ring's AES-GCM assembly (a false positive: it cannot follow that
            // code); its ChaCha20-Poly1305 is reported clean. Under valgrind the
            // server picks that suite first, so the rest of the module is checked.
            config.ignore_client_order = true;
        }
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

/// gtls: our certificate or key could not be read (nsd_gtls.c gtlsAddOurCert).
fn gtls_our_cert_error(cert: &str, key: &str, e: &PemError) -> SetupError {
    use rsyslog_ffi::ret;
    let (n, msg) = match e {
        PemError::Read(_) => (-64, "Error while reading file."),
        _ => (-34, "Base64 decoding error."),
    };
    let mut lines = Vec::new();
    if let PemError::Read(_) = e {
        lines.push(texts::LogLine {
            severity: texts::Severity::Err,
            code: ret::GNUTLS_ERR,
            text: "error reading file - a common cause is that the file  does not exist".to_string(),
        });
    }
    lines.push(texts::LogLine {
        severity: texts::Severity::Err,
        code: ret::GNUTLS_ERR,
        text: format!("error adding our certificate. GnuTLS error {n}, message: '{msg}', key: '{key}', cert: '{cert}'"),
    });
    SetupError {
        code: ret::GNUTLS_ERR,
        lines,
    }
}

/// A self-signed certificate and key made at startup, for a listener that
/// has none (the C drivers' anonymous mode).
fn ephemeral_certificate() -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), rcgen::Error> {
    let key = rcgen::KeyPair::generate()?;
    let mut params = rcgen::CertificateParams::new(vec!["rsyslog-imtcp-anon".to_string()])?;
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "rsyslog imtcp ephemeral (anon)");
    let cert = params.self_signed(&key)?;
    let der = PrivateKeyDer::try_from(key.serialize_der()).map_err(|_| rcgen::Error::CouldNotParseKeyPair)?;
    Ok((vec![cert.der().clone()], der))
}

/// rsyslogd runs under valgrind (its preload library is in the environment).
fn under_valgrind() -> bool {
    std::env::var_os("LD_PRELOAD").is_some_and(|v| v.to_string_lossy().contains("vgpreload"))
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
