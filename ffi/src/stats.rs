//! Statistics counters through rsyslog's statsobj (what impstats prints).
//! The member offsets follow the negotiated statsobj version (13 or 16).

use crate::abi::*;
use crate::log::{RsError, RsResult};
use crate::obj::interfaces;
use std::ffi::{c_int, c_void, CString};
use std::sync::atomic::{AtomicU64, Ordering};

/// A registered statistics object with its counters at fixed addresses.
pub struct StatsObj {
    obj: *mut c_void,
    counters: Box<[AtomicU64]>,
}
// SAFETY: rsyslog reads the counters from its own thread; we only update them atomically.
unsafe impl Send for StatsObj {}
// SAFETY: as above; the object pointer is only used in new() and drop().
unsafe impl Sync for StatsObj {}

impl StatsObj {
    /// Construct → SetName → SetOrigin → AddCounter(each, IntCtr, RESETTABLE) → ConstructFinalize.
    pub fn new(name: &str, origin: &str, counter_names: &[&str]) -> RsResult<StatsObj> {
        let i = interfaces().ok_or_else(|| RsError::new(ret::INTERNAL_ERROR, "statsobj interface missing"))?;
        let [o_construct, o_finalize, _o_destruct, o_setname, o_setorigin, o_addctr] = i.statsobj_offsets();
        type Construct = unsafe extern "C" fn(*mut *mut c_void) -> RsRetVal;
        type Finalize = unsafe extern "C" fn(*mut c_void) -> RsRetVal;
        type SetStr = unsafe extern "C" fn(*mut c_void, *const u8) -> RsRetVal;
        type AddCtr = unsafe extern "C" fn(*mut c_void, *const u8, c_int, i8, *mut c_void) -> RsRetVal;
        let missing = || RsError::new(ret::INTERNAL_ERROR, "statsobj member missing");
        // SAFETY: the offsets and signatures are those of the negotiated statsobj version.
        let (construct, finalize, setname, setorigin, addctr) = unsafe {
            (
                i.statsobj.member::<Construct>(o_construct).ok_or_else(missing)?,
                i.statsobj.member::<Finalize>(o_finalize).ok_or_else(missing)?,
                i.statsobj.member::<SetStr>(o_setname).ok_or_else(missing)?,
                i.statsobj.member::<SetStr>(o_setorigin).ok_or_else(missing)?,
                i.statsobj.member::<AddCtr>(o_addctr).ok_or_else(missing)?,
            )
        };
        let counters: Box<[AtomicU64]> = counter_names.iter().map(|_| AtomicU64::new(0)).collect();
        let mut s = StatsObj {
            obj: std::ptr::null_mut(),
            counters,
        };
        let check = |r: RsRetVal| if r == ret::OK { Ok(()) } else { Err(RsError::code(r)) };
        let cname = CString::new(name).map_err(|_| RsError::code(ret::PARAM_ERROR))?;
        let corigin = CString::new(origin).map_err(|_| RsError::code(ret::PARAM_ERROR))?;
        // SAFETY: statsobj calls on the object we construct; names are copied by rsyslog;
        // counters live in a boxed slice that outlives the object (dropped after Destruct).
        unsafe {
            check(construct(&mut s.obj))?;
            check(setname(s.obj, cname.as_ptr().cast()))?;
            check(setorigin(s.obj, corigin.as_ptr().cast()))?;
            for (n, c) in counter_names.iter().zip(s.counters.iter()) {
                let cn = CString::new(*n).map_err(|_| RsError::code(ret::PARAM_ERROR))?;
                check(addctr(
                    s.obj,
                    cn.as_ptr().cast(),
                    CTR_TYPE_INTCTR,
                    CTR_FLAG_RESETTABLE,
                    c.as_ptr().cast(),
                ))?;
            }
            check(finalize(s.obj))?;
        }
        Ok(s)
    }

    /// Counter `idx` (in the order given to `new`).
    pub fn counter(&self, idx: usize) -> &AtomicU64 {
        &self.counters[idx]
    }

    pub fn inc(&self, idx: usize, by: u64) {
        self.counters[idx].fetch_add(by, Ordering::Relaxed);
    }
}

impl Drop for StatsObj {
    fn drop(&mut self) {
        if self.obj.is_null() {
            return;
        }
        if let Some(i) = interfaces() {
            let off = i.statsobj_offsets()[2];
            // SAFETY: Destruct has `rsRetVal (statsobj_t **)` at this offset in the negotiated version.
            if let Some(f) = unsafe {
                i.statsobj
                    .member::<unsafe extern "C" fn(*mut *mut c_void) -> RsRetVal>(off)
            } {
                // SAFETY: unlinks and frees our object before the counters are dropped.
                unsafe { f(&mut self.obj) };
            }
        }
    }
}
