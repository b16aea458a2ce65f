//! imtcp's framing rules in a real rsyslogd, each with crafted byte streams
//! and with real senders (a second rsyslogd's omfwd, util-linux logger,
//! rsyslog's tcpflood). As in imtcp_params.rs every config runs with the
//! host's C imtcp and with ours; the pinned results are the C module's.

use rsyslog_tests::*;
use std::collections::BTreeMap;
use std::io::Write;
use std::net::Shutdown;
use std::process::Command;
use std::time::Duration;

const T: Duration = Duration::from_secs(15);

use rsyslog_tests::compare::Imp;

fn both<R: Send>(test: &str, f: impl Fn(&Host, Imp) -> R + Sync) -> Option<(R, R)> {
    rsyslog_tests::compare::both(test, "imtcp", f)
}

/// Starts rsyslogd with `conf`; `${IMTCP}` is the module under test.
fn start(host: &Host, imp: Imp, conf: &str) -> Daemon {
    rsyslog_tests::compare::start(host, imp, "imtcp", conf)
}

/// An octet-counted frame (RFC 6587).
fn oc(m: &[u8]) -> Vec<u8> {
    let mut v = format!("{} ", m.len()).into_bytes();
    v.extend_from_slice(m);
    v
}

// ---------------------------------------------------------------------------------------
// Crafted streams

const MATRIX_CONF: &str = r#"
global(maxMessageSize="200")
module(load="${IMTCP}")
input(type="imtcp" port="0" listenPortFileName="${WORKDIR}/lf" name="lf")
input(type="imtcp" port="0" listenPortFileName="${WORKDIR}/nooc" name="nooc" supportOctetCountedFraming="off")
input(type="imtcp" port="0" listenPortFileName="${WORKDIR}/nul" name="nul" addtlFrameDelimiter="0")
input(type="imtcp" port="0" listenPortFileName="${WORKDIR}/pipe" name="pipe" addtlFrameDelimiter="124" disableLFDelimiter="on")
input(type="imtcp" port="0" listenPortFileName="${WORKDIR}/high" name="high" addtlFrameDelimiter="200")
input(type="imtcp" port="0" listenPortFileName="${WORKDIR}/mfs" name="mfs" maxFrameSize="20")
input(type="imtcp" port="0" listenPortFileName="${WORKDIR}/asa" name="asa" framingfix.cisco.asa="on")
input(type="imtcp" port="0" listenPortFileName="${WORKDIR}/trunc" name="trunc")
input(type="imtcp" port="0" listenPortFileName="${WORKDIR}/discard" name="discard" discardTruncatedMsg="on")
if $syslogtag startswith "rsyslogd" then stop
template(name="file" type="string" string="${WORKDIR}/out.%inputname%")
template(name="raw" type="string" string="%rawmsg%\n")
action(type="omfile" dynaFile="file" template="raw")
"#;

/// (input, bytes sent on one connection, lines rsyslog writes: the C module's result).
fn matrix() -> Vec<(&'static str, Vec<u8>, Vec<String>)> {
    let x300 = "x".repeat(300);
    let y250 = "y".repeat(250);
    // maxMessageSize 200: the first 200 bytes, the 201st is dropped, the rest follows.
    let (x_head, x_rest) = (format!("<13>a: {}", "x".repeat(193)), "x".repeat(300 - 193 - 1));
    let (y_head, y_rest) = (format!("<13>a: {}", "y".repeat(193)), "y".repeat(250 - 193 - 1));
    let cat = |parts: &[&[u8]]| parts.concat();
    let s = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    vec![
        (
            "lf",
            cat(&[
                b"<13>a: one\n<13>a: crlf\r\n<13>a: in\0side\n<13>a: nul-end\0\n\n\n",
                b" <13>a: leading space\n",
                &oc(b"<13>a: counted\nwith lf"),
                &oc(b"<13>a: counted-lf\n"),
                b"0 <13>a: count zero\n",
                b"<13>a: last, no LF",
            ]),
            s(&[
                "<13>a: one",
                "<13>a: crlf#015",
                "<13>a: in#000side",
                "<13>a: nul-end",
                " <13>a: leading space",
                "<13>a: counted#012with lf",
                "<13>a: counted-lf",
                "<13>a: count zero",
                "<13>a: last, no LF",
            ]),
        ),
        ("nooc", cat(&[&oc(b"<13>a: hey"), b"\n"]), s(&["10 <13>a: hey"])),
        (
            "nul",
            b"<13>a: n1\0<13>a: n2\n<13>a: n3\0".to_vec(),
            s(&["<13>a: n1", "<13>a: n2", "<13>a: n3"]),
        ),
        (
            "pipe",
            b"<13>a: x1\nstill x1|<13>a: x2|<13>a: x3".to_vec(),
            s(&["<13>a: x1#012still x1", "<13>a: x2", "<13>a: x3"]),
        ),
        ("high", b"<13>a: p\xc8q\n".to_vec(), s(&["<13>a: p\u{fffd}q"])),
        (
            "mfs",
            cat(&[&oc(b"<13>a: 0123456789abcdefghij"), b"\n", &oc(b"<13>a: ok")]),
            // Over maxFrameSize: octet stuffing from there, the digits stay, the SP goes.
            s(&["27<13>a: 0123456789abcdefghij", "<13>a: ok"]),
        ),
        (
            "asa",
            b" <13>a: asa\n  <13>a: two spaces\n".to_vec(),
            s(&["<13>a: asa", "<13>a: two spaces"]),
        ),
        (
            "trunc",
            cat(&[
                format!("<13>a: {x300}\n").as_bytes(),
                b"<13>a: after\n",
                &oc(format!("<13>a: {y250}").as_bytes()),
                b"<13>a: after2\n",
            ]),
            vec![
                x_head.clone(),
                x_rest,
                "<13>a: after".into(),
                y_head.clone(),
                y_rest,
                "<13>a: after2".into(),
            ],
        ),
        (
            "discard",
            cat(&[
                format!("<13>a: {x300}\n").as_bytes(),
                b"<13>a: after\n",
                &oc(format!("<13>a: {y250}").as_bytes()),
                b"<13>a: after2\n",
            ]),
            vec![x_head, "<13>a: after".into(), y_head, "<13>a: after2".into()],
        ),
    ]
}

/// Every framing rule on crafted streams: LF, CRLF, NUL inside and at the
/// end of a frame, empty frames, octet counting (LF inside, a count of 0,
/// off), the additional delimiter (NUL, `|` with LF off, a value ≥ 128 that
/// never matches), maxFrameSize (switch to stuffing), framingfix.cisco.asa,
/// frames over maxMessageSize (split, or the rest discarded with
/// discardTruncatedMsg), a partial LF frame at close; and the framing
/// error lines (current upstream names the peer's port in them: each must be
/// the port of the connection that sent the bytes, shown as `(port) PORT`).
#[test]
fn framing_rules_on_crafted_streams() {
    let cases = matrix();
    let res = both("framing_rules_on_crafted_streams", |host, imp| {
        let d = start(host, imp, MATRIX_CONF);
        let mut ports = BTreeMap::new();
        for (name, bytes, _) in &cases {
            let p = d.wait_port_file(name, T);
            let mut s = tcp_connect(p);
            ports.insert(format!("imtcp {name}:"), s.local_addr().unwrap().port());
            s.write_all(bytes).unwrap();
            s.shutdown(Shutdown::Write).unwrap();
        }
        for (name, _, want) in &cases {
            d.wait_lines(&format!("out.{name}"), want.len(), T);
        }
        let st = d.stop();
        st.assert_clean_exit();
        let mut out = BTreeMap::new();
        for (name, _, _) in &cases {
            out.insert(name.to_string(), st.lines(&format!("out.{name}")));
        }
        let errs: Vec<String> = st
            .internal_messages()
            .iter()
            // Current upstream warns of every plain-TCP input while it reads the
            // config (its compatibility.defaults.secure="warn"): config texts,
            // not framing lines.
            .filter(|m| m.msg.contains("imtcp") && !m.msg.contains("backward-compatible insecure default in use"))
            .map(|m| {
                let mut s = format!("{} {} {}", m.severity, m.tag, m.msg);
                if let Some(i) = s.find(" [v8.") {
                    s.truncate(i);
                }
                if imp == Imp::C && !host.is_current_upstream() {
                    // Deliberate difference (README): the C module of 8.2302 and
                    // 8.2504 prints the host name after "(ip)".
                    s = s.replace("(ip) localhost", "(ip) 127.0.0.1");
                }
                port_placeholder(&s, &ports)
            })
            .collect();
        (out, errs)
    });
    let Some(((c, cerr), (r, rerr))) = res else { return };
    let host = require_host("framing_rules_on_crafted_streams").unwrap();
    // Current upstream: ", (port) <the sender's port>" after the IP address.
    let port = if host.is_current_upstream() {
        ", (port) PORT"
    } else {
        ""
    };
    assert_eq!(r, c, "frames differ from the C module's");
    let (mut cerr, rerr) = (cerr, rerr);
    // Deliberate difference (README): ours also tells of an LF frame cut at maxMessageSize.
    let (mut extra, mut rerr): (Vec<String>, Vec<String>) = rerr
        .into_iter()
        .partition(|l| l.contains("no frame delimiter within max msg size"));
    cerr.sort();
    rerr.sort();
    extra.sort();
    assert_eq!(rerr, cerr, "framing error lines differ from the C module's");
    let who = if extra.iter().all(|l| l.contains("(hostname) localhost")) {
        format!("(hostname) localhost, (ip) 127.0.0.1{port}")
    } else {
        format!("(hostname) 127.0.0.1, (ip) 127.0.0.1{port}")
    };
    assert_eq!(
        extra,
        [
            format!(
                "err rsyslogd: imtcp discard: received oversize message from peer: {who}: no frame delimiter \
                 within max msg size 200, discarding the rest of the frame"
            ),
            format!(
                "err rsyslogd: imtcp trunc: received oversize message from peer: {who}: no frame delimiter \
                 within max msg size 200, splitting..."
            ),
        ]
    );
    for (name, _, want) in &cases {
        assert_eq!(&c[*name], want, "input {name}");
    }
    let who = format!("from peer: (hostname) localhost, (ip) 127.0.0.1{port}");
    let who = if cerr.iter().any(|l| l.contains(&who)) {
        who
    } else {
        format!("from peer: (hostname) 127.0.0.1, (ip) 127.0.0.1{port}")
    };
    assert_eq!(
        cerr,
        [
            format!("err rsyslogd: imtcp discard: received oversize message {who}: size is 257 bytes, max msg size is 200, truncating..."),
            format!("err rsyslogd: imtcp lf: Framing Error in received TCP message {who}: invalid octet count 0."),
            format!("err rsyslogd: imtcp mfs: Framing Error in received TCP message {who}: frame too large: 27, change to octet stuffing"),
            format!("err rsyslogd: imtcp trunc: received oversize message {who}: size is 257 bytes, max msg size is 200, truncating..."),
        ]
    );
}

/// `line` with `(port) <n>` written `(port) PORT` when `n` is the port of
/// the connection that the line's input (`imtcp <name>:`) was sent from;
/// any other number is left as it is, so the comparison fails.
fn port_placeholder(line: &str, ports: &BTreeMap<String, u16>) -> String {
    let Some(port) = ports.iter().find(|(k, _)| line.contains(k.as_str())).map(|(_, p)| *p) else {
        return line.to_string();
    };
    line.replace(&format!(", (port) {port}:"), ", (port) PORT:")
}

// ---------------------------------------------------------------------------------------
// Real senders

/// A second rsyslogd forwarding its own log lines with omfwd over TCP:
/// octet-counted (RFC 6587: an input with octet counting off shows the
/// count) and the default LF framing. The sender is the same rsyslogd in
/// both runs; only the receiver's imtcp differs.
#[test]
fn omfwd_sender_octet_counted_and_lf() {
    let res = both("omfwd_sender_octet_counted_and_lf", |host, imp| {
        let d = start(
            host,
            imp,
            r#"
module(load="${IMTCP}")
input(type="imtcp" port="0" listenPortFileName="${WORKDIR}/oc" name="oc")
input(type="imtcp" port="0" listenPortFileName="${WORKDIR}/nooc" name="nooc" supportOctetCountedFraming="off")
input(type="imtcp" port="0" listenPortFileName="${WORKDIR}/lf" name="lf")
if $syslogtag startswith "rsyslogd" and $inputname == "rsyslogd" then stop
template(name="file" type="string" string="${WORKDIR}/out.%inputname%")
template(name="t" type="string" string="%hostname%|%syslogtag%|%msg%|%rawmsg%\n")
action(type="omfile" dynaFile="file" template="t")
"#,
        );
        let (oc, nooc, lf) = (
            d.wait_port_file("oc", T),
            d.wait_port_file("nooc", T),
            d.wait_port_file("lf", T),
        );
        let sender = Daemon::start(
            host,
            &format!(
                r#"
if $syslogtag == "rsyslogd:" and $msg contains "[origin software=" then {{
  action(type="omfwd" target="127.0.0.1" port="{oc}" protocol="tcp" TCP_Framing="octet-counted")
  action(type="omfwd" target="127.0.0.1" port="{nooc}" protocol="tcp" TCP_Framing="octet-counted")
  action(type="omfwd" target="127.0.0.1" port="{lf}" protocol="tcp")
}}
"#
            ),
        );
        for f in ["out.oc", "out.lf"] {
            d.wait_lines(f, 1, T);
        }
        sender.hup();
        let mut out = BTreeMap::new();
        for f in ["oc", "lf"] {
            out.insert(f, d.wait_lines(&format!("out.{f}"), 2, T));
        }
        // Octet-counted frames carry no LF: an input without octet counting
        // sees one frame, ended by the sender's close.
        sender.stop().assert_clean_exit();
        out.insert("nooc", d.wait_lines("out.nooc", 1, T));
        d.stop().assert_clean();
        let host_name = Command::new("hostname").output().unwrap().stdout;
        let host_name = String::from_utf8_lossy(&host_name).trim().to_string();
        for f in ["oc", "lf"] {
            let l: Vec<Vec<&str>> = out[f].iter().map(|l| l.splitn(4, '|').collect()).collect();
            assert_eq!(
                (l[0][0], l[0][1]),
                (host_name.as_str(), "rsyslogd:"),
                "{imp:?} {f}: {:?}",
                out[f]
            );
            assert!(
                l[0][2].starts_with(" [origin software=\"rsyslogd\""),
                "{imp:?} {f}: {:?}",
                out[f]
            );
            assert!(l[0][2].ends_with("] start"), "{imp:?} {f}: {:?}", out[f]);
            assert!(l[1][2].ends_with("] rsyslogd was HUPed"), "{imp:?} {f}: {:?}", out[f]);
            assert!(l[0][3].starts_with("<46>"), "{imp:?} {f}: {:?}", out[f]);
        }
        // Octet counting off: both frames with their counts are one message.
        assert_eq!(out["nooc"].len(), 1, "{imp:?}: {:?}", out["nooc"]);
        let raw = out["nooc"][0].splitn(4, '|').nth(3).unwrap();
        let mut frames = Vec::new();
        let mut rest = raw;
        while let Some((n, tail)) = rest.split_once(' ') {
            let n: usize = n
                .parse()
                .unwrap_or_else(|_| panic!("{imp:?}: no count at {rest:?} in {raw}"));
            let (frame, tail) = tail.split_at(n);
            frames.push(frame);
            rest = tail;
        }
        assert!(rest.is_empty(), "{imp:?}: {raw}");
        assert!(frames.iter().all(|f| f.starts_with("<46>")), "{imp:?}: {frames:?}");
        assert!(frames[0].ends_with("] start"), "{imp:?}: {frames:?}");
        assert!(frames[1].ends_with("] rsyslogd was HUPed"), "{imp:?}: {frames:?}");
        out.values().flatten().count()
    });
    if let Some((c, r)) = res {
        assert_eq!((c, r), (5, 5));
    }
}

/// util-linux logger over TCP: RFC 3164 with LF framing and RFC 5424 with
/// octet counting and structured data, through rsyslog's parsers.
#[test]
fn logger_sender_rfc3164_and_rfc5424() {
    let res = both("logger_sender_rfc3164_and_rfc5424", |host, imp| {
        let d = start(
            host,
            imp,
            r#"
module(load="${IMTCP}")
input(type="imtcp" port="0" listenPortFileName="${WORKDIR}/p")
if $syslogtag startswith "rsyslogd" then stop
template(name="t" type="string" string="%pri%|%app-name%|%procid%|%msgid%|%syslogtag%|%structured-data%|%msg%\n")
action(type="omfile" file="${WORKDIR}/out" template="t")
"#,
        );
        let p = d.wait_port_file("p", T).to_string();
        let logger = |args: &[&str]| {
            let st = Command::new("logger")
                .args(["--tcp", "-n", "127.0.0.1", "-P", &p])
                .args(args)
                .status()
                .expect("logger (util-linux) is required");
            assert!(st.success(), "logger {args:?}");
        };
        logger(&["--rfc3164", "-p", "local3.warning", "-t", "lf3164", "hello over LF"]);
        d.wait_lines("out", 1, T);
        logger(&[
            "--rfc5424",
            "--octet-count",
            "-p",
            "user.err",
            "-t",
            "oc5424",
            "--msgid",
            "MID",
            "--sd-id",
            "zoo@32473",
            "--sd-param",
            "tiger=\"hungry\"",
            "hello counted",
        ]);
        let lines = d.wait_lines("out", 2, T);
        d.stop().assert_clean();
        assert_eq!(lines[0], "156|lf3164|-|-|lf3164:|-| hello over LF", "{imp:?}");
        let f: Vec<&str> = lines[1].split('|').collect();
        assert_eq!(
            (f[0], f[1], f[3], f[4]),
            ("11", "oc5424", "MID", "oc5424"),
            "{imp:?}: {lines:?}"
        );
        assert!(f[5].contains("[zoo@32473 tiger=\"hungry\"]"), "{imp:?}: {lines:?}");
        assert_eq!(f[6], "hello counted", "{imp:?}: {lines:?}");
        lines
    });
    if let Some((c, r)) = res {
        assert_eq!(r, c);
    }
}

/// tcpflood over several connections: LF framing (RFC 3164 and, `-y`,
/// RFC 5424), octet counting (`-O`, the count includes the LF) and NUL as
/// the frame delimiter (`-F 0`) into an input with addtlFrameDelimiter 0
/// and LF off. Every message arrives exactly once.
#[test]
fn tcpflood_sender_lf_octet_counted_and_nul() {
    let Some(tcpflood) = host::require_tcpflood("tcpflood_sender_lf_octet_counted_and_nul") else {
        return;
    };
    const N: usize = 400;
    let runs: [(&str, &[&str]); 4] = [
        ("lf", &["-c", "4"]),
        ("rfc5424", &["-c", "3", "-y"]),
        ("oc", &["-c", "4", "-O"]),
        ("nul", &["-c", "2", "-F", "0"]),
    ];
    both("tcpflood_sender_lf_octet_counted_and_nul", |host, imp| {
        let d = start(
            host,
            imp,
            r#"
module(load="${IMTCP}")
input(type="imtcp" port="0" listenPortFileName="${WORKDIR}/lf" name="lf")
input(type="imtcp" port="0" listenPortFileName="${WORKDIR}/rfc5424" name="rfc5424")
input(type="imtcp" port="0" listenPortFileName="${WORKDIR}/oc" name="oc")
input(type="imtcp" port="0" listenPortFileName="${WORKDIR}/nul" name="nul" addtlFrameDelimiter="0" disableLFDelimiter="on")
if $syslogtag startswith "rsyslogd" then stop
template(name="file" type="string" string="${WORKDIR}/out.%inputname%")
template(name="t" type="string" string="%hostname%|%syslogtag%|%msg%\n")
action(type="omfile" dynaFile="file" template="t")
"#,
        );
        for (name, args) in runs {
            let p = d.wait_port_file(name, T);
            let out = Command::new(&tcpflood)
                .args(["-t", "127.0.0.1", "-p", &p.to_string(), "-m", &N.to_string(), "-s"])
                .args(args)
                .output()
                .unwrap();
            assert!(out.status.success(), "{imp:?} tcpflood {args:?}: {out:?}");
        }
        for (name, _) in runs {
            let lines = d.wait_lines(&format!("out.{name}"), N, T);
            let mut seen = vec![0; N];
            for l in &lines {
                let f: Vec<&str> = l.split('|').collect();
                let num = if name == "rfc5424" {
                    assert_eq!(
                        (f[0], f[1]),
                        ("mymachine.example.com", "tcpflood"),
                        "{imp:?} {name}: {l}"
                    );
                    f[2].strip_prefix("msgnum:")
                } else {
                    assert_eq!((f[0], f[1]), ("172.20.245.8", "tag"), "{imp:?} {name}: {l}");
                    f[2].strip_prefix(" msgnum:").or_else(|| f[2].strip_prefix("msgnum:"))
                };
                let num: usize = num
                    .and_then(|n| n.strip_suffix(':'))
                    .and_then(|n| n.parse().ok())
                    .unwrap_or_else(|| panic!("{imp:?} {name}: {l}"));
                seen[num] += 1;
            }
            assert!(
                seen.iter().all(|&n| n == 1),
                "{imp:?} {name}: not exactly once: {seen:?}"
            );
        }
        d.stop().assert_clean();
    });
}
