//! Safe wrappers for the few system calls the modules need beyond std:
//! `poll` (returns on EINTR, so SIGTTIN from rsyslog wakes a waiting input
//! thread, unlike std's retrying calls) and socket address conversion.

use std::net::SocketAddr;
use std::os::fd::RawFd;
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
    fn sockaddr_v4() {
        let ss = sockaddr_storage(&"127.0.0.1:514".parse().unwrap());
        assert_eq!(ss.ss_family as i32, libc::AF_INET);
        let ss = sockaddr_storage(&"[::1]:514".parse().unwrap());
        assert_eq!(ss.ss_family as i32, libc::AF_INET6);
    }
}
