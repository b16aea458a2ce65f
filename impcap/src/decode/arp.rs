//! ARP and RARP, as the C impcap reads them.
//!
//! The C module wants the 28 bytes of an Ethernet/IPv4 ARP message, reports
//! hardware type, protocol type and operation, then the addresses: Ethernet
//! ones when the hardware type is 1, IPv4 ones when the protocol type is
//! 0x0800. The addresses are found with the packet's own address lengths
//! (Ethernet addresses are always read as 6 bytes, IPv4 ones as 4), and
//! whatever follows the first 28 bytes is data, whatever the lengths say.
//!
//! Current upstream ([`Dialect::Master`]) first checks the address lengths:
//! when the four addresses (twice the two lengths) do not fit in what was
//! captured after the 8-byte fixed part, or a hardware length below 6 comes
//! with hardware type 1, or a protocol length below 4 with protocol type
//! 0x0800, no address is written at all.
//!
//! RARP has the same layout and `RARP_`-prefixed names. The C module of
//! 8.2302 and 8.2504 ([`Dialect::V2504`]) formats its two hardware addresses
//! with `ether_ntoa`, whose result lives in one static buffer, so
//! `RARP_hwSrc` shows the *target* hardware address, as `RARP_hwDst` does.
//! That is reproduced; current upstream shows the sender's address.
//!
//! # Differences from the C module
//!
//! - arp.rs, 8.2302 and 8.2504 ([`Dialect::V2504`]), `ARP_hwDst` /
//!   `RARP_hw*` / `*_pSrc` / `*_pDst`: with address lengths that put an
//!   address (partly) beyond the captured bytes, the C module reads past
//!   the packet and prints whatever is there. We leave out each such address
//!   (`RARP_hwSrc` goes with `RARP_hwDst`, whose bytes it shows); the other
//!   fields are written, and what follows the 28 bytes is data, as in C.
//!   Tests: `addresses_beyond_capture_are_left_out`,
//!   `rarp_target_beyond_capture_writes_no_hw_addresses`,
//!   `real_capture_addresses_past_the_frame` (tcpdump's arp-oobr.pcap).

use super::{after, eth::ether_ntoa, Dialect};
use rsyslog_ffi::json::JsonSink;
use std::ffi::CStr;
use std::net::Ipv4Addr;

/// Field offsets of the ARP header.
mod field {
    use std::ops::Range;
    pub const HW_TYPE: Range<usize> = 0..2;
    pub const PROTO_TYPE: Range<usize> = 2..4;
    pub const HW_LEN: usize = 4;
    pub const PROTO_LEN: usize = 5;
    pub const OPER: Range<usize> = 6..8;
    /// Where the variable-length addresses start.
    pub const ADDRS: usize = 8;
    /// What the C module needs before it reads anything (Ethernet/IPv4 ARP).
    pub const MIN_LEN: usize = 28;
}

pub const HW_TYPE_ETHERNET: u16 = 1;
pub const PROTO_TYPE_IPV4: u16 = 0x0800;

/// A checked view of an ARP message.
#[derive(Debug, Clone, Copy)]
pub struct Packet<'a> {
    buf: &'a [u8],
}

impl<'a> Packet<'a> {
    /// `None` when shorter than 28 bytes.
    pub fn new_checked(buf: &'a [u8]) -> Option<Self> {
        (buf.len() >= field::MIN_LEN).then_some(Packet { buf })
    }
    fn be16(&self, f: std::ops::Range<usize>) -> u16 {
        super::be16(&self.buf[f])
    }
    pub fn hw_type(&self) -> u16 {
        self.be16(field::HW_TYPE)
    }
    pub fn proto_type(&self) -> u16 {
        self.be16(field::PROTO_TYPE)
    }
    pub fn hw_len(&self) -> u8 {
        self.buf[field::HW_LEN]
    }
    pub fn proto_len(&self) -> u8 {
        self.buf[field::PROTO_LEN]
    }
    pub fn operation(&self) -> u16 {
        self.be16(field::OPER)
    }
    fn hw_len_usize(&self) -> usize {
        self.hw_len() as usize
    }
    fn proto_len_usize(&self) -> usize {
        self.proto_len() as usize
    }
    /// `n` bytes at `off`, `None` when not all of them were captured.
    fn bytes<const N: usize>(&self, off: usize) -> Option<[u8; N]> {
        let b = self.buf.get(off..off + N)?;
        let mut a = [0; N];
        a.copy_from_slice(b);
        Some(a)
    }
    /// Sender hardware address, read as an Ethernet address.
    pub fn sender_hw(&self) -> Option<[u8; 6]> {
        self.bytes(field::ADDRS)
    }
    /// Sender protocol address, read as an IPv4 address.
    pub fn sender_proto(&self) -> Option<Ipv4Addr> {
        self.bytes::<4>(field::ADDRS + self.hw_len_usize()).map(Ipv4Addr::from)
    }
    /// Target hardware address, read as an Ethernet address.
    pub fn target_hw(&self) -> Option<[u8; 6]> {
        self.bytes(field::ADDRS + self.hw_len_usize() + self.proto_len_usize())
    }
    /// Current upstream's check: the four addresses fit in the packet, and
    /// are not shorter than Ethernet / IPv4 ones when of those types.
    pub fn address_lengths_fit(&self) -> bool {
        let addrs = 2 * (self.hw_len_usize() + self.proto_len_usize());
        let fits = addrs <= self.buf.len() - field::ADDRS;
        let hw_ok = self.hw_type() != HW_TYPE_ETHERNET || self.hw_len_usize() >= 6;
        let proto_ok = self.proto_type() != PROTO_TYPE_IPV4 || self.proto_len_usize() >= 4;
        fits && hw_ok && proto_ok
    }
    /// Target protocol address, read as an IPv4 address.
    pub fn target_proto(&self) -> Option<Ipv4Addr> {
        self.bytes::<4>(field::ADDRS + 2 * self.hw_len_usize() + self.proto_len_usize())
            .map(Ipv4Addr::from)
    }
}

/// A parsed ARP message; an address is `None` when its type is not
/// Ethernet / IPv4 or when it lies beyond the captured bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Repr {
    pub hw_type: u16,
    pub proto_type: u16,
    pub operation: u16,
    pub sender_hw: Option<[u8; 6]>,
    pub target_hw: Option<[u8; 6]>,
    pub sender_proto: Option<Ipv4Addr>,
    pub target_proto: Option<Ipv4Addr>,
}

impl Repr {
    pub fn parse(p: &Packet<'_>) -> Repr {
        let eth = p.hw_type() == HW_TYPE_ETHERNET;
        let ip = p.proto_type() == PROTO_TYPE_IPV4;
        Repr {
            hw_type: p.hw_type(),
            proto_type: p.proto_type(),
            operation: p.operation(),
            sender_hw: p.sender_hw().filter(|_| eth),
            target_hw: p.target_hw().filter(|_| eth),
            sender_proto: p.sender_proto().filter(|_| ip),
            target_proto: p.target_proto().filter(|_| ip),
        }
    }
}

/// JSON names of one flavour (ARP or RARP).
struct Names {
    hw_type: &'static CStr,
    proto_type: &'static CStr,
    op: &'static CStr,
    hw_src: &'static CStr,
    hw_dst: &'static CStr,
    p_src: &'static CStr,
    p_dst: &'static CStr,
    /// RARP: 8.2504's parser shows the target hardware address as the source too.
    rarp: bool,
}

const ARP: Names = Names {
    hw_type: c"ARP_hwType",
    proto_type: c"ARP_pType",
    op: c"ARP_op",
    hw_src: c"ARP_hwSrc",
    hw_dst: c"ARP_hwDst",
    p_src: c"ARP_pSrc",
    p_dst: c"ARP_pDst",
    rarp: false,
};

const RARP: Names = Names {
    hw_type: c"RARP_hwType",
    proto_type: c"RARP_pType",
    op: c"RARP_op",
    hw_src: c"RARP_hwSrc",
    hw_dst: c"RARP_hwDst",
    p_src: c"RARP_pSrc",
    p_dst: c"RARP_pDst",
    rarp: true,
};

/// Writes the fields of `r`, leaving out the addresses that are `None`.
fn put_fields(r: &Repr, n: &Names, d: Dialect, out: &mut impl JsonSink) {
    out.put_int(n.hw_type, r.hw_type as i32);
    out.put_int(n.proto_type, r.proto_type as i32);
    out.put_int(n.op, r.operation as i32);
    let src_hw_is_target = n.rarp && d == Dialect::V2504;
    let shown_src_hw = if src_hw_is_target { r.target_hw } else { r.sender_hw };
    let fields = [
        (n.hw_src, shown_src_hw.map(|a| ether_ntoa(&a))),
        (n.hw_dst, r.target_hw.map(|a| ether_ntoa(&a))),
        (n.p_src, r.sender_proto.map(|a| a.to_string())),
        (n.p_dst, r.target_proto.map(|a| a.to_string())),
    ];
    for (key, value) in fields {
        if let Some(v) = value {
            out.put_str(key, v.as_bytes());
        }
    }
}

fn decode_as<'a>(pkt: &'a [u8], n: &Names, d: Dialect, out: &mut impl JsonSink) -> &'a [u8] {
    let Some(p) = Packet::new_checked(pkt) else {
        return pkt;
    };
    let mut r = Repr::parse(&p);
    if d == Dialect::Master && !p.address_lengths_fit() {
        (r.sender_hw, r.target_hw, r.sender_proto, r.target_proto) = (None, None, None, None);
    }
    put_fields(&r, n, d, out);
    after(pkt, field::MIN_LEN)
}

/// Writes the ARP fields; returns what follows the first 28 bytes. A
/// shorter packet emits nothing and is all data.
pub fn decode<'a>(pkt: &'a [u8], d: Dialect, out: &mut impl JsonSink) -> &'a [u8] {
    decode_as(pkt, &ARP, d, out)
}

/// RARP: the ARP layout with `RARP_` names (see the module notes on `RARP_hwSrc`).
pub fn decode_rarp<'a>(pkt: &'a [u8], d: Dialect, out: &mut impl JsonSink) -> &'a [u8] {
    decode_as(pkt, &RARP, d, out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::testutil::{frame, frame_in, DIALECTS};
    use rsyslog_ffi::TextJson;

    fn request() -> Vec<u8> {
        let mut p = vec![0, 1, 8, 0, 6, 4, 0, 1];
        p.extend_from_slice(&[0x00, 0x0c, 0x29, 0x0a, 0x0b, 0x0c]);
        p.extend_from_slice(&[192, 168, 1, 10]);
        p.extend_from_slice(&[0; 6]);
        p.extend_from_slice(&[192, 168, 1, 1]);
        p
    }

    fn render(d: Dialect, p: &[u8], rarp: bool) -> (String, usize) {
        let mut j = TextJson::new();
        let rest = if rarp {
            decode_rarp(p, d, &mut j)
        } else {
            decode(p, d, &mut j)
        };
        (j.render(), rest.len())
    }

    const TYPES: &str = r#""ARP_hwType": 1, "ARP_pType": 2048, "ARP_op": 1"#;

    #[test]
    fn short_is_all_data() {
        let p = request();
        for d in DIALECTS {
            let mut j = TextJson::new();
            assert_eq!(decode(&p[..27], d, &mut j), &p[..27]);
            assert_eq!(j.render(), "{ }");
        }
    }

    #[test]
    fn complete_request_is_the_same_in_both() {
        for d in DIALECTS {
            assert_eq!(
                render(d, &request(), false),
                (
                    format!(
                        r#"{{ {TYPES}, "ARP_hwSrc": "0:c:29:a:b:c", "ARP_hwDst": "0:0:0:0:0:0", "ARP_pSrc": "192.168.1.10", "ARP_pDst": "192.168.1.1" }}"#
                    ),
                    0
                )
            );
        }
    }

    #[test]
    fn addresses_beyond_capture_are_left_out() {
        // Hardware length 20: the target hardware address starts at 32 and the
        // target IP at 52, past the 32 bytes; the sender IP (28..32) is there.
        let mut p = request();
        p[4] = 20;
        p.extend_from_slice(&[0, 0, 0xaa, 0xbb]);
        let mut j = TextJson::new();
        assert_eq!(decode(&p, Dialect::V2504, &mut j), &[0, 0, 0xaa, 0xbb]);
        assert_eq!(
            j.render(),
            format!(r#"{{ {TYPES}, "ARP_hwSrc": "0:c:29:a:b:c", "ARP_pSrc": "0.0.170.187" }}"#)
        );
        // Current upstream: the lengths do not fit, so no address at all.
        assert_eq!(render(Dialect::Master, &p, false), (format!("{{ {TYPES} }}"), 4));
        // Protocol length 18: both hardware addresses fit, the target IP (at 38) does not.
        let mut p = request();
        p[5] = 18;
        p.extend_from_slice(&[0; 12]);
        let (s, _) = render(Dialect::V2504, &p, false);
        assert!(
            s.ends_with(r#""ARP_hwDst": "0:0:0:0:0:0", "ARP_pSrc": "192.168.1.10" }"#),
            "{s}"
        );
        assert_eq!(render(Dialect::Master, &p, false), (format!("{{ {TYPES} }}"), 12));
        // Enough bytes for the lengths: current upstream writes all four.
        p.resize(8 + 2 * (6 + 18), 0);
        let (s, _) = render(Dialect::Master, &p, false);
        assert!(s.contains(r#""ARP_pDst": "0.0.0.0" }"#), "{s}");
    }

    #[test]
    fn lengths_below_ethernet_and_ipv4_ones() {
        // Hardware length 4 with hardware type 1: 8.2504 reads 6 bytes for
        // each hardware address anyway; current upstream writes no address.
        let mut p = request();
        p[4] = 4;
        let (s, _) = render(Dialect::V2504, &p, false);
        assert_eq!(
            s,
            format!(
                r#"{{ {TYPES}, "ARP_hwSrc": "0:c:29:a:b:c", "ARP_hwDst": "1:a:0:0:0:0", "ARP_pSrc": "11.12.192.168", "ARP_pDst": "0.0.0.0" }}"#
            )
        );
        assert_eq!(render(Dialect::Master, &p, false), (format!("{{ {TYPES} }}"), 0));
        // Protocol length 2 with protocol type IPv4: the same.
        let mut p = request();
        p[5] = 2;
        assert!(render(Dialect::V2504, &p, false).0.contains("ARP_pSrc"));
        assert_eq!(render(Dialect::Master, &p, false), (format!("{{ {TYPES} }}"), 0));
        // A short hardware length matters only for hardware type 1.
        let mut p = request();
        p[1] = 6;
        p[4] = 2;
        for d in DIALECTS {
            assert_eq!(
                render(d, &p, false).0,
                r#"{ "ARP_hwType": 6, "ARP_pType": 2048, "ARP_op": 1, "ARP_pSrc": "41.10.11.12", "ARP_pDst": "1.10.0.0" }"#
            );
        }
    }

    #[test]
    fn rarp_target_beyond_capture_writes_no_hw_addresses() {
        // Hardware length 14: the target hardware address (26..32) is cut, the
        // sender IP (22..26) is there, the target IP (40..44) is not.
        let mut p = request();
        p[4] = 14;
        let mut j = TextJson::new();
        assert!(decode_rarp(&p, Dialect::V2504, &mut j).is_empty());
        assert_eq!(
            j.render(),
            r#"{ "RARP_hwType": 1, "RARP_pType": 2048, "RARP_op": 1, "RARP_pSrc": "0.0.192.168" }"#
        );
        assert_eq!(
            render(Dialect::Master, &p, true),
            (
                r#"{ "RARP_hwType": 1, "RARP_pType": 2048, "RARP_op": 1 }"#.to_string(),
                0
            )
        );
    }

    #[test]
    fn non_ethernet_non_ip_writes_only_the_types() {
        let mut p = request();
        p[1] = 6; // IEEE 802
        p[2] = 0x86;
        p[3] = 0xdd;
        for d in DIALECTS {
            assert_eq!(
                render(d, &p, false).0,
                r#"{ "ARP_hwType": 6, "ARP_pType": 34525, "ARP_op": 1 }"#
            );
        }
    }

    #[test]
    fn real_capture_request() {
        // tcpdump/tests/bgp-4byte-asn.pcap #1, as the C module printed it.
        let (s, data) = frame("ffffffffffff020100010000080600010800060400010201000100000100020200000000000001000201");
        assert_eq!(
            s,
            r#"{ "ETH_src": "2:1:0:1:0:0", "ETH_dst": "ff:ff:ff:ff:ff:ff", "ETH_type": 2054, "ETH_typestr": "ARP", "ARP_hwType": 1, "ARP_pType": 2048, "ARP_op": 1, "ARP_hwSrc": "2:1:0:1:0:0", "ARP_hwDst": "0:0:0:0:0:0", "ARP_pSrc": "1.0.2.2", "ARP_pDst": "1.0.2.1" }"#
        );
        assert_eq!(data, 0);
    }

    const OOBR_ETH: &str =
        r#""ETH_src": "0:1f:29:da:2d:79", "ETH_dst": "ff:ff:ff:ff:ff:ff", "ETH_type": 2054, "ETH_typestr": "ARP""#;

    #[test]
    fn real_capture_addresses_past_the_frame() {
        // tcpdump/tests/arp-oobr.pcap #47: protocol length 36 puts the target
        // addresses at 50.. of a 46-byte message. 8.2504's C module printed
        // "ARP_hwDst": "0:0:0:0:0:0" and "ARP_pDst": "0.0.0.0" from beyond
        // it; current upstream's prints no address.
        const F: &str = "ffffffffffff001f29da2d7908060001080006240001001f29da2d79c0a80168000000000000c0a80101000000000000000000000000000000000000";
        assert_eq!(
            frame_in(Dialect::V2504, F),
            (
                format!(r#"{{ {OOBR_ETH}, {TYPES}, "ARP_hwSrc": "0:1f:29:da:2d:79", "ARP_pSrc": "192.168.1.104" }}"#),
                0
            )
        );
        assert_eq!(frame_in(Dialect::Master, F), (format!("{{ {OOBR_ETH}, {TYPES} }}"), 0));
    }

    #[test]
    fn rarp_shows_the_target_as_source_in_8_2504() {
        // A RARP request as the C modules printed it (crafted: no RARP in the corpus).
        const F: &str = "ffffffffffff00e018b10cad80350001080006040003\
             00e018b10cadc0a8010a0a0b0c0d0e0fc0a80101000000000000000000000000000000000000";
        const HEAD: &str = r#""ETH_src": "0:e0:18:b1:c:ad", "ETH_dst": "ff:ff:ff:ff:ff:ff", "ETH_type": 32821, "ETH_typestr": "REVARP", "RARP_hwType": 1, "RARP_pType": 2048, "RARP_op": 3"#;
        const TAIL: &str = r#""RARP_hwDst": "a:b:c:d:e:f", "RARP_pSrc": "192.168.1.10", "RARP_pDst": "192.168.1.1""#;
        assert_eq!(
            frame_in(Dialect::V2504, F),
            (format!(r#"{{ {HEAD}, "RARP_hwSrc": "a:b:c:d:e:f", {TAIL} }}"#), 0)
        );
        assert_eq!(
            frame_in(Dialect::Master, F),
            (format!(r#"{{ {HEAD}, "RARP_hwSrc": "0:e0:18:b1:c:ad", {TAIL} }}"#), 0)
        );
    }

    #[test]
    fn real_capture_lengths_below_ethernet_and_ipv4() {
        // tcpdump/tests/arp-oobr.pcap #202: hardware length 4 with hardware
        // type 1. 8.2504's C module printed four addresses read with the
        // packet's lengths (all captured); current upstream's prints none.
        const F: &str = "ffffffffffff001f29da2d7908060001080004040001001f29da2d79c0a80168000000000000c0a80101000000000000000000000000000000000000";
        assert_eq!(
            frame_in(Dialect::V2504, F),
            (
                format!(
                    r#"{{ {OOBR_ETH}, {TYPES}, "ARP_hwSrc": "0:1f:29:da:2d:79", "ARP_hwDst": "1:68:0:0:0:0", "ARP_pSrc": "45.121.192.168", "ARP_pDst": "0.0.0.0" }}"#
                ),
                0
            )
        );
        assert_eq!(frame_in(Dialect::Master, F), (format!("{{ {OOBR_ETH}, {TYPES} }}"), 0));
    }
}
