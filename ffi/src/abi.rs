//! Raw rsyslog module ABI for x86_64 Linux, as 8.2302, 8.2504 and current
//! upstream define it (see `shared/rsyslog-abi.md`, checked against the
//! sources). Nothing here is safe to use directly; the rest of this crate wraps it.
#![allow(non_camel_case_types, non_snake_case)]

use std::ffi::{c_char, c_int, c_uint, c_void};

/// `rsRetVal`: a signed 4-byte enum.
pub type RsRetVal = c_int;

/// Return codes used by the modules (identical in 2302, 2504 and master).
pub mod ret {
    use super::RsRetVal;
    pub const OK: RsRetVal = 0;
    pub const TERMINATE_NOW: RsRetVal = 2;
    pub const NO_RUN: RsRetVal = 3;
    pub const NO_ERRCODE: RsRetVal = -1;
    pub const OUT_OF_MEMORY: RsRetVal = -6;
    pub const PARAM_ERROR: RsRetVal = -1000;
    pub const MISSING_INTERFACE: RsRetVal = -1001;
    pub const MODULE_ENTRY_POINT_NOT_FOUND: RsRetVal = -1004;
    pub const LOAD_ERROR: RsRetVal = -1006;
    pub const DISCARDMSG: RsRetVal = -2002;
    pub const INCOMPATIBLE: RsRetVal = -2003;
    pub const INVALID_PARAMS: RsRetVal = -2016;
    pub const IO_ERROR: RsRetVal = -2027;
    pub const FILE_NOT_FOUND: RsRetVal = -2040;
    pub const CONFIG_ERROR: RsRetVal = -2046;
    pub const INTERFACE_NOT_SUPPORTED: RsRetVal = -2054;
    pub const HOST_NOT_PERMITTED: RsRetVal = -2063;
    pub const NO_SOCKET: RsRetVal = -2069;
    pub const INVALID_PORT: RsRetVal = -2076;
    pub const COULD_NOT_BIND: RsRetVal = -2077;
    pub const MAX_SESS_REACHED: RsRetVal = -2079;
    pub const MAX_LSTN_REACHED: RsRetVal = -2080;
    pub const GNUTLS_ERR: RsRetVal = -2078;
    pub const INVALID_DRVR_MODE: RsRetVal = -2081;
    pub const TLS_HANDSHAKE_ERR: RsRetVal = -2083;
    pub const TLS_CERT_ERR: RsRetVal = -2084;
    pub const TLS_NO_CERT: RsRetVal = -2085;
    pub const VALUE_NOT_SUPPORTED: RsRetVal = -2086;
    pub const VALUE_NOT_IN_THIS_MODE: RsRetVal = -2087;
    pub const INVALID_FINGERPRINT: RsRetVal = -2088;
    pub const CERT_INVALID: RsRetVal = -2090;
    pub const CERT_INVALID_DN: RsRetVal = -2091;
    pub const CERT_EXPIRED: RsRetVal = -2092;
    pub const CERT_NOT_YET_ACTIVE: RsRetVal = -2094;
    pub const INVALID_WILDCARD: RsRetVal = -2098;
    pub const PEER_CLOSED_CONN: RsRetVal = -2144;
    pub const RULESET_NOT_FOUND: RsRetVal = -2157;
    pub const RCV_ERR: RsRetVal = -2165;
    pub const INTERNAL_ERROR: RsRetVal = -2175;
    pub const CONF_PARSE_ERROR: RsRetVal = -2207;
    pub const CONF_PARSE_WARNING: RsRetVal = -2357;
    pub const MISSING_CNFPARAMS: RsRetVal = -2211;
    pub const NO_LISTNERS: RsRetVal = -2212;
    pub const CONF_PARAM_INVLD: RsRetVal = -2425;
    pub const OVERSIZE_MSG: RsRetVal = -2445;
    pub const CA_CERT_MISSING: RsRetVal = -2329;
    pub const CERT_MISSING: RsRetVal = -2330;
    pub const CERTKEY_MISSING: RsRetVal = -2331;
    pub const CRL_MISSING: RsRetVal = -2332;
    pub const CRL_INVALID: RsRetVal = -2333;
    pub const CERT_REVOKED: RsRetVal = -2334;
    pub const TLS_KEY_ERR: RsRetVal = -2446;
    /// current upstream only
    pub const SERVER_NO_TLS: RsRetVal = -2465;
    /// Stream decompression failed (zlib or zstd; current upstream imtcp).
    pub const ZLIB_ERR: RsRetVal = -2141;
    pub const ERR: RsRetVal = -3000;
    pub const NOT_FOUND: RsRetVal = -3003;
}

/// `CURR_MOD_IF_VERSION`, requested by every host version.
pub const CURR_MOD_IF_VERSION: c_int = 6;

/// `eModType_t`
pub const EMOD_IN: c_int = 0;
/// `eModKeepType_t`
pub const EMOD_KEEP: c_int = 1;
/// `syslogFeature`: sFEATURENonCancelInputTermination
pub const SFEATURE_NON_CANCEL_INPUT_TERMINATION: c_int = 2;

/// Generic entry point as rsyslog passes it around (`rsRetVal (*)()`).
pub type EntryPoint = *const c_void;
/// `rsRetVal (*pHostQueryEtryPt)(uchar *name, rsRetVal (**pEtryPoint)())`
pub type HostQueryEtryPt = Option<unsafe extern "C" fn(*const u8, *mut EntryPoint) -> RsRetVal>;

/// `interface_t`, the head of every interface struct.
#[repr(C)]
#[derive(Debug, Default, Clone, Copy)]
pub struct InterfaceHdr {
    pub ifVersion: c_int,
    pub ifIsLoaded: c_int,
}

/// A buffer large enough for any interface struct of any supported host
/// (the largest, glbl v11, is 512 bytes). Members are read by byte offset.
#[repr(C)]
pub struct IfaceBuf {
    pub hdr: InterfaceHdr,
    pub slots: [*const c_void; 127],
}

impl IfaceBuf {
    pub fn new(version: c_int) -> Box<Self> {
        Box::new(IfaceBuf {
            hdr: InterfaceHdr {
                ifVersion: version,
                ifIsLoaded: 0,
            },
            slots: [std::ptr::null(); 127],
        })
    }
    /// The member at byte offset `off` (8, 16, ...) of the C struct.
    pub fn slot(&self, off: usize) -> *const c_void {
        debug_assert!(off >= 8 && off.is_multiple_of(8));
        self.slots[(off - 8) / 8]
    }
}

/// `obj_if_t` (version 2 in every host; 128 bytes).
#[repr(C)]
pub struct ObjIf {
    pub hdr: InterfaceHdr,
    pub UseObj: Option<unsafe extern "C" fn(*const c_char, *const u8, *const u8, *mut InterfaceHdr) -> RsRetVal>,
    pub ReleaseObj: Option<unsafe extern "C" fn(*const c_char, *const u8, *const u8, *mut InterfaceHdr) -> RsRetVal>,
    pub rest: [*const c_void; 13],
}
pub const OBJ_IF_VERSION: c_int = 2;

/// `iObjCooCKiE`, which a debug build of rsyslog keeps at byte 8 of every
/// object (`obj_t`: `pObjInfo`, the cookie, then `pszName`).
pub const OBJ_COOKIE: u32 = 0x0BAD_EFEE;

/// `queueType_t` QUEUETYPE_DIRECT (queue.h of every supported host)
pub const QUEUETYPE_DIRECT: c_int = 3;

/// Length of the `obj_t` header that starts a rsyslog object whose first
/// bytes are `head` (at least 12): 24 in a debug build (pointer, cookie,
/// pointer), else 16 (pointer, pointer).
pub fn obj_header_len(head: &[u8]) -> usize {
    match head.get(8..12) {
        Some(b) if u32::from_ne_bytes([b[0], b[1], b[2], b[3]]) == OBJ_COOKIE => 24,
        _ => 16,
    }
}

/// `struct cnfparamdescr`
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct cnfparamdescr {
    pub name: *const c_char,
    pub type_: c_int,
    pub flags: c_uint,
}

/// `struct cnfparamblk`
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct cnfparamblk {
    pub version: u16,
    pub nParams: u16,
    pub descr: *const cnfparamdescr,
}
pub const CNFPARAMBLK_VERSION: u16 = 1;
pub const CNFPARAM_REQUIRED: c_uint = 0x0001;
pub const CNFPARAM_DEPRECATED: c_uint = 0x0002;

/// `es_str_t` of libestr: the characters follow the two counters.
#[repr(C)]
pub struct es_str_t {
    pub lenStr: c_uint,
    pub lenBuf: c_uint,
}

/// `struct cnfarray`
#[repr(C)]
pub struct cnfarray {
    pub nodetype: c_uint,
    pub nmemb: c_int,
    pub arr: *mut *mut es_str_t,
}

/// `struct svar`
#[repr(C)]
#[derive(Clone, Copy)]
pub struct svar {
    /// union { es_str_t *estr; struct cnfarray *ar; long long n; struct fjson_object *json; }
    pub d: u64,
    pub datatype: c_char,
}

/// `struct cnfparamvals`
#[repr(C)]
#[derive(Clone, Copy)]
pub struct cnfparamvals {
    pub val: svar,
    pub bUsed: u8,
}

/// `struct syslogTime` (24 bytes in every host).
#[repr(C)]
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SyslogTime {
    pub timeType: i8,
    pub month: i8,
    pub day: i8,
    pub wday: i8,
    pub hour: i8,
    pub minute: i8,
    pub second: i8,
    pub secfracPrecision: i8,
    pub OffsetMinute: i8,
    pub OffsetHour: i8,
    pub OffsetMode: c_char,
    pub _pad: i8,
    pub year: i16,
    pub _pad2: i16,
    pub secfrac: c_int,
    pub inUTC: i8,
}

/// `multi_submit_t`
#[repr(C)]
pub struct multi_submit_t {
    pub maxElem: i16,
    pub nElem: i16,
    pub ppMsgs: *mut *mut c_void,
}

/// Byte offset of `int msgFlags` in `smsg_t` (2302, 2504, master; NDEBUG builds).
pub const MSG_FLAGS_OFFSET: usize = 88;
pub const NEEDS_PARSING: c_int = 0x010;
pub const PARSE_HOSTNAME: c_int = 0x020;
/// Current upstream only (runtime/msg.h): the parser skips its legacy
/// single-message decompression of a message that begins with `z`. 8.2302
/// and 8.2504 have no such flag (the bit is unused there).
pub const NO_LEGACY_Z_DECOMPRESS: c_int = 0x400;

/// Byte offset of `int bShallStop` in `thrdInfo_t`.
pub const THRD_SHALL_STOP_OFFSET: usize = 92;

/// `flowControl_t`
pub const FLOWCTL_NO_DELAY: c_int = 0;
pub const FLOWCTL_LIGHT_DELAY: c_int = 1;
pub const FLOWCTL_FULL_DELAY: c_int = 2;

/// `statsCtrType_t` / counter flags
pub const CTR_TYPE_INTCTR: c_int = 0;
pub const CTR_FLAG_RESETTABLE: i8 = 1;

/// `TIME_IN_LOCALTIME` / `TIME_IN_UTC`
pub const TIME_IN_LOCALTIME: c_int = 0;
pub const TIME_IN_UTC: c_int = 1;

/// libfastjson's `FJSON_TO_STRING_SPACED`
pub const FJSON_TO_STRING_SPACED: c_int = 1;

#[cfg(test)]
mod tests {
    use super::*;
    use std::mem::{offset_of, size_of};

    #[test]
    fn layouts_match_the_c_structs() {
        assert_eq!(size_of::<cnfparamdescr>(), 16);
        assert_eq!(size_of::<cnfparamblk>(), 16);
        assert_eq!(size_of::<svar>(), 16);
        assert_eq!(size_of::<cnfparamvals>(), 24);
        assert_eq!(offset_of!(cnfparamvals, bUsed), 16);
        assert_eq!(size_of::<cnfarray>(), 16);
        assert_eq!(size_of::<SyslogTime>(), 24);
        assert_eq!(offset_of!(SyslogTime, year), 12);
        assert_eq!(offset_of!(SyslogTime, secfrac), 16);
        assert_eq!(offset_of!(SyslogTime, inUTC), 20);
        assert_eq!(size_of::<multi_submit_t>(), 16);
        assert_eq!(size_of::<ObjIf>(), 128);
        assert_eq!(size_of::<IfaceBuf>(), 1024);
        assert_eq!(size_of::<es_str_t>(), 8);
    }

    #[test]
    fn object_header_of_debug_and_release_builds() {
        // release: pObjInfo, pszName (NULL for most objects)
        let mut rel = [0u8; 24];
        rel[..8].copy_from_slice(&0x5555_0000_1000usize.to_ne_bytes());
        assert_eq!(obj_header_len(&rel), 16);
        // debug: pObjInfo, iObjCooCKiE = 0xBADEFEE, pszName
        let mut dbg = rel;
        dbg[8..12].copy_from_slice(&0x0BAD_EFEEu32.to_ne_bytes());
        assert_eq!(obj_header_len(&dbg), 24);
        assert_eq!(obj_header_len(&dbg[..4]), 16);
    }
}
