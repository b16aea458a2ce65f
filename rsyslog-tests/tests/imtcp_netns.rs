//! imtcp's `networkNamespace` (module and input level, as upstream rsyslog's
//! imtcp): listeners are created inside `/var/run/netns/<name>`, an input's
//! `networkNamespace=""` listens in rsyslogd's own namespace, and a missing
//! namespace is reported with upstream's texts while the other inputs run on.

use rsyslog_tests::netns::{require_netadmin, NamedNetns};
use rsyslog_tests::*;
use std::time::Duration;

const T: Duration = Duration::from_secs(15);

#[test]
fn listeners_open_in_the_configured_namespace() {
    let name = "listeners_open_in_the_configured_namespace";
    let Some(host) = require_host(name) else { return };
    if !require_netadmin(name) {
        return;
    }
    let ns = NamedNetns::new();
    let conf = format!(
        r#"
module(load="${{IMTCP}}" networkNamespace="{ns}")
input(type="imtcp" port="0" listenPortFileName="${{WORKDIR}}/p-ns" name="in-ns")
input(type="imtcp" port="0" listenPortFileName="${{WORKDIR}}/p-root" name="in-root" networkNamespace="")
template(name="t" type="string" string="%inputname%|%fromhost-ip%|%msg%\n")
if $inputname startswith "in-" then action(type="omfile" file="${{WORKDIR}}/out" template="t")
"#,
        ns = ns.name
    );
    let d = Daemon::start(&host, &conf);
    let p_ns = d.wait_port_file("p-ns", T);
    let p_root = d.wait_port_file("p-root", T);
    ns.tcp_send(p_ns, b"<13>app: inside the namespace\n");
    tcp_send(p_root, b"<13>app: in the root namespace\n");
    let mut lines = d.wait_lines("out", 2, T);
    // rsyslogd listens on p_ns inside the namespace and not in its own namespace. Asked by
    // owner, not by connecting: the root namespace may have a listener of its own on that
    // number (in one CI run a connect there was accepted).
    let in_ns = sockets::listener_pids(p_ns, Some(&ns.name));
    let in_root = sockets::listener_pids(p_ns, None);
    let root_listener = sockets::listener_pids(p_root, None);
    let pid = d.pid();
    d.stop().assert_clean();
    lines.sort();
    assert_eq!(
        lines,
        [
            "in-ns|127.0.0.1| inside the namespace",
            "in-root|127.0.0.1| in the root namespace"
        ]
    );
    assert!(
        in_ns.contains(&pid),
        "rsyslogd {pid} not listening on {p_ns} in the namespace: {in_ns:?}"
    );
    assert!(
        !in_root.contains(&pid),
        "rsyslogd {pid} listens on {p_ns} outside the namespace"
    );
    assert!(
        root_listener.contains(&pid),
        "the check itself: rsyslogd {pid} on {p_root}: {root_listener:?}"
    );
}

#[test]
fn missing_namespace_is_reported_and_other_inputs_run() {
    let Some(host) = require_host("missing_namespace_is_reported_and_other_inputs_run") else {
        return;
    };
    const CONF: &str = r#"
module(load="${IMTCP}")
input(type="imtcp" port="0" listenPortFileName="${WORKDIR}/p-bad" networkNamespace="rsyslog-rs-no-such-ns")
input(type="imtcp" port="0" listenPortFileName="${WORKDIR}/p-ok")
template(name="t" type="string" string="%msg%\n")
if $inputname == "imtcp" then action(type="omfile" file="${WORKDIR}/out" template="t")
"#;
    let d = Daemon::start(&host, CONF);
    let p_ok = d.wait_port_file("p-ok", T);
    tcp_send(p_ok, b"<13>app: still flowing\n");
    assert_eq!(d.wait_lines("out", 1, T), [" still flowing"]);
    let log = d.wait_internal("Could not create tcp listener", T);
    let port_file = d.path("p-bad").exists();
    let st = d.stop();
    // upstream tcpsrv.c / netns_switch: LogError(errno, RS_RET_IO_ERROR, ...) appends strerror.
    assert!(
        log.contains("netns_switch: could not open namespace 'rsyslog-rs-no-such-ns': No such file or directory"),
        "{log}"
    );
    assert!(
        log.contains(
            "Could not create tcp listener, ignoring port 0 bind-address **UNSPECIFIED** namespace rsyslog-rs-no-such-ns."
        ),
        "{log}"
    );
    assert!(!port_file, "no port file for the failed input");
    assert!(st.exited_cleanly(), "{}", st.report());
}

/// The loss records of a valgrind log (`… are definitely lost …`, `… are
/// possibly lost …`), each with its stack.
fn loss_records(log: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur: Option<String> = None;
    for l in log.lines() {
        // "==123== 48 bytes in 1 blocks are possibly lost in loss record 18 of 43"
        let text = l.split_once("== ").map_or(l, |x| x.1);
        if text.contains(" are definitely lost ") || text.contains(" are possibly lost ") {
            out.extend(cur.take());
            cur = Some(text.to_string());
        } else if let Some(c) = cur.as_mut() {
            if text.trim().is_empty() {
                out.extend(cur.take());
            } else {
                c.push('\n');
                c.push_str(text);
            }
        }
    }
    out.extend(cur);
    out
}

/// Creating the listeners of a namespace leaves no allocation behind that
/// valgrind reports as lost (the switch once registered rsyslogd's main
/// thread with the Rust runtime: 48 bytes "possibly lost" in upstream's
/// imtcp-netns-vg.sh). rsyslogd runs under valgrind's memcheck with an input
/// in a namespace and one in its own; no loss record may name our code.
#[test]
fn namespace_switch_leaves_nothing_for_valgrind() {
    let name = "namespace_switch_leaves_nothing_for_valgrind";
    let Some(host) = require_host(name) else { return };
    if !require_netadmin(name) {
        return;
    }
    if std::process::Command::new("valgrind")
        .arg("--version")
        .output()
        .is_err()
    {
        assert!(
            !host::is_ci_value(std::env::var("CI").ok().as_deref()),
            "{name}: CI is set and valgrind is missing (rsyslog-tests/setup.sh installs it)"
        );
        eprintln!("SKIP {name}: no valgrind");
        return;
    }
    let ns = NamedNetns::new();
    let dir = tempfile::tempdir().unwrap();
    let vg_log = dir.path().join("valgrind.log");
    let wrapper = dir.path().join("rsyslogd-under-valgrind");
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\nexec valgrind --leak-check=full --num-callers=50 --log-file='{}' '{}' \"$@\"\n",
            vg_log.display(),
            host.rsyslogd.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
    let vg_host = Host {
        rsyslogd: wrapper,
        ..host.clone()
    };
    let conf = format!(
        r#"
module(load="${{IMTCP}}")
input(type="imtcp" port="0" listenPortFileName="${{WORKDIR}}/p-ns" name="in-ns" networkNamespace="{ns}")
input(type="imtcp" port="0" listenPortFileName="${{WORKDIR}}/p-root" name="in-root")
template(name="t" type="string" string="%inputname%|%msg%\n")
if $inputname startswith "in-" then action(type="omfile" file="${{WORKDIR}}/out" template="t")
"#,
        ns = ns.name
    );
    let opts = Options {
        startup_timeout: Duration::from_secs(120),
        ..Options::default()
    };
    let d = Daemon::start_with(&vg_host, &conf, &opts);
    let (p_ns, p_root) = (d.wait_port_file("p-ns", T), d.wait_port_file("p-root", T));
    ns.tcp_send(p_ns, b"<13>app: inside\n");
    tcp_send(p_root, b"<13>app: outside\n");
    let mut lines = d.wait_lines("out", 2, Duration::from_secs(60));
    let st = d.stop_timeout(Duration::from_secs(120));
    lines.sort();
    assert_eq!(lines, ["in-ns| inside", "in-root| outside"]);
    assert!(st.exited_cleanly(), "{}", st.report());
    let log = std::fs::read_to_string(&vg_log).unwrap_or_default();
    assert!(
        log.contains("LEAK SUMMARY") || log.contains("All heap blocks were freed"),
        "{log}"
    );
    let ours: Vec<String> = loss_records(&log)
        .into_iter()
        .filter(|r| r.contains("rsyslog_ffi") || r.contains("imtcp::") || r.contains("std::thread"))
        .collect();
    assert!(ours.is_empty(), "lost blocks from our module:\n{}", ours.join("\n\n"));
}

#[test]
fn loss_records_are_read_from_a_valgrind_log() {
    let log = "==7== HEAP SUMMARY:\n\
               ==7== 48 bytes in 1 blocks are possibly lost in loss record 18 of 43\n\
               ==7==    at 0x48417B4: malloc (in /usr/libexec/valgrind/vgpreload_memcheck-amd64-linux.so)\n\
               ==7==    by 0x52FF51F: std::thread::current::init_current (current.rs:294)\n\
               ==7== \n\
               ==7== 16 bytes in 1 blocks are definitely lost in loss record 2 of 43\n\
               ==7==    at 0x48417B4: malloc (in /usr/libexec/valgrind/vgpreload_memcheck-amd64-linux.so)\n\
               ==7== \n\
               ==7== LEAK SUMMARY:\n";
    let r = loss_records(log);
    assert_eq!(r.len(), 2);
    assert!(r[0].starts_with("48 bytes in 1 blocks are possibly lost") && r[0].contains("init_current"));
    assert!(r[1].starts_with("16 bytes") && !r[1].contains("init_current"));
}
