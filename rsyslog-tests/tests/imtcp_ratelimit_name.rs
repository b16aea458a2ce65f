//! `ratelimit.name` (current upstream): an input bound to a named `ratelimit()`
//! object. 8.2302 and 8.2504 have no such objects (no `ratelimitNewFromConfig`),
//! so there the input is not started, with one clear line, and the others run.
//! On current upstream ours is run beside the C module: same messages through,
//! same texts, same impstats counters.

use rsyslog_tests::compare::{self, Imp};
use rsyslog_tests::stats::last_value;
use rsyslog_tests::*;
use std::time::Duration;

const T: Duration = Duration::from_secs(15);

#[test]
fn named_ratelimit_on_a_host_without_ratelimit_objects() {
    let Some(host) = require_host("named_ratelimit_on_a_host_without_ratelimit_objects") else {
        return;
    };
    if host.exports("ratelimitNewFromConfig") {
        println!("SKIP named_ratelimit_on_a_host_without_ratelimit_objects: this rsyslogd has ratelimit() objects");
        return;
    }
    const CONF: &str = r#"
module(load="${IMTCP}")
input(type="imtcp" port="0" listenPortFileName="${WORKDIR}/p-named" name="named" ratelimit.name="rl"
      ratelimit.burst="5")
input(type="imtcp" port="0" listenPortFileName="${WORKDIR}/p-plain" name="plain")
template(name="t" type="string" string="%inputname%%msg%\n")
if $inputname == "plain" then action(type="omfile" file="${WORKDIR}/out" template="t")
"#;
    let d = Daemon::start(&host, CONF);
    let p = d.wait_port_file("p-plain", T);
    tcp_send(p, b"<13>a: flows\n");
    assert_eq!(d.wait_lines("out", 1, T), ["plain flows"]);
    let log = d.wait_internal("needs ratelimit() objects", T);
    let named_port = d.path("p-named").exists();
    d.stop();
    assert!(
        log.contains(
            "imtcp: input 'named' port 0: ratelimit.name 'rl' needs ratelimit() objects, which this rsyslogd does \
             not have - listener not started"
        ),
        "{log}"
    );
    assert!(
        log.contains(
            "imtcp: ratelimit.name is mutually exclusive with ratelimit.interval and ratelimit.burst - using named \
             ratelimit"
        ),
        "{log}"
    );
    assert!(!named_port);
}

/// What one run of [`named_run`] saw.
#[derive(Debug)]
struct NamedRun {
    /// Output lines per input, in order.
    named: Vec<String>,
    both: Vec<String>,
    /// Internal messages (without the version suffix).
    internal: Vec<String>,
    /// impstats text.
    stats: String,
    /// The input with an unknown ratelimit name wrote its port file.
    unknown_listens: bool,
}

const BURST: usize = 5;
const SENT: usize = 20;

fn burst() -> Vec<u8> {
    (0..SENT).flat_map(|i| format!("<13>t: m{i}\n").into_bytes()).collect()
}

fn named_run(host: &Host, imp: Imp) -> NamedRun {
    let conf = format!(
        r#"
ratelimit(name="rl" interval="60" burst="{BURST}")
module(load="impstats" interval="1" log.file="${{WORKDIR}}/stats" format="legacy" log.syslog="off")
module(load="${{IMTCP}}")
input(type="imtcp" port="0" listenPortFileName="${{WORKDIR}}/p-named" name="named" ratelimit.name="rl")
input(type="imtcp" port="0" listenPortFileName="${{WORKDIR}}/p-both" name="both" ratelimit.name="rl"
      ratelimit.burst="3")
input(type="imtcp" port="0" listenPortFileName="${{WORKDIR}}/p-unknown" name="unknown" ratelimit.name="nope")
template(name="t" type="string" string="%msg%\n")
if $inputname == "named" then action(type="omfile" file="${{WORKDIR}}/out-named" template="t")
if $inputname == "both" then action(type="omfile" file="${{WORKDIR}}/out-both" template="t")
"#
    );
    let d = compare::start(host, imp, "imtcp", &conf);
    let (pn, pb) = (d.wait_port_file("p-named", T), d.wait_port_file("p-both", T));
    tcp_send(pn, &burst());
    tcp_send(pb, &burst());
    d.wait_lines("out-named", BURST, T);
    d.wait_lines("out-both", BURST, T);
    d.wait_internal("begin to drop messages due to rate-limiting", T);
    // A stats round after every message was read.
    let bytes = burst().len() as u64;
    wait::poll_until(T, Duration::from_millis(100), || {
        let s = d.read("stats");
        (last_value(&s, "named(0)", "bytes.received") == Some(bytes)
            && last_value(&s, "both(0)", "bytes.received") == Some(bytes))
        .then_some(())
    });
    std::thread::sleep(Duration::from_millis(1200));
    let unknown_listens = d.path("p-unknown").exists();
    let st = d.stop();
    assert!(st.exited_cleanly(), "{imp:?}: {}", st.report());
    NamedRun {
        named: st.lines("out-named"),
        both: st.lines("out-both"),
        internal: st
            .read(INTERNAL_LOG)
            .lines()
            .map(|l| l.split(" [v8.").next().unwrap_or(l).to_string())
            .collect(),
        stats: st.read("stats"),
        unknown_listens,
    }
}

/// On a host with named `ratelimit()` objects (current upstream), ours and
/// the C module let the same messages through and say the same: the
/// ratelimiter is tcpsrv.c's "tcpsrv", `submitted` counts what passed it,
/// `bytes.received` everything read, and an unknown name costs the input its
/// listener with imtcp.c's line after rsyslog's own.
#[test]
fn named_ratelimit_matches_the_c_module() {
    let Some(host) = require_host("named_ratelimit_matches_the_c_module") else {
        return;
    };
    if !host.exports("ratelimitNewFromConfig") {
        println!("SKIP named_ratelimit_matches_the_c_module: this rsyslogd has no ratelimit() objects");
        return;
    }
    let (c, ours) = compare::both("named_ratelimit_matches_the_c_module", "imtcp", named_run).unwrap();
    let first: Vec<String> = (0..BURST).map(|i| format!(" m{i}")).collect();
    let bytes = burst().len() as u64;
    let lost = format!(
        "tcpsrv: {} messages lost due to rate-limiting ({BURST} allowed within 60 seconds)",
        SENT - BURST
    );
    for (who, r) in [("C", &c), ("ours", &ours)] {
        // ratelimit.burst beside ratelimit.name is ignored: the named limit applies.
        assert_eq!(r.named, first, "{who}");
        assert_eq!(r.both, first, "{who}");
        let has = |t: &str| r.internal.iter().any(|l| l == t);
        for t in [
            "imtcp: ratelimit.name is mutually exclusive with ratelimit.interval and ratelimit.burst - using named \
             ratelimit",
            "ratelimit config 'nope' not found",
            "imtcp: error -3003 trying to add listener",
            lost.as_str(),
        ] {
            assert!(has(t), "{who}: no line {t:?} in\n{}", r.internal.join("\n"));
        }
        // "from <fromhost:appname>": rsyslog's ratelimiter names the sender.
        assert!(
            has("tcpsrv from <localhost:->: begin to drop messages due to rate-limiting")
                || has("tcpsrv from <127.0.0.1:->: begin to drop messages due to rate-limiting"),
            "{who}: no begin-to-drop line in\n{}",
            r.internal.join("\n")
        );
        assert_eq!(
            r.internal.iter().filter(|l| **l == lost).count(),
            2,
            "{who}: one lost-count line per input\n{}",
            r.internal.join("\n")
        );
        assert!(!r.unknown_listens, "{who}: the input with an unknown name listens");
        for input in ["named(0)", "both(0)"] {
            assert_eq!(
                last_value(&r.stats, input, "submitted"),
                Some(BURST as u64),
                "{who} {input}\n{}",
                r.stats
            );
            assert_eq!(
                last_value(&r.stats, input, "bytes.received"),
                Some(bytes),
                "{who} {input}\n{}",
                r.stats
            );
        }
        assert!(!r.stats.contains("unknown(0)"), "{who}\n{}", r.stats);
    }
}
