//! Every error path of impcap in a running rsyslogd: the exact message rsyslog logs (texts
//! and error numbers confirmed by running the C impcap of rsyslog 8.2504 on the same
//! configurations), and that the daemon keeps running with its other inputs working.
//!
//! What the C module does, and ours with it:
//! - a capture that cannot be opened (activateCnf) logs its reason and rsyslog adds
//!   "activation of module ... failed": the whole module is off, so a good impcap input of
//!   the same config delivers nothing either; other modules' inputs run on;
//! - an input without (or with both) `interface`/`file` fails checkCnf: one message, the
//!   module is off;
//! - a parameter value rsyslog rejects drops that one input (or, for module parameters, the
//!   module) with rsyslog's own message plus impcap's;
//! - a capture file cut short: the packets before the cut are delivered. Here ours
//!   DELIBERATELY differs: the C module ignores the read error silently, ours logs it.

use rsyslog_tests::netns::{require_netadmin, DownLink, Tun};
use rsyslog_tests::pcapfile::{ethernet, write, Frame};
use rsyslog_tests::*;
use std::path::Path;
use std::time::Duration;

/// Generous: a loaded 2-core CI machine.
const T: Duration = Duration::from_secs(60);
/// RS_RET_LOAD_ERROR, the code of every open/activation error of the C module.
const LOAD_ERROR: i32 = 1006;

/// Three small frames of an ethertype no decoder knows.
fn frames() -> Vec<Frame> {
    (0..3u8)
        .map(|i| {
            Frame::new(
                1_700_000_000,
                u32::from(i),
                ethernet([2, 0, 0, 0, 0, 2], [2, 0, 0, 0, 0, 1], 0x88b5, &[i; 46]),
            )
        })
        .collect()
}

/// A data dir holding good.pcap (3 frames) plus whatever `extra` writes.
fn data_dir(extra: impl FnOnce(&Path)) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write(&dir.path().join("good.pcap"), &frames()).unwrap();
    extra(dir.path());
    dir
}

/// Our imtcp as "another input", a good impcap file input, and `bad` (`${DATA}` is the data
/// dir). impcap messages go to pk.out as `<tag>|<ID>`, imtcp ones to tcp.out.
fn start(host: &Host, data: &Path, module_params: &str, bad: &str) -> Daemon {
    let conf = format!(
        r#"
module(load="${{IMPCAP}}"{module_params})
module(load="${{IMTCP}}")
template(name="raw" type="string" string="%rawmsg%\n")
template(name="pk" type="string" string="%syslogtag%|%$!impcap!ID%\n")
ruleset(name="tcp") {{ action(type="omfile" file="${{WORKDIR}}/tcp.out" template="raw") }}
input(type="imtcp" port="0" listenPortFileName="${{WORKDIR}}/tcp.port" ruleset="tcp")
input(type="impcap" file="${{DATA}}/good.pcap" tag="good")
{bad}
if $inputname == "impcap" then action(type="omfile" file="${{WORKDIR}}/pk.out" template="pk")
"#
    );
    let opts = Options::default().var("DATA", data.to_string_lossy());
    Daemon::start_with(host, &conf, &opts)
}

/// The message without rsyslog's " [v8.x try https://www.rsyslog.com/e/N ]" suffix.
fn text(m: &InternalMsg) -> &str {
    match m.msg.find(" [v8.") {
        Some(i) => m.msg[..i].trim_end(),
        None => m.msg.trim_end(),
    }
}

/// (error number, text) of every internal message of severity err or worse.
fn errors(st: &Stopped) -> Vec<(Option<i32>, String)> {
    st.error_messages()
        .iter()
        .map(|m| (m.errcode(), text(m).to_string()))
        .collect()
}

/// The daemon runs on and our imtcp input still delivers.
fn assert_other_input_works(d: &Daemon) {
    assert!(d.is_running(), "rsyslogd exited\n{}", d.report());
    let port = d.wait_port_file("tcp.port", T);
    tcp_send(port, b"<13>still alive after the impcap error\n");
    let lines = d.wait_lines("tcp.out", 1, T);
    assert_eq!(lines, ["<13>still alive after the impcap error"]);
}

/// The expected error lines appear, the daemon keeps working, it stops cleanly, and the
/// logged errors are exactly `want` (number, text). Returns what was stopped.
fn run_case(d: Daemon, want: &[(i32, String)]) -> Stopped {
    let (_, first) = &want[0];
    d.wait_internal(first, T);
    assert_other_input_works(&d);
    let st = d.stop();
    st.assert_clean_exit();
    let want: Vec<(Option<i32>, String)> = want.iter().map(|(n, t)| (Some(*n), t.clone())).collect();
    assert_eq!(errors(&st), want, "{}", st.report());
    st
}

/// An error while opening a capture: the reason, then rsyslog's activation failure; no
/// impcap input delivers (the C module is all-or-nothing here).
fn activation_fails(host: &Host, data: &Path, bad: &str, reason: &str) {
    let d = start(host, data, "", bad);
    let st = run_case(
        d,
        &[
            (LOAD_ERROR, reason.to_string()),
            (
                LOAD_ERROR,
                format!("activation of module {} failed", module_path("impcap").display()),
            ),
        ],
    );
    assert_eq!(st.read("pk.out"), "", "an impcap input ran although activation failed");
}

#[test]
fn capture_file_that_does_not_exist() {
    let Some(host) = require_host("capture_file_that_does_not_exist") else {
        return;
    };
    let data = data_dir(|_| {});
    let missing = data.path().join("no_file");
    activation_fails(
        &host,
        data.path(),
        r#"input(type="impcap" file="${DATA}/no_file")"#,
        &format!(
            "pcap: error while opening capture file: '{}: No such file or directory'",
            missing.display()
        ),
    );
}

#[test]
fn file_that_is_not_a_capture() {
    let Some(host) = require_host("file_that_is_not_a_capture") else {
        return;
    };
    let data = data_dir(|d| {
        std::fs::write(
            d.join("garbage"),
            b"this is not a capture file, just some text\n".repeat(4),
        )
        .unwrap()
    });
    activation_fails(
        &host,
        data.path(),
        r#"input(type="impcap" file="${DATA}/garbage")"#,
        "pcap: error while opening capture file: 'unknown file format'",
    );
}

#[test]
fn empty_capture_file() {
    let Some(host) = require_host("empty_capture_file") else {
        return;
    };
    let data = data_dir(|d| std::fs::write(d.join("empty"), b"").unwrap());
    activation_fails(
        &host,
        data.path(),
        r#"input(type="impcap" file="${DATA}/empty")"#,
        "pcap: error while opening capture file: 'truncated dump file; tried to read 4 file header bytes, only got 0'",
    );
}

#[test]
fn device_that_does_not_exist() {
    let Some(host) = require_host("device_that_does_not_exist") else {
        return;
    };
    let data = data_dir(|_| {});
    activation_fails(
        &host,
        data.path(),
        r#"input(type="impcap" interface="rsnodev0")"#,
        "device doesn't exist",
    );
}

#[test]
fn filter_with_a_syntax_error() {
    let Some(host) = require_host("filter_with_a_syntax_error") else {
        return;
    };
    let data = data_dir(|_| {});
    activation_fails(
        &host,
        data.path(),
        r#"input(type="impcap" interface="lo" filter="this is not bpf")"#,
        "pcap: error while compiling filter: 'can't parse filter expression: syntax error'",
    );
}

#[test]
fn filter_with_an_unknown_port_name() {
    let Some(host) = require_host("filter_with_an_unknown_port_name") else {
        return;
    };
    let data = data_dir(|_| {});
    activation_fails(
        &host,
        data.path(),
        r#"input(type="impcap" interface="lo" filter="udp port nosuchservice")"#,
        "pcap: error while compiling filter: 'unknown port 'nosuchservice''",
    );
}

#[test]
fn interface_that_is_down() {
    let Some(host) = require_host("interface_that_is_down") else {
        return;
    };
    if !require_netadmin("interface_that_is_down") {
        return;
    }
    let link = DownLink::new();
    let data = data_dir(|_| {});
    activation_fails(
        &host,
        data.path(),
        &format!(r#"input(type="impcap" interface="{}")"#, link.name),
        "interface is not up",
    );
}

#[test]
fn interface_that_is_not_ethernet() {
    let Some(host) = require_host("interface_that_is_not_ethernet") else {
        return;
    };
    if !require_netadmin("interface_that_is_not_ethernet") {
        return;
    }
    let tun = Tun::new();
    let data = data_dir(|_| {});
    activation_fails(
        &host,
        data.path(),
        &format!(r#"input(type="impcap" interface="{}")"#, tun.name),
        "pcap: error while setting datalink type: 'EN10MB is not one of the DLTs supported by this device'",
    );
}

/// checkCnf refuses the config: one message, no impcap input runs.
fn check_fails(host: &Host, bad: &str, reason: &str) {
    let data = data_dir(|_| {});
    let d = start(host, data.path(), "", bad);
    let st = run_case(d, &[(LOAD_ERROR, reason.to_string())]);
    assert_eq!(st.read("pk.out"), "", "an impcap input ran although checkCnf failed");
}

#[test]
fn input_without_interface_or_file() {
    let Some(host) = require_host("input_without_interface_or_file") else {
        return;
    };
    check_fails(
        &host,
        r#"input(type="impcap" tag="neither")"#,
        "impcap: 'interface' or 'file' must be specified",
    );
}

#[test]
fn input_with_interface_and_file() {
    let Some(host) = require_host("input_with_interface_and_file") else {
        return;
    };
    check_fails(
        &host,
        r#"input(type="impcap" interface="lo" file="${DATA}/good.pcap")"#,
        "impcap: either 'interface' or 'file' must be specified",
    );
}

/// Lines of pk.out from the input tagged `tag`.
fn ids_of(st: &Stopped, tag: &str) -> Vec<String> {
    st.lines("pk.out")
        .into_iter()
        .filter_map(|l| l.strip_prefix(&format!("{tag}|")).map(str::to_string))
        .collect()
}

#[test]
fn input_parameter_out_of_range_drops_only_that_input() {
    let Some(host) = require_host("input_parameter_out_of_range_drops_only_that_input") else {
        return;
    };
    let data = data_dir(|_| {});
    for param in ["buffer_size", "buffer_timeout", "packet_count"] {
        let bad = format!("input(type=\"impcap\" interface=\"lo\" {param}=\"0\")");
        let d = start(&host, data.path(), "", &bad);
        let conf = d.conf_path();
        // The good input of the same module still delivers.
        d.wait_lines("pk.out", 3, T);
        let st = run_case(
            d,
            &[
                (
                    2207,
                    format!(
                        "error during parsing file {}, on or before line 9: parameter '{param}' cannot be less than one (was 0)",
                        conf.display()
                    ),
                ),
                (2211, "impcap: required parameters are missing".into()),
            ],
        );
        assert_eq!(ids_of(&st, "good"), ["1", "2", "3"]);
    }
}

#[test]
fn module_parameter_out_of_range_drops_the_module() {
    let Some(host) = require_host("module_parameter_out_of_range_drops_the_module") else {
        return;
    };
    let data = data_dir(|_| {});
    let d = start(&host, data.path(), r#" snap_length="0""#, "");
    d.wait_internal("parameter 'snap_length' cannot be less than one (was 0)", T);
    assert_other_input_works(&d);
    let st = d.stop();
    st.assert_clean_exit();
    let errs = errors(&st);
    let texts: Vec<&str> = errs.iter().map(|(_, t)| t.as_str()).collect();
    assert!(
        texts[0].ends_with("on or before line 2: parameter 'snap_length' cannot be less than one (was 0)"),
        "{errs:?}"
    );
    // The C module's wording, "missing" included.
    assert_eq!(
        texts[1], "impcap: error processing module config parameters missing [module(...)]",
        "{errs:?}"
    );
    assert!(texts.contains(&"input module name 'impcap' is unknown"), "{errs:?}");
    assert_eq!(st.read("pk.out"), "", "impcap ran although its module config failed");
}

/// A capture file cut inside its last packet (`cut_data`) or inside the next record header:
/// the packets before the cut arrive, then one error line; the other impcap input delivers.
fn truncated(host: &Host, cut_data: bool, libpcap_text: &str) {
    let data = data_dir(|d| {
        let mut bytes = std::fs::read(d.join("good.pcap")).unwrap();
        if cut_data {
            bytes.truncate(bytes.len() - 10);
        } else {
            bytes.extend_from_within(24..31);
        }
        std::fs::write(d.join("cut.pcap"), bytes).unwrap();
    });
    let d = start(
        host,
        data.path(),
        "",
        r#"input(type="impcap" file="${DATA}/cut.pcap" tag="cut")"#,
    );
    d.wait_internal(libpcap_text, T);
    let expected_cut: &[&str] = if cut_data { &["1", "2"] } else { &["1", "2", "3"] };
    d.wait_lines("pk.out", 3 + expected_cut.len(), T);
    assert_other_input_works(&d);
    let st = d.stop();
    st.assert_clean_exit();
    assert_eq!(ids_of(&st, "good"), ["1", "2", "3"]);
    assert_eq!(ids_of(&st, "cut"), expected_cut);
    // Ours only: the C module stops reading silently.
    assert_eq!(
        errors(&st),
        [(
            Some(2027),
            format!("impcap: error while reading capture file: '{libpcap_text}'")
        )]
    );
}

#[test]
fn capture_file_cut_inside_a_packet() {
    let Some(host) = require_host("capture_file_cut_inside_a_packet") else {
        return;
    };
    truncated(
        &host,
        true,
        "truncated dump file; tried to read 60 captured bytes, only got 50",
    );
}

#[test]
fn capture_file_cut_inside_a_record_header() {
    let Some(host) = require_host("capture_file_cut_inside_a_record_header") else {
        return;
    };
    truncated(
        &host,
        false,
        "truncated dump file; tried to read 16 header bytes, only got 7",
    );
}
