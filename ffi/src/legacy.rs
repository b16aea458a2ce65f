//! Legacy `$Directive` config lines (rsyslog's cfsysline API, runtime/cfsysline.c).
//!
//! A module lists its directives as a static table of [`LegacyDirective`]s
//! (`InputModule::legacy_directives`); `modInit` registers each one with
//! rsyslogd. rsyslog parses the value by the directive's kind and calls one of
//! the trampolines below with it; the trampoline hands a typed
//! [`LegacyValue`] to the directive's `apply` function together with the
//! config object being loaded (C modules write to static variables instead).
//!
//! Ownership: what rsyslog keeps is the directive name (it copies it), the
//! handler function (a trampoline of this crate, alive for the process: the
//! modules are never unloaded), a data cookie that is the directive's index in
//! the static table (no memory behind it), and for module-global directives a
//! pointer to the `permitted` flag (a static). Nothing is allocated for rsyslog
//! to point at, so nothing needs freeing: at unload rsyslogd itself removes the
//! registrations of our owner cookie (`unregCfSysLineHdlrs4Owner` after
//! `modExit`). The one allocation crossing the boundary is a word value: rsyslog
//! `malloc`s it and a handler owns it (cfsysline.c `doGetWord`), so the
//! trampoline copies it and `free`s it at once.

use crate::abi::*;
use crate::host::host;
use crate::log::{log_error, RsError, RsResult};
use std::ffi::{c_int, c_void, CStr};
use std::sync::atomic::AtomicI32;

/// `ecslCmdHdrlType` values of the kinds the legacy system parses for a handler.
pub mod kind {
    use std::ffi::c_int;
    pub const CUSTOM_HANDLER: c_int = 1;
    pub const BINARY: c_int = 4;
    pub const INT: c_int = 6;
    pub const GET_WORD: c_int = 13;
}

/// How rsyslog reads the directive's argument before calling us.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LegacyKind {
    /// `eCmdHdlrGetWord`: the first whitespace-delimited word (may be empty).
    Word,
    /// `eCmdHdlrBinary`: `on` or `off` (rsyslog rejects anything else).
    Binary,
    /// `eCmdHdlrInt`: a decimal integer (rsyslog rejects others and values above 2^31).
    Int,
    /// `eCmdHdlrCustomHandler` without an argument (e.g. `$ResetConfigVariables`).
    Custom,
}

impl LegacyKind {
    /// The `ecslCmdHdrlType` value.
    pub fn code(self) -> c_int {
        match self {
            LegacyKind::Word => kind::GET_WORD,
            LegacyKind::Binary => kind::BINARY,
            LegacyKind::Int => kind::INT,
            LegacyKind::Custom => kind::CUSTOM_HANDLER,
        }
    }
}

/// A directive's argument as rsyslog parsed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LegacyValue<'a> {
    Word(&'a [u8]),
    Binary(bool),
    Int(i32),
    None,
}

impl LegacyValue<'_> {
    /// The word as an owned string, `None` when empty (C treats "" as unset).
    pub fn word(&self) -> Option<String> {
        match self {
            LegacyValue::Word(w) if !w.is_empty() => Some(String::from_utf8_lossy(w).into_owned()),
            _ => None,
        }
    }
    pub fn int(&self) -> i32 {
        match self {
            LegacyValue::Int(i) => *i,
            LegacyValue::Binary(b) => *b as i32,
            _ => 0,
        }
    }
    pub fn bool(&self) -> bool {
        self.int() != 0
    }
}

/// One legacy directive of a module, applied to its config object `C`.
pub struct LegacyDirective<C> {
    /// The name without `$`, lower case (rsyslog compares case-insensitively).
    pub name: &'static CStr,
    pub kind: LegacyKind,
    /// May other modules register the same name (`bChainingPermitted`)?
    pub chaining: bool,
    /// A module-global setting: refused by rsyslog once a `module(load=...)`
    /// statement configured the module (`regCfSysLineHdlr2`'s `permitted` flag).
    pub module_global: bool,
    pub apply: fn(&mut C, LegacyValue<'_>) -> RsResult,
}

impl<C> LegacyDirective<C> {
    pub const fn new(name: &'static CStr, kind: LegacyKind, apply: fn(&mut C, LegacyValue<'_>) -> RsResult) -> Self {
        LegacyDirective {
            name,
            kind,
            chaining: false,
            module_global: false,
            apply,
        }
    }
    pub const fn chaining(mut self) -> Self {
        self.chaining = true;
        self
    }
    pub const fn module_global(mut self) -> Self {
        self.module_global = true;
        self
    }
    pub fn name_str(&self) -> &'static str {
        self.name.to_str().unwrap_or("")
    }
}

/// `rsRetVal regCfSysLineHdlr(const uchar*, int, ecslCmdHdrlType, rsRetVal (*)(), void*, void*)`,
/// the host entry point.
pub type RegFn = unsafe extern "C" fn(*const u8, c_int, c_int, *const c_void, *mut c_void, *mut c_void) -> RsRetVal;

/// The `permitted` flag rsyslog reads before calling a module-global directive's
/// handler (1 = permitted). A static: its address must stay valid while registered.
pub struct Permitted(AtomicI32);

impl Permitted {
    pub const fn new() -> Self {
        Permitted(AtomicI32::new(1))
    }
    pub fn set(&self, on: bool) {
        self.0.store(on as i32, std::sync::atomic::Ordering::Release);
    }
    pub fn get(&self) -> bool {
        self.0.load(std::sync::atomic::Ordering::Acquire) != 0
    }
    fn as_ptr(&self) -> *mut c_int {
        // AtomicI32 has the size and alignment of an int; rsyslog only reads it.
        self.0.as_ptr()
    }
}

impl Default for Permitted {
    fn default() -> Self {
        Self::new()
    }
}

/// The handler trampolines rsyslog calls for one module (its config type and
/// the way to reach the config being loaded).
pub struct Trampolines {
    /// `rsRetVal (*)(void *pData, uchar *word)`: owns `word` (malloc'ed).
    pub word: unsafe extern "C" fn(*mut c_void, *mut u8) -> RsRetVal,
    /// `rsRetVal (*)(void *pData, int value)`: binary and int directives.
    pub int: unsafe extern "C" fn(*mut c_void, c_int) -> RsRetVal,
    /// `rsRetVal (*)(uchar **pp, void *pData)`: custom handlers (note the order).
    pub custom: unsafe extern "C" fn(*mut *mut u8, *mut c_void) -> RsRetVal,
}

/// The data cookie of the directive at `index` (never null).
pub fn cookie(index: usize) -> *mut c_void {
    (index + 1) as *mut c_void
}

/// The table index a cookie stands for.
pub fn index_of(cookie: *mut c_void) -> Option<usize> {
    (cookie as usize).checked_sub(1)
}

/// Copies and frees a word rsyslog handed over (`doGetWord` malloc'ed it).
///
/// # Safety
/// `word` must be null or a NUL-terminated string allocated with `malloc`
/// that nobody else frees.
pub unsafe fn take_word(word: *mut u8) -> Vec<u8> {
    if word.is_null() {
        return Vec::new();
    }
    // SAFETY: per the contract, a NUL-terminated string.
    let v = unsafe { CStr::from_ptr(word.cast()) }.to_bytes().to_vec();
    // SAFETY: per the contract, malloc'ed and owned by us now.
    unsafe { libc::free(word.cast()) };
    v
}

/// Registers `table` with rsyslogd. `reg` is the host entry point
/// `regCfSysLineHdlr` (directives without a permitted flag, as the C modules
/// use it); module-global directives go through the exported
/// `regCfSysLineHdlr2` with `permitted`. On the first failure every directive
/// registered so far is removed again (`unregCfSysLineHdlrs4Owner`) and the
/// error names the directive.
pub(crate) fn register<C>(
    module: &str,
    table: &'static [LegacyDirective<C>],
    reg: RegFn,
    tr: &Trampolines,
    owner: *mut c_void,
    permitted: &'static Permitted,
) -> RsResult {
    let fns = &host().fns;
    for (i, d) in table.iter().enumerate() {
        let hdlr: *const c_void = match d.kind {
            LegacyKind::Word => tr.word as *const c_void,
            LegacyKind::Binary | LegacyKind::Int => tr.int as *const c_void,
            LegacyKind::Custom => tr.custom as *const c_void,
        };
        let name = d.name.as_ptr().cast::<u8>();
        let r = if d.module_global {
            match fns.regCfSysLineHdlr2 {
                // SAFETY: rsyslog copies the name; the handler, cookie and flag outlive the registration.
                Some(f) => unsafe {
                    f(
                        name,
                        d.chaining as c_int,
                        d.kind.code(),
                        hdlr,
                        cookie(i),
                        owner,
                        permitted.as_ptr(),
                    )
                },
                None => ret::MISSING_INTERFACE,
            }
        } else {
            // SAFETY: as above; the host entry point has this signature (rsyslog-abi.md §1.3).
            unsafe { reg(name, d.chaining as c_int, d.kind.code(), hdlr, cookie(i), owner) }
        };
        if r != ret::OK {
            unregister(owner);
            return Err(RsError::new(
                r,
                format!(
                    "{module}: cannot register config directive '${}' (error {r}); legacy directives unavailable",
                    d.name_str()
                ),
            ));
        }
    }
    Ok(())
}

/// Removes every directive registered with `owner` (rsyslog does the same after modExit).
pub(crate) fn unregister(owner: *mut c_void) {
    if let Some(f) = host().fns.unregCfSysLineHdlrs4Owner {
        // SAFETY: owner is the cookie the directives were registered with.
        let r = unsafe { f(owner) };
        if r != ret::OK {
            log_error(0, r, "cannot remove legacy config directives");
        }
    }
}

/// The directive a cookie stands for.
pub fn find<C>(table: &'static [LegacyDirective<C>], cookie: *mut c_void) -> Option<&'static LegacyDirective<C>> {
    index_of(cookie).and_then(|i| table.get(i))
}

/// The value of an int-passing handler call, by the directive's kind.
pub fn int_value(kind: LegacyKind, v: c_int) -> LegacyValue<'static> {
    match kind {
        LegacyKind::Binary => LegacyValue::Binary(v != 0),
        _ => LegacyValue::Int(v),
    }
}

/// Looks up a directive by cookie and applies `v` to `conf`.
pub fn apply<C>(
    table: &'static [LegacyDirective<C>],
    cookie: *mut c_void,
    conf: &mut C,
    v: LegacyValue<'_>,
) -> RsResult {
    let d = find(table, cookie).ok_or_else(|| {
        RsError::new(
            ret::INTERNAL_ERROR,
            "legacy directive handler called with an unknown cookie",
        )
    })?;
    (d.apply)(conf, v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default)]
    struct Cnf {
        word: Option<String>,
        n: i32,
        resets: u32,
    }
    static TABLE: [LegacyDirective<Cnf>; 3] = [
        LegacyDirective::new(c"w", LegacyKind::Word, |c: &mut Cnf, v| {
            c.word = v.word();
            Ok(())
        }),
        LegacyDirective::new(c"n", LegacyKind::Int, |c: &mut Cnf, v| {
            c.n = v.int();
            Ok(())
        })
        .module_global(),
        LegacyDirective::new(c"reset", LegacyKind::Custom, |c: &mut Cnf, _| {
            c.resets += 1;
            Ok(())
        })
        .chaining(),
    ];

    #[test]
    fn kinds_are_rsyslogs_enum_values() {
        // runtime/typedefs.h: eCmdHdlrCustomHandler = 1, Binary = 4, Int = 6, GetWord = 13.
        assert_eq!(LegacyKind::Custom.code(), 1);
        assert_eq!(LegacyKind::Binary.code(), 4);
        assert_eq!(LegacyKind::Int.code(), 6);
        assert_eq!(LegacyKind::Word.code(), 13);
    }

    #[test]
    fn cookies_find_their_directive() {
        assert!(!cookie(0).is_null());
        assert_eq!(index_of(cookie(2)), Some(2));
        assert_eq!(index_of(std::ptr::null_mut()), None);
        let mut c = Cnf::default();
        apply(&TABLE, cookie(0), &mut c, LegacyValue::Word(b"abc")).unwrap();
        apply(&TABLE, cookie(1), &mut c, LegacyValue::Int(-7)).unwrap();
        apply(&TABLE, cookie(2), &mut c, LegacyValue::None).unwrap();
        assert_eq!((c.word.as_deref(), c.n, c.resets), (Some("abc"), -7, 1));
        apply(&TABLE, cookie(0), &mut c, LegacyValue::Word(b"")).unwrap();
        assert_eq!(c.word, None, "an empty word is unset");
        assert!(apply(&TABLE, cookie(3), &mut c, LegacyValue::None).is_err());
        assert!(TABLE[1].module_global && !TABLE[1].chaining);
        assert!(TABLE[2].chaining && !TABLE[2].module_global);
    }

    #[test]
    fn words_are_copied_and_freed() {
        // SAFETY: a malloc'ed NUL-terminated string handed over as rsyslog does.
        let w = unsafe {
            let p = libc::strdup(c"port".as_ptr()) as *mut u8;
            take_word(p)
        };
        assert_eq!(w, b"port");
        // SAFETY: null is allowed.
        assert!(unsafe { take_word(std::ptr::null_mut()) }.is_empty());
    }

    #[test]
    fn permitted_flag_reads_as_an_int() {
        static P: Permitted = Permitted::new();
        assert!(P.get());
        P.set(false);
        // SAFETY: the flag's address as rsyslog reads it.
        assert_eq!(unsafe { *P.as_ptr() }, 0);
        P.set(true);
        // SAFETY: as above.
        assert_eq!(unsafe { *P.as_ptr() }, 1);
    }

    #[test]
    fn registration_outside_rsyslogd_fails_cleanly() {
        static P: Permitted = Permitted::new();
        unsafe extern "C" fn reg(
            _: *const u8,
            _: c_int,
            _: c_int,
            _: *const c_void,
            _: *mut c_void,
            _: *mut c_void,
        ) -> RsRetVal {
            ret::OK
        }
        unsafe extern "C" fn w(_: *mut c_void, _: *mut u8) -> RsRetVal {
            0
        }
        unsafe extern "C" fn i(_: *mut c_void, _: c_int) -> RsRetVal {
            0
        }
        unsafe extern "C" fn c(_: *mut *mut u8, _: *mut c_void) -> RsRetVal {
            0
        }
        let tr = Trampolines {
            word: w,
            int: i,
            custom: c,
        };
        // The module-global directive needs regCfSysLineHdlr2, absent outside rsyslogd.
        let e = register("t", &TABLE, reg, &tr, std::ptr::null_mut(), &P).unwrap_err();
        assert_eq!(e.code, ret::MISSING_INTERFACE);
        assert!(e.msg.unwrap().contains("'$n'"));
    }
}
