//! Throw-away network devices for live capture tests: a veth pair whose far end lives in a
//! network namespace of its own, a lone veth pair left down, a tun device. Names are unique
//! per process and call, so tests may run in parallel; everything is removed on drop, also
//! when the test panics. Needs root and iproute2 (`ip`).

use std::fmt::Write as _;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A name of at most 15 bytes (IFNAMSIZ - 1): `rs<kind><pid hex><counter hex>`.
pub fn unique_name(kind: char) -> String {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let name = format!("rs{kind}{:x}{:x}", std::process::id(), n);
    assert!(name.len() <= 15, "interface name {name} too long");
    name
}

/// `Some(reason)` when this process cannot create network devices (not root, no `ip`).
pub fn missing_privileges() -> Option<String> {
    // SAFETY: geteuid has no preconditions and cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        return Some("live capture tests need root (network namespaces, veth)".into());
    }
    match Command::new("ip")
        .arg("-V")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
    {
        Ok(s) if s.success() => None,
        _ => Some("live capture tests need iproute2 (`ip`)".into()),
    }
}

/// Like [`crate::require_host`] for the network side: `true` to run; otherwise prints a SKIP
/// line and returns `false`, or panics when env `CI` is set.
pub fn require_netadmin(test_name: &str) -> bool {
    let Some(why) = missing_privileges() else {
        return true;
    };
    if crate::host::is_ci_value(std::env::var("CI").ok().as_deref()) {
        panic!("{test_name}: CI is set and {why}");
    }
    use std::io::Write;
    let _ = std::io::stderr()
        .lock()
        .write_all(format!("SKIP {test_name}: {why}\n").as_bytes());
    false
}

fn run(cmd: &mut Command) -> Output {
    let shown = format!("{cmd:?}");
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {shown}: {e}"));
    assert!(
        out.status.success(),
        "{shown} failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Runs `ip <args>`; panics with its output on failure.
pub fn ip(args: &[&str]) {
    run(Command::new("ip").args(args));
}

/// Runs `ip <args>` ignoring the outcome (cleanup).
fn ip_quiet(args: &[&str]) {
    let _ = Command::new("ip")
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// Writes a sysctl of the root namespace through /proc (ignored when the key does not exist,
/// e.g. IPv6 compiled out).
fn proc_sysctl(key: &str, value: &str) {
    let p = Path::new("/proc/sys").join(key.replace('.', "/"));
    if p.exists() {
        std::fs::write(&p, value).unwrap_or_else(|e| panic!("writing {}: {e}", p.display()));
    }
}

/// `aa:bb:..` as `ip` takes it.
pub fn mac_arg(mac: [u8; 6]) -> String {
    let mut s = String::new();
    for (i, b) in mac.iter().enumerate() {
        if i > 0 {
            s.push(':');
        }
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// A veth pair: `host_if` in the test's (root) namespace, up, without any address and with
/// IPv6 off so the kernel sends nothing on its own; `ns_if` in namespace `ns` with address
/// [`VethNs::NS_ADDR`]/24 and a permanent neighbour entry for [`VethNs::HOST_ADDR`] →
/// `host_mac` (no ARP). A datagram sent inside the namespace to `HOST_ADDR` crosses the
/// pair as exactly one frame `ns_mac` → `host_mac`.
pub struct VethNs {
    pub ns: String,
    pub host_if: String,
    pub ns_if: String,
    pub host_mac: [u8; 6],
    pub ns_mac: [u8; 6],
}

impl VethNs {
    pub const NS_ADDR: &'static str = "192.0.2.1";
    pub const HOST_ADDR: &'static str = "192.0.2.2";

    pub fn new() -> VethNs {
        let ns = unique_name('n');
        let host_if = unique_name('h');
        let ns_if = unique_name('p');
        // Locally administered unicast addresses, distinct per pair.
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let pid = std::process::id();
        let host_mac = [0x02, 0xa0, (pid >> 8) as u8, pid as u8, n as u8, 0x01];
        let ns_mac = [0x02, 0xb0, (pid >> 8) as u8, pid as u8, n as u8, 0x02];
        // Cleanup from here on, even if a step below fails.
        let v = VethNs {
            ns,
            host_if,
            ns_if,
            host_mac,
            ns_mac,
        };
        ip(&["netns", "add", &v.ns]);
        v.ns_exec(&["sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1"]);
        v.ns_exec(&["sysctl", "-qw", "net.ipv6.conf.default.disable_ipv6=1"]);
        ip(&[
            "link",
            "add",
            &v.host_if,
            "address",
            &mac_arg(v.host_mac),
            "type",
            "veth",
            "peer",
            "name",
            &v.ns_if,
            "address",
            &mac_arg(v.ns_mac),
            "netns",
            &v.ns,
        ]);
        proc_sysctl(&format!("net.ipv6.conf.{}.disable_ipv6", v.host_if), "1");
        proc_sysctl(&format!("net.ipv4.conf.{}.forwarding", v.host_if), "0");
        ip(&["link", "set", &v.host_if, "up"]);
        ip(&[
            "-n",
            &v.ns,
            "addr",
            "add",
            &format!("{}/24", Self::NS_ADDR),
            "dev",
            &v.ns_if,
        ]);
        ip(&["-n", &v.ns, "link", "set", &v.ns_if, "up"]);
        ip(&[
            "-n",
            &v.ns,
            "neigh",
            "replace",
            Self::HOST_ADDR,
            "lladdr",
            &mac_arg(v.host_mac),
            "dev",
            &v.ns_if,
            "nud",
            "permanent",
        ]);
        v
    }

    /// Runs a command inside the namespace; panics with its output on failure.
    pub fn ns_exec(&self, args: &[&str]) -> Output {
        run(Command::new("ip").args(["netns", "exec", &self.ns]).args(args))
    }

    /// Sends from inside the namespace, in this order and from one process: `Udp(port,
    /// payload)` as one datagram to `HOST_ADDR:port`; `TcpSyn(port)` as a connection attempt
    /// (a SYN) that is dropped right away.
    pub fn send(&self, packets: &[Packet]) {
        let mut args: Vec<String> = vec!["python3".into(), "-c".into(), SENDER.into(), Self::HOST_ADDR.into()];
        args.extend(packets.iter().map(Packet::arg));
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        self.ns_exec(&refs);
    }
}

impl Default for VethNs {
    fn default() -> Self {
        VethNs::new()
    }
}

impl Drop for VethNs {
    fn drop(&mut self) {
        // Deleting one end removes the pair; the namespace goes last.
        ip_quiet(&["link", "del", &self.host_if]);
        ip_quiet(&["netns", "del", &self.ns]);
    }
}

/// A packet for [`VethNs::send`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Packet {
    Udp(u16, Vec<u8>),
    TcpSyn(u16),
}

impl Packet {
    fn arg(&self) -> String {
        match self {
            Packet::Udp(port, payload) => format!("udp:{port}:{}", hex_lower(payload)),
            Packet::TcpSyn(port) => format!("tcp:{port}:"),
        }
    }
}

fn hex_lower(b: &[u8]) -> String {
    b.iter().fold(String::new(), |mut s, x| {
        let _ = write!(s, "{x:02x}");
        s
    })
}

const SENDER: &str = r#"
import socket, sys
dst = sys.argv[1]
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for item in sys.argv[2:]:
    kind, port, payload = item.split(":")
    if kind == "udp":
        u.sendto(bytes.fromhex(payload), (dst, int(port)))
    else:
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        t.setblocking(False)
        t.connect_ex((dst, int(port)))
        t.close()
"#;

/// A veth pair in the root namespace, both ends left down.
pub struct DownLink {
    pub name: String,
}

impl DownLink {
    pub fn new() -> DownLink {
        let l = DownLink { name: unique_name('d') };
        let peer = unique_name('e');
        ip(&["link", "add", &l.name, "type", "veth", "peer", "name", &peer]);
        l
    }
}

impl Default for DownLink {
    fn default() -> Self {
        DownLink::new()
    }
}

impl Drop for DownLink {
    fn drop(&mut self) {
        ip_quiet(&["link", "del", &self.name]);
    }
}

/// A tun device (link type RAW, not Ethernet), set up.
pub struct Tun {
    pub name: String,
}

impl Tun {
    pub fn new() -> Tun {
        let t = Tun { name: unique_name('t') };
        ip(&["tuntap", "add", "dev", &t.name, "mode", "tun"]);
        ip(&["link", "set", &t.name, "up"]);
        t
    }
}

impl Default for Tun {
    fn default() -> Self {
        Tun::new()
    }
}

impl Drop for Tun {
    fn drop(&mut self) {
        ip_quiet(&["link", "del", &self.name]);
    }
}

/// A named network namespace (`ip netns add`, so `/var/run/netns/<name>` exists) with only
/// its loopback, up. Removed on drop.
pub struct NamedNetns {
    pub name: String,
}

impl NamedNetns {
    pub fn new() -> NamedNetns {
        let ns = NamedNetns { name: unique_name('n') };
        ip(&["netns", "add", &ns.name]);
        ip(&["-n", &ns.name, "link", "set", "lo", "up"]);
        ns
    }

    /// Sends `data` over one TCP connection to `127.0.0.1:port` from inside the namespace.
    pub fn tcp_send(&self, port: u16, data: &[u8]) {
        run(Command::new("ip").args([
            "netns",
            "exec",
            &self.name,
            "python3",
            "-c",
            "import socket,sys\ns=socket.create_connection(('127.0.0.1',int(sys.argv[1])))\n\
             s.sendall(bytes.fromhex(sys.argv[2]))\ns.close()",
            &port.to_string(),
            &hex_lower(data),
        ]));
    }
}

impl Default for NamedNetns {
    fn default() -> Self {
        NamedNetns::new()
    }
}

impl Drop for NamedNetns {
    fn drop(&mut self) {
        ip_quiet(&["netns", "del", &self.name]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_fit_ifnamsiz_and_differ() {
        let a = unique_name('h');
        let b = unique_name('h');
        assert_ne!(a, b);
        assert!(a.len() <= 15 && a.starts_with("rsh"));
        assert_eq!(mac_arg([0x02, 0, 0xab, 1, 2, 0xff]), "02:00:ab:01:02:ff");
        assert_eq!(Packet::Udp(5, vec![0xab, 1]).arg(), "udp:5:ab01");
    }
}
