//! rsyslog's `LogError`, `LogMsg` and debug output, and the guard that keeps
//! panics from crossing the C boundary.

use crate::abi::{ret, RsRetVal};
use crate::host::host;
use std::ffi::{c_int, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};

/// Syslog severities for [`log_msg`].
pub const LOG_ERR: c_int = 3;
pub const LOG_WARNING: c_int = 4;
pub const LOG_NOTICE: c_int = 5;
pub const LOG_INFO: c_int = 6;

fn to_cstring(msg: &str) -> CString {
    // Interior NULs would truncate the C string; rsyslog replaces control chars anyway.
    CString::new(msg.replace('\0', " ")).unwrap_or_default()
}

/// `LogError(errno, code, "%s", msg)`: severity LOG_ERR, rendered by rsyslog with
/// its ` [v8.x try https://www.rsyslog.com/e/<code> ]` suffix.
pub fn log_error(errno: c_int, code: RsRetVal, msg: &str) {
    let c = to_cstring(msg);
    match host().fns.LogError {
        // SAFETY: LogError is printf-like; the format is a literal "%s" with one C string.
        Some(f) => unsafe { f(errno, code, c"%s".as_ptr(), c.as_ptr()) },
        None => eprintln!("rsyslog-ffi: {msg} (code {code})"),
    }
}

/// `LogMsg(errno, code, severity, "%s", msg)`.
pub fn log_msg(errno: c_int, code: RsRetVal, severity: c_int, msg: &str) {
    let c = to_cstring(msg);
    match host().fns.LogMsg {
        // SAFETY: as log_error.
        Some(f) => unsafe { f(errno, code, severity, c"%s".as_ptr(), c.as_ptr()) },
        None => eprintln!("rsyslog-ffi: {msg} (code {code}, severity {severity})"),
    }
}

/// `parser_errmsg("%s", msg)`: a config error that names file and line.
pub fn parser_errmsg(msg: &str) {
    let c = to_cstring(msg);
    match host().fns.parser_errmsg {
        // SAFETY: printf-like with a literal "%s" format.
        Some(f) => unsafe { f(c"%s".as_ptr(), c.as_ptr()) },
        None => eprintln!("rsyslog-ffi: config error: {msg}"),
    }
}

/// `parser_warnmsg("%s", msg)`: a config warning that names file and line
/// ("warning during parsing file …, on or before line …: <msg>").
pub fn parser_warnmsg(msg: &str) {
    let c = to_cstring(msg);
    match host().fns.parser_warnmsg {
        // SAFETY: printf-like with a literal "%s" format.
        Some(f) => unsafe { f(c"%s".as_ptr(), c.as_ptr()) },
        None => log_msg(0, crate::abi::ret::CONF_PARSE_WARNING, LOG_WARNING, msg),
    }
}

/// True when rsyslogd runs with debug output on.
pub fn debug_enabled() -> bool {
    host().debug_on()
}

/// rsyslog's debug log (`-d`), a no-op unless debugging is on.
pub fn debug(src: &str, msg: &str) {
    if !debug_enabled() {
        return;
    }
    if let Some(f) = host().fns.r_dbgprintf {
        let s = to_cstring(src);
        let c = to_cstring(msg);
        // SAFETY: printf-like with a literal format and one C string.
        unsafe { f(s.as_ptr(), c"%s\n".as_ptr(), c.as_ptr()) }
    }
}

/// An error that carries an rsyslog return code and, optionally, the text to
/// log. Entry points log the text (if any) and return the code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RsError {
    pub code: RsRetVal,
    pub msg: Option<String>,
}

impl RsError {
    /// An error already reported (or needing no report).
    pub fn code(code: RsRetVal) -> Self {
        RsError { code, msg: None }
    }
    /// An error to be logged with `LogError` by the entry point.
    pub fn new(code: RsRetVal, msg: impl Into<String>) -> Self {
        RsError {
            code,
            msg: Some(msg.into()),
        }
    }
    /// Log the message, if any, and return the code.
    pub fn report(self) -> RsRetVal {
        if let Some(m) = &self.msg {
            log_error(0, self.code, m);
        }
        self.code
    }
}

impl std::fmt::Display for RsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.msg {
            Some(m) => write!(f, "{m} (rsyslog code {})", self.code),
            None => write!(f, "rsyslog code {}", self.code),
        }
    }
}

impl std::error::Error for RsError {}

pub type RsResult<T = ()> = Result<T, RsError>;

/// Turns a result into the code rsyslog expects, logging the error text.
pub fn to_code(r: RsResult) -> RsRetVal {
    match r {
        Ok(()) => ret::OK,
        Err(e) => e.report(),
    }
}

fn panic_text(p: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic payload".to_string()
    }
}

/// Runs `f`; a panic becomes RS_RET_INTERNAL_ERROR and one LogError line naming
/// the module and the entry point. Every `extern "C"` entry point goes through this.
pub fn guard(module: &str, entry: &str, f: impl FnOnce() -> RsRetVal) -> RsRetVal {
    guard_or(module, entry, ret::INTERNAL_ERROR, f)
}

thread_local! {
    static PANIC_AT: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
}

/// Replaces the default panic hook (which prints a backtrace on rsyslogd's
/// stderr): the location is kept for the guard's log line and the details go
/// to rsyslog's debug log. Installed once when a module loads.
pub fn install_panic_hook() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        std::panic::set_hook(Box::new(|info| {
            let at = info.location().map(|l| format!("{}:{}", l.file(), l.line()));
            if let Some(a) = &at {
                debug("rsyslog-ffi", &format!("panic at {a}: {}", panic_text(info.payload())));
            }
            PANIC_AT.with(|p| *p.borrow_mut() = at);
        }));
    });
}

/// Fault injection for tests: `RSYSLOG_RS_FAULT_INJECT=<module>:<entry point>`
/// makes that entry point panic inside its guard (read once per process).
fn injected_fault(module: &str, entry: &str) -> bool {
    static SPEC: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    SPEC.get_or_init(|| std::env::var("RSYSLOG_RS_FAULT_INJECT").ok())
        .as_deref()
        .is_some_and(|s| s.split_once(':') == Some((module, entry)))
}

/// Like [`guard`] with the value to return after a panic.
pub fn guard_or<T>(module: &str, entry: &str, on_panic: T, f: impl FnOnce() -> T) -> T {
    let run = || {
        if injected_fault(module, entry) {
            panic!("fault injected by RSYSLOG_RS_FAULT_INJECT");
        }
        f()
    };
    match catch_unwind(AssertUnwindSafe(run)) {
        Ok(v) => v,
        Err(p) => {
            let at = PANIC_AT
                .with(|a| a.borrow_mut().take())
                .map(|a| format!(" at {a}"))
                .unwrap_or_default();
            log_error(
                0,
                ret::INTERNAL_ERROR,
                &format!(
                    "{module}: internal error in {entry}: {}{at} - this is a bug, please report it",
                    panic_text(&*p)
                ),
            );
            on_panic
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guard_turns_panics_into_codes() {
        assert_eq!(guard("t", "ok", || 0), 0);
        assert_eq!(guard("t", "boom", || panic!("boom")), ret::INTERNAL_ERROR);
        assert_eq!(guard_or("t", "boom", 7u8, || panic!("x {}", 1)), 7);
    }

    #[test]
    fn errors_report_their_code() {
        assert_eq!(to_code(Ok(())), 0);
        assert_eq!(to_code(Err(RsError::new(-1000, "bad"))), -1000);
        assert_eq!(RsError::code(-5).to_string(), "rsyslog code -5");
    }
}
