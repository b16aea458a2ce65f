//! imtcp's per-input `allowedSender` list (current upstream's parameter, in
//! `$AllowedSender` syntax): it replaces the global list for that input,
//! accepts by address, network, resolved host name or host-name wildcard, and
//! rejects everything else with the C module's text.

use rsyslog_tests::*;
use std::net::Ipv4Addr;
use std::time::Duration;

const T: Duration = Duration::from_secs(15);
const A1: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 1);
const A2: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 2);

#[test]
fn per_input_lists_decide_per_input() {
    let Some(host) = require_host("per_input_lists_decide_per_input") else {
        return;
    };
    // The global list would refuse 127.0.0.1 everywhere; inputs with a list of their own ignore it.
    const CONF: &str = r#"
$AllowedSender TCP, 192.0.2.1
module(load="${IMTCP}")
input(type="imtcp" port="0" listenPortFileName="${WORKDIR}/p-only2" name="only2" allowedSender=["127.0.0.2"])
input(type="imtcp" port="0" listenPortFileName="${WORKDIR}/p-net" name="net" allowedSender=["10.0.0.0/8", "127.0.0.0/30"])
input(type="imtcp" port="0" listenPortFileName="${WORKDIR}/p-name" name="name" allowedSender=["localhost"])
input(type="imtcp" port="0" listenPortFileName="${WORKDIR}/p-wild" name="wild" allowedSender=["LOCALH*", "[::1]"])
input(type="imtcp" port="0" listenPortFileName="${WORKDIR}/p-global" name="global")
template(name="t" type="string" string="%inputname% %fromhost-ip%%msg%\n")
if $inputname != "rsyslogd" then action(type="omfile" file="${WORKDIR}/out" template="t")
"#;
    let d = Daemon::start(&host, CONF);
    let port = |n: &str| d.wait_port_file(&format!("p-{n}"), T);
    let send = |n: &str, src: Ipv4Addr| {
        let msg = format!("<13>a: {n} from {src}\n");
        // A refused connection may be reset before the write completes.
        let _ = tcp_send_from(src, port(n), msg.as_bytes());
    };
    for n in ["only2", "net", "name", "wild", "global"] {
        send(n, A1);
        send(n, A2);
    }
    // only2: .2; net: .1 and .2; name: .1 (localhost); wild: .1 (fromhost "localhost"); global: none.
    d.wait_lines("out", 5, T);
    let _ = d.wait_internal("disallowed sender", T);
    // Give wrongly accepted messages and late refusals time to show up.
    std::thread::sleep(Duration::from_millis(500));
    let mut lines = d.lines("out");
    let log = d.internal_log();
    let st = d.stop();
    assert!(st.exited_cleanly(), "{}", st.report());
    lines.sort();
    assert_eq!(
        lines,
        [
            "name 127.0.0.1 name from 127.0.0.1",
            "net 127.0.0.1 net from 127.0.0.1",
            "net 127.0.0.2 net from 127.0.0.2",
            "only2 127.0.0.2 only2 from 127.0.0.2",
            "wild 127.0.0.1 wild from 127.0.0.1",
        ],
        "{log}"
    );
    let refused = log.matches("connection request from disallowed sender").count();
    assert_eq!(refused, 5, "only2 .1, name .2, wild .2, global .1 and .2:\n{log}");
}

#[test]
fn bad_entries_are_reported() {
    let Some(host) = require_host("bad_entries_are_reported") else {
        return;
    };
    const CONF: &str = r#"
module(load="${IMTCP}")
input(type="imtcp" port="0" listenPortFileName="${WORKDIR}/p-bits" name="bits" allowedSender=["127.0.0.1/0"])
input(type="imtcp" port="0" listenPortFileName="${WORKDIR}/p-broken" name="broken" allowedSender=["[::1"])
input(type="imtcp" port="0" listenPortFileName="${WORKDIR}/p-dns" name="dns" allowedSender=["no-such-host.invalid", "127.0.0.1"])
template(name="t" type="string" string="%inputname%%msg%\n")
if $inputname != "rsyslogd" then action(type="omfile" file="${WORKDIR}/out" template="t")
"#;
    let d = Daemon::start(&host, CONF);
    let (p_bits, p_dns) = (d.wait_port_file("p-bits", T), d.wait_port_file("p-dns", T));
    tcp_send(p_bits, b"<13>a: one\n");
    tcp_send(p_dns, b"<13>a: two\n");
    let mut lines = d.wait_lines("out", 2, T);
    let log = d.internal_log();
    let no_port_file = !d.path("p-broken").exists();
    d.stop();
    lines.sort();
    assert_eq!(lines, ["bits one", "dns two"]);
    // net.c's texts: 0 bits would match everybody, the entry is taken as /32.
    assert!(log.contains("You can not specify 0 bits of the netmask"), "{log}");
    assert!(
        log.contains("Invalid number of bits (0) in IPv4 address - adjusted to 32"),
        "{log}"
    );
    assert!(
        log.contains("DNS error: Can't resolve \"no-such-host.invalid\""),
        "{log}"
    );
    assert!(
        log.contains("Hostname \"no-such-host.invalid\" WON'T be added to ACL."),
        "{log}"
    );
    assert!(
        log.contains("imtcp: input 'broken' port 0: invalid allowed sender '[::1': missing ']' - listener not started"),
        "{log}"
    );
    assert!(no_port_file);
}
