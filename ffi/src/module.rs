//! One way for a module crate to be an rsyslog input module (config v2):
//! implement [`InputModule`], call [`declare_input_module!`], and export
//! `modInit` calling [`mod_init`]. This file holds every `extern "C"` entry
//! point rsyslogd asks an input module for; each one is guarded so a panic
//! becomes an error code and a log line.

use crate::abi::*;
use crate::config::{NvList, ParamBlock, Params};
use crate::host::{host, HostFamily};
use crate::legacy::{self, LegacyDirective, LegacyKind, LegacyValue, Permitted};
use crate::log::{guard, log_error, to_code, RsError, RsResult};
use crate::msg::ConfPtr;
use std::ffi::{c_int, c_void, CStr};
use std::sync::atomic::{AtomicI32, AtomicPtr, Ordering};
use std::sync::Mutex;

/// What a module implements. The config object (`Conf`) is created per
/// configuration load, filled by `set_mod_cnf`/`new_inp_inst`, checked,
/// activated, and shared (read-only, `Sync`) with the input thread.
pub trait InputModule: Sized + 'static {
    /// The name `input(type="...")` uses, e.g. `c"imtcp"`.
    const NAME: &'static CStr;
    /// Per-configuration state.
    type Conf: Send + Sync + 'static;
    /// What follows "<name>: " when the module parameters cannot be processed
    /// (the C modules word it differently).
    const MODULE_PARAMS_ERROR: &'static str = "error processing module config parameters [module(...)]";

    /// Parameters of `module(load=...)`.
    fn module_params() -> &'static ParamBlock;
    /// Parameters of `input(type=...)`.
    fn input_params() -> &'static ParamBlock;

    /// A fresh config object (beginCnfLoad).
    fn new_conf(conf: ConfPtr) -> Self::Conf;
    /// `module(...)` parameters (setModCnf). An error rejects the module load.
    fn set_mod_cnf(conf: &mut Self::Conf, params: &Params) -> RsResult;
    /// One `input(...)` statement (newInpInst).
    fn new_input(conf: &mut Self::Conf, params: &Params) -> RsResult;
    /// endCnfLoad
    fn end_cnf_load(_conf: &mut Self::Conf) {}
    /// checkCnf: an error stops activation (also the stage `-N1` stops at).
    fn check_cnf(conf: &mut Self::Conf) -> RsResult;
    /// activateCnfPrePrivDrop (after the fork, before privileges drop).
    fn activate_pre_priv_drop(_conf: &mut Self::Conf) -> RsResult {
        Ok(())
    }
    /// activateCnf (after privileges drop).
    fn activate(conf: &mut Self::Conf) -> RsResult;
    /// willRun: `Err` (e.g. RS_RET_NO_RUN) means no input thread.
    fn will_run(_conf: &Self::Conf) -> RsResult {
        Ok(())
    }
    /// runInput, on rsyslog's input thread. Must return promptly once
    /// `thread.should_stop()` turns true, with every accepted message submitted.
    fn run(conf: &Self::Conf, thread: &InputThread) -> RsResult;
    /// afterRun, on the main thread after the input thread was joined.
    fn after_run(_conf: &Self::Conf) {}
    /// doHUP
    fn hup(_conf: &Self::Conf) {}
    /// Legacy `$Directive`s, registered in modInit (see [`crate::legacy`]); each
    /// is applied to the config being loaded. Registered only when the module
    /// runs under its own name (not as a renamed copy beside the C module).
    fn legacy_directives() -> &'static [LegacyDirective<Self::Conf>] {
        &[]
    }
}

/// Per-module globals (`declare_input_module!` defines one static).
pub struct Globals {
    /// The config being loaded (between beginCnfLoad and endCnfLoad).
    load: AtomicPtr<c_void>,
    /// The activated config (from activateCnf until freeCnf).
    run: AtomicPtr<c_void>,
    /// The lock serialising config entry points (all come from the main thread).
    lock: Mutex<()>,
    /// The name `input(type=...)` uses, fixed at the first getModCnfName.
    cnf_name: std::sync::OnceLock<std::ffi::CString>,
    /// Are module-global legacy directives permitted? (1 from beginCnfLoad,
    /// 0 once a `module()` statement configured the module; rsyslog reads it.)
    legacy_permitted: Permitted,
}

impl Globals {
    pub const fn new() -> Self {
        Globals {
            load: AtomicPtr::new(std::ptr::null_mut()),
            run: AtomicPtr::new(std::ptr::null_mut()),
            lock: Mutex::new(()),
            cnf_name: std::sync::OnceLock::new(),
            legacy_permitted: Permitted::new(),
        }
    }
}

impl Default for Globals {
    fn default() -> Self {
        Self::new()
    }
}

/// Access to the module's globals; implemented by [`declare_input_module!`].
pub trait HasGlobals: InputModule {
    fn globals() -> &'static Globals;
}

/// Declares the globals of an input module type.
#[macro_export]
macro_rules! declare_input_module {
    ($ty:ty) => {
        static __RSYSLOG_FFI_GLOBALS: $crate::module::Globals = $crate::module::Globals::new();
        impl $crate::module::HasGlobals for $ty {
            fn globals() -> &'static $crate::module::Globals {
                &__RSYSLOG_FFI_GLOBALS
            }
        }
    };
}

fn mname<M: InputModule>() -> &'static str {
    M::NAME.to_str().unwrap_or("module")
}

/// The config object behind a pointer rsyslog passes back to us.
///
/// # Safety
/// `p` must be null or a pointer made by `begin_cnf_load::<M>` and not yet freed.
unsafe fn conf_mut<'a, M: InputModule>(p: *mut c_void) -> Option<&'a mut M::Conf> {
    // SAFETY: per the function contract.
    unsafe { (p as *mut M::Conf).as_mut() }
}

// --- entry points -----------------------------------------------------------

extern "C" fn get_type<M: InputModule>(out: *mut c_int) -> RsRetVal {
    guard(mname::<M>(), "getType", || {
        if out.is_null() {
            return ret::PARAM_ERROR;
        }
        // SAFETY: rsyslog passes a valid out-pointer (checked non-null).
        unsafe { *out = EMOD_IN };
        ret::OK
    })
}

extern "C" fn get_keep_type<M: InputModule>(out: *mut c_int) -> RsRetVal {
    guard(mname::<M>(), "getKeepType", || {
        if out.is_null() {
            return ret::PARAM_ERROR;
        }
        // Never dlclose a Rust image (thread-local destructors may still be registered).
        // SAFETY: valid out-pointer (checked non-null).
        unsafe { *out = EMOD_KEEP };
        ret::OK
    })
}

extern "C" fn mod_get_id<M: InputModule>(out: *mut *mut c_void) -> RsRetVal {
    guard(mname::<M>(), "modGetID", || {
        if out.is_null() {
            return ret::PARAM_ERROR;
        }
        // SAFETY: valid out-pointer; any unique address serves as the owner cookie.
        unsafe { *out = owner_cookie() };
        ret::OK
    })
}

/// The owner cookie (modGetID) under which rsyslog files our legacy directives.
fn owner_cookie() -> *mut c_void {
    mod_exit as *const () as *mut c_void
}

extern "C" fn mod_exit() -> RsRetVal {
    guard("module", "modExit", || ret::OK)
}

extern "C" fn is_compatible_with_feature(feat: c_int) -> RsRetVal {
    guard("module", "isCompatibleWithFeature", || {
        // Cooperative termination: rsyslog must never pthread_cancel a Rust thread.
        if feat == SFEATURE_NON_CANCEL_INPUT_TERMINATION {
            ret::OK
        } else {
            ret::INCOMPATIBLE
        }
    })
}

/// The prefix that gives a copy of a module a configuration name of its
/// own: ours loaded from `rsimtcp.so` is `input(type="rsimtcp")`, so it can
/// run beside rsyslog's C `imtcp` in one rsyslogd.
pub const SIDE_BY_SIDE_PREFIX: &str = "rs";

/// The configuration name of a module loaded from `file`: the module's own
/// name (`imtcp`), whatever the file is called, except for a file named
/// `rs<own name>.so` ([`SIDE_BY_SIDE_PREFIX`]), which is `rs<own name>`. A
/// packager's or admin's choice of file name (`imtcp-rust.so`,
/// `ours-imtcp.so`, `libimtcp.so`) never changes what the configuration
/// calls the module, as with rsyslog's C modules.
pub fn cnf_name_for_file(own: &CStr, file: Option<&std::path::Path>) -> std::ffi::CString {
    let side_by_side = format!("{SIDE_BY_SIDE_PREFIX}{}", own.to_string_lossy());
    let file_name = file
        .and_then(|f| f.file_name())
        .map(|n| n.to_string_lossy().into_owned());
    if file_name.as_deref() == Some(format!("{side_by_side}.so").as_str()) {
        std::ffi::CString::new(side_by_side).unwrap_or_else(|_| own.to_owned())
    } else {
        own.to_owned()
    }
}

/// The module's config name, from the file it was loaded from.
fn cnf_name<M: HasGlobals>() -> &'static std::ffi::CString {
    M::globals().cnf_name.get_or_init(|| {
        let file = crate::sys::object_file_of(get_mod_cnf_name::<M> as *const () as usize);
        cnf_name_for_file(M::NAME, file.as_deref())
    })
}

extern "C" fn get_mod_cnf_name<M: HasGlobals>(out: *mut *const u8) -> RsRetVal {
    guard(mname::<M>(), "getModCnfName", || {
        if out.is_null() {
            return ret::PARAM_ERROR;
        }
        let name = cnf_name::<M>();
        // SAFETY: rsyslog strdup()s the name, which lives as long as the module.
        unsafe { *out = name.as_ptr().cast() };
        ret::OK
    })
}

extern "C" fn begin_cnf_load<M: HasGlobals>(pp: *mut *mut c_void, pconf: *mut c_void) -> RsRetVal {
    guard(mname::<M>(), "beginCnfLoad", || {
        if pp.is_null() {
            return ret::PARAM_ERROR;
        }
        let g = M::globals();
        let _l = g.lock.lock().unwrap_or_else(|e| e.into_inner());
        let conf = Box::into_raw(Box::new(M::new_conf(ConfPtr(pconf)))) as *mut c_void;
        g.load.store(conf, Ordering::Release);
        g.legacy_permitted.set(true);
        // SAFETY: valid out-pointer; rsyslog passes it back to later config calls.
        unsafe { *pp = conf };
        ret::OK
    })
}

/// Which config object a config entry point works on.
enum Which {
    /// The one being loaded (setModCnf and newInpInst get no pointer).
    Loading,
    /// The pointer rsyslog passed back.
    Given(*mut c_void),
}

/// The common frame of the config entry points: guard, lock, resolve the
/// config object, run `f` on it.
fn with_conf<M: HasGlobals>(entry: &str, which: Which, f: impl FnOnce(&mut M::Conf) -> RsRetVal) -> RsRetVal {
    guard(mname::<M>(), entry, || {
        let g = M::globals();
        let _l = g.lock.lock().unwrap_or_else(|e| e.into_inner());
        let (p, missing) = match which {
            Which::Loading => (g.load.load(Ordering::Acquire), ret::INTERNAL_ERROR),
            Which::Given(p) => (p, ret::PARAM_ERROR),
        };
        // SAFETY: p is null or the object beginCnfLoad made for this load cycle, not yet freed.
        match unsafe { conf_mut::<M>(p) } {
            Some(c) => f(c),
            None => missing,
        }
    })
}

/// Parses a statement's parameters; on failure logs `what` as the C modules do.
fn with_params(lst: *mut c_void, blk: &ParamBlock, what: &str, f: impl FnOnce(&Params) -> RsResult) -> RsRetVal {
    match Params::parse(NvList(lst), blk) {
        Ok(p) => to_code(f(&p)),
        Err(e) => {
            log_error(0, ret::MISSING_CNFPARAMS, what);
            e.code
        }
    }
}

extern "C" fn set_mod_cnf<M: HasGlobals>(lst: *mut c_void) -> RsRetVal {
    with_conf::<M>("setModCnf", Which::Loading, |conf| {
        let what = format!("{}: {}", mname::<M>(), M::MODULE_PARAMS_ERROR);
        let r = with_params(lst, M::module_params(), &what, |p| M::set_mod_cnf(conf, p));
        if r == ret::OK {
            // As the C modules: module-global legacy directives are refused from now on.
            M::globals().legacy_permitted.set(false);
        }
        r
    })
}

// --- legacy directive handlers (rsyslog calls them while parsing the config) --

/// Applies a legacy directive to the config being loaded.
fn legacy_apply<'v, M: HasGlobals>(cookie: *mut c_void, value: impl FnOnce(LegacyKind) -> LegacyValue<'v>) -> RsRetVal {
    with_conf::<M>("legacy directive", Which::Loading, |conf| {
        match legacy::find(M::legacy_directives(), cookie) {
            Some(d) => to_code((d.apply)(conf, value(d.kind))),
            None => ret::INTERNAL_ERROR,
        }
    })
}

/// `eCmdHdlrGetWord` handler: `(void *pData, uchar *word)`, the word is ours to free.
extern "C" fn legacy_word<M: HasGlobals>(cookie: *mut c_void, word: *mut u8) -> RsRetVal {
    // SAFETY: cfsysline.c doGetWord hands the handler a malloc'ed NUL-terminated word it must free.
    let w = unsafe { legacy::take_word(word) };
    legacy_apply::<M>(cookie, |_| LegacyValue::Word(&w))
}

/// `eCmdHdlrBinary` / `eCmdHdlrInt` handler: `(void *pData, int value)`.
extern "C" fn legacy_int<M: HasGlobals>(cookie: *mut c_void, v: c_int) -> RsRetVal {
    legacy_apply::<M>(cookie, |k| legacy::int_value(k, v))
}

/// `eCmdHdlrCustomHandler` handler: `(uchar **pp, void *pData)`; takes no argument.
extern "C" fn legacy_custom<M: HasGlobals>(_pp: *mut *mut u8, cookie: *mut c_void) -> RsRetVal {
    legacy_apply::<M>(cookie, |_| LegacyValue::None)
}

/// Registers the module's legacy directives (modInit, after the handshake).
fn register_legacy<M: HasGlobals>(host_query: HostQueryEtryPt) -> RsResult {
    let table = M::legacy_directives();
    if table.is_empty() {
        return Ok(());
    }
    let name = cnf_name::<M>();
    if name.as_c_str() != M::NAME {
        crate::log::debug(
            mname::<M>(),
            &format!(
                "{}: loaded as '{}': legacy directives left to the module named '{}'",
                mname::<M>(),
                name.to_string_lossy(),
                mname::<M>()
            ),
        );
        return Ok(());
    }
    let q = host_query.ok_or_else(|| RsError::code(ret::PARAM_ERROR))?;
    let mut p: EntryPoint = std::ptr::null();
    // SAFETY: host entry point lookup with a NUL-terminated name and a valid out-pointer.
    let r = unsafe { q(c"regCfSysLineHdlr".as_ptr().cast(), &mut p) };
    if r != ret::OK || p.is_null() {
        return Err(RsError::new(
            if r == ret::OK { ret::MISSING_INTERFACE } else { r },
            format!("{}: rsyslogd offers no regCfSysLineHdlr", mname::<M>()),
        ));
    }
    // SAFETY: the host's regCfSysLineHdlr has this signature (rsyslog-abi.md §1.3, runtime/cfsysline.h).
    let reg = unsafe { std::mem::transmute::<EntryPoint, legacy::RegFn>(p) };
    let tr = legacy::Trampolines {
        word: legacy_word::<M>,
        int: legacy_int::<M>,
        custom: legacy_custom::<M>,
    };
    legacy::register(
        mname::<M>(),
        table,
        reg,
        &tr,
        owner_cookie(),
        &M::globals().legacy_permitted,
    )
}

extern "C" fn new_inp_inst<M: HasGlobals>(lst: *mut c_void) -> RsRetVal {
    with_conf::<M>("newInpInst", Which::Loading, |conf| {
        let what = format!("{}: required parameters are missing", mname::<M>());
        with_params(lst, M::input_params(), &what, |p| M::new_input(conf, p))
    })
}

extern "C" fn end_cnf_load<M: HasGlobals>(p: *mut c_void) -> RsRetVal {
    let r = with_conf::<M>("endCnfLoad", Which::Given(p), |c| {
        M::end_cnf_load(c);
        ret::OK
    });
    M::globals().load.store(std::ptr::null_mut(), Ordering::Release);
    r
}

extern "C" fn check_cnf<M: HasGlobals>(p: *mut c_void) -> RsRetVal {
    with_conf::<M>("checkCnf", Which::Given(p), |c| to_code(M::check_cnf(c)))
}

extern "C" fn activate_cnf_pre_priv_drop<M: HasGlobals>(p: *mut c_void) -> RsRetVal {
    with_conf::<M>("activateCnfPrePrivDrop", Which::Given(p), |c| {
        to_code(M::activate_pre_priv_drop(c))
    })
}

extern "C" fn activate_cnf<M: HasGlobals>(p: *mut c_void) -> RsRetVal {
    with_conf::<M>("activateCnf", Which::Given(p), |c| {
        let r = to_code(M::activate(c));
        if r == ret::OK {
            M::globals().run.store(p, Ordering::Release);
        }
        r
    })
}

extern "C" fn free_cnf<M: HasGlobals>(p: *mut c_void) -> RsRetVal {
    guard(mname::<M>(), "freeCnf", || {
        let g = M::globals();
        let _l = g.lock.lock().unwrap_or_else(|e| e.into_inner());
        if p.is_null() {
            return ret::OK;
        }
        let _ = g
            .run
            .compare_exchange(p, std::ptr::null_mut(), Ordering::AcqRel, Ordering::Acquire);
        let _ = g
            .load
            .compare_exchange(p, std::ptr::null_mut(), Ordering::AcqRel, Ordering::Acquire);
        // SAFETY: p came from Box::into_raw in beginCnfLoad and rsyslog frees it exactly once.
        drop(unsafe { Box::from_raw(p as *mut M::Conf) });
        ret::OK
    })
}

/// The activated config, shared with the input thread.
fn run_conf<'a, M: HasGlobals>() -> Option<&'a M::Conf> {
    // SAFETY: the run config stays alive until freeCnf, which rsyslog calls
    // only after the input thread was joined and afterRun returned.
    unsafe { (M::globals().run.load(Ordering::Acquire) as *const M::Conf).as_ref() }
}

extern "C" fn will_run<M: HasGlobals>() -> RsRetVal {
    guard(mname::<M>(), "willRun", || match run_conf::<M>() {
        Some(c) => to_code(M::will_run(c)),
        None => ret::NO_RUN,
    })
}

extern "C" fn run_input<M: HasGlobals>(thrd: *mut c_void) -> RsRetVal {
    guard(mname::<M>(), "runInput", || {
        let Some(c) = run_conf::<M>() else {
            return ret::NO_RUN;
        };
        let t = InputThread { thrd };
        to_code(M::run(c, &t))
    })
}

extern "C" fn after_run<M: HasGlobals>(_thrd: *mut c_void) -> RsRetVal {
    guard(mname::<M>(), "afterRun", || {
        if let Some(c) = run_conf::<M>() {
            M::after_run(c);
        }
        ret::OK
    })
}

extern "C" fn do_hup<M: HasGlobals>(_p: *mut c_void) -> RsRetVal {
    guard(mname::<M>(), "doHUP", || {
        if let Some(c) = run_conf::<M>() {
            M::hup(c);
        }
        ret::OK
    })
}

/// Every entry point this layer answers, by the name rsyslogd asks for.
pub fn entry_points<M: HasGlobals>() -> [(&'static str, EntryPoint); 18] {
    [
        ("getType", get_type::<M> as *const c_void),
        ("getKeepType", get_keep_type::<M> as *const c_void),
        ("modGetID", mod_get_id::<M> as *const c_void),
        ("modExit", mod_exit as *const c_void),
        ("isCompatibleWithFeature", is_compatible_with_feature as *const c_void),
        ("getModCnfName", get_mod_cnf_name::<M> as *const c_void),
        ("beginCnfLoad", begin_cnf_load::<M> as *const c_void),
        ("setModCnf", set_mod_cnf::<M> as *const c_void),
        ("endCnfLoad", end_cnf_load::<M> as *const c_void),
        ("checkCnf", check_cnf::<M> as *const c_void),
        (
            "activateCnfPrePrivDrop",
            activate_cnf_pre_priv_drop::<M> as *const c_void,
        ),
        ("activateCnf", activate_cnf::<M> as *const c_void),
        ("freeCnf", free_cnf::<M> as *const c_void),
        ("newInpInst", new_inp_inst::<M> as *const c_void),
        ("willRun", will_run::<M> as *const c_void),
        ("runInput", run_input::<M> as *const c_void),
        ("afterRun", after_run::<M> as *const c_void),
        ("doHUP", do_hup::<M> as *const c_void),
    ]
}

fn entry_point<M: HasGlobals>(name: &[u8]) -> Option<EntryPoint> {
    entry_points::<M>()
        .into_iter()
        .find(|(n, _)| n.as_bytes() == name)
        .map(|(_, f)| f)
}

extern "C" fn query_etry_pt<M: HasGlobals>(name: *const u8, out: *mut EntryPoint) -> RsRetVal {
    guard(mname::<M>(), "queryEtryPt", || {
        if name.is_null() || out.is_null() {
            return ret::PARAM_ERROR;
        }
        // SAFETY: rsyslog passes a NUL-terminated entry point name.
        let n = unsafe { CStr::from_ptr(name.cast()) }.to_bytes();
        let (f, r) = match entry_point::<M>(n) {
            Some(f) => (f, ret::OK),
            None => (std::ptr::null(), ret::MODULE_ENTRY_POINT_NOT_FOUND),
        };
        // SAFETY: valid out-pointer (checked non-null).
        unsafe { *out = f };
        r
    })
}

/// The query function as rsyslog stores it.
pub fn query_fn<M: HasGlobals>() -> EntryPoint {
    query_etry_pt::<M> as *const c_void
}

/// Looks an entry point up as rsyslogd does (for tests).
pub fn query<M: HasGlobals>(name: &CStr) -> (RsRetVal, EntryPoint) {
    let mut p: EntryPoint = std::ptr::null();
    let r = query_etry_pt::<M>(name.as_ptr().cast(), &mut p);
    (r, p)
}

/// Result of the load-time handshake, kept for log texts and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostInfo {
    pub family: HostFamily,
    pub glbl: c_int,
    pub statsobj: c_int,
}

static HOST_INFO: Mutex<Option<HostInfo>> = Mutex::new(None);
static LOADS: AtomicI32 = AtomicI32::new(0);

/// The negotiated host, once a module loaded.
pub fn host_info() -> Option<HostInfo> {
    *HOST_INFO.lock().unwrap_or_else(|e| e.into_inner())
}

/// The body of each module's exported `modInit`. It is a safe function
/// taking raw pointers so that module crates need no `unsafe`: it is meant to
/// be called only from `modInit`, whose caller (rsyslogd) passes valid
/// pointers, and it rejects null ones.
///
/// It checks the module interface version, resolves rsyslogd's functions, negotiates the object interfaces,
/// and hands back `queryEtryPt`. An unsupported host gets one clear error line
/// and the load is refused.
#[allow(clippy::not_unsafe_ptr_arg_deref)]
pub fn mod_init<M: HasGlobals>(
    requested: c_int,
    provided: *mut c_int,
    query_out: *mut EntryPoint,
    host_query: HostQueryEtryPt,
    _mod_info: *mut c_void,
) -> RsRetVal {
    let name = mname::<M>();
    guard(name, "modInit", || {
        if provided.is_null() || query_out.is_null() || host_query.is_none() {
            return ret::PARAM_ERROR;
        }
        crate::log::install_panic_hook();
        let h = host();
        let result: RsResult<HostInfo> = (|| {
            if requested != CURR_MOD_IF_VERSION {
                return Err(RsError::new(
                    ret::MISSING_INTERFACE,
                    format!("module interface version {requested} requested, this module speaks {CURR_MOD_IF_VERSION}"),
                ));
            }
            let missing: Vec<_> = h
                .fns
                .missing()
                .into_iter()
                .filter(|s| !OPTIONAL_SYMBOLS.contains(s))
                .collect();
            if !missing.is_empty() {
                return Err(RsError::new(
                    ret::MISSING_INTERFACE,
                    format!("rsyslogd does not export {}", missing.join(", ")),
                ));
            }
            let ifs = crate::obj::init(host_query)?;
            Ok(HostInfo {
                family: h.family,
                glbl: ifs.glbl.version,
                statsobj: ifs.statsobj.version,
            })
        })();
        match result {
            Ok(info) => {
                // C modules register their directives in modInit and fail the load if one is refused.
                if let Err(e) = register_legacy::<M>(host_query) {
                    return e.report();
                }
                *HOST_INFO.lock().unwrap_or_else(|e| e.into_inner()) = Some(info);
                LOADS.fetch_add(1, Ordering::Relaxed);
                crate::log::debug(name, &format!("{name}: loaded into rsyslog host {info:?}"));
                // SAFETY: rsyslog passes valid out-pointers (checked non-null).
                unsafe {
                    *provided = CURR_MOD_IF_VERSION;
                    *query_out = query_fn::<M>();
                }
                ret::OK
            }
            Err(e) => {
                let code = e.code;
                log_error(
                    0,
                    code,
                    &format!(
                        "{name}: unsupported rsyslog host, refusing to load: {} (supported: rsyslog 8.2302 to current upstream)",
                        e.msg.as_deref().unwrap_or("unknown reason")
                    ),
                );
                code
            }
        }
    })
}

/// Host symbols a module can do without (absent from some supported hosts).
pub const OPTIONAL_SYMBOLS: &[&str] = &[
    "MsgSetRcvFromPort",
    "r_dbgprintf",
    "fjson_object_to_json_string_ext",
    "ratelimitNewFromConfig",
    "parser_warnmsg",
    // current upstream's compatibility.defaults.secure (see crate::compat)
    "glblWarnIfInsecureDefault",
    "glblGetWorkDirRaw",
    // only modules with legacy directives need these (their registration then fails)
    "regCfSysLineHdlr2",
    "unregCfSysLineHdlrs4Owner",
];

/// rsyslog's input thread (`thrdInfo_t*`), as runInput receives it.
pub struct InputThread {
    thrd: *mut c_void,
}
// SAFETY: the thread info outlives runInput and is only read (bShallStop, atomically).
unsafe impl Send for InputThread {}
// SAFETY: as above.
unsafe impl Sync for InputThread {}

impl InputThread {
    /// True once rsyslog asked this input to stop (`bShallStop`) or input
    /// termination began globally (`bTerminateInputs`).
    pub fn should_stop(&self) -> bool {
        if host().inputs_terminating() {
            return true;
        }
        if self.thrd.is_null() {
            return false;
        }
        // SAFETY: bShallStop is an int at byte 92 of thrdInfo_t in every supported host; the core
        // writes it from the main thread, so read it atomically.
        unsafe {
            (*((self.thrd as *const u8).add(THRD_SHALL_STOP_OFFSET) as *const AtomicI32)).load(Ordering::Relaxed) != 0
        }
    }

    /// A stand-in for tests: stops when `flag` turns true.
    pub fn for_test() -> InputThread {
        InputThread {
            thrd: std::ptr::null_mut(),
        }
    }
}

/// Blocks every signal but SIGTTIN and SIGSEGV in the calling thread, as
/// rsyslog does for input threads (threads we spawn inherit it).
pub fn block_signals_like_input_thread() {
    // SAFETY: plain signal-mask calls on a local set.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut set);
        libc::sigdelset(&mut set, libc::SIGTTIN);
        libc::sigdelset(&mut set, libc::SIGSEGV);
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
    }
}

/// The configuration pointer helpers modules need for ruleset lookups.
impl ConfPtr {
    pub fn is_null(&self) -> bool {
        self.0.is_null()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::param_block;

    struct Dummy;
    param_block!(MP = ["a": Binary]);
    param_block!(IP = [#[required] "port": String]);
    impl InputModule for Dummy {
        const NAME: &'static CStr = c"imdummy";
        type Conf = Vec<u32>;
        fn module_params() -> &'static ParamBlock {
            &MP
        }
        fn input_params() -> &'static ParamBlock {
            &IP
        }
        fn new_conf(_: ConfPtr) -> Vec<u32> {
            vec![1]
        }
        fn set_mod_cnf(_: &mut Vec<u32>, _: &Params) -> RsResult {
            Ok(())
        }
        fn new_input(_: &mut Vec<u32>, _: &Params) -> RsResult {
            Ok(())
        }
        fn check_cnf(c: &mut Vec<u32>) -> RsResult {
            if c.is_empty() {
                panic!("empty config")
            }
            Ok(())
        }
        fn activate(_: &mut Vec<u32>) -> RsResult {
            Ok(())
        }
        fn run(_: &Vec<u32>, _: &InputThread) -> RsResult {
            Ok(())
        }
    }
    crate::declare_input_module!(Dummy);

    #[test]
    fn answers_every_entry_point_and_minus_1004_for_others() {
        // What rsyslogd's doModInit asks an input module for (rsyslog-abi.md §2.1),
        // written out here independently of entry_points().
        let required = [
            "getType",
            "getKeepType",
            "modGetID",
            "modExit",
            "isCompatibleWithFeature",
            "getModCnfName",
            "beginCnfLoad",
            "endCnfLoad",
            "freeCnf",
            "checkCnf",
            "activateCnf",
            "activateCnfPrePrivDrop",
            "setModCnf",
            "runInput",
            "willRun",
            "afterRun",
            "newInpInst",
            "doHUP",
        ];
        assert_eq!(entry_points::<Dummy>().len(), required.len());
        for n in required {
            let c = std::ffi::CString::new(n).unwrap();
            let (r, p) = query::<Dummy>(&c);
            assert_eq!(r, ret::OK, "{n}");
            assert!(!p.is_null(), "{n}");
        }
        let (r, p) = query::<Dummy>(c"setActionInfo");
        assert_eq!(r, ret::MODULE_ENTRY_POINT_NOT_FOUND);
        assert!(p.is_null());
        assert_eq!(
            query_etry_pt::<Dummy>(std::ptr::null(), std::ptr::null_mut()),
            ret::PARAM_ERROR
        );
    }

    #[test]
    fn config_cycle_and_panic_guard() {
        let mut t = 0;
        assert_eq!(get_type::<Dummy>(&mut t), ret::OK);
        assert_eq!(t, EMOD_IN);
        assert_eq!(is_compatible_with_feature(2), ret::OK);
        assert_eq!(is_compatible_with_feature(1), ret::INCOMPATIBLE);
        let mut p: *mut c_void = std::ptr::null_mut();
        assert_eq!(begin_cnf_load::<Dummy>(&mut p, std::ptr::null_mut()), ret::OK);
        assert!(!p.is_null());
        // No rsyslogd: parameter parsing fails cleanly instead of crashing.
        assert_ne!(set_mod_cnf::<Dummy>(std::ptr::null_mut()), ret::OK);
        assert_eq!(end_cnf_load::<Dummy>(p), ret::OK);
        assert_eq!(check_cnf::<Dummy>(p), ret::OK);
        // SAFETY: p is our config object.
        unsafe { conf_mut::<Dummy>(p) }.unwrap().clear();
        assert_eq!(
            check_cnf::<Dummy>(p),
            ret::INTERNAL_ERROR,
            "a panic becomes an error code"
        );
        assert_eq!(activate_cnf::<Dummy>(p), ret::OK);
        assert_eq!(will_run::<Dummy>(), ret::OK);
        assert_eq!(free_cnf::<Dummy>(p), ret::OK);
        assert_eq!(will_run::<Dummy>(), ret::NO_RUN);
    }

    #[test]
    fn mod_init_refuses_without_host() {
        let mut v = 0;
        let mut q: EntryPoint = std::ptr::null();
        assert_eq!(
            mod_init::<Dummy>(6, &mut v, &mut q, None, std::ptr::null_mut()),
            ret::PARAM_ERROR
        );
        unsafe extern "C" fn hq(_: *const u8, _: *mut EntryPoint) -> RsRetVal {
            ret::MODULE_ENTRY_POINT_NOT_FOUND
        }
        assert_ne!(
            mod_init::<Dummy>(6, &mut v, &mut q, Some(hq), std::ptr::null_mut()),
            ret::OK
        );
        assert!(q.is_null());
    }
}

#[cfg(test)]
mod cnf_name_tests {
    use super::cnf_name_for_file;
    use std::ffi::CStr;
    use std::path::Path;

    #[test]
    fn name_is_the_modules_own_except_for_the_rs_prefix() {
        let n = |own: &CStr, f: Option<&str>| cnf_name_for_file(own, f.map(Path::new)).into_string().unwrap();
        let t = |f: Option<&str>| n(c"imtcp", f);
        assert_eq!(t(Some("/usr/lib/rsyslog/imtcp.so")), "imtcp");
        assert_eq!(t(Some("/x/target/release/libimtcp.so")), "imtcp");
        // file names a packager or an admin may choose keep the module's name
        for f in [
            "/usr/lib/rsyslog/ours-imtcp.so",
            "/opt/imtcp-rust.so",
            "/x/with space.so",
            "/x/rsimtcp",
            "/x/rsimpcap.so",
            "/x/RSimtcp.so",
            "/x/rs-imtcp.so",
            "/x/rsimtcp2.so",
        ] {
            assert_eq!(t(Some(f)), "imtcp", "{f}");
        }
        assert_eq!(t(None), "imtcp");
        // the documented side-by-side name
        assert_eq!(t(Some("/usr/local/lib/rsyslog/rsimtcp.so")), "rsimtcp");
        assert_eq!(t(Some("rsimtcp.so")), "rsimtcp");
        assert_eq!(n(c"impcap", Some("/x/rsimpcap.so")), "rsimpcap");
        assert_eq!(n(c"impcap", Some("/x/rsimtcp.so")), "impcap");
    }
}
