//! The lines imtcp logs about a peer's connection, worded as the host's own
//! tcpsrv.c words them: rsyslog 8.2302 and 8.2504 name the peer by its IP
//! address; current upstream names host, IP address and port, and says more
//! when it refuses a connection.

use std::net::SocketAddr;

/// Whose words: chosen once per input from the host rsyslogd.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wording {
    /// rsyslog 8.2302 and 8.2504
    Classic,
    /// current upstream (8.26xx)
    Upstream,
}

/// The peer as the texts name it.
#[derive(Debug, Clone, Copy)]
pub struct PeerName<'a> {
    /// The resolved name (lower-cased unless `preserveCase`), `fromhost`.
    pub host: &'a str,
    /// The address, `fromhost-ip`.
    pub ip: &'a str,
    pub port: u16,
}

impl Wording {
    /// The wording of the rsyslogd this module runs in.
    pub fn of_host() -> Wording {
        if rsyslog_ffi::host::host().family >= rsyslog_ffi::host::HostFamily::Master {
            Wording::Upstream
        } else {
            Wording::Classic
        }
    }

    /// The name of an input's own rate limiter, which its "begin to drop" and
    /// "messages lost" lines start with ("tcperver", sic, before current upstream).
    pub fn ratelimiter_name(self) -> &'static str {
        match self {
            Wording::Classic => "tcperver",
            Wording::Upstream => "tcpsrv",
        }
    }

    /// The port the framing error lines name after the IP address, if any.
    pub fn framing_port(self, port: u16) -> Option<u16> {
        (self == Wording::Upstream).then_some(port)
    }

    /// Whether `$ResetConfigVariables` also forgets `$InputTCPServerBindRuleset`
    /// (current upstream; older hosts keep it).
    pub fn reset_clears_bind_ruleset(self) -> bool {
        self == Wording::Upstream
    }

    /// `notifyOnConnectionOpen`: a session was accepted (info).
    pub fn established(self, p: &PeerName<'_>) -> String {
        match self {
            Wording::Classic => format!("imtcp: connection established with host: {}", p.ip),
            Wording::Upstream => format!(
                "imtcp: connection established with host: {} ({}:{})",
                p.host, p.ip, p.port
            ),
        }
    }

    /// `notifyOnConnectionOpen`: a connection over `maxSessions` was closed
    /// (error; the C module has not looked the peer up at that point).
    pub fn not_established_unknown_peer(self) -> &'static str {
        match self {
            Wording::Classic => "imtcp: connection could not be established with host: (IP unknown)",
            Wording::Upstream => {
                "imtcp: connection could not be established with host: (hostname unknown) ((IP unknown):(port unknown))"
            }
        }
    }

    /// `notifyOnConnectionClose`: the peer closed (error -2144). The older
    /// texts end with a line feed.
    pub fn closed_by_peer(self, session: &str, p: &PeerName<'_>) -> String {
        match self {
            Wording::Classic => format!("Netstream session {session} closed by remote peer {}.\n", p.ip),
            Wording::Upstream => format!("Netstream session {session} closed by remote peer {}:{}.", p.ip, p.port),
        }
    }

    /// The peer is not in the allowed senders.
    pub fn disallowed(self, p: &PeerName<'_>) -> String {
        match self {
            Wording::Classic => format!("connection request from disallowed sender {} discarded", p.host),
            Wording::Upstream => format!(
                "connection request from disallowed sender {} ({}:{}) discarded",
                p.host, p.ip, p.port
            ),
        }
    }

    /// A read failed; the session is closed.
    pub fn closed_due_to_error(self, session: &str, p: &PeerName<'_>) -> String {
        match self {
            Wording::Classic => format!("netstream session {session} from {} will be closed due to error", p.ip),
            Wording::Upstream => format!(
                "netstream session {session} from {}:{} will be closed due to error",
                p.ip, p.port
            ),
        }
    }

    /// Re-arming a descriptor in the epoll set failed.
    pub fn rearm_failed(self, fd: i32) -> String {
        match self {
            Wording::Classic => format!("epoll_ctl failed re-armed socket {fd}"),
            Wording::Upstream => format!("epoll_ctl failed re-arm socket {fd}"),
        }
    }

    /// Current upstream only: the listener's line after an accepted
    /// connection was turned away (too many sessions, a disallowed sender,
    /// a session that could not be set up), with the error code (negative,
    /// as rsyslog's return codes are).
    pub fn listener_refused(self, input: &str, peer: &SocketAddr, local: &SocketAddr, code: i32) -> Option<String> {
        match self {
            Wording::Classic => None,
            Wording::Upstream => Some(format!(
                "tcpsrv listener (inputname: '{input}') failed to process incoming connection from {}:{} to {}:{} with error {code}",
                peer.ip(),
                peer.port(),
                local.ip(),
                local.port()
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: PeerName<'static> = PeerName {
        host: "h.example",
        ip: "192.0.2.1",
        port: 40712,
    };

    #[test]
    fn classic_texts_are_8_2504s() {
        let w = Wording::Classic;
        assert_eq!(w.ratelimiter_name(), "tcperver");
        assert_eq!(w.framing_port(1), None);
        assert!(!w.reset_clears_bind_ruleset());
        assert_eq!(w.established(&P), "imtcp: connection established with host: 192.0.2.1");
        assert_eq!(
            w.not_established_unknown_peer(),
            "imtcp: connection could not be established with host: (IP unknown)"
        );
        assert_eq!(
            w.closed_by_peer("0x1", &P),
            "Netstream session 0x1 closed by remote peer 192.0.2.1.\n"
        );
        assert_eq!(
            w.disallowed(&P),
            "connection request from disallowed sender h.example discarded"
        );
        assert_eq!(
            w.closed_due_to_error("0x1", &P),
            "netstream session 0x1 from 192.0.2.1 will be closed due to error"
        );
        assert_eq!(w.rearm_failed(7), "epoll_ctl failed re-armed socket 7");
        let a: SocketAddr = "127.0.0.1:1".parse().unwrap();
        assert_eq!(w.listener_refused("in", &a, &a, -2079), None);
    }

    #[test]
    fn upstream_texts_name_host_ip_and_port() {
        let w = Wording::Upstream;
        assert_eq!(w.ratelimiter_name(), "tcpsrv");
        assert_eq!(w.framing_port(40712), Some(40712));
        assert!(w.reset_clears_bind_ruleset());
        assert_eq!(
            w.established(&P),
            "imtcp: connection established with host: h.example (192.0.2.1:40712)"
        );
        assert_eq!(
            w.not_established_unknown_peer(),
            "imtcp: connection could not be established with host: (hostname unknown) ((IP unknown):(port unknown))"
        );
        assert_eq!(
            w.closed_by_peer("0x1", &P),
            "Netstream session 0x1 closed by remote peer 192.0.2.1:40712."
        );
        assert_eq!(
            w.disallowed(&P),
            "connection request from disallowed sender h.example (192.0.2.1:40712) discarded"
        );
        assert_eq!(
            w.closed_due_to_error("0x1", &P),
            "netstream session 0x1 from 192.0.2.1:40712 will be closed due to error"
        );
        assert_eq!(w.rearm_failed(7), "epoll_ctl failed re-arm socket 7");
        let peer: SocketAddr = "127.0.0.1:40712".parse().unwrap();
        let local: SocketAddr = "127.0.0.1:514".parse().unwrap();
        assert_eq!(
            w.listener_refused("imtcp", &peer, &local, -2079).as_deref(),
            Some(
                "tcpsrv listener (inputname: 'imtcp') failed to process incoming connection from 127.0.0.1:40712 \
                 to 127.0.0.1:514 with error -2079"
            )
        );
    }
}
