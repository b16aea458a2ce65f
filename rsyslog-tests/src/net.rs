//! Small network helpers for tests.

use std::io::Write;
use std::net::{Shutdown, TcpStream, UdpSocket};
use std::time::{Duration, Instant};

/// How long `tcp_connect` keeps retrying.
pub const CONNECT_RETRY: Duration = Duration::from_secs(5);

/// Connects to 127.0.0.1:`port`, retrying for ~5 s (listener may not be up yet).
pub fn tcp_connect(port: u16) -> TcpStream {
    let t0 = Instant::now();
    loop {
        match TcpStream::connect(("127.0.0.1", port)) {
            Ok(s) => {
                let _ = s.set_nodelay(true);
                return s;
            }
            Err(e) if t0.elapsed() < CONNECT_RETRY => {
                let _ = e;
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(e) => panic!("tcp_connect(127.0.0.1:{port}): {e} (retried {CONNECT_RETRY:?})"),
        }
    }
}

/// Sends `data` over one TCP connection to 127.0.0.1:`port` and closes it (FIN).
pub fn tcp_send(port: u16, data: &[u8]) {
    let mut s = tcp_connect(port);
    s.write_all(data)
        .unwrap_or_else(|e| panic!("tcp_send to port {port}: {e}"));
    let _ = s.flush();
    let _ = s.shutdown(Shutdown::Write);
}

/// Sends `data` over one TCP connection from `src` (an address on `lo`, e.g. 127.0.0.2)
/// to 127.0.0.1:`port` and closes it; the listener is expected to be up.
pub fn tcp_send_from(src: std::net::Ipv4Addr, port: u16, data: &[u8]) -> std::io::Result<()> {
    use socket2::{Domain, Socket, Type};
    let s = Socket::new(Domain::IPV4, Type::STREAM, None)?;
    s.bind(&std::net::SocketAddr::from((src, 0)).into())?;
    s.connect(&std::net::SocketAddr::from(([127, 0, 0, 1], port)).into())?;
    let mut s: TcpStream = s.into();
    s.write_all(data)?;
    s.shutdown(Shutdown::Write)
}

/// Sends one UDP datagram to 127.0.0.1:`port`.
pub fn udp_send(port: u16, data: &[u8]) {
    let s = UdpSocket::bind(("127.0.0.1", 0)).expect("bind udp");
    s.send_to(data, ("127.0.0.1", port))
        .unwrap_or_else(|e| panic!("udp_send to port {port}: {e}"));
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use std::net::TcpListener;

    #[test]
    fn sends_over_tcp() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let h = std::thread::spawn(move || {
            let (mut c, _) = l.accept().unwrap();
            let mut v = Vec::new();
            c.read_to_end(&mut v).unwrap();
            v
        });
        tcp_send(port, b"<13>hello\n");
        assert_eq!(h.join().unwrap(), b"<13>hello\n");
    }

    #[test]
    fn connect_retries_until_listener_appears() {
        // Find a free port, release it, listen on it a bit later.
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let h = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            let l = TcpListener::bind(("127.0.0.1", port)).unwrap();
            let (mut c, _) = l.accept().unwrap();
            let mut v = Vec::new();
            c.read_to_end(&mut v).unwrap();
            v
        });
        tcp_send(port, b"late");
        assert_eq!(h.join().unwrap(), b"late");
    }
}
