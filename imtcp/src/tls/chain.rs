//! Certificate-chain checks of a peer certificate against the configured CA
//! file and CRLs (rustls-webpki), with rsyslog's knobs on top: expired
//! certificates may be permitted, the extended key purpose is checked only
//! when asked, and the chain length can be bounded.

use rustls_pki_types::{CertificateDer, TrustAnchor, UnixTime};
use std::time::Duration;
use webpki::{
    BorrowedCertRevocationList, CertRevocationList, EndEntityCert, ExtendedKeyUsageValidator, KeyPurposeIdIter,
    KeyUsage, OwnedCertRevocationList, RevocationCheckDepth, RevocationOptionsBuilder, UnknownStatusPolicy,
};

/// What the chain check needs, read once from the configured files.
#[derive(Debug, Default)]
pub struct Anchors {
    pub roots: Vec<TrustAnchor<'static>>,
    pub crls: Vec<CertRevocationList<'static>>,
    /// Version 1 CRLs (no extensions; webpki reads only version 2), checked
    /// here: the issuer's raw name and the revoked serial numbers.
    v1_crls: Vec<V1Crl>,
    /// The CA certificates (DER), to find and check a v1 CRL's issuer.
    ca_ders: Vec<Vec<u8>>,
    /// The validity period of every CRL of the CRL file, in file order.
    pub crl_times: Vec<CrlTimes>,
}

/// When a CRL of the CRL file is current.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrlTimes {
    /// The issuer name (DER).
    pub issuer: Vec<u8>,
    /// thisUpdate, seconds since the epoch.
    pub this_update: i64,
    /// nextUpdate, seconds since the epoch, when the CRL has one.
    pub next_update: Option<i64>,
}

impl CrlTimes {
    /// `now` is past nextUpdate.
    pub fn expired_at(&self, now: i64) -> bool {
        self.next_update.is_some_and(|n| now > n)
    }

    /// `now` is before thisUpdate.
    pub fn not_yet_valid_at(&self, now: i64) -> bool {
        now < self.this_update
    }
}

#[derive(Debug, Clone)]
struct V1Crl {
    issuer: Vec<u8>,
    revoked: Vec<Vec<u8>>,
}

/// A serial number without its sign-padding zeros, for comparison.
fn serial_key(raw: &[u8]) -> Vec<u8> {
    let first = raw.iter().position(|b| *b != 0).unwrap_or(raw.len());
    raw[first..].to_vec()
}

/// Why a chain was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChainError {
    /// No CA file configured, or no issuer among the CAs.
    UnknownIssuer,
    /// A certificate of the chain is past its notAfter.
    Expired,
    /// A certificate of the chain is before its notBefore.
    NotYetValid,
    /// The CRL of an issuer lists the certificate.
    Revoked,
    /// More intermediate CAs in the path than the verify depth allows.
    TooDeep { max: usize },
    /// The peer certificate lacks the clientAuth extended key purpose.
    Purpose,
    /// The CRL of the peer certificate's issuer is past its nextUpdate.
    CrlExpired,
    /// The CRL of the peer certificate's issuer is before its thisUpdate.
    CrlNotYetValid,
    /// Anything else webpki refused (signature, encoding, constraints).
    Invalid(String),
}

/// How an accepted chain was accepted.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ChainOk {
    /// A certificate of the chain was expired (accepted by permitExpiredCerts).
    pub expired: bool,
    /// Certificates in the verified path, leaf and trust anchor included.
    pub depth: usize,
}

/// The rsyslog knobs of the chain check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChainPolicy {
    /// permitExpiredCerts on/warn: an expired certificate does not fail the chain.
    pub permit_expired: bool,
    /// checkExtendedKeyPurpose: the peer certificate must allow TLS client use.
    pub check_purpose: bool,
    /// Most intermediate CAs in the verified path (OpenSSL's verify depth;
    /// leaf and trust anchor not counted); `None` = no bound.
    pub max_intermediates: Option<usize>,
}

/// clientAuth (1.3.6.1.5.5.7.3.2).
const ID_KP_CLIENT_AUTH: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x02];

/// Accepts any extended key usage: the C drivers check the purpose only
/// when checkExtendedKeyPurpose is on.
struct AnyPurpose;

impl ExtendedKeyUsageValidator for AnyPurpose {
    fn validate(&self, iter: KeyPurposeIdIter<'_, '_>) -> Result<(), webpki::Error> {
        for id in iter {
            id?;
        }
        Ok(())
    }
}

impl Anchors {
    /// Trust anchors from the DER certificates of a CA file; a certificate
    /// webpki cannot use as an anchor is an error naming its position.
    pub fn from_ca_certs(certs: &[CertificateDer<'_>]) -> Result<Anchors, String> {
        let mut roots = Vec::with_capacity(certs.len());
        for (i, c) in certs.iter().enumerate() {
            let a = webpki::anchor_from_trusted_cert(c)
                .map_err(|e| format!("certificate {} of the CA file is not usable: {e:?}", i + 1))?;
            roots.push(a.to_owned());
        }
        Ok(Anchors {
            roots,
            crls: Vec::new(),
            v1_crls: Vec::new(),
            ca_ders: certs.iter().map(|c| c.as_ref().to_vec()).collect(),
            crl_times: Vec::new(),
        })
    }

    /// Adds the CRLs (DER) of a CRL file.
    pub fn add_crls(&mut self, crls: &[Vec<u8>]) -> Result<(), String> {
        use x509_parser::prelude::{CertificateRevocationList as XCrl, FromDer};
        for (i, der) in crls.iter().enumerate() {
            let (_, x) =
                XCrl::from_der(der).map_err(|e| format!("CRL {} of the CRL file is not usable: {e}", i + 1))?;
            self.crl_times.push(CrlTimes {
                issuer: x.issuer().as_raw().to_vec(),
                this_update: x.last_update().timestamp(),
                next_update: x.next_update().map(|t| t.timestamp()),
            });
            let owned: Result<OwnedCertRevocationList, _> =
                BorrowedCertRevocationList::from_der(der).and_then(|c| c.to_owned());
            match owned {
                Ok(crl) => self.crls.push(CertRevocationList::Owned(crl)),
                Err(webpki_err) => {
                    let v1 = self
                        .v1_crl(der)
                        .map_err(|e| format!("CRL {} of the CRL file is not usable: {webpki_err:?}; {e}", i + 1))?;
                    self.v1_crls.push(v1);
                }
            }
        }
        Ok(())
    }

    /// Reads a CRL webpki cannot (version 1): its signature must verify
    /// with one of the CA certificates whose subject is the CRL's issuer.
    fn v1_crl(&self, der: &[u8]) -> Result<V1Crl, String> {
        use x509_parser::prelude::{CertificateRevocationList as XCrl, FromDer, X509Certificate};
        let (_, crl) = XCrl::from_der(der).map_err(|e| format!("not a CRL: {e}"))?;
        let issuer = crl.issuer().as_raw().to_vec();
        let signer = self.ca_ders.iter().find_map(|d| {
            let (_, ca) = X509Certificate::from_der(d).ok()?;
            (ca.subject().as_raw() == issuer.as_slice() && crl.verify_signature(ca.public_key()).is_ok()).then_some(())
        });
        if signer.is_none() {
            return Err(format!(
                "no CA certificate with the issuer name '{}' verifies its signature",
                crl.issuer()
            ));
        }
        Ok(V1Crl {
            issuer,
            revoked: crl
                .iter_revoked_certificates()
                .map(|r| serial_key(r.raw_serial()))
                .collect(),
        })
    }

    /// A certificate listed in one of the version 1 CRLs.
    fn revoked_by_v1(&self, certs: &[&CertificateDer<'_>]) -> bool {
        use x509_parser::prelude::{FromDer, X509Certificate};
        if self.v1_crls.is_empty() {
            return false;
        }
        certs.iter().any(|c| {
            let Ok((_, x)) = X509Certificate::from_der(c.as_ref()) else {
                return false;
            };
            let serial = serial_key(x.raw_serial());
            self.v1_crls
                .iter()
                .any(|crl| crl.issuer.as_slice() == x.issuer().as_raw() && crl.revoked.contains(&serial))
        })
    }

    /// The first CRL of the CRL file (the one GnuTLS's import reads).
    pub fn first_crl(&self) -> Option<&CrlTimes> {
        self.crl_times.first()
    }

    /// OpenSSL's time check of the CRL that covers `leaf` (it checks the
    /// leaf's CRL only): of the CRLs issued by the leaf's issuer, a current
    /// one is used; with none current, the one found says why. `None` when
    /// one is current or there is no CRL of that issuer.
    pub fn leaf_crl_time_error(&self, leaf: &CertificateDer<'_>, now: UnixTime) -> Option<ChainError> {
        use x509_parser::prelude::{FromDer, X509Certificate};
        let (_, x) = X509Certificate::from_der(leaf.as_ref()).ok()?;
        let now = i64::try_from(now.as_secs()).unwrap_or(i64::MAX);
        let mut own = self
            .crl_times
            .iter()
            .filter(|c| c.issuer.as_slice() == x.issuer().as_raw());
        let first = own.clone().next()?;
        if own.any(|c| !c.expired_at(now) && !c.not_yet_valid_at(now)) {
            return None;
        }
        Some(if first.not_yet_valid_at(now) {
            ChainError::CrlNotYetValid
        } else {
            ChainError::CrlExpired
        })
    }

    /// Checks `leaf` (with the `intermediates` the peer sent) at `now`.
    pub fn verify(
        &self,
        leaf: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
        policy: ChainPolicy,
    ) -> Result<ChainOk, ChainError> {
        if self.roots.is_empty() {
            return Err(ChainError::UnknownIssuer);
        }
        let ee = EndEntityCert::try_from(leaf).map_err(|e| ChainError::Invalid(format!("{e:?}")))?;
        let mut time = now;
        let mut expired = false;
        // An expired certificate that is permitted: check again at a moment it
        // was valid, so everything else (issuer, signature, CRL) is still checked.
        for _ in 0..4 {
            match self.verify_at(&ee, intermediates, time, policy) {
                Ok(depth) => {
                    let mut all = vec![leaf];
                    all.extend(intermediates.iter());
                    if self.revoked_by_v1(&all) {
                        return Err(ChainError::Revoked);
                    }
                    return Ok(ChainOk { expired, depth });
                }
                Err(webpki::Error::CertExpired { not_after, .. }) if policy.permit_expired => {
                    expired = true;
                    time = UnixTime::since_unix_epoch(Duration::from_secs(not_after.as_secs().saturating_sub(1)));
                }
                Err(e) => return Err(map_error(e, policy)),
            }
        }
        Err(ChainError::Expired)
    }

    fn verify_at(
        &self,
        ee: &EndEntityCert<'_>,
        intermediates: &[CertificateDer<'_>],
        time: UnixTime,
        policy: ChainPolicy,
    ) -> Result<usize, webpki::Error> {
        let crl_refs: Vec<&CertRevocationList<'_>> = self.crls.iter().collect();
        let revocation = RevocationOptionsBuilder::new(&crl_refs).ok().map(|b| {
            b.with_depth(RevocationCheckDepth::Chain)
                .with_status_policy(UnknownStatusPolicy::Allow)
                .build()
        });
        let algs = signature_algorithms();
        let max = policy.max_intermediates;
        let path_check = |p: &webpki::VerifiedPath<'_>| -> Result<(), webpki::Error> {
            if max.is_some_and(|m| p.intermediate_certificates().count() > m) {
                return Err(webpki::Error::MaximumPathDepthExceeded);
            }
            Ok(())
        };
        let r = if policy.check_purpose {
            ee.verify_for_usage(
                algs,
                &self.roots,
                intermediates,
                time,
                KeyUsage::required_if_present(ID_KP_CLIENT_AUTH),
                revocation,
                Some(&path_check),
            )
        } else {
            ee.verify_for_usage(
                algs,
                &self.roots,
                intermediates,
                time,
                AnyPurpose,
                revocation,
                Some(&path_check),
            )
        };
        r.map(|p| 2 + p.intermediate_certificates().count())
    }
}

/// ring's signature algorithms, looked up once (building the provider
/// allocates its suite and group lists).
fn signature_algorithms() -> &'static [&'static dyn rustls_pki_types::SignatureVerificationAlgorithm] {
    static ALGS: std::sync::OnceLock<&'static [&'static dyn rustls_pki_types::SignatureVerificationAlgorithm]> =
        std::sync::OnceLock::new();
    ALGS.get_or_init(|| {
        rustls::crypto::ring::default_provider()
            .signature_verification_algorithms
            .all
    })
}

fn map_error(e: webpki::Error, policy: ChainPolicy) -> ChainError {
    use webpki::Error as E;
    #[allow(deprecated)]
    match e {
        E::UnknownIssuer => ChainError::UnknownIssuer,
        E::CertExpired { .. } => ChainError::Expired,
        E::CertNotValidYet { .. } => ChainError::NotYetValid,
        E::CertRevoked => ChainError::Revoked,
        E::MaximumPathDepthExceeded => ChainError::TooDeep {
            max: policy.max_intermediates.unwrap_or(0),
        },
        E::RequiredEkuNotFound | E::RequiredEkuNotFoundContext(_) => ChainError::Purpose,
        other => ChainError::Invalid(format!("{other:?}")),
    }
}
