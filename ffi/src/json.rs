//! JSON trees for `msgAddJSON`.
//!
//! Producers (the packet decoders) write through [`JsonSink`]. Inside
//! rsyslogd [`FjsonBuilder`] builds libfastjson objects directly (ownership
//! passes to the message); in tests [`TextJson`] renders the same calls the
//! way rsyslog 8.2302/8.2504 print `%$!...%` (libfastjson's SPACED format).

use crate::host::host;
use std::ffi::{c_char, c_int, c_uint, c_void, CStr};
use std::ptr::NonNull;
use std::sync::OnceLock;

/// Something that receives an object's members in order. Keys replace an
/// existing member in place, as `fjson_object_object_add` does.
pub trait JsonSink {
    fn put_str(&mut self, key: &CStr, v: &[u8]);
    fn put_int(&mut self, key: &CStr, v: i32);
    fn put_i64(&mut self, key: &CStr, v: i64);
    fn put_bool(&mut self, key: &CStr, v: bool);
    /// Starts a nested object member; members go into it until [`JsonSink::end`].
    fn begin_object(&mut self, key: &CStr);
    /// Starts a nested array member; elements are added with `begin_element_object`.
    fn begin_array(&mut self, key: &CStr);
    /// Starts an object element of the current array.
    fn begin_element_object(&mut self);
    /// Ends the innermost nested object or array.
    fn end(&mut self);
}

/// An owned libfastjson object (`struct fjson_object*`).
pub struct JsonObj(NonNull<c_void>);
// SAFETY: a tree not yet handed to rsyslog is owned by exactly one thread.
unsafe impl Send for JsonObj {}

impl JsonObj {
    /// Hands ownership to rsyslog.
    pub(crate) fn into_raw(self) -> *mut c_void {
        let p = self.0.as_ptr();
        std::mem::forget(self);
        p
    }
    /// Renders the object as libfastjson does with the SPACED flag.
    pub fn to_json_string(&self) -> String {
        match host().fns.fjson_object_to_json_string_ext {
            // SAFETY: returns a string owned by the object, valid until it changes.
            Some(f) => crate::host::cstr_lossy(unsafe { f(self.0.as_ptr(), crate::abi::FJSON_TO_STRING_SPACED) }),
            None => String::new(),
        }
    }
}

impl Drop for JsonObj {
    fn drop(&mut self) {
        if let Some(f) = host().fns.fjson_object_put {
            // SAFETY: releases our one reference.
            unsafe { f(self.0.as_ptr()) };
        }
    }
}

/// `fjson_object_object_add_ex` option: the caller knows the key is not in the object.
const FJSON_OBJECT_ADD_KEY_IS_NEW: c_uint = 1 << 1;
/// `fjson_object_object_add_ex` option: the key outlives the object (no strdup).
const FJSON_OBJECT_KEY_IS_CONSTANT: c_uint = 1 << 2;

type AddEx = unsafe extern "C" fn(*mut c_void, *const c_char, *mut c_void, c_uint);

/// What makes inserts cheap: `fjson_object_object_add_ex` (libfastjson ≥ 0.99.3;
/// `None` on a host without it) and the read-only segments of this module's
/// image, whose keys (literals) can be passed as constant keys because the
/// module is pinned in memory (`RTLD_NODELETE`) for the life of the process.
struct FastAdd {
    add_ex: Option<AddEx>,
    static_ranges: Vec<(usize, usize)>,
}

static FAST_ADD: OnceLock<FastAdd> = OnceLock::new();

fn fast_add() -> &'static FastAdd {
    FAST_ADD.get_or_init(|| {
        let name = c"fjson_object_object_add_ex";
        // SAFETY: dlsym with RTLD_DEFAULT only reads the global symbol table.
        let p = unsafe { libc::dlsym(libc::RTLD_DEFAULT, name.as_ptr()) };
        let add_ex = (!p.is_null()).then(|| {
            // SAFETY: libfastjson declares `void fjson_object_object_add_ex(struct fjson_object*,
            // const char*, struct fjson_object*, const unsigned)` (json_object.h, 0.99.3+).
            unsafe { std::mem::transmute::<*mut c_void, AddEx>(p) }
        });
        let static_ranges = if pin_this_module() {
            own_readonly_segments()
        } else {
            Vec::new()
        };
        FastAdd { add_ex, static_ranges }
    })
}

/// Keeps this module mapped until the process ends (rsyslogd may dlclose it
/// while messages holding our constant keys still exist). False when it fails.
fn pin_this_module() -> bool {
    use std::os::unix::ffi::OsStrExt;
    let here = pin_this_module as fn() -> bool as *const () as usize;
    let Some(path) = crate::sys::object_file_of(here) else {
        return false;
    };
    let Ok(path) = std::ffi::CString::new(path.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: path names an object that is loaded; RTLD_NOLOAD only adds a
    // reference (never loads), RTLD_NODELETE forbids unmapping.
    let h = unsafe { libc::dlopen(path.as_ptr(), libc::RTLD_LAZY | libc::RTLD_NOLOAD | libc::RTLD_NODELETE) };
    // The reference is kept on purpose (the object stays loaded anyway).
    !h.is_null()
}

/// Address ranges of the non-writable loaded segments of the object holding this code.
fn own_readonly_segments() -> Vec<(usize, usize)> {
    struct Search {
        code: usize,
        found: Vec<(usize, usize)>,
    }
    extern "C" fn each(info: *mut libc::dl_phdr_info, _size: libc::size_t, data: *mut c_void) -> c_int {
        // SAFETY: dl_iterate_phdr passes a valid info for the duration of the call, and
        // data is the &mut Search given below (no unwinding can happen in this body).
        let (info, s) = unsafe { (&*info, &mut *(data as *mut Search)) };
        if info.dlpi_phdr.is_null() {
            return 0;
        }
        // SAFETY: dlpi_phdr points to dlpi_phnum program headers.
        let phdrs = unsafe { std::slice::from_raw_parts(info.dlpi_phdr, info.dlpi_phnum as usize) };
        let base = info.dlpi_addr as usize;
        let seg = |p: &libc::Elf64_Phdr| {
            let start = base.wrapping_add(p.p_vaddr as usize);
            (start, start.wrapping_add(p.p_memsz as usize))
        };
        let loads = || phdrs.iter().filter(|p| p.p_type == libc::PT_LOAD);
        if !loads().any(|p| {
            let (a, b) = seg(p);
            (a..b).contains(&s.code)
        }) {
            return 0;
        }
        s.found = loads().filter(|p| p.p_flags & libc::PF_W == 0).map(seg).collect();
        1
    }
    let mut s = Search {
        code: own_readonly_segments as fn() -> Vec<(usize, usize)> as usize,
        found: Vec::new(),
    };
    // SAFETY: the callback only reads the headers and writes into `s`, which outlives the call.
    unsafe { libc::dl_iterate_phdr(Some(each), &mut s as *mut Search as *mut c_void) };
    s.found
}

/// True when `key` lies in this module's read-only image (a literal), so it
/// can be given to libfastjson without a copy.
fn is_static_key(ranges: &[(usize, usize)], key: &CStr) -> bool {
    let a = key.as_ptr() as usize;
    let len = key.to_bytes_with_nul().len();
    ranges.iter().any(|&(s, e)| a >= s && a.saturating_add(len) <= e)
}

/// An open container of a [`FjsonBuilder`].
struct Level {
    obj: *mut c_void,
    is_array: bool,
    /// Where this object's keys start in `FjsonBuilder::keys`.
    keys_from: usize,
    /// A key that is not tracked (not static) went in: later inserts look up.
    untracked: bool,
}

/// Builds a libfastjson tree from [`JsonSink`] calls. Needs rsyslogd (or
/// libfastjson) in the process; [`FjsonBuilder::new`] is `None` otherwise.
///
/// Inserts skip libfastjson's key lookup (a case-insensitive scan in
/// rsyslogd) and its key copy when that is safe: the keys already put in
/// each open object are tracked, and a key equal to one of them, ignoring
/// ASCII case, still goes through the lookup so a duplicate replaces the
/// member in place, as with `fjson_object_object_add`.
pub struct FjsonBuilder {
    root: JsonObj,
    /// Open containers, the root first (a null `obj` when it could not be created).
    stack: Vec<Level>,
    /// Static keys put in the open objects (pointer, length).
    keys: Vec<(*const u8, usize)>,
    fast: &'static FastAdd,
}

impl FjsonBuilder {
    pub fn new() -> Option<FjsonBuilder> {
        let f = host().fns.fjson_object_new_object?;
        // SAFETY: returns a new object with refcount 1 (or NULL).
        let p = NonNull::new(unsafe { f() })?;
        let mut stack = Vec::with_capacity(4);
        stack.push(Level {
            obj: p.as_ptr(),
            is_array: false,
            keys_from: 0,
            untracked: false,
        });
        Some(FjsonBuilder {
            root: JsonObj(p),
            stack,
            keys: Vec::with_capacity(32),
            fast: fast_add(),
        })
    }

    /// The finished tree (open containers are closed implicitly).
    pub fn finish(self) -> JsonObj {
        self.root
    }

    /// The finished tree, and the builder starts a new one (keeping its
    /// buffers); `None` when no new object could be made: the builder then
    /// has no open container (further members are dropped) and must not be
    /// reused.
    pub fn finish_and_renew(&mut self) -> Option<JsonObj> {
        self.stack.clear();
        self.keys.clear();
        let f = host().fns.fjson_object_new_object?;
        // SAFETY: returns a new object with refcount 1 (or NULL).
        let p = NonNull::new(unsafe { f() })?;
        self.stack.push(Level {
            obj: p.as_ptr(),
            is_array: false,
            keys_from: 0,
            untracked: false,
        });
        Some(std::mem::replace(&mut self.root, JsonObj(p)))
    }

    /// Options for `fjson_object_object_add_ex` when adding `key` to the open
    /// object (and records the key), or `None` to use the plain add.
    fn add_options(&mut self, key: &CStr) -> Option<c_uint> {
        let lvl = self.stack.last_mut()?;
        if !is_static_key(&self.fast.static_ranges, key) {
            lvl.untracked = true;
            return None;
        }
        let k = key.to_bytes();
        let seen = lvl.untracked
            || self.keys[lvl.keys_from..].iter().any(|&(p, n)| {
                // SAFETY: tracked keys are static (in this module's pinned read-only image).
                n == k.len() && unsafe { std::slice::from_raw_parts(p, n) }.eq_ignore_ascii_case(k)
            });
        if seen {
            return Some(FJSON_OBJECT_KEY_IS_CONSTANT);
        }
        self.keys.push((k.as_ptr(), k.len()));
        Some(FJSON_OBJECT_ADD_KEY_IS_NEW | FJSON_OBJECT_KEY_IS_CONSTANT)
    }

    /// Adds `v` to the open container; false (and `v` released) when there is
    /// no container to take it (an allocation failed further up).
    fn attach(&mut self, key: Option<&CStr>, v: *mut c_void) -> bool {
        if v.is_null() {
            return false;
        }
        let h = &host().fns;
        let (cur, is_arr) = self
            .stack
            .last()
            .map_or((std::ptr::null_mut(), false), |l| (l.obj, l.is_array));
        let taken = match (cur.is_null(), is_arr, key) {
            (false, true, _) => h.fjson_object_array_add.map(|f| {
                // SAFETY: cur is a live array we own; v's ownership passes to it.
                unsafe { f(cur, v) };
            }),
            (false, false, Some(k)) => match (self.fast.add_ex, self.add_options(k)) {
                (Some(f), Some(opts)) => {
                    // SAFETY: cur is a live object we own; v's ownership passes to it; a
                    // constant key is static and the module pinned; a new key is not in cur.
                    unsafe { f(cur, k.as_ptr(), v, opts) };
                    Some(())
                }
                _ => h.fjson_object_object_add.map(|f| {
                    // SAFETY: cur is a live object we own; the key is copied; v's ownership passes to it.
                    unsafe { f(cur, k.as_ptr(), v) };
                }),
            },
            _ => None,
        }
        .is_some();
        if !taken {
            if let Some(put) = h.fjson_object_put {
                // SAFETY: v is a fresh object nobody else references.
                unsafe { put(v) };
            }
        }
        taken
    }

    /// Opens a nested container. Something is always pushed so that `end()`
    /// stays balanced: a null sentinel when it could not be created or attached.
    fn open(&mut self, key: Option<&CStr>, array: bool) {
        let h = &host().fns;
        let ctor = if array {
            h.fjson_object_new_array
        } else {
            h.fjson_object_new_object
        };
        // SAFETY: constructor returning a new object (or NULL).
        let o = ctor.map_or(std::ptr::null_mut(), |f| unsafe { f() });
        let kept = if self.attach(key, o) { o } else { std::ptr::null_mut() };
        self.stack.push(Level {
            obj: kept,
            is_array: array,
            keys_from: self.keys.len(),
            untracked: false,
        });
    }
}

impl JsonSink for FjsonBuilder {
    fn put_str(&mut self, key: &CStr, v: &[u8]) {
        if let Some(f) = host().fns.fjson_object_new_string_len {
            // SAFETY: libfastjson copies len bytes.
            let o = unsafe { f(v.as_ptr().cast(), v.len() as c_int) };
            self.attach(Some(key), o);
        }
    }
    fn put_int(&mut self, key: &CStr, v: i32) {
        if let Some(f) = host().fns.fjson_object_new_int {
            // SAFETY: constructor.
            let o = unsafe { f(v) };
            self.attach(Some(key), o);
        }
    }
    fn put_i64(&mut self, key: &CStr, v: i64) {
        if let Some(f) = host().fns.fjson_object_new_int64 {
            // SAFETY: constructor.
            let o = unsafe { f(v) };
            self.attach(Some(key), o);
        }
    }
    fn put_bool(&mut self, key: &CStr, v: bool) {
        if let Some(f) = host().fns.fjson_object_new_boolean {
            // SAFETY: constructor.
            let o = unsafe { f(v as c_int) };
            self.attach(Some(key), o);
        }
    }
    fn begin_object(&mut self, key: &CStr) {
        self.open(Some(key), false);
    }
    fn begin_array(&mut self, key: &CStr) {
        self.open(Some(key), true);
    }
    fn begin_element_object(&mut self) {
        self.open(None, false);
    }
    fn end(&mut self) {
        // The root stays open.
        if self.stack.len() > 1 {
            if let Some(l) = self.stack.pop() {
                self.keys.truncate(l.keys_from);
            }
        }
    }
}

/// A JSON value of the pure-Rust renderer.
#[derive(Debug, Clone, PartialEq)]
pub enum JVal {
    Str(Vec<u8>),
    Int(i64),
    Bool(bool),
    Obj(Vec<(Vec<u8>, JVal)>),
    Arr(Vec<JVal>),
}

/// Pure-Rust [`JsonSink`]: keeps a tree and renders it exactly as
/// libfastjson's SPACED output (`{ "a": 1, "b": [ ] }`, `/` escaped as `\/`).
#[derive(Debug, Clone, Default)]
pub struct TextJson {
    root: Vec<(Vec<u8>, JVal)>,
    /// Path of indexes to the open container.
    path: Vec<usize>,
}

impl TextJson {
    pub fn new() -> Self {
        Self::default()
    }

    fn container(&mut self) -> &mut JVal {
        // The root is handled by put(); here the path is non-empty.
        let mut it = self.path.iter();
        let first = *it.next().expect("non-empty path");
        let mut cur = &mut self.root[first].1;
        for &i in it {
            cur = match cur {
                JVal::Obj(m) => &mut m[i].1,
                JVal::Arr(a) => &mut a[i],
                _ => unreachable!("path leads through containers only"),
            };
        }
        cur
    }

    /// Inserts (or replaces in place) a member; returns its index.
    fn put(&mut self, key: Option<&CStr>, v: JVal) -> usize {
        // rsyslogd runs libfastjson with case-insensitive keys: a key equal
        // to an earlier one but for case replaces its value, and the first
        // spelling stays (checked with `set $!x!Host` / `set $!x!host`).
        fn upsert(m: &mut Vec<(Vec<u8>, JVal)>, k: &[u8], v: JVal) -> usize {
            if let Some(i) = m.iter().position(|(x, _)| x.eq_ignore_ascii_case(k)) {
                m[i].1 = v;
                i
            } else {
                m.push((k.to_vec(), v));
                m.len() - 1
            }
        }
        let k = key.map(|k| k.to_bytes()).unwrap_or_default();
        if self.path.is_empty() {
            return upsert(&mut self.root, k, v);
        }
        match self.container() {
            JVal::Obj(m) => upsert(m, k, v),
            JVal::Arr(a) => {
                a.push(v);
                a.len() - 1
            }
            _ => unreachable!(),
        }
    }

    pub fn value(&self) -> JVal {
        JVal::Obj(self.root.clone())
    }

    /// The rendered object.
    pub fn render(&self) -> String {
        let mut out = Vec::new();
        render(&JVal::Obj(self.root.clone()), &mut out);
        String::from_utf8_lossy(&out).into_owned()
    }
}

impl JsonSink for TextJson {
    fn put_str(&mut self, key: &CStr, v: &[u8]) {
        self.put(Some(key), JVal::Str(v.to_vec()));
    }
    fn put_int(&mut self, key: &CStr, v: i32) {
        self.put(Some(key), JVal::Int(v as i64));
    }
    fn put_i64(&mut self, key: &CStr, v: i64) {
        self.put(Some(key), JVal::Int(v));
    }
    fn put_bool(&mut self, key: &CStr, v: bool) {
        self.put(Some(key), JVal::Bool(v));
    }
    fn begin_object(&mut self, key: &CStr) {
        let i = self.put(Some(key), JVal::Obj(Vec::new()));
        self.path.push(i);
    }
    fn begin_array(&mut self, key: &CStr) {
        let i = self.put(Some(key), JVal::Arr(Vec::new()));
        self.path.push(i);
    }
    fn begin_element_object(&mut self) {
        let i = self.put(None, JVal::Obj(Vec::new()));
        self.path.push(i);
    }
    fn end(&mut self) {
        self.path.pop();
    }
}

/// Escapes a string as libfastjson does.
pub fn escape_into(s: &[u8], out: &mut Vec<u8>) {
    out.push(b'"');
    for &c in s {
        match c {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'/' => out.extend_from_slice(b"\\/"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\t' => out.extend_from_slice(b"\\t"),
            b'\r' => out.extend_from_slice(b"\\r"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x0c => out.extend_from_slice(b"\\f"),
            c if c < 0x20 => out.extend_from_slice(format!("\\u{c:04x}").as_bytes()),
            c => out.push(c),
        }
    }
    out.push(b'"');
}

/// Renders a value in libfastjson's SPACED format.
pub fn render(v: &JVal, out: &mut Vec<u8>) {
    match v {
        JVal::Str(s) => escape_into(s, out),
        JVal::Int(n) => out.extend_from_slice(n.to_string().as_bytes()),
        JVal::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        JVal::Obj(m) => {
            out.push(b'{');
            for (i, (k, v)) in m.iter().enumerate() {
                out.extend_from_slice(if i == 0 { b" " } else { b", " });
                escape_into(k, out);
                out.extend_from_slice(b": ");
                render(v, out);
            }
            out.extend_from_slice(b" }");
        }
        JVal::Arr(a) => {
            out.push(b'[');
            for (i, v) in a.iter().enumerate() {
                out.extend_from_slice(if i == 0 { b" " } else { b", " });
                render(v, out);
            }
            out.extend_from_slice(b" ]");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_like_libfastjson_spaced() {
        let mut j = TextJson::new();
        j.put_int(c"ID", 24);
        j.put_str(c"v", b"HTTP/1.1 \"x\"\\\n\x01\x7f");
        j.put_bool(c"f", true);
        j.begin_array(c"DNS_Names");
        j.begin_element_object();
        j.put_str(c"qname", b"www.isc.org");
        j.put_i64(c"qtype", 255);
        j.end();
        j.end();
        j.begin_object(c"HTTP_header_fields");
        j.end();
        j.begin_array(c"e");
        j.end();
        assert_eq!(
            j.render(),
            "{ \"ID\": 24, \"v\": \"HTTP\\/1.1 \\\"x\\\"\\\\\\n\\u0001\x7f\", \"f\": true, \
             \"DNS_Names\": [ { \"qname\": \"www.isc.org\", \"qtype\": 255 } ], \
             \"HTTP_header_fields\": { }, \"e\": [ ] }"
        );
    }

    #[test]
    fn duplicate_keys_replace_in_place() {
        let mut j = TextJson::new();
        j.begin_object(c"h");
        j.put_str(c"Host", b"a");
        j.put_str(c"Accept", b"b");
        j.put_str(c"host", b"c");
        j.end();
        j.put_int(c"n", 1);
        assert_eq!(
            j.render(),
            "{ \"h\": { \"Host\": \"c\", \"Accept\": \"b\" }, \"n\": 1 }"
        );
    }

    #[test]
    fn empty_object() {
        assert_eq!(TextJson::new().render(), "{ }");
        assert!(FjsonBuilder::new().is_none(), "no libfastjson outside rsyslogd");
    }

    #[test]
    fn literal_keys_are_static_heap_keys_are_not() {
        let ranges = own_readonly_segments();
        assert!(!ranges.is_empty());
        assert!(is_static_key(&ranges, c"net_src_ip"));
        let heap = std::ffi::CString::new("Host").unwrap();
        assert!(!is_static_key(&ranges, &heap));
        let stack = *b"Host\0";
        assert!(!is_static_key(&ranges, CStr::from_bytes_with_nul(&stack).unwrap()));
    }
}
