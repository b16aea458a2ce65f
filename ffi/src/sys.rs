//! Safe wrappers for the few system calls the modules need beyond std:
//! `poll` (returns on EINTR, so SIGTTIN from rsyslog wakes a waiting input
//! thread, unlike std's retrying calls), edge-triggered one-shot `epoll`
//! with an `eventfd` for wakeups, socket address conversion, and running
//! code inside a named network namespace.

use std::net::SocketAddr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::time::Duration;

/// One descriptor to poll for readability.
#[derive(Debug, Clone, Copy)]
#[repr(transparent)]
pub struct PollFd(libc::pollfd);

impl PollFd {
    pub fn readable(fd: RawFd) -> Self {
        PollFd(libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        })
    }
    pub fn fd(&self) -> RawFd {
        self.0.fd
    }
    /// Ready to read, or hung up / in error (a read will tell).
    pub fn is_ready(&self) -> bool {
        self.0.revents & (libc::POLLIN | libc::POLLHUP | libc::POLLERR | libc::POLLNVAL) != 0
    }
}

/// `poll(2)`; an interrupted call (EINTR) returns Ok(0).
pub fn poll(fds: &mut [PollFd], timeout: Duration) -> std::io::Result<usize> {
    let ms = timeout.as_millis().min(i32::MAX as u128) as i32;
    // SAFETY: PollFd is a transparent pollfd; the slice is valid for its length.
    let r = unsafe { libc::poll(fds.as_mut_ptr().cast(), fds.len() as libc::nfds_t, ms) };
    if r < 0 {
        let e = std::io::Error::last_os_error();
        return if e.kind() == std::io::ErrorKind::Interrupted {
            Ok(0)
        } else {
            Err(e)
        };
    }
    Ok(r as usize)
}

/// Waits until `fd` is readable or `timeout` passes.
pub fn wait_readable(fd: RawFd, timeout: Duration) -> bool {
    let mut p = [PollFd::readable(fd)];
    matches!(poll(&mut p, timeout), Ok(n) if n > 0)
}

/// An epoll instance whose descriptors are registered edge-triggered and
/// one-shot (`EPOLLIN | EPOLLET | EPOLLONESHOT`): after an event is reported
/// for a descriptor it stays silent until [`Epoll::rearm`], so whoever took
/// the event owns the descriptor until it re-arms it.
#[derive(Debug)]
pub struct Epoll {
    fd: OwnedFd,
}

/// One reported readiness: the caller's token and whether the descriptor is
/// in error or hung up (a read will tell the details).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EpollEvent {
    pub token: u64,
    pub error: bool,
}

const ONESHOT_IN: u32 = (libc::EPOLLIN | libc::EPOLLET | libc::EPOLLONESHOT) as u32;

fn cvt(r: libc::c_int) -> std::io::Result<libc::c_int> {
    if r < 0 {
        Err(std::io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

impl Epoll {
    /// `epoll_create1(EPOLL_CLOEXEC)`
    pub fn new() -> std::io::Result<Epoll> {
        // SAFETY: plain system call; a non-negative result is a new descriptor we own.
        let fd = cvt(unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) })?;
        // SAFETY: `fd` was just created and is owned by nobody else.
        Ok(Epoll {
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
        })
    }

    fn ctl(&self, op: libc::c_int, fd: RawFd, token: u64) -> std::io::Result<()> {
        self.ctl_events(op, fd, token, ONESHOT_IN)
    }

    fn ctl_events(&self, op: libc::c_int, fd: RawFd, token: u64, events: u32) -> std::io::Result<()> {
        let mut ev = libc::epoll_event { events, u64: token };
        // SAFETY: `ev` is a valid epoll_event for the duration of the call (ignored for DEL).
        cvt(unsafe { libc::epoll_ctl(self.fd.as_raw_fd(), op, fd, &mut ev) }).map(|_| ())
    }

    /// Registers `fd` for readability (edge-triggered, one-shot) under `token`.
    pub fn add(&self, fd: &impl AsRawFd, token: u64) -> std::io::Result<()> {
        self.ctl(libc::EPOLL_CTL_ADD, fd.as_raw_fd(), token)
    }

    /// Re-arms a one-shot registration; readiness that arrived meanwhile is
    /// reported by the next wait.
    pub fn rearm(&self, fd: &impl AsRawFd, token: u64) -> std::io::Result<()> {
        self.ctl(libc::EPOLL_CTL_MOD, fd.as_raw_fd(), token)
    }

    /// Re-arms a one-shot registration for readability and writability: for
    /// a session whose outgoing bytes (a TLS handshake flight) did not all fit
    /// into the socket buffer.
    pub fn rearm_with_write(&self, fd: &impl AsRawFd, token: u64) -> std::io::Result<()> {
        self.ctl_events(
            libc::EPOLL_CTL_MOD,
            fd.as_raw_fd(),
            token,
            ONESHOT_IN | libc::EPOLLOUT as u32,
        )
    }

    /// Removes `fd` from the set.
    pub fn delete(&self, fd: &impl AsRawFd) -> std::io::Result<()> {
        self.ctl(libc::EPOLL_CTL_DEL, fd.as_raw_fd(), 0)
    }

    /// `epoll_wait` for up to `out.capacity()` (at least 1) events; an
    /// interrupted call (EINTR, e.g. rsyslog's SIGTTIN) returns with none.
    pub fn wait(&self, out: &mut Vec<EpollEvent>, timeout: Duration) -> std::io::Result<()> {
        out.clear();
        let max = out.capacity().clamp(1, 1024);
        let mut raw = vec![libc::epoll_event { events: 0, u64: 0 }; max];
        let ms = timeout.as_millis().min(i32::MAX as u128) as i32;
        // SAFETY: `raw` holds `max` writable epoll_event entries.
        let n = unsafe { libc::epoll_wait(self.fd.as_raw_fd(), raw.as_mut_ptr(), max as libc::c_int, ms) };
        if n < 0 {
            let e = std::io::Error::last_os_error();
            return if e.kind() == std::io::ErrorKind::Interrupted {
                Ok(())
            } else {
                Err(e)
            };
        }
        out.extend(raw[..n as usize].iter().map(|e| {
            let (events, token) = (e.events, e.u64);
            EpollEvent {
                token,
                error: events & (libc::EPOLLERR | libc::EPOLLHUP) as u32 != 0,
            }
        }));
        Ok(())
    }
}

/// A non-blocking `eventfd`: one thread [`EventFd::notify`]s, a waiter that
/// registered it in an [`Epoll`] wakes up.
#[derive(Debug)]
pub struct EventFd {
    fd: OwnedFd,
}

impl EventFd {
    pub fn new() -> std::io::Result<EventFd> {
        // SAFETY: plain system call; a non-negative result is a new descriptor we own.
        let fd = cvt(unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) })?;
        // SAFETY: `fd` was just created and is owned by nobody else.
        Ok(EventFd {
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
        })
    }

    /// Makes the descriptor readable (adds 1 to the counter).
    pub fn notify(&self) {
        let one: u64 = 1;
        // SAFETY: writes 8 bytes from a live u64; a full counter (EAGAIN) is still readable, so ignoring errors is fine.
        let _ = unsafe { libc::write(self.fd.as_raw_fd(), (&one as *const u64).cast(), 8) };
    }

    /// Resets the counter (the descriptor is no longer readable).
    pub fn drain(&self) {
        let mut v: u64 = 0;
        // SAFETY: reads at most 8 bytes into a live u64; EAGAIN (already drained) is fine.
        let _ = unsafe { libc::read(self.fd.as_raw_fd(), (&mut v as *mut u64).cast(), 8) };
    }
}

impl AsRawFd for EventFd {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

/// A `sockaddr_storage` holding `addr`, as rsyslog's C APIs take it.
pub fn sockaddr_storage(addr: &SocketAddr) -> libc::sockaddr_storage {
    // SAFETY: an all-zero sockaddr_storage is a valid (AF_UNSPEC) value.
    let mut ss: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    match addr {
        SocketAddr::V4(a) => {
            let sin = libc::sockaddr_in {
                sin_family: libc::AF_INET as libc::sa_family_t,
                sin_port: a.port().to_be(),
                sin_addr: libc::in_addr {
                    s_addr: u32::from_ne_bytes(a.ip().octets()),
                },
                sin_zero: [0; 8],
            };
            // SAFETY: sockaddr_storage is larger than and aligned for sockaddr_in.
            unsafe { std::ptr::write(&mut ss as *mut _ as *mut libc::sockaddr_in, sin) };
        }
        SocketAddr::V6(a) => {
            let sin6 = libc::sockaddr_in6 {
                sin6_family: libc::AF_INET6 as libc::sa_family_t,
                sin6_port: a.port().to_be(),
                sin6_flowinfo: a.flowinfo(),
                sin6_addr: libc::in6_addr {
                    s6_addr: a.ip().octets(),
                },
                sin6_scope_id: a.scope_id(),
            };
            // SAFETY: sockaddr_storage is larger than and aligned for sockaddr_in6.
            unsafe { std::ptr::write(&mut ss as *mut _ as *mut libc::sockaddr_in6, sin6) };
        }
    }
    ss
}

/// The path of the shared object that holds the code address `addr` (as it was passed to `dlopen`).
pub fn object_file_of(addr: usize) -> Option<std::path::PathBuf> {
    use std::os::unix::ffi::OsStrExt;
    // SAFETY: Dl_info is plain data; all-zero is a valid value.
    let mut info: libc::Dl_info = unsafe { std::mem::zeroed() };
    // SAFETY: dladdr only reads the loader's tables and fills `info`.
    if unsafe { libc::dladdr(addr as *const libc::c_void, &mut info) } == 0 || info.dli_fname.is_null() {
        return None;
    }
    // SAFETY: dli_fname is a NUL-terminated string owned by the loader, valid while the object is loaded.
    let name = unsafe { std::ffi::CStr::from_ptr(info.dli_fname) };
    Some(std::path::PathBuf::from(std::ffi::OsStr::from_bytes(name.to_bytes())))
}

/// Why [`in_network_namespace`] could not enter a namespace.
#[derive(Debug)]
pub enum NetnsError {
    /// `/var/run/netns/<name>` could not be opened.
    Open(std::io::Error),
    /// `setns(CLONE_NEWNET)` failed.
    Enter(std::io::Error),
    /// No thread could be started to enter it.
    Spawn(std::io::Error),
}

/// Runs `f` on a short-lived thread that has joined the named network
/// namespace (`/var/run/netns/<name>`, as `ip netns add` creates it); sockets
/// `f` creates belong to that namespace for their whole life. The calling
/// thread's namespace is never changed, so nothing has to be restored and a
/// failure cannot leave the caller (rsyslogd's main thread) in another
/// namespace. The thread is spawned with `thread::Builder` and joined, not in
/// a `thread::scope`: a scope registers the calling thread with the Rust
/// runtime, an allocation that rsyslogd's main thread keeps until it exits
/// (valgrind reports it as possibly lost).
pub fn in_network_namespace<T: Send + 'static>(
    name: &str,
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, NetnsError> {
    let path = std::path::Path::new("/var/run/netns").join(name);
    let ns = std::fs::File::open(&path).map_err(NetnsError::Open)?;
    let worker = std::thread::Builder::new()
        .name("rs:netns".into())
        .spawn(move || {
            // SAFETY: `ns` is an open descriptor owned by this closure; setns only affects this thread.
            cvt(unsafe { libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET) }).map_err(NetnsError::Enter)?;
            Ok(f())
        })
        .map_err(NetnsError::Spawn)?;
    match worker.join() {
        Ok(r) => r,
        Err(panic) => std::panic::resume_unwind(panic),
    }
}

/// `fnmatch(pattern, name, FNM_NOESCAPE | FNM_CASEFOLD) == 0`: the match rsyslog's
/// allowed-sender lists use for host-name wildcards. A NUL inside either never matches.
pub fn fnmatch_casefold(pattern: &str, name: &str) -> bool {
    let (Ok(p), Ok(n)) = (std::ffi::CString::new(pattern), std::ffi::CString::new(name)) else {
        return false;
    };
    // SAFETY: both are NUL-terminated strings that live for the call.
    unsafe { libc::fnmatch(p.as_ptr(), n.as_ptr(), libc::FNM_NOESCAPE | libc::FNM_CASEFOLD) == 0 }
}

/// A POSIX extended regular expression, compiled by the C library
/// (`regcomp(REG_EXTENDED | REG_NOSUB)`) as rsyslog compiles its framing
/// expressions, so the syntax and matching are the same.
pub struct PosixRegex {
    re: Box<libc::regex_t>,
}

// SAFETY: the compiled expression is only read by regexec, which glibc makes
// safe to call from several threads on one regex_t (it locks internally).
unsafe impl Send for PosixRegex {}
// SAFETY: as above.
unsafe impl Sync for PosixRegex {}

impl PosixRegex {
    /// Compiles `pattern`; `Err` is the C library's message.
    pub fn new(pattern: &str) -> Result<PosixRegex, String> {
        let p = std::ffi::CString::new(pattern).map_err(|_| "the expression contains a NUL byte".to_string())?;
        // SAFETY: regex_t is plain data that regcomp initialises; all-zero is a valid start.
        let mut re: Box<libc::regex_t> = Box::new(unsafe { std::mem::zeroed() });
        // SAFETY: `re` and `p` are valid for the call.
        let r = unsafe { libc::regcomp(&mut *re, p.as_ptr(), libc::REG_EXTENDED | libc::REG_NOSUB) };
        if r == 0 {
            return Ok(PosixRegex { re });
        }
        let mut buf = [0u8; 256];
        // SAFETY: regerror writes at most buf.len() bytes, NUL-terminated; `re` holds the failed compile's state.
        unsafe { libc::regerror(r, &*re, buf.as_mut_ptr().cast(), buf.len()) };
        let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
        Err(String::from_utf8_lossy(&buf[..end]).into_owned())
    }

    /// Whether the expression matches somewhere in `text` (up to its first NUL, as C sees it).
    pub fn is_match(&self, text: &[u8]) -> bool {
        let end = text.iter().position(|&b| b == 0).unwrap_or(text.len());
        let Ok(t) = std::ffi::CString::new(&text[..end]) else {
            return false;
        };
        // SAFETY: `re` was compiled by regcomp; `t` is NUL-terminated; no match array is asked for.
        unsafe { libc::regexec(&*self.re, t.as_ptr(), 0, std::ptr::null_mut(), 0) == 0 }
    }
}

impl Drop for PosixRegex {
    fn drop(&mut self) {
        // SAFETY: compiled by regcomp in new() and freed once.
        unsafe { libc::regfree(&mut *self.re) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poll_times_out_and_sees_data() {
        let (a, b) = std::os::unix::net::UnixStream::pair().unwrap();
        use std::os::fd::AsRawFd;
        assert!(!wait_readable(a.as_raw_fd(), Duration::from_millis(10)));
        use std::io::Write;
        (&b).write_all(b"x").unwrap();
        assert!(wait_readable(a.as_raw_fd(), Duration::from_millis(1000)));
    }

    #[test]
    fn epoll_is_one_shot_until_rearmed_and_eventfd_wakes() {
        use std::io::Write;
        let ep = Epoll::new().unwrap();
        let (a, b) = std::os::unix::net::UnixStream::pair().unwrap();
        let wake = EventFd::new().unwrap();
        ep.add(&a, 7).unwrap();
        ep.add(&wake, 99).unwrap();
        let mut ev = Vec::with_capacity(8);
        ep.wait(&mut ev, Duration::from_millis(10)).unwrap();
        assert!(ev.is_empty());
        (&b).write_all(b"x").unwrap();
        ep.wait(&mut ev, Duration::from_millis(1000)).unwrap();
        assert_eq!(ev, [EpollEvent { token: 7, error: false }]);
        // One-shot: more data, but no event until re-armed.
        (&b).write_all(b"y").unwrap();
        ep.wait(&mut ev, Duration::from_millis(10)).unwrap();
        assert!(ev.is_empty());
        // Re-arming reports readiness that is already there.
        ep.rearm(&a, 8).unwrap();
        ep.wait(&mut ev, Duration::from_millis(1000)).unwrap();
        assert_eq!(ev, [EpollEvent { token: 8, error: false }]);
        wake.notify();
        ep.wait(&mut ev, Duration::from_millis(1000)).unwrap();
        assert_eq!(
            ev,
            [EpollEvent {
                token: 99,
                error: false
            }]
        );
        wake.drain();
        ep.rearm(&wake, 99).unwrap();
        ep.wait(&mut ev, Duration::from_millis(10)).unwrap();
        assert!(ev.is_empty(), "a drained eventfd is not readable");
        ep.delete(&a).unwrap();
        drop(b);
        ep.wait(&mut ev, Duration::from_millis(10)).unwrap();
        assert!(ev.is_empty());
    }

    #[test]
    fn unknown_network_namespace_is_an_open_error() {
        let r = in_network_namespace("rsyslog-rs-no-such-namespace", || 1);
        assert!(matches!(r, Err(NetnsError::Open(e)) if e.kind() == std::io::ErrorKind::NotFound));
    }

    #[test]
    fn fnmatch_is_case_blind_and_literal_about_backslashes() {
        assert!(fnmatch_casefold("*.Example.NET", "host.example.net"));
        assert!(fnmatch_casefold("h?st.example.net", "HOST.example.net"));
        assert!(!fnmatch_casefold("*.example.net", "example.org"));
        assert!(fnmatch_casefold("a\\b", "a\\b"));
        assert!(!fnmatch_casefold("a\0", "a"));
    }

    #[test]
    fn posix_regex_is_extended_and_reports_errors() {
        let re = PosixRegex::new("^<[0-9]{2}>(Jan|Feb)").unwrap();
        assert!(re.is_match(b"<33>Jan  1 host"));
        assert!(!re.is_match(b"x<33>Jan"));
        assert!(!re.is_match(b"<3>Jan"));
        // A NUL ends the text, as for C strings.
        assert!(!re.is_match(b"<3\x003>Jan"));
        assert!(PosixRegex::new("[[:digit:]]+").unwrap().is_match(b"abc7"));
        let e = PosixRegex::new("a(b").err().unwrap();
        assert!(!e.is_empty(), "{e}");
    }

    #[test]
    fn sockaddr_v4() {
        let ss = sockaddr_storage(&"127.0.0.1:514".parse().unwrap());
        assert_eq!(ss.ss_family as i32, libc::AF_INET);
        let ss = sockaddr_storage(&"[::1]:514".parse().unwrap());
        assert_eq!(ss.ss_family as i32, libc::AF_INET6);
    }
}
