//! IPv6 header and extension headers, as the C impcap reads them.
//!
//! After addresses and hop limit, the C module walks the extension headers:
//! hop-by-hop and destination options are skipped, a type 0 routing header
//! reports its segments left and addresses, a fragment header reports offset,
//! more-fragments flag and identification. TCP, UDP and ICMPv6 are decoded
//! (ICMPv6 with the ICMP decoder); any other next header (ESP, AH, no next
//! header, IPv6-in-IPv6, ...) ends the walk with the rest as data. `IP_proto`
//! is the protocol the walk ended on. The fragment identification is read
//! in host byte order (no `ntohl`), and addresses are printed as glibc's
//! `inet_ntop` does (`::a.b.c.d` for IPv4-compatible and `::ffff:a.b.c.d`
//! for IPv4-mapped addresses).
//!
//! The walk differs between the C modules:
//!
//! - 8.2302 and 8.2504 ([`Dialect::V2504`]): an extension header's length
//!   in bytes, `8 × (len + 1)`, is computed in 8 bits, so it wraps (length
//!   byte 32 → 8 bytes, 31 → 0 bytes); the walk and the number of routing
//!   addresses follow the wrapped value. This is reproduced.
//! - Current upstream ([`Dialect::Master`]): the length does not wrap. An
//!   extension header that is not wholly captured (fewer than 2 bytes, or
//!   fewer than its length; 8 for a fragment header) ends the walk with no
//!   field of it, no `IP_proto` and no data. A next header of 255 ends the
//!   walk too, without `IP_proto`, the rest being data.
//!   Tests: `current_upstream_walk`, `real_capture_too_long_jumbo`.
//!
//! # Differences from the C module
//!
//! For 8.2302 and 8.2504 ([`Dialect::V2504`]); current upstream reads
//! nothing past the packet.
//!
//! - ipv6.rs, extension header of which the walk cannot go on (its
//!   next-header byte, or for hop-by-hop, destination options and routing its
//!   length byte, is not captured — e.g. the walk has reached the end of the
//!   capture): the C module reads them past the packet and goes on with
//!   whatever is there. We end the walk there, as for an unknown header:
//!   `IP_proto` is that header's type and the captured rest (if any) is data.
//!   Test: `truncated_extension_header_ends_the_walk`.
//! - ipv6.rs, other fields of an extension header that are not (fully)
//!   captured (routing type, segments left, addresses; fragment offset/flag,
//!   identification): the C module prints values read past the packet. We
//!   leave those fields out and go on with the header's next-header value.
//!   Tests: `routing_addresses_beyond_capture_are_left_out`,
//!   `fragment_fields_beyond_capture_are_left_out`,
//!   `real_capture_fragment_cut_short` (tcpdump's ip6_frag_asan.pcap).
//! - ipv6.rs, an extension header whose wrapped length is 0 and whose next
//!   header is hop-by-hop, routing or destination options: the C module
//!   reads the same header again and again and never returns (rsyslogd
//!   hangs). We notice the repetition and end the walk there with `IP_proto`
//!   set to that next header and the rest as data. Test: `zero_length_loop_ends`.

use super::{after, icmp, tcp, udp, Dialect};
use rsyslog_ffi::json::JsonSink;
use std::ffi::CString;
use std::fmt::Write;
use std::net::Ipv4Addr;

/// Field offsets of the IPv6 header.
mod field {
    use std::ops::Range;
    pub const NEXT_HEADER: usize = 6;
    pub const HOP_LIMIT: usize = 7;
    pub const SRC: Range<usize> = 8..24;
    pub const DST: Range<usize> = 24..40;
    pub const HEADER_LEN: usize = 40;
}

/// Field offsets of the extension headers, relative to their start.
mod ext {
    use std::ops::Range;
    /// First two bytes of hop-by-hop, routing and destination options.
    pub const NEXT_HEADER: usize = 0;
    pub const LEN: usize = 1;
    pub const GENERIC_LEN: usize = 2;
    pub const ROUTING_TYPE: usize = 2;
    pub const SEGMENTS_LEFT: usize = 3;
    pub const ROUTING_ADDRS: usize = 8;
    pub const FRAG_OFFSET_FLAGS: Range<usize> = 2..4;
    pub const FRAG_ID: Range<usize> = 4..8;
    /// The fragment header's length (it has no length field).
    pub const FRAG_LEN: usize = 8;
}

pub const NH_HOP_BY_HOP: u8 = 0;
pub const NH_TCP: u8 = 6;
pub const NH_UDP: u8 = 17;
pub const NH_ROUTING: u8 = 43;
pub const NH_FRAGMENT: u8 = 44;
pub const NH_ICMPV6: u8 = 58;
pub const NH_DEST_OPTS: u8 = 60;
/// Current upstream's mark for a walk cut short, which a packet's own 255 also hits.
pub const NH_INVALID: u8 = 255;

/// A checked view of an IPv6 header.
#[derive(Debug, Clone, Copy)]
pub struct Packet<'a> {
    buf: &'a [u8],
}

impl<'a> Packet<'a> {
    /// `None` when shorter than the 40-byte fixed header.
    pub fn new_checked(buf: &'a [u8]) -> Option<Self> {
        (buf.len() >= field::HEADER_LEN).then_some(Packet { buf })
    }
    pub fn next_header(&self) -> u8 {
        self.buf[field::NEXT_HEADER]
    }
    pub fn hop_limit(&self) -> u8 {
        self.buf[field::HOP_LIMIT]
    }
    pub fn src(&self) -> [u8; 16] {
        addr(&self.buf[field::SRC])
    }
    pub fn dst(&self) -> [u8; 16] {
        addr(&self.buf[field::DST])
    }
}

fn addr(b: &[u8]) -> [u8; 16] {
    let mut a = [0; 16];
    a.copy_from_slice(&b[..16]);
    a
}

/// A parsed IPv6 fixed header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Repr {
    pub src: [u8; 16],
    pub dst: [u8; 16],
    pub hop_limit: u8,
    pub next_header: u8,
}

impl Repr {
    pub fn parse(p: &Packet<'_>) -> Repr {
        Repr {
            src: p.src(),
            dst: p.dst(),
            hop_limit: p.hop_limit(),
            next_header: p.next_header(),
        }
    }
}

/// An IPv6 address as glibc's `inet_ntop` writes it: the longest run (the
/// first of equal ones) of at least two zero groups becomes `::`, and an
/// address with six leading zero groups, or five and `ffff`, ends in
/// dotted IPv4.
pub fn ntop(a: &[u8; 16]) -> String {
    let words: [u16; 8] = std::array::from_fn(|i| u16::from_be_bytes([a[2 * i], a[2 * i + 1]]));
    // Longest run of zero words: (start, len).
    let mut best: Option<(usize, usize)> = None;
    let mut i = 0;
    while i < 8 {
        if words[i] == 0 {
            let start = i;
            while i < 8 && words[i] == 0 {
                i += 1;
            }
            let len = i - start;
            if len >= 2 && best.is_none_or(|(_, l)| len > l) {
                best = Some((start, len));
            }
        } else {
            i += 1;
        }
    }
    let mut s = String::with_capacity(39);
    let mut i = 0;
    while i < 8 {
        if let Some((start, len)) = best.filter(|&(start, _)| start == i) {
            s.push_str("::");
            i = start + len;
            if i == 8 {
                break;
            }
        } else if i != 0 {
            s.push(':');
        }
        let embeds_v4 = matches!(best, Some((0, 6))) || (matches!(best, Some((0, 5))) && words[5] == 0xffff);
        if i == 6 && embeds_v4 {
            let _ = write!(s, "{}", Ipv4Addr::new(a[12], a[13], a[14], a[15]));
            break;
        }
        let _ = write!(s, "{:x}", words[i]);
        i += 1;
    }
    s
}

/// Byte length of a hop-by-hop, routing or destination options header, in
/// 8 bits as the C module computes it (so it wraps).
fn wrapped_ext_len(len_field: u8) -> u8 {
    len_field.wrapping_mul(8).wrapping_add(8)
}

/// What one step of the extension header walk found.
enum Step {
    /// Go on with this next header at this offset.
    Next(u8, usize),
    /// The header's next-header (or length) byte is not captured: end the
    /// walk on it.
    Truncated,
}

/// Next-header and 8-bit byte length of a hop-by-hop, destination options
/// or routing header at `h`, when both were captured.
fn generic(h: &[u8]) -> Option<(u8, u8)> {
    let g = h.get(..ext::GENERIC_LEN)?;
    Some((g[ext::NEXT_HEADER], wrapped_ext_len(g[ext::LEN])))
}

/// Hop-by-hop or destination options: skipped.
fn skip_options(pkt: &[u8], off: usize) -> Step {
    match generic(after(pkt, off)) {
        Some((next, len)) => Step::Next(next, off + len as usize),
        None => Step::Truncated,
    }
}

/// Routing header: type 0 reports segments left and its addresses (the
/// fields whose bytes were captured).
fn routing(pkt: &[u8], off: usize, out: &mut impl JsonSink) -> Step {
    let h = after(pkt, off);
    let Some((next, byte_len)) = generic(h) else {
        return Step::Truncated;
    };
    if h.get(ext::ROUTING_TYPE) == Some(&0) {
        if let Some(&segments_left) = h.get(ext::SEGMENTS_LEFT) {
            out.put_int(c"IP6_route_seg_left", segments_left as i32);
        }
        // As in C: the 8-bit length less the 8 fixed bytes, wrapping too.
        let count = byte_len.wrapping_sub(8) as usize / 16;
        let addrs = after(h, ext::ROUTING_ADDRS).chunks_exact(16).take(count);
        for (n, a) in addrs.enumerate() {
            let key = CString::new(format!("IP6_route_{}", n + 1)).unwrap_or_default();
            out.put_str(&key, ntop(&addr(a)).as_bytes());
        }
    }
    Step::Next(next, off + byte_len as usize)
}

/// Fragment header: offset, more-fragments flag and identification (those
/// whose bytes were captured).
fn fragment(pkt: &[u8], off: usize, out: &mut impl JsonSink) -> Step {
    let h = after(pkt, off);
    let Some(&next) = h.get(ext::NEXT_HEADER) else {
        return Step::Truncated;
    };
    if let Some(f) = h.get(ext::FRAG_OFFSET_FLAGS) {
        let flags = u16::from_be_bytes([f[0], f[1]]);
        out.put_int(c"IP6_frag_offset", (flags >> 3) as i32);
        out.put_bool(c"IP6_frag_more", flags & 1 != 0);
    }
    if let Some(i) = h.get(ext::FRAG_ID) {
        // The C module does not convert the identification from network order.
        let id = u32::from_ne_bytes([i[0], i[1], i[2], i[3]]);
        out.put_i64(c"IP6_frag_id", id as i64);
    }
    Step::Next(next, off + ext::FRAG_LEN)
}

/// Writes the IPv6 fields, those of the extension headers and of the layer
/// above; returns the undecoded data. Fewer than 40 bytes emit nothing and
/// are all data.
pub fn decode<'a>(pkt: &'a [u8], d: Dialect, out: &mut impl JsonSink) -> &'a [u8] {
    let Some(p) = Packet::new_checked(pkt) else {
        return pkt;
    };
    let r = Repr::parse(&p);
    out.put_str(c"net_dst_ip", ntop(&r.dst).as_bytes());
    out.put_str(c"net_src_ip", ntop(&r.src).as_bytes());
    out.put_int(c"net_ttl", r.hop_limit as i32);
    match d {
        Dialect::V2504 => walk_v2504(pkt, r.next_header, out),
        Dialect::Master => walk_master(pkt, r.next_header, out),
    }
}

/// The walk of 8.2302 and 8.2504 (wrapping lengths), never past the packet.
fn walk_v2504<'a>(pkt: &'a [u8], first: u8, out: &mut impl JsonSink) -> &'a [u8] {
    let mut next = first;
    // May run past the capture, as the C module's size goes negative.
    let mut off = field::HEADER_LEN;
    let mut last = None;
    loop {
        // The same header at the same place again: the C module loops forever.
        if last == Some((next, off)) {
            break;
        }
        last = Some((next, off));
        let step = match next {
            NH_TCP | NH_UDP | NH_ICMPV6 => {
                out.put_int(c"IP_proto", next as i32);
                let rest = after(pkt, off);
                return match next {
                    NH_TCP => tcp::decode(rest, Dialect::V2504, out),
                    NH_UDP => udp::decode(rest, out),
                    _ => icmp::decode(rest, out),
                };
            }
            NH_HOP_BY_HOP | NH_DEST_OPTS => skip_options(pkt, off),
            NH_ROUTING => routing(pkt, off, out),
            NH_FRAGMENT => fragment(pkt, off, out),
            _ => break,
        };
        match step {
            Step::Next(n, o) => (next, off) = (n, o),
            Step::Truncated => break,
        }
    }
    out.put_int(c"IP_proto", next as i32);
    after(pkt, off)
}

/// Current upstream's walk: lengths do not wrap, and a header that is not
/// wholly captured ends the walk with no field, no `IP_proto` and no data.
fn walk_master<'a>(pkt: &'a [u8], first: u8, out: &mut impl JsonSink) -> &'a [u8] {
    let nothing = &pkt[pkt.len()..];
    let mut next = first;
    let mut off = field::HEADER_LEN;
    loop {
        let h = after(pkt, off);
        let len = match next {
            NH_TCP | NH_UDP | NH_ICMPV6 => {
                out.put_int(c"IP_proto", next as i32);
                return match next {
                    NH_TCP => tcp::decode(h, Dialect::Master, out),
                    NH_UDP => udp::decode(h, out),
                    _ => icmp::decode(h, out),
                };
            }
            NH_HOP_BY_HOP | NH_DEST_OPTS | NH_ROUTING => {
                let Some(g) = h.get(..ext::GENERIC_LEN) else {
                    return nothing;
                };
                let len = 8 * (g[ext::LEN] as usize + 1);
                let Some(h) = h.get(..len) else {
                    return nothing;
                };
                if next == NH_ROUTING && h[ext::ROUTING_TYPE] == 0 {
                    out.put_int(c"IP6_route_seg_left", h[ext::SEGMENTS_LEFT] as i32);
                    for (n, a) in h[ext::ROUTING_ADDRS..].chunks_exact(16).enumerate() {
                        let key = CString::new(format!("IP6_route_{}", n + 1)).unwrap_or_default();
                        out.put_str(&key, ntop(&addr(a)).as_bytes());
                    }
                }
                len
            }
            NH_FRAGMENT => {
                let Some(h) = h.get(..ext::FRAG_LEN) else {
                    return nothing;
                };
                let f = &h[ext::FRAG_OFFSET_FLAGS];
                let flags = u16::from_be_bytes([f[0], f[1]]);
                out.put_int(c"IP6_frag_offset", (flags >> 3) as i32);
                out.put_bool(c"IP6_frag_more", flags & 1 != 0);
                let i = &h[ext::FRAG_ID];
                out.put_i64(c"IP6_frag_id", u32::from_ne_bytes([i[0], i[1], i[2], i[3]]) as i64);
                ext::FRAG_LEN
            }
            NH_INVALID => return h,
            _ => {
                out.put_int(c"IP_proto", next as i32);
                return h;
            }
        };
        next = h[ext::NEXT_HEADER];
        off += len;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::testutil::{frame, frame_in};
    use rsyslog_ffi::TextJson;

    fn a(s: &str) -> [u8; 16] {
        s.parse::<std::net::Ipv6Addr>().unwrap().octets()
    }

    #[test]
    fn ntop_like_glibc() {
        for (i, o) in [
            ("::1", "::1"),
            ("::2", "::2"),
            ("::", "::"),
            ("::0.1.0.2", "::0.1.0.2"),
            ("::102:304", "::1.2.3.4"),
            ("::ffff:1.2.3.4", "::ffff:1.2.3.4"),
            ("::ffff:0:0", "::ffff:0.0.0.0"),
            ("::ffff:0:1.2.3.4", "::ffff:0:102:304"),
            ("::fffe:1.2.3.4", "::fffe:102:304"),
            ("::1:0:0:0", "::1:0:0:0"),
            ("1::", "1::"),
            ("0:0:1::", "0:0:1::"),
            ("1:0:0:1:0:0:0:1", "1:0:0:1::1"),
            ("1:0:0:2::3", "1:0:0:2::3"),
            ("0:0:0:0:0:1:0:0", "::1:0:0"),
            ("1:0:1:0:1:0:1:0", "1:0:1:0:1:0:1:0"),
            ("fe80::2e0:18ff:feb1:cad", "fe80::2e0:18ff:feb1:cad"),
            (
                "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff",
                "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff",
            ),
        ] {
            assert_eq!(ntop(&a(i)), o, "{i}");
        }
    }

    fn header(next: u8, tail: &[u8]) -> Vec<u8> {
        let mut h = vec![0x60, 0, 0, 0, 0, 0, next, 64];
        h.extend_from_slice(&a("fe80::1"));
        h.extend_from_slice(&a("ff02::1:2"));
        h.extend_from_slice(tail);
        h
    }

    const BASE: &str = r#"{ "net_dst_ip": "ff02::1:2", "net_src_ip": "fe80::1", "net_ttl": 64"#;

    fn run_in(d: Dialect, p: &[u8]) -> (String, Vec<u8>) {
        let mut j = TextJson::new();
        let rest = decode(p, d, &mut j).to_vec();
        (j.render(), rest)
    }

    /// As 8.2302 and 8.2504 decode it.
    fn run(p: &[u8]) -> (String, Vec<u8>) {
        run_in(Dialect::V2504, p)
    }

    /// As current upstream decodes it.
    fn run_master(p: &[u8]) -> (String, Vec<u8>) {
        run_in(Dialect::Master, p)
    }

    /// Decoded alike in every dialect (checked).
    fn both(p: &[u8]) -> (String, Vec<u8>) {
        let r = run(p);
        assert_eq!(run_master(p), r, "dialects differ");
        r
    }

    #[test]
    fn short_is_all_data() {
        let p = header(59, &[]);
        let (s, rest) = both(&p[..39]);
        assert_eq!(s, "{ }");
        assert_eq!(rest, &p[..39]);
    }

    #[test]
    fn no_next_header() {
        let (s, rest) = both(&header(59, &[1, 2]));
        assert_eq!(s, format!(r#"{BASE}, "IP_proto": 59 }}"#));
        assert_eq!(rest, [1, 2]);
    }

    #[test]
    fn hop_by_hop_then_fragment_then_esp() {
        let mut t = vec![44, 0, 5, 2, 0, 0, 1, 0];
        t.extend_from_slice(&[50, 0, 0x01, 0x41, 0x12, 0x34, 0x56, 0x78, 9]);
        let (s, rest) = both(&header(0, &t));
        let id = u32::from_ne_bytes([0x12, 0x34, 0x56, 0x78]);
        assert_eq!(
            s,
            format!(r#"{BASE}, "IP6_frag_offset": 40, "IP6_frag_more": true, "IP6_frag_id": {id}, "IP_proto": 50 }}"#)
        );
        assert_eq!(rest, [9]);
    }

    #[test]
    fn routing_type0() {
        let mut t = vec![59, 4, 0, 1, 0, 0, 0, 0];
        t.extend_from_slice(&a("2001:db8::1"));
        t.extend_from_slice(&a("2001:db8::2"));
        let (s, rest) = both(&header(43, &t));
        assert_eq!(
            s,
            format!(
                r#"{BASE}, "IP6_route_seg_left": 1, "IP6_route_1": "2001:db8::1", "IP6_route_2": "2001:db8::2", "IP_proto": 59 }}"#
            )
        );
        assert!(rest.is_empty());
    }

    #[test]
    fn routing_addresses_beyond_capture_are_left_out() {
        let mut t = vec![59, 4, 0, 1, 0, 0, 0, 0];
        t.extend_from_slice(&a("2001:db8::1"));
        t.extend_from_slice(&a("2001:db8::2")[..15]);
        let (s, rest) = run(&header(43, &t));
        assert_eq!(
            s,
            format!(r#"{BASE}, "IP6_route_seg_left": 1, "IP6_route_1": "2001:db8::1", "IP_proto": 59 }}"#)
        );
        assert!(rest.is_empty());
    }

    #[test]
    fn wrapped_length_is_followed() {
        // Length 32 means 264 bytes, but the C module skips 8.
        let (s, rest) = run(&header(60, &[59, 32, 0, 0, 0, 0, 0, 0, 7]));
        assert_eq!(s, format!(r#"{BASE}, "IP_proto": 59 }}"#));
        assert_eq!(rest, [7]);
    }

    #[test]
    fn truncated_extension_header_ends_the_walk() {
        // Hop-by-hop with only its next-header byte.
        let (s, rest) = run(&header(0, &[6]));
        assert_eq!(s, format!(r#"{BASE}, "IP_proto": 0 }}"#));
        assert_eq!(rest, [6]);
        // Hop-by-hop longer than captured, then another one at the end of the capture.
        let (s, rest) = run(&header(0, &[0, 1, 0, 0]));
        assert_eq!(s, format!(r#"{BASE}, "IP_proto": 0 }}"#));
        assert!(rest.is_empty());
        // Routing header without its length.
        let (s, rest) = run(&header(43, &[6]));
        assert_eq!(s, format!(r#"{BASE}, "IP_proto": 43 }}"#));
        assert_eq!(rest, [6]);
        // Fragment header at the very end of the capture.
        let (s, rest) = run(&header(44, &[]));
        assert_eq!(s, format!(r#"{BASE}, "IP_proto": 44 }}"#));
        assert!(rest.is_empty());
    }

    #[test]
    fn fragment_fields_beyond_capture_are_left_out() {
        // From tcpdump's ip6_frag_asan.pcap: 6 of the 8 bytes captured; the C
        // module printed "IP6_frag_id": 1 from two bytes past the capture.
        let (s, rest) = run(&header(44, &[0x0b, 0xff, 0, 0, 1, 0]));
        assert_eq!(
            s,
            format!(r#"{BASE}, "IP6_frag_offset": 0, "IP6_frag_more": false, "IP_proto": 11 }}"#)
        );
        assert!(rest.is_empty());
        let (s, _) = run(&header(44, &[17, 0, 0]));
        assert_eq!(s, format!(r#"{BASE}, "IP_proto": 17 }}"#));
        // Routing header with its type and nothing more.
        let (s, _) = run(&header(43, &[59, 0, 0]));
        assert_eq!(s, format!(r#"{BASE}, "IP_proto": 59 }}"#));
    }

    #[test]
    fn upper_layer_after_the_capture_gets_nothing() {
        // Destination options of 16 bytes, 8 captured, then ICMPv6: as C, no ICMP fields.
        let (s, rest) = run(&header(60, &[58, 1, 0, 0, 0, 0, 0, 0]));
        assert_eq!(s, format!(r#"{BASE}, "IP_proto": 58 }}"#));
        assert!(rest.is_empty());
    }

    #[test]
    fn icmpv6() {
        let (s, rest) = both(&header(58, &[135, 0, 0x12, 0x34, 0, 0, 0, 0, 0xfe]));
        assert_eq!(
            s,
            format!(r#"{BASE}, "IP_proto": 58, "net_icmp_type": 135, "net_icmp_code": 0, "icmp_checksum": 4660 }}"#)
        );
        assert_eq!(rest, [0xfe]);
    }

    #[test]
    fn zero_length_loop_ends() {
        // Length 31 wraps to 0 bytes and the header names itself as next.
        let (s, rest) = run(&header(0, &[0, 31, 1, 2]));
        assert_eq!(s, format!(r#"{BASE}, "IP_proto": 0 }}"#));
        assert_eq!(rest, [0, 31, 1, 2]);
        // Routing type 0 that wraps to 0 bytes: 15 addresses read once (here 1 captured).
        let mut t = vec![43, 31, 0, 9, 0, 0, 0, 0];
        t.extend_from_slice(&a("::1"));
        let (s, _) = run(&header(43, &t));
        assert_eq!(
            s,
            format!(r#"{BASE}, "IP6_route_seg_left": 9, "IP6_route_1": "::1", "IP_proto": 43 }}"#)
        );
    }

    #[test]
    fn current_upstream_walk() {
        let nothing = || (format!("{BASE} }}"), vec![]);
        // A header cut short ends the walk: no field of it, no IP_proto, no data.
        for t in [
            &[6][..],      // hop-by-hop with only its next-header byte
            &[0, 1, 0, 0], // hop-by-hop of 16 bytes, 4 captured
        ] {
            assert_eq!(run_master(&header(0, t)), nothing(), "{t:?}");
        }
        assert_eq!(run_master(&header(43, &[6])), nothing());
        assert_eq!(run_master(&header(44, &[])), nothing());
        // Fragment header with 6 of its 8 bytes: no fragment field.
        assert_eq!(run_master(&header(44, &[0x0b, 0xff, 0, 0, 1, 0])), nothing());
        // Routing header of 40 bytes, 39 captured: not even the segments left.
        let mut t = vec![59, 4, 0, 1, 0, 0, 0, 0];
        t.extend_from_slice(&a("2001:db8::1"));
        t.extend_from_slice(&a("2001:db8::2")[..15]);
        assert_eq!(run_master(&header(43, &t)), nothing());
        // Destination options of 16 bytes, 8 captured, then ICMPv6.
        assert_eq!(run_master(&header(60, &[58, 1, 0, 0, 0, 0, 0, 0])), nothing());
        // Length 32 is 264 bytes (no wrapping): cut short here...
        assert_eq!(run_master(&header(60, &[59, 32, 0, 0, 0, 0, 0, 0, 7])), nothing());
        // ... and followed when captured, where 8.2504 skips 8 bytes.
        let mut t = vec![59, 32];
        t.resize(264, 0);
        t.push(7);
        assert_eq!(
            run_master(&header(60, &t)),
            (format!(r#"{BASE}, "IP_proto": 59 }}"#), vec![7])
        );
        assert_eq!(run(&header(60, &t)).1.len(), 264 - 8 + 1);
        // Length 31 (256 bytes, 0 in 8.2504): a type 0 routing header with
        // room for 15 addresses and 8 bytes more.
        let mut t = vec![17, 31, 0, 3, 0, 0, 0, 0];
        for n in 1..=15u8 {
            let mut addr = a("2001:db8::");
            addr[15] = n;
            t.extend_from_slice(&addr);
        }
        t.extend_from_slice(&[0; 8]);
        t.extend_from_slice(&[0x30, 0x39, 0x30, 0x3a, 0, 8, 0, 0]);
        let (s, rest) = run_master(&header(43, &t));
        let addrs: String = (1..=15)
            .map(|n| format!(r#", "IP6_route_{n}": "2001:db8::{n:x}""#))
            .collect();
        assert_eq!(
            s,
            format!(
                r#"{BASE}, "IP6_route_seg_left": 3{addrs}, "IP_proto": 17, "net_src_port": 12345, "net_dst_port": 12346, "UDP_Length": 8, "UDP_Checksum": 0 }}"#
            )
        );
        assert!(rest.is_empty());
        // A next header of 255 ends the walk without IP_proto; the rest is data.
        assert_eq!(run_master(&header(255, &[1, 2])), (format!("{BASE} }}"), vec![1, 2]));
        assert_eq!(
            run(&header(255, &[1, 2])),
            (format!(r#"{BASE}, "IP_proto": 255 }}"#), vec![1, 2])
        );
        // The zero-length loop of 8.2504 cannot happen: 256 bytes, cut short.
        assert_eq!(run_master(&header(0, &[0, 31, 1, 2])), nothing());
    }

    #[test]
    fn real_capture_hop_by_hop_mld() {
        // tcpdump/tests/icmpv6.pcap #2, as the C module printed it.
        let (s, data) = frame(
            "333300000016001517cce54686dd6000000000240001fe80000000000000021517fffecce546ff0200000000000000000000000000163a000502000001008f001fc50000000104000000ff0200000000000000000db811223344",
        );
        assert_eq!(
            s,
            r#"{ "ETH_src": "0:15:17:cc:e5:46", "ETH_dst": "33:33:0:0:0:16", "ETH_type": 34525, "ETH_typestr": "IPv6", "net_dst_ip": "ff02::16", "net_src_ip": "fe80::215:17ff:fecc:e546", "net_ttl": 1, "IP_proto": 58, "net_icmp_type": 143, "net_icmp_code": 0, "icmp_checksum": 8133 }"#
        );
        assert_eq!(data, 20);
    }

    #[test]
    fn real_capture_routing_header() {
        // tcpdump/tests/ipv6-routing-header.pcap #1, as the C module printed it.
        let (s, data) = frame(
            "0013c4c784f000123fae22f786dd6000000000202b04220000000000024402123ffffeae22f7220000000000024000020000000000043a02000100000000220000000000021000020000000000048000d3ab00000000",
        );
        assert_eq!(
            s,
            r#"{ "ETH_src": "0:12:3f:ae:22:f7", "ETH_dst": "0:13:c4:c7:84:f0", "ETH_type": 34525, "ETH_typestr": "IPv6", "net_dst_ip": "2200::240:2:0:0:4", "net_src_ip": "2200::244:212:3fff:feae:22f7", "net_ttl": 4, "IP6_route_seg_left": 1, "IP6_route_1": "2200::210:2:0:0:4", "IP_proto": 58, "net_icmp_type": 128, "net_icmp_code": 0, "icmp_checksum": 54187 }"#
        );
        assert_eq!(data, 0);
    }

    #[test]
    fn real_capture_fragment_cut_short() {
        // tcpdump/tests/ip6_frag_asan.pcap #1: the fragment header's last two
        // bytes are missing; 8.2504's C module printed "IP6_frag_id": 1 from
        // them, current upstream's prints nothing of the fragment header.
        const F: &str = "c0ceffa0000400002949ff7586dd651b21006a002c100452002200190000041ae4ff10ff484d22430080140001000019fffffffffffb0bff00000100";
        const HEAD: &str = r#"{ "ETH_src": "0:0:29:49:ff:75", "ETH_dst": "c0:ce:ff:a0:0:4", "ETH_type": 34525, "ETH_typestr": "IPv6", "net_dst_ip": "2243:80:1400:100:19:ffff:ffff:fffb", "net_src_ip": "452:22:19:0:41a:e4ff:10ff:484d", "net_ttl": 16"#;
        assert_eq!(
            frame_in(Dialect::V2504, F),
            (
                format!(r#"{HEAD}, "IP6_frag_offset": 0, "IP6_frag_more": false, "IP_proto": 11 }}"#),
                0
            )
        );
        assert_eq!(frame_in(Dialect::Master, F), (format!("{HEAD} }}"), 0));
    }

    #[test]
    fn real_capture_too_long_jumbo() {
        // tcpdump/tests/ipv6-too-long-jumbo.pcap #1: a hop-by-hop header with
        // length byte 50, 408 bytes. 8.2504's C module skips 152 (408 in 8
        // bits), current upstream's all 408; both then end on protocol 12,
        // 8.2504's with 284 bytes of data, current upstream's with 28.
        const F: &str = concat!(
            "333300010006b09928c8d64686dd6c00000000000000000100061a280312d7cbb31834e5d3ea2b7fcd1fec3cfb9ce731d16ba8feba8c",
            "0c321a0001b4298d2a0201a804060000e3161890080a00400000fffaa1afffff090200000b0600024fd0c1f00c16001e047fa4b88597",
            "fde3246455c6e4dd917b1441c2f3a82b9f737600000100000004004c2bb0976c127ab3cccbfa1105a1d158f035bc9fad86b0610a7acd",
            "27e5a3d5a308effb031268cd1fec3cfb9ce731d576a87eba8c0c3203e8d2a5b80ff9d006757e3b6601c0c255d7d12d6cc61815e413a3",
            "34e5a0d9271c75af0000007f00010000ff3496c20c56fb0c1600647213ced66fe7154034ec64cd14ae4142a092df330c4207d0195d9d",
            "00000000640000fa31ff512e4a000065000000000000002742ba5988cc02070408f1f1f1f1f1f1f1f1cef1f1f1d2f1f1f1f1f10ff2f1",
            "80c2010001fe070080c202021900fe0e0080c203000107647f0000006c74fe0d0080c204e5ff00424203000000fe0600800000ff0000",
            "c204000000f80e0800270df13e88cc02070408008f0df13c040703080027d576a87eba8c0c3203e880c2010001fe070080c202020000",
            "ee00000408f1f1f1f1f1f1f1f1cef100007ffff1f1f1f126f280c200400107647b6661756c74fe0d0080c204080000424203000000fe",
            "060080d5",
        );
        const FIELDS: &str = r#"{ "ETH_src": "b0:99:28:c8:d6:46", "ETH_dst": "33:33:0:1:0:6", "ETH_type": 34525, "ETH_typestr": "IPv6", "net_dst_ip": "2b7f:cd1f:ec3c:fb9c:e731:d16b:a8fe:ba8c", "net_src_ip": "1:6:1a28:312:d7cb:b318:34e5:d3ea", "net_ttl": 0, "IP_proto": 12 }"#;
        assert_eq!(frame_in(Dialect::V2504, F), (FIELDS.to_string(), 284));
        assert_eq!(frame_in(Dialect::Master, F), (FIELDS.to_string(), 28));
    }
}
