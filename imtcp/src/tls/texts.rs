//! The log lines of TLS sessions, per driver name (what an admin's log
//! watching already knows from the C driver), with the peer they concern.

use super::chain::ChainError;
use super::peer::Rejection;
use super::session::TlsFailure;
use super::Driver;
use rsyslog_ffi::abi::RsRetVal;
use rsyslog_ffi::ret;

/// The peer as the log lines name it: `<host> (<ip>:<port>)`.
pub fn failure(driver: Driver, f: &TlsFailure, peer: &str) -> (RsRetVal, String) {
    let d = driver.name();
    match f {
        TlsFailure::Protocol(e) => (
            ret::TLS_HANDSHAKE_ERR,
            format!("imtcp: TLS handshake with {peer} failed ({d} driver served by rustls): {e}"),
        ),
        TlsFailure::HandshakeAborted => (
            ret::TLS_HANDSHAKE_ERR,
            format!("imtcp: TLS handshake with {peer} failed: the peer closed the connection during the handshake"),
        ),
        TlsFailure::Rejected(r) => rejection(driver, r, peer),
    }
}

fn rejection(driver: Driver, r: &Rejection, peer: &str) -> (RsRetVal, String) {
    let d = driver.name();
    match r {
        Rejection::NoCertificate => (
            ret::TLS_NO_CERT,
            format!("{d}: peer {peer} did not provide a certificate, not permitted to talk to it"),
        ),
        Rejection::Chain(c) => chain(driver, c, peer),
        Rejection::Unparsable => (
            ret::TLS_CERT_ERR,
            format!("{d}: the certificate of peer {peer} could not be parsed, not permitted to talk to it"),
        ),
        Rejection::Name { names } => (
            ret::INVALID_FINGERPRINT,
            format!(
                "{d}: peer name not authorized - not permitted to talk to {peer}; names in its certificate: {}",
                names.join(", ")
            ),
        ),
        Rejection::Fingerprint { sha1, sha256 } => (
            ret::INVALID_FINGERPRINT,
            format!("{d}: invalid peer fingerprint, not permitted to talk to {peer} (fingerprints {sha1} / {sha256})"),
        ),
    }
}

fn chain(driver: Driver, c: &ChainError, peer: &str) -> (RsRetVal, String) {
    let d = driver.name();
    let (code, why) = match c {
        ChainError::UnknownIssuer => (ret::CERT_INVALID, "signer not found among the trusted CAs".to_string()),
        ChainError::Expired => (ret::CERT_EXPIRED, "certificate expired".to_string()),
        ChainError::NotYetValid => (ret::CERT_NOT_YET_ACTIVE, "certificate not yet active".to_string()),
        ChainError::Revoked => (ret::CERT_REVOKED, "certificate revoked".to_string()),
        ChainError::TooDeep { max, .. } => (
            ret::CERT_INVALID,
            format!("certificate chain longer than the verify depth {max}"),
        ),
        ChainError::Purpose => (
            ret::CERT_INVALID,
            "certificate not permitted for TLS client use (extended key purpose)".to_string(),
        ),
        ChainError::Invalid(e) => (ret::CERT_INVALID, format!("certificate invalid: {e}")),
    };
    (
        code,
        format!("{d}: not permitted to talk to peer {peer}, certificate invalid: {why}"),
    )
}

/// permitExpiredCerts="warn" let an expired certificate through.
pub fn expired_warning(driver: Driver, peer: &str) -> String {
    format!(
        "{}: warning: certificate of peer {peer} is expired, but permitted by permitExpiredCerts=\"warn\"",
        driver.name()
    )
}

/// A handshake that did not finish in time.
pub fn handshake_timeout(peer: &str, secs: u64) -> String {
    format!("imtcp: TLS handshake with {peer} did not complete within {secs} seconds - session closed")
}
