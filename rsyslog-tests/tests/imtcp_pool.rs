//! imtcp's epoll worker pool in a real rsyslogd: many concurrent senders,
//! starvation protection, the per-worker impstats counters (compared with
//! the C module's lines on the same host), and a lossless SIGTERM under load.

use rsyslog_tests::stats::{self, stats_lines};
use rsyslog_tests::wait::poll_until;
use rsyslog_tests::*;
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const T: Duration = Duration::from_secs(20);

/// `<13>pool: s<sender> m<seq>` with LF framing for even senders, octet counting for odd ones.
fn frame(sender: usize, seq: usize, text: &str) -> Vec<u8> {
    let m = format!("<13>pool: s{sender} m{seq} {text}");
    if sender.is_multiple_of(2) {
        format!("{m}\n").into_bytes()
    } else {
        format!("{} {m}", m.len()).into_bytes()
    }
}

// The configs that check the order of a connection's messages run the main
// queue with one worker: with more, rsyslog itself may write batches out of order.

/// Parses the `%msg%` lines written by the configs below: " s<sender> m<seq> ...".
fn parse(line: &str) -> Option<(usize, usize)> {
    let mut it = line.split_whitespace();
    let s = it.next()?.strip_prefix('s')?.parse().ok()?;
    let m = it.next()?.strip_prefix('m')?.parse().ok()?;
    Some((s, m))
}

fn many_senders_exactly_once(workers: u32) {
    let Some(host) = require_host(&format!("many_senders_exactly_once_{workers}")) else {
        return;
    };
    const SENDERS: usize = 50;
    const MSGS: usize = 2000;
    let conf = format!(
        r#"
main_queue(queue.workerThreads="1")
module(load="${{IMTCP}}" workerThreads="{workers}")
input(type="imtcp" port="0" listenPortFileName="${{WORKDIR}}/port")
template(name="m" type="string" string="%msg%\n")
if $inputname == "imtcp" then action(type="omfile" file="${{WORKDIR}}/out" template="m")
"#
    );
    let d = Daemon::start(&host, &conf);
    let port = d.wait_port_file("port", T);
    let senders: Vec<_> = (0..SENDERS)
        .map(|s| {
            std::thread::spawn(move || {
                let mut c = tcp_connect(port);
                // Written in pieces that cut frames anywhere.
                let all: Vec<u8> = (0..MSGS).flat_map(|m| frame(s, m, "payload")).collect();
                for piece in all.chunks(3000 + s * 17) {
                    c.write_all(piece).unwrap();
                }
                c.shutdown(std::net::Shutdown::Write).unwrap();
            })
        })
        .collect();
    for s in senders {
        s.join().unwrap();
    }
    d.wait_lines("out", SENDERS * MSGS, Duration::from_secs(60));
    // A little longer: anything delivered twice would show up now.
    std::thread::sleep(Duration::from_millis(300));
    let st = d.stop();
    st.assert_clean();
    let lines = st.lines("out");
    assert_eq!(lines.len(), SENDERS * MSGS, "total lines");
    let mut next = vec![0usize; SENDERS];
    for l in &lines {
        let (s, m) = parse(l).unwrap_or_else(|| panic!("unexpected line {l:?}"));
        // Exactly once and, within one connection, in the order sent.
        assert_eq!(m, next[s], "sender {s}: expected m{} got {l:?}", next[s]);
        next[s] += 1;
    }
    assert!(next.iter().all(|&n| n == MSGS), "{next:?}");
}

#[test]
fn many_senders_exactly_once_with_one_worker() {
    many_senders_exactly_once(1);
}

#[test]
fn many_senders_exactly_once_with_four_workers() {
    many_senders_exactly_once(4);
}

/// The imtcp lines of the last complete impstats round, values replaced by "N".
fn imtcp_shapes(text: &str) -> BTreeSet<String> {
    stats_lines(text)
        .into_iter()
        .filter(|(_, o, _)| o == "imtcp")
        .map(|(n, o, kv)| {
            let ks: Vec<String> = kv.iter().map(|(k, _)| format!("{k}=N")).collect();
            format!("{n}: origin={o} {}", ks.join(" "))
        })
        .collect()
}

/// What [`stats_run`] sends: one message per connection.
fn stats_messages() -> Vec<String> {
    (0..3).map(|i| format!("<13>a: msg {i}\n")).collect()
}

/// Runs `module` (ours or the C one) with two inputs and three workers, sends
/// a few connections, and returns the impstats text once a round shows them.
fn stats_run(host: &Host, module: &str, pool_param: bool) -> String {
    let wt = if pool_param { " workerThreads=\"3\"" } else { "" };
    let conf = format!(
        r#"
module(load="impstats" interval="1" log.file="${{WORKDIR}}/stats" format="legacy" log.syslog="off")
module(load="{module}"{wt})
input(type="imtcp" port="0" listenPortFileName="${{WORKDIR}}/port")
input(type="imtcp" port="0" listenPortFileName="${{WORKDIR}}/port2" name="second")
template(name="m" type="string" string="%msg%\n")
if $inputname == "imtcp" then action(type="omfile" file="${{WORKDIR}}/out" template="m")
"#
    );
    let d = Daemon::start(host, &conf);
    let port = d.wait_port_file("port", T);
    d.wait_port_file("port2", T);
    for m in stats_messages() {
        tcp_send(port, m.as_bytes());
    }
    d.wait_lines("out", 3, T);
    let text = poll_until(T, Duration::from_millis(100), || {
        let s = d.read("stats");
        s.contains("imtcp(0): origin=imtcp submitted=3 ").then_some(s)
    })
    .unwrap_or_else(|| panic!("no imtcp(0) submitted=3 line:\n{}", d.read("stats")));
    // One more full round after the one that counted everything.
    let n = text.matches("imtcp(0): origin").count();
    let text = poll_until(T, Duration::from_millis(100), || {
        let s = d.read("stats");
        (s.matches("imtcp(0): origin").count() >= n + 2).then_some(s)
    })
    .expect("impstats rounds");
    d.stop().assert_clean();
    text
}

/// impstats shows the same imtcp lines (names, origin, counters in order) for
/// our module as for the host's C module: on 8.2504 and later `imtcp(<port>)`
/// and per worker `w<N>/<input>` with runs, read, emptyread,
/// starvation_protect, accept; on 8.2302 (no pool) only `imtcp(<port>)`. The
/// listener line has `submitted` on 8.2302 and 8.2504, and current upstream's
/// `submitted`, `bytes.received`, `bytes.decompressed`, `decompression.errors`
/// there. On current upstream the values of both modules are checked for the
/// same traffic too: a worker's `read` counts only reads that returned data.
#[test]
fn impstats_lines_match_the_c_module() {
    let Some(host) = require_host("impstats_lines_match_the_c_module") else {
        return;
    };
    let pool = host.at_least("8.2504");
    let upstream = host.is_current_upstream();
    // `module(load="imtcp")` is the host's C module (RSYSLOG_MODDIR holds 8.2504's build).
    // The C module on 8.2504 leaves its worker lines out of some runs
    // (observed: 2 of 4, whichever order the threads start in): take a run that has them.
    let mut c = String::new();
    for _ in 0..8 {
        c = stats_run(&host, "imtcp", pool);
        if !pool || c.contains(": w0/imtcp: origin=imtcp ") {
            break;
        }
    }
    let ours = stats_run(&host, &module_path("imtcp").to_string_lossy(), true);
    let (cs, os) = (imtcp_shapes(&c), imtcp_shapes(&ours));
    assert_eq!(os, cs, "imtcp stats lines differ\nC:\n{c}\nours:\n{ours}");
    let listener = if upstream {
        "submitted=N bytes.received=N bytes.decompressed=N decompression.errors=N"
    } else {
        "submitted=N"
    };
    let mut expected: BTreeSet<String> = ["imtcp(0)", "second(0)"]
        .iter()
        .map(|n| format!("{n}: origin=imtcp {listener}"))
        .collect();
    if pool {
        for n in ["imtcp", "second"] {
            for w in 0..3 {
                expected.insert(format!(
                    "w{w}/{n}: origin=imtcp runs=N read=N emptyread=N starvation_protect=N accept=N"
                ));
            }
        }
    }
    assert_eq!(os, expected, "ours:\n{ours}");
    if upstream {
        // Three connections of one message each, through the default (open) ratelimiter.
        let sent: u64 = stats_messages().iter().map(|m| m.len() as u64).sum();
        for (who, text) in [("C", &c), ("ours", &ours)] {
            for (key, want) in [
                ("submitted", 3),
                ("bytes.received", sent),
                ("bytes.decompressed", 0),
                ("decompression.errors", 0),
            ] {
                assert_eq!(
                    stats::last_value(text, "imtcp(0)", key),
                    Some(want),
                    "{who}: imtcp(0) {key}\n{text}"
                );
            }
        }
    }
    if pool {
        // The counters count: 3 connections accepted and read on the first input.
        let worker_sum = |text: &str, k: &str| -> u64 {
            let last: BTreeMap<String, Vec<(String, u64)>> = stats_lines(text)
                .into_iter()
                .filter(|(n, _, _)| n.ends_with("/imtcp"))
                .map(|(n, _, kv)| (n, kv))
                .collect();
            last.values()
                .flat_map(|kv| kv.iter())
                .filter(|(x, _)| x == k)
                .map(|x| x.1)
                .sum()
        };
        assert!(worker_sum(&ours, "accept") >= 3, "accept\n{ours}");
        assert!(worker_sum(&ours, "runs") >= 4, "runs\n{ours}");
        if upstream {
            // Only reads that returned data: one per connection (the read that finds the
            // close does not count), for the C module and for ours.
            assert_eq!(worker_sum(&c, "read"), 3, "C read\n{c}");
            assert_eq!(worker_sum(&ours, "read"), 3, "ours read\n{ours}");
        } else {
            assert!(
                worker_sum(&ours, "read") >= 6,
                "read (data + close per connection)\n{ours}"
            );
        }
    }
}

/// A sender that never pauses does not starve another session on the same
/// input: the quiet sender's messages arrive promptly, with one worker and
/// with the default pool; on 8.2504 the pool's starvation_protect counter
/// shows the protection at work.
fn busy_sender_does_not_starve(workers: u32) {
    let Some(host) = require_host(&format!("busy_sender_does_not_starve_{workers}")) else {
        return;
    };
    let conf = format!(
        r#"
module(load="impstats" interval="1" log.file="${{WORKDIR}}/stats" format="legacy" log.syslog="off")
module(load="${{IMTCP}}" workerThreads="{workers}" starvationProtection.maxReads="10")
input(type="imtcp" port="0" listenPortFileName="${{WORKDIR}}/port")
template(name="m" type="string" string="%msg%\n")
if $inputname == "imtcp" and $msg contains "quiet" then action(type="omfile" file="${{WORKDIR}}/quiet" template="m")
"#
    );
    let d = Daemon::start(&host, &conf);
    let port = d.wait_port_file("port", T);
    let stop = Arc::new(AtomicBool::new(false));
    let flood = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut s = tcp_connect(port);
            let chunk: Vec<u8> = (0..2000)
                .flat_map(|m| frame(0, m, "flood xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"))
                .collect();
            let deadline = Instant::now() + Duration::from_secs(30);
            while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
                if s.write_all(&chunk).is_err() {
                    break;
                }
            }
        })
    };
    std::thread::sleep(Duration::from_millis(500));
    let mut q = tcp_connect(port);
    let mut worst = Duration::ZERO;
    for i in 0..5 {
        let t0 = Instant::now();
        q.write_all(format!("<13>q: quiet {i}\n").as_bytes()).unwrap();
        d.wait_lines("quiet", i + 1, T);
        worst = worst.max(t0.elapsed());
        std::thread::sleep(Duration::from_millis(50));
    }
    let stats_ok = if host.at_least("8.2504") && workers > 1 {
        poll_until(Duration::from_secs(5), Duration::from_millis(100), || {
            stats_lines(&d.read("stats"))
                .iter()
                .any(|(n, _, kv)| n.starts_with('w') && kv.iter().any(|(k, v)| k == "starvation_protect" && *v > 0))
                .then_some(())
        })
        .is_some()
    } else {
        true
    };
    let st = d.stop();
    stop.store(true, Ordering::Relaxed);
    flood.join().unwrap();
    assert!(st.exited_cleanly(), "{}", st.report());
    assert!(
        worst < Duration::from_secs(3),
        "a quiet message took {worst:?} under flood"
    );
    assert!(
        stats_ok,
        "no worker reported starvation_protect > 0:\n{}",
        st.read("stats")
    );
    assert!(
        st.elapsed < Duration::from_secs(5),
        "shutdown under load took {:?}",
        st.elapsed
    );
}

#[test]
fn busy_sender_does_not_starve_with_one_worker() {
    busy_sender_does_not_starve(1);
}

#[test]
fn busy_sender_does_not_starve_with_pool() {
    busy_sender_does_not_starve(2);
}

/// SIGTERM while senders blast: rsyslogd stops promptly and cleanly; every
/// message a finished sender sent (its last frame, a marker, was seen in the
/// output) is there exactly once, and what the blasters got through is, per
/// connection, a gap-free prefix of complete messages.
#[test]
fn sigterm_under_load_is_prompt_and_lossless() {
    let Some(host) = require_host("sigterm_under_load_is_prompt_and_lossless") else {
        return;
    };
    const FINISHED: usize = 8;
    const BLASTERS: usize = 4;
    const MSGS: usize = 20_000;
    let conf = r#"
main_queue(queue.workerThreads="1")
module(load="${IMTCP}" workerThreads="4")
input(type="imtcp" port="0" listenPortFileName="${WORKDIR}/port")
template(name="m" type="string" string="%msg%\n")
if $inputname == "imtcp" then action(type="omfile" file="${WORKDIR}/out" template="m")
"#;
    let d = Daemon::start(&host, conf);
    let port = d.wait_port_file("port", T);
    let stop = Arc::new(AtomicBool::new(false));
    // Finished senders: MSGS messages, then a marker frame; the connection stays open.
    let mut conns = Vec::new();
    for s in 0..FINISHED {
        let mut c = tcp_connect(port);
        let all: Vec<u8> = (0..MSGS).flat_map(|m| frame(s, m, "data")).collect();
        c.write_all(&all).unwrap();
        c.write_all(&frame(s, MSGS, "END")).unwrap();
        conns.push(c);
    }
    // Every marker in the output: each finished sender's data has been read.
    let ends = poll_until(Duration::from_secs(60), Duration::from_millis(50), || {
        let out = d.read("out");
        let n = out.lines().filter(|l| l.ends_with(" END")).count();
        (n == FINISHED).then_some(())
    });
    assert!(ends.is_some(), "not every END marker arrived");
    // Then blasters (sender ids FINISHED.., never pause, stay connected through SIGTERM).
    let blasters: Vec<_> = (FINISHED..FINISHED + BLASTERS)
        .map(|s| {
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut c = tcp_connect(port);
                let mut seq = 0;
                let deadline = Instant::now() + Duration::from_secs(40);
                while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
                    let chunk: Vec<u8> = (seq..seq + 500).flat_map(|m| frame(s, m, "blast")).collect();
                    seq += 500;
                    if c.write_all(&chunk).is_err() {
                        break;
                    }
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(500));
    let st = d.stop();
    stop.store(true, Ordering::Relaxed);
    for b in blasters {
        b.join().unwrap();
    }
    drop(conns);
    assert!(st.exited_cleanly(), "{}", st.report());
    assert!(
        st.elapsed < Duration::from_secs(5),
        "shutdown under load took {:?}",
        st.elapsed
    );
    let lines = st.lines("out");
    let mut next = vec![0usize; FINISHED + BLASTERS];
    for l in &lines {
        let (s, m) = parse(l).unwrap_or_else(|| panic!("incomplete or foreign line {l:?}"));
        assert_eq!(m, next[s], "sender {s}: expected m{}, got {l:?}", next[s]);
        next[s] += 1;
    }
    for (s, n) in next.iter().enumerate().take(FINISHED) {
        assert_eq!(*n, MSGS + 1, "sender {s} (finished before SIGTERM) lost messages");
    }
    assert!(
        next[FINISHED..].iter().all(|&n| n > 0),
        "blasters got nothing through: {next:?}"
    );
}
