//! rsyslog's object interfaces (glbl, prop, ruleset, datetime, statsobj),
//! obtained through `obj.UseObj` with version negotiation so that one build
//! serves 8.2302, 8.2504 and current upstream. Members are read at the byte
//! offsets each accepted version defines (rsyslog-abi.md §3).

use crate::abi::*;
use crate::log::RsError;
use std::ffi::{c_int, c_void};
use std::sync::OnceLock;

/// Interface versions we know, newest last, and the offset of the members we use.
pub const GLBL_VERSIONS: &[c_int] = &[10, 11];
pub const PROP_VERSIONS: &[c_int] = &[1];
pub const RULESET_VERSIONS: &[c_int] = &[8];
pub const DATETIME_VERSIONS: &[c_int] = &[11];
pub const STATSOBJ_VERSIONS: &[c_int] = &[13, 16];

/// One obtained interface: its negotiated version and its member table.
pub struct Iface {
    pub name: &'static str,
    pub version: c_int,
    buf: Box<IfaceBuf>,
}
// SAFETY: the table holds function pointers into rsyslogd, immutable after UseObj filled it.
unsafe impl Send for Iface {}
// SAFETY: as above.
unsafe impl Sync for Iface {}

impl Iface {
    /// The member at byte offset `off`, transmuted to the function type `F`.
    ///
    /// # Safety
    /// `F` must be the C signature of that member in this interface version.
    pub(crate) unsafe fn member<F: Copy>(&self, off: usize) -> Option<F> {
        let p = self.buf.slot(off);
        if p.is_null() {
            None
        } else {
            // SAFETY: caller guarantees F is a function pointer type matching the member.
            Some(unsafe { std::mem::transmute_copy::<*const c_void, F>(&p) })
        }
    }
}

/// All interfaces a module uses.
pub struct Interfaces {
    pub glbl: Iface,
    pub prop: Iface,
    pub ruleset: Iface,
    pub datetime: Iface,
    pub statsobj: Iface,
    /// obj.UseObj, for interfaces obtained later (e.g. net from lmnet).
    use_obj: UseObjFn,
}

static IFACES: OnceLock<Interfaces> = OnceLock::new();
static NET: OnceLock<Result<Iface, RsError>> = OnceLock::new();

/// net interface versions (library lmnet): 10 in 8.2302/8.2504, 12 upstream.
pub const NET_VERSIONS: &[c_int] = &[10, 12];

/// rsyslog's `net` object from the lmnet library, negotiated on first use
/// (call it on the main thread, e.g. while activating).
pub fn net() -> Result<&'static Iface, RsError> {
    NET.get_or_init(|| {
        let i = interfaces().ok_or_else(|| RsError::new(ret::INTERNAL_ERROR, "rsyslog interfaces not initialised"))?;
        use_obj(i.use_obj, "net", c"net", Some(c"lmnet"), NET_VERSIONS)
    })
    .as_ref()
    .map_err(Clone::clone)
}

impl Iface {
    /// net.isAllowedSender2("TCP", addr, fqdn, 1): rsyslog's global
    /// `$AllowedSender` list for TCP (true when no list is configured).
    pub fn tcp_sender_allowed(&self, addr: &std::net::SocketAddr, fqdn: &std::ffi::CStr) -> bool {
        // isAllowedSender2 sits at @128 in net v10 and @152 in v12.
        let off = if self.version >= 12 { 152 } else { 128 };
        type F = unsafe extern "C" fn(*const u8, *const libc::sockaddr, *const std::ffi::c_char, c_int) -> c_int;
        // SAFETY: the member at `off` has signature F in the negotiated net version.
        let Some(f) = (unsafe { self.member::<F>(off) }) else {
            return true;
        };
        let ss = crate::sys::sockaddr_storage(addr);
        // SAFETY: all pointers are valid for the call; rsyslog only reads them.
        unsafe {
            f(
                c"TCP".as_ptr().cast(),
                &ss as *const _ as *const libc::sockaddr,
                fqdn.as_ptr(),
                1,
            ) != 0
        }
    }
}

/// The interfaces, once [`init`] succeeded (in modInit).
pub fn interfaces() -> Option<&'static Interfaces> {
    IFACES.get()
}

type UseObjFn = unsafe extern "C" fn(*const std::ffi::c_char, *const u8, *const u8, *mut InterfaceHdr) -> RsRetVal;

fn use_obj(
    use_fn: UseObjFn,
    name: &'static str,
    cname: &'static std::ffi::CStr,
    file: Option<&'static std::ffi::CStr>,
    versions: &[c_int],
) -> Result<Iface, RsError> {
    let mut last = ret::INTERFACE_NOT_SUPPORTED;
    for &v in versions.iter().rev() {
        let mut buf = IfaceBuf::new(v);
        // SAFETY: UseObj fills at most the interface struct of version v, which fits in IfaceBuf.
        let r = unsafe {
            use_fn(
                c"rsyslog-ffi".as_ptr(),
                cname.as_ptr().cast(),
                file.map_or(std::ptr::null(), |f| f.as_ptr().cast()),
                &mut buf.hdr,
            )
        };
        if r == ret::OK && buf.hdr.ifIsLoaded == 1 {
            return Ok(Iface { name, version: v, buf });
        }
        last = r;
    }
    Err(RsError::new(
        ret::INTERFACE_NOT_SUPPORTED,
        format!(
            "interface '{name}' of this rsyslogd is not one of the supported versions {versions:?} (rsyslog error {last})"
        ),
    ))
}

/// Obtains the obj interface from the host entry point and every interface
/// the modules use. Called from modInit; later calls return the first result.
pub fn init(host_query: HostQueryEtryPt) -> Result<&'static Interfaces, RsError> {
    if let Some(i) = IFACES.get() {
        return Ok(i);
    }
    let ifs = negotiate(host_query)?;
    Ok(IFACES.get_or_init(|| ifs))
}

/// Negotiates every interface with the host, newest known version first.
pub fn negotiate(host_query: HostQueryEtryPt) -> Result<Interfaces, RsError> {
    let q = host_query.ok_or_else(|| RsError::new(ret::PARAM_ERROR, "no host entry point query function"))?;
    let mut get_obj: EntryPoint = std::ptr::null();
    // SAFETY: the host query function is rsyslog's; it writes one function pointer.
    let r = unsafe { q(c"objGetObjInterface".as_ptr().cast(), &mut get_obj) };
    if r != ret::OK || get_obj.is_null() {
        return Err(RsError::new(
            ret::MISSING_INTERFACE,
            "host does not offer objGetObjInterface",
        ));
    }
    let mut obj = ObjIf {
        hdr: InterfaceHdr {
            ifVersion: OBJ_IF_VERSION,
            ifIsLoaded: 0,
        },
        UseObj: None,
        ReleaseObj: None,
        rest: [std::ptr::null(); 13],
    };
    // SAFETY: objGetObjInterface has signature rsRetVal(obj_if_t*) and fills the 128-byte struct.
    let r = unsafe {
        let f: unsafe extern "C" fn(*mut ObjIf) -> RsRetVal = std::mem::transmute(get_obj);
        f(&mut obj)
    };
    let use_fn = match (r, obj.UseObj) {
        (ret::OK, Some(f)) => f,
        _ => {
            return Err(RsError::new(
                ret::MISSING_INTERFACE,
                "obj interface version 2 not offered by this rsyslogd",
            ))
        }
    };
    Ok(Interfaces {
        use_obj: use_fn,
        glbl: use_obj(use_fn, "glbl", c"glbl", None, GLBL_VERSIONS)?,
        prop: use_obj(use_fn, "prop", c"prop", None, PROP_VERSIONS)?,
        ruleset: use_obj(use_fn, "ruleset", c"ruleset", None, RULESET_VERSIONS)?,
        datetime: use_obj(use_fn, "datetime", c"datetime", None, DATETIME_VERSIONS)?,
        statsobj: use_obj(use_fn, "statsobj", c"statsobj", None, STATSOBJ_VERSIONS)?,
    })
}

// --- member accessors -----------------------------------------------------

pub(crate) type PropPtr = *mut c_void;

/// See [`Interfaces::netstream_defaults`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetstreamDefaults {
    pub driver: Option<String>,
    pub ca: Option<String>,
    pub crl: Option<String>,
    pub cert: Option<String>,
    pub key: Option<String>,
    pub ca_extra: Option<String>,
}

impl Interfaces {
    /// glbl.GetGlobalInputTermState @136 (same in every version)
    pub fn global_input_term_state(&self) -> bool {
        // SAFETY: member @136 is `int (void)` in glbl v10 and v11.
        match unsafe { self.glbl.member::<unsafe extern "C" fn() -> c_int>(136) } {
            // SAFETY: plain getter.
            Some(f) => unsafe { f() != 0 },
            None => false,
        }
    }

    /// glbl.GetLocalHostName @88
    pub fn local_host_name(&self) -> String {
        // SAFETY: member @88 is `uchar *(void)` in glbl v10 and v11.
        match unsafe {
            self.glbl
                .member::<unsafe extern "C" fn() -> *const std::ffi::c_char>(88)
        } {
            // SAFETY: returns rsyslog's own NUL-terminated string (or NULL).
            Some(f) => crate::host::cstr_lossy(unsafe { f() }),
            None => String::new(),
        }
    }

    /// The global() netstream driver defaults (DefaultNetstreamDriver and its
    /// CA/CRL/cert/key files, NetstreamDriverCAExtraFiles) of `conf`.
    /// 8.2302 has no CRL default and other offsets than 8.2504 and later
    /// (rsyslog-abi.md §3.3, checked against both glbl.h).
    pub fn netstream_defaults(&self, conf: &crate::msg::ConfPtr) -> NetstreamDefaults {
        let old = crate::host::host().family == crate::host::HostFamily::V2302;
        // (CAF, CRLF, CertFile, KeyFile, Drvr, CAExtraFiles) getter offsets.
        let off: [Option<usize>; 6] = if old {
            [Some(208), None, Some(224), Some(240), Some(256), Some(304)]
        } else {
            [Some(208), Some(224), Some(240), Some(256), Some(272), Some(336)]
        };
        let get = |o: Option<usize>| -> Option<String> {
            // SAFETY: these glbl members are `uchar *(rsconf_t *)` getters in the host's glbl version.
            let f = unsafe {
                self.glbl
                    .member::<unsafe extern "C" fn(*mut c_void) -> *const std::ffi::c_char>(o?)
            }?;
            // SAFETY: the getter reads the conf's global settings and returns its own string or NULL.
            let p = unsafe { f(conf.0) };
            if p.is_null() {
                return None;
            }
            Some(crate::host::cstr_lossy(p)).filter(|s| !s.is_empty())
        };
        NetstreamDefaults {
            ca: get(off[0]),
            crl: get(off[1]),
            cert: get(off[2]),
            key: get(off[3]),
            driver: get(off[4]),
            ca_extra: get(off[5]),
        }
    }

    pub(crate) fn prop_create(&self, s: &[u8]) -> Option<PropPtr> {
        // SAFETY: prop v1 CreateStringProp @72: rsRetVal (prop_t **, const uchar *, int).
        let f = unsafe {
            self.prop
                .member::<unsafe extern "C" fn(*mut PropPtr, *const u8, c_int) -> RsRetVal>(72)
        }?;
        let mut p: PropPtr = std::ptr::null_mut();
        // rsyslog's SetString copies len + 1 bytes: the string must end in a NUL.
        let mut z = Vec::with_capacity(s.len() + 1);
        z.extend_from_slice(s);
        z.push(0);
        // SAFETY: z holds len + 1 bytes, which rsyslog copies; p receives a prop with refcount 1.
        let r = unsafe { f(&mut p, z.as_ptr(), s.len() as c_int) };
        (r == ret::OK && !p.is_null()).then_some(p)
    }

    pub(crate) fn prop_add_ref(&self, p: PropPtr) {
        // SAFETY: prop v1 AddRef @64: rsRetVal (prop_t *).
        if let Some(f) = unsafe { self.prop.member::<unsafe extern "C" fn(PropPtr) -> RsRetVal>(64) } {
            // SAFETY: p is a live prop we hold a reference to.
            unsafe { f(p) };
        }
    }

    pub(crate) fn prop_destruct(&self, p: PropPtr) {
        // SAFETY: prop v1 Destruct @32: rsRetVal (prop_t **).
        if let Some(f) = unsafe { self.prop.member::<unsafe extern "C" fn(*mut PropPtr) -> RsRetVal>(32) } {
            let mut p = p;
            // SAFETY: drops the one reference we own.
            unsafe { f(&mut p) };
        }
    }

    pub(crate) fn prop_string(&self, p: PropPtr) -> Vec<u8> {
        // SAFETY: prop v1 GetString @48: rsRetVal (prop_t *, uchar **, int *).
        let Some(f) = (unsafe {
            self.prop
                .member::<unsafe extern "C" fn(PropPtr, *mut *const u8, *mut c_int) -> RsRetVal>(48)
        }) else {
            return Vec::new();
        };
        let mut s: *const u8 = std::ptr::null();
        let mut len: c_int = 0;
        // SAFETY: GetString returns a pointer into the prop, valid while we hold it.
        if unsafe { f(p, &mut s, &mut len) } != ret::OK || s.is_null() || len < 0 {
            return Vec::new();
        }
        // SAFETY: s points to len bytes inside the prop.
        unsafe { std::slice::from_raw_parts(s, len as usize) }.to_vec()
    }

    /// ruleset.GetRuleset @72: `rsRetVal (rsconf_t *, ruleset_t **, uchar *)`
    pub(crate) fn ruleset_get(&self, conf: *mut c_void, name: &std::ffi::CStr) -> Option<*mut c_void> {
        // SAFETY: ruleset v8 GetRuleset @72.
        let f = unsafe {
            self.ruleset
                .member::<unsafe extern "C" fn(*mut c_void, *mut *mut c_void, *const u8) -> RsRetVal>(72)
        }?;
        let mut rs: *mut c_void = std::ptr::null_mut();
        // SAFETY: conf is the rsconf_t* rsyslog gave beginCnfLoad; name is NUL-terminated.
        let r = unsafe { f(conf, &mut rs, name.as_ptr().cast()) };
        (r == ret::OK && !rs.is_null()).then_some(rs)
    }

    /// datetime.getCurrTime @8: `void (struct syslogTime *, time_t *, int inUTC)`
    pub fn current_time(&self, utc: bool) -> (SyslogTime, libc::time_t) {
        let mut t = SyslogTime::default();
        let mut tt: libc::time_t = 0;
        // SAFETY: datetime v11 getCurrTime @8.
        if let Some(f) = unsafe {
            self.datetime
                .member::<unsafe extern "C" fn(*mut SyslogTime, *mut libc::time_t, c_int)>(8)
        } {
            // SAFETY: fills the two out-parameters.
            unsafe { f(&mut t, &mut tt, if utc { TIME_IN_UTC } else { TIME_IN_LOCALTIME }) };
        }
        (t, tt)
    }

    /// Byte offsets of the statsobj members by negotiated version:
    /// (Construct, ConstructFinalize, Destruct, SetName, SetOrigin, AddCounter).
    pub(crate) fn statsobj_offsets(&self) -> [usize; 6] {
        match self.statsobj.version {
            13 => [16, 24, 32, 40, 48, 88],
            _ => [16, 24, 32, 40, 48, 104],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicI32, Ordering};

    /// The statsobj version the fake host offers (glbl: 11, others: as known).
    static FAKE_STATSOBJ: AtomicI32 = AtomicI32::new(16);

    unsafe extern "C" fn fake_use_obj(
        _src: *const std::ffi::c_char,
        name: *const u8,
        _file: *const u8,
        pif: *mut InterfaceHdr,
    ) -> RsRetVal {
        // SAFETY: test double called by use_obj with valid pointers.
        let (name, hdr) = unsafe { (std::ffi::CStr::from_ptr(name.cast()).to_str().unwrap(), &mut *pif) };
        let offered = match name {
            "glbl" => 11,
            "prop" => 1,
            "ruleset" => 8,
            "datetime" => 11,
            "statsobj" => FAKE_STATSOBJ.load(Ordering::SeqCst),
            _ => -1,
        };
        if hdr.ifIsLoaded == 2 {
            return ret::LOAD_ERROR; // rsyslog refuses a retry without a reset
        }
        if hdr.ifVersion != offered {
            hdr.ifIsLoaded = 2;
            return ret::INTERFACE_NOT_SUPPORTED;
        }
        hdr.ifIsLoaded = 1;
        ret::OK
    }

    unsafe extern "C" fn fake_get_obj(o: *mut ObjIf) -> RsRetVal {
        // SAFETY: test double called with our ObjIf.
        let o = unsafe { &mut *o };
        if o.hdr.ifVersion == OBJ_IF_VERSION {
            o.UseObj = Some(fake_use_obj);
        }
        ret::OK
    }

    unsafe extern "C" fn fake_host(name: *const u8, out: *mut EntryPoint) -> RsRetVal {
        // SAFETY: test double called by negotiate with valid pointers.
        unsafe {
            if std::ffi::CStr::from_ptr(name.cast()).to_bytes() == b"objGetObjInterface" {
                *out = fake_get_obj as *const c_void;
                ret::OK
            } else {
                ret::MODULE_ENTRY_POINT_NOT_FOUND
            }
        }
    }

    #[test]
    fn negotiates_versions_and_refuses_unknown_ones() {
        FAKE_STATSOBJ.store(16, Ordering::SeqCst);
        let i = negotiate(Some(fake_host)).expect("upstream-like host");
        assert_eq!((i.glbl.version, i.statsobj.version), (11, 16));
        assert_eq!(i.statsobj_offsets()[5], 104, "AddCounter moved in statsobj v16");

        FAKE_STATSOBJ.store(13, Ordering::SeqCst);
        let i = negotiate(Some(fake_host)).expect("8.2302/8.2504-like host");
        assert_eq!(i.statsobj.version, 13);
        assert_eq!(i.statsobj_offsets()[5], 88);

        FAKE_STATSOBJ.store(17, Ordering::SeqCst);
        let e = match negotiate(Some(fake_host)) {
            Err(e) => e,
            Ok(_) => panic!("statsobj 17 must be refused"),
        };
        assert_eq!(e.code, ret::INTERFACE_NOT_SUPPORTED);
        let m = e.msg.unwrap();
        assert!(m.contains("'statsobj'") && m.contains("[13, 16]"), "{m}");
    }
}
