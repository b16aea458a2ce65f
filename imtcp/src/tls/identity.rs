//! What a peer certificate says about who the peer is: its fingerprints in
//! rsyslog's notation and the names (SAN dNSName, CN) the x509/name mode
//! matches against permittedPeer.

use rustls_pki_types::CertificateDer;
use x509_parser::extensions::GeneralName;
use x509_parser::prelude::{FromDer, X509Certificate};

/// rsyslog's fingerprint notation: `SHA1:` or `SHA256:` and the upper-case
/// hex bytes separated by colons.
pub fn fingerprint(cert: &CertificateDer<'_>, sha256: bool) -> String {
    let (prefix, alg) = if sha256 {
        ("SHA256", &ring::digest::SHA256)
    } else {
        ("SHA1", &ring::digest::SHA1_FOR_LEGACY_USE_ONLY)
    };
    let d = ring::digest::digest(alg, cert.as_ref());
    let mut s = String::with_capacity(prefix.len() + d.as_ref().len() * 3);
    s.push_str(prefix);
    for b in d.as_ref() {
        s.push_str(&format!(":{b:02X}"));
    }
    s
}

/// The names of a certificate.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Names {
    /// subjectAltName dNSName entries, in certificate order.
    pub dns: Vec<String>,
    /// The subject's commonName values.
    pub cn: Vec<String>,
}

/// Reads the names of a DER certificate; `None` if it does not parse.
pub fn names(cert: &CertificateDer<'_>) -> Option<Names> {
    let (_, x) = X509Certificate::from_der(cert.as_ref()).ok()?;
    let mut n = Names::default();
    if let Ok(Some(san)) = x.subject_alternative_name() {
        for g in &san.value.general_names {
            if let GeneralName::DNSName(d) = g {
                n.dns.push((*d).to_string());
            }
        }
    }
    for cn in x.subject().iter_common_name() {
        if let Ok(s) = cn.as_str() {
            n.cn.push(s.to_string());
        }
    }
    Some(n)
}

/// The subject DN as text (for log lines).
pub fn subject(cert: &CertificateDer<'_>) -> String {
    X509Certificate::from_der(cert.as_ref())
        .map(|(_, x)| x.subject().to_string())
        .unwrap_or_default()
}
