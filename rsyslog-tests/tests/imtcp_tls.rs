//! imtcp over TLS with real senders: a second rsyslogd (Debian's 8.2302)
//! forwarding with omfwd over its gtls and ossl drivers, `openssl s_client`,
//! `gnutls-cli`, and upstream's tcpflood in TLS mode.
//!
//! Every case is one row of a table: (sender, the receiver's authMode and
//! extra input parameters, the client certificate, the expected outcome for
//! the gtls and for the ossl driver). Each row runs against the host's C
//! imtcp with `streamDriver.name="gtls"` and with `"ossl"`, and against ours
//! with the same config. The C module's outcome is the oracle: ours must
//! give the same; the C module's must equal the row's expectation, so a
//! broken setup (certificates, sender) fails instead of passing vacuously.
//!
//! Outcomes: all messages delivered without a warning, delivered with a
//! warning naming the peer or certificate (permitExpiredCerts="warn"),
//! rejected (nothing delivered, and a warning or error naming the peer, the
//! certificate or the input), or no listener (rsyslogd refused the input's
//! parameters: the ossl driver has no CheckExtendedKeyPurpose, 8.2302 and
//! 8.2504's no PrioritizeSAN; current upstream's gtls refuses an expired
//! CRL). The receivers' texts are not compared (they differ between gtls and
//! ossl, and ours need not copy either). Where current upstream's drivers
//! decide differently from 8.2302/8.2504's, a row names both outcomes and
//! the host's version picks one.
//!
//! One exception to "ours gives C's outcome": a row may name a defect of
//! the C module or a deliberate difference (`c_defect`, `c_differs`, for
//! some hosts). There the C module must give one of the outcomes listed (so
//! the oracle is still checked), and ours must give the row's outcome: the
//! ossl driver sometimes accepts a peer that fails the name or fingerprint
//! check, 8.2504's gtls accepts a peer on an expired CRL, and no driver of
//! ours runs without the revocation check TlsRevocationCheck asks for.
//!
//! One receiver rsyslogd per (implementation, driver, test) holds one TLS
//! input per row (`name="tls_<row>"`, its own port); rows run one after the
//! other, so the internal messages logged while a row runs are that row's.

use rsyslog_tests::certs::{CertFiles, Pki};
use rsyslog_tests::compare::Imp;
use rsyslog_tests::config::rs_quote;
use rsyslog_tests::sockets::listening_on;
use rsyslog_tests::wait::{parse_port, poll_until, read_lossy, POLL};
use rsyslog_tests::*;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a row may take to deliver or to be rejected.
const T: Duration = Duration::from_secs(30);

// ---------------------------------------------------------------------------------------
// The table

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Sender {
    /// Debian's rsyslogd 8.2302, omfwd with StreamDriver="gtls".
    OmfwdGtls,
    /// The same with StreamDriver="ossl".
    OmfwdOssl,
    /// `openssl s_client`, lines piped in.
    SClient,
    /// `gnutls-cli`, lines piped in.
    GnutlsCli,
    /// 8.2504's tests/tcpflood -Ttls, 10 connections × 1000 messages.
    Tcpflood,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Driver {
    Gtls,
    Ossl,
}

impl Driver {
    fn name(self) -> &'static str {
        match self {
            Driver::Gtls => "gtls",
            Driver::Ossl => "ossl",
        }
    }
}

/// The certificate the sender presents.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Cert {
    None,
    Client,
    WrongCa,
    Expired,
    NotYetValid,
    WrongName,
    ServerEkuOnly,
    CnOnly,
    Revoked,
    Chained,
    /// `chained`, sent with the intermediate and the root (three certificates).
    ChainedWithRoot,
    /// CN "rsyslog-client", DNS SAN client.rsyslog.test.
    SanOtherCn,
}

impl Cert {
    fn files(self, pki: &Pki) -> Option<&CertFiles> {
        Some(match self {
            Cert::None => return None,
            Cert::Client => &pki.client,
            Cert::WrongCa => &pki.wrong_ca,
            Cert::Expired => &pki.expired,
            Cert::NotYetValid => &pki.not_yet_valid,
            Cert::WrongName => &pki.wrong_name,
            Cert::ServerEkuOnly => &pki.server_eku_only,
            Cert::CnOnly => &pki.cn_only,
            Cert::Revoked => &pki.revoked,
            Cert::Chained | Cert::ChainedWithRoot => &pki.chained,
            Cert::SanOtherCn => &pki.san_other_cn,
        })
    }
}

/// What a row's connection comes to, as seen at the receiver.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Outcome {
    /// Every message arrived; no warning or error.
    Delivered,
    /// Every message arrived, and a warning named the peer or certificate.
    DeliveredWarn,
    /// Nothing arrived, and a warning or error named the peer or certificate.
    Rejected,
    /// The input has no listener (rsyslogd refused its parameters).
    NoListener,
    /// Anything else (described).
    Other(String),
}
use Outcome::*;

struct Row {
    /// The input's name is `tls_<id>`.
    id: &'static str,
    sender: Sender,
    auth: &'static str,
    cert: Cert,
    /// Further input parameters; `${…}` names: see [`pki_vars`].
    params: &'static str,
    /// Expected with the gtls driver and with the ossl driver.
    gtls: Outcome,
    ossl: Outcome,
    /// The host's rsyslogd must be at least this version (the parameter
    /// does not exist before).
    min_version: Option<&'static str>,
    /// Expected on current upstream (gtls, ossl), where its drivers decide
    /// differently from 8.2302/8.2504's.
    upstream: Option<(Outcome, Outcome)>,
    /// Where ours differs from the C module on purpose (a defect of the C
    /// module, or a check ours will not leave out).
    c_defect: Vec<CDiff>,
}

/// The hosts a difference is seen on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Hosts {
    All,
    /// 8.2302 and 8.2504.
    Older,
    /// Current upstream.
    Upstream,
}

impl Hosts {
    fn covers(self, host: &Host) -> bool {
        match self {
            Hosts::All => true,
            Hosts::Older => !host.is_current_upstream(),
            Hosts::Upstream => host.is_current_upstream(),
        }
    }
}

/// With `driver` on `hosts`, the C module gives one of `outcomes` (why:
/// `why`). The C module must give one of those (the oracle is still
/// checked); ours must give the row's outcome instead of copying C.
#[derive(Clone, Debug)]
struct CDiff {
    hosts: Hosts,
    driver: Driver,
    outcomes: Vec<Outcome>,
    why: &'static str,
}

/// A row whose outcome is the same with both drivers.
fn row(id: &'static str, sender: Sender, auth: &'static str, cert: Cert, params: &'static str, o: Outcome) -> Row {
    let (gtls, ossl) = match o {
        Delivered => (Delivered, Delivered),
        DeliveredWarn => (DeliveredWarn, DeliveredWarn),
        Rejected => (Rejected, Rejected),
        NoListener => (NoListener, NoListener),
        Other(_) => panic!("rows expect Delivered, DeliveredWarn or Rejected"),
    };
    Row {
        id,
        sender,
        auth,
        cert,
        params,
        gtls,
        ossl,
        min_version: None,
        upstream: None,
        c_defect: Vec::new(),
    }
}

impl Row {
    fn expected(&self, host: &Host, d: Driver) -> &Outcome {
        let (gtls, ossl) = match &self.upstream {
            Some((g, o)) if host.is_current_upstream() => (g, o),
            _ => (&self.gtls, &self.ossl),
        };
        match d {
            Driver::Gtls => gtls,
            Driver::Ossl => ossl,
        }
    }
    /// Current upstream's drivers give `gtls` and `ossl` instead.
    fn on_upstream(mut self, gtls: Outcome, ossl: Outcome) -> Row {
        self.upstream = Some((gtls, ossl));
        self
    }
    fn driver_specific(mut self, gtls: Outcome, ossl: Outcome) -> Row {
        self.gtls = gtls;
        self.ossl = ossl;
        self
    }
    fn since(mut self, v: &'static str) -> Row {
        self.min_version = Some(v);
        self
    }
    fn c_defect(self, d: Driver, o: &[Outcome], why: &'static str) -> Row {
        self.c_differs(Hosts::All, d, o, why)
    }
    fn c_differs(mut self, hosts: Hosts, driver: Driver, o: &[Outcome], why: &'static str) -> Row {
        self.c_defect.push(CDiff {
            hosts,
            driver,
            outcomes: o.to_vec(),
            why,
        });
        self
    }
    /// Where the C module differs with `d` on `host`, if it does.
    fn defect(&self, host: &Host, d: Driver) -> Option<&CDiff> {
        self.c_defect.iter().find(|x| x.driver == d && x.hosts.covers(host))
    }
    /// True when `got` is what the C module gives on `host` with `d`.
    fn c_gives(&self, host: &Host, d: Driver, got: &Outcome) -> bool {
        match self.defect(host, d) {
            Some(x) => x.outcomes.contains(got),
            None => got == self.expected(host, d),
        }
    }
    fn runs_on(&self, host: &Host) -> bool {
        self.min_version.is_none_or(|v| host.at_least(v))
    }
}

/// Seen with both hosts' ossl driver: a connection whose certificate fails
/// the name or fingerprint check may be accepted and its messages delivered,
/// with no message logged (e.g. s_client's wrong-name certificate; omfwd's
/// gtls sender on 8.2302). The peer check (osslChkPeerAuth) runs only on
/// the handshake path of nsd_ossl.c: in 8.2302, a handshake finished later by
/// SSL_read in osslRecordRecv skips it.
const OSSL_AUTH_RACE: &str = "ossl name/fingerprint check skipped on some handshake paths";

/// 8.2504's gtls driver accepts a peer while the CRL is past its
/// nextUpdate; current upstream's and ours do not (ours: every host).
const GTLS_STALE_CRL: &str = "a CRL past its nextUpdate is taken as current";

/// 8.2302/8.2504 have no streamDriver.TlsRevocationCheck: their C module's
/// input starts without any revocation check.
const NO_REVOCATION_CHECK: &str = "no TlsRevocationCheck parameter";

/// Current upstream's ossl driver checks revocation online (OCSP; a
/// certificate without a responder is let through or refused); ours has no
/// OCSP and refuses the listener rather than run without the check.
const OCSP_OSSL: &str = "ossl checks OCSP; ours refuses the setting";

const CERTVALID: &str = "x509/certvalid";
const NAME: &str = "x509/name";
const FINGERPRINT: &str = "x509/fingerprint";
const ANON: &str = "anon";

fn omfwd_rows(s: Sender) -> Vec<Row> {
    use Cert::*;
    vec![
        row("anon", s, ANON, Client, "", Delivered),
        row("certvalid", s, CERTVALID, Client, "", Delivered),
        row("certvalid_wrong_ca", s, CERTVALID, WrongCa, "", Rejected),
        row(
            "name",
            s,
            NAME,
            Client,
            r#"permittedPeer=["client.rsyslog.test"]"#,
            Delivered,
        ),
        row(
            "name_mismatch",
            s,
            NAME,
            Client,
            r#"permittedPeer=["nobody.rsyslog.test"]"#,
            Rejected,
        )
        .c_defect(Driver::Ossl, &[Rejected, Delivered], OSSL_AUTH_RACE),
        row(
            "name_wildcard",
            s,
            NAME,
            Client,
            r#"permittedPeer=["*.rsyslog.test"]"#,
            Delivered,
        ),
        row(
            "fingerprint_sha1",
            s,
            FINGERPRINT,
            Client,
            r#"permittedPeer=["${FP_SHA1_CLIENT}"]"#,
            Delivered,
        ),
        row(
            "fingerprint_sha256",
            s,
            FINGERPRINT,
            Client,
            r#"permittedPeer=["${FP_SHA256_CLIENT}"]"#,
            Delivered,
        ),
        row(
            "fingerprint_mismatch",
            s,
            FINGERPRINT,
            Client,
            r#"permittedPeer=["${FP_SHA1_WRONG_NAME}"]"#,
            Rejected,
        )
        .c_defect(Driver::Ossl, &[Rejected, Delivered], OSSL_AUTH_RACE),
    ]
}

fn s_client_rows() -> Vec<Row> {
    use Cert::*;
    let s = Sender::SClient;
    let mut rows = vec![
        row("anon_nocert", s, ANON, None, "", Delivered),
        row("anon_client", s, ANON, Client, "", Delivered),
        row("certvalid_nocert", s, CERTVALID, None, "", Rejected),
        row("certvalid", s, CERTVALID, Client, "", Delivered),
        row("certvalid_wrong_ca", s, CERTVALID, WrongCa, "", Rejected),
        row("expired_default", s, CERTVALID, Expired, "", Rejected),
        row(
            "expired_off",
            s,
            CERTVALID,
            Expired,
            r#"streamDriver.permitExpiredCerts="off""#,
            Rejected,
        ),
        row(
            "expired_on",
            s,
            CERTVALID,
            Expired,
            r#"streamDriver.permitExpiredCerts="on""#,
            Delivered,
        ),
        row(
            "expired_warn",
            s,
            CERTVALID,
            Expired,
            r#"streamDriver.permitExpiredCerts="warn""#,
            DeliveredWarn,
        ),
        row("not_yet_valid", s, CERTVALID, NotYetValid, "", Rejected),
        row(
            "eku_check_on",
            s,
            CERTVALID,
            ServerEkuOnly,
            r#"streamDriver.CheckExtendedKeyPurpose="on""#,
            Rejected,
        )
        // nsd_ossl.c SetCheckExtendedKeyUsage: "not supported by ossl netstream driver".
        .driver_specific(Rejected, NoListener),
        row(
            "eku_check_off",
            s,
            CERTVALID,
            ServerEkuOnly,
            r#"streamDriver.CheckExtendedKeyPurpose="off""#,
            Delivered,
        )
        // OpenSSL checks the purpose of a client certificate on its own (sslclient).
        .driver_specific(Delivered, Rejected),
        row(
            "eku_good_check_on",
            s,
            CERTVALID,
            Client,
            r#"streamDriver.CheckExtendedKeyPurpose="on""#,
            Delivered,
        )
        .driver_specific(Delivered, NoListener),
        row(
            "revoked_crl",
            s,
            CERTVALID,
            Revoked,
            r#"streamDriver.CRLFile="${CRL}""#,
            Rejected,
        )
        .since("8.2504"),
        row(
            "good_with_crl",
            s,
            CERTVALID,
            Client,
            r#"streamDriver.CRLFile="${CRL}""#,
            Delivered,
        )
        .since("8.2504"),
        // Current upstream's gtls refuses the listener; 8.2504's accepts the
        // peer as if the CRL were current, ours refuses it.
        row(
            "crl_expired",
            s,
            CERTVALID,
            Client,
            r#"streamDriver.CRLFile="${CRL_EXPIRED}""#,
            Rejected,
        )
        .since("8.2504")
        .on_upstream(NoListener, Rejected)
        .c_differs(Hosts::Older, Driver::Gtls, &[Delivered], GTLS_STALE_CRL),
        // No driver of ours checks revocation online (OCSP): the listener
        // is refused instead of running without the check.
        row(
            "revocation_check_on",
            s,
            CERTVALID,
            Client,
            r#"streamDriver.TlsRevocationCheck="on""#,
            NoListener,
        )
        .c_differs(
            Hosts::Older,
            Driver::Gtls,
            &[Delivered, NoListener],
            NO_REVOCATION_CHECK,
        )
        .c_differs(
            Hosts::Older,
            Driver::Ossl,
            &[Delivered, NoListener],
            NO_REVOCATION_CHECK,
        )
        .c_differs(Hosts::Upstream, Driver::Ossl, &[Delivered, Rejected], OCSP_OSSL),
        row("revoked_no_crl", s, CERTVALID, Revoked, "", Delivered),
        row(
            "name_cn_only",
            s,
            NAME,
            CnOnly,
            r#"permittedPeer=["client.rsyslog.test"]"#,
            Delivered,
        ),
        row(
            "name_cn_only_prioritize_san",
            s,
            NAME,
            CnOnly,
            r#"permittedPeer=["client.rsyslog.test"] streamDriver.PrioritizeSAN="on""#,
            Delivered,
        )
        .driver_specific(Delivered, NoListener)
        // Current upstream's ossl driver has PrioritizeSAN.
        .on_upstream(Delivered, Delivered),
        row(
            "name_wrong_name",
            s,
            NAME,
            WrongName,
            r#"permittedPeer=["client.rsyslog.test"]"#,
            Rejected,
        )
        .c_defect(Driver::Ossl, &[Rejected, Delivered], OSSL_AUTH_RACE),
        row(
            "name_nocert",
            s,
            NAME,
            None,
            r#"permittedPeer=["client.rsyslog.test"]"#,
            Rejected,
        ),
        row(
            "chain",
            s,
            CERTVALID,
            Chained,
            r#"streamDriver.CAFile="${CHAIN_ROOT}""#,
            Delivered,
        ),
        row(
            "chain_depth_2",
            s,
            CERTVALID,
            Chained,
            r#"streamDriver.CAFile="${CHAIN_ROOT}" streamDriver.TlsVerifyDepth="2""#,
            Delivered,
        ),
        row(
            "chain_depth_3",
            s,
            CERTVALID,
            Chained,
            r#"streamDriver.CAFile="${CHAIN_ROOT}" streamDriver.TlsVerifyDepth="3""#,
            Delivered,
        ),
        // gtls: GnuTLS refuses more certificates than TlsVerifyDepth from the
        // peer (leaf included); ossl: the depth counts intermediates only.
        row(
            "chain_root_sent_depth_2",
            s,
            CERTVALID,
            ChainedWithRoot,
            r#"streamDriver.CAFile="${CHAIN_ROOT}" streamDriver.TlsVerifyDepth="2""#,
            Rejected,
        )
        .driver_specific(Rejected, Delivered),
        row(
            "chain_root_sent_depth_3",
            s,
            CERTVALID,
            ChainedWithRoot,
            r#"streamDriver.CAFile="${CHAIN_ROOT}" streamDriver.TlsVerifyDepth="3""#,
            Delivered,
        ),
        row("chain_wrong_root", s, CERTVALID, Chained, "", Rejected),
    ];
    rows.extend(san_name_rows(s));
    rows
}

fn gnutls_cli_rows() -> Vec<Row> {
    use Cert::*;
    let s = Sender::GnutlsCli;
    let mut rows = vec![
        row("anon_nocert", s, ANON, None, "", Delivered),
        row("certvalid", s, CERTVALID, Client, "", Delivered),
        row("certvalid_nocert", s, CERTVALID, None, "", Rejected),
        row("certvalid_wrong_ca", s, CERTVALID, WrongCa, "", Rejected),
        row(
            "expired_off",
            s,
            CERTVALID,
            Expired,
            r#"streamDriver.permitExpiredCerts="off""#,
            Rejected,
        ),
        row(
            "expired_warn",
            s,
            CERTVALID,
            Expired,
            r#"streamDriver.permitExpiredCerts="warn""#,
            DeliveredWarn,
        ),
        row(
            "name",
            s,
            NAME,
            Client,
            r#"permittedPeer=["client.rsyslog.test"]"#,
            Delivered,
        ),
        row(
            "fingerprint_sha256",
            s,
            FINGERPRINT,
            Client,
            r#"permittedPeer=["${FP_SHA256_CLIENT}"]"#,
            Delivered,
        ),
        row(
            "expired_on",
            s,
            CERTVALID,
            Expired,
            r#"streamDriver.permitExpiredCerts="on""#,
            Delivered,
        ),
        row(
            "name_wrong_name",
            s,
            NAME,
            WrongName,
            r#"permittedPeer=["client.rsyslog.test"]"#,
            Rejected,
        )
        .c_defect(Driver::Ossl, &[Rejected, Delivered], OSSL_AUTH_RACE),
        row(
            "fingerprint_mismatch",
            s,
            FINGERPRINT,
            Client,
            r#"permittedPeer=["${FP_SHA256_WRONG_NAME}"]"#,
            Rejected,
        )
        .c_defect(Driver::Ossl, &[Rejected, Delivered], OSSL_AUTH_RACE),
        row(
            "eku_check_on",
            s,
            CERTVALID,
            ServerEkuOnly,
            r#"streamDriver.CheckExtendedKeyPurpose="on""#,
            Rejected,
        )
        // nsd_ossl.c SetCheckExtendedKeyUsage: "not supported by ossl netstream driver".
        .driver_specific(Rejected, NoListener),
        row(
            "revoked_crl",
            s,
            CERTVALID,
            Revoked,
            r#"streamDriver.CRLFile="${CRL}""#,
            Rejected,
        )
        .since("8.2504"),
    ];
    rows.extend(san_name_rows(s));
    rows
}

/// Name checks with a certificate whose SAN and CN differ. ossl of current
/// upstream matches permittedPeer against each SAN and then the CN;
/// 8.2302/8.2504 only against the subject line (and OpenSSL's host check,
/// which takes no wildcard and no CN beside a SAN).
fn san_name_rows(s: Sender) -> Vec<Row> {
    use Cert::*;
    vec![
        row(
            "name_san_wildcard",
            s,
            NAME,
            SanOtherCn,
            r#"permittedPeer=["*.rsyslog.test"]"#,
            Delivered,
        )
        .driver_specific(Delivered, Rejected)
        .on_upstream(Delivered, Delivered)
        .c_differs(Hosts::Older, Driver::Ossl, &[Rejected, Delivered], OSSL_AUTH_RACE),
        row(
            "name_cn_beside_san",
            s,
            NAME,
            SanOtherCn,
            r#"permittedPeer=["rsyslog-client"]"#,
            Delivered,
        )
        .driver_specific(Delivered, Rejected)
        .on_upstream(Delivered, Delivered)
        .c_differs(Hosts::Older, Driver::Ossl, &[Rejected, Delivered], OSSL_AUTH_RACE),
        row(
            "name_cn_beside_san_prioritize_san",
            s,
            NAME,
            SanOtherCn,
            r#"permittedPeer=["rsyslog-client"] streamDriver.PrioritizeSAN="on""#,
            Rejected,
        )
        .driver_specific(Rejected, NoListener)
        .on_upstream(Rejected, Rejected)
        .c_differs(Hosts::Upstream, Driver::Ossl, &[Rejected, Delivered], OSSL_AUTH_RACE),
    ]
}

fn tcpflood_rows() -> Vec<Row> {
    use Cert::*;
    let s = Sender::Tcpflood;
    vec![
        row("anon", s, ANON, Client, "", Delivered),
        row("certvalid", s, CERTVALID, Client, "", Delivered),
        row(
            "fingerprint",
            s,
            FINGERPRINT,
            Client,
            r#"permittedPeer=["${FP_SHA1_CLIENT}"]"#,
            Delivered,
        ),
        row("certvalid_wrong_ca", s, CERTVALID, WrongCa, "", Rejected),
    ]
}

/// `${NAME}`s the rows' parameters may use.
fn pki_vars(pki: &Pki) -> Vec<(String, String)> {
    let q = |p: &Path| rs_quote(&p.to_string_lossy());
    vec![
        ("CA".into(), q(&pki.ca)),
        ("CHAIN_ROOT".into(), q(&pki.chain_root)),
        ("CRL".into(), q(&pki.crl)),
        ("CRL_EXPIRED".into(), q(&pki.crl_expired)),
        ("SERVER_CERT".into(), q(&pki.server.cert)),
        ("SERVER_KEY".into(), q(&pki.server.key)),
        ("FP_SHA1_CLIENT".into(), pki.client.sha1()),
        ("FP_SHA256_CLIENT".into(), pki.client.sha256()),
        ("FP_SHA1_WRONG_NAME".into(), pki.wrong_name.sha1()),
        ("FP_SHA256_WRONG_NAME".into(), pki.wrong_name.sha256()),
    ]
}

// ---------------------------------------------------------------------------------------
// The receiver

/// The receiver's config: the server certificate and CA as the global
/// defaults, one TLS input per row, the rows' messages into `out.<input>`.
fn receiver_conf(rows: &[&Row], d: Driver) -> String {
    let mut c = String::from(
        r#"
global(defaultNetstreamDriverCAFile="${CA}" defaultNetstreamDriverCertFile="${SERVER_CERT}" defaultNetstreamDriverKeyFile="${SERVER_KEY}")
module(load="${IMTCP}")
"#,
    );
    for r in rows {
        c.push_str(&format!(
            "input(type=\"imtcp\" port=\"0\" listenPortFileName=\"${{WORKDIR}}/{id}.port\" name=\"tls_{id}\" \
             streamDriver.name=\"{drv}\" streamDriver.mode=\"1\" streamDriver.authMode=\"{auth}\" {params})\n",
            id = r.id,
            drv = d.name(),
            auth = r.auth,
            params = r.params,
        ));
    }
    c.push_str(
        r#"template(name="file" type="string" string="${WORKDIR}/out.%inputname%")
template(name="msg" type="string" string="%msg%\n")
if $inputname startswith "tls_" then action(type="omfile" dynaFile="file" template="msg")
"#,
    );
    c
}

/// Waits for every row's port file; `None` for a row whose listener did
/// not come up within [`T`] (all share the one wait).
fn ports(d: &Daemon, rows: &[&Row]) -> Vec<Option<u16>> {
    let read = || -> Vec<Option<u16>> {
        rows.iter()
            .map(|r| parse_port(&read_lossy(&d.path(&format!("{}.port", r.id)))))
            .collect()
    };
    poll_until(T, POLL, || {
        let p = read();
        (p.iter().all(Option::is_some) || !d.is_running()).then_some(p)
    })
    .unwrap_or_else(read)
}

/// True for an internal message of severity warning or worse that names the
/// peer (127.0.0.1 / localhost), speaks of a certificate or peer, or names
/// the row's input (`input`; e.g. tcpsrv's "failed to process incoming
/// connection" after GnuTLS's "Some constraint limits were reached").
fn names_peer_or_cert(m: &InternalMsg, input: &str) -> bool {
    let bad = matches!(m.severity.as_str(), "emerg" | "alert" | "crit" | "err" | "warning");
    let t = m.msg.to_ascii_lowercase();
    bad && (["127.0.0.1", "localhost", "peer", "certificate"]
        .iter()
        .any(|w| t.contains(w))
        || m.msg.contains(&format!("'{input}'")))
}

/// A line about the end of a connection, not about the peer's identity:
/// current upstream's C module logs these (errors) when Debian's omfwd over
/// gtls, having delivered everything, drops the connection without a TLS
/// close. Not counted once every message arrived.
fn closing_noise(m: &InternalMsg) -> bool {
    [
        "Connection reset by peer",
        "Broken pipe",
        "unexpected eof while reading",
        "shutdown while in init",
        "will be closed due to error",
    ]
    .iter()
    .any(|w| m.msg.contains(w))
}

/// The outcome of a row from the lines delivered (`got` of `n`) and the
/// internal messages logged meanwhile (`new`); `None` for anything else.
fn classify(got: usize, n: usize, new: &[InternalMsg], input: &str) -> Option<Outcome> {
    let alarms: Vec<&InternalMsg> = new
        .iter()
        .filter(|m| names_peer_or_cert(m, input) && !(got == n && closing_noise(m)))
        .collect();
    let any_err = alarms.iter().any(|m| m.is_error());
    match (got, alarms.is_empty()) {
        (g, true) if g == n => Some(Delivered),
        (g, false) if g == n && !any_err => Some(DeliveredWarn),
        (0, false) => Some(Rejected),
        _ => None,
    }
}

/// Waits until the internal log has not grown for 500 ms (at most 5 s):
/// the messages of a rejected connection may come one after the other.
fn settle(d: &Daemon) {
    let mut last = (d.internal_log().len(), Instant::now());
    poll_until(Duration::from_secs(5), POLL, || {
        let n = d.internal_log().len();
        if n != last.0 {
            last = (n, Instant::now());
        }
        (last.1.elapsed() >= Duration::from_millis(500)).then_some(())
    });
}

// ---------------------------------------------------------------------------------------
// Senders

const MSGS: usize = 5;
const OMFWD_MSGS: usize = 20;
const FLOOD_CONNS: usize = 10;
const FLOOD_MSGS: usize = 10_000;

fn messages(s: Sender) -> usize {
    match s {
        Sender::OmfwdGtls | Sender::OmfwdOssl => OMFWD_MSGS,
        Sender::SClient | Sender::GnutlsCli => MSGS,
        Sender::Tcpflood => FLOOD_MSGS,
    }
}

fn lines_for(id: &str, n: usize) -> String {
    (0..n).map(|i| format!("<13>tlstest: {id} msgnum:{i:05}\n")).collect()
}

/// A running sender; `finish` ends it.
enum Running {
    Process(Child, &'static str),
    Daemon(Box<Daemon>),
}

impl Running {
    /// Lets a process run to its end (at most `T`, then kills it); stops a daemon.
    fn finish(self) -> String {
        match self {
            Running::Process(mut c, what) => {
                let st = poll_until(T, POLL, || c.try_wait().ok().flatten());
                if st.is_none() {
                    let _ = c.kill();
                    let _ = c.wait();
                }
                let mut out = String::new();
                if let Some(mut e) = c.stderr.take() {
                    use std::io::Read;
                    let _ = e.read_to_string(&mut out);
                }
                format!("{what}: {st:?}: {}", out.trim_end())
            }
            Running::Daemon(d) => {
                let st = d.stop();
                assert!(!st.killed && st.core_file().is_none(), "sender: {}", st.report());
                String::new()
            }
        }
    }
}

fn spawn(mut cmd: Command, input: Option<String>, what: &'static str) -> Running {
    cmd.stdin(if input.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut c = cmd.spawn().unwrap_or_else(|e| panic!("cannot run {what}: {e}"));
    if let Some(text) = input {
        let mut stdin = c.stdin.take().expect("stdin");
        // The client may be gone already (rejected): ignore write errors.
        let _ = stdin.write_all(text.as_bytes());
    }
    Running::Process(c, what)
}

/// Debian's rsyslogd 8.2302, the sender of the omfwd rows whatever the receiving host.
fn debian_sender() -> Host {
    host::probe(Path::new(host::DEFAULT_RSYSLOGD), None).expect("Debian's rsyslogd 8.2302 (package rsyslog)")
}

/// Starts the sender of `row` towards `port` and hands it the row's messages.
fn send(row: &Row, pki: &Pki, port: u16) -> Running {
    let n = messages(row.sender);
    let cert = row.cert.files(pki);
    let ca = pki.ca.to_string_lossy().into_owned();
    match row.sender {
        Sender::OmfwdGtls | Sender::OmfwdOssl => {
            let drv = if row.sender == Sender::OmfwdGtls {
                "gtls"
            } else {
                "ossl"
            };
            let certs = cert.map_or(String::new(), |c| {
                format!(
                    "streamDriver.CertFile=\"{}\" streamDriver.KeyFile=\"{}\"",
                    rs_quote(&c.cert.to_string_lossy()),
                    rs_quote(&c.key.to_string_lossy())
                )
            });
            let conf = format!(
                r#"
module(load="imtcp")
input(type="imtcp" port="0" listenPortFileName="${{WORKDIR}}/in.port" ruleset="fwd")
ruleset(name="fwd") {{
  action(type="omfwd" target="127.0.0.1" port="{port}" protocol="tcp" StreamDriver="{drv}"
         StreamDriverMode="1" StreamDriverAuthMode="x509/certvalid" streamDriver.CAFile="{ca}" {certs}
         action.resumeRetryCount="-1" action.resumeInterval="1")
}}
"#,
                ca = rs_quote(&ca)
            );
            // rsyslogd takes its module dir from env RSYSLOG_MODDIR too: on the
            // 8.2504 host that is 8.2504's, whose lmnsd_* 8.2302 cannot use.
            let d = Daemon::start_with(
                &debian_sender(),
                &conf,
                &Options::default().env("RSYSLOG_MODDIR", compare::DEBIAN_MODDIR),
            );
            let p = d.wait_port_file("in.port", T);
            tcp_send(p, lines_for(row.id, n).as_bytes());
            Running::Daemon(Box::new(d))
        }
        Sender::SClient => {
            let mut c = Command::new("openssl");
            c.args(["s_client", "-connect", &format!("127.0.0.1:{port}"), "-CAfile", &ca]);
            c.args(["-quiet", "-no_ign_eof"]);
            if let Some(f) = cert {
                c.arg("-cert").arg(&f.cert).arg("-key").arg(&f.key);
            }
            // -cert sends only the first certificate of the file.
            match row.cert {
                Cert::Chained => {
                    c.arg("-cert_chain").arg(&pki.intermediate);
                }
                Cert::ChainedWithRoot => {
                    c.arg("-cert_chain").arg(&pki.intermediate_and_root);
                }
                _ => {}
            }
            spawn(c, Some(lines_for(row.id, n)), "openssl s_client")
        }
        Sender::GnutlsCli => {
            let mut c = Command::new("gnutls-cli");
            c.args(["--x509cafile", &ca, "-p", &port.to_string()]);
            if let Some(f) = cert {
                c.arg("--x509certfile").arg(&f.cert).arg("--x509keyfile").arg(&f.key);
            }
            c.arg("127.0.0.1");
            spawn(c, Some(lines_for(row.id, n)), "gnutls-cli")
        }
        Sender::Tcpflood => {
            let f = cert.expect("tcpflood needs a client certificate (-Z/-z)");
            let tcpflood = host::require_tcpflood("tcpflood_tls_sender").expect("checked before the table runs");
            let mut c = Command::new(tcpflood);
            c.args(["-t", "127.0.0.1", "-p", &port.to_string(), "-Ttls", "-x", &ca]);
            c.arg("-Z").arg(&f.cert).arg("-z").arg(&f.key);
            c.args(["-c", &FLOOD_CONNS.to_string(), "-m", &FLOOD_MSGS.to_string(), "-s"]);
            spawn(c, None, "tcpflood")
        }
    }
}

// ---------------------------------------------------------------------------------------
// Running a table

/// (row id, driver) → what happened.
type Results = BTreeMap<(String, &'static str), Outcome>;

/// Runs `rows` against one receiver with `imp` and `driver`; one row after the other.
fn run_rows(host: &Host, imp: Imp, driver: Driver, rows: &[&Row], pki: &Pki) -> Results {
    let mut opts = Options::default().var(
        "IMTCP",
        match imp {
            Imp::C => "imtcp".to_string(),
            Imp::Rust => module_path("imtcp").to_string_lossy().into_owned(),
        },
    );
    for (k, v) in pki_vars(pki) {
        opts = opts.var(&k, v);
    }
    let d = Daemon::start_with(host, &receiver_conf(rows, driver), &opts);
    let ports = ports(&d, rows);
    // C writes the port file before it finds its parameters unusable and
    // closes the socket: a later input (they start in config order) may be
    // given the same port. A port belongs to the last row that wrote it.
    let owner: BTreeMap<u16, usize> = ports
        .iter()
        .enumerate()
        .filter_map(|(i, p)| p.map(|p| (p, i)))
        .collect();
    let mut res = Results::new();
    for (i, (r, port)) in rows.iter().zip(ports).enumerate() {
        let key = (r.id.to_string(), driver.name());
        let Some(port) = port.filter(|&p| owner.get(&p) == Some(&i) && !listening_on(p).is_empty()) else {
            let errs: Vec<String> = d
                .internal_messages()
                .iter()
                .filter(|m| {
                    m.is_error() && (m.msg.contains(&format!("tls_{}", r.id)) || m.msg.contains("not supported"))
                })
                .map(|m| m.msg.clone())
                .take(3)
                .collect();
            eprintln!("{imp:?} {} {}: no listener; errors: {errs:?}", driver.name(), r.id);
            res.insert(key, NoListener);
            continue;
        };
        let t0 = Instant::now();
        let before = d.internal_messages().len();
        let n = messages(r.sender);
        let out = format!("out.tls_{}", r.id);
        let sender = send(r, pki, port);
        // Delivered: every line arrives. Rejected: a warning or error names
        // the peer or certificate and nothing arrives.
        let input = format!("tls_{}", r.id);
        let alarm = || {
            d.internal_messages()[before..]
                .iter()
                .any(|m| names_peer_or_cert(m, &input))
        };
        poll_until(T, POLL, || {
            (d.lines(&out).len() >= n || (alarm() && d.lines(&out).is_empty())).then_some(())
        });
        let how = sender.finish();
        settle(&d);
        // Part of it came: give the rest its time.
        if (1..n).contains(&d.lines(&out).len()) {
            poll_until(T, POLL, || (d.lines(&out).len() >= n).then_some(()));
        }
        let got = d.lines(&out).len();
        let new: Vec<InternalMsg> = d.internal_messages()[before..].to_vec();
        let o = classify(got, n, &new, &input).unwrap_or_else(|| {
            Other(format!(
                "{got}/{n} delivered; messages: {:?}; sender {how}",
                new.iter()
                    .map(|m| format!("{} {}", m.severity, m.msg))
                    .collect::<Vec<_>>()
            ))
        });
        if o != *r.expected(host, driver) {
            eprintln!(
                "{imp:?} {} {}: {o:?} in {:.1?}; messages: {:?}",
                driver.name(),
                r.id,
                t0.elapsed(),
                new.iter()
                    .map(|m| format!("{} {}", m.severity, m.msg))
                    .collect::<Vec<_>>()
            );
        }
        eprintln!("{imp:?} {} {}: {o:?} in {:.1?}", driver.name(), r.id, t0.elapsed());
        res.insert(key, o);
    }
    let st = d.stop();
    assert!(
        !st.killed && st.core_file().is_none(),
        "{imp:?} {}: {}",
        driver.name(),
        st.report()
    );
    res
}

/// Runs the table against the C module and ours, with both drivers: C's
/// outcomes must be the rows' expectations (or the C defect the row
/// names), ours must be C's (or, where C has a defect, the row's).
fn run_table(test: &str, rows: Vec<Row>) {
    let Some(h) = require_host(test) else { return };
    let pki = Pki::generate();
    let active: Vec<&Row> = rows.iter().filter(|r| r.runs_on(&h)).collect();
    for r in rows.iter().filter(|r| !r.runs_on(&h)) {
        eprintln!(
            "{test}: row {} needs rsyslogd {} (host {}): not run here",
            r.id,
            r.min_version.unwrap_or(""),
            h.version
        );
    }
    let drivers = [Driver::Gtls, Driver::Ossl];
    let res = compare::both(test, "imtcp", |host, imp| {
        let mut all = Results::new();
        for d in drivers {
            all.extend(run_rows(host, imp, d, &active, &pki));
        }
        if imp == Imp::C {
            let wrong: Vec<String> = active
                .iter()
                .flat_map(|r| drivers.map(|d| (r, d)))
                .filter_map(|(r, d)| {
                    let got = &all[&(r.id.to_string(), d.name())];
                    let want = r
                        .defect(host, d)
                        .map_or(vec![r.expected(host, d).clone()], |x| x.outcomes.clone());
                    (!r.c_gives(host, d, got))
                        .then(|| format!("{} {}: expected {want:?}, C gave {got:?}", r.id, d.name()))
                })
                .collect();
            assert!(
                wrong.is_empty(),
                "{test} on {}: the C module disagrees with the table:\n{}",
                host.version,
                wrong.join("\n")
            );
        }
        all
    });
    let Some((c, ours)) = res else { return };
    let mut table = Vec::new();
    let mut differ = Vec::new();
    for r in &active {
        for d in drivers {
            let key = (r.id.to_string(), d.name());
            let (cv, ov) = (&c[&key], &ours[&key]);
            let (want, note) = match r.defect(&h, d) {
                Some(x) => (
                    r.expected(&h, d),
                    format!(" (C differs: {}; ours must give {:?})", x.why, r.expected(&h, d)),
                ),
                None => (cv, String::new()),
            };
            let line = format!(
                "{:<28} {:<5} C: {:<14} ours: {ov:?}{note}",
                r.id,
                d.name(),
                format!("{cv:?}")
            );
            if ov != want {
                differ.push(line.clone());
            }
            table.push(line);
        }
    }
    eprintln!("{test} on {}:\n{}", h.version, table.join("\n"));
    assert!(
        differ.is_empty(),
        "{test} on {}: ours differs from the C module:\n{}",
        h.version,
        differ.join("\n")
    );
}

// ---------------------------------------------------------------------------------------

// ---------------------------------------------------------------------------------------
// The tests

/// A second rsyslogd (Debian's 8.2302) forwarding with omfwd over its gtls driver.
#[test]
fn omfwd_gtls_sender() {
    run_table("omfwd_gtls_sender", omfwd_rows(Sender::OmfwdGtls));
}

/// A second rsyslogd (Debian's 8.2302) forwarding with omfwd over its ossl driver.
#[test]
fn omfwd_ossl_sender() {
    run_table("omfwd_ossl_sender", omfwd_rows(Sender::OmfwdOssl));
}

/// `openssl s_client`: no certificate, wrong CA, expired (permitExpiredCerts
/// default/off/on/warn), not yet valid, no clientAuth EKU with
/// CheckExtendedKeyPurpose on/off, revoked with and without a CRL, name
/// checks on CN-only and wrong-name certificates, an intermediate chain with
/// TlsVerifyDepth.
#[test]
fn openssl_s_client_sender() {
    run_table("openssl_s_client_sender", s_client_rows());
}

/// `gnutls-cli`, the other TLS stack, on the main cases.
#[test]
fn gnutls_cli_sender() {
    run_table("gnutls_cli_sender", gnutls_cli_rows());
}

/// upstream tcpflood in TLS mode (OpenSSL), 10 connections × 1000 messages each.
#[test]
fn tcpflood_tls_sender() {
    if host::require_tcpflood("tcpflood_tls_sender").is_none() {
        return;
    }
    run_table("tcpflood_tls_sender", tcpflood_rows());
}

/// The classification itself, on messages the C drivers log (no rsyslogd needed).
#[test]
fn outcome_classification() {
    let m = |sev: &str, msg: &str| InternalMsg {
        severity: sev.into(),
        tag: "rsyslogd:".into(),
        msg: msg.into(),
    };
    let start = [m("info", "[origin software=\"rsyslogd\"] start")];
    assert_eq!(classify(5, 5, &start, "tls_x"), Some(Delivered));
    assert_eq!(
        classify(0, 5, &start, "tls_x"),
        None,
        "nothing came and nothing was said"
    );
    assert_eq!(classify(3, 5, &[], "tls_x"), None);
    let warn = [m(
        "warning",
        "Warning, certificate expired but expired certs are permitted",
    )];
    assert_eq!(classify(5, 5, &warn, "tls_x"), Some(DeliveredWarn));
    let gtls = [m(
        "err",
        "not permitted to talk to peer 'localhost', certificate invalid: signer not found",
    )];
    assert_eq!(classify(0, 5, &gtls, "tls_x"), Some(Rejected));
    assert_eq!(classify(5, 5, &gtls, "tls_x"), None, "an error yet delivered");
    let ossl = [m(
        "warning",
        "net_ossl:TLS session terminated with remote syslog server '127.0.0.1': Fingerprint check failed, not permitted to talk to SHA1:AB",
    )];
    assert_eq!(classify(0, 5, &ossl, "tls_x"), Some(Rejected));
    let depth = [m(
        "err",
        "tcpsrv listener (inputname: 'tls_x') failed to process incoming connection with error -2078",
    )];
    assert_eq!(classify(0, 5, &depth, "tls_x"), Some(Rejected));
    assert_eq!(classify(0, 5, &depth, "tls_y"), None, "another input's error");
    let info = [m(
        "info",
        "nsd_ossl: TLS session terminated successfully to remote syslog server 'localhost'",
    )];
    assert_eq!(
        classify(5, 5, &info, "tls_x"),
        Some(Delivered),
        "info lines do not count"
    );
    let reset = [m(
        "err",
        "epoll subsystem signaled EPOLLERR for stream 0x1, peer 127.0.0.1:38764: Connection reset by peer",
    )];
    assert_eq!(
        classify(5, 5, &reset, "tls_x"),
        Some(Delivered),
        "the end after delivery"
    );
    assert_eq!(classify(3, 5, &reset, "tls_x"), None, "the end before delivery");
    let both = [reset[0].clone(), gtls[0].clone()];
    assert_eq!(
        classify(5, 5, &both, "tls_x"),
        None,
        "a certificate error yet delivered"
    );
}
