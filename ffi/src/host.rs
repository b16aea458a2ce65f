//! rsyslogd's exported functions and variables, resolved with
//! `dlsym(RTLD_DEFAULT, ...)` when a module loads, never at link time: test
//! binaries link without rsyslogd, and a symbol an older host lacks is `None`.
#![allow(non_snake_case)]

use crate::abi::*;
use std::ffi::{c_char, c_int, c_uint, c_void, CStr};
use std::sync::OnceLock;

type Msg = *mut c_void;
type Prop = *mut c_void;

macro_rules! host_symbols {
    ( $( $field:ident : $sym:literal => $ty:ty ; )* ) => {
        /// Function pointers into the running rsyslogd (and the libraries it
        /// links, libfastjson). Every member is `None` outside rsyslogd.
        #[derive(Default)]
        pub struct HostFns { $( pub $field: Option<$ty>, )* }

        impl HostFns {
            fn resolve() -> Self {
                HostFns { $( $field: lookup($sym).map(|p| {
                    // SAFETY: the symbol has the C signature declared here (rsyslog-abi.md §4-7).
                    unsafe { std::mem::transmute_copy::<*mut c_void, $ty>(&p) }
                }), )* }
            }
            /// Names of the symbols that were not found.
            pub fn missing(&self) -> Vec<&'static str> {
                let mut v = Vec::new();
                $( if self.$field.is_none() { v.push($sym); } )*
                v
            }
        }
    };
}

fn lookup(name: &str) -> Option<*mut c_void> {
    let c = std::ffi::CString::new(name).ok()?;
    // SAFETY: dlsym with RTLD_DEFAULT only reads the global symbol table.
    let p = unsafe { libc::dlsym(libc::RTLD_DEFAULT, c.as_ptr()) };
    (!p.is_null()).then_some(p)
}

host_symbols! {
    LogError: "LogError" => unsafe extern "C" fn(c_int, RsRetVal, *const c_char, ...);
    LogMsg: "LogMsg" => unsafe extern "C" fn(c_int, RsRetVal, c_int, *const c_char, ...);
    r_dbgprintf: "r_dbgprintf" => unsafe extern "C" fn(*const c_char, *const c_char, ...);
    parser_errmsg: "parser_errmsg" => unsafe extern "C" fn(*const c_char, ...);
    parser_warnmsg: "parser_warnmsg" => unsafe extern "C" fn(*const c_char, ...);
    glblWarnIfInsecureDefault: "glblWarnIfInsecureDefault" => unsafe extern "C" fn(*mut c_void, *const c_char);
    glblGetWorkDirRaw: "glblGetWorkDirRaw" => unsafe extern "C" fn(*mut c_void) -> *const u8;
    nvlstGetParams: "nvlstGetParams" => unsafe extern "C" fn(*mut c_void, *const cnfparamblk, *mut cnfparamvals) -> *mut cnfparamvals;
    cnfparamvalsDestruct: "cnfparamvalsDestruct" => unsafe extern "C" fn(*const cnfparamvals, *const cnfparamblk);
    msgConstruct: "msgConstruct" => unsafe extern "C" fn(*mut Msg) -> RsRetVal;
    msgConstructWithTime: "msgConstructWithTime" => unsafe extern "C" fn(*mut Msg, *const SyslogTime, libc::time_t) -> RsRetVal;
    msgDestruct: "msgDestruct" => unsafe extern "C" fn(*mut Msg) -> RsRetVal;
    MsgSetRawMsg: "MsgSetRawMsg" => unsafe extern "C" fn(Msg, *const c_char, usize);
    MsgSetInputName: "MsgSetInputName" => unsafe extern "C" fn(Msg, Prop);
    MsgSetRcvFrom: "MsgSetRcvFrom" => unsafe extern "C" fn(Msg, Prop);
    MsgSetRcvFromIP: "MsgSetRcvFromIP" => unsafe extern "C" fn(Msg, Prop) -> RsRetVal;
    MsgSetRcvFromPort: "MsgSetRcvFromPort" => unsafe extern "C" fn(Msg, Prop) -> RsRetVal;
    MsgSetRuleset: "MsgSetRuleset" => unsafe extern "C" fn(Msg, *mut c_void);
    MsgSetTAG: "MsgSetTAG" => unsafe extern "C" fn(Msg, *const u8, usize);
    MsgSetFlowControlType: "MsgSetFlowControlType" => unsafe extern "C" fn(Msg, c_int) -> RsRetVal;
    MsgSetDfltTZ: "MsgSetDfltTZ" => unsafe extern "C" fn(Msg, *mut c_char);
    msgAddJSON: "msgAddJSON" => unsafe extern "C" fn(Msg, *const u8, *mut c_void, c_int, c_int) -> RsRetVal;
    submitMsg2: "submitMsg2" => unsafe extern "C" fn(Msg) -> RsRetVal;
    multiSubmitMsg2: "multiSubmitMsg2" => unsafe extern "C" fn(*mut multi_submit_t) -> RsRetVal;
    multiSubmitFlush: "multiSubmitFlush" => unsafe extern "C" fn(*mut multi_submit_t) -> RsRetVal;
    ratelimitNew: "ratelimitNew" => unsafe extern "C" fn(*mut *mut c_void, *const c_char, *const c_char) -> RsRetVal;
    ratelimitSetLinuxLike: "ratelimitSetLinuxLike" => unsafe extern "C" fn(*mut c_void, c_uint, c_uint);
    ratelimitSetThreadSafe: "ratelimitSetThreadSafe" => unsafe extern "C" fn(*mut c_void);
    ratelimitAddMsg: "ratelimitAddMsg" => unsafe extern "C" fn(*mut c_void, *mut multi_submit_t, Msg) -> RsRetVal;
    ratelimitDestruct: "ratelimitDestruct" => unsafe extern "C" fn(*mut c_void);
    ratelimitNewFromConfig: "ratelimitNewFromConfig" => unsafe extern "C" fn(*mut *mut c_void, *mut c_void, *const c_char, *const c_char, *const c_char) -> RsRetVal;
    rulesetGetRuleset: "rulesetGetRuleset" => unsafe extern "C" fn(*mut c_void, *mut *mut c_void, *const u8) -> RsRetVal;
    dnscacheLookup: "dnscacheLookup" => unsafe extern "C" fn(*mut libc::sockaddr_storage, *mut Prop, *mut Prop, *mut Prop, *mut Prop) -> RsRetVal;
    regCfSysLineHdlr2: "regCfSysLineHdlr2" => unsafe extern "C" fn(*const u8, c_int, c_int, *const c_void, *mut c_void, *mut c_void, *mut c_int) -> RsRetVal;
    unregCfSysLineHdlrs4Owner: "unregCfSysLineHdlrs4Owner" => unsafe extern "C" fn(*mut c_void) -> RsRetVal;
    glblGetMaxLine: "glblGetMaxLine" => unsafe extern "C" fn(*mut c_void) -> c_int;
    fjson_object_new_object: "fjson_object_new_object" => unsafe extern "C" fn() -> *mut c_void;
    fjson_object_new_array: "fjson_object_new_array" => unsafe extern "C" fn() -> *mut c_void;
    fjson_object_new_string_len: "fjson_object_new_string_len" => unsafe extern "C" fn(*const c_char, c_int) -> *mut c_void;
    fjson_object_new_int: "fjson_object_new_int" => unsafe extern "C" fn(i32) -> *mut c_void;
    fjson_object_new_int64: "fjson_object_new_int64" => unsafe extern "C" fn(i64) -> *mut c_void;
    fjson_object_new_boolean: "fjson_object_new_boolean" => unsafe extern "C" fn(c_int) -> *mut c_void;
    fjson_object_object_add: "fjson_object_object_add" => unsafe extern "C" fn(*mut c_void, *const c_char, *mut c_void);
    fjson_object_array_add: "fjson_object_array_add" => unsafe extern "C" fn(*mut c_void, *mut c_void) -> c_int;
    fjson_object_put: "fjson_object_put" => unsafe extern "C" fn(*mut c_void) -> c_int;
    fjson_object_to_json_string_ext: "fjson_object_to_json_string_ext" => unsafe extern "C" fn(*mut c_void, c_int) -> *const c_char;
}

/// Exported variables of rsyslogd (addresses).
pub struct HostVars {
    /// `int bTerminateInputs` (set once input shutdown begins)
    pub bTerminateInputs: Option<*mut c_int>,
    /// `int Debug`
    pub Debug: Option<*mut c_int>,
    /// `int GatherStats`
    pub GatherStats: Option<*mut c_int>,
    /// `rsconf_t *runConf`
    pub runConf: Option<*mut *mut c_void>,
}
// SAFETY: the addresses are of process-global variables that live as long as rsyslogd.
unsafe impl Send for HostVars {}
// SAFETY: as above; they are only read with atomic loads.
unsafe impl Sync for HostVars {}

/// Which rsyslog release family the host belongs to, told by symbols that
/// appeared in later releases.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum HostFamily {
    /// 8.2302 (Debian 12) and releases up to the worker-pool imtcp
    V2302,
    /// 8.2504 and later releases without `MsgSetRcvFromPort`
    V2504,
    /// current upstream (8.26xx) with `MsgSetRcvFromPort`
    Master,
}

pub struct Host {
    pub fns: HostFns,
    pub vars: HostVars,
    pub family: HostFamily,
}

static HOST: OnceLock<Host> = OnceLock::new();

/// The host, resolved on first use (modInit calls it first).
pub fn host() -> &'static Host {
    HOST.get_or_init(|| {
        let fns = HostFns::resolve();
        let var = |n: &str| lookup(n).map(|p| p.cast::<c_int>());
        let vars = HostVars {
            bTerminateInputs: var("bTerminateInputs"),
            Debug: var("Debug"),
            GatherStats: var("GatherStats"),
            runConf: lookup("runConf").map(|p| p.cast::<*mut c_void>()),
        };
        let family = if fns.MsgSetRcvFromPort.is_some() {
            HostFamily::Master
        } else if lookup("get_bHadHUP").is_some() || lookup("glblAbortOnProgramError").is_some() {
            HostFamily::V2504
        } else {
            HostFamily::V2302
        };
        Host { fns, vars, family }
    })
}

impl Host {
    /// True when running inside rsyslogd (the core logging function exists).
    pub fn present(&self) -> bool {
        self.fns.LogError.is_some() && self.fns.nvlstGetParams.is_some()
    }

    /// `bTerminateInputs != 0`
    pub fn inputs_terminating(&self) -> bool {
        read_flag(self.vars.bTerminateInputs)
    }

    /// `Debug != 0`
    pub fn debug_on(&self) -> bool {
        read_flag(self.vars.Debug)
    }

    /// The active configuration (`runConf`), null before activation.
    pub fn run_conf(&self) -> *mut c_void {
        match self.vars.runConf {
            // SAFETY: exported pointer variable of rsyslogd, set before modules are activated.
            Some(p) => unsafe { std::ptr::read_volatile(p) },
            None => std::ptr::null_mut(),
        }
    }

    /// The global maximum message size (`maxMessageSize`), 8096 outside rsyslogd.
    pub fn max_line(&self) -> usize {
        match self.fns.glblGetMaxLine {
            // SAFETY: glblGetMaxLine accepts the current runConf (may be the loading conf).
            Some(f) => unsafe { f(self.run_conf()) }.max(1) as usize,
            None => 8096,
        }
    }
}

/// Reads an exported `int` of rsyslogd (written by other threads) as a flag.
fn read_flag(p: Option<*mut c_int>) -> bool {
    match p {
        // SAFETY: the address of an exported int of rsyslogd, alive for the process; read atomically.
        Some(p) => unsafe {
            (*(p as *const std::sync::atomic::AtomicI32)).load(std::sync::atomic::Ordering::Relaxed) != 0
        },
        None => false,
    }
}

/// Render a C string from rsyslog (may be null) for logging.
pub(crate) fn cstr_lossy(p: *const c_char) -> String {
    if p.is_null() {
        return String::new();
    }
    // SAFETY: callers pass NUL-terminated strings owned by rsyslog.
    unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outside_rsyslogd_nothing_resolves() {
        let h = host();
        assert!(!h.present());
        assert!(!h.inputs_terminating());
        assert_eq!(h.max_line(), 8096);
        assert!(h.fns.missing().contains(&"submitMsg2"));
    }
}
