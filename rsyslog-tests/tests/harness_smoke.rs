//! Smoke tests of the harness against the real rsyslogd, builtin modules only.

use std::time::Duration;

use rsyslog_tests::*;

const T: Duration = Duration::from_secs(10);

/// Every message (including the internal ones, which the preamble does not swallow).
const ALL_TO_FILE: &str = r#"
action(type="omfile" file="${WORKDIR}/all.log" template="RSYSLOG_FileFormat")
"#;

#[test]
fn start_message_reaches_internal_log_and_user_rules() {
    let Some(host) = require_host("start_message_reaches_internal_log_and_user_rules") else {
        return;
    };
    assert!(host.version.starts_with("8."), "{host:?}");
    let d = Daemon::start(&host, ALL_TO_FILE);
    let log = d.internal_log();
    let pid = d.pid();
    assert!(log.contains(&format!("x-pid=\"{pid}\"")), "{log}");
    assert!(log.contains(&format!("swVersion=\"{}\"", host.version)), "{log}");
    // The user's rule after the preamble sees the same message.
    // (8.2504 builds may log queue-sizing warnings before "start".)
    let deadline = std::time::Instant::now() + T;
    let lines = loop {
        let lines = d.lines("all.log");
        if lines.iter().any(|l| l.ends_with("] start")) || std::time::Instant::now() > deadline {
            break lines;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(
        lines.iter().any(|l| l.contains("rsyslogd:") && l.ends_with("] start")),
        "{lines:?}"
    );
    // Own pid file.
    assert_eq!(d.read("rsyslogd.pid").trim(), pid.to_string());
    // Detail log: severity + tag.
    let m = d.internal_messages();
    let start = m.iter().find(|x| x.msg.ends_with("] start")).expect("start message");
    assert_eq!(start.tag, "rsyslogd:");
    assert!(!start.is_error(), "{m:?}");
}

#[test]
fn stop_is_clean() {
    let Some(host) = require_host("stop_is_clean") else {
        return;
    };
    let d = Daemon::start(&host, ALL_TO_FILE);
    let s = d.stop();
    s.assert_clean();
    assert!(!s.core_dumped && !s.killed && s.signal.is_none());
    assert_eq!(s.code(), 0);
    assert!(s.internal_log.contains("] exiting on signal 15."), "{}", s.report());
    // The work dir lives on in Stopped: the final message was flushed to the user's file.
    let all = s.lines("all.log");
    assert!(all.last().unwrap().ends_with("exiting on signal 15."), "{all:?}");
    assert!(s.elapsed < Duration::from_secs(5), "{:?}", s.elapsed);
}

#[test]
fn hup_is_logged() {
    let Some(host) = require_host("hup_is_logged") else {
        return;
    };
    let d = Daemon::start(&host, ALL_TO_FILE);
    d.hup();
    d.wait_internal("rsyslogd was HUPed", T);
    d.stop().assert_clean();
}

#[test]
fn crash_is_reported() {
    let Some(host) = require_host("crash_is_reported") else {
        return;
    };
    let d = Daemon::start(&host, ALL_TO_FILE);
    assert!(d.signal(libc::SIGSEGV));
    let s = d.wait_exit(T);
    assert_eq!(s.signal, Some(libc::SIGSEGV), "{}", s.report());
    assert!(!s.exited_cleanly());
    assert!(!s.killed);
    assert_eq!(s.code(), 128 + libc::SIGSEGV);
    // Whether a core is written depends on the machine's core_pattern; with the common
    // "core" the harness's RLIMIT_CORE makes it land in the work dir.
    let pattern = std::fs::read_to_string("/proc/sys/kernel/core_pattern").unwrap_or_default();
    if pattern.trim() == "core" {
        assert!(s.core_dumped, "{}", s.report());
        assert!(s.core_file().is_some());
    }
    eprintln!("core_dumped={} core_file={:?}", s.core_dumped, s.core_file());
}

#[test]
fn hanging_daemon_is_killed() {
    let Some(host) = require_host("hanging_daemon_is_killed") else {
        return;
    };
    let d = Daemon::start(&host, ALL_TO_FILE);
    assert!(d.signal(libc::SIGSTOP));
    let s = d.stop_timeout(Duration::from_millis(500));
    assert!(s.killed, "{}", s.report());
    assert_eq!(s.signal, Some(libc::SIGKILL));
    assert!(!s.exited_cleanly());
}

#[test]
fn config_line_numbers_match_the_test_text() {
    let Some(host) = require_host("config_line_numbers_match_the_test_text") else {
        return;
    };
    // Line 1 is blank (taken by the preamble), the bogus parameter is on line 3.
    let d = Daemon::start(
        &host,
        r#"
action(type="omfile" file="${WORKDIR}/all.log")
action(type="omfile" file="${WORKDIR}/x.log" bogus="1")
"#,
    );
    let log = d.wait_internal("parameter 'bogus' not known", T);
    assert!(
        log.contains("on or before line 3: parameter 'bogus' not known"),
        "{log}"
    );
    let errs: Vec<_> = d.internal_messages().into_iter().filter(|m| m.is_error()).collect();
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert_eq!(errs[0].errcode(), Some(2207));
    let s = d.stop();
    s.assert_clean_exit();
    assert_eq!(s.error_messages().len(), 1);
    // Also on stderr (config errors are echoed there in -n mode).
    assert!(s.stderr.contains("parameter 'bogus' not known"), "{}", s.stderr);
}

#[test]
fn config_may_set_its_own_workdir() {
    let Some(host) = require_host("config_may_set_its_own_workdir") else {
        return;
    };
    let d = Daemon::start(
        &host,
        r#"
global(workDirectory="${WORKDIR}")
action(type="omfile" file="${WORKDIR}/all.log")
"#,
    );
    d.wait_lines("all.log", 1, T);
    d.stop().assert_clean();
}

#[test]
fn early_exit_is_detected() {
    let Some(host) = require_host("early_exit_is_detected") else {
        return;
    };
    // An unknown option makes rsyslogd print its usage and exit.
    let r = std::panic::catch_unwind(|| {
        Daemon::start_with(&host, ALL_TO_FILE, &Options::default().arg("-Z"));
    });
    let msg = *r.expect_err("start must panic").downcast::<String>().unwrap();
    assert!(msg.starts_with("rsyslogd exited before it started"), "{msg}");
    assert!(
        msg.contains("(exit code 1)") && msg.contains("invalid option -- 'Z'"),
        "{msg}"
    );
    // The work dir was kept for inspection; clean it up here.
    let dir = msg.split("work dir ").nth(1).unwrap().lines().next().unwrap();
    assert!(std::path::Path::new(dir).join("rsyslog.conf").is_file(), "{dir}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn parallel_daemons_do_not_collide() {
    let Some(host) = require_host("parallel_daemons_do_not_collide") else {
        return;
    };
    let daemons: Vec<Daemon> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..3).map(|_| s.spawn(|| Daemon::start(&host, ALL_TO_FILE))).collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    // The threads that started them are gone; the daemons must still be alive.
    let mut dirs = std::collections::HashSet::new();
    for d in &daemons {
        assert!(d.is_running(), "{}", d.report());
        assert!(dirs.insert(d.workdir().to_path_buf()));
    }
    for d in daemons {
        d.stop().assert_clean();
    }
}

#[test]
fn check_config_good() {
    let Some(host) = require_host("check_config_good") else {
        return;
    };
    let (code, out) = check_config(&host, ALL_TO_FILE);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("End of config validation run. Bye."), "{out}");
}

#[test]
fn check_config_unknown_parameter() {
    let Some(host) = require_host("check_config_unknown_parameter") else {
        return;
    };
    let (code, out) = check_config(&host, r#"action(type="omfile" file="x" bogus="1")"#);
    assert_ne!(code, 0, "{out}");
    assert!(
        out.contains("on or before line 1: parameter 'bogus' not known -- typo in config file?"),
        "{out}"
    );
}

#[test]
fn check_config_syntax_error() {
    let Some(host) = require_host("check_config_syntax_error") else {
        return;
    };
    let (code, out) = check_config(&host, "\naction(type=\"omfile\" file=\"x\"\n");
    assert_ne!(code, 0, "{out}");
    assert!(out.contains("syntax error"), "{out}");
    assert!(out.contains("could not interpret master config file"), "{out}");
}
