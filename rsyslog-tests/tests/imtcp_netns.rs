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
