//! Current upstream rsyslog's `global(compatibility.defaults.secure="…")`
//! policy (`strict`, `backward-compatible`, `warn`; `warn` is its default),
//! as the host's own modules see it.
//!
//! Hosts that have the setting export `glblWarnIfInsecureDefault(cnf, text)`,
//! which logs "backward-compatible insecure default in use: <text>; use
//! global(compatibility.defaults.secure="strict") …" in `warn` mode only; we
//! call it for the warnings, so gating and wording are the host's. The
//! policy itself has no getter: modules read `cnf->globals.compatDefaultsSecure`.
//! Where that field lies in `rsconf_t` depends on how rsyslogd was built (a
//! debug build has a larger object header, a libcap-ng build two more ints
//! ahead of it), so we find it relative to `globals.pszWorkDir`, whose offset
//! the exported getter `glblGetWorkDirRaw(cnf)` tells us (see
//! [`probe_field_offset`]). In current upstream's `struct globals_s` the
//! policy is the 13th int after the (optional) libcap-ng pair, and
//! `pszWorkDir` follows 40 bytes later (six ints, padding, one pointer).

use crate::host::host;
use crate::msg::ConfPtr;
use std::ffi::{c_int, c_void};
use std::sync::OnceLock;

/// `compatibility.defaults.secure`, as current upstream's rsconf.h numbers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecureDefaults {
    /// `strict` (0): secure defaults are applied, insecure explicit choices rejected
    Strict,
    /// `backward-compatible` (1): old defaults, silently
    BackwardCompatible,
    /// `warn` (2, the default): old defaults, with a warning for each
    Warn,
}

impl SecureDefaults {
    fn from_raw(v: c_int) -> Option<Self> {
        match v {
            0 => Some(SecureDefaults::Strict),
            1 => Some(SecureDefaults::BackwardCompatible),
            2 => Some(SecureDefaults::Warn),
            _ => None,
        }
    }
}

/// Bytes from `globals.compatDefaultsSecure` to `globals.pszWorkDir`.
const SECURE_TO_WORKDIR: usize = 40;
/// Bytes from `globals.bAbortOnUncleanConfig` to `globals.compatDefaultsSecure`:
/// bAbortOnUncleanConfig, bAbortOnFailedQueueStartup, the three
/// compatibility.configformat.* ints, then the policy.
const RUN_BEFORE_SECURE: usize = 20;

/// The policy from the six ints that end with it (bAbortOnUncleanConfig …
/// compatDefaultsSecure), or `None` when they do not look like that run of
/// fields (the layout is not the one this code knows).
pub fn decode_secure_run(run: [c_int; 6]) -> Option<SecureDefaults> {
    let [abort_unclean, abort_queue, legacy, syslogd, property, secure] = run;
    let flag = |v: c_int| v == 0 || v == 1;
    let mode = |v: c_int| (0..=2).contains(&v);
    if flag(abort_unclean) && flag(abort_queue) && mode(legacy) && mode(syslogd) && mode(property) {
        SecureDefaults::from_raw(secure)
    } else {
        None
    }
}

/// Finds which byte offset of an object a getter `f(obj) -> field` reads a
/// pointer-sized field from: it is called on a buffer of `slots` tagged
/// words, and the tag it returns names the slot. `None` when it returns
/// something else.
///
/// # Safety
/// `f` must read only one pointer-sized, pointer-aligned field of its
/// argument, at an offset below `slots` words, and have no other effect.
pub unsafe fn probe_field_offset(f: unsafe extern "C" fn(*mut c_void) -> *const u8, slots: usize) -> Option<usize> {
    let tag = 0x5ec0usize << (usize::BITS - 16);
    let mut buf: Vec<usize> = (0..slots).map(|i| tag | i).collect();
    // SAFETY: per the function contract, f reads one word inside buf.
    let got = unsafe { f(buf.as_mut_ptr().cast()) } as usize;
    let slot = got ^ tag;
    (got & tag == tag && slot < slots).then(|| slot * std::mem::size_of::<usize>())
}

/// Byte offset of `globals.pszWorkDir` in this host's `rsconf_t`, found once.
fn workdir_offset() -> Option<usize> {
    static OFF: OnceLock<Option<usize>> = OnceLock::new();
    *OFF.get_or_init(|| {
        let f = host().fns.glblGetWorkDirRaw?;
        // SAFETY: glbl.c's glblGetWorkDirRaw only returns cnf->globals.pszWorkDir, a
        // pointer field well inside the first 1024 bytes of rsconf_t.
        let off = unsafe { probe_field_offset(f, 128) };
        crate::log::debug(
            "rsyslog-ffi",
            &format!("rsconf_t globals.pszWorkDir found at offset {off:?}"),
        );
        off
    })
}

/// Does the host have `compatibility.defaults.secure` (current upstream)?
pub fn available() -> bool {
    host().fns.glblWarnIfInsecureDefault.is_some()
}

/// The host's `compatibility.defaults.secure` policy for configuration
/// `conf` as it stands now (set by a `global()` statement read earlier).
/// `None` on hosts without the setting (8.2302, 8.2504) and when the field
/// could not be located safely (then nothing is enforced).
pub fn secure_defaults(conf: ConfPtr) -> Option<SecureDefaults> {
    host().fns.glblWarnIfInsecureDefault?;
    if conf.0.is_null() {
        return None;
    }
    let secure_at = workdir_offset()?.checked_sub(SECURE_TO_WORKDIR)?;
    let first = secure_at.checked_sub(RUN_BEFORE_SECURE)?;
    let mut run = [0 as c_int; 6];
    for (i, v) in run.iter_mut().enumerate() {
        // SAFETY: conf is the live rsconf_t rsyslog passed to beginCnfLoad; these six ints lie
        // inside its globals, before pszWorkDir, whose offset the host's getter told us.
        *v = unsafe {
            std::ptr::read_unaligned((conf.0 as *const u8).add(first + i * std::mem::size_of::<c_int>()) as *const c_int)
        };
    }
    let policy = decode_secure_run(run);
    if policy.is_none() {
        crate::log::debug(
            "rsyslog-ffi",
            &format!("compatibility.defaults.secure not recognised in rsconf_t (fields {run:?}); not enforced"),
        );
    }
    policy
}

/// The host's `glblWarnIfInsecureDefault(conf, detail)`: logs `detail` as an
/// insecure default in use when the policy is `warn`; nothing on other
/// policies and on hosts without the setting.
pub fn warn_if_insecure_default(conf: ConfPtr, detail: &str) {
    let Some(f) = host().fns.glblWarnIfInsecureDefault else {
        return;
    };
    let c = std::ffi::CString::new(detail.replace('\0', " ")).unwrap_or_default();
    // SAFETY: conf is the rsconf_t being loaded (the host checks for NULL); detail is NUL-terminated.
    unsafe { f(conf.0, c.as_ptr()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_values_are_upstreams() {
        // rsconf.h: STRICT 0, BACKWARD_COMPATIBLE 1, WARN 2
        assert_eq!(decode_secure_run([1, 0, 0, 0, 0, 0]), Some(SecureDefaults::Strict));
        assert_eq!(
            decode_secure_run([0, 0, 0, 0, 0, 1]),
            Some(SecureDefaults::BackwardCompatible)
        );
        assert_eq!(decode_secure_run([0, 0, 1, 2, 0, 2]), Some(SecureDefaults::Warn));
    }

    #[test]
    fn foreign_layouts_are_refused() {
        assert_eq!(decode_secure_run([0, 0, 0, 0, 0, 3]), None);
        assert_eq!(decode_secure_run([0, 0, 0, 0, -1, 0]), None);
        assert_eq!(decode_secure_run([2, 0, 0, 0, 0, 0]), None);
        // a pointer's halves where ints were expected
        assert_eq!(decode_secure_run([0x5555_0000, 0x7fff, 0, 0, 0, 0]), None);
    }

    #[repr(C)]
    struct FakeConf {
        head: [usize; 3],
        ints: [c_int; 4],
        dir: *const u8,
    }

    unsafe extern "C" fn fake_getter(p: *mut c_void) -> *const u8 {
        // SAFETY: test getter, called only with a FakeConf-sized buffer.
        unsafe { (*(p as *const FakeConf)).dir }
    }

    unsafe extern "C" fn constant_getter(_: *mut c_void) -> *const u8 {
        c"/var/lib".as_ptr().cast()
    }

    #[test]
    fn probe_finds_the_field_a_getter_reads() {
        let want = std::mem::offset_of!(FakeConf, dir);
        // SAFETY: fake_getter reads one word at `want`, inside 16 slots.
        assert_eq!(unsafe { probe_field_offset(fake_getter, 16) }, Some(want));
        // SAFETY: constant_getter reads nothing.
        assert_eq!(unsafe { probe_field_offset(constant_getter, 16) }, None);
    }

    #[test]
    fn outside_rsyslogd_there_is_no_policy() {
        let mut dummy = [0u8; 256];
        assert_eq!(secure_defaults(ConfPtr(dummy.as_mut_ptr().cast())), None);
        warn_if_insecure_default(ConfPtr(std::ptr::null_mut()), "nothing happens");
    }
}
