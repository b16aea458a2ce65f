//! The main job: a real rsyslogd with our impcap reading a small capture and
//! our imtcp receiving a few messages, on an embedded default config; prints
//! what rsyslog produced. Run it with `bash rsyslog-tests/demo.sh`.

use rsyslog_tests::pcapfile::{ethernet, write, Frame};
use rsyslog_tests::*;
use std::io::Write;
use std::time::Duration;

/// The embedded default configuration.
const CONFIG: &str = r#"
module(load="${IMPCAP}")
module(load="${IMTCP}")
input(type="impcap" file="${WORKDIR}/demo.pcap" tag="pcap:")
input(type="imtcp" port="0" listenPortFileName="${WORKDIR}/imtcp.port" name="demo-tcp")

template(name="packet" type="string" string="[impcap] %syslogtag% meta=%$!impcap% data=%$!data%\n")
template(name="line" type="string"
         string="[imtcp]  input=%inputname% from=%fromhost%/%fromhost-ip% host=%hostname% tag=%syslogtag% msg=%msg%\n")

if $inputname == "impcap" then { action(type="omfile" file="${WORKDIR}/out.log" template="packet") stop }
if $inputname == "demo-tcp" then { action(type="omfile" file="${WORKDIR}/out.log" template="line") stop }
"#;

fn capture() -> Vec<Frame> {
    let a = [0x02, 0x42, 0xac, 0x11, 0x00, 0x02];
    let b = [0x02, 0x42, 0xac, 0x11, 0x00, 0x03];
    let bcast = [0xff; 6];
    vec![
        Frame::new(1_700_000_000, 100, ethernet(bcast, a, 0x0806, &[1u8; 28])),
        Frame::new(
            1_700_000_000,
            250_000,
            ethernet(b, a, 0x0800, b"E\x00\x00\x1cIPv4 payload bytes"),
        ),
        Frame::new(1_700_000_001, 999_999, ethernet(a, b, 0x86dd, b"IPv6 payload")),
        Frame::new(
            1_700_000_002,
            42,
            ethernet([0x01, 0x80, 0xc2, 0, 0, 0x0e], b, 0x88cc, b"\x02\x07LLDP"),
        ),
    ]
}

fn main() {
    let Some(host) = host() else {
        eprintln!("demo: no rsyslogd found (install Debian's rsyslog or set RSYSLOGD=...)");
        std::process::exit(1);
    };
    println!("rsyslogd {} at {}", host.version, host.rsyslogd.display());
    println!(
        "modules:  {} {}",
        module_path("impcap").display(),
        module_path("imtcp").display()
    );
    let dir = tempfile::tempdir().expect("temp dir");
    let pcap = dir.path().join("demo.pcap");
    write(&pcap, &capture()).expect("write capture");
    let conf = CONFIG.replace("${WORKDIR}/demo.pcap", pcap.to_str().unwrap());
    println!("--- embedded configuration ---{conf}------------------------------");
    let d = Daemon::start(&host, &conf);
    let port = d.wait_port_file("imtcp.port", Duration::from_secs(10));
    let mut s = tcp_connect(port);
    let counted = "<14>Nov 22 10:00:01 web01 nginx: octet-counted frame";
    s.write_all(b"<13>Nov 22 10:00:00 web01 app[42]: hello over TCP (LF framing)\n")
        .unwrap();
    s.write_all(format!("{} {counted}", counted.len()).as_bytes()).unwrap();
    drop(s);
    let st = std::process::Command::new("logger")
        .args([
            "--tcp",
            "--octet-count",
            "-n",
            "127.0.0.1",
            "-P",
            &port.to_string(),
            "-t",
            "logger-demo",
        ])
        .arg("sent by util-linux logger")
        .status();
    let n_tcp = if matches!(st, Ok(s) if s.success()) { 3 } else { 2 };
    let lines = d.wait_lines("out.log", capture().len() + n_tcp, Duration::from_secs(15));
    let stopped = d.stop();
    println!("--- what rsyslog produced ---");
    for l in &lines {
        println!("{l}");
    }
    println!("-----------------------------");
    let errors = stopped.error_messages();
    println!(
        "rsyslogd stopped by SIGTERM: exit code {}, {} error line(s){}",
        stopped.code(),
        errors.len(),
        if stopped.core_dumped { ", CORE DUMPED" } else { "" }
    );
    if !stopped.exited_cleanly() || !errors.is_empty() {
        eprintln!("{}", stopped.report());
        std::process::exit(1);
    }
}
