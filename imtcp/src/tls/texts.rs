//! The log lines of TLS sessions, as the C driver the config names writes
//! them (gtls: nsd_gtls.c; ossl: nsd_ossl.c/net_ossl.c; mbedtls is written
//! as gtls), so log watchers and the upstream testbench find what they know.
//! Where a C line names a library detail (a GnuTLS error string, an OpenSSL
//! error-stack entry), the nearest equivalent of what rustls found is used.

use super::chain::ChainError;
use super::identity::CertInfo;
use super::peer::{AuthMode, PeerPolicy, Rejection};
use super::session::TlsFailure;
use super::Driver;
use rsyslog_ffi::abi::RsRetVal;
use rsyslog_ffi::host::HostFamily;
use rsyslog_ffi::ret;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Err,
    Warning,
    Info,
}

/// One line for rsyslog's log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    pub severity: Severity,
    pub code: RsRetVal,
    pub text: String,
}

fn err(code: RsRetVal, text: String) -> LogLine {
    LogLine {
        severity: Severity::Err,
        code,
        text,
    }
}

fn warning(code: RsRetVal, text: String) -> LogLine {
    LogLine {
        severity: Severity::Warning,
        code,
        text,
    }
}

/// Who the lines are about.
#[derive(Debug, Clone)]
pub struct Ctx<'a> {
    /// The resolved host name (the C drivers name the peer by it).
    pub host: &'a str,
    pub ip: &'a str,
    /// `%p` of the session, for tcpsrv's closing line.
    pub session: String,
    pub input_name: &'a str,
    /// The failure came with the first bytes of the session (C: the first
    /// handshake step runs in the accept path, and tcpsrv's follow-up line
    /// differs).
    pub first_data: bool,
}

impl Ctx<'_> {
    /// tcpsrv's follow-up line: the accept path or the receive path.
    fn closing(&self, code: RsRetVal) -> LogLine {
        if self.first_data {
            err(
                ret::NO_ERRCODE,
                format!(
                    "tcpsrv listener (inputname: '{}') failed to process incoming connection with error {code}",
                    self.input_name
                ),
            )
        } else {
            err(
                code,
                format!(
                    "netstream session {} from {} will be closed due to error",
                    self.session, self.ip
                ),
            )
        }
    }
}

/// GnuTLS's words for what rustls found wrong in a handshake.
fn gnutls_words(e: &rustls::Error) -> String {
    use rustls::Error as E;
    match e {
        E::InvalidMessage(_) | E::InappropriateMessage { .. } | E::InappropriateHandshakeMessage { .. } => {
            "An unexpected TLS packet was received.".to_string()
        }
        E::PeerIncompatible(rustls::PeerIncompatible::NoCipherSuitesInCommon) => {
            "No supported cipher suites have been found.".to_string()
        }
        E::PeerIncompatible(_) => format!("No supported cipher suites have been found. ({e})"),
        E::AlertReceived(a) => format!("A TLS fatal alert has been received. ({a:?})"),
        E::DecryptError => "Decryption has failed.".to_string(),
        other => format!("{other}"),
    }
}

/// OpenSSL's error-stack entry nearest to what rustls found.
fn openssl_words(e: &rustls::Error) -> String {
    use rustls::Error as E;
    match e {
        E::InvalidMessage(_) | E::InappropriateMessage { .. } => {
            "error:0A00010B:SSL routines::wrong version number".to_string()
        }
        E::PeerIncompatible(rustls::PeerIncompatible::NoCipherSuitesInCommon) => {
            "error:0A0000C1:SSL routines::no shared cipher".to_string()
        }
        E::AlertReceived(a) => format!("error:0A000410:SSL routines::ssl/tls alert ({a:?})"),
        other => format!("rustls: {other}"),
    }
}

/// ossl's three lines for a failed handshake, then tcpsrv's.
fn ossl_handshake_failed(ctx: &Ctx<'_>, stack: &str) -> Vec<LogLine> {
    vec![
        err(
            ret::NO_ERRCODE,
            "SSL_ERROR_SSL Error in 'osslHandshakeCheck Server': 'error:00000001:lib(0)::reason(1)(1)' with ret=-1, errno=0(Success), sslapi='SSL_accept'\n".to_string(),
        ),
        err(
            ret::NO_ERRCODE,
            format!("net_ossl:remote '{}' OpenSSL Error Stack: {stack}", ctx.host),
        ),
        warning(
            ret::NO_ERRCODE,
            format!(
                "nsd_ossl:TLS session terminated with remote client '{}': Handshake failed with error code: 1",
                ctx.host
            ),
        ),
        ctx.closing(ret::NO_ERRCODE),
    ]
}

/// gtls: `invalid cert info: ...` (nsd_gtls.c gtlsGetCertInfo).
fn gtls_cert_info(info: Option<&CertInfo>) -> String {
    let Some(i) = info else {
        return "invalid cert info: peer provided 0 certificate(s). ".to_string();
    };
    let mut s = format!(
        "invalid cert info: peer provided {} certificate(s). Certificate 1 info: certificate valid from {} to {}; Certificate public key: {}; DN: {}; Issuer DN: {}; ",
        i.count, i.not_before, i.not_after, i.key_alg, i.subject_rfc4514, i.issuer_rfc4514
    );
    for d in &i.dns {
        s.push_str(&format!("SAN:DNSname: {d}; "));
    }
    s
}

/// OpenSSL's verify error number and text for a chain problem.
fn openssl_verify_error(c: &ChainError, info: Option<&CertInfo>) -> (u32, String) {
    match c {
        ChainError::UnknownIssuer => {
            if info.is_some_and(|i| i.subject_oneline == i.issuer_oneline) {
                (18, "self-signed certificate".into())
            } else {
                (20, "unable to get local issuer certificate".into())
            }
        }
        ChainError::Expired => (10, "certificate has expired".into()),
        ChainError::NotYetValid => (9, "certificate is not yet valid".into()),
        ChainError::Revoked => (23, "certificate revoked".into()),
        ChainError::TooDeep { .. } => (22, "certificate chain too long".into()),
        ChainError::Purpose => (26, "unsupported certificate purpose".into()),
        ChainError::CrlNotYetValid => (11, "CRL is not yet valid".into()),
        ChainError::CrlExpired => (12, "CRL has expired".into()),
        ChainError::Invalid(e) => (7, format!("certificate signature failure ({e})")),
    }
}

/// The lines for a session that ends in failure, for the driver and host
/// of `policy`.
pub fn failure(policy: &PeerPolicy, f: &TlsFailure, info: Option<&CertInfo>, ctx: &Ctx<'_>) -> Vec<LogLine> {
    match policy.driver {
        Driver::Ossl => ossl_failure(f, info, policy.host, ctx),
        Driver::Gtls | Driver::Mbedtls => gtls_failure(f, info, policy.auth, ctx),
    }
}

/// The peer the ossl verify callback names: current upstream the remote
/// host, 8.2302/8.2504 nobody (it looks at the listener's socket).
fn verify_peer<'a>(host: HostFamily, ctx: &Ctx<'a>) -> &'a str {
    if host >= HostFamily::Master {
        ctx.host
    } else {
        ""
    }
}

fn gtls_failure(f: &TlsFailure, info: Option<&CertInfo>, auth: AuthMode, ctx: &Ctx<'_>) -> Vec<LogLine> {
    let host = ctx.host;
    let handshake = |words: String| {
        let text = if ctx.first_data {
            format!("gnutls returned error on handshake: {words}\n")
        } else {
            format!("GnuTLS handshake retry returned error: {words}\n")
        };
        vec![err(ret::TLS_HANDSHAKE_ERR, text), ctx.closing(ret::TLS_HANDSHAKE_ERR)]
    };
    // nsd_gtls.c of current upstream, before any check of the peer.
    let crl_expired = || {
        vec![
            err(
                ret::CRL_INVALID,
                format!("CRL has expired (nextUpdate passed), rejecting peer '{host}'"),
            ),
            ctx.closing(ret::CRL_INVALID),
        ]
    };
    let invalid = |why: &str, code: RsRetVal| {
        vec![
            err(
                ret::NO_ERRCODE,
                format!("not permitted to talk to peer '{host}', certificate invalid: {why}"),
            ),
            err(ret::NO_ERRCODE, gtls_cert_info(info)),
            ctx.closing(code),
        ]
    };
    match f {
        TlsFailure::Protocol(e) => handshake(gnutls_words(e)),
        TlsFailure::HandshakeAborted => handshake("The TLS connection was non-properly terminated.".to_string()),
        TlsFailure::Session(e) => vec![
            err(
                ret::GNUTLS_ERR,
                format!(
                    "gtls: TLS session with peer '{host}' failed: {} (rustls: {e})",
                    gnutls_words(e)
                ),
            ),
            ctx.closing(ret::GNUTLS_ERR),
        ],
        TlsFailure::Rejected(r) => match r {
            Rejection::NoCertificate => {
                let prefix = if auth == AuthMode::Fingerprint { "error: " } else { "" };
                vec![
                    err(
                        ret::TLS_NO_CERT,
                        format!("{prefix}peer {host} did not provide a certificate, not permitted to talk to it"),
                    ),
                    ctx.closing(ret::TLS_NO_CERT),
                ]
            }
            Rejection::Chain(c) => match c {
                ChainError::Expired => invalid("certificate expired", ret::CERT_EXPIRED),
                ChainError::UnknownIssuer => invalid("signer not found", ret::CERT_INVALID),
                ChainError::Revoked => invalid("certificate revoked", ret::CERT_REVOKED),
                ChainError::Purpose => invalid("key purpose OID does not match", ret::CERT_INVALID),
                ChainError::TooDeep { .. } | ChainError::Invalid(_) => {
                    invalid("GnuTLS returned no specific reason", ret::CERT_INVALID)
                }
                ChainError::CrlExpired | ChainError::CrlNotYetValid => crl_expired(),
                ChainError::NotYetValid => vec![
                    err(
                        ret::CERT_NOT_YET_ACTIVE,
                        format!("not permitted to talk to peer '{host}': certificate 0 not yet active"),
                    ),
                    err(ret::CERT_NOT_YET_ACTIVE, gtls_cert_info(info)),
                    ctx.closing(ret::CERT_NOT_YET_ACTIVE),
                ],
            },
            Rejection::TooManyCertificates { sent, max } => vec![
                err(
                    ret::GNUTLS_ERR,
                    format!(
                        "unexpected GnuTLS error -101 in nsd_gtls.c: Some constraint limits were reached. (peer '{host}' sent {sent} certificates, streamDriver.TlsVerifyDepth is {max})"
                    ),
                ),
                ctx.closing(ret::GNUTLS_ERR),
            ],
            Rejection::Unparsable => invalid("GnuTLS returned no specific reason", ret::CERT_INVALID),
            Rejection::Name { names } => vec![
                err(
                    ret::INVALID_FINGERPRINT,
                    format!("error: peer name not authorized -  not permitted to talk to it. Names: {names}"),
                ),
                ctx.closing(ret::INVALID_FINGERPRINT),
            ],
            Rejection::NoPermittedPeers => vec![
                err(
                    ret::INVALID_FINGERPRINT,
                    "error: peer name not authorized -  not permitted to talk to it. Names: ".to_string(),
                ),
                ctx.closing(ret::INVALID_FINGERPRINT),
            ],
            Rejection::Fingerprint { sha1 } => vec![
                err(
                    ret::INVALID_FINGERPRINT,
                    format!("error: peer fingerprint '{sha1}' unknown - we are not permitted to talk to it"),
                ),
                ctx.closing(ret::INVALID_FINGERPRINT),
            ],
            Rejection::CrlExpired => crl_expired(),
        },
    }
}

fn ossl_failure(f: &TlsFailure, info: Option<&CertInfo>, family: HostFamily, ctx: &Ctx<'_>) -> Vec<LogLine> {
    let host = ctx.host;
    let vpeer = verify_peer(family, ctx);
    let (issuer, subject) = info
        .map(|i| (i.issuer_oneline.as_str(), i.subject_oneline.as_str()))
        .unwrap_or_default();
    match f {
        TlsFailure::Protocol(e) => ossl_handshake_failed(ctx, &openssl_words(e)),
        TlsFailure::HandshakeAborted => {
            ossl_handshake_failed(ctx, "error:0A000126:SSL routines::unexpected eof while reading")
        }
        TlsFailure::Session(e) => vec![
            err(
                ret::NO_ERRCODE,
                "SSL_ERROR_SSL Error in 'osslRecordRecv': 'error:00000001:lib(0)::reason(1)(1)' with ret=-1, errno=0(Success), sslapi='SSL_read'\n".to_string(),
            ),
            err(
                ret::NO_ERRCODE,
                format!("net_ossl:remote '{host}' OpenSSL Error Stack: {}", openssl_words(e)),
            ),
            ctx.closing(ret::NO_ERRCODE),
        ],
        TlsFailure::Rejected(r) => match r {
            Rejection::NoCertificate => {
                ossl_handshake_failed(ctx, "error:0A0000C7:SSL routines::peer did not return a certificate")
            }
            // Not made for ossl (its CRL time is part of the chain check).
            Rejection::CrlExpired => ossl_failure(
                &TlsFailure::Rejected(Rejection::Chain(ChainError::CrlExpired)),
                info,
                family,
                ctx,
            ),
            Rejection::Chain(c) => {
                let (n, why) = openssl_verify_error(c, info);
                let first = match c {
                    ChainError::Expired => err(
                        ret::CERT_EXPIRED,
                        format!(
                            "Certificate EXPIRED at depth: 0 \n\tissuer  = {issuer}\n\tsubject = {subject}\n\terr {n}:{why}\n\tnot permitted to talk to peer '{vpeer}', certificate invalid: certificate expired"
                        ),
                    ),
                    ChainError::Revoked => err(
                        ret::CERT_REVOKED,
                        format!(
                            "Certificate REVOKED at depth: 0 \n\tissuer  = {issuer}\n\tsubject = {subject}\n\terr {n}:{why}\n\tnot permitted to talk to peer '{vpeer}', certificate invalid: certificate revoked"
                        ),
                    ),
                    _ => err(
                        ret::NO_ERRCODE,
                        format!(
                            "Certificate error at depth: 0 \n\tissuer  = {issuer}\n\tsubject = {subject}\n\terr {n}:{why} - peer '{vpeer}'"
                        ),
                    ),
                };
                let mut v = vec![first];
                v.extend(ossl_handshake_failed(ctx, "error:0A000086:SSL routines::certificate verify failed"));
                v
            }
            Rejection::TooManyCertificates { .. } | Rejection::Unparsable => {
                let mut v = vec![err(
                    ret::NO_ERRCODE,
                    format!(
                        "Certificate error at depth: 0 \n\tissuer  = {issuer}\n\tsubject = {subject}\n\terr 7:certificate signature failure - peer '{vpeer}'"
                    ),
                )];
                v.extend(ossl_handshake_failed(ctx, "error:0A000086:SSL routines::certificate verify failed"));
                v
            }
            Rejection::Name { names } => vec![
                warning(
                    ret::INVALID_FINGERPRINT,
                    format!(
                        "net_ossl:TLS session terminated with remote syslog server: peer name not authorized, not permitted to talk to {names}"
                    ),
                ),
                ctx.closing(ret::INVALID_FINGERPRINT),
            ],
            Rejection::NoPermittedPeers => vec![
                warning(
                    ret::TLS_NO_CERT,
                    "net_ossl_chkonepeername: Peername check could not be done: no peernames configured.".to_string(),
                ),
                ctx.closing(ret::TLS_NO_CERT),
            ],
            Rejection::Fingerprint { sha1 } => vec![
                warning(
                    ret::INVALID_FINGERPRINT,
                    format!(
                        "net_ossl:TLS session terminated with remote syslog server '{host}': Fingerprint check failed, not permitted to talk to {sha1}"
                    ),
                ),
                ctx.closing(ret::INVALID_FINGERPRINT),
            ],
        },
    }
}

/// permitExpiredCerts="warn" let an expired certificate through.
pub fn expired_warning(driver: Driver, family: HostFamily, info: Option<&CertInfo>, host: &str) -> Vec<LogLine> {
    match driver {
        Driver::Ossl => {
            let (issuer, subject) = info
                .map(|i| (i.issuer_oneline.as_str(), i.subject_oneline.as_str()))
                .unwrap_or_default();
            let vpeer = if family >= HostFamily::Master { host } else { "" };
            vec![
                warning(
                    ret::CERT_EXPIRED,
                    format!(
                        "Certificate EXPIRED warning at depth: 0 \n\tissuer  = {issuer}\n\tsubject = {subject}\n\terr 10:certificate has expired peer '{vpeer}'"
                    ),
                ),
                warning(
                    ret::NO_ERRCODE,
                    format!("net_ossl:CertValidity check - warning talking to peer '{host}': certificate expired: certificate has expired"),
                ),
            ]
        }
        Driver::Gtls | Driver::Mbedtls => vec![warning(
            ret::NO_ERRCODE,
            "Warning, certificate expired but expired certs are permitted".to_string(),
        )],
    }
}

/// A handshake that did not finish in time (ours: the C drivers wait forever).
pub fn handshake_timeout(peer: &str, secs: u64) -> String {
    format!("imtcp: TLS handshake with {peer} did not complete within {secs} seconds - session closed")
}
