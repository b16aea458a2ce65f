//! Safe wrappers over rsyslog's message objects: props, rulesets, messages,
//! batched submission (multi-submit) and the ratelimiter.

use crate::abi::*;
use crate::host::host;
use crate::json::JsonObj;
use crate::log::{RsError, RsResult};
use crate::obj::{interfaces, PropPtr};
use std::ffi::{c_int, c_void, CStr, CString};
use std::ptr::NonNull;

fn no_iface() -> RsError {
    RsError::new(ret::INTERNAL_ERROR, "rsyslog interfaces not initialised")
}

fn need<T>(f: Option<T>, name: &str) -> RsResult<T> {
    f.ok_or_else(|| RsError::new(ret::INTERNAL_ERROR, format!("rsyslogd does not export {name}")))
}

/// A reference-counted rsyslog property (`prop_t`), e.g. an input name.
pub struct Prop(NonNull<c_void>);
// SAFETY: rsyslog's prop reference counting is atomic and the string is immutable.
unsafe impl Send for Prop {}
// SAFETY: as above.
unsafe impl Sync for Prop {}

impl Prop {
    /// `prop.CreateStringProp`: a new prop holding a copy of `s`.
    pub fn new(s: &[u8]) -> RsResult<Prop> {
        let i = interfaces().ok_or_else(no_iface)?;
        i.prop_create(s)
            .and_then(NonNull::new)
            .map(Prop)
            .ok_or_else(|| RsError::code(ret::OUT_OF_MEMORY))
    }
    /// Takes ownership of one reference returned by rsyslog.
    pub(crate) fn from_owned(p: PropPtr) -> Option<Prop> {
        NonNull::new(p).map(Prop)
    }
    pub fn as_ptr(&self) -> *mut c_void {
        self.0.as_ptr()
    }
    /// The prop's bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        interfaces().map(|i| i.prop_string(self.as_ptr())).unwrap_or_default()
    }
}

impl Clone for Prop {
    fn clone(&self) -> Self {
        if let Some(i) = interfaces() {
            i.prop_add_ref(self.as_ptr());
        }
        Prop(self.0)
    }
}

impl Drop for Prop {
    fn drop(&mut self) {
        if let Some(i) = interfaces() {
            i.prop_destruct(self.as_ptr());
        }
    }
}

/// A ruleset of the running configuration (`ruleset_t*`, owned by rsyslog).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ruleset(NonNull<c_void>);
// SAFETY: rulesets live as long as the configuration and are only passed back to rsyslog.
unsafe impl Send for Ruleset {}
// SAFETY: as above.
unsafe impl Sync for Ruleset {}

impl Ruleset {
    /// Looks a ruleset up by name in configuration `conf` (from beginCnfLoad).
    pub fn lookup(conf: ConfPtr, name: &str) -> Option<Ruleset> {
        let c = CString::new(name).ok()?;
        if let Some(f) = host().fns.rulesetGetRuleset {
            let mut rs: *mut c_void = std::ptr::null_mut();
            // SAFETY: conf is the rsconf_t* from beginCnfLoad; c is NUL-terminated.
            let r = unsafe { f(conf.0, &mut rs, c.as_ptr().cast()) };
            return if r == ret::OK {
                NonNull::new(rs).map(Ruleset)
            } else {
                None
            };
        }
        interfaces()?
            .ruleset_get(conf.0, &c)
            .and_then(NonNull::new)
            .map(Ruleset)
    }

    /// Has the ruleset a queue of its own that is not a Direct queue? (what
    /// rsyslog's `rulesetHasQueue` asks.) `ruleset_t` is an object header
    /// (16 or 24 bytes), `pszName`, then `pQueue`, NULL without a queue of its
    /// own; a `qqueue_t` is an object header, then `queueType_t qType`. (The
    /// interface's GetRulesetQueue cannot serve: without a queue of its own it
    /// returns the running configuration's main queue.)
    pub fn has_own_queue(&self) -> bool {
        let rs = self.0.as_ptr() as *const u8;
        // SAFETY: rs is a live ruleset_t of the configuration being loaded; its first
        // 12 bytes are the obj_t header and pQueue follows the header and pszName.
        let q = unsafe {
            let at = obj_header_len(std::slice::from_raw_parts(rs, 12)) + std::mem::size_of::<*const u8>();
            std::ptr::read_unaligned(rs.add(at) as *const *const u8)
        };
        if q.is_null() {
            return false;
        }
        // SAFETY: q is the ruleset's live qqueue_t; qType is the int right after its obj_t header.
        let qtype = unsafe {
            let at = obj_header_len(std::slice::from_raw_parts(q, 12));
            std::ptr::read_unaligned(q.add(at) as *const c_int)
        };
        qtype != QUEUETYPE_DIRECT
    }

    /// The input's `ruleset=` binding: `None` when not set; when set but not
    /// found, `module` logs its "ruleset '<name>' for <what> not found - using
    /// default ruleset instead" line (as the C modules do) and gets `None` too.
    /// On current upstream hosts a ruleset without a queue of its own (or
    /// with a Direct one) gets that version's config warning, as its input
    /// modules give it when they check their rulesets.
    pub fn bind(conf: ConfPtr, module: &str, name: Option<&str>, what: &str) -> Option<Ruleset> {
        let name = name?;
        let rs = Ruleset::lookup(conf, name);
        match rs {
            None => crate::log::log_error(
                0,
                ret::NO_ERRCODE,
                &format!("{module}: ruleset '{name}' for {what} not found - using default ruleset instead"),
            ),
            Some(r) if host().family == crate::host::HostFamily::Master && !r.has_own_queue() => {
                crate::log::parser_warnmsg(&no_queue_warning(name))
            }
            Some(_) => {}
        }
        rs
    }
}

/// Current upstream's warning for an input bound to a ruleset without a
/// dedicated non-direct queue.
pub fn no_queue_warning(ruleset: &str) -> String {
    format!(
        "input-bound ruleset '{ruleset}' has no dedicated non-direct queue; input processing will share the main \
         queue or run synchronously"
    )
}

/// The `rsconf_t*` of the configuration being loaded.
#[derive(Debug, Clone, Copy)]
pub struct ConfPtr(pub(crate) *mut c_void);
// SAFETY: an opaque handle only passed back to rsyslog on the main thread.
unsafe impl Send for ConfPtr {}
// SAFETY: as above.
unsafe impl Sync for ConfPtr {}

/// `flowControl_t`
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlowControl {
    NoDelay,
    LightDelay,
    FullDelay,
}

/// One message under construction (`smsg_t*` with one reference owned by us).
pub struct Msg(NonNull<c_void>);
// SAFETY: a message not yet submitted is owned by exactly one thread.
unsafe impl Send for Msg {}

impl Msg {
    /// `msgConstruct`: received time and TIMESTAMP = now.
    pub fn new() -> RsResult<Msg> {
        let f = need(host().fns.msgConstruct, "msgConstruct")?;
        let mut p: *mut c_void = std::ptr::null_mut();
        // SAFETY: writes a new message with refcount 1 into p.
        let r = unsafe { f(&mut p) };
        if r != ret::OK {
            return Err(RsError::code(r));
        }
        NonNull::new(p)
            .map(Msg)
            .ok_or_else(|| RsError::code(ret::OUT_OF_MEMORY))
    }

    /// `msgConstructWithTime`: received time and TIMESTAMP = `t`.
    pub fn with_time(t: &SyslogTime, tt: libc::time_t) -> RsResult<Msg> {
        let f = need(host().fns.msgConstructWithTime, "msgConstructWithTime")?;
        let mut p: *mut c_void = std::ptr::null_mut();
        // SAFETY: t is copied into the new message.
        let r = unsafe { f(&mut p, t, tt) };
        if r != ret::OK {
            return Err(RsError::code(r));
        }
        NonNull::new(p)
            .map(Msg)
            .ok_or_else(|| RsError::code(ret::OUT_OF_MEMORY))
    }

    fn raw(&self) -> *mut c_void {
        self.0.as_ptr()
    }

    /// Hands the reference to rsyslog (for submission).
    fn into_raw(self) -> *mut c_void {
        let p = self.raw();
        std::mem::forget(self);
        p
    }

    pub fn set_raw_msg(&mut self, data: &[u8]) {
        if let Some(f) = host().fns.MsgSetRawMsg {
            // SAFETY: rsyslog copies len bytes.
            unsafe { f(self.raw(), data.as_ptr().cast(), data.len()) }
        }
    }
    pub fn set_input_name(&mut self, p: &Prop) {
        if let Some(f) = host().fns.MsgSetInputName {
            // SAFETY: rsyslog takes its own reference on the prop.
            unsafe { f(self.raw(), p.as_ptr()) }
        }
    }
    pub fn set_rcv_from(&mut self, p: &Prop) {
        if let Some(f) = host().fns.MsgSetRcvFrom {
            // SAFETY: rsyslog takes its own reference on the prop.
            unsafe { f(self.raw(), p.as_ptr()) }
        }
    }
    pub fn set_rcv_from_ip(&mut self, p: &Prop) {
        if let Some(f) = host().fns.MsgSetRcvFromIP {
            // SAFETY: rsyslog takes its own reference on the prop.
            unsafe { f(self.raw(), p.as_ptr()) };
        }
    }
    /// `fromhost-port`, on hosts that have it (current upstream); else nothing.
    pub fn set_rcv_from_port(&mut self, p: &Prop) {
        if let Some(f) = host().fns.MsgSetRcvFromPort {
            // SAFETY: rsyslog takes its own reference on the prop.
            unsafe { f(self.raw(), p.as_ptr()) };
        }
    }
    pub fn set_ruleset(&mut self, rs: Option<Ruleset>) {
        if let Some(f) = host().fns.MsgSetRuleset {
            // SAFETY: NULL selects the default ruleset.
            unsafe { f(self.raw(), rs.map_or(std::ptr::null_mut(), |r| r.0.as_ptr())) }
        }
    }
    pub fn set_tag(&mut self, tag: &[u8]) {
        if let Some(f) = host().fns.MsgSetTAG {
            // SAFETY: rsyslog copies len bytes.
            unsafe { f(self.raw(), tag.as_ptr(), tag.len()) }
        }
    }
    pub fn set_flow_control(&mut self, fc: FlowControl) {
        let v = match fc {
            FlowControl::NoDelay => FLOWCTL_NO_DELAY,
            FlowControl::LightDelay => FLOWCTL_LIGHT_DELAY,
            FlowControl::FullDelay => FLOWCTL_FULL_DELAY,
        };
        if let Some(f) = host().fns.MsgSetFlowControlType {
            // SAFETY: plain setter.
            unsafe { f(self.raw(), v) };
        }
    }
    pub fn set_default_tz(&mut self, tz: &CStr) {
        if let Some(f) = host().fns.MsgSetDfltTZ {
            // SAFETY: rsyslog copies at most 7 characters of the NUL-terminated string.
            unsafe { f(self.raw(), tz.as_ptr() as *mut _) }
        }
    }
    /// Sets `msgFlags` (no setter exists; C inputs write the field directly).
    pub fn set_flags(&mut self, flags: c_int) {
        // SAFETY: msgFlags is an int at byte 88 of smsg_t in every supported host (NDEBUG builds);
        // the message is not yet shared with other threads.
        unsafe { *(self.raw() as *mut u8).add(MSG_FLAGS_OFFSET).cast::<c_int>() = flags }
    }
    /// Reads `msgFlags`.
    pub fn flags(&self) -> c_int {
        // SAFETY: as set_flags.
        unsafe { *(self.raw() as *const u8).add(MSG_FLAGS_OFFSET).cast::<c_int>() }
    }
    /// `msgAddJSON(msg, name, json, 0, 0)`; ownership of the tree passes to the message.
    pub fn add_json(&mut self, name: &CStr, json: JsonObj) -> RsResult {
        let f = need(host().fns.msgAddJSON, "msgAddJSON")?;
        // SAFETY: name is NUL-terminated; json ownership passes to rsyslog.
        let r = unsafe { f(self.raw(), name.as_ptr().cast(), json.into_raw(), 0, 0) };
        if r == ret::OK {
            Ok(())
        } else {
            Err(RsError::code(r))
        }
    }
    /// `submitMsg2`: rsyslog takes the message in every case.
    pub fn submit(self) -> RsResult {
        let f = need(host().fns.submitMsg2, "submitMsg2")?;
        // SAFETY: ownership passes to rsyslog.
        let r = unsafe { f(self.into_raw()) };
        if r == ret::OK {
            Ok(())
        } else {
            Err(RsError::code(r))
        }
    }
}

impl Drop for Msg {
    fn drop(&mut self) {
        if let Some(f) = host().fns.msgDestruct {
            let mut p = self.raw();
            // SAFETY: drops the one reference we own.
            unsafe { f(&mut p) };
        }
    }
}

/// A thread-safe ratelimiter (`ratelimit_t`).
pub struct Ratelimit(NonNull<c_void>);
// SAFETY: made thread-safe with ratelimitSetThreadSafe in new().
unsafe impl Send for Ratelimit {}
// SAFETY: as above.
unsafe impl Sync for Ratelimit {}

impl Ratelimit {
    /// `ratelimitNew(modname, dynname)` + Linux-like limits (interval 0 = off) + thread safety.
    pub fn new(modname: &str, dynname: Option<&str>, interval: u32, burst: u32) -> RsResult<Ratelimit> {
        let h = &host().fns;
        let f = need(h.ratelimitNew, "ratelimitNew")?;
        let m = CString::new(modname).map_err(|_| RsError::code(ret::PARAM_ERROR))?;
        let d = dynname
            .map(CString::new)
            .transpose()
            .map_err(|_| RsError::code(ret::PARAM_ERROR))?;
        let mut p: *mut c_void = std::ptr::null_mut();
        // SAFETY: names are copied by rsyslog.
        let r = unsafe { f(&mut p, m.as_ptr(), d.as_ref().map_or(std::ptr::null(), |d| d.as_ptr())) };
        let rl = NonNull::new(p)
            .filter(|_| r == ret::OK)
            .map(Ratelimit)
            .ok_or_else(|| RsError::code(r))?;
        if let Some(f) = h.ratelimitSetLinuxLike {
            // SAFETY: plain setter on our ratelimiter.
            unsafe { f(rl.0.as_ptr(), interval, burst) }
        }
        rl.thread_safe();
        Ok(rl)
    }

    /// Whether this rsyslogd has named `ratelimit()` objects (`ratelimitNewFromConfig`,
    /// current upstream; 8.2302 and 8.2504 have none).
    pub fn named_supported() -> bool {
        host().fns.ratelimitNewFromConfig.is_some()
    }

    /// `ratelimitNewFromConfig(conf, name, modname, dynname)`: a ratelimiter bound to the
    /// configuration's `ratelimit(name=…)` object, made thread-safe.
    pub fn from_config(conf: ConfPtr, name: &str, modname: &str, dynname: Option<&str>) -> RsResult<Ratelimit> {
        let f = need(host().fns.ratelimitNewFromConfig, "ratelimitNewFromConfig")?;
        let cstr = |s: &str| CString::new(s).map_err(|_| RsError::code(ret::PARAM_ERROR));
        let (n, m) = (cstr(name)?, cstr(modname)?);
        let d = dynname.map(cstr).transpose()?;
        let mut p: *mut c_void = std::ptr::null_mut();
        // SAFETY: conf is the live configuration; the names are copied by rsyslog.
        let r = unsafe {
            f(
                &mut p,
                conf.0,
                n.as_ptr(),
                m.as_ptr(),
                d.as_ref().map_or(std::ptr::null(), |d| d.as_ptr()),
            )
        };
        let rl = NonNull::new(p)
            .filter(|_| r == ret::OK)
            .map(Ratelimit)
            .ok_or_else(|| RsError::code(if r == ret::OK { ret::INTERNAL_ERROR } else { r }))?;
        rl.thread_safe();
        Ok(rl)
    }

    fn thread_safe(&self) {
        if let Some(f) = host().fns.ratelimitSetThreadSafe {
            // SAFETY: plain setter on our ratelimiter.
            unsafe { f(self.0.as_ptr()) }
        }
    }
}

impl Drop for Ratelimit {
    fn drop(&mut self) {
        if let Some(f) = host().fns.ratelimitDestruct {
            // SAFETY: destroys our ratelimiter once (emits pending "lost" messages).
            unsafe { f(self.0.as_ptr()) }
        }
    }
}

/// A batch of messages submitted together (`multi_submit_t`, CONF_NUM_MULTISUB entries).
pub struct Batch {
    /// `ppMsgs` owns the slot array (from `Box::into_raw`); rsyslog and we
    /// both write through that one pointer.
    ms: Box<multi_submit_t>,
}
// SAFETY: the batch owns the messages in it; used by one thread at a time.
unsafe impl Send for Batch {}

/// Messages per batch. rsyslog's C inputs use up to 1024 (CONF_NUM_MULTISUB);
/// with impcap, 64 measured faster end to end (rsyslog-tests/bench/impcap.sh:
/// 1.01x the C module against 0.75x with 1024), as the messages a queue
/// worker frees are still in cache. Rechecked for imtcp
/// (rsyslog-tests/bench/imtcp.sh, fast sender, one worker): median 1.96M
/// messages/s with 64 against 1.39M with 1024; 16 and 256 like 64.
pub const BATCH_SIZE: usize = 64;

impl Batch {
    pub fn new() -> Batch {
        let slots: Box<[*mut c_void]> = vec![std::ptr::null_mut(); BATCH_SIZE].into_boxed_slice();
        let ms = Box::new(multi_submit_t {
            maxElem: BATCH_SIZE as i16,
            nElem: 0,
            ppMsgs: Box::into_raw(slots) as *mut *mut c_void,
        });
        Batch { ms }
    }

    pub fn len(&self) -> usize {
        self.ms.nElem as usize
    }
    pub fn is_empty(&self) -> bool {
        self.ms.nElem == 0
    }

    /// Adds a message, through the ratelimiter when given; submits when full.
    /// A rate-limited message is consumed (RS_RET_DISCARDMSG is not an error).
    pub fn add(&mut self, msg: Msg, rl: Option<&Ratelimit>) -> RsResult {
        self.add_limited(msg, rl).map(|_| ())
    }

    /// [`Batch::add`] that also tells whether the ratelimiter let the message
    /// through (`false`: it was discarded, RS_RET_DISCARDMSG).
    pub fn add_limited(&mut self, msg: Msg, rl: Option<&Ratelimit>) -> RsResult<bool> {
        let h = &host().fns;
        if let (Some(rl), Some(f)) = (rl, h.ratelimitAddMsg) {
            // SAFETY: ratelimitAddMsg takes ownership of msg in every case.
            let r = unsafe { f(rl.0.as_ptr(), &mut *self.ms, msg.into_raw()) };
            return match r {
                ret::OK => Ok(true),
                ret::DISCARDMSG => Ok(false),
                r => Err(RsError::code(r)),
            };
        }
        if h.multiSubmitMsg2.is_none() {
            return msg.submit().map(|_| true);
        }
        if self.len() >= BATCH_SIZE {
            self.flush()?;
        }
        let n = self.len();
        // SAFETY: n < BATCH_SIZE, the length of the slot array ppMsgs owns.
        unsafe { *self.ms.ppMsgs.add(n) = msg.into_raw() };
        self.ms.nElem += 1;
        if self.len() >= BATCH_SIZE {
            self.flush()?;
        }
        Ok(true)
    }

    /// Submits what is queued (`multiSubmitFlush`).
    pub fn flush(&mut self) -> RsResult {
        if self.is_empty() {
            return Ok(());
        }
        let f = need(host().fns.multiSubmitFlush, "multiSubmitFlush")?;
        // SAFETY: the batch's messages pass to rsyslog, which resets nElem.
        let r = unsafe { f(&mut *self.ms) };
        self.ms.nElem = 0;
        if r == ret::OK {
            Ok(())
        } else {
            Err(RsError::code(r))
        }
    }
}

impl Default for Batch {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for Batch {
    fn drop(&mut self) {
        // Never lose accepted messages: submit whatever is still queued.
        let _ = self.flush();
        // SAFETY: ppMsgs came from Box::into_raw of a BATCH_SIZE slice in new() and is freed once.
        drop(unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(self.ms.ppMsgs, BATCH_SIZE)) });
    }
}

/// Reverse lookup of a peer through rsyslog's DNS cache (`dnscacheLookup`),
/// honouring the global DNS settings. Returns (fqdn, ip) props.
pub fn dns_lookup(addr: &std::net::SocketAddr) -> RsResult<(Prop, Prop)> {
    let f = need(host().fns.dnscacheLookup, "dnscacheLookup")?;
    let mut a = crate::sys::sockaddr_storage(addr);
    let (mut fqdn, mut ip): (PropPtr, PropPtr) = (std::ptr::null_mut(), std::ptr::null_mut());
    // SAFETY: addr and ip are non-NULL as required; each returned prop carries one reference we own.
    let r = unsafe { f(&mut a, &mut fqdn, std::ptr::null_mut(), std::ptr::null_mut(), &mut ip) };
    let fq = Prop::from_owned(fqdn);
    let ipp = Prop::from_owned(ip);
    match (r, fq, ipp) {
        (ret::OK, Some(f), Some(i)) => Ok((f, i)),
        (r, _, _) => Err(RsError::code(if r == ret::OK { ret::INTERNAL_ERROR } else { r })),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outside_rsyslogd_construction_fails_cleanly() {
        assert!(Msg::new().is_err());
        assert!(Prop::new(b"x").is_err());
        assert!(Ratelimit::new("t", None, 0, 0).is_err());
        let mut b = Batch::new();
        assert!(b.is_empty());
        assert!(b.flush().is_ok());
    }
}
