//! `rsyslogd -N1` over configs for both modules: every documented parameter
//! is accepted; unknown names and mistyped values fail with rsyslog's own
//! error messages naming the parameter.

use rsyslog_tests::compare::Imp;
use rsyslog_tests::*;

/// Every module and input parameter of imtcp (8.2302, 8.2504 and upstream names).
const IMTCP_ALL: &str = r#"
module(load="${IMTCP}"
  flowControl="on" disableLFDelimiter="off" discardTruncatedMsg="off" octetCountedFraming="on"
  notifyOnConnectionClose="off" notifyOnConnectionOpen="off" addtlFrameDelimiter="0"
  maxFrameSize="200000" maxSessions="200" maxListners="20" maxListeners="20" workerThreads="2"
  starvationProtection.maxReads="500" streamDriver.mode="0" streamDriver.authMode="anon"
  streamDriver.permitExpiredCerts="off" streamDriver.name="ptcp" streamDriver.CheckExtendedKeyPurpose="off"
  streamDriver.PrioritizeSAN="off" streamDriver.TlsVerifyDepth="3" streamDriver.TlsRevocationCheck="off"
  streamDriver.CAFile="/etc/ssl/certs/ca-certificates.crt" streamDriver.CRLFile="/dev/null"
  streamDriver.KeyFile="/dev/null" streamDriver.CertFile="/dev/null"
  permittedPeer=["a.example", "*.b.example"] allowedSender=["127.0.0.1"]
  keepAlive="off" keepAlive.probes="3" keepAlive.time="60" keepAlive.interval="10"
  gnutlsPriorityString="NORMAL" preserveCase="on"
  compression.mode="none" compression.driver="zlib" compression.maxExpansionRatio="1024"
  compression.maxDecompressedBytesPerReceive="67108864" compression.maxTotalZstdWindowBytes="67108864"
  networkNamespace="")
ruleset(name="rs") { stop }
input(type="imtcp" port="10514" address="127.0.0.1" name="tcpin" defaultTZ="+01:00" ruleset="rs"
  listenPortFileName="/tmp/x.port" maxSessions="10" maxListeners="2" workerThreads="1"
  flowControl="off" disableLFDelimiter="off" discardTruncatedMsg="on" notifyOnConnectionClose="on"
  notifyOnConnectionOpen="on" addtlFrameDelimiter="0" maxFrameSize="1000" preserveCase="off"
  starvationProtection.maxReads="0" streamDriver.mode="0" streamDriver.authMode="x509/name"
  streamDriver.permitExpiredCerts="warn" streamDriver.name="gtls" streamDriver.CheckExtendedKeyPurpose="on"
  streamDriver.PrioritizeSAN="on" streamDriver.TlsVerifyDepth="5" streamDriver.TlsRevocationCheck="off"
  streamDriver.CAFile="/dev/null" streamDriver.CRLFile="/dev/null" streamDriver.KeyFile="/dev/null"
  streamDriver.CertFile="/dev/null" permittedPeer="peer.example" allowedSender=["127.0.0.1"]
  gnutlsPriorityString="NORMAL" keepAlive="on" keepAlive.probes="1" keepAlive.time="2" keepAlive.interval="3"
  supportOctetCountedFraming="off" ratelimit.interval="5" ratelimit.burst="100" framingfix.cisco.asa="on"
  socketBacklog="64" networkNamespace="" compression.mode="stream:always" compression.driver="zstd"
  compression.maxExpansionRatio="0" compression.maxDecompressedBytesPerReceive="0"
  compression.maxTotalZstdWindowBytes="0" multiLine="off" framing.delimiter.regex="^<")
"#;

/// Every module and input parameter of impcap.
const IMPCAP_ALL: &str = r#"
module(load="${IMPCAP}" snap_length="1500" metadata_only="off" metadata_container="!meta" data_container="!payload")
ruleset(name="rs") { stop }
input(type="impcap" interface="lo" promiscuous="on" filter="tcp port 80" tag="cap" ruleset="rs"
  no_buffer="on" buffer_size="1048576" buffer_timeout="20" packet_count="10")
input(type="impcap" file="/nonexistent.pcap")
"#;

/// rsyslog refuses a config without actions before modules are checked: add one.
fn check(host: &Host, conf: &str) -> (i32, String) {
    let conf = format!("{conf}\naction(type=\"omfile\" file=\"/dev/null\")\n");
    let (code, out) = check_config(host, &conf);
    println!("{out}");
    (code, out)
}

#[test]
fn every_documented_parameter_is_accepted() {
    let Some(host) = require_host("every_documented_parameter_is_accepted") else {
        return;
    };
    for conf in [IMTCP_ALL, IMPCAP_ALL] {
        let (code, out) = check(&host, conf);
        assert_eq!(code, 0, "{out}");
        assert!(out.contains("End of config validation run"), "{out}");
        assert!(!out.contains("not known"), "{out}");
    }
}

#[test]
fn parameter_names_are_case_insensitive() {
    let Some(host) = require_host("parameter_names_are_case_insensitive") else {
        return;
    };
    let (code, out) = check(
        &host,
        r#"module(load="${IMTCP}" MAXSESSIONS="5" PreserveCase="on")
input(type="IMTCP" PORT="0" ListenPortFileName="/tmp/p")"#,
    );
    assert_eq!(code, 0, "{out}");
}

fn assert_fails_with(host: &Host, conf: &str, needles: &[&str]) {
    let (code, out) = check(host, conf);
    assert_ne!(code, 0, "{out}");
    for n in needles {
        assert!(out.contains(n), "expected {n:?} in:\n{out}");
    }
}

#[test]
fn unknown_parameters_are_named() {
    let Some(host) = require_host("unknown_parameters_are_named") else {
        return;
    };
    assert_fails_with(
        &host,
        r#"module(load="${IMTCP}" fooparam="1")
input(type="imtcp" port="0" listenPortFileName="/tmp/p" bogus="x")"#,
        &[
            "parameter 'fooparam' not known -- typo in config file?",
            "parameter 'bogus' not known -- typo in config file?",
            "e/2207",
        ],
    );
    assert_fails_with(
        &host,
        r#"module(load="${IMPCAP}" snaplen="1")
input(type="impcap" file="/x.pcap" iface="lo")"#,
        &["parameter 'snaplen' not known", "parameter 'iface' not known"],
    );
}

#[test]
fn mistyped_values_get_rsyslogs_messages() {
    let Some(host) = require_host("mistyped_values_get_rsyslogs_messages") else {
        return;
    };
    assert_fails_with(
        &host,
        r#"module(load="${IMTCP}")
input(type="imtcp" port="0" listenPortFileName="/tmp/p" maxsessions="abc")"#,
        &["parameter 'maxsessions' is not a proper number"],
    );
    assert_fails_with(
        &host,
        r#"module(load="${IMTCP}")
input(type="imtcp" port="0" listenPortFileName="/tmp/p" maxsessions="0")"#,
        &["parameter 'maxsessions' cannot be less than one (was 0)"],
    );
    assert_fails_with(
        &host,
        r#"module(load="${IMTCP}" keepalive="maybe")
input(type="imtcp" port="0" listenPortFileName="/tmp/p")"#,
        &[
            "parameter 'keepalive' must be \"on\" or \"off\" but is neither",
            "imtcp: error processing module config parameters [module(...)]",
        ],
    );
    assert_fails_with(
        &host,
        r#"module(load="${IMPCAP}" metadata_container="!a b")
input(type="impcap" file="/x.pcap")"#,
        &["parameter 'metadata_container' contains whitespace, which is not permitted"],
    );
    assert_fails_with(
        &host,
        r#"module(load="${IMPCAP}")
input(type="impcap" file="/x.pcap" packet_count="-1")"#,
        &["parameter 'packet_count' cannot be less than one (was -1)"],
    );
    assert_fails_with(
        &host,
        r#"module(load="${IMTCP}")
input(type="imtcp" listenPortFileName="/tmp/p")"#,
        &["parameter 'port' required but not specified - fix config"],
    );
}

#[test]
fn module_value_checks_of_the_c_module() {
    let Some(host) = require_host("module_value_checks_of_the_c_module") else {
        return;
    };
    assert_fails_with(
        &host,
        r#"module(load="${IMTCP}" maxFrameSize="300000000")
input(type="imtcp" port="0" listenPortFileName="/tmp/p")"#,
        &[
            "imtcp: invalid value for 'maxFrameSize' parameter given is 300000000, max is 200000000",
            "failed processing config parameters",
            "e/1000",
        ],
    );
    assert_fails_with(
        &host,
        r#"module(load="${IMTCP}")"#,
        &["imtcp: module loaded, but no listeners defined - no input will be gathered"],
    );
    assert_fails_with(
        &host,
        r#"module(load="${IMPCAP}")"#,
        &["impcap: module loaded, but no interface defined - no input will be gathered"],
    );
    assert_fails_with(
        &host,
        r#"module(load="${IMPCAP}")
input(type="impcap" tag="x")"#,
        &["impcap: 'interface' or 'file' must be specified"],
    );
    assert_fails_with(
        &host,
        r#"module(load="${IMPCAP}")
input(type="impcap" interface="lo" file="/x.pcap")"#,
        &["impcap: either 'interface' or 'file' must be specified"],
    );
    assert_fails_with(
        &host,
        r#"module(load="${IMTCP}" compression.mode="sometimes")
input(type="imtcp" port="0" listenPortFileName="/tmp/p")"#,
        &["compression.mode", "sometimes"],
    );
}

#[test]
fn both_modules_load_together_and_by_module_dir() {
    let Some(host) = require_host("both_modules_load_together_and_by_module_dir") else {
        return;
    };
    // `-M <our folder>` + module(load="imtcp"): the short name resolves to our build.
    let dir = module_path("imtcp").parent().unwrap().to_path_buf();
    let moddir = match &host.moddir {
        Some(m) => format!("{}:{m}", dir.display()),
        None => format!("{}:/usr/lib/x86_64-linux-gnu/rsyslog", dir.display()),
    };
    let h = Host {
        moddir: Some(moddir),
        ..host.clone()
    };
    let (code, out) = check(
        &h,
        r#"module(load="imtcp") module(load="impcap")
input(type="imtcp" port="0" listenPortFileName="/tmp/p")
input(type="impcap" file="/x.pcap")"#,
    );
    assert_eq!(code, 0, "{out}");
}

/// `rsyslogd -N1` over `conf` with `${IMTCP}` loading the host's C imtcp or ours.
fn check_imp(host: &Host, imp: Imp, conf: &str) -> (i32, String) {
    let load = match imp {
        Imp::C => "imtcp".to_string(),
        Imp::Rust => module_path("imtcp").to_string_lossy().into_owned(),
    };
    let conf = format!("{conf}\naction(type=\"omfile\" file=\"/dev/null\")\n");
    check_config_with(host, &conf, &Options::default().var("IMTCP", load))
}

/// The lines of a `-N1` run that carry `needles`, with the parts that
/// differ between two runs (work folder, line numbers) taken out.
fn lines_with(out: &str, needles: &[&str]) -> Vec<String> {
    let line_no = regex_lite_line_numbers;
    out.lines()
        .filter(|l| needles.iter().any(|n| l.contains(n)))
        .map(|l| line_no(l).replace(".c.conf", ".conf"))
        .collect()
}

/// "file <path>, on or before line <n>:" → "file F, on or before line L:".
fn regex_lite_line_numbers(l: &str) -> String {
    match (l.find("parsing file "), l.find(", on or before line ")) {
        (Some(a), Some(b)) if b > a => {
            let rest = &l[b + ", on or before line ".len()..];
            let rest = rest.trim_start_matches(|c: char| c.is_ascii_digit());
            format!("{}parsing file F, on or before line L{rest}", &l[..a])
        }
        _ => l.to_string(),
    }
}

/// Current upstream's texts for compatibility.defaults.secure (imtcp.c and
/// glbl.c of 8.2610, as its tests compat-configformat-*.sh and
/// imtcp-stream-always-zstd-secure-defaults.sh check them).
const TLS_MODE0: &str =
    "imtcp has TLS-related settings but streamdriver.mode=\"0\"; mode 0 uses plain TCP so TLS is not active";
const PLAIN_MODE0: &str = "imtcp input uses streamdriver.mode=\"0\" (plain TCP without TLS)";
const ANON: &str =
    "imtcp uses streamdriver.authmode=\"anon\"; server identity is not authenticated, so MITM is possible";
const INSECURE: &str = "backward-compatible insecure default in use: ";
const STRICT_MODE0: &str = "compatibility.defaults.secure=\"strict\" rejects explicit streamdriver.mode=\"0\"";
const STRICT_ZSTD: &str =
    "compatibility.defaults.secure=\"strict\" requires an explicit positive compression.maxTotalZstdWindowBytes";
const NO_QUEUE: &str =
    "has no dedicated non-direct queue; input processing will share the main queue or run synchronously";

/// The insecure-default warnings: current upstream logs them by default
/// (its policy defaults to "warn"); older hosts have no such policy and
/// ours stays silent there too. Ours gives the C module's lines.
#[test]
fn insecure_default_warnings_follow_the_host() {
    let conf = r#"module(load="${IMTCP}")
input(type="imtcp" address="127.0.0.1" port="0" listenPortFileName="/tmp/p1" streamdriver.mode="0" streamdriver.name="gtls")
input(type="imtcp" address="127.0.0.1" port="0" listenPortFileName="/tmp/p2" streamdriver.authmode="x509/name")
input(type="imtcp" address="127.0.0.1" port="0" listenPortFileName="/tmp/p3")"#;
    let Some((c, r)) = rsyslog_tests::compare::both("insecure_default_warnings_follow_the_host", "imtcp", |h, imp| {
        (h.is_current_upstream(), check_imp(h, imp, conf))
    }) else {
        return;
    };
    let upstream = c.0;
    for (who, (_, (code, out))) in [("C", &c), ("ours", &r)] {
        println!("--- {who}:\n{out}");
        assert_eq!(*code, 0, "{who}: {out}");
        let tls = out
            .lines()
            .filter(|l| l.contains(INSECURE) && l.contains(TLS_MODE0))
            .count();
        let plain = out
            .lines()
            .filter(|l| l.contains(INSECURE) && l.contains(PLAIN_MODE0))
            .count();
        if upstream {
            // the module() statement and the plain input; the two inputs with TLS hints
            assert_eq!((tls, plain), (2, 2), "{who}: {out}");
        } else {
            assert_eq!((tls, plain), (0, 0), "{who}: {out}");
        }
    }
    let needles = [INSECURE];
    assert_eq!(lines_with(&c.1 .1, &needles), lines_with(&r.1 .1, &needles));
}

/// compatibility.defaults.secure="warn" and "strict" on current upstream:
/// the anon warning, strict's refusal of an explicit mode 0 with a TLS
/// driver (module and input), its promotion of an unset mode, and its
/// requirement of an explicit zstd window; the same outcome and lines as
/// the C module. (Older hosts reject the global parameter itself.)
#[test]
fn strict_secure_defaults_on_current_upstream() {
    let cases: &[(&str, &str, bool, &[&str])] = &[
        (
            "anon",
            r#"global(compatibility.defaults.secure="warn")
module(load="${IMTCP}" streamdriver.name="gtls" streamdriver.mode="1" streamdriver.authmode="anon")
input(type="imtcp" port="0" listenPortFileName="/tmp/p1")"#,
            true,
            &[ANON],
        ),
        (
            "strict input mode 0",
            r#"global(compatibility.defaults.secure="strict" defaultNetstreamDriver="gtls")
module(load="${IMTCP}")
input(type="imtcp" address="127.0.0.1" port="0" listenPortFileName="/tmp/p1" streamdriver.mode="0")"#,
            false,
            &["imtcp input: compatibility.defaults.secure=\"strict\" rejects explicit streamdriver.mode=\"0\" with TLS-capable stream driver \"gtls\""],
        ),
        (
            "strict module mode 0",
            r#"global(compatibility.defaults.secure="strict")
module(load="${IMTCP}" streamdriver.name="ossl" streamdriver.mode="0")
input(type="imtcp" port="0" listenPortFileName="/tmp/p1")"#,
            false,
            &["imtcp module: compatibility.defaults.secure=\"strict\" rejects explicit streamdriver.mode=\"0\" with TLS-capable stream driver \"ossl\""],
        ),
        (
            "strict promotes",
            r#"global(compatibility.defaults.secure="strict" defaultNetstreamDriver="gtls")
module(load="${IMTCP}")
input(type="imtcp" port="0" listenPortFileName="/tmp/p1")"#,
            true,
            &[],
        ),
        (
            "strict zstd omitted",
            r#"global(compatibility.defaults.secure="strict")
module(load="${IMTCP}")
input(type="imtcp" port="0" listenPortFileName="/tmp/p1" compression.mode="stream:always" compression.driver="zstd")"#,
            false,
            &[STRICT_ZSTD],
        ),
        (
            "strict zstd zero",
            r#"global(compatibility.defaults.secure="strict")
module(load="${IMTCP}")
input(type="imtcp" port="0" listenPortFileName="/tmp/p1" compression.mode="stream:always" compression.driver="zstd" compression.maxTotalZstdWindowBytes="0")"#,
            false,
            &[STRICT_ZSTD],
        ),
        (
            "strict zstd from the module",
            r#"global(compatibility.defaults.secure="strict")
module(load="${IMTCP}" compression.mode="stream:always" compression.driver="zstd" compression.maxTotalZstdWindowBytes="2097152")
input(type="imtcp" port="0" listenPortFileName="/tmp/p1")"#,
            true,
            &[],
        ),
        (
            "strict zlib",
            r#"global(compatibility.defaults.secure="strict")
module(load="${IMTCP}")
input(type="imtcp" port="0" listenPortFileName="/tmp/p1" compression.mode="stream:always" compression.driver="zlib")"#,
            true,
            &[],
        ),
        (
            "backward-compatible is silent",
            r#"global(compatibility.defaults.secure="backward-compatible")
module(load="${IMTCP}" streamdriver.name="gtls")
input(type="imtcp" port="0" listenPortFileName="/tmp/p1" compression.mode="stream:always" compression.driver="zstd")"#,
            true,
            &[],
        ),
    ];
    let Some((c, r)) = rsyslog_tests::compare::both("strict_secure_defaults_on_current_upstream", "imtcp", |h, imp| {
        if !h.is_current_upstream() {
            println!("SKIP: rsyslogd {} has no compatibility.defaults.secure", h.version);
            return Vec::new();
        }
        cases
            .iter()
            .map(|(_, conf, _, _)| check_imp(h, imp, conf))
            .collect::<Vec<_>>()
    }) else {
        return;
    };
    let needles = [INSECURE, STRICT_MODE0, STRICT_ZSTD];
    for (i, (name, _, ok, want)) in cases.iter().enumerate().take(c.len()) {
        for (who, (code, out)) in [("C", &c[i]), ("ours", &r[i])] {
            println!("--- {name}, {who}:\n{out}");
            assert_eq!(*code == 0, *ok, "{name}, {who}: exit code {code}:\n{out}");
            for w in *want {
                assert!(out.contains(w), "{name}, {who}: expected {w:?} in:\n{out}");
            }
            if *ok {
                assert!(
                    !out.contains(STRICT_MODE0) && !out.contains(STRICT_ZSTD),
                    "{name}, {who}:\n{out}"
                );
            }
        }
        assert_eq!(lines_with(&c[i].1, &needles), lines_with(&r[i].1, &needles), "{name}");
    }
}

/// Current upstream's input modules warn when an input is bound to a
/// ruleset without a queue of its own (or with a Direct one); older hosts
/// do not, and neither does ours there.
#[test]
fn ruleset_without_own_queue_is_warned_about_on_current_upstream() {
    let conf = r#"module(load="${IMTCP}")
ruleset(name="shared") { action(type="omfile" file="/dev/null") }
ruleset(name="direct" queue.type="Direct") { action(type="omfile" file="/dev/null") }
ruleset(name="queued" queue.type="LinkedList") { action(type="omfile" file="/dev/null") }
input(type="imtcp" address="127.0.0.1" port="0" listenPortFileName="/tmp/p1" ruleset="shared")
input(type="imtcp" address="127.0.0.1" port="0" listenPortFileName="/tmp/p2" ruleset="direct")
input(type="imtcp" address="127.0.0.1" port="0" listenPortFileName="/tmp/p3" ruleset="queued")
input(type="imtcp" address="127.0.0.1" port="0" listenPortFileName="/tmp/p4")"#;
    let Some((c, r)) = rsyslog_tests::compare::both(
        "ruleset_without_own_queue_is_warned_about_on_current_upstream",
        "imtcp",
        |h, imp| (h.is_current_upstream(), check_imp(h, imp, conf)),
    ) else {
        return;
    };
    for (who, (upstream, (code, out))) in [("C", &c), ("ours", &r)] {
        println!("--- {who}:\n{out}");
        assert_eq!(*code, 0, "{who}: {out}");
        let warned: Vec<&str> = ["shared", "direct", "queued"]
            .into_iter()
            .filter(|n| out.contains(&format!("input-bound ruleset '{n}' {NO_QUEUE}")))
            .collect();
        let want: &[&str] = if *upstream { &["shared", "direct"] } else { &[] };
        assert_eq!(warned, want, "{who}: {out}");
        assert_eq!(out.matches(NO_QUEUE).count(), want.len(), "{who}: {out}");
    }
    assert_eq!(lines_with(&c.1 .1, &[NO_QUEUE]), lines_with(&r.1 .1, &[NO_QUEUE]));
}

/// The name `input(type=…)` uses is the module's own, whatever its file is
/// called, except for the documented side-by-side name `rs<module>.so`.
#[test]
fn config_name_does_not_follow_the_file_name() {
    let Some(host) = require_host("config_name_does_not_follow_the_file_name") else {
        return;
    };
    let wd = WorkDir::new();
    for (file, name) in [
        ("ours-imtcp.so", "imtcp"),
        ("imtcp-rust.so", "imtcp"),
        ("libimtcp.so", "imtcp"),
        ("rsimtcp.so", "rsimtcp"),
        ("ours-impcap.so", "impcap"),
        ("rsimpcap.so", "rsimpcap"),
    ] {
        let module = if file.contains("imtcp") { "imtcp" } else { "impcap" };
        let copy = wd.path().join(file);
        std::fs::copy(module_path(module), &copy).unwrap();
        let input = |t: &str| {
            if module == "imtcp" {
                format!(r#"input(type="{t}" port="0" listenPortFileName="/tmp/p")"#)
            } else {
                format!(r#"input(type="{t}" file="/x.pcap")"#)
            }
        };
        let load = format!("module(load=\"{}\")\n", copy.display());
        let (code, out) = check(&host, &format!("{load}{}", input(name)));
        assert_eq!(code, 0, "{file} as {name}: {out}");
        let other = if name == module {
            format!("rs{module}")
        } else {
            module.to_string()
        };
        let (code, out) = check(&host, &format!("{load}{}", input(&other)));
        assert_ne!(code, 0, "{file} must not answer to {other}: {out}");
        assert!(
            out.contains(&format!("input module name '{other}' is unknown")),
            "{file}: {out}"
        );
    }
}
