//! Listeners and sessions: sockets are opened on the main thread
//! (activateCnfPrePrivDrop); at run time every input() gets a server (C: one
//! `tcpsrv` per input in 8.2504's imtcp.c): one epoll set over its listeners
//! and sessions, one dispatcher thread waiting on it, and a pool of
//! `workerThreads` workers that accept, read, frame and submit.
//!
//! * Descriptors are registered edge-triggered and one-shot (runtime/tcpsrv.c
//!   `epoll_Ctl`/`notifyReArm`): a reported descriptor is silent until the
//!   worker that took it re-arms it, so a session is handled by one worker at
//!   a time. Its `Mutex` is therefore never contended; it is what makes the
//!   ownership hand-over between threads safe.
//! * The dispatcher (the rsyslog input thread for the first input, an own
//!   thread for each further one, as imtcp.c's `startSrvWrkr`) only turns
//!   events into work items on a FIFO queue (tcpsrv.c `enqueueWork`);
//!   listeners are items like sessions, so accepting is done by the workers
//!   and queued fairly behind reads.
//! * Starvation protection (tcpsrv.c `doReceive`): after
//!   `starvationProtection.maxReads` reads without draining the socket, the
//!   session goes back to the tail of the queue instead of being re-armed.
//! * With one worker the dispatcher processes the queue itself between waits
//!   (tcpsrv.c `processWorkset` with `numWrkr == 1`).
//! * Stop: the dispatcher waits at most [`POLL`] (and rsyslog's SIGTTIN
//!   interrupts the wait on the input thread); the first dispatcher to see
//!   the stop request raises a shared flag and wakes the other dispatchers
//!   through their eventfds and the workers through the queue's condition
//!   variable. Every read is framed and flushed before the next one, so
//!   every complete frame read before the stop is submitted.

use crate::acl::{self, Acl};
use crate::config::{parse_port, InputConfig};
use crate::decompress::{self, Fault, Inflater, WindowBudget};
use crate::framing::{Event, Framer, FramingConfig, FramingError, StartRegex};
use crate::texts::{PeerName, Wording};
use crate::tls::{self, Feed, TlsServer, TlsSession};
use rsyslog_ffi::abi::{NEEDS_PARSING, NO_LEGACY_Z_DECOMPRESS, PARSE_HOSTNAME};
use rsyslog_ffi::log::{log_error, log_msg, LOG_INFO, LOG_WARNING};
use rsyslog_ffi::module::InputThread;
use rsyslog_ffi::obj::interfaces;
use rsyslog_ffi::sys::{Epoll, EventFd};
use rsyslog_ffi::{ret, Batch, ConfPtr, FlowControl, Msg, Prop, Ratelimit, RsError, RsResult, Ruleset, StatsObj};
use socket2::{Domain, Protocol, Socket, TcpKeepalive, Type};
use std::collections::{HashMap, VecDeque};
use std::ffi::{c_int, CString};
use std::io::{ErrorKind, Read};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::os::fd::{AsRawFd, RawFd};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Longest wait between checks for termination.
pub const POLL: Duration = Duration::from_millis(200);
/// Bytes per recv, as the C module (128 KiB).
const READ_SIZE: usize = 128 * 1024;
/// Plaintext copied out of rustls at a time (a TLS record holds at most 16 KiB).
const PLAIN_SIZE: usize = 64 * 1024;

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
    /// The input's own `allowedSender` list; replaces the global one when set.
    acl: Option<Acl>,
    /// Current upstream's listener statistics (more counters, `submitted`
    /// after the ratelimiter).
    master_stats: bool,
    /// streamDriver.mode=1: the rustls configuration of this input.
    tls: Option<TlsServer>,
    /// The driver settings cannot be served: the listener fails after its
    /// sockets were bound (and the port file written), as in C.
    tls_failure: Option<tls::SetupError>,
    /// compression.mode="stream:always": the driver and the guards of each session.
    inflate: Option<(decompress::Driver, decompress::Limits)>,
    /// compression.maxTotalZstdWindowBytes, shared by the sessions of this input.
    zstd_budget: Option<Arc<WindowBudget>>,
    /// The listener has the byte and decompression counters.
    byte_counters: bool,
    /// The host tcpsrv.c's words for what is logged about peers.
    words: Wording,
    /// `msgFlags` of the messages this input submits.
    msg_flags: c_int,
}

/// The `msgFlags` of a message from an input: to be parsed, host name
/// included; on current upstream, a message from a stream-decompressed
/// session also gets NO_LEGACY_Z_DECOMPRESS (as its tcps_sess.c sets it), so
/// one that begins with `z` is not decompressed a second time by the parser.
/// 8.2302 and 8.2504 have no such flag.
fn message_flags(stream_decompressed: bool, family: rsyslog_ffi::host::HostFamily) -> c_int {
    let mut f = NEEDS_PARSING | PARSE_HOSTNAME;
    if stream_decompressed && family >= rsyslog_ffi::host::HostFamily::Master {
        f |= NO_LEGACY_Z_DECOMPRESS;
    }
    f
}

/// How often the dispatcher looks for handshakes past their time.
const SWEEP_EVERY: Duration = Duration::from_secs(1);

/// The TLS configuration of an input, or the reason the input cannot start.
/// The TLS configuration of an input, or why the C driver would fail its
/// listener (logged by [`open_listeners`] after the port file is written, as
/// nsd_ptcp.c's LstnInit applies the driver settings after bind).
fn tls_server(cfg: &InputConfig, conf: &ConfPtr) -> Result<Option<TlsServer>, tls::SetupError> {
    let g = interfaces().map(|i| i.netstream_defaults(conf)).unwrap_or_default();
    let plan = match crate::config::tls_plan(&cfg.settings.tls, &g, rsyslog_ffi::host::host().family) {
        Ok(None) => return Ok(None),
        Ok(Some(p)) => p,
        Err((code, text)) => {
            return Err(tls::SetupError {
                code,
                lines: vec![tls::texts::LogLine {
                    severity: tls::texts::Severity::Err,
                    code,
                    text,
                }],
            })
        }
    };
    for (code, text) in &plan.notes {
        log_error(0, *code, text);
    }
    let (srv, warnings) = TlsServer::new(plan.driver, &plan.files, plan.policy, plan.priority.as_deref())?;
    emit(&warnings);
    Ok(Some(srv))
}

const CTR_SUBMITTED: usize = 0;
const CTR_BYTES_RECEIVED: usize = 1;
const CTR_BYTES_DECOMPRESSED: usize = 2;
const CTR_DECOMPRESSION_ERRORS: usize = 3;
/// The listener counters: 8.2302 and 8.2504 have `submitted` only; current
/// upstream adds the byte and decompression counters. On the older hosts an
/// input with stream decompression gets them too (they have nothing else to
/// show its compressed traffic).
const LISTENER_COUNTERS_MASTER: [&str; 4] = [
    "submitted",
    "bytes.received",
    "bytes.decompressed",
    "decompression.errors",
];

impl Input {
    /// Builds the runtime of an input (main thread, before the fork's privilege drop).
    pub fn new(cfg: InputConfig, ruleset: Option<Ruleset>, acl: Option<Acl>, conf: ConfPtr) -> RsResult<Input> {
        let name = Prop::new(cfg.name.as_bytes())?;
        let words = Wording::of_host();
        let family = rsyslog_ffi::host::host().family;
        let master = family >= rsyslog_ffi::host::HostFamily::Master;
        let ratelimit = match &cfg.ratelimit_name {
            // A named ratelimit() object (hosts that have them; checked at activation).
            // rsyslog itself logs why the name could not be used ("ratelimit config
            // '…' not found"); imtcp.c then gives up the listener with this line.
            Some(n) => Ratelimit::from_config(conf, n, words.ratelimiter_name(), None).map_err(|e| {
                RsError::new(
                    ret::NO_ERRCODE,
                    format!("imtcp: error {} trying to add listener", e.code),
                )
            })?,
            // rsyslog 8.2302/8.2504 name this ratelimiter "tcperver" (sic), current upstream "tcpsrv"
            // (the named one too).
            None => Ratelimit::new(
                words.ratelimiter_name(),
                None,
                cfg.ratelimit_interval.clamp(0, u32::MAX as i64) as u32,
                cfg.ratelimit_burst.clamp(0, u32::MAX as i64) as u32,
            )?,
        };
        let byte_counters = master || cfg.settings.compression.stream;
        let counters: &[&str] = if byte_counters {
            &LISTENER_COUNTERS_MASTER
        } else {
            &LISTENER_COUNTERS_MASTER[..1]
        };
        let stats = match StatsObj::new(&format!("{}({})", cfg.name, cfg.port), "imtcp", counters) {
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
            multiline: cfg.multiline,
            start_regex: start_regex(&cfg)?,
        };
        let tz = cfg.default_tz.as_deref().and_then(|t| CString::new(t).ok());
        let (tls, tls_failure) = match tls_server(&cfg, &conf) {
            Ok(t) => (t, None),
            Err(e) => (None, Some(e)),
        };
        let c = &cfg.settings.compression;
        let inflate = c.stream.then(|| {
            let driver = if c.zstd {
                decompress::Driver::Zstd
            } else {
                decompress::Driver::Zlib
            };
            let limits = decompress::Limits {
                max_ratio: c.max_expansion_ratio.max(0) as u64,
                max_per_receive: c.max_decompressed_per_receive.max(0) as u64,
            };
            (driver, limits)
        });
        let zstd_budget =
            (c.stream && c.zstd).then(|| Arc::new(WindowBudget::new(c.max_total_zstd_window.max(0) as u64)));
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
            acl,
            master_stats: master,
            tls,
            tls_failure,
            inflate,
            zstd_budget,
            byte_counters,
            words,
            msg_flags: message_flags(inflate.is_some(), family),
        })
    }

    fn submitted(&self, n: u64) {
        if let Some(s) = &self.stats {
            s.inc(CTR_SUBMITTED, n);
        }
    }

    /// Raw bytes read from a session (current upstream's `bytes.received`).
    fn received(&self, n: u64) {
        self.count(CTR_BYTES_RECEIVED, n);
    }

    fn count(&self, ctr: usize, n: u64) {
        if let (Some(s), true) = (&self.stats, self.byte_counters) {
            s.inc(ctr, n);
        }
    }
}

/// Largest maxMessageSize that `framing.delimiter.regex` accepts: its frame
/// buffer holds twice that (upstream's guard, `(INT_MAX - 1) / 2`).
const REGEX_MAX_LINE: usize = (i32::MAX as usize - 1) / 2;

/// `framing.delimiter.regex`, compiled as rsyslog compiles it (POSIX ERE).
fn start_regex(cfg: &InputConfig) -> RsResult<Option<StartRegex>> {
    let Some(pattern) = &cfg.delimiter_regex else {
        return Ok(None);
    };
    let max_line = rsyslog_ffi::host::host().max_line();
    if max_line > REGEX_MAX_LINE {
        return Err(RsError::new(
            ret::INVALID_PARAMS,
            format!(
                "imtcp: input '{}': framing.delimiter.regex requires maxMessageSize <= {REGEX_MAX_LINE} (is {max_line}) \
                 - listener not started",
                cfg.name
            ),
        ));
    }
    let re = rsyslog_ffi::sys::PosixRegex::new(pattern).map_err(|e| {
        RsError::new(
            ret::INVALID_PARAMS,
            format!(
                "imtcp: input '{}': framing.delimiter.regex '{pattern}' is not a valid regular expression: {e} - \
                 listener not started",
                cfg.name
            ),
        )
    })?;
    Ok(Some(StartRegex {
        pattern: pattern.clone(),
        matches: Arc::new(move |line: &[u8]| re.is_match(line)),
    }))
}

/// The input's `allowedSender` list, host names resolved now (as the C module
/// does when it reads its configuration). `Err` for an entry that cannot be
/// parsed; adjustments and unresolvable names are logged with the C texts.
pub fn build_acl(cfg: &InputConfig) -> Result<Option<Acl>, String> {
    let Some(list) = &cfg.settings.allowed_senders else {
        return Ok(None);
    };
    let mut entries = Vec::new();
    for spec in list {
        let mut warnings = Vec::new();
        let parsed = acl::parse(spec, &mut warnings);
        for w in &warnings {
            log_error(0, ret::NO_ERRCODE, w);
        }
        match parsed? {
            acl::Parsed::Net { addr, bits } => entries.push(acl::Entry::Net { addr, bits }),
            acl::Parsed::Wildcard(p) => entries.push(acl::Entry::Name(p)),
            acl::Parsed::Host(h) => match (h.as_str(), 0).to_socket_addrs() {
                Ok(addrs) => entries.extend(acl::host_entries(addrs.map(|a| a.ip()))),
                Err(_) => {
                    log_error(0, ret::NO_ERRCODE, &format!("DNS error: Can't resolve \"{h}\""));
                    log_error(0, ret::NO_ERRCODE, &format!("Hostname \"{h}\" WON'T be added to ACL."));
                }
            },
        }
    }
    Ok(Some(Acl { entries }))
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
        // tcpsrv.c: no error code, and a trailing LF (rendered as a space).
        log_error(
            0,
            ret::NO_ERRCODE,
            &format!("Invalid TCP listen port {} - ignored.\n", cfg.port),
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
    let ns = cfg.settings.network_namespace.as_deref().filter(|n| !n.is_empty());
    let bind_address = cfg.address.as_deref().unwrap_or("**UNSPECIFIED**");
    let max_listeners = cfg.settings.max_listeners;
    // Owns what it uses: inside a namespace it runs on a thread of its own.
    let bind_all = move || {
        let mut socks = Vec::new();
        let mut bound_port = port;
        let mut failure = None;
        for mut a in addrs {
            // tcpsrv.c addTcpLstn: an input holds at most maxListeners sockets;
            // the first one over the limit ends the setup of the input.
            if socks.len() as i64 >= max_listeners {
                failure = Some(ret::MAX_LSTN_REACHED);
                break;
            }
            // With port 0 the kernel-chosen port of the first socket serves the others.
            a.set_port(bound_port);
            match bind_one(a, backlog) {
                Ok(l) => {
                    if bound_port == 0 {
                        bound_port = l.local_addr().map(|x| x.port()).unwrap_or(0);
                    }
                    socks.push(l);
                }
                // A host without IPv6 (or IPv4): skipped silently, as the C module does.
                Err(e) if e.raw_os_error() == Some(libc::EAFNOSUPPORT) => {}
                Err(e) => log_error(
                    e.raw_os_error().unwrap_or(0),
                    ret::NO_ERRCODE,
                    "Error while binding tcp socket",
                ),
            }
        }
        (socks, bound_port, failure)
    };
    let (socks, bound_port, mut failure) = match ns {
        None => bind_all(),
        // As upstream's netns_switch: the sockets are created inside the namespace.
        Some(ns) => match rsyslog_ffi::sys::in_network_namespace(ns, bind_all) {
            Ok(r) => r,
            Err(e) => {
                let (verb, err) = match e {
                    rsyslog_ffi::sys::NetnsError::Open(e) => ("open", e),
                    rsyslog_ffi::sys::NetnsError::Enter(e) | rsyslog_ffi::sys::NetnsError::Spawn(e) => ("change to", e),
                };
                log_error(
                    err.raw_os_error().unwrap_or(0),
                    ret::IO_ERROR,
                    &format!("netns_switch: could not {verb} namespace '{ns}'"),
                );
                (Vec::new(), port, None)
            }
        },
    };
    let out: Vec<Listener> = socks
        .into_iter()
        .map(|sock| Listener {
            sock,
            input: input.clone(),
        })
        .collect();
    if out.is_empty() {
        failure = Some(ret::COULD_NOT_BIND);
    }
    if let Some(code) = failure {
        // tcpsrv.c create_tcp_socket: one line per failed port entry, with
        // what nsd_ptcp.c's LstnInit returned; the sockets made stay.
        log_error(
            0,
            code,
            &format!(
                "Could not create tcp listener, ignoring port {} bind-address {bind_address}{}.",
                cfg.port,
                ns.map(|n| format!(" namespace {n}")).unwrap_or_default()
            ),
        );
    }
    if out.is_empty() {
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
    if let Some(fail) = &input.tls_failure {
        // nsd_ptcp.c LstnInit: the driver settings come after bind and the
        // port file; a failing one drops the listener (its sockets close).
        emit(&fail.lines);
        log_error(
            0,
            fail.code,
            &format!(
                "Could not create tcp listener, ignoring port {} bind-address {bind_address}.",
                cfg.port
            ),
        );
        return Vec::new();
    }
    out
}

struct Session {
    stream: TcpStream,
    framer: Framer,
    peer: Peer,
    /// The TLS layer (streamDriver.mode=1).
    tls: Option<TlsSession>,
    /// Plain listener: the first bytes were looked at (a TLS ClientHello?).
    first_checked: bool,
    /// In the server's handshake table (TLS handshake not yet done).
    handshaking: bool,
    /// rustls has bytes the socket did not take yet: wait for writability too.
    want_write: bool,
    /// Closed by the handshake sweep: a queued turn finds it and does nothing.
    closed: bool,
    /// compression.mode="stream:always": between the transport and the framing.
    inflater: Option<Inflater>,
}

/// What taking a chunk of received bytes did to a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Took {
    Open,
    /// The session must close (TLS on a plain listener, a bad compressed stream); already logged.
    Close,
    /// The peer ended the TLS session (close_notify): finish the stream, then close.
    Eof,
    /// The TLS session failed (logged): finish what was received, then close.
    Abort,
}

/// What a session's messages carry about their sender, fixed at accept.
struct Peer {
    input: Arc<Input>,
    fqdn: Prop,
    ip: Prop,
    port: Option<Prop>,
    host: String,
    ip_str: String,
    port_num: u16,
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
        let allowed = match &input.acl {
            Some(acl) => acl.allows(peer.ip(), |pattern| rsyslog_ffi::sys::fnmatch_casefold(pattern, &host)),
            None => input.net.tcp_sender_allowed(&peer, &fq),
        };
        let name = PeerName {
            host: &host,
            ip: &ip_str,
            port: peer.port(),
        };
        if !allowed {
            return Err(RsError::new(ret::HOST_NOT_PERMITTED, input.words.disallowed(&name)));
        }
        let port = if rsyslog_ffi::host::host().fns.MsgSetRcvFromPort.is_some() {
            Prop::new(peer.port().to_string().as_bytes()).ok()
        } else {
            None
        };
        if s.notify_open {
            log_msg(0, ret::NO_ERRCODE, LOG_INFO, &input.words.established(&name));
        }
        let tls = match &input.tls {
            Some(srv) => Some(TlsSession::new(srv).map_err(|e| {
                RsError::new(
                    ret::TLS_HANDSHAKE_ERR,
                    format!("imtcp: cannot start a TLS session for {host}: {e}"),
                )
            })?),
            None => None,
        };
        let inflater = match input.inflate {
            Some((driver, limits)) => Some(Inflater::new(driver, limits, input.zstd_budget.clone()).map_err(|f| {
                input.count(CTR_DECOMPRESSION_ERRORS, 1);
                RsError::new(
                    ret::ZLIB_ERR,
                    fault_text(&f, driver, &format!("{host} ({ip_str}:{})", peer.port())),
                )
            })?),
            None => None,
        };
        Ok(Session {
            inflater,
            framer: Framer::new(input.framing.clone()),
            stream,
            handshaking: tls.is_some(),
            tls,
            first_checked: false,
            want_write: false,
            closed: false,
            peer: Peer {
                input,
                fqdn,
                ip,
                port,
                host,
                ip_str,
                port_num: peer.port(),
            },
        })
    }

    /// Takes bytes received from the socket: through TLS if the input has
    /// it, then into the framing. Frames are queued on `batch`.
    fn take(&mut self, data: &[u8], scratch: &mut [u8], batch: &mut Batch) -> Took {
        let now = interfaces().map(|i| i.current_time(false)).unwrap_or_default();
        let sid = self as *const Session;
        let Session {
            framer,
            peer,
            tls,
            stream,
            first_checked,
            want_write,
            inflater,
            ..
        } = self;
        let mut cb = |e: Event<'_>| match e {
            Event::Frame(f) => peer.submit(f, &now, batch),
            Event::Error(e) => peer.framing_error(&e, sid),
        };
        let Some(t) = tls else {
            if !*first_checked {
                *first_checked = true;
                if tls::looks_like_client_hello(data) {
                    log_error(
                        0,
                        ret::SERVER_NO_TLS,
                        &format!(
                            "imtcp: TLS handshake detected from {} but listener is not TLS-enabled. Enable TLS on this \
                             listener or disable TLS on the client. See \
                             https://www.rsyslog.com/doc/faq/imtcp-tls-gibberish.html for troubleshooting.",
                            peer.describe()
                        ),
                    );
                    return Took::Close;
                }
            }
            match inflater {
                Some(z) => {
                    if let Err(f) = z.push(data) {
                        peer.decompression_fault(&f, z.driver());
                        framer.abandon();
                        return Took::Close;
                    }
                }
                None => framer.feed(data, &mut cb),
            }
            return Took::Open;
        };
        let was_established = t.established();
        let first = !t.fed_before();
        let mut fault = None;
        let r = t.feed(data, scratch, &mut |p| match inflater.as_mut() {
            Some(z) => {
                if let Err(f) = z.push(p) {
                    fault = Some(f);
                }
            }
            None => framer.feed(p, &mut cb),
        });
        if let (Some(f), Some(z)) = (fault, inflater.as_ref()) {
            peer.decompression_fault(&f, z.driver());
            framer.abandon();
            return Took::Close;
        }
        // Handshake messages and alerts go out now (an alert before the close).
        match t.flush(&mut &*stream) {
            Ok(all) => *want_write = !all,
            Err(_) => *want_write = false,
        }
        match r {
            Ok(feed) => {
                if !was_established && t.established() && t.accepted().is_some_and(|a| a.expired_warning) {
                    let d = peer.input.tls.as_ref().map_or(tls::Driver::Gtls, |s| s.driver);
                    let family = rsyslog_ffi::host::host().family;
                    emit(&tls::texts::expired_warning(
                        d,
                        family,
                        t.cert_info().as_ref(),
                        &peer.host,
                    ));
                }
                if feed == Feed::PeerClosed {
                    peer.closed_by_peer(sid);
                    return Took::Eof;
                }
                Took::Open
            }
            Err(f) => {
                peer.tls_failure(&f, t.cert_info().as_ref(), first, sid);
                Took::Abort
            }
        }
    }

    /// Decompressed bytes wait to be framed.
    fn inflating(&self) -> bool {
        self.inflater.as_ref().is_some_and(Inflater::busy)
    }

    /// One slice of decompressed bytes into the framing. `Took::Close` after a
    /// fault (logged; the incomplete frame is dropped, the complete ones stay).
    fn inflate_slice(&mut self, out: &mut [u8], batch: &mut Batch) -> Took {
        let now = interfaces().map(|i| i.current_time(false)).unwrap_or_default();
        let sid = self as *const Session;
        let Session {
            framer, peer, inflater, ..
        } = self;
        let Some(z) = inflater.as_mut() else {
            return Took::Open;
        };
        match z.next(out) {
            Ok(n) => {
                peer.input.count(CTR_BYTES_DECOMPRESSED, n as u64);
                framer.feed(&out[..n], &mut |e: Event<'_>| match e {
                    Event::Frame(f) => peer.submit(f, &now, batch),
                    Event::Error(e) => peer.framing_error(&e, sid),
                });
                if z.take_released() {
                    // Current upstream's debug line (its tests wait for it); the session stays open.
                    rsyslog_ffi::log::debug("imtcp", "released zlib decoder after stream completion");
                }
                Took::Open
            }
            Err(f) => {
                peer.decompression_fault(&f, z.driver());
                framer.abandon();
                Took::Close
            }
        }
    }

    /// The byte stream ended (the peer closed, or the transport failed): what
    /// the decompressor still holds is framed, a compressed stream without its
    /// end is reported when `check_end`, then the framing closes as for any
    /// session. After a decompression fault the incomplete frame is dropped.
    fn end_of_stream(&mut self, out: &mut [u8], batch: &mut Batch, check_end: bool) {
        while self.inflating() {
            if self.inflate_slice(out, batch) == Took::Close {
                return;
            }
            let _ = batch.flush();
        }
        if let (Some(z), true) = (self.inflater.as_mut(), check_end) {
            if let Err(f) = z.finish() {
                self.peer.decompression_fault(&f, z.driver());
                self.framer.abandon();
                return;
            }
        }
        self.process(&[], batch, true);
    }

    /// Sends what the TLS layer still holds; `want_write` stays set while
    /// the socket is full (a broken socket shows in the next read).
    fn flush_pending(&mut self) {
        if let Some(t) = self.tls.as_mut() {
            self.want_write = matches!(t.flush(&mut &self.stream), Ok(false));
        }
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

/// `imtcp: <reason> from <peer>, driver=<zlib|zstd>: <detail>` (current upstream).
fn fault_text(f: &Fault, driver: decompress::Driver, peer: &str) -> String {
    format!(
        "imtcp: {} from {peer}, driver={}: {}",
        f.reason(),
        driver.name(),
        f.detail
    )
}

/// Writes TLS log lines with their severities.
fn emit(lines: &[tls::texts::LogLine]) {
    use tls::texts::Severity;
    for l in lines {
        match l.severity {
            Severity::Err => log_error(0, l.code, &l.text),
            Severity::Warning => log_msg(0, l.code, LOG_WARNING, &l.text),
            Severity::Info => log_msg(0, l.code, LOG_INFO, &l.text),
        }
    }
}

impl Peer {
    /// Logs why a TLS session fails, in the named driver's words.
    fn tls_failure(
        &self,
        f: &tls::TlsFailure,
        info: Option<&tls::identity::CertInfo>,
        first_data: bool,
        session: *const Session,
    ) {
        let Some(srv) = self.input.tls.as_ref() else {
            return;
        };
        let ctx = tls::texts::Ctx {
            host: &self.host,
            ip: &self.ip_str,
            session: format!("{session:p}"),
            input_name: &self.input.cfg.name,
            first_data,
        };
        emit(&tls::texts::failure(&srv.check.policy, f, info, &ctx));
    }

    /// Logs a compressed-stream fault as current upstream imtcp does and counts it.
    fn decompression_fault(&self, f: &Fault, driver: decompress::Driver) {
        self.input.count(CTR_DECOMPRESSION_ERRORS, 1);
        log_error(0, ret::ZLIB_ERR, &fault_text(f, driver, &self.describe()));
    }

    /// `<host> (<ip>:<port>)`, as current upstream names a peer.
    fn describe(&self) -> String {
        format!("{} ({}:{})", self.host, self.ip_str, self.port_num)
    }

    fn peer_name(&self) -> PeerName<'_> {
        PeerName {
            host: &self.host,
            ip: &self.ip_str,
            port: self.port_num,
        }
    }

    fn closed_by_peer(&self, session: *const Session) {
        if self.input.cfg.settings.notify_close {
            log_error(
                0,
                ret::PEER_CLOSED_CONN,
                &self
                    .input
                    .words
                    .closed_by_peer(&format!("{session:p}"), &self.peer_name()),
            );
        }
    }

    fn framing_error(&self, e: &FramingError, session: *const Session) {
        let text = e.message(
            &self.input.cfg.name,
            &self.host,
            &self.ip_str,
            self.input.words.framing_port(self.port_num),
            &format!("{session:p}"),
        );
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
        m.set_flags(self.input.msg_flags);
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
                // 8.2302/8.2504 count before the ratelimiter, current upstream after it.
                if !self.input.master_stats {
                    self.input.submitted(1);
                }
                match batch.add_limited(m, Some(&self.input.ratelimit)) {
                    Ok(true) if self.input.master_stats => self.input.submitted(1),
                    Ok(_) => {}
                    Err(e) => log_error(0, e.code, "imtcp: error submitting message"),
                }
            }
            Err(e) => log_error(0, e.code, "imtcp: could not construct message"),
        }
    }
}

/// How a session's turn ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    /// The socket is drained (EAGAIN): re-arm.
    Drained,
    /// Drained, and TLS bytes wait for room in the socket: re-arm for writing too.
    DrainedWrite,
    /// `maxReads` reads and still data: back to the queue.
    Budget,
    /// Closed by the peer or an error: the session is gone.
    Closed,
    /// Input termination: leave it alone.
    Stopping,
}

/// What one turn of a session did (the worker counters).
struct Turn {
    end: End,
    /// recv calls, as tcpsrv.c counts them (a short read ends the turn without the EAGAIN one).
    reads: u64,
    /// recv calls that returned data (current upstream's `read`).
    data_reads: u64,
    /// The first recv already said EAGAIN.
    empty: bool,
}

/// Connections accepted per turn of a listener before other work runs.
const MAX_ACCEPTS_PER_TURN: usize = 256;
/// Events taken per epoll_wait (tcpsrv.c NSPOLL_MAX_EVENTS_PER_WAIT).
const MAX_EVENTS: usize = 128;
/// Token of a server's wakeup eventfd; listeners are 0..n, sessions above [`FIRST_SESSION`].
const WAKE: u64 = u64::MAX;
const FIRST_SESSION: u64 = 1 << 32;

/// Per-worker counters, named and ordered as tcpsrv.c's `wrkr` registers them.
const WORKER_COUNTERS: [&str; 5] = ["runs", "read", "emptyread", "starvation_protect", "accept"];
const W_RUNS: usize = 0;
const W_READ: usize = 1;
const W_EMPTYREAD: usize = 2;
const W_STARVATION: usize = 3;
const W_ACCEPT: usize = 4;

type SharedSession = Arc<Mutex<Session>>;

/// One unit of work (C: a `tcpsrv_io_descr_t` on the work queue).
enum Work {
    Accept(usize),
    Read(u64, SharedSession),
}

/// The work queue of a server's pool (C: tcpsrv.c `workQueue_t`).
#[derive(Default)]
struct WorkQueue {
    items: VecDeque<Work>,
    /// Workers waiting on the condition variable.
    idle: usize,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// What a thread that processes work owns: its batch, its buffer and (in a
/// pool) its statistics.
struct Worker {
    batch: Batch,
    buf: Vec<u8>,
    /// Decrypted bytes on their way from rustls to the framing (TLS sessions).
    plain: Vec<u8>,
    /// A slice of decompressed bytes on its way to the framing.
    inflated: Vec<u8>,
    stats: Option<StatsObj>,
}

impl Worker {
    fn new(stats: Option<StatsObj>) -> Worker {
        Worker {
            batch: Batch::new(),
            buf: vec![0u8; READ_SIZE],
            plain: vec![0u8; PLAIN_SIZE],
            inflated: vec![0u8; decompress::SLICE],
            stats,
        }
    }
    fn count(&self, idx: usize, n: u64) {
        if let Some(s) = &self.stats {
            s.inc(idx, n);
        }
    }
}

/// The stop request, as seen by every thread of the module.
struct Stop<'a> {
    thread: &'a InputThread,
    flag: AtomicBool,
}

impl Stop<'_> {
    fn stopping(&self) -> bool {
        self.flag.load(Ordering::Relaxed) || self.thread.should_stop()
    }
}

/// One input()'s listeners and sessions with their epoll set and work queue.
struct Server<'a> {
    input: Arc<Input>,
    listeners: Vec<TcpListener>,
    epoll: Epoll,
    wake: EventFd,
    sessions: Mutex<HashMap<u64, SharedSession>>,
    /// TLS sessions still in their handshake, with the time it must end by.
    handshakes: Mutex<HashMap<u64, Instant>>,
    /// maxSessions of this input: a slot is claimed before a session is built.
    slots: SessionSlots,
    next_token: AtomicU64,
    queue: Mutex<WorkQueue>,
    ready: Condvar,
    stop: &'a Stop<'a>,
}

impl<'a> Server<'a> {
    fn new(input: Arc<Input>, listeners: Vec<TcpListener>, stop: &'a Stop<'a>) -> std::io::Result<Server<'a>> {
        let epoll = Epoll::new()?;
        let wake = EventFd::new()?;
        epoll.add(&wake, WAKE)?;
        for (i, l) in listeners.iter().enumerate() {
            epoll.add(l, i as u64)?;
        }
        Ok(Server {
            slots: SessionSlots::new(usize::try_from(input.cfg.settings.max_sessions).unwrap_or(0)),
            input,
            listeners,
            epoll,
            wake,
            sessions: Mutex::new(HashMap::new()),
            handshakes: Mutex::new(HashMap::new()),
            next_token: AtomicU64::new(FIRST_SESSION),
            queue: Mutex::new(WorkQueue::default()),
            ready: Condvar::new(),
            stop,
        })
    }

    fn name(&self) -> &str {
        &self.input.cfg.name
    }

    /// Stops the whole module: every dispatcher and worker sees it at once.
    fn raise_stop(&self) {
        self.stop.flag.store(true, Ordering::Relaxed);
    }

    fn wake_up(&self) {
        self.wake.notify();
        let _q = lock(&self.queue);
        self.ready.notify_all();
    }

    fn enqueue(&self, w: Work) {
        let mut q = lock(&self.queue);
        q.items.push_back(w);
        // A futex wake only when a worker waits (std's notify always makes one);
        // a worker that starts waiting later finds the item before it waits.
        let wake = q.idle > 0;
        drop(q);
        if wake {
            self.ready.notify_one();
        }
    }

    /// Next work item; `None` once stopping. Waits are bounded by [`POLL`].
    fn dequeue(&self) -> Option<Work> {
        let mut q = lock(&self.queue);
        loop {
            if self.stop.stopping() {
                return None;
            }
            if let Some(w) = q.items.pop_front() {
                return Some(w);
            }
            q.idle += 1;
            q = self.ready.wait_timeout(q, POLL).unwrap_or_else(|e| e.into_inner()).0;
            q.idle -= 1;
        }
    }

    /// Runs this server on the calling thread (its dispatcher) with
    /// `workerThreads` pool threads, until the input stops.
    fn run(&self, others: &[Server<'_>]) {
        let wanted = self.input.cfg.settings.worker_threads.clamp(1, 1024) as usize;
        std::thread::scope(|sc| {
            let mut started = 0;
            if wanted > 1 {
                for idx in 0..wanted {
                    // tcpsrv.c names its workers (and their statistics) "w<N>/<input name>".
                    let label = format!("w{idx}/{}", self.name());
                    let spawned = std::thread::Builder::new()
                        .name(label.chars().take(15).collect())
                        .spawn_scoped(sc, move || self.worker_main(&label));
                    match spawned {
                        Ok(_) => started += 1,
                        Err(e) => {
                            log_error(
                                e.raw_os_error().unwrap_or(0),
                                ret::NO_ERRCODE,
                                &format!(
                                    "tcpsrv could not start worker pool - now running single threaded '{}')",
                                    self.name()
                                ),
                            );
                            break;
                        }
                    }
                }
            }
            let mut inline = (started == 0).then(|| Worker::new(None));
            self.dispatch(inline.as_mut());
            if let Some(w) = inline.as_mut() {
                let _ = w.batch.flush();
            }
            // Whoever stops first stops all: wake this pool and the other dispatchers.
            self.raise_stop();
            self.wake_up();
            for o in others {
                o.wake_up();
            }
        });
        // Workers are joined: drop the sessions (their sockets close).
        lock(&self.queue).items.clear();
        lock(&self.sessions).clear();
    }

    /// The dispatcher loop: turns readiness into work items.
    fn dispatch(&self, mut inline: Option<&mut Worker>) {
        let mut events = Vec::with_capacity(MAX_EVENTS);
        let mut next_sweep = Instant::now() + SWEEP_EVERY;
        while !self.stop.stopping() {
            if self.input.tls.is_some() && Instant::now() >= next_sweep {
                self.sweep_handshakes();
                next_sweep = Instant::now() + SWEEP_EVERY;
            }
            let backlog = inline.is_some() && !lock(&self.queue).items.is_empty();
            let timeout = if backlog { Duration::ZERO } else { POLL };
            if let Err(e) = self.epoll.wait(&mut events, timeout) {
                log_error(
                    e.raw_os_error().unwrap_or(0),
                    ret::NO_ERRCODE,
                    "imtcp: epoll_wait failed",
                );
                std::thread::sleep(POLL);
                continue;
            }
            for ev in &events {
                match ev.token {
                    WAKE => {
                        self.wake.drain();
                        let _ = self.epoll.rearm(&self.wake, WAKE);
                    }
                    t if t < self.listeners.len() as u64 => self.enqueue(Work::Accept(t as usize)),
                    t => {
                        let s = lock(&self.sessions).get(&t).cloned();
                        if let Some(s) = s {
                            self.enqueue(Work::Read(t, s));
                        }
                    }
                }
            }
            if let Some(w) = inline.as_deref_mut() {
                // Single worker: this thread does the work, one pass over what
                // is queued now; re-queued sessions wait for the next pass.
                let n = lock(&self.queue).items.len();
                for _ in 0..n {
                    if self.stop.stopping() {
                        break;
                    }
                    let Some(item) = lock(&self.queue).items.pop_front() else {
                        break;
                    };
                    self.process(item, w);
                }
            }
        }
    }

    fn worker_main(&self, label: &str) {
        // Only hosts whose own imtcp has the pool (8.2504 on) show worker statistics.
        let stats = if rsyslog_ffi::host::host().family >= rsyslog_ffi::host::HostFamily::V2504 {
            match StatsObj::new(label, "imtcp", &WORKER_COUNTERS) {
                Ok(s) => Some(s),
                Err(e) => {
                    log_msg(
                        0,
                        e.code,
                        LOG_WARNING,
                        &format!(
                            "tcpsrv worker {label} could not create statistics counter. Thus, this worker does not provide them. Processing is otherwise unaffected"
                        ),
                    );
                    None
                }
            }
        } else {
            None
        };
        let mut w = Worker::new(stats);
        while let Some(item) = self.dequeue() {
            self.process(item, &mut w);
            w.count(W_RUNS, 1);
        }
        let _ = w.batch.flush();
    }

    fn process(&self, item: Work, w: &mut Worker) {
        match item {
            Work::Accept(i) => self.accept_turn(i, w),
            Work::Read(token, s) => self.read_turn(token, s, w),
        }
        let _ = w.batch.flush();
    }

    fn accept_turn(&self, idx: usize, w: &mut Worker) {
        let l = &self.listeners[idx];
        let mut attempts = 0u64;
        let mut drained = false;
        for _ in 0..MAX_ACCEPTS_PER_TURN {
            if self.stop.stopping() {
                return;
            }
            attempts += 1;
            match l.accept() {
                Ok((stream, peer)) => {
                    let local = stream.local_addr().ok();
                    // tcpsrv.c SessAccept: the table check comes right after accept.
                    if !self.slots.try_claim() {
                        self.refuse_session(stream);
                        self.listener_refused(&peer, local, ret::MAX_SESS_REACHED);
                        continue;
                    }
                    match Session::new(stream, peer, self.input.clone()) {
                        Ok(s) => self.add_session(s),
                        Err(e) => {
                            self.slots.release();
                            let code = e.report();
                            self.listener_refused(&peer, local, code);
                        }
                    }
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    drained = true;
                    break;
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => {
                    log_error(
                        0,
                        ret::NO_ERRCODE,
                        &format!(
                            "tcpsrv listener (inputname: '{}') failed to process incoming connection with error {}",
                            self.name(),
                            e.raw_os_error().unwrap_or(0)
                        ),
                    );
                    std::thread::sleep(Duration::from_millis(20));
                    drained = true;
                    break;
                }
            }
        }
        // tcpsrv.c counts every accept attempt, the one that found none included.
        w.count(W_ACCEPT, attempts);
        if drained {
            if let Err(e) = self.epoll.rearm(l, idx as u64) {
                log_error(
                    e.raw_os_error().unwrap_or(0),
                    ret::NO_ERRCODE,
                    &self.input.words.rearm_failed(l.as_raw_fd()),
                );
            }
        } else {
            // More connections are waiting: take them after the work queued meanwhile.
            self.enqueue(Work::Accept(idx));
        }
    }

    /// maxSessions reached: the connection is closed at once and each one
    /// is logged, with the C module's text and code (tcpsrv.c `SessAccept`).
    fn refuse_session(&self, stream: TcpStream) {
        drop(stream);
        log_error(
            0,
            ret::MAX_SESS_REACHED,
            "too many tcp sessions - dropping incoming request",
        );
        if self.input.cfg.settings.notify_open {
            // C has not looked up the peer yet at this point.
            log_error(0, ret::NO_ERRCODE, self.input.words.not_established_unknown_peer());
        }
    }

    /// Current upstream's tcpsrv.c (doSingleAccept) also logs the listener's
    /// failure for each connection it turned away. (It then pauses the
    /// listener 20 ms; ours does not, see README.)
    fn listener_refused(&self, peer: &SocketAddr, local: Option<SocketAddr>, code: rsyslog_ffi::abi::RsRetVal) {
        let local = local.unwrap_or_else(|| SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0)));
        if let Some(text) = self.input.words.listener_refused(self.name(), peer, &local, code) {
            log_error(0, code, &text);
        }
    }

    fn add_session(&self, s: Session) {
        let fd: RawFd = s.stream.as_raw_fd();
        let token = self.next_token.fetch_add(1, Ordering::Relaxed);
        if s.handshaking {
            lock(&self.handshakes).insert(token, Instant::now() + self.handshake_timeout());
        }
        // In the table before epoll can report it, so the dispatcher finds it.
        lock(&self.sessions).insert(token, Arc::new(Mutex::new(s)));
        if let Err(e) = self.epoll.add(&fd, token) {
            log_error(
                e.raw_os_error().unwrap_or(0),
                ret::NO_ERRCODE,
                &format!("epoll_ctl failed on fd {fd}, isLstn 0"),
            );
            if lock(&self.sessions).remove(&token).is_some() {
                self.slots.release();
            }
        }
    }

    fn read_turn(&self, token: u64, shared: SharedSession, w: &mut Worker) {
        let mut s = lock(&shared);
        if s.closed {
            return;
        }
        let stop = self.stop;
        let turn = rsyslog_ffi::log::guard_or(
            "imtcp",
            "session read",
            Turn {
                end: End::Closed,
                reads: 0,
                data_reads: 0,
                empty: false,
            },
            || read_session(&mut s, w, &|| stop.stopping()),
        );
        w.count(
            W_READ,
            if self.input.master_stats {
                turn.data_reads
            } else {
                turn.reads
            },
        );
        if turn.empty {
            w.count(W_EMPTYREAD, 1);
        }
        if s.handshaking && s.tls.as_ref().is_some_and(|t| t.established()) {
            s.handshaking = false;
            lock(&self.handshakes).remove(&token);
        }
        let fd = s.stream.as_raw_fd();
        match turn.end {
            End::Drained | End::DrainedWrite => {
                let r = if turn.end == End::DrainedWrite {
                    self.epoll.rearm_with_write(&fd, token)
                } else {
                    self.epoll.rearm(&fd, token)
                };
                if let Err(e) = r {
                    log_error(
                        e.raw_os_error().unwrap_or(0),
                        ret::NO_ERRCODE,
                        &self.input.words.rearm_failed(fd),
                    );
                    drop(s);
                    self.close(token, fd);
                }
            }
            End::Budget => {
                w.count(W_STARVATION, 1);
                drop(s);
                self.enqueue(Work::Read(token, shared));
            }
            End::Closed => {
                drop(s);
                self.close(token, fd);
            }
            End::Stopping => {}
        }
    }

    /// streamDriver.handshakeTimeout of this input.
    fn handshake_timeout(&self) -> Duration {
        Duration::from_secs(self.input.cfg.settings.tls.handshake_timeout.max(1) as u64)
    }

    /// Closes the TLS sessions whose handshake is overdue and whose peer has
    /// sent nothing that is still unread. A session a worker holds right now
    /// is left for the next sweep.
    fn sweep_handshakes(&self) {
        let now = Instant::now();
        let overdue: Vec<u64> = lock(&self.handshakes)
            .iter()
            .filter(|(_, deadline)| **deadline <= now)
            .map(|(t, _)| *t)
            .collect();
        for token in overdue {
            let Some(shared) = lock(&self.sessions).get(&token).cloned() else {
                lock(&self.handshakes).remove(&token);
                continue;
            };
            let Ok(mut s) = shared.try_lock() else {
                continue;
            };
            if !s.handshaking {
                continue;
            }
            // Bytes the peer sent that no worker has read yet: the wait is
            // ours (busy workers), not a stalled peer. Checked again at the
            // next sweep, once a worker has had its turn.
            if s.stream.peek(&mut [0u8; 1]).is_ok_and(|n| n > 0) {
                continue;
            }
            log_error(
                0,
                ret::TLS_HANDSHAKE_ERR,
                &tls::texts::handshake_timeout(&s.peer.describe(), self.handshake_timeout().as_secs()),
            );
            s.closed = true;
            let fd = s.stream.as_raw_fd();
            drop(s);
            self.close(token, fd);
        }
    }

    fn close(&self, token: u64, fd: RawFd) {
        let _ = self.epoll.delete(&fd);
        lock(&self.handshakes).remove(&token);
        // The socket closes when the last reference (ours, the table's) goes.
        if lock(&self.sessions).remove(&token).is_some() {
            self.slots.release();
        }
    }
}

/// The session slots of one input (C: its tcpsrv's session table of
/// maxSessions entries). Claimed atomically, so concurrent accepts on several
/// listeners of the input never exceed the maximum.
#[derive(Debug)]
pub struct SessionSlots {
    max: usize,
    used: std::sync::atomic::AtomicUsize,
}

impl SessionSlots {
    pub fn new(max: usize) -> SessionSlots {
        SessionSlots {
            max,
            used: std::sync::atomic::AtomicUsize::new(0),
        }
    }

    /// Takes a slot; `false` when all `max` are in use.
    pub fn try_claim(&self) -> bool {
        self.used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| (n < self.max).then_some(n + 1))
            .is_ok()
    }

    /// Gives a slot back (a session closed, or was not created after all).
    pub fn release(&self) {
        let _ = self
            .used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1));
    }

    pub fn in_use(&self) -> usize {
        self.used.load(Ordering::Acquire)
    }
}

/// Runs every input's server until rsyslog asks the input to stop: the first
/// on the calling (input) thread, each further one on its own thread.
pub fn run(listeners: Vec<Listener>, thread: &InputThread) -> RsResult {
    let mut groups: Vec<(Arc<Input>, Vec<TcpListener>)> = Vec::new();
    for l in listeners {
        match groups.iter_mut().find(|g| Arc::ptr_eq(&g.0, &l.input)) {
            Some(g) => g.1.push(l.sock),
            None => groups.push((l.input, vec![l.sock])),
        }
    }
    let stop = Stop {
        thread,
        flag: AtomicBool::new(false),
    };
    let mut servers = Vec::new();
    for (input, ls) in groups {
        let name = input.cfg.name.clone();
        match Server::new(input, ls, &stop) {
            Ok(s) => servers.push(s),
            Err(e) => log_error(
                e.raw_os_error().unwrap_or(0),
                ret::NO_ERRCODE,
                &format!("imtcp: input '{name}' not started: cannot set up epoll"),
            ),
        }
    }
    let Some((first, rest)) = servers.split_first() else {
        return Ok(());
    };
    std::thread::scope(|sc| {
        for (i, s) in rest.iter().enumerate() {
            let spawned = std::thread::Builder::new()
                .name(format!("in:imtcp#{}", i + 1))
                .spawn_scoped(sc, || s.run(&servers));
            if let Err(e) = spawned {
                log_error(
                    e.raw_os_error().unwrap_or(0),
                    ret::NO_ERRCODE,
                    &format!("imtcp error creating server thread for input '{}'", s.name()),
                );
            }
        }
        first.run(&servers);
    });
    Ok(())
}

/// Decompressed slices a session may still frame when the input stops.
const STOP_SLICES: usize = 1024;

/// One turn of a session: read until the socket is drained, closed, the
/// read budget is used up or the input stops; every chunk is framed and its
/// messages flushed before the next read (so nothing read is left unsubmitted).
///
/// With stream decompression a receive can expand a thousandfold: its output
/// is framed in slices of [`decompress::SLICE`] bytes, each slice after the
/// first costs one unit of the same budget as a read, and the socket is read
/// again only when the decompressor has handed out all it holds. A session
/// that still holds decompressed work at the end of its budget goes back to the
/// queue, as one with unread data does.
fn read_session(s: &mut Session, w: &mut Worker, stopping: &dyn Fn() -> bool) -> Turn {
    let max_reads = match s.peer.input.cfg.settings.starvation_max_reads {
        0 => u64::MAX,
        n => n as u64,
    };
    let mut t = Turn {
        end: End::Budget,
        reads: 0,
        data_reads: 0,
        empty: false,
    };
    let drained = |s: &Session| if s.want_write { End::DrainedWrite } else { End::Drained };
    if s.want_write {
        s.flush_pending();
    }
    let mut units = 0u64;
    // The last read was short: once the decompressor is empty, the turn ends.
    let mut short = false;
    while units < max_reads {
        if stopping() {
            // What was read is framed and submitted before the input stops, up to
            // STOP_SLICES (64 MiB, the default per-receive guard) so that shutdown stays quick.
            let mut n = 0;
            while n < STOP_SLICES && s.inflating() && s.inflate_slice(&mut w.inflated, &mut w.batch) == Took::Open {
                n += 1;
                let _ = w.batch.flush();
            }
            let _ = w.batch.flush();
            t.end = End::Stopping;
            return t;
        }
        units += 1;
        if s.inflating() {
            let took = s.inflate_slice(&mut w.inflated, &mut w.batch);
            let _ = w.batch.flush();
            if took == Took::Close {
                t.end = End::Closed;
                return t;
            }
            if short && !s.inflating() {
                t.end = drained(s);
                return t;
            }
            continue;
        }
        t.reads += 1;
        match s.stream.read(&mut w.buf) {
            Ok(0) => {
                let aborted = s.tls.as_mut().and_then(|tl| tl.eof().err());
                match aborted {
                    Some(f) => s.peer.tls_failure(&f, None, false, s as *const _),
                    None => s.peer.closed_by_peer(s as *const _),
                }
                s.end_of_stream(&mut w.inflated, &mut w.batch, true);
                t.end = End::Closed;
                return t;
            }
            Ok(n) => {
                t.data_reads += 1;
                s.peer.input.received(n as u64);
                if let Some(z) = s.inflater.as_mut() {
                    z.begin_receive();
                }
                let mut took = s.take(&w.buf[..n], &mut w.plain, &mut w.batch);
                if took == Took::Open && s.inflating() {
                    // The first slice of a receive is part of its read.
                    took = s.inflate_slice(&mut w.inflated, &mut w.batch);
                }
                match took {
                    Took::Open | Took::Close => {}
                    Took::Eof => s.end_of_stream(&mut w.inflated, &mut w.batch, true),
                    Took::Abort => s.end_of_stream(&mut w.inflated, &mut w.batch, false),
                }
                let _ = w.batch.flush();
                if took != Took::Open {
                    t.end = End::Closed;
                    return t;
                }
                if n < w.buf.len() {
                    // A short read took all there was: re-arming the one-shot registration
                    // (EPOLL_CTL_MOD) reports whatever arrives from now on, so the recv
                    // that would only say EAGAIN is saved (tcpsrv.c makes it).
                    if !s.inflating() {
                        t.end = drained(s);
                        return t;
                    }
                    short = true;
                }
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                t.empty = t.reads == 1;
                t.end = drained(s);
                return t;
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => {
                log_error(
                    e.raw_os_error().unwrap_or(0),
                    ret::RCV_ERR,
                    &s.peer
                        .input
                        .words
                        .closed_due_to_error(&format!("{:p}", s as *const _), &s.peer.peer_name()),
                );
                s.end_of_stream(&mut w.inflated, &mut w.batch, true);
                t.end = End::Closed;
                return t;
            }
        }
    }
    t
}

#[cfg(test)]
mod tests {
    use super::{message_flags, SessionSlots};
    use rsyslog_ffi::host::HostFamily;
    use std::sync::Arc;

    #[test]
    fn only_current_upstream_gets_the_no_legacy_z_flag_and_only_for_stream_inputs() {
        // Values of runtime/msg.h: NEEDS_PARSING 0x010, PARSE_HOSTNAME 0x020,
        // NO_LEGACY_Z_DECOMPRESS 0x400 (current upstream only).
        for family in [HostFamily::V2302, HostFamily::V2504, HostFamily::Master] {
            assert_eq!(message_flags(false, family), 0x030, "{family:?}");
        }
        assert_eq!(message_flags(true, HostFamily::V2302), 0x030);
        assert_eq!(message_flags(true, HostFamily::V2504), 0x030);
        assert_eq!(message_flags(true, HostFamily::Master), 0x430);
    }

    #[test]
    fn slots_stop_at_max_and_come_back_on_release() {
        let s = SessionSlots::new(2);
        assert!(s.try_claim());
        assert!(s.try_claim());
        assert!(!s.try_claim());
        assert_eq!(s.in_use(), 2);
        s.release();
        assert!(s.try_claim());
        assert!(!s.try_claim());
        s.release();
        s.release();
        s.release(); // never below zero
        assert_eq!(s.in_use(), 0);
    }

    #[test]
    fn concurrent_claims_never_exceed_max() {
        let s = Arc::new(SessionSlots::new(20));
        let won: usize = (0..8)
            .map(|_| {
                let s = s.clone();
                std::thread::spawn(move || (0..100).filter(|_| s.try_claim()).count())
            })
            .collect::<Vec<_>>()
            .into_iter()
            .map(|h| h.join().unwrap())
            .sum();
        assert_eq!(won, 20);
        assert_eq!(s.in_use(), 20);
    }
}
