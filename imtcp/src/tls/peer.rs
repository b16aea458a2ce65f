//! The post-handshake check of a peer: what authMode asks for, with the
//! accept/reject outcomes of the C driver the config names (gtls and ossl
//! differ; mbedtls is treated as gtls). The texts are made by
//! [`super::texts`], which knows the peer.
//!
//! Where a C driver accepts what it should not (gtls lets an expired
//! certificate with an unknown signer through when expired certificates are
//! permitted; ossl sometimes skips the name check, see the README), every
//! check is still made here.

use super::chain::{Anchors, ChainError, ChainPolicy};
use super::identity::{self, SanName};
use super::Driver;
use rsyslog_ffi::host::HostFamily;
use rustls_pki_types::{CertificateDer, UnixTime};

/// streamDriver.authMode
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMode {
    Anon,
    CertValid,
    Name,
    Fingerprint,
}

impl AuthMode {
    /// As rsyslog's drivers read it (case-insensitive); `None` for anything else.
    pub fn parse(s: &str) -> Option<AuthMode> {
        match s.to_ascii_lowercase().as_str() {
            "anon" => Some(AuthMode::Anon),
            "x509/certvalid" => Some(AuthMode::CertValid),
            "x509/name" => Some(AuthMode::Name),
            "x509/fingerprint" => Some(AuthMode::Fingerprint),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            AuthMode::Anon => "anon",
            AuthMode::CertValid => "x509/certvalid",
            AuthMode::Name => "x509/name",
            AuthMode::Fingerprint => "x509/fingerprint",
        }
    }
}

/// streamDriver.permitExpiredCerts
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expired {
    Deny,
    Permit,
    Warn,
}

impl Expired {
    pub fn parse(s: &str) -> Option<Expired> {
        match s.to_ascii_lowercase().as_str() {
            "off" => Some(Expired::Deny),
            "on" => Some(Expired::Permit),
            "warn" => Some(Expired::Warn),
            _ => None,
        }
    }
}

/// What the check of one input asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerPolicy {
    pub driver: Driver,
    /// The rsyslog release family of the host: where the C drivers of
    /// current upstream decide differently, ours follows the host.
    pub host: HostFamily,
    pub auth: AuthMode,
    pub expired: Expired,
    pub check_purpose: bool,
    pub prioritize_san: bool,
    /// tlsVerifyDepth (0: the driver's default). gtls: most certificates
    /// the peer may send (leaf included); ossl: most intermediate CAs.
    pub verify_depth: usize,
    /// permittedPeer entries, as configured.
    pub permitted: Vec<String>,
}

/// Why a peer is turned away.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    /// The mode needs a certificate and the peer sent none.
    NoCertificate,
    /// The chain does not verify.
    Chain(ChainError),
    /// gtls: the peer sent more certificates than the verify depth.
    TooManyCertificates { sent: usize, max: usize },
    /// The certificate could not be parsed for its names.
    Unparsable,
    /// x509/name: no name of the certificate is permitted (the names as
    /// the driver lists them: gtls `DNSname: a; CN: b; `, ossl the subject).
    Name { names: String },
    /// ossl x509/name without any permittedPeer.
    NoPermittedPeers,
    /// x509/fingerprint: the fingerprint is not permitted (SHA1 notation).
    Fingerprint { sha1: String },
    /// gtls: the CRL file's CRL is past its nextUpdate; every peer is
    /// refused, whatever the mode, until the CRL is replaced.
    CrlExpired,
}

/// A peer that passed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Accepted {
    /// A certificate was expired and permitExpiredCerts="warn" let it through.
    pub expired_warning: bool,
    /// The subject of the peer certificate, if one was sent.
    pub subject: Option<String>,
}

/// The check of one listener: policy plus the CA and CRL material.
#[derive(Debug)]
pub struct PeerCheck {
    pub policy: PeerPolicy,
    anchors: Anchors,
}

impl PeerCheck {
    pub fn new(policy: PeerPolicy, anchors: Anchors) -> PeerCheck {
        PeerCheck { policy, anchors }
    }

    /// Checks the certificates a peer sent (leaf first) at `now`.
    pub fn check(&self, certs: Option<&[CertificateDer<'_>]>, now: UnixTime) -> Result<Accepted, Rejection> {
        let p = &self.policy;
        let ossl = p.driver == Driver::Ossl;
        // gtls (as current upstream's nsd_gtls.c, first thing after the
        // handshake, in every mode): a stale CRL refuses the peer. OpenSSL
        // checks the CRL's time with the chain instead (below).
        let now_secs = i64::try_from(now.as_secs()).unwrap_or(i64::MAX);
        if !ossl && self.anchors.first_crl().is_some_and(|c| c.expired_at(now_secs)) {
            return Err(Rejection::CrlExpired);
        }
        let all = certs.unwrap_or(&[]);
        let Some((leaf, intermediates)) = all.split_first() else {
            return if p.auth == AuthMode::Anon {
                Ok(Accepted::default())
            } else {
                Err(Rejection::NoCertificate)
            };
        };
        let mut ok = Accepted {
            subject: Some(identity::subject(leaf)),
            ..Accepted::default()
        };
        // gtls checks only the fingerprint in x509/fingerprint mode; ossl has
        // verified the chain during the handshake in every mode but anon.
        let chain_wanted = match p.auth {
            AuthMode::Anon => false,
            AuthMode::Fingerprint => ossl,
            AuthMode::CertValid | AuthMode::Name => true,
        };
        if chain_wanted {
            if !ossl && p.verify_depth > 0 && all.len() > p.verify_depth {
                return Err(Rejection::TooManyCertificates {
                    sent: all.len(),
                    max: p.verify_depth,
                });
            }
            let chain_policy = ChainPolicy {
                permit_expired: p.expired != Expired::Deny,
                // OpenSSL checks a client certificate's purpose on its own
                // (X509_PURPOSE_SSL_CLIENT); gtls only when asked.
                check_purpose: p.check_purpose || ossl,
                max_intermediates: (ossl && p.verify_depth > 0).then_some(p.verify_depth),
            };
            let verified = self.anchors.verify(leaf, intermediates, now, chain_policy);
            // OpenSSL (X509_V_FLAG_CRL_CHECK) looks at the time of the leaf's
            // CRL before the revocation entries and the certificate's own
            // dates; a stale CRL fails the chain (on every host).
            if ossl
                && matches!(
                    verified,
                    Ok(_) | Err(ChainError::Revoked | ChainError::Expired | ChainError::NotYetValid)
                )
            {
                if let Some(e) = self.anchors.leaf_crl_time_error(leaf, now) {
                    return Err(Rejection::Chain(e));
                }
            }
            let c = verified.map_err(Rejection::Chain)?;
            ok.expired_warning = c.expired && p.expired == Expired::Warn;
        }
        match p.auth {
            AuthMode::Anon | AuthMode::CertValid => Ok(ok),
            AuthMode::Fingerprint => {
                let sha1 = identity::fingerprint(leaf, false);
                let sha256 = identity::fingerprint(leaf, true);
                // Case-sensitive and exact, as both drivers compare.
                if p.permitted.iter().any(|f| *f == sha1 || *f == sha256) {
                    Ok(ok)
                } else {
                    Err(Rejection::Fingerprint { sha1 })
                }
            }
            AuthMode::Name if ossl => {
                if p.permitted.is_empty() {
                    return Err(Rejection::NoPermittedPeers);
                }
                let info = identity::info(all).ok_or(Rejection::Unparsable)?;
                let names = identity::names(leaf).ok_or(Rejection::Unparsable)?;
                let subject = info.subject_oneline;
                let mut listed = format!("name: {subject}; ");
                if p.host < HostFamily::Master {
                    // 8.2302/8.2504: the wildcard against the subject line, or
                    // OpenSSL's host check with the entry as host name.
                    let hit = p
                        .permitted
                        .iter()
                        .any(|pat| wildcard_match(pat, &subject) == Some(true) || check_host(&names, pat, false));
                    return if hit {
                        Ok(ok)
                    } else {
                        Err(Rejection::Name { names: listed })
                    };
                }
                // Current upstream: the subject line (wildcard; an entry
                // without `*` also through OpenSSL's host check, SAN only
                // with PrioritizeSAN), then each DNS and IP SAN, then the CN
                // unless PrioritizeSAN is on and the certificate has a SAN.
                if p.permitted.iter().any(|pat| {
                    wildcard_match(pat, &subject) == Some(true)
                        || (!pat.contains('*') && check_host(&names, pat, p.prioritize_san))
                }) {
                    return Ok(ok);
                }
                for san in &names.san {
                    let name = match san {
                        SanName::Dns(d) => {
                            listed.push_str(&format!("DNSname: {d}; "));
                            d
                        }
                        SanName::Ip(a) => {
                            listed.push_str(&format!("IPaddress: {a}; "));
                            a
                        }
                    };
                    if self.permits(name) {
                        return Ok(ok);
                    }
                }
                if !(p.prioritize_san && names.any_san) {
                    if let Some(cn) = names.cn.first() {
                        listed.push_str(&format!("CN: {cn}; "));
                        if self.permits(cn) {
                            return Ok(ok);
                        }
                    }
                }
                Err(Rejection::Name { names: listed })
            }
            AuthMode::Name => {
                let names = identity::names(leaf).ok_or(Rejection::Unparsable)?;
                let mut listed = String::new();
                for d in &names.dns {
                    listed.push_str(&format!("DNSname: {d}; "));
                    if self.permits(d) {
                        return Ok(ok);
                    }
                }
                if !p.prioritize_san || names.dns.is_empty() {
                    if let Some(cn) = names.cn.first() {
                        listed.push_str(&format!("CN: {cn}; "));
                        if self.permits(cn) {
                            return Ok(ok);
                        }
                    }
                }
                Err(Rejection::Name { names: listed })
            }
        }
    }

    fn permits(&self, name: &str) -> bool {
        self.policy
            .permitted
            .iter()
            .any(|pat| wildcard_match(pat, name) == Some(true))
    }

    /// permittedPeer entries whose wildcard rsyslog cannot compile.
    pub fn invalid_patterns(&self) -> Vec<&str> {
        self.policy
            .permitted
            .iter()
            .filter(|p| wildcard_match(p, "").is_none())
            .map(String::as_str)
            .collect()
    }
}

/// rsyslog's permittedPeer match (net.c), case-sensitive: without `*` the
/// strings must be equal; with `*` both are split at `.` into labels, the
/// label counts must be equal and each label must match: `*` any label,
/// `*abc` a label ending in `abc`, `abc*` one starting with it. `None` when
/// a label has another form (`a*b`, `**`, `*a*`): rsyslog cannot compile it.
pub fn wildcard_match(pattern: &str, name: &str) -> Option<bool> {
    if !pattern.contains('*') {
        return Some(pattern == name);
    }
    let pl: Vec<&str> = pattern.split('.').collect();
    let mut valid = true;
    for l in &pl {
        let stars = l.matches('*').count();
        let ok = stars == 0 || *l == "*" || (stars == 1 && (l.starts_with('*') || l.ends_with('*')));
        valid &= ok;
    }
    if !valid {
        return None;
    }
    let nl: Vec<&str> = name.split('.').collect();
    if pl.len() != nl.len() {
        return Some(false);
    }
    Some(pl.iter().zip(&nl).all(|(p, n)| {
        if *p == "*" {
            true
        } else if let Some(suffix) = p.strip_prefix('*') {
            n.ends_with(suffix)
        } else if let Some(prefix) = p.strip_suffix('*') {
            n.starts_with(prefix)
        } else {
            p == n
        }
    }))
}

/// OpenSSL's X509_check_host as the ossl driver calls it: the DNS SANs, or
/// the CN when there is no DNS SAN (never the CN with `san_only`, OpenSSL's
/// X509_CHECK_FLAG_NEVER_CHECK_SUBJECT); ASCII case-insensitive; a `*` is
/// honoured only as the whole leftmost label of the certificate's name.
pub fn check_host(names: &identity::Names, host: &str, san_only: bool) -> bool {
    let candidates: &[String] = if names.dns.is_empty() && !san_only {
        &names.cn
    } else {
        &names.dns
    };
    let host = host.to_ascii_lowercase();
    candidates.iter().any(|c| {
        let c = c.to_ascii_lowercase();
        if let Some(rest) = c.strip_prefix("*.") {
            // "*.example.com" covers "a.example.com" only, and needs two labels after it.
            rest.contains('.')
                && host
                    .split_once('.')
                    .is_some_and(|(first, tail)| !first.is_empty() && tail == rest)
        } else {
            c == host
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rsyslog_wildcards() {
        assert_eq!(wildcard_match("a.example.com", "a.example.com"), Some(true));
        assert_eq!(wildcard_match("A.example.com", "a.example.com"), Some(false));
        assert_eq!(wildcard_match("*.example.com", "a.example.com"), Some(true));
        assert_eq!(wildcard_match("*.example.com", "example.com"), Some(false));
        assert_eq!(wildcard_match("*.example.com", "a.b.example.com"), Some(false));
        assert_eq!(wildcard_match("*", "single"), Some(true));
        assert_eq!(wildcard_match("*", "two.labels"), Some(false));
        assert_eq!(wildcard_match("*client", "rsyslog client"), Some(true));
        assert_eq!(wildcard_match("web*.example.com", "web01.example.com"), Some(true));
        assert_eq!(wildcard_match("web*.example.com", "db01.example.com"), Some(false));
        assert_eq!(wildcard_match("a*b.example.com", "axb.example.com"), None);
        assert_eq!(wildcard_match("**.example.com", "a.example.com"), None);
        assert_eq!(wildcard_match("*a*.example.com", "bab.example.com"), None);
    }

    #[test]
    fn openssl_host_check() {
        let n = |dns: &[&str], cn: &[&str]| identity::Names {
            dns: dns.iter().map(|s| s.to_string()).collect(),
            cn: cn.iter().map(|s| s.to_string()).collect(),
            ..identity::Names::default()
        };
        assert!(check_host(&n(&["client.test"], &["other"]), "CLIENT.test", false));
        assert!(!check_host(&n(&["client.test"], &["other"]), "other", false));
        assert!(check_host(&n(&[], &["other"]), "other", false));
        // X509_CHECK_FLAG_NEVER_CHECK_SUBJECT: no CN, even without a DNS SAN.
        assert!(!check_host(&n(&[], &["other"]), "other", true));
        assert!(check_host(&n(&["client.test"], &["other"]), "client.test", true));
        assert!(check_host(&n(&["*.example.com"], &[]), "a.example.com", false));
        assert!(!check_host(&n(&["*.example.com"], &[]), "a.b.example.com", false));
        assert!(!check_host(&n(&["*.com"], &[]), "example.com", false));
    }
}
