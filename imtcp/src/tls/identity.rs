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
    /// subjectAltName dNSName and iPAddress entries, in certificate order
    /// (addresses as text: `192.0.2.1`, `2001:db8::1`).
    pub san: Vec<SanName>,
    /// The certificate has a subjectAltName extension with at least one
    /// entry, of any kind.
    pub any_san: bool,
}

/// A subjectAltName entry that x509/name matching looks at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SanName {
    Dns(String),
    Ip(String),
}

/// Reads the names of a DER certificate; `None` if it does not parse.
pub fn names(cert: &CertificateDer<'_>) -> Option<Names> {
    let (_, x) = X509Certificate::from_der(cert.as_ref()).ok()?;
    let mut n = Names::default();
    if let Ok(Some(san)) = x.subject_alternative_name() {
        n.any_san = !san.value.general_names.is_empty();
        for g in &san.value.general_names {
            match g {
                GeneralName::DNSName(d) => {
                    n.dns.push((*d).to_string());
                    n.san.push(SanName::Dns((*d).to_string()));
                }
                GeneralName::IPAddress(ip) => {
                    let text = match ip.len() {
                        4 => Some(std::net::Ipv4Addr::new(ip[0], ip[1], ip[2], ip[3]).to_string()),
                        16 => <[u8; 16]>::try_from(*ip)
                            .ok()
                            .map(|b| std::net::Ipv6Addr::from(b).to_string()),
                        _ => None,
                    };
                    if let Some(t) = text {
                        n.san.push(SanName::Ip(t));
                    }
                }
                _ => {}
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

/// What the drivers print about a refused certificate.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CertInfo {
    /// Certificates the peer sent.
    pub count: usize,
    /// Validity, in ctime format (UTC): `Wed Dec 12 15:25:22 2018`.
    pub not_before: String,
    pub not_after: String,
    /// Public key algorithm as GnuTLS names it (`RSA`, `EC/ECDSA`, ...).
    pub key_alg: String,
    /// Subject and issuer, RFC 4514 (GnuTLS: last RDN first, `,`-joined).
    pub subject_rfc4514: String,
    pub issuer_rfc4514: String,
    /// Subject and issuer as OpenSSL's one-line form (`/C=US/O=Org/CN=name`).
    pub subject_oneline: String,
    pub issuer_oneline: String,
    /// SAN dNSName entries.
    pub dns: Vec<String>,
}

fn attr_name(oid: &str) -> Option<&'static str> {
    Some(match oid {
        "2.5.4.3" => "CN",
        "2.5.4.11" => "OU",
        "2.5.4.10" => "O",
        "2.5.4.7" => "L",
        "2.5.4.8" => "ST",
        "2.5.4.6" => "C",
        "2.5.4.9" => "street",
        "2.5.4.5" => "serialNumber",
        "0.9.2342.19200300.100.1.25" => "DC",
        "0.9.2342.19200300.100.1.1" => "UID",
        "1.2.840.113549.1.9.1" => "emailAddress",
        _ => return None,
    })
}

/// (name, value) pairs of a DN in certificate order.
fn dn_pairs(n: &x509_parser::x509::X509Name<'_>) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for rdn in n.iter_rdn() {
        for atv in rdn.iter() {
            let oid = atv.attr_type().to_id_string();
            let name = attr_name(&oid).map(str::to_string).unwrap_or(oid);
            let value = atv.as_str().map(str::to_string).unwrap_or_else(|_| "#".to_string());
            out.push((name, value));
        }
    }
    out
}

fn rfc4514(pairs: &[(String, String)]) -> String {
    pairs
        .iter()
        .rev()
        .map(|(k, v)| format!("{k}={}", v.replace(',', "\\,")))
        .collect::<Vec<_>>()
        .join(",")
}

fn oneline(pairs: &[(String, String)]) -> String {
    pairs.iter().map(|(k, v)| format!("/{k}={v}")).collect()
}

fn ctime(t: &x509_parser::time::ASN1Time) -> String {
    let d = t.to_datetime();
    let wd = d.weekday().to_string();
    let mo = d.month().to_string();
    format!(
        "{} {} {:2} {:02}:{:02}:{:02} {}",
        &wd[..3],
        &mo[..3],
        d.day(),
        d.hour(),
        d.minute(),
        d.second(),
        d.year()
    )
}

/// Describes the leaf of `certs` for a refusal's log lines.
pub fn info(certs: &[CertificateDer<'_>]) -> Option<CertInfo> {
    let leaf = certs.first()?;
    let (_, x) = X509Certificate::from_der(leaf.as_ref()).ok()?;
    let subject = dn_pairs(x.subject());
    let issuer = dn_pairs(x.issuer());
    let key_alg = match x.public_key().algorithm.algorithm.to_id_string().as_str() {
        "1.2.840.113549.1.1.1" => "RSA",
        "1.2.840.10045.2.1" => "EC/ECDSA",
        "1.3.101.112" => "EdDSA (Ed25519)",
        "1.3.101.113" => "EdDSA (Ed448)",
        "1.2.840.113549.1.1.10" => "RSA-PSS",
        _ => "UNKNOWN",
    }
    .to_string();
    Some(CertInfo {
        count: certs.len(),
        not_before: ctime(&x.validity().not_before),
        not_after: ctime(&x.validity().not_after),
        key_alg,
        subject_rfc4514: rfc4514(&subject),
        issuer_rfc4514: rfc4514(&issuer),
        subject_oneline: oneline(&subject),
        issuer_oneline: oneline(&issuer),
        dns: names(leaf).map(|n| n.dns).unwrap_or_default(),
    })
}
