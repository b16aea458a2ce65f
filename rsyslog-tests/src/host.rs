//! Finding the rsyslogd binary to test against.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Default binary when env `RSYSLOGD` is not set.
pub const DEFAULT_RSYSLOGD: &str = "/usr/sbin/rsyslogd";

/// The rsyslogd installation the tests run against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Host {
    /// The rsyslogd binary (env `RSYSLOGD`, default `/usr/sbin/rsyslogd`).
    pub rsyslogd: PathBuf,
    /// Value for `-M` (colon separated dir list; env `RSYSLOG_MODDIR`). `None`: compiled-in default.
    /// Note: `-M` *replaces* the default dir, so it must also contain the lm*.so helper
    /// libraries (lmnetstrms, lmtcpsrv, ...) that modules load.
    pub moddir: Option<String>,
    /// Version as printed by `rsyslogd -v`, e.g. "8.2302.0".
    pub version: String,
}

impl Host {
    /// Version as numbers, e.g. (8, 2302, 0). Missing parts are 0.
    pub fn version_tuple(&self) -> (u32, u32, u32) {
        version_tuple(&self.version)
    }

    /// True when this rsyslogd is at least `min` ("8.2504" or "8.2504.0").
    pub fn at_least(&self, min: &str) -> bool {
        self.version_tuple() >= version_tuple(min)
    }

    /// True when the rsyslogd binary exports the dynamic symbol `name`
    /// (`nm -D`), the way the modules tell host releases apart.
    pub fn exports(&self, name: &str) -> bool {
        Command::new("nm")
            .arg("-D")
            .arg("--defined-only")
            .arg(&self.rsyslogd)
            .output()
            .is_ok_and(|o| {
                String::from_utf8_lossy(&o.stdout)
                    .lines()
                    .any(|l| l.split_whitespace().last() == Some(name))
            })
    }

    /// Current upstream (8.2610 and later), whose C modules the tests expect
    /// to behave differently from 8.2504's. The modules tell that release
    /// family by its export `MsgSetRcvFromPort`; on every host the testbench
    /// builds, the two signs agree.
    pub fn is_current_upstream(&self) -> bool {
        self.at_least("8.2610")
    }
}

/// Why no usable [`Host`] was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostError {
    /// The binary does not exist.
    Missing(PathBuf),
    /// It exists but `rsyslogd -v` could not be run or parsed.
    Unusable(PathBuf, String),
}

impl std::fmt::Display for HostError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HostError::Missing(p) => write!(f, "no rsyslogd at {}", p.display()),
            HostError::Unusable(p, why) => {
                write!(f, "rsyslogd at {} is unusable: {}", p.display(), why)
            }
        }
    }
}

/// The binary selected by env `RSYSLOGD` (default [`DEFAULT_RSYSLOGD`]).
pub fn rsyslogd_path() -> PathBuf {
    match std::env::var_os("RSYSLOGD") {
        Some(v) if !v.is_empty() => PathBuf::from(v),
        _ => PathBuf::from(DEFAULT_RSYSLOGD),
    }
}

/// `-M` list from env `RSYSLOG_MODDIR` (unset or empty: `None`).
pub fn moddir_from_env() -> Option<String> {
    std::env::var("RSYSLOG_MODDIR").ok().filter(|s| !s.is_empty())
}

/// Extracts "8.2302.0" from `rsyslogd -v` output
/// (first line: `rsyslogd  8.2302.0 (aka 2023.02) compiled with:`).
pub fn parse_version(v_output: &str) -> Option<String> {
    let line = v_output.lines().find(|l| l.trim_start().starts_with("rsyslogd"))?;
    line.split_whitespace()
        .skip(1)
        .find(|t| t.starts_with(|c: char| c.is_ascii_digit()))
        .map(str::to_string)
}

/// "8.2302.0" → (8, 2302, 0); unparsable parts count as 0.
pub fn version_tuple(v: &str) -> (u32, u32, u32) {
    let mut it = v.split('.').map(|p| {
        let digits: String = p.chars().take_while(|c| c.is_ascii_digit()).collect();
        digits.parse::<u32>().unwrap_or(0)
    });
    (it.next().unwrap_or(0), it.next().unwrap_or(0), it.next().unwrap_or(0))
}

/// Checks `path` and asks it for its version.
pub fn probe(path: &Path, moddir: Option<String>) -> Result<Host, HostError> {
    if !path.exists() {
        return Err(HostError::Missing(path.to_path_buf()));
    }
    let out = Command::new(path)
        .arg("-v")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| HostError::Unusable(path.to_path_buf(), format!("cannot run -v: {e}")))?;
    let text = String::from_utf8_lossy(&out.stdout);
    match parse_version(&text) {
        Some(version) => Ok(Host {
            rsyslogd: path.to_path_buf(),
            moddir,
            version,
        }),
        None => Err(HostError::Unusable(
            path.to_path_buf(),
            format!(
                "`-v` printed no version ({}): {}{}",
                out.status,
                text,
                String::from_utf8_lossy(&out.stderr)
            ),
        )),
    }
}

/// The host selected by env `RSYSLOGD` / `RSYSLOG_MODDIR`; `None` when the binary is
/// missing (or does not answer `-v`).
pub fn host() -> Option<Host> {
    probe(&rsyslogd_path(), moddir_from_env()).ok()
}

/// True for the CI env values that make a missing rsyslogd fatal: "true" (any case) or "1".
pub fn is_ci_value(v: Option<&str>) -> bool {
    matches!(v.map(str::trim), Some(s) if s == "1" || s.eq_ignore_ascii_case("true"))
}

/// The decision [`require_host`] makes, without side effects (unit-testable):
/// `Ok(Some(host))` run, `Ok(None)` skip (with the returned line printed by the caller),
/// `Err(msg)` panic.
pub fn decide(test_name: &str, probed: Result<Host, HostError>, ci: bool) -> Result<Result<Host, String>, String> {
    match probed {
        Ok(h) => Ok(Ok(h)),
        Err(e) => {
            let line = format!("SKIP {test_name}: {e} (set RSYSLOGD=...)");
            if ci {
                Err(format!(
                    "{test_name}: CI is set and {e}: a CI run must not skip rsyslogd tests \
                     (set RSYSLOGD=/path/to/rsyslogd)"
                ))
            } else {
                Ok(Err(line))
            }
        }
    }
}

/// For tests: `Some(host)`, or — when rsyslogd is absent — prints one line
/// `SKIP <test>: no rsyslogd at <path> (set RSYSLOGD=...)` and returns `None`.
/// With env `CI=true` (or `1`) a missing rsyslogd panics instead.
///
/// The SKIP line is written straight to the process's stderr, so it shows up even though
/// libtest captures the test's `println!` output.
pub fn require_host(test_name: &str) -> Option<Host> {
    let ci = is_ci_value(std::env::var("CI").ok().as_deref());
    match decide(test_name, probe(&rsyslogd_path(), moddir_from_env()), ci) {
        Ok(Ok(h)) => Some(h),
        Ok(Err(line)) => {
            // Bypass libtest's output capture (it only captures print!/eprint!).
            // One write(2) so the line is not torn by parallel tests.
            let _ = std::io::stderr().lock().write_all(format!("{line}\n").as_bytes());
            None
        }
        Err(msg) => panic!("{msg}"),
    }
}

/// The rsyslog source tree built by `upstream/build.sh` that the current pass runs
/// against (env `RSYSLOG_TREE`, printed by `build.sh --print-env`); `None` for
/// Debian's rsyslogd, which has no tree.
pub fn host_tree() -> Option<PathBuf> {
    std::env::var_os("RSYSLOG_TREE")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// rsyslog's load generator `tcpflood`: env `RSYSLOG_TCPFLOOD` (test.sh sets it to
/// the 8.2504 build's for every pass, Debian's included), else the current host
/// tree's. `None` prints a SKIP line; under CI a missing tcpflood panics, since
/// test.sh builds it before any test runs.
pub fn require_tcpflood(test: &str) -> Option<PathBuf> {
    let path = std::env::var_os("RSYSLOG_TCPFLOOD")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| host_tree().map(|t| t.join("tests/tcpflood")));
    let why = match &path {
        Some(p) if p.is_file() => return path,
        Some(p) => format!("no tcpflood at {}", p.display()),
        None => "neither RSYSLOG_TCPFLOOD nor RSYSLOG_TREE is set".to_string(),
    };
    if is_ci_value(std::env::var("CI").ok().as_deref()) {
        panic!("{test}: CI is set and {why} (rsyslog-tests/upstream/build.sh builds it)");
    }
    let _ = std::io::stderr()
        .lock()
        .write_all(format!("SKIP {test}: {why} (run rsyslog-tests/upstream/build.sh)\n").as_bytes());
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_version_line() {
        let out = "rsyslogd  8.2302.0 (aka 2023.02) compiled with:\n\tPLATFORM:\t\tx86_64\n";
        assert_eq!(parse_version(out).as_deref(), Some("8.2302.0"));
        assert_eq!(
            parse_version("rsyslogd 8.2504.0.master (aka 2025.04) compiled with:").as_deref(),
            Some("8.2504.0.master")
        );
        assert_eq!(parse_version("garbage"), None);
        assert_eq!(version_tuple("8.2302.0"), (8, 2302, 0));
        assert_eq!(version_tuple("8.2504"), (8, 2504, 0));
        let h = Host {
            rsyslogd: "/x".into(),
            moddir: None,
            version: "8.2302.0".into(),
        };
        assert!(h.at_least("8.2302"));
        assert!(!h.at_least("8.2504.0"));
    }

    #[test]
    fn ci_values() {
        assert!(is_ci_value(Some("true")));
        assert!(is_ci_value(Some("TRUE")));
        assert!(is_ci_value(Some("1")));
        assert!(!is_ci_value(Some("0")));
        assert!(!is_ci_value(Some("false")));
        assert!(!is_ci_value(Some("")));
        assert!(!is_ci_value(None));
    }

    #[test]
    fn skip_or_panic_decision() {
        let missing = || Err(HostError::Missing("/nonexistent".into()));
        assert_eq!(
            decide("t1", missing(), false),
            Ok(Err(
                "SKIP t1: no rsyslogd at /nonexistent (set RSYSLOGD=...)".to_string()
            ))
        );
        let e = decide("t1", missing(), true).unwrap_err();
        assert!(e.contains("CI") && e.contains("/nonexistent"), "{e}");
        let h = Host {
            rsyslogd: "/x".into(),
            moddir: None,
            version: "8.2302.0".into(),
        };
        assert_eq!(decide("t", Ok(h.clone()), true), Ok(Ok(h)));
    }

    #[test]
    fn probe_missing_binary() {
        assert_eq!(
            probe(Path::new("/nonexistent/rsyslogd"), None),
            Err(HostError::Missing("/nonexistent/rsyslogd".into()))
        );
        // Exists but is not rsyslogd.
        assert!(matches!(
            probe(Path::new("/bin/true"), None),
            Err(HostError::Unusable(..))
        ));
    }
}
