//! The legacy `$InputTCP…` directives in a real rsyslogd. Every scenario runs
//! twice, with the host's C imtcp (`$ModLoad imtcp`: Debian's 8.2302 module,
//! or 8.2504's from RSYSLOG_MODDIR) and with ours, and asserts the same
//! outcome for both: what imtcp.c's addInstance, resetConfigVariables and
//! endCnfLoad do (8.2302 and 8.2504 agree on them; current upstream's
//! resetConfigVariables also forgets the bind ruleset).

use rsyslog_tests::*;
use std::io::Write;
use std::time::Duration;

const T: Duration = Duration::from_secs(15);

/// The two modules: the host's C imtcp and ours.
fn modules() -> [(&'static str, String); 2] {
    [
        ("C", "imtcp".to_string()),
        ("ours", module_path("imtcp").to_string_lossy().into_owned()),
    ]
}

fn start(host: &Host, module: &str, conf: &str) -> Daemon {
    Daemon::start_with(host, conf, &Options::default().var("MOD", module))
}

/// An octet-counted frame.
fn counted(m: &str) -> Vec<u8> {
    format!("{} {m}", m.len()).into_bytes()
}

fn send(port: u16, parts: &[&[u8]]) {
    let mut s = tcp_connect(port);
    for p in parts {
        s.write_all(p).unwrap();
    }
    s.flush().unwrap();
}

/// A config of legacy lines only: `$InputTCPServerListenPortFile`,
/// `$InputTCPServerInputName` and `$InputTCPServerRun 0` open a listener on a
/// kernel-chosen port that receives LF and octet-counted frames.
#[test]
fn legacy_only_config_receives_messages() {
    let Some(host) = require_host("legacy_only_config_receives_messages") else {
        return;
    };
    let conf = r#"
$ModLoad ${MOD}
$InputTCPServerListenPortFile ${WORKDIR}/port
$InputTCPServerInputName legacyin
$InputTCPServerRun 0
template(name="t" type="string" string="%inputname%|%rawmsg%\n")
if $rawmsg contains "frame" then action(type="omfile" file="${WORKDIR}/out" template="t")
"#;
    for (which, m) in modules() {
        let d = start(&host, &m, conf);
        let port = d.wait_port_file("port", T);
        assert_ne!(port, 0, "{which}");
        send(port, &[b"<13>x: lf frame\n", &counted("<13>x: counted frame")]);
        let lines = d.wait_lines("out", 2, T);
        d.stop().assert_clean();
        assert_eq!(
            lines,
            ["legacyin|<13>x: lf frame", "legacyin|<13>x: counted frame"],
            "{which}"
        );
    }
}

/// Three listeners, each bound with `$InputTCPServerBindRuleset` to its own
/// ruleset (as the upstream rulesetmultiqueue.sh): each port's messages land in
/// that ruleset's file only.
#[test]
fn three_listeners_bound_to_three_rulesets() {
    let Some(host) = require_host("three_listeners_bound_to_three_rulesets") else {
        return;
    };
    let mut conf = String::from(
        r#"
$ModLoad ${MOD}
template(name="t" type="string" string="%inputname%|%msg%\n")
if $msg contains "listener" then action(type="omfile" file="${WORKDIR}/default" template="t")
"#,
    );
    for n in 1..=3 {
        conf.push_str(&format!(
            "ruleset(name=\"r{n}\") {{ action(type=\"omfile\" file=\"${{WORKDIR}}/r{n}\" template=\"t\") }}\n\
             $InputTCPServerBindRuleset r{n}\n\
             $InputTCPServerListenPortFile ${{WORKDIR}}/p{n}\n\
             $InputTCPServerRun 0\n"
        ));
    }
    for (which, m) in modules() {
        let d = start(&host, &m, &conf);
        let ports: Vec<u16> = (1..=3).map(|n| d.wait_port_file(&format!("p{n}"), T)).collect();
        assert!(
            ports[0] != ports[1] && ports[1] != ports[2] && ports[0] != ports[2],
            "{which} {ports:?}"
        );
        for (n, p) in ports.iter().enumerate() {
            send(*p, &[format!("<13>x: to listener {}\n", n + 1).as_bytes()]);
        }
        for n in 1..=3 {
            d.wait_lines(&format!("r{n}"), 1, T);
        }
        let st = d.stop();
        st.assert_clean();
        for n in 1..=3 {
            assert_eq!(
                st.lines(&format!("r{n}")),
                [format!("imtcp| to listener {n}")],
                "{which}"
            );
        }
        assert_eq!(st.read("default"), "", "{which}: nothing in the default ruleset");
    }
}

/// Module-global directives take effect on the listeners that follow:
/// `$InputTCPServerSupportOctetCountedFraming off` makes a count prefix part of
/// the message and `$InputTCPServerAddtlFrameDelimiter 0` makes NUL end a
/// frame. `$ResetConfigVariables` restores the defaults (framing on, no extra
/// delimiter, input name `imtcp`, no port file); 8.2302 and 8.2504 keep the
/// bind ruleset, current upstream forgets it too (the second listener's
/// messages then go to the default ruleset).
/// (rsyslog's own handler of `$ResetConfigVariables` forgets the templates,
/// the work directory and the action count defined before it — rsyslogd
/// crashed with the harness preamble's actions in front, with either module —
/// so this config runs without the preamble; rsyslogd then reports "could not
/// be processed by any parser" for each message, which still reaches its
/// action: the same with either module, so stderr is compared, not required empty.)
#[test]
fn module_global_directives_apply_per_run_and_reset() {
    let Some(host) = require_host("module_global_directives_apply_per_run_and_reset") else {
        return;
    };
    let conf = r#"
$ModLoad ${MOD}
$InputTCPServerSupportOctetCountedFraming off
$InputTCPServerAddtlFrameDelimiter 0
$InputTCPServerInputName plain
$InputTCPServerBindRuleset rs
$InputTCPServerListenPortFile ${WORKDIR}/p1
$InputTCPServerRun 0
$ResetConfigVariables
$InputTCPServerListenPortFile ${WORKDIR}/p2
$InputTCPServerRun 0
template(name="t" type="string" string="%inputname%|%rawmsg%\n")
ruleset(name="rs") { action(type="omfile" file="${WORKDIR}/out" template="t") }
if $inputname == "imtcp" then action(type="omfile" file="${WORKDIR}/default" template="t")
"#;
    let reset_clears_ruleset = host.is_current_upstream();
    let mut errs = Vec::new();
    for (which, m) in modules() {
        let d = Daemon::start_with(&host, conf, &Options::default().var("MOD", m.as_str()).no_preamble());
        let p1 = d.wait_port_file("p1", T);
        let p2 = d.wait_port_file("p2", T);
        send(p1, &[&counted("<13>x: one"), b"\0<13>x: two\n"]);
        d.wait_lines("out", 2, T);
        send(p2, &[&counted("<13>x: three"), b"<13>x: four\n"]);
        let second = if reset_clears_ruleset { "default" } else { "out" };
        d.wait_lines(second, if reset_clears_ruleset { 2 } else { 4 }, T);
        let st = d.stop();
        st.assert_clean_exit();
        errs.push(st.stderr.clone());
        let (rs, default) = (st.lines("out"), st.lines("default"));
        let first_run = ["plain|10 <13>x: one", "plain|<13>x: two"];
        let second_run = ["imtcp|<13>x: three", "imtcp|<13>x: four"];
        if reset_clears_ruleset {
            assert_eq!(rs, first_run, "{which}: ruleset rs");
            assert_eq!(default, second_run, "{which}: default ruleset");
        } else {
            assert_eq!(rs, [first_run, second_run].concat(), "{which}: ruleset rs");
            assert!(default.is_empty(), "{which}: default ruleset {default:?}");
        }
    }
    assert_eq!(errs[0], errs[1], "error messages of C and ours");
}

/// Without a `module()` statement, endCnfLoad hands the legacy module-global
/// values to the module config: an `input()` that leaves
/// supportOctetCountedFraming unset gets `$InputTCPServerSupportOctetCountedFraming off`
/// (the C module fills it in checkCnf), while values an `input()` copies when it
/// is parsed (`$InputTCPServerAddtlFrameDelimiter`) do not reach it.
#[test]
fn legacy_module_values_reach_input_statements_as_in_c() {
    let Some(host) = require_host("legacy_module_values_reach_input_statements_as_in_c") else {
        return;
    };
    let conf = r#"
$ModLoad ${MOD}
$InputTCPServerSupportOctetCountedFraming off
$InputTCPServerAddtlFrameDelimiter 0
input(type="imtcp" port="0" listenPortFileName="${WORKDIR}/port" name="v2")
template(name="t" type="string" string="%inputname%|%rawmsg%\n")
if $inputname == "v2" then action(type="omfile" file="${WORKDIR}/out" template="t")
"#;
    for (which, m) in modules() {
        let d = start(&host, &m, conf);
        let port = d.wait_port_file("port", T);
        send(port, &[&counted("<13>x: one"), b"\n<13>x: a\0b\n<13>x: end\n"]);
        let lines = d.wait_lines("out", 3, T);
        let st = d.stop();
        st.assert_clean();
        let lines: Vec<_> = lines
            .iter()
            .map(|l| l.split('|').nth(1).unwrap_or("").to_string())
            .collect();
        assert_eq!(lines[0], "10 <13>x: one", "{which}: count prefix is data {lines:?}");
        assert!(
            lines[1].starts_with("<13>x: a") && lines[1].ends_with('b'),
            "{which}: NUL is no delimiter {lines:?}"
        );
        assert_eq!(lines[2], "<13>x: end", "{which}");
        assert_eq!(st.lines("out").len(), 3, "{which}");
    }
}

/// rsyslog refuses module-global directives once a `module()` statement
/// configured imtcp ("currently not permitted"); the per-listener ones and
/// `$InputTCPServerRun` stay allowed.
#[test]
fn module_statement_refuses_module_global_directives() {
    let Some(host) = require_host("module_statement_refuses_module_global_directives") else {
        return;
    };
    let conf = r#"
module(load="${MOD}")
$InputTCPMaxSessions 5
$InputTCPServerInputName n
$InputTCPServerBindRuleset RSYSLOG_DefaultRuleset
$InputTCPServerRun 10514
action(type="omfile" file="/dev/null")
"#;
    let mut codes = Vec::new();
    for (which, m) in modules() {
        let (code, out) = check_config_with(&host, conf, &Options::default().var("MOD", m.as_str()));
        codes.push(code);
        assert!(
            out.contains(
                "command 'InputTCPMaxSessions' is currently not permitted - did you already set it via a RainerScript command (v6+ config)?"
            ),
            "{which}: {out}"
        );
        assert_eq!(out.matches("not permitted").count(), 1, "{which}: {out}");
        assert!(!out.contains("unknown config file command"), "{which}: {out}");
        assert!(!out.contains("no listeners"), "{which}: {out}");
    }
    assert_eq!(codes[0], codes[1], "exit codes of C and ours");
}

/// `rsyslogd -N1` with `$AbortOnUncleanConfig on` accepts a config that sets
/// imtcp up with legacy directives (upstream abort-uncleancfg-goodcfg.conf) and
/// rejects one with a directive imtcp does not have.
#[test]
fn abort_on_unclean_config_accepts_legacy_imtcp() {
    let Some(host) = require_host("abort_on_unclean_config_accepts_legacy_imtcp") else {
        return;
    };
    let good = r#"$AbortOnUncleanConfig on

$ModLoad ${MOD}
$MainMsgQueueTimeoutShutdown 10000
$InputTCPServerRun 13514

$template outfmt,"%msg:F,58:2%\n"
$template dynfile,"rsyslog.out.log"
:msg, contains, "msgnum:" ?dynfile;outfmt
"#;
    let bad = good.replace(
        "$InputTCPServerRun 13514",
        "$InputTCPServerBogus on\n$InputTCPServerRun 13514",
    );
    for (which, m) in modules() {
        let opts = Options::default().var("MOD", m.as_str());
        let (code, out) = check_config_with(&host, good, &opts);
        assert_eq!(code, 0, "{which}: {out}");
        assert!(out.contains("End of config validation run"), "{which}: {out}");
        let (code, out) = check_config_with(&host, &bad, &opts);
        assert_ne!(code, 0, "{which}: {out}");
        assert!(
            out.contains("invalid or yet-unknown config file command 'InputTCPServerBogus'"),
            "{which}: {out}"
        );
    }
}

/// A renamed copy of ours (`rsimtcp.so`, input type `rsimtcp`) leaves the
/// legacy directives to the module named imtcp, so the C module still loads
/// after it (it would fail to register `$InputTCPServerRun` a second time) and
/// both receive: the C module through the legacy lines, ours through input().
#[test]
fn renamed_copy_leaves_legacy_directives_to_the_c_module() {
    let Some(host) = require_host("renamed_copy_leaves_legacy_directives_to_the_c_module") else {
        return;
    };
    let wd = WorkDir::new();
    let copy = wd.path().join("rsimtcp.so");
    std::fs::copy(module_path("imtcp"), &copy).unwrap();
    let conf = r#"
module(load="${COPY}")
$ModLoad imtcp
$InputTCPServerListenPortFile ${WORKDIR}/p1
$InputTCPServerRun 0
input(type="rsimtcp" port="0" listenPortFileName="${WORKDIR}/p2" name="ours")
template(name="t" type="string" string="%inputname%|%msg%\n")
if $msg contains "via" then action(type="omfile" file="${WORKDIR}/out" template="t")
"#;
    let d = Daemon::start_with(
        &host,
        conf,
        &Options::default().var("COPY", copy.to_string_lossy().into_owned()),
    );
    let p1 = d.wait_port_file("p1", T);
    let p2 = d.wait_port_file("p2", T);
    send(p1, &[b"<13>x: via legacy\n"]);
    d.wait_lines("out", 1, T);
    send(p2, &[b"<13>x: via input\n"]);
    let lines = d.wait_lines("out", 2, T);
    d.stop().assert_clean();
    assert_eq!(lines, ["imtcp| via legacy", "ours| via input"]);
}
