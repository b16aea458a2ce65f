//! Test certificates, made at test time (rcgen, ECDSA P-256 keys, PEM files
//! in a temp dir removed on drop).
//!
//! ```no_run
//! let pki = rsyslog_tests::certs::Pki::generate();
//! // server side: pki.ca, pki.server.cert, pki.server.key
//! // a client that passes x509/certvalid and x509/name "client.rsyslog.test":
//! let c = &pki.client;
//! let peer = c.sha1(); // "SHA1:AB:CD:…", rsyslog's notation for permittedPeer
//! # let _ = (c, peer);
//! ```
//!
//! What is made (one CA unless said otherwise; validity 2020-01-01 … 2099-12-31):
//!
//! | field | subject (CN and DNS SAN) | extended key usage | what is special |
//! |---|---|---|---|
//! | `ca` | CN "rsyslog test CA" | — | the CA the receiver trusts |
//! | `server` | server.rsyslog.test, SAN IP 127.0.0.1 | serverAuth, clientAuth | |
//! | `client` | client.rsyslog.test | clientAuth | the good client |
//! | `wrong_ca` | client.rsyslog.test | clientAuth | signed by `other_ca` |
//! | `expired` | client.rsyslog.test | clientAuth | notAfter 2001-01-01 |
//! | `not_yet_valid` | client.rsyslog.test | clientAuth | notBefore 2090-01-01 |
//! | `wrong_name` | other.example.org | clientAuth | |
//! | `server_eku_only` | client.rsyslog.test | serverAuth | no clientAuth |
//! | `cn_only` | CN client.rsyslog.test, no SAN | clientAuth | |
//! | `revoked` | client.rsyslog.test | clientAuth | listed in `crl` |
//! | `chained` | client.rsyslog.test | clientAuth | signed by `intermediate`, whose issuer is `chain_root`; its cert file holds client + intermediate |
//! | `san_other_cn` | CN rsyslog-client, DNS SAN client.rsyslog.test | clientAuth | the CN is no DNS name and differs from the SAN |
//!
//! `crl` is a CRL of `ca` (next update 2099) listing `revoked`'s serial;
//! `crl_expired` the same, but its next update was 2021-01-01.
//! Fingerprints are rsyslog's notation (nsd_gtls.c GenFingerprintStr,
//! net_ossl.c net_ossl_genfingerprintstr): the algorithm name, then each
//! byte as ":%2.2X", e.g. `SHA1:5C:C6:…`; rsyslog compares them case-sensitively.

use rcgen::{
    date_time_ymd, BasicConstraints, CertificateParams, CertificateRevocationListParams, DistinguishedName, DnType,
    ExtendedKeyUsagePurpose, IsCa, Issuer, KeyIdMethod, KeyPair, KeyUsagePurpose, RevocationReason, RevokedCertParams,
    SanType, SerialNumber,
};
use std::path::{Path, PathBuf};

/// The name of the server certificate (CN and DNS SAN).
pub const SERVER_NAME: &str = "server.rsyslog.test";
/// The name of the good client certificates (CN and DNS SAN).
pub const CLIENT_NAME: &str = "client.rsyslog.test";
/// The name of [`Pki::wrong_name`].
pub const OTHER_NAME: &str = "other.example.org";
/// The CN of [`Pki::san_other_cn`] (its DNS SAN is [`CLIENT_NAME`]).
pub const OTHER_CN: &str = "rsyslog-client";

/// One certificate with its key, as PEM files.
#[derive(Debug, Clone)]
pub struct CertFiles {
    /// The certificate (for `chained`: the client's, then the intermediate's).
    pub cert: PathBuf,
    /// Its private key (PKCS#8 PEM).
    pub key: PathBuf,
    /// DER of the (leaf) certificate.
    pub der: Vec<u8>,
}

impl CertFiles {
    /// rsyslog's SHA1 fingerprint of the certificate: `SHA1:XX:XX:…`.
    pub fn sha1(&self) -> String {
        fingerprint_sha1(&self.der)
    }
    /// rsyslog's SHA256 fingerprint of the certificate: `SHA256:XX:XX:…`.
    pub fn sha256(&self) -> String {
        fingerprint_sha256(&self.der)
    }
}

/// `prefix` and every byte as ":%2.2X" (rsyslog's GenFingerprintStr).
pub fn fingerprint_str(prefix: &str, digest: &[u8]) -> String {
    let mut s = String::from(prefix);
    for b in digest {
        s.push_str(&format!(":{b:02X}"));
    }
    s
}

/// rsyslog's notation of the SHA1 fingerprint of a DER certificate.
pub fn fingerprint_sha1(der: &[u8]) -> String {
    let d = ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, der);
    fingerprint_str("SHA1", d.as_ref())
}

/// rsyslog's notation of the SHA256 fingerprint of a DER certificate.
pub fn fingerprint_sha256(der: &[u8]) -> String {
    let d = ring::digest::digest(&ring::digest::SHA256, der);
    fingerprint_str("SHA256", d.as_ref())
}

/// A complete set of test certificates in a temp dir (removed on drop).
pub struct Pki {
    dir: tempfile::TempDir,
    /// The CA the receiver trusts (PEM).
    pub ca: PathBuf,
    /// A second, unrelated CA (PEM); `wrong_ca` is signed by it.
    pub other_ca: PathBuf,
    /// Root of the chain `chain_root` → `intermediate` → `chained` (PEM).
    pub chain_root: PathBuf,
    /// The intermediate CA certificate of that chain (PEM).
    pub intermediate: PathBuf,
    /// The intermediate, then the root (PEM): what a client sends besides
    /// `chained` to present all three certificates.
    pub intermediate_and_root: PathBuf,
    /// CRL of `ca` listing `revoked` (PEM).
    pub crl: PathBuf,
    /// The same CRL, past its next update (2021-01-01).
    pub crl_expired: PathBuf,
    pub server: CertFiles,
    pub client: CertFiles,
    pub wrong_ca: CertFiles,
    pub expired: CertFiles,
    pub not_yet_valid: CertFiles,
    pub wrong_name: CertFiles,
    pub server_eku_only: CertFiles,
    pub cn_only: CertFiles,
    pub revoked: CertFiles,
    pub chained: CertFiles,
    pub san_other_cn: CertFiles,
}

/// Serial number of `Pki::revoked` (the one the CRL lists).
pub const REVOKED_SERIAL: u64 = 0x5eed_0bad;

fn dn(cn: &str) -> DistinguishedName {
    let mut d = DistinguishedName::new();
    d.push(DnType::OrganizationName, "rsyslog-rs testbench");
    d.push(DnType::CommonName, cn);
    d
}

fn ca_params(cn: &str) -> CertificateParams {
    let mut p = CertificateParams::default();
    p.distinguished_name = dn(cn);
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    p.not_before = date_time_ymd(2020, 1, 1);
    p.not_after = date_time_ymd(2099, 12, 31);
    p.key_identifier_method = KeyIdMethod::Sha256;
    p
}

/// A leaf certificate's parameters: `cn` as CN and (when `san`) DNS SAN,
/// the given extended key usages, valid 2020 … 2099.
fn leaf_params(cn: &str, san: bool, ekus: &[ExtendedKeyUsagePurpose]) -> CertificateParams {
    let mut p = CertificateParams::default();
    p.distinguished_name = dn(cn);
    if san {
        p.subject_alt_names = vec![SanType::DnsName(cn.try_into().expect("DNS name"))];
    }
    p.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyEncipherment];
    p.extended_key_usages = ekus.to_vec();
    p.not_before = date_time_ymd(2020, 1, 1);
    p.not_after = date_time_ymd(2099, 12, 31);
    p.use_authority_key_identifier_extension = true;
    p
}

struct Writer<'a> {
    dir: &'a Path,
}

impl Writer<'_> {
    fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.dir.join(name);
        std::fs::write(&p, text).unwrap_or_else(|e| panic!("certs: writing {}: {e}", p.display()));
        p
    }

    /// Signs `params` with `issuer`, writes `<name>-cert.pem` (plus `extra`
    /// PEM appended) and `<name>-key.pem`.
    fn leaf(&self, name: &str, params: &CertificateParams, issuer: &Issuer<'_, KeyPair>, extra: &str) -> CertFiles {
        let key = KeyPair::generate().expect("certs: key generation");
        let cert = params.signed_by(&key, issuer).expect("certs: signing");
        CertFiles {
            cert: self.write(&format!("{name}-cert.pem"), &(cert.pem() + extra)),
            key: self.write(&format!("{name}-key.pem"), &key.serialize_pem()),
            der: cert.der().to_vec(),
        }
    }
}

/// A self-signed CA: (its certificate PEM, an issuer for signing).
fn make_ca(cn: &str) -> (String, Issuer<'static, KeyPair>) {
    let key = KeyPair::generate().expect("certs: key generation");
    let params = ca_params(cn);
    let cert = params.self_signed(&key).expect("certs: self-signing the CA");
    (cert.pem(), Issuer::new(params, key))
}

impl Pki {
    /// A rustls client session towards [`SERVER_NAME`] that trusts this PKI's CA and
    /// sends no certificate (the well-behaved TLS sender of the tests).
    pub fn client(&self) -> rustls::ClientConnection {
        use rustls::pki_types::pem::PemObject;
        let mut roots = rustls::RootCertStore::empty();
        let pem = std::fs::read(&self.ca).expect("the CA file");
        for c in rustls::pki_types::CertificateDer::pem_slice_iter(&pem) {
            roots
                .add(c.expect("a CA certificate"))
                .expect("a usable CA certificate");
        }
        let cfg =
            rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(rustls::crypto::ring::default_provider()))
                .with_safe_default_protocol_versions()
                .expect("ring's protocol versions")
                .with_root_certificates(roots)
                .with_no_client_auth();
        let name = rustls::pki_types::ServerName::try_from(SERVER_NAME).expect("a valid name");
        rustls::ClientConnection::new(std::sync::Arc::new(cfg), name).expect("a client session")
    }

    /// Makes every certificate (see the module doc) in a fresh temp dir.
    pub fn generate() -> Pki {
        use ExtendedKeyUsagePurpose::{ClientAuth, ServerAuth};
        let dir = tempfile::Builder::new()
            .prefix("rstb-pki-")
            .tempdir()
            .expect("certs: temp dir");
        let w = Writer { dir: dir.path() };

        let (ca_pem, ca) = make_ca("rsyslog test CA");
        let (other_pem, other) = make_ca("rsyslog other test CA");
        let (root_pem, root) = make_ca("rsyslog test chain root");

        let mut server = leaf_params(SERVER_NAME, true, &[ServerAuth, ClientAuth]);
        server.subject_alt_names.push(SanType::IpAddress([127, 0, 0, 1].into()));
        let client = leaf_params(CLIENT_NAME, true, &[ClientAuth]);
        let mut expired = client.clone();
        expired.not_before = date_time_ymd(2000, 1, 1);
        expired.not_after = date_time_ymd(2001, 1, 1);
        let mut not_yet = client.clone();
        not_yet.not_before = date_time_ymd(2090, 1, 1);
        not_yet.not_after = date_time_ymd(2099, 12, 31);
        let mut revoked = client.clone();
        revoked.serial_number = Some(SerialNumber::from(REVOKED_SERIAL));

        // The chain: root → intermediate → client.
        let inter_key = KeyPair::generate().expect("certs: key generation");
        let mut inter_params = ca_params("rsyslog test intermediate CA");
        inter_params.use_authority_key_identifier_extension = true;
        let inter_cert = inter_params
            .signed_by(&inter_key, &root)
            .expect("certs: signing the intermediate");
        let inter = Issuer::new(inter_params, inter_key);

        let crl_params = |next_update| CertificateRevocationListParams {
            this_update: date_time_ymd(2020, 1, 2),
            next_update,
            crl_number: SerialNumber::from(1u64),
            issuing_distribution_point: None,
            revoked_certs: vec![RevokedCertParams {
                serial_number: SerialNumber::from(REVOKED_SERIAL),
                revocation_time: date_time_ymd(2021, 1, 1),
                reason_code: Some(RevocationReason::KeyCompromise),
                invalidity_date: None,
            }],
            key_identifier_method: KeyIdMethod::Sha256,
        };
        let crl = crl_params(date_time_ymd(2099, 12, 1))
            .signed_by(&ca)
            .expect("certs: signing the CRL");
        let crl_expired = crl_params(date_time_ymd(2021, 1, 1))
            .signed_by(&ca)
            .expect("certs: signing the CRL");
        let mut san_other_cn = leaf_params(OTHER_CN, false, &[ClientAuth]);
        san_other_cn.subject_alt_names = vec![SanType::DnsName(CLIENT_NAME.try_into().expect("DNS name"))];

        Pki {
            ca: w.write("ca.pem", &ca_pem),
            other_ca: w.write("other-ca.pem", &other_pem),
            chain_root: w.write("chain-root.pem", &root_pem),
            intermediate: w.write("intermediate.pem", &inter_cert.pem()),
            intermediate_and_root: w.write("intermediate-and-root.pem", &(inter_cert.pem() + &root_pem)),
            crl: w.write("crl.pem", &crl.pem().expect("certs: CRL PEM")),
            crl_expired: w.write("crl-expired.pem", &crl_expired.pem().expect("certs: CRL PEM")),
            server: w.leaf("server", &server, &ca, ""),
            client: w.leaf("client", &client, &ca, ""),
            wrong_ca: w.leaf("wrong-ca", &client, &other, ""),
            expired: w.leaf("expired", &expired, &ca, ""),
            not_yet_valid: w.leaf("not-yet-valid", &not_yet, &ca, ""),
            wrong_name: w.leaf("wrong-name", &leaf_params(OTHER_NAME, true, &[ClientAuth]), &ca, ""),
            server_eku_only: w.leaf(
                "server-eku-only",
                &leaf_params(CLIENT_NAME, true, &[ServerAuth]),
                &ca,
                "",
            ),
            cn_only: w.leaf("cn-only", &leaf_params(CLIENT_NAME, false, &[ClientAuth]), &ca, ""),
            revoked: w.leaf("revoked", &revoked, &ca, ""),
            chained: w.leaf("chained", &client, &inter, &inter_cert.pem()),
            san_other_cn: w.leaf("san-other-cn", &san_other_cn, &ca, ""),
            dir,
        }
    }

    /// The folder holding every file.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    /// Runs `openssl <args>`; (success, stdout+stderr).
    fn openssl(args: &[&Path]) -> (bool, String) {
        let out = Command::new("openssl")
            .args(args)
            .output()
            .expect("openssl (Debian package openssl) is required");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.success(), text)
    }

    fn p(s: &str) -> &Path {
        Path::new(s)
    }

    /// `openssl verify -CAfile ca [more…] cert`: (ok, output).
    fn verify(ca: &Path, more: &[&Path], cert: &Path) -> (bool, String) {
        let mut args = vec![p("verify"), p("-CAfile"), ca];
        args.extend_from_slice(more);
        args.push(cert);
        openssl(&args)
    }

    #[test]
    fn openssl_judges_every_certificate_as_intended() {
        let pki = Pki::generate();
        let ok = |r: (bool, String)| assert!(r.0, "{}", r.1);
        let fails = |r: (bool, String), why: &str| {
            assert!(!r.0 && r.1.contains(why), "want {why:?}: {}", r.1);
        };
        // Both sides of a connection: serverAuth / clientAuth purposes.
        let (ssl_server, ssl_client) = (p("sslserver"), p("sslclient"));
        ok(verify(&pki.ca, &[p("-purpose"), ssl_server], &pki.server.cert));
        ok(verify(&pki.ca, &[p("-purpose"), ssl_client], &pki.server.cert));
        ok(verify(&pki.ca, &[p("-verify_ip"), p("127.0.0.1")], &pki.server.cert));
        ok(verify(
            &pki.ca,
            &[p("-verify_hostname"), p(SERVER_NAME)],
            &pki.server.cert,
        ));
        for c in [&pki.client, &pki.wrong_name, &pki.cn_only, &pki.revoked] {
            ok(verify(&pki.ca, &[p("-purpose"), ssl_client], &c.cert));
        }
        ok(verify(
            &pki.ca,
            &[p("-verify_hostname"), p(CLIENT_NAME)],
            &pki.client.cert,
        ));
        fails(
            verify(&pki.ca, &[p("-verify_hostname"), p(CLIENT_NAME)], &pki.wrong_name.cert),
            "hostname mismatch",
        );
        fails(verify(&pki.ca, &[], &pki.wrong_ca.cert), "unable to get local issuer");
        ok(verify(&pki.other_ca, &[], &pki.wrong_ca.cert));
        fails(verify(&pki.ca, &[], &pki.expired.cert), "certificate has expired");
        fails(
            verify(&pki.ca, &[], &pki.not_yet_valid.cert),
            "certificate is not yet valid",
        );
        ok(verify(&pki.ca, &[], &pki.server_eku_only.cert));
        fails(
            verify(&pki.ca, &[p("-purpose"), ssl_client], &pki.server_eku_only.cert),
            "unsuitable certificate purpose",
        );
        // The CRL: the revoked client fails, the good one passes.
        let crl = [p("-crl_check"), p("-CRLfile"), pki.crl.as_path()];
        fails(verify(&pki.ca, &crl, &pki.revoked.cert), "certificate revoked");
        ok(verify(&pki.ca, &crl, &pki.client.cert));
        // The expired CRL fails every certificate it covers.
        let crl_expired = [p("-crl_check"), p("-CRLfile"), pki.crl_expired.as_path()];
        fails(verify(&pki.ca, &crl_expired, &pki.client.cert), "CRL has expired");
        // The chain: only with the intermediate.
        ok(verify(
            &pki.chain_root,
            &[p("-untrusted"), &pki.chained.cert],
            &pki.chained.cert,
        ));
        fails(
            verify(&pki.chain_root, &[], &pki.chained.cert),
            "unable to get local issuer",
        );
        let (ok_ca, _) = verify(&pki.chain_root, &[], &pki.intermediate);
        assert!(ok_ca);
        ok(verify(
            &pki.chain_root,
            &[p("-untrusted"), &pki.intermediate_and_root],
            &pki.chained.cert,
        ));

        // Subjects and SANs as the table says.
        let text = |c: &Path| openssl(&[p("x509"), p("-noout"), p("-text"), p("-in"), c]).1;
        let t = text(&pki.cn_only.cert);
        assert!(
            t.contains(&format!("CN = {CLIENT_NAME}")) && !t.contains("Subject Alternative Name"),
            "{t}"
        );
        let t = text(&pki.server.cert);
        assert!(t.contains(&format!("DNS:{SERVER_NAME}, IP Address:127.0.0.1")), "{t}");
        assert!(
            t.contains("TLS Web Server Authentication, TLS Web Client Authentication"),
            "{t}"
        );
        let t = text(&pki.wrong_name.cert);
        assert!(t.contains(&format!("DNS:{OTHER_NAME}")), "{t}");
        let t = text(&pki.san_other_cn.cert);
        assert!(
            t.contains(&format!("CN = {OTHER_CN}")) && t.contains(&format!("DNS:{CLIENT_NAME}")),
            "{t}"
        );
        ok(verify(&pki.ca, &[p("-purpose"), ssl_client], &pki.san_other_cn.cert));
        // Keys belong to their certificates.
        for c in [&pki.server, &pki.client, &pki.chained, &pki.expired] {
            let pubkey = |args: &[&Path]| openssl(args).1;
            assert_eq!(
                pubkey(&[p("x509"), p("-noout"), p("-pubkey"), p("-in"), &c.cert]),
                pubkey(&[p("pkey"), p("-pubout"), p("-in"), &c.key]),
                "{}",
                c.cert.display()
            );
        }
    }

    #[test]
    fn fingerprints_in_rsyslog_notation_match_openssl() {
        let pki = Pki::generate();
        for c in [&pki.client, &pki.server, &pki.chained] {
            for (alg, ours) in [("-sha1", c.sha1()), ("-sha256", c.sha256())] {
                let (ok, out) = openssl(&[p("x509"), p("-noout"), p("-fingerprint"), p(alg), p("-in"), &c.cert]);
                assert!(ok, "{out}");
                // "SHA1 Fingerprint=AB:CD:…" / "sha256 Fingerprint=…"
                let (name, hex) = out
                    .trim()
                    .split_once(" Fingerprint=")
                    .expect("openssl fingerprint line");
                assert_eq!(ours, format!("{}:{hex}", name.to_ascii_uppercase()));
            }
        }
        assert_eq!(fingerprint_str("SHA1", &[0x5c, 0x0a, 0xff]), "SHA1:5C:0A:FF");
        assert_eq!(pki.client.sha1().len(), "SHA1".len() + 20 * 3);
        assert_eq!(pki.client.sha256().len(), "SHA256".len() + 32 * 3);
        assert_ne!(pki.client.sha1(), pki.wrong_ca.sha1());
    }
}
