//! The post-handshake check of a peer: what authMode asks for, with the C
//! drivers' outcomes (the texts are made by the session, which knows the peer).

use super::chain::{Anchors, ChainError, ChainPolicy};
use super::identity;
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
    pub auth: AuthMode,
    pub expired: Expired,
    pub check_purpose: bool,
    pub prioritize_san: bool,
    /// tlsVerifyDepth (0: the driver's default).
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
    /// The certificate could not be parsed for its names.
    Unparsable,
    /// x509/name: no name of the certificate is permitted.
    Name { names: Vec<String> },
    /// x509/fingerprint: the fingerprint is not permitted.
    Fingerprint { sha1: String, sha256: String },
}

/// A peer that passed: for the log and for the (later) property of the sender.
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
        let leaf_and_rest = certs.and_then(|c| c.split_first());
        let Some((leaf, intermediates)) = leaf_and_rest else {
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
        match p.auth {
            AuthMode::Anon => return Ok(ok),
            AuthMode::Fingerprint => {
                // The fingerprint alone identifies the peer: no chain check (as the C drivers).
                let sha1 = identity::fingerprint(leaf, false);
                let sha256 = identity::fingerprint(leaf, true);
                let hit = p
                    .permitted
                    .iter()
                    .any(|f| f.eq_ignore_ascii_case(&sha1) || f.eq_ignore_ascii_case(&sha256));
                return if hit {
                    Ok(ok)
                } else {
                    Err(Rejection::Fingerprint { sha1, sha256 })
                };
            }
            AuthMode::CertValid | AuthMode::Name => {}
        }
        let chain_policy = ChainPolicy {
            permit_expired: p.expired != Expired::Deny,
            check_purpose: p.check_purpose,
            max_depth: p.verify_depth,
        };
        let c = self
            .anchors
            .verify(leaf, intermediates, now, chain_policy)
            .map_err(Rejection::Chain)?;
        ok.expired_warning = c.expired && p.expired == Expired::Warn;
        if p.auth == AuthMode::Name {
            let names = identity::names(leaf).ok_or(Rejection::Unparsable)?;
            let candidates = names_to_match(&names, p.prioritize_san);
            if !candidates
                .iter()
                .any(|n| p.permitted.iter().any(|pat| name_matches(pat, n)))
            {
                return Err(Rejection::Name { names: candidates });
            }
        }
        Ok(ok)
    }
}

/// The names x509/name compares: the SAN dNSNames, and the CN unless
/// prioritizeSAN is on and the certificate has a dNSName.
pub fn names_to_match(n: &identity::Names, prioritize_san: bool) -> Vec<String> {
    let mut out = n.dns.clone();
    if !prioritize_san || n.dns.is_empty() {
        out.extend(n.cn.iter().cloned());
    }
    out
}

/// permittedPeer matching: a name matches an entry equal to it (ASCII case
/// folded) or a wildcard entry. In a wildcard entry each dot-separated
/// component is matched on its own: `*` matches any one component, `ab*` and
/// `*ab` a component starting or ending with `ab`; a leading `*.` component
/// ... see the driver facts.
pub fn name_matches(pattern: &str, name: &str) -> bool {
    if !pattern.contains('*') {
        return pattern.eq_ignore_ascii_case(name);
    }
    let pc: Vec<&str> = pattern.split('.').collect();
    let nc: Vec<&str> = name.split('.').collect();
    if pc.len() != nc.len() {
        return false;
    }
    pc.iter().zip(&nc).all(|(p, n)| component_matches(p, n))
}

fn component_matches(p: &str, n: &str) -> bool {
    let (p, n) = (p.to_ascii_lowercase(), n.to_ascii_lowercase());
    if p == "*" {
        return true;
    }
    if let Some(suffix) = p.strip_prefix('*') {
        return n.ends_with(suffix);
    }
    if let Some(prefix) = p.strip_suffix('*') {
        return n.starts_with(prefix);
    }
    p == n
}
