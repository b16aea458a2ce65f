//! Listeners and sessions: sockets are opened on the main thread
//! (activateCnfPrePrivDrop); the input thread polls them, frames what it
//! reads and submits the messages in batches. Every wait is bounded, so a
//! stop request is seen within [`POLL`].

use crate::config::{parse_port, InputConfig};
use crate::framing::{Event, Framer, FramingConfig, FramingError};
use rsyslog_ffi::abi::{NEEDS_PARSING, PARSE_HOSTNAME};
use rsyslog_ffi::log::{log_error, log_msg, LOG_INFO, LOG_WARNING};
use rsyslog_ffi::module::InputThread;
use rsyslog_ffi::obj::interfaces;
use rsyslog_ffi::sys::{poll, PollFd};
use rsyslog_ffi::{ret, Batch, FlowControl, Msg, Prop, Ratelimit, RsError, RsResult, Ruleset, StatsObj};
use socket2::{Domain, Protocol, Socket, TcpKeepalive, Type};
use std::ffi::CString;
use std::io::{ErrorKind, Read};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::time::Duration;

/// Longest wait between checks for termination.
pub const POLL: Duration = Duration::from_millis(200);
/// Bytes per recv, as the C module (128 KiB).
const READ_SIZE: usize = 128 * 1024;

/// Runtime state of one input() shared by its listeners and sessions.
pub struct Input {
    pub cfg: InputConfig,
    name: Prop,
    ruleset: Option<Ruleset>,
    ratelimit: Ratelimit,
    stats: Option<StatsObj>,
    framing: FramingConfig,
    tz: Option<CString>,
    /// rsyslog's net object, for the `$AllowedSender` TCP list.
    net: &'static rsyslog_ffi::obj::Iface,
}

const CTR_SUBMITTED: usize = 0;

impl Input {
    /// Builds the runtime of an input (main thread, before the fork's privilege drop).
    pub fn new(cfg: InputConfig, ruleset: Option<Ruleset>) -> RsResult<Input> {
        let name = Prop::new(cfg.name.as_bytes())?;
        // rsyslog 8.2302/8.2504 name this ratelimiter "tcperver" (sic).
        let ratelimit = Ratelimit::new(
            "tcperver",
            None,
            cfg.ratelimit_interval.clamp(0, u32::MAX as i64) as u32,
            cfg.ratelimit_burst.clamp(0, u32::MAX as i64) as u32,
        )?;
        let stats = match StatsObj::new(&format!("{}({})", cfg.name, cfg.port), "imtcp", &["submitted"]) {
            Ok(s) => Some(s),
            Err(e) => {
                log_error(
                    0,
                    e.code,
                    &format!("imtcp: could not create statistics for input '{}'", cfg.name),
                );
                None
            }
        };
        let s = &cfg.settings;
        let framing = FramingConfig {
            max_line: rsyslog_ffi::host::host().max_line(),
            support_octet_counted: s.octet_counted,
            addtl_delimiter: s.addtl_delimiter,
            disable_lf: s.disable_lf,
            max_frame_size: s.max_frame_size,
            discard_truncated: s.discard_truncated,
            cisco_asa: cfg.cisco_asa,
        };
        let tz = cfg.default_tz.as_deref().and_then(|t| CString::new(t).ok());
        // Without the net object the sender ACL cannot be enforced: refuse the input.
        let net = rsyslog_ffi::obj::net().map_err(|e| {
            RsError::new(
                e.code,
                format!(
                    "imtcp: input '{}' not started: cannot check allowed senders: {}",
                    cfg.name,
                    e.msg.as_deref().unwrap_or("net interface unavailable")
                ),
            )
        })?;
        Ok(Input {
            name,
            ruleset,
            ratelimit,
            stats,
            framing,
            tz,
            cfg,
            net,
        })
    }

    fn submitted(&self, n: u64) {
        if let Some(s) = &self.stats {
            s.inc(CTR_SUBMITTED, n);
        }
    }
}

/// A bound listening socket.
pub struct Listener {
    sock: TcpListener,
    input: Arc<Input>,
}

fn wildcard_addrs(port: u16) -> Vec<SocketAddr> {
    vec![
        SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port),
        SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), port),
    ]
}

fn bind_one(addr: SocketAddr, backlog: i32) -> std::io::Result<TcpListener> {
    let s = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    if addr.is_ipv6() {
        s.set_only_v6(true)?;
    }
    s.set_reuse_address(true)?;
    s.set_nonblocking(true)?;
    s.bind(&addr.into())?;
    if s.listen(backlog).is_err() {
        s.listen(32)?;
    }
    Ok(s.into())
}

/// Opens the listeners of one input (C: activateCnfPrePrivDrop).
pub fn open_listeners(input: &Arc<Input>) -> Vec<Listener> {
    let cfg = &input.cfg;
    let Some(mut port) = parse_port(&cfg.port) else {
        log_error(
            0,
            ret::INVALID_PORT,
            &format!("Invalid TCP listen port {} - ignored.", cfg.port),
        );
        return Vec::new();
    };
    if port == 0 && cfg.listen_port_file.is_none() {
        log_msg(
            0,
            0,
            LOG_WARNING,
            "imtcp: port 0 and no port file set -> using port 514 instead",
        );
        port = 514;
    }
    let backlog = if cfg.socket_backlog > 0 {
        cfg.socket_backlog
    } else {
        cfg.settings.max_sessions / 10 + 5
    }
    .clamp(1, i32::MAX as i64) as i32;
    let addrs: Vec<SocketAddr> = match &cfg.address {
        None => wildcard_addrs(port),
        Some(a) => match (a.as_str(), port).to_socket_addrs() {
            Ok(v) => v.collect(),
            Err(e) => {
                log_error(0, ret::INVALID_PORT, &format!("error querying port '{a}': {e}"));
                Vec::new()
            }
        },
    };
    let mut out = Vec::new();
    let mut bound_port = port;
    for mut a in addrs {
        // With port 0 the kernel-chosen port of the first socket serves the others.
        a.set_port(bound_port);
        match bind_one(a, backlog) {
            Ok(l) => {
                if bound_port == 0 {
                    bound_port = l.local_addr().map(|x| x.port()).unwrap_or(0);
                }
                out.push(Listener {
                    sock: l,
                    input: input.clone(),
                });
            }
            // A host without IPv6 (or IPv4): skipped silently, as the C module does.
            Err(e) if e.raw_os_error() == Some(libc::EAFNOSUPPORT) => {}
            Err(e) => log_error(
                e.raw_os_error().unwrap_or(0),
                ret::NO_SOCKET,
                "Error while binding tcp socket",
            ),
        }
    }
    if out.is_empty() {
        log_error(
            0,
            ret::NO_SOCKET,
            &format!(
                "Could not create tcp listener, ignoring port {} bind-address {}.",
                cfg.port,
                cfg.address.as_deref().unwrap_or("(null)")
            ),
        );
        log_error(
            0,
            ret::NO_SOCKET,
            &format!("tcpsrv could not create listener (inputname: '{}')", cfg.name),
        );
        return out;
    }
    if let (Some(f), 0) = (&cfg.listen_port_file, port) {
        if let Err(e) = std::fs::write(f, bound_port.to_string()) {
            log_error(
                e.raw_os_error().unwrap_or(0),
                ret::IO_ERROR,
                "nsd_ptcp: ListenPortFileName: error while trying to open file",
            );
        }
    }
    out
}

struct Session {
    stream: TcpStream,
    framer: Framer,
    peer: Peer,
}

/// What a session's messages carry about their sender, fixed at accept.
struct Peer {
    input: Arc<Input>,
    fqdn: Prop,
    ip: Prop,
    port: Option<Prop>,
    host: String,
    ip_str: String,
}

fn peer_props(peer: &SocketAddr, preserve_case: bool) -> RsResult<(Prop, Prop, String, String)> {
    let (fqdn, ip) = match rsyslog_ffi::msg::dns_lookup(peer) {
        Ok(x) => x,
        Err(_) => {
            let s = peer.ip().to_string();
            (Prop::new(s.as_bytes())?, Prop::new(s.as_bytes())?)
        }
    };
    let fqdn = if preserve_case {
        fqdn
    } else {
        Prop::new(&fqdn.to_bytes().to_ascii_lowercase())?
    };
    let host = String::from_utf8_lossy(&fqdn.to_bytes()).into_owned();
    let ip_str = String::from_utf8_lossy(&ip.to_bytes()).into_owned();
    Ok((fqdn, ip, host, ip_str))
}

impl Session {
    fn new(stream: TcpStream, peer: SocketAddr, input: Arc<Input>) -> RsResult<Session> {
        stream
            .set_nonblocking(true)
            .map_err(|e| RsError::new(ret::IO_ERROR, format!("imtcp: cannot make session non-blocking: {e}")))?;
        let s = &input.cfg.settings;
        if s.keepalive {
            let sock = socket2::SockRef::from(&stream);
            let mut ka = TcpKeepalive::new();
            if s.keepalive_time > 0 {
                ka = ka.with_time(Duration::from_secs(s.keepalive_time as u64));
            }
            if s.keepalive_interval > 0 {
                ka = ka.with_interval(Duration::from_secs(s.keepalive_interval as u64));
            }
            if s.keepalive_probes > 0 {
                ka = ka.with_retries(s.keepalive_probes as u32);
            }
            let _ = sock.set_tcp_keepalive(&ka);
        }
        let (fqdn, ip, host, ip_str) = peer_props(&peer, s.preserve_case)?;
        let fq = CString::new(fqdn.to_bytes()).unwrap_or_default();
        if !input.net.tcp_sender_allowed(&peer, &fq) {
            return Err(RsError::new(
                ret::HOST_NOT_PERMITTED,
                format!("connection request from disallowed sender {host} discarded"),
            ));
        }
        let port = if rsyslog_ffi::host::host().fns.MsgSetRcvFromPort.is_some() {
            Prop::new(peer.port().to_string().as_bytes()).ok()
        } else {
            None
        };
        if s.notify_open {
            log_msg(
                0,
                ret::NO_ERRCODE,
                LOG_INFO,
                &format!("imtcp: connection established with host: {ip_str}"),
            );
        }
        Ok(Session {
            framer: Framer::new(input.framing.clone()),
            stream,
            peer: Peer {
                input,
                fqdn,
                ip,
                port,
                host,
                ip_str,
            },
        })
    }

    /// Frames `data` (and, on `close`, what is left) and queues the messages
    /// as the framer completes them; errors are logged where they occur.
    fn process(&mut self, data: &[u8], batch: &mut Batch, close: bool) {
        let now = interfaces().map(|i| i.current_time(false)).unwrap_or_default();
        let sid = self as *const Session;
        let Session { framer, peer, .. } = self;
        let mut cb = |e: Event<'_>| match e {
            Event::Frame(f) => peer.submit(f, &now, batch),
            Event::Error(e) => peer.framing_error(&e, sid),
        };
        framer.feed(data, &mut cb);
        if close {
            framer.close(&mut cb);
        }
    }
}

impl Peer {
    fn framing_error(&self, e: &FramingError, session: *const Session) {
        let who = format!(
            "imtcp {}: Framing Error in received TCP message from peer: (hostname) {}, (ip) {}",
            self.input.cfg.name, self.host, self.ip_str
        );
        let text = match e {
            FramingError::DelimiterNotSp(c) => format!("{who}: delimiter is not SP but has ASCII value {c}."),
            FramingError::InvalidOctetCount(n) => format!("{who}: invalid octet count {n}."),
            FramingError::Oversize { count, max } => format!(
                "imtcp {}: received oversize message from peer: (hostname) {}, (ip) {}: size is {count} bytes, max msg size is {max}, truncating...",
                self.input.cfg.name, self.host, self.ip_str
            ),
            FramingError::FrameTooLarge(n) => format!("{who}: frame too large: {n}, change to octet stuffing"),
            FramingError::IncompleteFrame => format!(
                "Incomplete frame at end of stream in session {session:p} - ignoring extra data (a message may be lost)."
            ),
        };
        log_error(0, ret::NO_ERRCODE, &text);
    }

    fn build_msg(&self, frame: &[u8], now: &(rsyslog_ffi::SyslogTime, libc::time_t)) -> RsResult<Msg> {
        let mut m = Msg::with_time(&now.0, now.1)?;
        m.set_raw_msg(frame);
        m.set_input_name(&self.input.name);
        if let Some(tz) = &self.input.tz {
            m.set_default_tz(tz);
        }
        m.set_flow_control(if self.input.cfg.settings.flow_control {
            FlowControl::LightDelay
        } else {
            FlowControl::NoDelay
        });
        m.set_flags(NEEDS_PARSING | PARSE_HOSTNAME);
        m.set_rcv_from(&self.fqdn);
        m.set_rcv_from_ip(&self.ip);
        if let Some(p) = &self.port {
            m.set_rcv_from_port(p);
        }
        m.set_ruleset(self.input.ruleset);
        Ok(m)
    }

    fn submit(&self, frame: &[u8], now: &(rsyslog_ffi::SyslogTime, libc::time_t), batch: &mut Batch) {
        match self.build_msg(frame, now) {
            Ok(m) => {
                // Counted before the ratelimiter, as 8.2302/8.2504 do.
                self.input.submitted(1);
                if let Err(e) = batch.add(m, Some(&self.input.ratelimit)) {
                    log_error(0, e.code, "imtcp: error submitting message");
                }
            }
            Err(e) => log_error(0, e.code, "imtcp: could not construct message"),
        }
    }
}

enum ReadOutcome {
    Open,
    Closed,
}

/// Connections accepted per listener wakeup before other work runs.
const MAX_ACCEPTS_PER_WAKEUP: usize = 256;

/// Runs every listener and session on the calling (input) thread until rsyslog
/// asks the input to stop. Work per wakeup is bounded (reads per session by
/// `starvationProtection.maxReads`, accepts per listener), and the stop request
/// is checked inside every loop, so a busy sender neither starves the others
/// nor delays shutdown.
pub fn run(listeners: Vec<Listener>, thread: &InputThread) -> RsResult {
    // Boxed: a session's address is its identity in log texts ("session %p").
    let mut sessions: Vec<Box<Session>> = Vec::new();
    let mut batch = Batch::new();
    let mut buf = vec![0u8; READ_SIZE];
    let mut fds: Vec<PollFd> = Vec::new();
    while !thread.should_stop() {
        fds.clear();
        fds.extend(listeners.iter().map(|l| PollFd::readable(l.sock.as_raw_fd())));
        fds.extend(sessions.iter().map(|s| PollFd::readable(s.stream.as_raw_fd())));
        match poll(&mut fds, POLL) {
            Ok(0) => continue,
            Ok(_) => {}
            Err(e) => {
                log_error(e.raw_os_error().unwrap_or(0), ret::NO_ERRCODE, "imtcp: poll failed");
                std::thread::sleep(POLL);
                continue;
            }
        }
        let nl = listeners.len();
        // Sessions first (indexes stay valid), then new connections.
        let mut closed = Vec::new();
        for (i, s) in sessions.iter_mut().enumerate() {
            if !fds[nl + i].is_ready() {
                continue;
            }
            // A panic on one session closes that session only (logged by the guard).
            let outcome = rsyslog_ffi::log::guard_or("imtcp", "session read", ReadOutcome::Closed, || {
                read_session(s, &mut buf, &mut batch, thread)
            });
            if let ReadOutcome::Closed = outcome {
                closed.push(i);
            }
            let _ = batch.flush();
        }
        for i in closed.into_iter().rev() {
            sessions.swap_remove(i);
        }
        for (i, l) in listeners.iter().enumerate() {
            if fds[i].is_ready() {
                accept_some(l, &mut sessions, thread);
            }
        }
    }
    batch.flush()
}

// Boxed on purpose: a session's address must not move (it names the session in log texts).
#[allow(clippy::vec_box)]
fn accept_some(l: &Listener, sessions: &mut Vec<Box<Session>>, thread: &InputThread) {
    for _ in 0..MAX_ACCEPTS_PER_WAKEUP {
        if thread.should_stop() {
            return;
        }
        match l.sock.accept() {
            Ok((stream, peer)) => match Session::new(stream, peer, l.input.clone()) {
                Ok(s) => sessions.push(Box::new(s)),
                Err(e) => {
                    e.report();
                }
            },
            Err(e) if e.kind() == ErrorKind::WouldBlock => return,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => {
                log_error(
                    0,
                    ret::NO_ERRCODE,
                    &format!(
                        "tcpsrv listener (inputname: '{}') failed to process incoming connection with error {}",
                        l.input.cfg.name,
                        e.raw_os_error().unwrap_or(0)
                    ),
                );
                std::thread::sleep(Duration::from_millis(20));
                return;
            }
        }
    }
}

fn read_session(s: &mut Session, buf: &mut [u8], batch: &mut Batch, thread: &InputThread) -> ReadOutcome {
    let max_reads = match s.peer.input.cfg.settings.starvation_max_reads {
        0 => usize::MAX,
        n => n as usize,
    };
    for _ in 0..max_reads {
        if thread.should_stop() {
            break;
        }
        match s.stream.read(buf) {
            Ok(0) => {
                if s.peer.input.cfg.settings.notify_close {
                    log_error(
                        0,
                        ret::PEER_CLOSED_CONN,
                        &format!(
                            "Netstream session {:p} closed by remote peer {}.\n",
                            s as *const _, s.peer.ip_str
                        ),
                    );
                }
                s.process(&[], batch, true);
                return ReadOutcome::Closed;
            }
            Ok(n) => {
                s.process(&buf[..n], batch, false);
                let _ = batch.flush();
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => return ReadOutcome::Open,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => {
                log_error(
                    e.raw_os_error().unwrap_or(0),
                    ret::RCV_ERR,
                    &format!(
                        "netstream session {:p} from {} will be closed due to error",
                        s as *const _, s.peer.ip_str
                    ),
                );
                s.process(&[], batch, true);
                return ReadOutcome::Closed;
            }
        }
    }
    // Read budget used up (or stopping): the socket is still readable, so the
    // next poll comes back to it after the other sessions had their turn.
    ReadOutcome::Open
}
