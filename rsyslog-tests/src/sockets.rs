//! Looking at the sockets of a running rsyslogd from the outside: the
//! listening sockets and their backlog (`ss -ltn`), and the options the
//! daemon set on an accepted socket (a duplicate taken with `pidfd_getfd`,
//! then `getsockopt`).

use std::net::SocketAddr;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};
use std::process::Command;

/// One listening TCP socket as `ss -Hltn` prints it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenSocket {
    /// `Local Address:Port`, e.g. `127.0.0.1:5140`, `[::1]:5140`, `0.0.0.0:5140`, `[::]:5140`.
    pub local: String,
    /// For a listening socket `ss` shows the backlog in Send-Q.
    pub backlog: u32,
}

/// Parses `ss -Hltn` lines: `LISTEN 0 25 127.0.0.1:5140 0.0.0.0:*`.
pub fn parse_ss_listen(text: &str) -> Vec<ListenSocket> {
    text.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            if f.len() < 5 || f[0] != "LISTEN" {
                return None;
            }
            Some(ListenSocket {
                local: f[3].to_string(),
                backlog: f[2].parse().ok()?,
            })
        })
        .collect()
}

/// The listening TCP sockets on `port` (any address), from `ss -Hltn`.
pub fn listening_on(port: u16) -> Vec<ListenSocket> {
    let mut v = parse_ss_listen(&ss_listen(port, None, "-Hltn"));
    v.sort_by(|a, b| a.local.cmp(&b.local));
    v
}

/// What `ss <opts> sport = :<port>` prints, run in the network namespace `netns`
/// (`ip netns exec`) or, for `None`, in the test's own.
fn ss_listen(port: u16, netns: Option<&str>, opts: &str) -> String {
    let filter = format!("sport = :{port}");
    let mut cmd = match netns {
        Some(ns) => {
            let mut c = Command::new("ip");
            c.args(["netns", "exec", ns, "ss"]);
            c
        }
        None => Command::new("ss"),
    };
    let out = cmd
        .args([opts, &filter])
        .output()
        .unwrap_or_else(|e| panic!("cannot run ss (iproute2): {e}"));
    assert!(out.status.success(), "ss failed: {out:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The pids in `ss -p`'s `users:((…))` column: `users:(("rsyslogd",pid=12,fd=5))` → `[12]`.
pub fn parse_ss_pids(text: &str) -> Vec<u32> {
    let mut pids: Vec<u32> = text
        .split("pid=")
        .skip(1)
        .filter_map(|rest| rest.split(|c: char| !c.is_ascii_digit()).next()?.parse().ok())
        .collect();
    pids.sort_unstable();
    pids.dedup();
    pids
}

/// The processes holding a listening TCP socket on `port`, in the network namespace `netns`
/// (`ip netns exec`) or, for `None`, in the test's own. The port alone does not tell a
/// daemon's listener apart: another namespace may have a listener on the same number.
pub fn listener_pids(port: u16, netns: Option<&str>) -> Vec<u32> {
    parse_ss_pids(&ss_listen(port, netns, "-Hltnp"))
}

/// The fields of the /proc/net/tcp{,6} line of the established TCP socket
/// whose local end is `local` and whose peer is `peer` (addresses as the
/// kernel prints them: only the ports are compared, plus the family).
/// Fields: sl local rem st tx:rx tr:when retrnsmt uid timeout inode ...
fn established_entry(local: SocketAddr, peer: SocketAddr) -> Option<Vec<String>> {
    let file = if local.is_ipv6() {
        "/proc/net/tcp6"
    } else {
        "/proc/net/tcp"
    };
    let text = std::fs::read_to_string(file).ok()?;
    let port_of = |s: &str| s.rsplit(':').next().and_then(|p| u16::from_str_radix(p, 16).ok());
    text.lines().skip(1).find_map(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        let found =
            f.len() >= 10 && f[3] == "01" && port_of(f[1]) == Some(local.port()) && port_of(f[2]) == Some(peer.port());
        found.then(|| f.iter().map(|x| x.to_string()).collect())
    })
}

/// The inode of the established TCP socket `local` ⇄ `peer`.
fn socket_inode(local: SocketAddr, peer: SocketAddr) -> Option<u64> {
    established_entry(local, peer)?[9].parse().ok()
}

/// Bytes received and not yet read by the application on the established
/// TCP socket `local` ⇄ `peer` (the rx_queue of /proc/net/tcp{,6}).
pub fn unread_bytes(local: SocketAddr, peer: SocketAddr) -> Option<u64> {
    let f = established_entry(local, peer)?;
    u64::from_str_radix(f[4].split(':').nth(1)?, 16).ok()
}

/// A duplicate of process `pid`'s descriptor for the accepted socket
/// `local` (the daemon's end) ⇄ `peer` (the test's end). Needs
/// `pidfd_getfd` (Linux 5.6) and the right to ptrace `pid` (root, or our child).
pub fn peer_socket_of(pid: u32, local: SocketAddr, peer: SocketAddr) -> Result<OwnedFd, String> {
    let inode = socket_inode(local, peer).ok_or_else(|| format!("no established socket {local} <- {peer}"))?;
    let want = format!("socket:[{inode}]");
    let dir = format!("/proc/{pid}/fd");
    let fd: RawFd = std::fs::read_dir(&dir)
        .map_err(|e| format!("{dir}: {e}"))?
        .flatten()
        .find(|e| std::fs::read_link(e.path()).is_ok_and(|t| t.to_string_lossy() == want))
        .and_then(|e| e.file_name().to_str().and_then(|n| n.parse().ok()))
        .ok_or_else(|| format!("process {pid} holds no descriptor for {want}"))?;
    // SAFETY: plain syscalls with integer arguments; the results are checked
    // and each new descriptor is owned exactly once.
    unsafe {
        let pidfd = libc::syscall(libc::SYS_pidfd_open, pid as libc::pid_t, 0);
        if pidfd < 0 {
            return Err(format!("pidfd_open({pid}): {}", std::io::Error::last_os_error()));
        }
        let pidfd = OwnedFd::from_raw_fd(pidfd as RawFd);
        let dup = libc::syscall(libc::SYS_pidfd_getfd, std::os::fd::AsRawFd::as_raw_fd(&pidfd), fd, 0);
        if dup < 0 {
            return Err(format!("pidfd_getfd({pid}, {fd}): {}", std::io::Error::last_os_error()));
        }
        Ok(OwnedFd::from_raw_fd(dup as RawFd))
    }
}

fn getsockopt_int(fd: &OwnedFd, level: libc::c_int, name: libc::c_int) -> Result<i32, String> {
    let mut v: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: `v` and `len` are valid for writes of the sizes given; the fd is open.
    let r = unsafe {
        libc::getsockopt(
            std::os::fd::AsRawFd::as_raw_fd(fd),
            level,
            name,
            (&mut v as *mut libc::c_int).cast(),
            &mut len,
        )
    };
    if r != 0 {
        return Err(format!(
            "getsockopt({level}, {name}): {}",
            std::io::Error::last_os_error()
        ));
    }
    Ok(v)
}

/// Keepalive settings of a socket: (SO_KEEPALIVE, TCP_KEEPCNT, TCP_KEEPIDLE, TCP_KEEPINTVL).
pub fn keepalive_of(fd: &OwnedFd) -> Result<(bool, i32, i32, i32), String> {
    Ok((
        getsockopt_int(fd, libc::SOL_SOCKET, libc::SO_KEEPALIVE)? != 0,
        getsockopt_int(fd, libc::IPPROTO_TCP, libc::TCP_KEEPCNT)?,
        getsockopt_int(fd, libc::IPPROTO_TCP, libc::TCP_KEEPIDLE)?,
        getsockopt_int(fd, libc::IPPROTO_TCP, libc::TCP_KEEPINTVL)?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ss_pids_are_read_from_the_users_column() {
        let line = "LISTEN 0 25 0.0.0.0:5140 0.0.0.0:* users:((\"rsyslogd\",pid=812,fd=7),(\"x\",pid=9,fd=3))\n\
                    LISTEN 0 25 [::]:5140 [::]:* users:((\"rsyslogd\",pid=812,fd=8))\n";
        assert_eq!(parse_ss_pids(line), [9, 812]);
        assert!(parse_ss_pids("LISTEN 0 25 0.0.0.0:5140 0.0.0.0:*\n").is_empty());
    }
    use std::net::{TcpListener, TcpStream};

    #[test]
    fn parses_ss_output() {
        let v = parse_ss_listen(
            "LISTEN 0      25         127.0.0.1:45505      0.0.0.0:*\nLISTEN 0 7 [::]:45505 [::]:*\nESTAB 0 0 a b\n",
        );
        assert_eq!(
            v,
            [
                ListenSocket {
                    local: "127.0.0.1:45505".into(),
                    backlog: 25
                },
                ListenSocket {
                    local: "[::]:45505".into(),
                    backlog: 7
                }
            ]
        );
    }

    #[test]
    fn reads_options_of_a_socket_in_this_process() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let c = TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let (s, _) = l.accept().unwrap();
        for (level, name, v) in [
            (libc::SOL_SOCKET, libc::SO_KEEPALIVE, 1),
            (libc::IPPROTO_TCP, libc::TCP_KEEPCNT, 7),
            (libc::IPPROTO_TCP, libc::TCP_KEEPIDLE, 33),
            (libc::IPPROTO_TCP, libc::TCP_KEEPINTVL, 11),
        ] {
            let v: libc::c_int = v;
            // SAFETY: a valid int option value on an open socket of this test.
            let r = unsafe {
                libc::setsockopt(
                    std::os::fd::AsRawFd::as_raw_fd(&s),
                    level,
                    name,
                    (&v as *const libc::c_int).cast(),
                    std::mem::size_of::<libc::c_int>() as libc::socklen_t,
                )
            };
            assert_eq!(r, 0);
        }
        let fd = peer_socket_of(std::process::id(), s.local_addr().unwrap(), c.local_addr().unwrap()).unwrap();
        assert_eq!(keepalive_of(&fd).unwrap(), (true, 7, 33, 11));
        assert_eq!(unread_bytes(s.local_addr().unwrap(), c.local_addr().unwrap()), Some(0));
        std::io::Write::write_all(&mut &c, b"12345").unwrap();
        let unread = crate::wait::poll_until(std::time::Duration::from_secs(5), crate::wait::POLL, || {
            unread_bytes(s.local_addr().unwrap(), c.local_addr().unwrap()).filter(|&n| n == 5)
        });
        assert_eq!(unread, Some(5));
        let ls = listening_on(l.local_addr().unwrap().port());
        assert_eq!(ls.len(), 1, "{ls:?}");
        assert_eq!(ls[0].local, l.local_addr().unwrap().to_string());
    }
}
