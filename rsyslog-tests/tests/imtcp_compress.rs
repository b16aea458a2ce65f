//! Stream decompression in our imtcp (`compression.mode="stream:always"`),
//! in a real rsyslogd.
//!
//! Senders: Debian's rsyslogd 8.2302 with omfwd `compression.mode="stream:always"`
//! (a real zlib sender, several zip levels, with and without flush on
//! transaction end); the `zstd` crate and the `zstd` command-line tool for zstd
//! (one frame per connection, as current upstream omfwd sends).
//!
//! Faults: a gigabyte of zeros (both drivers), a stream corrupted in the
//! middle, one truncated at the end, a driver mismatch. Each is logged with
//! current upstream imtcp's reason and detail texts (rsyslog-abi.md §10.8)
//! and closes the session; the messages completely framed before the fault
//! arrive, nothing partial does, and a well-behaved compressed session on the
//! same input sends before, during and after.

use flate2::write::ZlibEncoder;
use rsyslog_tests::compare::{self, Imp};
use rsyslog_tests::good::{assert_good, count, numbers_after, Good};
use rsyslog_tests::stats::last_value;
use rsyslog_tests::*;
use std::io::Write;
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

const T: Duration = Duration::from_secs(30);

/// Our imtcp with `input` parameters; every message as its raw frame.
fn conf(module: &str, input: &str) -> String {
    format!(
        r#"
module(load="${{IMTCP}}" {module})
input(type="imtcp" port="0" listenPortFileName="${{WORKDIR}}/port" {input})
template(name="raw" type="string" string="%rawmsg%\n")
if $inputname == "imtcp" then action(type="omfile" file="${{WORKDIR}}/out" template="raw")
"#
    )
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Z {
    Zlib,
    Zstd,
}

impl Z {
    fn name(self) -> &'static str {
        match self {
            Z::Zlib => "zlib",
            Z::Zstd => "zstd",
        }
    }
    fn input(self) -> String {
        format!(
            r#"compression.mode="stream:always" compression.driver="{}""#,
            self.name()
        )
    }
    /// A compressing connection to `port`.
    fn open(self, port: u16) -> Comp {
        self.wrap(tcp_connect(port))
    }
    fn wrap(self, s: TcpStream) -> Comp {
        match self {
            Z::Zlib => Comp::Zlib(ZlibEncoder::new(s, flate2::Compression::new(6))),
            Z::Zstd => Comp::Zstd(zstd::stream::write::Encoder::new(s, 3).unwrap()),
        }
    }
    /// `parts` compressed as one stream, flushed after each part, with the end marker.
    fn compress(self, parts: &[&[u8]]) -> (Vec<u8>, Vec<usize>) {
        let mut ends = Vec::new();
        let mut c = match self {
            Z::Zlib => CompBuf::Zlib(ZlibEncoder::new(Vec::new(), flate2::Compression::new(6))),
            Z::Zstd => CompBuf::Zstd(zstd::stream::write::Encoder::new(Vec::new(), 3).unwrap()),
        };
        for p in parts {
            c.write_all(p).unwrap();
            c.flush().unwrap();
            ends.push(c.len());
        }
        (c.finish(), ends)
    }
}

/// A compressing writer over a socket: `flush` is zlib's sync flush / zstd's
/// flush, `finish` writes the end marker.
enum Comp {
    Zlib(ZlibEncoder<TcpStream>),
    Zstd(zstd::stream::write::Encoder<'static, TcpStream>),
}

impl Write for Comp {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        match self {
            Comp::Zlib(w) => w.write(b),
            Comp::Zstd(w) => w.write(b),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Comp::Zlib(w) => w.flush(),
            Comp::Zstd(w) => w.flush(),
        }
    }
}

impl Comp {
    /// Ends the stream (end marker) and closes the connection.
    fn finish(self) -> std::io::Result<()> {
        match self {
            Comp::Zlib(w) => w.finish().map(drop),
            Comp::Zstd(w) => w.finish().map(drop),
        }
    }
}

enum CompBuf {
    Zlib(ZlibEncoder<Vec<u8>>),
    Zstd(zstd::stream::write::Encoder<'static, Vec<u8>>),
}

impl CompBuf {
    fn write_all(&mut self, b: &[u8]) -> std::io::Result<()> {
        match self {
            CompBuf::Zlib(w) => w.write_all(b),
            CompBuf::Zstd(w) => w.write_all(b),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            CompBuf::Zlib(w) => w.flush(),
            CompBuf::Zstd(w) => w.flush(),
        }
    }
    fn len(&self) -> usize {
        match self {
            CompBuf::Zlib(w) => w.get_ref().len(),
            CompBuf::Zstd(w) => w.get_ref().len(),
        }
    }
    fn finish(self) -> Vec<u8> {
        match self {
            CompBuf::Zlib(w) => w.finish().unwrap(),
            CompBuf::Zstd(w) => w.finish().unwrap(),
        }
    }
}

/// `n` LF-framed messages `<13><tag>: <tag> <i>`.
fn numbered(tag: &str, n: usize) -> Vec<u8> {
    (0..n)
        .flat_map(|i| format!("<13>{tag}: {tag} {i}\n").into_bytes())
        .collect()
}

/// The numbers of the `tag` messages among `lines` (raw frames), in arrival order.
fn numbers_of(lines: &[String], tag: &str) -> Vec<usize> {
    numbers_after(lines, &format!("<13>{tag}: {tag} "))
}

/// Internal-log lines of a compressed-stream fault: `imtcp: <reason> from <host>
/// (<ip>:<port>), driver=<driver>: <detail>` (current upstream's text).
fn faults<'a>(log: &'a str, reason: &str, driver: Z, detail: &str) -> Vec<&'a str> {
    let head = format!("imtcp: {reason} from ");
    let tail = format!("), driver={}: {detail}", driver.name());
    log.lines()
        .filter(|l| l.contains(&head) && l.contains(&tail) && l.contains("(127.0.0.1:"))
        .collect()
}

const INVALID: &str = "received invalid compressed stream";
const TRUNCATED: &str = "detected truncated compressed stream";

/// Debian's rsyslogd 8.2302: the omfwd sender whatever the host under test.
fn debian_sender() -> Host {
    host::probe(Path::new(host::DEFAULT_RSYSLOGD), None).expect("Debian's rsyslogd 8.2302 (package rsyslog)")
}

#[test]
fn omfwd_8_2302_streams_arrive_intact_and_in_order() {
    let Some(host) = require_host("omfwd_8_2302_streams_arrive_intact_and_in_order") else {
        return;
    };
    let d = Daemon::start(
        &host,
        r#"
module(load="${IMTCP}")
input(type="imtcp" port="0" listenPortFileName="${WORKDIR}/port" compression.mode="stream:always")
template(name="m" type="string" string="%syslogtag%%msg%\n")
if $inputname == "imtcp" then action(type="omfile" file="${WORKDIR}/out" template="m")
"#,
    );
    let port = d.wait_port_file("port", T);
    const N: usize = 300;
    let mut expected = 0;
    for level in [1, 6, 9] {
        for flush in ["on", "off"] {
            let tag = format!("z{level}{flush}");
            let sender = Daemon::start_with(
                &debian_sender(),
                &format!(
                    r#"
module(load="imtcp")
input(type="imtcp" port="0" listenPortFileName="${{WORKDIR}}/in.port" ruleset="fwd")
ruleset(name="fwd") {{
  action(type="omfile" file="${{WORKDIR}}/taken")
  action(type="omfwd" target="127.0.0.1" port="{port}" protocol="tcp" compression.mode="stream:always"
         zipLevel="{level}" compression.stream.flushOnTXEnd="{flush}"
         action.resumeRetryCount="-1" action.resumeInterval="1")
}}
"#
                ),
                &Options::default().env("RSYSLOG_MODDIR", compare::DEBIAN_MODDIR),
            );
            let p = sender.wait_port_file("in.port", T);
            // Three bursts, so the stream has several transactions (flushes).
            for part in 0..3 {
                let burst: Vec<u8> = (part * N / 3..(part + 1) * N / 3)
                    .flat_map(|i| format!("<13>{tag}: {tag} {i}\n").into_bytes())
                    .collect();
                tcp_send(p, &burst);
                if flush == "on" {
                    // Flushed at each transaction end: the burst arrives while the stream is open.
                    d.wait_lines("out", expected + (part + 1) * N / 3, T);
                }
            }
            // The sender has taken all (its own copy), then stopping it ends its stream
            // (Z_FINISH) and closes the connection.
            sender.wait_lines("taken", N, T);
            let st = sender.stop();
            assert!(st.exited_cleanly(), "sender {tag}: {}", st.report());
            expected += N;
            d.wait_lines("out", expected, T);
        }
    }
    let log = d.internal_log();
    let st = d.stop();
    assert!(st.exited_cleanly(), "{}", st.report());
    let lines = st.lines("out");
    for level in [1, 6, 9] {
        for flush in ["on", "off"] {
            let tag = format!("z{level}{flush}");
            let got = numbers_after(&lines, &format!("{tag}: {tag} "));
            assert_eq!(got, (0..N).collect::<Vec<_>>(), "{tag}");
        }
    }
    assert_eq!(lines.len(), 6 * N);
    assert!(!log.contains("compressed stream"), "{log}");
}

#[test]
fn zstd_senders_crate_and_command_line() {
    let Some(host) = require_host("zstd_senders_crate_and_command_line") else {
        return;
    };
    let d = Daemon::start(&host, &conf("", &Z::Zstd.input()));
    let port = d.wait_port_file("port", T);
    // The zstd crate: one frame, a flush after each burst, the frame end at close.
    let mut g = Good::new(Z::Zstd.open(port));
    for _ in 0..5 {
        g.send(100);
    }
    d.wait_lines("out", 500, T);
    g.w.finish().unwrap();
    // The zstd tool: a whole file as one frame, at a high level and with a long window.
    let file = d.path("plain.txt");
    std::fs::write(&file, numbered("cli", 2000)).unwrap();
    let out = Command::new("zstd")
        .args(["-q", "-c", "-19", "--long=24"])
        .arg(&file)
        .stderr(Stdio::inherit())
        .output()
        .expect("zstd (package zstd)");
    assert!(out.status.success());
    let mut s = tcp_connect(port);
    s.write_all(&out.stdout).unwrap();
    drop(s);
    let lines = d.wait_lines("out", 2500, T);
    let log = d.internal_log();
    let st = d.stop();
    assert!(st.exited_cleanly(), "{}", st.report());
    assert_good(&lines, 500);
    assert_eq!(numbers_of(&lines, "cli"), (0..2000).collect::<Vec<_>>());
    assert!(!log.contains("compressed stream"), "{log}");
}

/// One gigabyte of zeros, compressed on the fly: the guard cuts the stream,
/// the session closes, and rsyslogd's peak RSS grows by less than the 64 MiB
/// per-receive allowance plus a small constant.
fn bomb(driver: Z) {
    let name = format!("bomb_of_zeros_is_cut_{}", driver.name());
    let Some(host) = require_host(&name) else {
        return;
    };
    // Only the good session's messages are written: the zeros become oversize frames.
    let d = Daemon::start(
        &host,
        &format!(
            r#"
module(load="${{IMTCP}}")
input(type="imtcp" port="0" listenPortFileName="${{WORKDIR}}/port" {})
template(name="raw" type="string" string="%rawmsg%\n")
if $inputname == "imtcp" and $rawmsg startswith "<13>good" then action(type="omfile" file="${{WORKDIR}}/out" template="raw")
"#,
            driver.input()
        ),
    );
    let port = d.wait_port_file("port", T);
    let mut good = Good::new(driver.open(port));
    good.send(10);
    d.wait_lines("out", 10, T);
    let peak_before = d.status_kb("VmHWM:");
    let sender = std::thread::spawn(move || {
        let mut w = driver.open(port);
        let zeros = vec![0u8; 1 << 20];
        let mut mib = 0;
        while mib < 1024 && w.write_all(&zeros).is_ok() {
            mib += 1;
        }
        let _ = w.finish();
        mib
    });
    good.send(10);
    let log = d.wait_internal(&format!("imtcp: {INVALID} from "), Duration::from_secs(120));
    let mib = sender.join().unwrap();
    good.send(10);
    d.wait_lines("out", 30, T);
    let peak_after = d.status_kb("VmHWM:");
    let st = d.stop();
    assert!(st.exited_cleanly(), "{}", st.report());
    assert_good(&st.lines("out"), 30);
    let cut = faults(
        &log,
        INVALID,
        driver,
        "decompressed bytes exceeded configured per-receive limit",
    )
    .len()
        + faults(
            &log,
            INVALID,
            driver,
            "decompressed bytes exceeded configured expansion ratio",
        )
        .len();
    assert_eq!(cut, 1, "{log}");
    let growth = peak_after.saturating_sub(peak_before);
    eprintln!(
        "{name}: sender wrote {mib} MiB of zeros before the cut; peak RSS {peak_before} kB -> {peak_after} kB (+{growth} kB)"
    );
    assert!(growth < (64 + 16) * 1024, "peak RSS grew by {growth} kB");
}

#[test]
fn bomb_of_zeros_is_cut_zlib() {
    bomb(Z::Zlib);
}

#[test]
fn bomb_of_zeros_is_cut_zstd() {
    bomb(Z::Zstd);
}

/// A faulty stream beside a good session: the good one's messages all
/// arrive; of the faulty one, the messages before the fault do and nothing
/// after it.
fn fault_case(test: &str, driver: Z, input: &str, wire: &[u8], before: usize, reason: &str, detail: &str) {
    let Some(host) = require_host(test) else {
        return;
    };
    let d = Daemon::start(&host, &conf("", input));
    let port = d.wait_port_file("port", T);
    let mut good = Good::new(driver.open(port));
    good.send(10);
    let mut bad = tcp_connect(port);
    bad.write_all(wire).unwrap();
    drop(bad);
    good.send(10);
    let log = d.wait_internal(&format!("imtcp: {reason} from "), T);
    good.send(10);
    let lines = d.wait_lines("out", 30 + before, T);
    let st = d.stop();
    assert!(st.exited_cleanly(), "{}", st.report());
    let lines_all = st.lines("out");
    assert_eq!(lines_all.len(), lines.len(), "{lines_all:?}");
    assert_good(&lines_all, 30);
    assert_eq!(numbers_of(&lines_all, "bad"), (0..before).collect::<Vec<_>>(), "{test}");
    assert_eq!(count(&lines_all, "after"), 0, "{test}: {lines_all:?}");
    assert_eq!(faults(&log, reason, driver, detail).len(), 1, "{test}: {log}");
}

/// Part A flushed, then part B whose first compressed byte is made invalid
/// (zlib: a block of the reserved type 3; zstd: a block of the reserved type).
fn corrupt_middle(driver: Z, detail: &str) {
    let a = numbered("bad", 20);
    let b = numbered("after", 20);
    let (mut wire, ends) = driver.compress(&[&a, &b]);
    wire[ends[0]] = 0xff;
    fault_case(
        &format!("corrupt_middle_{}", driver.name()),
        driver,
        &driver.input(),
        &wire,
        20,
        INVALID,
        detail,
    );
}

#[test]
fn corrupt_middle_zlib() {
    corrupt_middle(Z::Zlib, "zlib inflate failed");
}

#[test]
fn corrupt_middle_zstd() {
    // ZSTD_getErrorName of the reserved block type.
    corrupt_middle(Z::Zstd, "Data corruption detected");
}

/// Complete messages, then an incomplete one, flushed, and the connection
/// closes without the end marker: the complete ones arrive, the partial does not.
fn truncated_end(driver: Z) {
    let mut plain = numbered("bad", 15);
    plain.extend_from_slice(b"<13>bad: after partial, no LF");
    let (wire, ends) = driver.compress(&[&plain]);
    fault_case(
        &format!("truncated_end_{}", driver.name()),
        driver,
        &driver.input(),
        &wire[..ends[0]],
        15,
        TRUNCATED,
        &format!("{} stream ended before trailer", driver.name()),
    );
}

#[test]
fn truncated_end_zlib() {
    truncated_end(Z::Zlib);
}

#[test]
fn truncated_end_zstd() {
    truncated_end(Z::Zstd);
}

#[test]
fn zstd_stream_at_a_zlib_listener() {
    let (wire, _) = Z::Zstd.compress(&[&numbered("after", 10)]);
    fault_case(
        "zstd_stream_at_a_zlib_listener",
        Z::Zlib,
        &Z::Zlib.input(),
        &wire,
        0,
        INVALID,
        "zlib inflate failed",
    );
}

#[test]
fn zlib_stream_at_a_zstd_listener() {
    let (wire, _) = Z::Zlib.compress(&[&numbered("after", 10)]);
    fault_case(
        "zlib_stream_at_a_zstd_listener",
        Z::Zstd,
        &Z::Zstd.input(),
        &wire,
        0,
        INVALID,
        "Unknown frame descriptor",
    );
}

#[test]
fn bytes_after_the_end_marker() {
    let (mut wire, _) = Z::Zlib.compress(&[&numbered("bad", 5)]);
    wire.extend_from_slice(b"<13>after: plain text after the end\n");
    fault_case(
        "bytes_after_the_end_marker",
        Z::Zlib,
        &Z::Zlib.input(),
        &wire,
        5,
        INVALID,
        "data after end of zlib stream",
    );
}

/// A legitimate stream of ratio well over 1024 (repetitive messages, zstd): cut
/// by the default guards, let through whole when both are 0.
#[test]
fn guards_at_zero_let_a_high_ratio_stream_through() {
    let Some(host) = require_host("guards_at_zero_let_a_high_ratio_stream_through") else {
        return;
    };
    const N: usize = 20_000;
    let filler = "a".repeat(6000);
    let plain: Vec<u8> = (0..N)
        .flat_map(|i| format!("<13>hr: {filler} {i}\n").into_bytes())
        .collect();
    let (wire, _) = Z::Zstd.compress(&[&plain]);
    let ratio = plain.len() / wire.len();
    assert!(ratio > 1200, "the stream's ratio is only {ratio}");
    let d = Daemon::start(
        &host,
        &format!(
            r#"
module(load="${{IMTCP}}")
input(type="imtcp" port="0" listenPortFileName="${{WORKDIR}}/p-default" name="dflt" {z})
input(type="imtcp" port="0" listenPortFileName="${{WORKDIR}}/p-off" name="off" {z}
      compression.maxExpansionRatio="0" compression.maxDecompressedBytesPerReceive="0")
template(name="n" type="string" string="%inputname% %msg:F,32:3%\n")
if $inputname == "dflt" or $inputname == "off" then action(type="omfile" file="${{WORKDIR}}/out" template="n")
"#,
            z = Z::Zstd.input()
        ),
    );
    let off = d.wait_port_file("p-off", T);
    let dflt = d.wait_port_file("p-default", T);
    for p in [dflt, off] {
        let mut s = tcp_connect(p);
        s.write_all(&wire).unwrap();
    }
    let log = d.wait_internal(&format!("imtcp: {INVALID} from "), T);
    // The cut input's messages before the cut share the file: wait for the other's own.
    wait::poll_until(T, Duration::from_millis(20), || {
        (numbers_after(&d.lines("out"), "off ").len() >= N).then_some(())
    })
    .unwrap_or_else(|| panic!("the input with the guards off did not deliver {N} messages"));
    let st = d.stop();
    assert!(st.exited_cleanly(), "{}", st.report());
    let lines_all = st.lines("out");
    let through = numbers_after(&lines_all, "off ");
    assert_eq!(through, (0..N).collect::<Vec<_>>(), "ratio {ratio}");
    let cut = faults(
        &log,
        INVALID,
        Z::Zstd,
        "decompressed bytes exceeded configured expansion ratio",
    )
    .len()
        + faults(
            &log,
            INVALID,
            Z::Zstd,
            "decompressed bytes exceeded configured per-receive limit",
        )
        .len();
    assert_eq!(cut, 1, "{log}");
    eprintln!(
        "high-ratio stream: {} -> {} bytes (ratio {ratio})",
        plain.len(),
        wire.len()
    );
}

/// Compressed streams carry every framing: octet-counted frames, LF frames,
/// and the additional delimiter; and the counters show in impstats. On
/// current upstream the C module is run with the same traffic and must show
/// the same output and counter values.
#[test]
fn framing_modes_and_counters() {
    let Some(host) = require_host("framing_modes_and_counters") else {
        return;
    };
    if host.is_current_upstream() {
        compare::both("framing_modes_and_counters", "imtcp", counters_run);
    } else {
        counters_run(&host, Imp::Rust);
    }
}

fn counters_run(host: &Host, imp: Imp) {
    let d = compare::start(
        host,
        imp,
        "imtcp",
        &format!(
            r#"
module(load="impstats" interval="1" log.file="${{WORKDIR}}/stats" format="legacy" log.syslog="off")
{}"#,
            conf("", &format!(r#"{} addtlFrameDelimiter="0""#, Z::Zlib.input()))
        ),
    );
    let port = d.wait_port_file("port", T);
    let mut plain = Vec::new();
    let counted = "<13>oc: counted with\nan LF inside";
    plain.extend_from_slice(format!("{} {counted}", counted.len()).as_bytes());
    plain.extend_from_slice(b"<13>lf: stuffed\n");
    plain.extend_from_slice(b"<13>nul: delimited by NUL\0");
    let (wire, _) = Z::Zlib.compress(&[&plain[..10], &plain[10..]]);
    let mut s = tcp_connect(port);
    s.write_all(&wire).unwrap();
    drop(s);
    // A faulty stream, for the error counter.
    let bad: &[u8] = b"not compressed at all\n";
    let mut b = tcp_connect(port);
    b.write_all(bad).unwrap();
    drop(b);
    d.wait_internal(&format!("imtcp: {INVALID} from "), T);
    // Both sessions are done when a round shows the fault and the three messages.
    let stats = poll_stats(&d, |t| {
        last_value(t, "imtcp(0)", "decompression.errors") == Some(1)
            && last_value(t, "imtcp(0)", "submitted") == Some(3)
    });
    d.wait_lines("out", 3, T);
    let st = d.stop();
    assert!(st.exited_cleanly(), "{imp:?}: {}", st.report());
    let raw = st.read("out");
    // rsyslog escapes the LF inside the counted frame (#012) when it writes the file.
    assert_eq!(
        raw, "<13>oc: counted with#012an LF inside\n<13>lf: stuffed\n<13>nul: delimited by NUL\n",
        "{imp:?}"
    );
    assert_eq!(last_value(&stats, "imtcp(0)", "submitted"), Some(3), "{imp:?}: {stats}");
    assert_eq!(
        last_value(&stats, "imtcp(0)", "bytes.decompressed"),
        Some(plain.len() as u64),
        "{imp:?}: {stats}"
    );
    assert_eq!(
        last_value(&stats, "imtcp(0)", "bytes.received"),
        Some((wire.len() + bad.len()) as u64),
        "{imp:?}: {stats}"
    );
}

/// A decompressed message that begins with `z` is not run through the
/// parser's legacy single-message decompression on current upstream (whose
/// imtcp marks stream-decompressed messages so): it arrives as sent, without
/// "Uncompression of a message failed". Ours also marks the last frame of a
/// session that ends without its LF (current upstream's C module does not:
/// that frame gets the error line). 8.2302 and 8.2504 have no such mark: the
/// parser tries, as for a plain input of those hosts.
#[test]
fn z_prefixed_messages_in_a_stream() {
    let Some(host) = require_host("z_prefixed_messages_in_a_stream") else {
        return;
    };
    let run = |host: &Host, imp: Imp| -> (Vec<String>, String) {
        let d = compare::start(host, imp, "imtcp", &conf("", &Z::Zlib.input()));
        let port = d.wait_port_file("port", T);
        let (wire, _) = Z::Zlib.compress(&[b"zin the stream\n", b"<13>t: plain\n", b"zlast without LF"]);
        tcp_send(port, &wire);
        d.wait_lines("out", 2, T);
        // The last frame is submitted when the session closes.
        std::thread::sleep(Duration::from_millis(500));
        let st = d.stop();
        assert!(st.exited_cleanly(), "{imp:?}: {}", st.report());
        (st.lines("out"), st.read(INTERNAL_LOG))
    };
    const FAILED: &str = "Uncompression of a message failed";
    if host.is_current_upstream() {
        let ((c, c_log), (ours, ours_log)) = compare::both("z_prefixed_messages_in_a_stream", "imtcp", run).unwrap();
        for (who, out) in [("C", &c), ("ours", &ours)] {
            assert_eq!(out[..2], ["zin the stream", "<13>t: plain"], "{who}: {out:?}");
        }
        assert_eq!(ours, ["zin the stream", "<13>t: plain", "zlast without LF"]);
        assert!(!ours_log.contains(FAILED), "{ours_log}");
        // The C module: one error line, for the frame submitted at the close only.
        assert_eq!(c_log.matches(FAILED).count(), 1, "{c_log}");
    } else {
        let (_, log) = run(&host, Imp::Rust);
        assert!(
            log.contains(FAILED),
            "the host's parser tries the legacy decompression:\n{log}"
        );
    }
}

/// Waits for an impstats round that satisfies `ok`; returns the stats file.
fn poll_stats(d: &Daemon, ok: impl Fn(&str) -> bool) -> String {
    wait::poll_until(Duration::from_secs(15), Duration::from_millis(100), || {
        let t = d.read("stats");
        ok(&t).then_some(t)
    })
    .unwrap_or_else(|| panic!("impstats never showed the expected counters:\n{}", d.read("stats")))
}

/// Decompression under TLS: a rustls client sends a zlib stream inside the TLS session.
#[test]
fn compressed_inside_tls() {
    let Some(host) = require_host("compressed_inside_tls") else {
        return;
    };
    let pki = certs::Pki::generate();
    let d = Daemon::start(
        &host,
        &format!(
            r#"
global(defaultNetstreamDriverCAFile="{ca}" defaultNetstreamDriverCertFile="{cert}"
       defaultNetstreamDriverKeyFile="{key}")
{}"#,
            conf(
                "",
                &format!(
                    r#"streamDriver.name="gtls" streamDriver.mode="1" streamDriver.authMode="anon" {}"#,
                    Z::Zlib.input()
                )
            ),
            ca = pki.ca.display(),
            cert = pki.server.cert.display(),
            key = pki.server.key.display(),
        ),
    );
    let port = d.wait_port_file("port", T);
    let conn = pki.client();
    let tls = rustls::StreamOwned::new(conn, tcp_connect(port));
    let mut g = Good::new(ZlibEncoder::new(tls, flate2::Compression::new(9)));
    for _ in 0..4 {
        g.send(250);
    }
    d.wait_lines("out", 1000, T);
    let mut tls = g.w.finish().unwrap();
    tls.conn.send_close_notify();
    let _ = tls.flush();
    drop(tls);
    std::thread::sleep(Duration::from_millis(300));
    let log = d.internal_log();
    let st = d.stop();
    assert!(st.exited_cleanly(), "{}", st.report());
    assert_good(&st.lines("out"), 1000);
    assert!(!log.contains("compressed stream"), "{log}");
}

/// Bad values are configuration errors with upstream's texts; values are
/// case-insensitive; the input inherits the module's settings and overrides them.
#[test]
fn parameters_values_and_precedence() {
    let Some(host) = require_host("parameters_values_and_precedence") else {
        return;
    };
    let d = Daemon::start(
        &host,
        r#"
module(load="${IMTCP}" compression.mode="Stream:Always" compression.driver="ZSTD")
input(type="imtcp" port="0" listenPortFileName="${WORKDIR}/p-zstd" name="inherit")
input(type="imtcp" port="0" listenPortFileName="${WORKDIR}/p-zlib" name="zlib" compression.driver="Zlib")
input(type="imtcp" port="0" listenPortFileName="${WORKDIR}/p-plain" name="plain" compression.mode="NONE")
input(type="imtcp" port="0" listenPortFileName="${WORKDIR}/p-bad1" name="bad1" compression.mode="sometimes")
input(type="imtcp" port="0" listenPortFileName="${WORKDIR}/p-bad2" name="bad2" compression.driver="lz4")
template(name="n" type="string" string="%inputname% %msg%\n")
if $inputname != "rsyslogd" then action(type="omfile" file="${WORKDIR}/out" template="n")
"#,
    );
    let pz = d.wait_port_file("p-zstd", T);
    let pl = d.wait_port_file("p-zlib", T);
    let pp = d.wait_port_file("p-plain", T);
    let mut z = Z::Zstd.open(pz);
    z.write_all(b"<13>t: one\n").unwrap();
    z.finish().unwrap();
    let mut l = Z::Zlib.open(pl);
    l.write_all(b"<13>t: two\n").unwrap();
    l.finish().unwrap();
    tcp_send(pp, b"<13>t: three\n");
    let mut lines = d.wait_lines("out", 3, T);
    let log = d.internal_log();
    let st = d.stop();
    assert!(st.exited_cleanly(), "{}", st.report());
    lines.sort();
    assert_eq!(lines, ["inherit  one", "plain  three", "zlib  two"]);
    assert!(
        log.contains("imtcp: invalid compression.mode 'sometimes', supported values are 'none' and 'stream:always'"),
        "{log}"
    );
    assert!(
        log.contains("imtcp: invalid compression.driver 'lz4', supported values are 'zlib' and 'zstd'"),
        "{log}"
    );
    let has = |f: &str| st.workdir().join(f).exists();
    assert!(!has("p-bad1") && !has("p-bad2"), "no listener for a bad input");
}

/// A compressed stream that expands a hundredfold does not hold the worker: it
/// is framed in bounded slices that count against starvationProtection.maxReads,
/// so with one worker a quiet session's messages arrive while the big stream is
/// still being framed (before its last mark).
#[test]
fn expanding_stream_does_not_starve_others() {
    let Some(host) = require_host("expanding_stream_does_not_starve_others") else {
        return;
    };
    const N: usize = 2_000_000;
    const MARK: usize = 100_000;
    let plain: Vec<u8> = (0..N)
        .flat_map(|i| {
            let mark = if i % MARK == 0 { " mark" } else { "" };
            format!("<13>big: big {i}{mark} and some text to make it longer\n").into_bytes()
        })
        .collect();
    let (wire, _) = Z::Zstd.compress(&[&plain]);
    let d = Daemon::start(
        &host,
        &format!(
            r#"
module(load="${{IMTCP}}" workerThreads="1" starvationProtection.maxReads="10")
input(type="imtcp" port="0" listenPortFileName="${{WORKDIR}}/port" {}
      compression.maxExpansionRatio="0" compression.maxDecompressedBytesPerReceive="0")
template(name="m" type="string" string="%msg%\n")
if $inputname == "imtcp" and ($msg contains "mark" or $msg contains "quiet") then
    action(type="omfile" file="${{WORKDIR}}/out" template="m")
"#,
            Z::Zstd.input()
        ),
    );
    let port = d.wait_port_file("port", T);
    let mut quiet = Good::new(Z::Zstd.open(port));
    let mut big = tcp_connect(port);
    let writer = std::thread::spawn(move || big.write_all(&wire));
    d.wait_lines("out", 1, T);
    for i in 0..5 {
        quiet.w.write_all(format!("<13>q: quiet {i}\n").as_bytes()).unwrap();
        quiet.w.flush().unwrap();
        let have = d.wait_lines("out", 1, T);
        wait::poll_until(T, Duration::from_millis(5), || {
            d.lines("out").iter().any(|l| l == &format!(" quiet {i}")).then_some(())
        })
        .unwrap_or_else(|| panic!("quiet {i} never arrived: {have:?}"));
    }
    writer.join().unwrap().unwrap();
    let lines = d.wait_lines("out", N / MARK + 5, Duration::from_secs(120));
    let st = d.stop();
    assert!(st.exited_cleanly(), "{}", st.report());
    let last_mark = lines.iter().rposition(|l| l.contains("mark")).unwrap();
    let last_quiet = lines.iter().rposition(|l| l.contains("quiet")).unwrap();
    // Without the slices counting against maxReads (maxReads="0" here) the last
    // quiet messages wait for the end of the big stream.
    assert!(
        last_quiet < last_mark,
        "the quiet session waited for the big stream: {lines:?}"
    );
    let marks: Vec<&String> = lines.iter().filter(|l| l.contains("mark")).collect();
    assert_eq!(marks.len(), N / MARK, "every mark of the big stream arrives");
}

/// `compression.maxTotalZstdWindowBytes` is a budget shared by an input's
/// sessions: with 2 MiB, two frames of a 1 MiB window may be open at once, a
/// third is refused; a finished frame gives its window back even while its
/// connection stays open.
#[test]
fn zstd_window_budget_is_shared_by_the_sessions() {
    let Some(host) = require_host("zstd_window_budget_is_shared_by_the_sessions") else {
        return;
    };
    let d = Daemon::start(
        &host,
        &conf(
            "",
            &format!(r#"{} compression.maxTotalZstdWindowBytes="2097152""#, Z::Zstd.input()),
        ),
    );
    let port = d.wait_port_file("port", T);
    let frame = |tag: &str| {
        let mut e = zstd::stream::write::Encoder::new(Vec::new(), 3).unwrap();
        e.set_parameter(zstd::stream::raw::CParameter::WindowLog(20)).unwrap();
        e.write_all(format!("<13>{tag}: {tag} 0\n").as_bytes()).unwrap();
        e.finish().unwrap()
    };
    // Three sessions send the header of a 1 MiB-window frame and wait.
    let mut open: Vec<(TcpStream, Vec<u8>)> = ["s0", "s1", "s2"]
        .iter()
        .map(|t| {
            let f = frame(t);
            let mut s = tcp_connect(port);
            s.write_all(&f[..6]).unwrap();
            (s, f)
        })
        .collect();
    let log = d.wait_internal("zstd decoder window budget exhausted", T);
    // Each sends the rest of its frame and keeps the connection open; the refused one is closed.
    for (s, f) in &mut open {
        let _ = s.write_all(&f[6..]);
    }
    d.wait_lines("out", 2, T);
    // Both windows were given back at the end of their frames: a new session fits.
    let mut late = tcp_connect(port);
    late.write_all(&frame("late")).unwrap();
    let lines = d.wait_lines("out", 3, T);
    drop(open);
    let st = d.stop();
    assert!(st.exited_cleanly(), "{}", st.report());
    assert_eq!(
        faults(&log, INVALID, Z::Zstd, "zstd decoder window budget exhausted").len(),
        1,
        "{log}"
    );
    assert_eq!(count(st.internal_log.lines(), "window budget exhausted"), 1);
    assert_eq!(count(&lines, "<13>late: late 0"), 1, "{lines:?}");
    assert_eq!(count(&lines, "<13>s"), 2, "{lines:?}");
}
