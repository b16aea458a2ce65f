//! Config parameters: static descriptor blocks handed to rsyslog's own
//! `nvlstGetParams`, so type checks, required parameters and "not known"
//! errors are rsyslog's own, and typed access to the values it returns.

use crate::abi::*;
use crate::host::host;
use crate::log::{RsError, RsResult};
use std::ffi::{c_int, c_void, CStr};

/// `ecslCmdHdlrType` values (identical in every host version).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(i32)]
pub enum ParamType {
    Uid = 2,
    Gid = 3,
    Binary = 4,
    FileCreateMode = 5,
    Int = 6,
    NonNegInt = 7,
    PositiveInt = 8,
    Size = 9,
    GetChar = 10,
    Facility = 11,
    Severity = 12,
    GetWord = 13,
    String = 14,
    Array = 15,
    QueueType = 16,
    GoneAway = 17,
}

/// One parameter descriptor (`struct cnfparamdescr`), usable in a `static`.
#[repr(transparent)]
pub struct ParamDescr(cnfparamdescr);
// SAFETY: the name points to a 'static C string literal; the descriptor is immutable.
unsafe impl Sync for ParamDescr {}

impl ParamDescr {
    pub const fn new(name: &'static CStr, ty: ParamType) -> Self {
        ParamDescr(cnfparamdescr {
            name: name.as_ptr(),
            type_: ty as c_int,
            flags: 0,
        })
    }
    pub const fn required(name: &'static CStr, ty: ParamType) -> Self {
        ParamDescr(cnfparamdescr {
            name: name.as_ptr(),
            type_: ty as c_int,
            flags: CNFPARAM_REQUIRED,
        })
    }
    pub fn name(&self) -> &'static str {
        // SAFETY: built from a &'static CStr in new()/required().
        unsafe { CStr::from_ptr(self.0.name) }.to_str().unwrap_or("")
    }
    pub fn ty(&self) -> c_int {
        self.0.type_
    }
    pub fn is_required(&self) -> bool {
        self.0.flags & CNFPARAM_REQUIRED != 0
    }
}

/// A parameter block (`struct cnfparamblk`) over a static descriptor table.
#[repr(transparent)]
pub struct ParamBlock(cnfparamblk);
// SAFETY: points to a 'static immutable descriptor table.
unsafe impl Sync for ParamBlock {}

impl ParamBlock {
    pub const fn new(descr: &'static [ParamDescr]) -> Self {
        ParamBlock(cnfparamblk {
            version: CNFPARAMBLK_VERSION,
            nParams: descr.len() as u16,
            descr: descr.as_ptr() as *const cnfparamdescr,
        })
    }
    pub fn descriptors(&self) -> &'static [ParamDescr] {
        // SAFETY: constructed from a &'static [ParamDescr] of nParams entries.
        unsafe { std::slice::from_raw_parts(self.0.descr as *const ParamDescr, self.0.nParams as usize) }
    }
    pub fn names(&self) -> impl Iterator<Item = &'static str> {
        self.descriptors().iter().map(|d| d.name())
    }
    fn raw(&self) -> *const cnfparamblk {
        &self.0
    }
}

/// An opaque `struct nvlst *` from rsyslog (the parameters of one statement).
#[derive(Clone, Copy)]
pub struct NvList(pub(crate) *mut c_void);

impl NvList {
    pub fn is_null(&self) -> bool {
        self.0.is_null()
    }
}

/// One value as rsyslog converted it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value<'a> {
    Str(&'a [u8]),
    Num(i64),
    Array(Vec<&'a [u8]>),
    Other,
}

/// The values of one statement, indexed like the block's descriptors.
pub struct Params<'b> {
    blk: &'b ParamBlock,
    vals: *mut cnfparamvals,
}

/// Reads the bytes of a libestr string (characters follow the 8-byte header).
///
/// # Safety
/// `s` must be a valid `es_str_t*` that outlives `'a`.
unsafe fn es_bytes<'a>(s: *const es_str_t) -> &'a [u8] {
    if s.is_null() {
        return &[];
    }
    // SAFETY: libestr stores lenStr bytes right after the two u32 counters.
    unsafe { std::slice::from_raw_parts((s as *const u8).add(8), (*s).lenStr as usize) }
}

impl<'b> Params<'b> {
    /// `nvlstGetParams(lst, blk, NULL)`. On a config error rsyslog has already
    /// logged it; the result is `Err` with RS_RET_MISSING_CNFPARAMS.
    pub fn parse(lst: NvList, blk: &'b ParamBlock) -> RsResult<Self> {
        if lst.is_null() {
            return Err(RsError::code(ret::MISSING_CNFPARAMS));
        }
        let f = host()
            .fns
            .nvlstGetParams
            .ok_or_else(|| RsError::new(ret::INTERNAL_ERROR, "nvlstGetParams not available"))?;
        // SAFETY: lst is the nvlst rsyslog passed to the entry point; blk is a valid static block.
        let vals = unsafe { f(lst.0, blk.raw(), std::ptr::null_mut()) };
        if vals.is_null() {
            return Err(RsError::code(ret::MISSING_CNFPARAMS));
        }
        Ok(Params { blk, vals })
    }

    fn entry(&self, i: usize) -> Option<&cnfparamvals> {
        if i >= self.blk.descriptors().len() {
            return None;
        }
        // SAFETY: vals has nParams entries (allocated by nvlstGetParams).
        let e = unsafe { &*self.vals.add(i) };
        (e.bUsed != 0).then_some(e)
    }

    fn value_at(&self, i: usize) -> Option<Value<'_>> {
        let e = self.entry(i)?;
        let d = e.val.d;
        Some(match e.val.datatype as u8 {
            // SAFETY: datatype 'S' means d is an es_str_t* owned by vals.
            b'S' => Value::Str(unsafe { es_bytes(d as *const es_str_t) }),
            b'N' => Value::Num(d as i64),
            b'A' => {
                let ar = d as *const cnfarray;
                if ar.is_null() {
                    Value::Array(Vec::new())
                } else {
                    // SAFETY: datatype 'A' means d is a cnfarray* with nmemb es_str_t* entries.
                    let items: Vec<&[u8]> = unsafe {
                        (0..(*ar).nmemb.max(0) as usize)
                            .map(|j| es_bytes(*(*ar).arr.add(j)))
                            .collect()
                    };
                    Value::Array(items)
                }
            }
            _ => Value::Other,
        })
    }

    /// All given parameters in descriptor order: (descriptor name, value).
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, Value<'_>)> + '_ {
        self.blk
            .descriptors()
            .iter()
            .enumerate()
            .filter_map(move |(i, d)| self.value_at(i).map(|v| (d.name(), v)))
    }

    fn index(&self, name: &str) -> Option<usize> {
        self.blk.descriptors().iter().position(|d| d.name() == name)
    }

    /// The value of parameter `name` (descriptor spelling), if given.
    pub fn get(&self, name: &str) -> Option<Value<'_>> {
        self.value_at(self.index(name)?)
    }
    pub fn is_set(&self, name: &str) -> bool {
        self.index(name).and_then(|i| self.entry(i)).is_some()
    }
    pub fn num(&self, name: &str) -> Option<i64> {
        match self.get(name)? {
            Value::Num(n) => Some(n),
            _ => None,
        }
    }
    pub fn bool(&self, name: &str) -> Option<bool> {
        self.num(name).map(|n| n != 0)
    }
    pub fn bytes(&self, name: &str) -> Option<Vec<u8>> {
        match self.get(name)? {
            Value::Str(s) => Some(s.to_vec()),
            _ => None,
        }
    }
    pub fn string(&self, name: &str) -> Option<String> {
        self.bytes(name).map(|b| String::from_utf8_lossy(&b).into_owned())
    }
    pub fn array(&self, name: &str) -> Option<Vec<String>> {
        match self.get(name)? {
            Value::Array(a) => Some(a.iter().map(|s| String::from_utf8_lossy(s).into_owned()).collect()),
            Value::Str(s) => Some(vec![String::from_utf8_lossy(s).into_owned()]),
            _ => None,
        }
    }
}

impl Drop for Params<'_> {
    fn drop(&mut self) {
        if let Some(f) = host().fns.cnfparamvalsDestruct {
            // SAFETY: vals came from nvlstGetParams with this block and is freed once.
            unsafe { f(self.vals, self.blk.raw()) }
        }
    }
}

/// Declares a `static` parameter block:
/// `param_block!(pub INPUT_PARAMS = [ required "port": String, "address": String ]);`
#[macro_export]
macro_rules! param_block {
    ($vis:vis $name:ident = [ $( $(#[$req:ident])? $pname:literal : $ty:ident ),* $(,)? ]) => {
        $vis static $name: $crate::config::ParamBlock = {
            static DESCR: &[$crate::config::ParamDescr] = &[
                $( $crate::param_block!(@d $(#[$req])? $pname, $ty) ),*
            ];
            $crate::config::ParamBlock::new(DESCR)
        };
    };
    (@d #[required] $pname:literal, $ty:ident) => {
        $crate::config::ParamDescr::required(
            match ::std::ffi::CStr::from_bytes_with_nul(concat!($pname, "\0").as_bytes()) { Ok(c) => c, Err(_) => panic!() },
            $crate::config::ParamType::$ty)
    };
    (@d $pname:literal, $ty:ident) => {
        $crate::config::ParamDescr::new(
            match ::std::ffi::CStr::from_bytes_with_nul(concat!($pname, "\0").as_bytes()) { Ok(c) => c, Err(_) => panic!() },
            $crate::config::ParamType::$ty)
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    param_block!(TEST_BLOCK = [ #[required] "port": String, "maxSessions": PositiveInt, "permittedPeer": Array ]);

    #[test]
    fn block_describes_params() {
        let d = TEST_BLOCK.descriptors();
        assert_eq!(d.len(), 3);
        assert_eq!(d[0].name(), "port");
        assert!(d[0].is_required());
        assert_eq!(d[1].ty(), 8);
        assert!(!d[1].is_required());
        assert_eq!(
            TEST_BLOCK.names().collect::<Vec<_>>(),
            ["port", "maxSessions", "permittedPeer"]
        );
        assert_eq!(TEST_BLOCK.0.version, 1);
        assert_eq!(TEST_BLOCK.0.nParams, 3);
    }

    #[test]
    fn reads_values_as_rsyslog_lays_them_out() {
        // Build what nvlstGetParams returns: an es_str_t, a number and an array.
        let mut s1 = vec![0u8; 8];
        s1[0..4].copy_from_slice(&5u32.to_ne_bytes());
        s1.extend_from_slice(b"10514");
        let mut a1 = vec![0u8; 8];
        a1[0..4].copy_from_slice(&1u32.to_ne_bytes());
        a1.extend_from_slice(b"x");
        let mut elems = [a1.as_mut_ptr() as *mut es_str_t];
        let arr = cnfarray {
            nodetype: 0,
            nmemb: 1,
            arr: elems.as_mut_ptr(),
        };
        let mut vals = [
            cnfparamvals {
                val: svar {
                    d: s1.as_ptr() as u64,
                    datatype: b'S' as _,
                },
                bUsed: 1,
            },
            cnfparamvals {
                val: svar {
                    d: 0,
                    datatype: b'N' as _,
                },
                bUsed: 0,
            },
            cnfparamvals {
                val: svar {
                    d: &arr as *const _ as u64,
                    datatype: b'A' as _,
                },
                bUsed: 1,
            },
        ];
        let p = Params {
            blk: &TEST_BLOCK,
            vals: vals.as_mut_ptr(),
        };
        assert_eq!(p.string("port").as_deref(), Some("10514"));
        assert_eq!(p.num("maxSessions"), None);
        assert!(!p.is_set("maxSessions"));
        assert_eq!(p.array("permittedPeer"), Some(vec!["x".to_string()]));
        assert_eq!(p.iter().count(), 2);
        assert_eq!(p.get("unknown"), None);
        std::mem::forget(p); // outside rsyslogd there is nothing to free
    }
}
