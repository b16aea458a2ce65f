//! Our imtcp.so in a real rsyslogd: loading, LF and octet-counted framing,
//! message properties, a real sender (logger), clean shutdown.

use rsyslog_tests::*;
use std::io::Write;
use std::time::Duration;

const T: Duration = Duration::from_secs(15);

const CONF: &str = r#"
module(load="${IMTCP}")
input(type="imtcp" port="0" listenPortFileName="${WORKDIR}/port")
template(name="t" type="string" string="%inputname%|%fromhost%|%fromhost-ip%|%hostname%|%syslogtag%|%msg%\n")
if $inputname == "imtcp" then action(type="omfile" file="${WORKDIR}/out" template="t")
"#;

#[test]
fn lf_and_octet_counted_frames_arrive_with_properties() {
    let Some(host) = require_host("lf_and_octet_counted_frames_arrive_with_properties") else {
        return;
    };
    let d = Daemon::start(&host, CONF);
    let port = d.wait_port_file("port", T);
    // One LF frame, two octet-counted frames (one holding an LF), one LF frame split across writes.
    let mut s = tcp_connect(port);
    let counted = |m: &str| format!("{} {m}", m.len()).into_bytes();
    s.write_all(b"<13>Nov 22 04:00:00 host1 app: hello lf\n").unwrap();
    s.write_all(&counted("<13>app: counted1")).unwrap();
    s.write_all(&counted("<13>host2 app2: line1\nline2")).unwrap();
    s.write_all(b"<14>Nov 22 04:00:01 host3 split: a").unwrap();
    s.flush().unwrap();
    std::thread::sleep(Duration::from_millis(100));
    s.write_all(b"b\n").unwrap();
    drop(s);
    let lines = d.wait_lines("out", 4, T);
    let st = d.stop();
    st.assert_clean();
    let f: Vec<Vec<&str>> = lines.iter().map(|l| l.split('|').collect()).collect();
    for l in &f {
        assert_eq!(l[0], "imtcp", "{lines:?}");
        assert!(l[1] == "localhost" || l[1] == "127.0.0.1", "fromhost {lines:?}");
        assert_eq!(l[2], "127.0.0.1", "{lines:?}");
    }
    assert_eq!((f[0][3], f[0][4], f[0][5]), ("host1", "app:", " hello lf"));
    assert_eq!((f[1][4], f[1][5]), ("app:", " counted1"));
    // The LF inside an octet-counted frame is data (rsyslog's parser escapes it).
    assert_eq!((f[2][3], f[2][4], f[2][5]), ("host2", "app2:", " line1#012line2"));
    assert_eq!((f[3][3], f[3][4], f[3][5]), ("host3", "split:", " ab"));
}

#[test]
fn partial_frame_is_submitted_when_peer_closes() {
    let Some(host) = require_host("partial_frame_is_submitted_when_peer_closes") else {
        return;
    };
    let d = Daemon::start(&host, CONF);
    let port = d.wait_port_file("port", T);
    tcp_send(port, b"<13>Nov 22 04:00:00 h app: no newline at end");
    let lines = d.wait_lines("out", 1, T);
    assert!(lines[0].ends_with("|app:| no newline at end"), "{lines:?}");
    d.stop().assert_clean();
}

#[test]
fn logger_tcp_sender_octet_counting_and_lf() {
    let Some(host) = require_host("logger_tcp_sender_octet_counting_and_lf") else {
        return;
    };
    if std::process::Command::new("logger").arg("--help").output().is_err() {
        panic!("logger (util-linux) is required");
    }
    let d = Daemon::start(&host, CONF);
    let port = d.wait_port_file("port", T);
    for extra in [&["--octet-count"][..], &[][..]] {
        let st = std::process::Command::new("logger")
            .args(["--tcp", "-n", "127.0.0.1", "-P", &port.to_string(), "-t", "realsender"])
            .args(extra)
            .arg(format!("message via logger {}", extra.len()))
            .status()
            .unwrap();
        assert!(st.success());
    }
    let lines = d.wait_lines("out", 2, T);
    d.stop().assert_clean();
    let mut msgs: Vec<&str> = lines.iter().map(|l| l.rsplit('|').next().unwrap()).collect();
    msgs.sort();
    assert_eq!(msgs, ["message via logger 0", "message via logger 1"], "{lines:?}");
    assert!(
        lines
            .iter()
            .all(|l| l.contains("|realsender|") || l.contains("|realsender:|")),
        "{lines:?}"
    );
}

#[test]
fn two_inputs_with_names_and_rulesets() {
    let Some(host) = require_host("two_inputs_with_names_and_rulesets") else {
        return;
    };
    let conf = r#"
module(load="${IMTCP}")
template(name="t" type="string" string="%inputname% %msg%\n")
ruleset(name="r1") { action(type="omfile" file="${WORKDIR}/r1" template="t") }
input(type="imtcp" port="0" listenPortFileName="${WORKDIR}/p1" name="in1" ruleset="r1")
input(type="imtcp" port="0" listenPortFileName="${WORKDIR}/p2" name="in2")
if $inputname == "in2" then action(type="omfile" file="${WORKDIR}/r2" template="t")
"#;
    let d = Daemon::start(&host, conf);
    let p1 = d.wait_port_file("p1", T);
    let p2 = d.wait_port_file("p2", T);
    assert_ne!(p1, p2);
    tcp_send(p1, b"<13>a: one\n");
    tcp_send(p2, b"<13>b: two\n");
    assert_eq!(d.wait_lines("r1", 1, T), ["in1  one"]);
    assert_eq!(d.wait_lines("r2", 1, T), ["in2  two"]);
    d.stop().assert_clean();
}

#[test]
fn stop_with_open_idle_session_is_prompt_and_clean() {
    let Some(host) = require_host("stop_with_open_idle_session_is_prompt_and_clean") else {
        return;
    };
    let d = Daemon::start(&host, CONF);
    let port = d.wait_port_file("port", T);
    let mut s = tcp_connect(port);
    s.write_all(b"<13>x: before stop\n").unwrap();
    d.wait_lines("out", 1, T);
    let st = d.stop();
    st.assert_clean();
    assert!(st.elapsed < Duration::from_secs(2), "shutdown took {:?}", st.elapsed);
    drop(s);
}

#[test]
fn framing_error_is_logged_with_peer_and_frame_still_delivered() {
    let Some(host) = require_host("framing_error_is_logged_with_peer_and_frame_still_delivered") else {
        return;
    };
    let d = Daemon::start(&host, CONF);
    let port = d.wait_port_file("port", T);
    // An octet count followed by 'x' instead of SP: the C module logs and goes on as if SP.
    let mut s = tcp_connect(port);
    let peer_port = s.local_addr().unwrap().port();
    s.write_all(b"3xabc<13>h app: next\n").unwrap();
    drop(s);
    let lines = d.wait_lines("out", 2, T);
    let m = d.wait_internal("Framing Error", T);
    // Deliberate difference: the C module of 8.2302 and 8.2504 prints the host
    // name after "(ip)" too. Current upstream adds the peer's port.
    let fromhost = lines[0].split('|').nth(1).unwrap().to_string();
    let port_part = if host.is_current_upstream() {
        format!(", (port) {peer_port}")
    } else {
        String::new()
    };
    let expected = format!(
        "imtcp imtcp: Framing Error in received TCP message from peer: (hostname) {fromhost}, (ip) 127.0.0.1{port_part}: delimiter is not SP but has ASCII value 120."
    );
    assert!(m.contains(&expected), "expected {expected:?} in {m}");
    assert!(lines[0].contains("|abc|"), "the 3-octet frame: {lines:?}");
    assert!(lines[1].ends_with("|app:| next"), "{lines:?}");
    assert!(d.stop().exited_cleanly());
}

#[test]
fn impstats_shows_the_submitted_counter() {
    let Some(host) = require_host("impstats_shows_the_submitted_counter") else {
        return;
    };
    let conf = r#"
module(load="impstats" interval="1" log.file="${WORKDIR}/stats" format="legacy" log.syslog="off")
module(load="${IMTCP}")
input(type="imtcp" port="0" listenPortFileName="${WORKDIR}/port")
if $inputname == "imtcp" then action(type="omfile" file="${WORKDIR}/out")
"#;
    let d = Daemon::start(&host, conf);
    let port = d.wait_port_file("port", T);
    tcp_send(port, b"<13>a: 1\n<13>a: 2\n<13>a: 3\n");
    d.wait_lines("out", 3, T);
    let deadline = std::time::Instant::now() + T;
    let found = loop {
        let stats = d.read("stats");
        if let Some(l) = stats
            .lines()
            .rev()
            .find(|l| l.contains("imtcp(0): origin=imtcp submitted=3 "))
        {
            break Some(l.to_string());
        }
        if std::time::Instant::now() > deadline {
            break None;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(
        found.is_some(),
        "no imtcp(0) stats line with submitted=3:\n{}",
        d.read("stats")
    );
    d.stop().assert_clean();
}

/// A panic inside an entry point becomes an error code and one log line; the
/// daemon keeps running (forced with the ffi layer's fault injection).
#[test]
fn panic_in_an_entry_point_is_contained() {
    let Some(host) = require_host("panic_in_an_entry_point_is_contained") else {
        return;
    };
    let conf = r#"
module(load="${IMTCP}")
input(type="imtcp" port="0" listenPortFileName="${WORKDIR}/port")
action(type="omfile" file="${WORKDIR}/out")
"#;
    let d = Daemon::start_with(
        &host,
        conf,
        &Options::default().env("RSYSLOG_RS_FAULT_INJECT", "imtcp:activateCnfPrePrivDrop"),
    );
    let m = d.wait_internal("imtcp: internal error in activateCnfPrePrivDrop", T);
    assert!(m.contains("fault injected by RSYSLOG_RS_FAULT_INJECT"), "{m}");
    d.wait_internal("activation of module", T);
    assert!(d.is_running());
    let st = d.stop();
    assert!(st.exited_cleanly(), "{}", st.report());
    assert!(!st.core_dumped);
}

/// rsyslog's global `$AllowedSender TCP, …` list is enforced at accept.
#[test]
fn allowed_sender_acl_is_enforced() {
    let Some(host) = require_host("allowed_sender_acl_is_enforced") else {
        return;
    };
    for (acl, allowed) in [("192.0.2.1", false), ("127.0.0.1", true)] {
        let conf = format!(
            r#"
$AllowedSender TCP, {acl}
module(load="${{IMTCP}}")
input(type="imtcp" port="0" listenPortFileName="${{WORKDIR}}/port")
if $inputname == "imtcp" then action(type="omfile" file="${{WORKDIR}}/out")
"#
        );
        let d = Daemon::start(&host, &conf);
        let port = d.wait_port_file("port", T);
        let _ = std::panic::catch_unwind(|| tcp_send(port, b"<13>a: should this arrive?\n"));
        if allowed {
            assert_eq!(d.wait_lines("out", 1, T).len(), 1);
            d.stop().assert_clean();
        } else {
            let m = d.wait_internal("connection request from disallowed sender", T);
            // "<fromhost> discarded", fromhost as the resolver says; current
            // upstream: "<fromhost> (<ip>:<port>) discarded".
            let upstream = host.is_current_upstream();
            let line = m.lines().find(|l| l.contains("disallowed sender")).unwrap_or("");
            let line = line.find(" [v8.").map_or(line, |i| &line[..i]);
            let ok = ["localhost", "127.0.0.1"].iter().any(|name| {
                let Some(i) = line.find(&format!("disallowed sender {name} ")) else {
                    return false;
                };
                let rest = &line[i + format!("disallowed sender {name}").len()..];
                if upstream {
                    rest.strip_prefix(" (127.0.0.1:")
                        .and_then(|r| r.strip_suffix(") discarded"))
                        .is_some_and(|p| p.parse::<u16>().is_ok())
                } else {
                    rest == " discarded"
                }
            });
            assert!(ok, "{m}");
            // Current upstream's tcpsrv.c also logs the listener's failure
            // (RS_RET_HOST_NOT_PERMITTED).
            const LISTENER: &str = "tcpsrv listener (inputname: 'imtcp') failed to process incoming connection \
                                    from 127.0.0.1:";
            if upstream {
                let log = d.wait_internal(" with error -2063", T);
                assert_eq!(
                    log.lines()
                        .filter(|l| l.starts_with(LISTENER)
                            && l.contains(&format!(" to 127.0.0.1:{port} with error -2063")))
                        .count(),
                    1,
                    "{log}"
                );
            }
            // Give a wrongly accepted message time to show up.
            std::thread::sleep(Duration::from_millis(300));
            assert!(
                d.read("out").is_empty(),
                "message from a disallowed sender was accepted"
            );
            assert!(d.stop().exited_cleanly());
        }
    }
}

/// A sender that never pauses neither delays shutdown nor starves a second session.
#[test]
fn busy_sender_does_not_block_others_or_shutdown() {
    let Some(host) = require_host("busy_sender_does_not_block_others_or_shutdown") else {
        return;
    };
    let conf = r#"
module(load="${IMTCP}")
input(type="imtcp" port="0" listenPortFileName="${WORKDIR}/port")
if $inputname == "imtcp" and $msg contains "quiet" then action(type="omfile" file="${WORKDIR}/quiet")
"#;
    let d = Daemon::start(&host, conf);
    let port = d.wait_port_file("port", T);
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flood = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut s = tcp_connect(port);
            let chunk =
                b"<13>flood: xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n".repeat(2000);
            let deadline = std::time::Instant::now() + Duration::from_secs(20);
            while !stop.load(std::sync::atomic::Ordering::Relaxed) && std::time::Instant::now() < deadline {
                if s.write_all(&chunk).is_err() {
                    break;
                }
            }
        })
    };
    std::thread::sleep(Duration::from_millis(300));
    tcp_send(port, b"<13>q: quiet one\n");
    d.wait_lines("quiet", 1, T);
    let st = d.stop();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    flood.join().unwrap();
    assert!(st.exited_cleanly(), "{}", st.report());
    assert!(
        st.elapsed < Duration::from_secs(3),
        "shutdown under load took {:?}",
        st.elapsed
    );
}
