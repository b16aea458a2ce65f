//! One TLS session: raw bytes from the socket go in, plaintext comes out for
//! the framing; what rustls has to send (handshake, alerts) is written back
//! without blocking. The peer is checked when the handshake completes,
//! before any of its data is read.

use super::peer::{Accepted, PeerCheck, Rejection};
use super::TlsServer;
use rustls::ServerConnection;
use rustls_pki_types::UnixTime;
use std::io::{ErrorKind, Read, Write};
use std::sync::Arc;

/// Why a TLS session ends badly.
#[derive(Debug)]
pub enum TlsFailure {
    /// rustls refused what the peer sent (garbage, protocol violation, no
    /// common cipher, bad signature, ...).
    Protocol(rustls::Error),
    /// The handshake completed but the peer is not accepted.
    Rejected(Rejection),
    /// The peer closed before the handshake completed.
    HandshakeAborted,
    /// rustls refused what an established peer sent (a fatal alert, a bad
    /// record, a renegotiation it then gave up on).
    Session(rustls::Error),
}

/// What feeding bytes did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Feed {
    /// Still in the handshake, or data passed on.
    Open,
    /// The peer sent close_notify: no more data will come.
    PeerClosed,
}

pub struct TlsSession {
    conn: ServerConnection,
    check: Arc<PeerCheck>,
    /// The post-handshake check passed (`Some`) — until then no plaintext is read.
    accepted: Option<Accepted>,
    /// Bytes were fed before (the C drivers' first handshake step is in the accept path).
    fed: bool,
}

impl std::fmt::Debug for TlsSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsSession")
            .field("handshaking", &self.conn.is_handshaking())
            .field("accepted", &self.accepted)
            .finish()
    }
}

impl TlsSession {
    pub fn new(server: &TlsServer) -> Result<TlsSession, rustls::Error> {
        Ok(TlsSession {
            conn: ServerConnection::new(server.config.clone())?,
            check: server.check.clone(),
            accepted: None,
            fed: false,
        })
    }

    /// The handshake and the peer check are done.
    pub fn established(&self) -> bool {
        self.accepted.is_some()
    }

    /// The accepted peer (after [`TlsSession::established`]).
    pub fn accepted(&self) -> Option<&Accepted> {
        self.accepted.as_ref()
    }

    /// Takes `raw` bytes read from the socket; passes decrypted data to
    /// `plain` in order. `scratch` is the buffer plaintext is copied through.
    /// On `Err` the session must be closed (after [`TlsSession::flush`] sent
    /// the alert rustls queued).
    pub fn feed(&mut self, raw: &[u8], scratch: &mut [u8], plain: &mut dyn FnMut(&[u8])) -> Result<Feed, TlsFailure> {
        self.fed = true;
        let mut rest = raw;
        let mut closed = false;
        loop {
            if !rest.is_empty() {
                match self.conn.read_tls(&mut rest) {
                    Ok(_) => {}
                    // "plaintext buffer full" (draining below prevents it) or a
                    // handshake message over rustls's 64 KiB limit.
                    Err(e) => return Err(TlsFailure::Protocol(rustls::Error::General(e.to_string()))),
                }
            }
            let state = match self.conn.process_new_packets() {
                Ok(state) => state,
                Err(e) => {
                    // The records before the bad one were processed: if they
                    // completed the handshake, the peer is checked, and the data
                    // of an accepted peer is passed on before the session ends.
                    if self.conn.is_handshaking() {
                        return Err(TlsFailure::Protocol(e));
                    }
                    self.check_peer()?;
                    self.drain(scratch, plain);
                    return Err(TlsFailure::Session(e));
                }
            };
            if !self.conn.is_handshaking() {
                self.check_peer()?;
            }
            if self.accepted.is_some() && state.plaintext_bytes_to_read() > 0 {
                self.drain(scratch, plain);
            }
            if state.peer_has_closed() {
                // Anything after close_notify is ignored (RFC 8446 6.1); read_tls
                // would take no more of it.
                closed = true;
                break;
            }
            if rest.is_empty() {
                break;
            }
        }
        Ok(if closed { Feed::PeerClosed } else { Feed::Open })
    }

    /// Once per session, when the handshake is done: the post-handshake check.
    fn check_peer(&mut self) -> Result<(), TlsFailure> {
        if self.accepted.is_none() {
            let a = self
                .check
                .check(self.conn.peer_certificates(), UnixTime::now())
                .map_err(TlsFailure::Rejected)?;
            self.accepted = Some(a);
        }
        Ok(())
    }

    /// Passes on all decrypted data rustls holds.
    fn drain(&mut self, scratch: &mut [u8], plain: &mut dyn FnMut(&[u8])) {
        loop {
            match self.conn.reader().read(scratch) {
                Ok(0) | Err(_) => break,
                Ok(n) => plain(&scratch[..n]),
            }
        }
    }

    /// The peer's TCP stream ended: anything still buffered was already
    /// passed on; a handshake that never finished is an abort.
    pub fn eof(&mut self) -> Result<(), TlsFailure> {
        if self.accepted.is_none() {
            return Err(TlsFailure::HandshakeAborted);
        }
        Ok(())
    }

    /// [`TlsSession::feed`] was called before (false until the first bytes).
    pub fn fed_before(&self) -> bool {
        self.fed
    }

    /// What the log lines say about the peer's certificate.
    pub fn cert_info(&self) -> Option<super::identity::CertInfo> {
        self.conn.peer_certificates().and_then(super::identity::info)
    }

    /// rustls has bytes to send.
    pub fn wants_write(&self) -> bool {
        self.conn.wants_write()
    }

    /// Writes what rustls has queued to `out` (non-blocking). `Ok(true)` when
    /// all is sent, `Ok(false)` when the socket would block.
    pub fn flush(&mut self, out: &mut dyn Write) -> std::io::Result<bool> {
        while self.conn.wants_write() {
            match self.conn.write_tls(out) {
                Ok(_) => {}
                Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(false),
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(true)
    }

    /// Queues close_notify (sent by the next [`TlsSession::flush`]).
    pub fn close(&mut self) {
        self.conn.send_close_notify();
    }
}
