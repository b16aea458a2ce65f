//! A running rsyslogd with its own work dir.

use std::fs::File;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::config::{
    config_sets_workdir, preamble, substitute, with_preamble, CONF_FILE, INTERNAL_DETAIL_LOG, INTERNAL_LOG, PID_FILE,
    STDERR_FILE, STDOUT_FILE,
};
use crate::host::Host;
use crate::modules::{module_path, MODULES};
use crate::wait::{complete_lines, parse_port, poll_until, read_lossy, wait_file_lines, POLL};

/// Default time [`Daemon::start`] waits for the "start" message.
pub const STARTUP_TIMEOUT: Duration = Duration::from_secs(20);
/// Default time [`Daemon::stop`] waits after SIGTERM before SIGKILL.
pub const STOP_TIMEOUT: Duration = Duration::from_secs(10);

// ---------------------------------------------------------------------------------------
// Work dir

/// A temp dir that is removed on drop — unless the thread is panicking or env
/// `RSYSLOG_TESTS_KEEP=1` is set; then it is kept and its path printed.
pub struct WorkDir {
    dir: Option<tempfile::TempDir>,
    path: PathBuf,
}

impl WorkDir {
    /// A fresh dir `rstb-XXXXXX` in `$TMPDIR`.
    pub fn new() -> WorkDir {
        let dir = tempfile::Builder::new()
            .prefix("rstb-")
            .tempdir()
            .expect("rsyslog-tests: cannot create a temp work dir");
        let path = dir.path().to_path_buf();
        WorkDir { dir: Some(dir), path }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Keep the dir (not removed on drop); returns its path.
    pub fn keep(&mut self) -> PathBuf {
        if let Some(d) = self.dir.take() {
            let _ = d.keep();
        }
        self.path.clone()
    }

    fn take(&mut self) -> WorkDir {
        WorkDir {
            dir: self.dir.take(),
            path: self.path.clone(),
        }
    }
}

impl Default for WorkDir {
    fn default() -> Self {
        WorkDir::new()
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        if self.dir.is_none() {
            return;
        }
        let keep_env = std::env::var("RSYSLOG_TESTS_KEEP").is_ok_and(|v| v == "1");
        if std::thread::panicking() || keep_env {
            let p = self.keep();
            eprintln!("rsyslog-tests: keeping work dir {}", p.display());
        }
    }
}

// ---------------------------------------------------------------------------------------
// Options / config rendering

/// Extra knobs for [`Daemon::start_with`] / [`check_config_with`].
#[derive(Debug, Clone)]
pub struct Options {
    /// Extra `${NAME}` placeholders (take precedence over the built-in ones).
    pub vars: Vec<(String, String)>,
    /// Extra environment for rsyslogd.
    pub env: Vec<(String, String)>,
    /// Extra command line arguments (appended).
    pub args: Vec<String>,
    /// How long `start_with` waits for the "start" message.
    pub startup_timeout: Duration,
    /// `false`: return right after spawning (for configs expected to make rsyslogd exit;
    /// use [`Daemon::wait_exit`] / [`Daemon::wait_started`]).
    pub wait_started: bool,
    /// `false`: the config is used as given, without the harness preamble (no
    /// internal.log, so no start wait either: wait for the test's own files).
    pub preamble: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            vars: Vec::new(),
            env: Vec::new(),
            args: Vec::new(),
            startup_timeout: STARTUP_TIMEOUT,
            wait_started: true,
            preamble: true,
        }
    }
}

impl Options {
    pub fn var(mut self, name: &str, value: impl Into<String>) -> Self {
        self.vars.push((name.to_string(), value.into()));
        self
    }
    pub fn env(mut self, name: &str, value: impl Into<String>) -> Self {
        self.env.push((name.to_string(), value.into()));
        self
    }
    pub fn arg(mut self, a: impl Into<String>) -> Self {
        self.args.push(a.into());
        self
    }
    pub fn no_wait(mut self) -> Self {
        self.wait_started = false;
        self
    }
    /// Leaves the harness preamble out (and so the start wait, see [`Options::preamble`]).
    pub fn no_preamble(mut self) -> Self {
        self.preamble = false;
        self.wait_started = false;
        self
    }
}

/// Substitutes `${WORKDIR}`, `${IMPCAP}`, `${IMTCP}` (modules resolved — and built — only
/// when they occur) and `opts.vars` in `config`.
pub fn render_config(config: &str, workdir: &Path, vars: &[(String, String)]) -> String {
    substitute(config, &mut |name| {
        if let Some((_, v)) = vars.iter().find(|(n, _)| n == name) {
            return Some(v.clone());
        }
        if name == "WORKDIR" {
            return Some(workdir.to_string_lossy().into_owned());
        }
        let lower = name.to_ascii_lowercase();
        if MODULES.contains(&lower.as_str()) {
            return Some(module_path(&lower).to_string_lossy().into_owned());
        }
        None
    })
}

fn base_command(host: &Host, workdir: &Path, env: &[(String, String)]) -> Command {
    let mut cmd = Command::new(&host.rsyslogd);
    cmd.current_dir(workdir)
        .stdin(Stdio::null())
        .env("RSYSLOG_DFLT_LOG_INTERNAL", "1");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

fn exit_code(status: ExitStatus) -> i32 {
    status.code().unwrap_or_else(|| 128 + status.signal().unwrap_or(0))
}

fn describe(status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(c), _) => format!("exit code {c}"),
        (None, Some(s)) => format!(
            "killed by signal {s} ({}){}",
            signal_name(s),
            if status.core_dumped() { ", core dumped" } else { "" }
        ),
        _ => format!("{status}"),
    }
}

/// Short name of a signal number ("SIGSEGV").
pub fn signal_name(sig: i32) -> String {
    // SAFETY: strsignal returns a pointer to a static / thread-local string.
    let s = unsafe { libc::strsignal(sig) };
    if s.is_null() {
        return format!("signal {sig}");
    }
    // SAFETY: non-null, NUL-terminated string from strsignal, copied right away.
    unsafe { std::ffi::CStr::from_ptr(s) }.to_string_lossy().into_owned()
}

/// One internal message, parsed from [`INTERNAL_DETAIL_LOG`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InternalMsg {
    /// "emerg" .. "debug" (`%syslogseverity-text%`).
    pub severity: String,
    /// e.g. "rsyslogd:" or "rsyslogd-2207:" (the number is the error code).
    pub tag: String,
    pub msg: String,
}

impl InternalMsg {
    /// Severity err or worse.
    pub fn is_error(&self) -> bool {
        matches!(self.severity.as_str(), "emerg" | "alert" | "crit" | "err")
    }
    /// The error number from the tag ("rsyslogd-2207:" → 2207).
    pub fn errcode(&self) -> Option<i32> {
        self.tag.strip_prefix("rsyslogd-")?.trim_end_matches(':').parse().ok()
    }
}

/// Parses the lines of [`INTERNAL_DETAIL_LOG`].
pub fn parse_internal_detail(text: &str) -> Vec<InternalMsg> {
    text.lines()
        .filter(|l| !l.is_empty())
        .map(|l| {
            let mut it = l.splitn(3, ' ');
            InternalMsg {
                severity: it.next().unwrap_or("").to_string(),
                tag: it.next().unwrap_or("").to_string(),
                msg: it.next().unwrap_or("").to_string(),
            }
        })
        .collect()
}

/// True for rsyslogd's startup line
/// `[origin software="rsyslogd" swVersion="8.2302.0" x-pid="N" x-info="https://www.rsyslog.com"] start`.
pub fn is_start_line(line: &str) -> bool {
    line.starts_with("[origin software=\"rsyslogd\"") && line.trim_end().ends_with("] start")
}

// ---------------------------------------------------------------------------------------
// Daemon

/// A running rsyslogd (`-C -n -f <wd>/rsyslog.conf -i <wd>/rsyslogd.pid [-M ..]`, cwd = work dir).
pub struct Daemon {
    host: Host,
    child: Mutex<Option<Child>>,
    pid: u32,
    workdir: WorkDir,
}

impl Daemon {
    /// Starts rsyslogd with `config` (placeholders substituted, harness preamble added) and
    /// waits up to 20 s for its "start" message. Panics (with stderr and the internal log)
    /// if it exits or does not start in time.
    pub fn start(host: &Host, config: &str) -> Daemon {
        Daemon::start_with(host, config, &Options::default())
    }

    /// [`Daemon::start`] with extra placeholders, env, args or no start wait.
    pub fn start_with(host: &Host, config: &str, opts: &Options) -> Daemon {
        let workdir = WorkDir::new();
        let wd = workdir.path().to_path_buf();
        let text = render_config(config, &wd, &opts.vars);
        let full = if opts.preamble {
            with_preamble(&preamble(&wd, !config_sets_workdir(&text)), &text)
        } else {
            text
        };
        let conf = wd.join(CONF_FILE);
        std::fs::write(&conf, &full).expect("rsyslog-tests: cannot write rsyslog.conf");

        let mut cmd = base_command(host, &wd, &opts.env);
        cmd.arg("-C")
            .arg("-n")
            .arg("-f")
            .arg(&conf)
            .arg("-i")
            .arg(wd.join(PID_FILE));
        if let Some(m) = &host.moddir {
            cmd.arg("-M").arg(m);
        }
        cmd.args(&opts.args);
        let out = File::create(wd.join(STDOUT_FILE)).expect("create stdout file");
        let err = File::create(wd.join(STDERR_FILE)).expect("create stderr file");
        cmd.stdout(out).stderr(err);
        let shown = format!("{cmd:?}");
        let child = match crate::spawn::spawn(cmd) {
            Ok(c) => c,
            Err(e) => panic!("rsyslog-tests: cannot start {shown}: {e}"),
        };
        let d = Daemon {
            host: host.clone(),
            pid: child.id(),
            child: Mutex::new(Some(child)),
            workdir,
        };
        if opts.wait_started {
            d.wait_started(opts.startup_timeout);
        }
        d
    }

    pub fn host(&self) -> &Host {
        &self.host
    }
    pub fn workdir(&self) -> &Path {
        self.workdir.path()
    }
    pub fn pid(&self) -> u32 {
        self.pid
    }
    /// A `kB` field of /proc/<pid>/status, e.g. `VmRSS:` or `VmHWM:` (peak RSS); 0 when gone.
    pub fn status_kb(&self, field: &str) -> u64 {
        let s = std::fs::read_to_string(format!("/proc/{}/status", self.pid)).unwrap_or_default();
        s.lines()
            .find(|l| l.starts_with(field))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    }
    /// `<workdir>/<name>` (absolute `name` is used as is).
    pub fn path(&self, name: &str) -> PathBuf {
        self.workdir().join(name)
    }
    pub fn conf_path(&self) -> PathBuf {
        self.path(CONF_FILE)
    }
    /// The generated config (preamble + substituted test config).
    pub fn conf_text(&self) -> String {
        read_lossy(&self.conf_path())
    }
    /// Current content of a work dir file (empty if missing).
    pub fn read(&self, name: &str) -> String {
        read_lossy(&self.path(name))
    }
    /// Current complete lines of a work dir file.
    pub fn lines(&self, name: &str) -> Vec<String> {
        complete_lines(&std::fs::read(self.path(name)).unwrap_or_default())
    }
    pub fn internal_log(&self) -> String {
        self.read(INTERNAL_LOG)
    }
    /// Internal messages with severity and tag.
    pub fn internal_messages(&self) -> Vec<InternalMsg> {
        parse_internal_detail(&self.read(INTERNAL_DETAIL_LOG))
    }
    pub fn stderr(&self) -> String {
        self.read(STDERR_FILE)
    }
    pub fn stdout(&self) -> String {
        self.read(STDOUT_FILE)
    }

    /// `None` while running, else its exit status (reaps it).
    pub fn try_status(&self) -> Option<ExitStatus> {
        let mut g = self.child.lock().unwrap_or_else(|e| e.into_inner());
        match g.as_mut() {
            Some(c) => c.try_wait().ok().flatten(),
            None => None,
        }
    }
    pub fn is_running(&self) -> bool {
        self.try_status().is_none()
    }

    /// Sends `sig` (libc::SIGxxx) if the process is still running (never to a reused pid:
    /// the child is not reaped while we check). Returns whether it was sent.
    pub fn signal(&self, sig: i32) -> bool {
        let mut g = self.child.lock().unwrap_or_else(|e| e.into_inner());
        let running = g.as_mut().is_some_and(|c| matches!(c.try_wait(), Ok(None)));
        // SAFETY: plain kill(2) on our own child, not reaped while the lock is held.
        running && unsafe { libc::kill(self.pid as libc::pid_t, sig) == 0 }
    }

    /// Sends SIGHUP.
    pub fn hup(&self) {
        if !self.signal(libc::SIGHUP) {
            self.fail("hup(): rsyslogd is not running");
        }
    }

    /// A report with everything useful for a failure message.
    pub fn report(&self) -> String {
        let status = match self.try_status() {
            Some(s) => describe(s),
            None => "running".to_string(),
        };
        format!(
            "rsyslogd pid {} ({status}), work dir {}\n--- stderr ---\n{}\n--- internal.log ---\n{}",
            self.pid,
            self.workdir().display(),
            self.stderr().trim_end(),
            self.internal_log().trim_end()
        )
    }

    fn fail(&self, what: &str) -> ! {
        panic!("{what}\n{}", self.report())
    }

    fn exited_reason(&self) -> Option<String> {
        self.try_status().map(|s| format!("rsyslogd exited ({})", describe(s)))
    }

    /// Waits for the internal "start" message (done by `start`).
    pub fn wait_started(&self, timeout: Duration) {
        let ok = poll_until(timeout, POLL, || {
            if self.internal_log().lines().any(is_start_line) {
                return Some(true);
            }
            if self.try_status().is_some() {
                // re-check: it may have logged "start" and exited right after
                return Some(self.internal_log().lines().any(is_start_line));
            }
            None
        });
        match ok {
            Some(true) => {}
            Some(false) => self.fail("rsyslogd exited before it started"),
            None => self.fail(&format!("rsyslogd did not log \"start\" within {timeout:?}")),
        }
    }

    /// Waits until `<workdir>/<name>` has at least `n` complete lines; returns all of them.
    /// Panics on timeout or when rsyslogd exits first, with what the file has.
    pub fn wait_lines(&self, name: &str, n: usize, timeout: Duration) -> Vec<String> {
        match wait_file_lines(&self.path(name), n, timeout, || self.exited_reason()) {
            Ok(l) => l,
            Err((have, why)) => self.fail(&format!(
                "wait_lines({name}, {n}): {} after {} line(s):\n{}",
                why.unwrap_or_else(|| format!("timeout {timeout:?}")),
                have.len(),
                have.join("\n")
            )),
        }
    }

    /// Waits until internal.log contains `needle`; returns the whole internal log.
    pub fn wait_internal(&self, needle: &str, timeout: Duration) -> String {
        let mut exited = None;
        let r = poll_until(timeout, POLL, || {
            let log = self.internal_log();
            if log.contains(needle) {
                return Some(log);
            }
            exited = self.exited_reason();
            if exited.is_some() {
                let log = self.internal_log();
                return log.contains(needle).then_some(log).or(Some(String::new()));
            }
            None
        });
        match r {
            Some(log) if !log.is_empty() => log,
            _ => self.fail(&format!(
                "wait_internal({needle:?}): {}",
                exited.unwrap_or_else(|| format!("timeout {timeout:?}"))
            )),
        }
    }

    /// Reads a port written by imtcp's `listenPortFileName` (`name` relative to the work dir).
    pub fn wait_port_file(&self, name: &str, timeout: Duration) -> u16 {
        let path = self.path(name);
        let mut exited = None;
        let r = poll_until(timeout, POLL, || {
            if let Some(p) = parse_port(&read_lossy(&path)) {
                return Some(Some(p));
            }
            exited = self.exited_reason();
            exited.as_ref().map(|_| parse_port(&read_lossy(&path)))
        });
        match r.flatten() {
            Some(p) => p,
            None => self.fail(&format!(
                "wait_port_file({name}): {}; content {:?}",
                exited.unwrap_or_else(|| format!("timeout {timeout:?}")),
                read_lossy(&path)
            )),
        }
    }

    /// SIGTERM, wait up to 10 s (then SIGKILL, `killed = true`); collects the results.
    pub fn stop(self) -> Stopped {
        self.stop_timeout(STOP_TIMEOUT)
    }

    /// [`Daemon::stop`] with a custom grace period.
    pub fn stop_timeout(self, timeout: Duration) -> Stopped {
        self.signal(libc::SIGTERM);
        self.wait_exit(timeout)
    }

    /// Waits (without signalling) for rsyslogd to exit by itself; SIGKILL after `timeout`.
    pub fn wait_exit(mut self, timeout: Duration) -> Stopped {
        let t0 = Instant::now();
        let mut child = self
            .child
            .get_mut()
            .unwrap_or_else(|e| e.into_inner())
            .take()
            .expect("rsyslogd child already taken");
        let mut killed = false;
        let status = match poll_until(timeout, Duration::from_millis(5), || child.try_wait().ok().flatten()) {
            Some(s) => s,
            None => {
                killed = true;
                let _ = child.kill();
                child.wait().expect("wait for killed rsyslogd")
            }
        };
        let elapsed = t0.elapsed();
        let workdir = self.workdir.take();
        let wd = workdir.path();
        Stopped {
            status,
            core_dumped: status.core_dumped(),
            signal: status.signal(),
            killed,
            elapsed,
            stdout: read_lossy(&wd.join(STDOUT_FILE)),
            stderr: read_lossy(&wd.join(STDERR_FILE)),
            internal_log: read_lossy(&wd.join(INTERNAL_LOG)),
            pid: self.pid,
            workdir,
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let child = self.child.get_mut().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(mut c) = child {
            if matches!(c.try_wait(), Ok(None)) {
                // Polite first (flushes files for a post-mortem), then hard.
                // SAFETY: kill(2) on our own child, which has not been reaped yet (try_wait: running).
                unsafe { libc::kill(self.pid as libc::pid_t, libc::SIGTERM) };
                if poll_until(Duration::from_secs(2), Duration::from_millis(5), || {
                    c.try_wait().ok().flatten()
                })
                .is_none()
                {
                    let _ = c.kill();
                    let _ = c.wait();
                }
            }
        }
        // The work dir itself is kept (and its path printed) by WorkDir's Drop when panicking.
    }
}

// ---------------------------------------------------------------------------------------
// Stopped

/// The outcome of [`Daemon::stop`] / [`Daemon::wait_exit`]. Keeps the work dir alive so
/// output files can still be read (`read`, `lines`).
pub struct Stopped {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
    pub internal_log: String,
    /// The kernel reported a core dump (WCOREDUMP).
    pub core_dumped: bool,
    /// It did not exit in time and the harness had to SIGKILL it.
    pub killed: bool,
    /// Terminating signal, if it died of one (also set when `killed`: SIGKILL).
    pub signal: Option<i32>,
    /// Time from the stop request to the exit.
    pub elapsed: Duration,
    pub pid: u32,
    workdir: WorkDir,
}

impl Stopped {
    pub fn workdir(&self) -> &Path {
        self.workdir.path()
    }
    pub fn read(&self, name: &str) -> String {
        read_lossy(&self.workdir().join(name))
    }
    pub fn lines(&self, name: &str) -> Vec<String> {
        complete_lines(&std::fs::read(self.workdir().join(name)).unwrap_or_default())
    }
    pub fn internal_messages(&self) -> Vec<InternalMsg> {
        parse_internal_detail(&self.read(INTERNAL_DETAIL_LOG))
    }
    /// Internal messages of severity err or worse.
    pub fn error_messages(&self) -> Vec<InternalMsg> {
        self.internal_messages()
            .into_iter()
            .filter(InternalMsg::is_error)
            .collect()
    }
    /// Exit code (killed by a signal: 128 + signal).
    pub fn code(&self) -> i32 {
        exit_code(self.status)
    }
    /// Exit code 0, no signal, no core, not killed.
    pub fn exited_cleanly(&self) -> bool {
        self.status.success() && !self.core_dumped && !self.killed && self.signal.is_none()
    }
    /// Path of a core file in the work dir, if one was written.
    pub fn core_file(&self) -> Option<PathBuf> {
        std::fs::read_dir(self.workdir())
            .ok()?
            .flatten()
            .map(|e| e.path())
            .find(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n == "core" || n.starts_with("core."))
            })
    }
    pub fn report(&self) -> String {
        format!(
            "rsyslogd pid {}: {}{}, stopped in {:?}, work dir {}\n--- stderr ---\n{}\n--- internal.log ---\n{}",
            self.pid,
            describe(self.status),
            if self.killed {
                " (SIGKILLed by the harness after the stop timeout)"
            } else {
                ""
            },
            self.elapsed,
            self.workdir().display(),
            self.stderr.trim_end(),
            self.internal_log.trim_end()
        )
    }
    /// Panics unless rsyslogd exited with code 0 on its own (no signal, no core, not killed).
    pub fn assert_clean_exit(&self) {
        assert!(
            self.exited_cleanly(),
            "rsyslogd did not exit cleanly\n{}",
            self.report()
        );
    }
    /// [`Stopped::assert_clean_exit`] and no internal message of severity err or worse.
    pub fn assert_clean(&self) {
        self.assert_clean_exit();
        let errs = self.error_messages();
        assert!(
            errs.is_empty(),
            "rsyslogd logged errors:\n{}\n{}",
            errs.iter()
                .map(|m| format!("{} {} {}", m.severity, m.tag, m.msg))
                .collect::<Vec<_>>()
                .join("\n"),
            self.report()
        );
    }
}

// ---------------------------------------------------------------------------------------
// check_config

/// Runs `rsyslogd -N1 -C -f <conf> [-M ..]` (placeholders substituted like `start`, no
/// preamble, so line numbers in messages match `config`). Returns (exit code — 128+signal
/// if killed —, stdout+stderr interleaved).
pub fn check_config(host: &Host, config: &str) -> (i32, String) {
    check_config_with(host, config, &Options::default())
}

/// [`check_config`] with extra placeholders / env / args (`startup_timeout` bounds the run).
pub fn check_config_with(host: &Host, config: &str, opts: &Options) -> (i32, String) {
    let workdir = WorkDir::new();
    let wd = workdir.path();
    let conf = wd.join(CONF_FILE);
    std::fs::write(&conf, render_config(config, wd, &opts.vars)).expect("write rsyslog.conf");
    let out_path = wd.join("check.out");
    let out = File::create(&out_path).expect("create check.out");
    let mut cmd = base_command(host, wd, &opts.env);
    cmd.arg("-N1").arg("-C").arg("-f").arg(&conf);
    if let Some(m) = &host.moddir {
        cmd.arg("-M").arg(m);
    }
    cmd.args(&opts.args);
    cmd.stdout(out.try_clone().expect("dup")).stderr(out);
    let shown = format!("{cmd:?}");
    let mut child = crate::spawn::spawn(cmd).unwrap_or_else(|e| panic!("cannot run {shown}: {e}"));
    let timeout = opts.startup_timeout.max(Duration::from_secs(60));
    let status = match poll_until(timeout, Duration::from_millis(5), || child.try_wait().ok().flatten()) {
        Some(s) => s,
        None => {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{shown} did not finish within {timeout:?}:\n{}", read_lossy(&out_path));
        }
    };
    (exit_code(status), read_lossy(&out_path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_line() {
        assert!(is_start_line(
            "[origin software=\"rsyslogd\" swVersion=\"8.2302.0\" x-pid=\"4861\" x-info=\"https://www.rsyslog.com\"] start"
        ));
        assert!(!is_start_line(
            "[origin software=\"rsyslogd\" swVersion=\"8.2302.0\" x-pid=\"4861\" x-info=\"https://www.rsyslog.com\"] rsyslogd was HUPed"
        ));
        assert!(!is_start_line("start"));
    }

    #[test]
    fn internal_detail_parsing() {
        let m = parse_internal_detail(
            "err rsyslogd-2207: error during parsing file x, on or before line 2: parameter 'bogus' not known\ninfo rsyslogd: [origin ...] start\n",
        );
        assert_eq!(m.len(), 2);
        assert!(m[0].is_error());
        assert_eq!(m[0].errcode(), Some(2207));
        assert!(m[0].msg.starts_with("error during parsing"));
        assert!(!m[1].is_error());
        assert_eq!(m[1].errcode(), None);
    }

    #[test]
    fn render_substitutes_workdir_and_vars_without_building() {
        let out = render_config(
            "a ${WORKDIR} ${PORTFILE} ${UNKNOWN}",
            Path::new("/tmp/w"),
            &[("PORTFILE".into(), "p.port".into())],
        );
        assert_eq!(out, "a /tmp/w p.port ${UNKNOWN}");
    }

    #[test]
    fn workdir_removed_unless_panicking() {
        let w = WorkDir::new();
        let p = w.path().to_path_buf();
        assert!(p.is_dir());
        drop(w);
        assert!(!p.exists());

        let p = std::thread::spawn(|| {
            let w = WorkDir::new();
            let p = w.path().to_path_buf();
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
                let _w = w;
                panic!("boom");
            }));
            assert!(r.is_err());
            p
        })
        .join()
        .unwrap();
        assert!(p.is_dir(), "kept after panic");
        std::fs::remove_dir_all(&p).unwrap();
    }

    #[test]
    fn signal_names() {
        assert_eq!(signal_name(libc::SIGSEGV), "Segmentation fault");
    }
}
