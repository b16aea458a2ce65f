//! `ratelimit.name` (current upstream): an input bound to a named `ratelimit()`
//! object. 8.2302 and 8.2504 have no such objects (no `ratelimitNewFromConfig`),
//! so there the input is not started, with one clear line, and the others run.

use rsyslog_tests::*;
use std::time::Duration;

const T: Duration = Duration::from_secs(15);

#[test]
fn named_ratelimit_on_a_host_without_ratelimit_objects() {
    let Some(host) = require_host("named_ratelimit_on_a_host_without_ratelimit_objects") else {
        return;
    };
    let exported = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "nm -D '{}' | grep -qw ratelimitNewFromConfig",
            host.rsyslogd.display()
        ))
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    assert!(!exported, "this test is for hosts without ratelimit() objects");
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
