//! Novell IPX header (30 bytes), as the C impcap reads it. The checksum and
//! packet length fields are not reported; nothing above IPX is decoded.
//!
//! Network numbers are written as the C module does: the 32-bit value taken
//! as a signed `int`, so networks from `0x80000000` up come out negative.
//!
//! # Differences from the C module
//!
//! None: the C module checks for the 30-byte header before it reads anything.

use super::after;
use rsyslog_ffi::json::JsonSink;

/// Field offsets of the IPX header.
mod field {
    use std::ops::Range;
    pub const TRANSPORT_CTRL: usize = 4;
    pub const PACKET_TYPE: usize = 5;
    pub const DST_NET: Range<usize> = 6..10;
    pub const DST_NODE: Range<usize> = 10..16;
    pub const DST_SOCKET: Range<usize> = 16..18;
    pub const SRC_NET: Range<usize> = 18..22;
    pub const SRC_NODE: Range<usize> = 22..28;
    pub const SRC_SOCKET: Range<usize> = 28..30;
    pub const HEADER_LEN: usize = 30;
}

/// A checked view of an IPX header.
#[derive(Debug, Clone, Copy)]
pub struct Packet<'a> {
    buf: &'a [u8],
}

impl<'a> Packet<'a> {
    /// `None` when shorter than the 30-byte header.
    pub fn new_checked(buf: &'a [u8]) -> Option<Self> {
        (buf.len() >= field::HEADER_LEN).then_some(Packet { buf })
    }
    fn be16(&self, f: std::ops::Range<usize>) -> u16 {
        super::be16(&self.buf[f])
    }
    fn be32(&self, f: std::ops::Range<usize>) -> u32 {
        super::be32(&self.buf[f])
    }
    fn node(&self, f: std::ops::Range<usize>) -> [u8; 6] {
        let mut n = [0; 6];
        n.copy_from_slice(&self.buf[f]);
        n
    }
    pub fn transport_ctrl(&self) -> u8 {
        self.buf[field::TRANSPORT_CTRL]
    }
    pub fn packet_type(&self) -> u8 {
        self.buf[field::PACKET_TYPE]
    }
    pub fn dst_net(&self) -> u32 {
        self.be32(field::DST_NET)
    }
    pub fn dst_node(&self) -> [u8; 6] {
        self.node(field::DST_NODE)
    }
    pub fn dst_socket(&self) -> u16 {
        self.be16(field::DST_SOCKET)
    }
    pub fn src_net(&self) -> u32 {
        self.be32(field::SRC_NET)
    }
    pub fn src_node(&self) -> [u8; 6] {
        self.node(field::SRC_NODE)
    }
    pub fn src_socket(&self) -> u16 {
        self.be16(field::SRC_SOCKET)
    }
}

/// A parsed IPX header (the fields the C module reports).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Repr {
    pub transport_ctrl: u8,
    pub packet_type: u8,
    pub dst_net: u32,
    pub dst_node: [u8; 6],
    pub dst_socket: u16,
    pub src_net: u32,
    pub src_node: [u8; 6],
    pub src_socket: u16,
}

impl Repr {
    pub fn parse(p: &Packet<'_>) -> Repr {
        Repr {
            transport_ctrl: p.transport_ctrl(),
            packet_type: p.packet_type(),
            dst_net: p.dst_net(),
            dst_node: p.dst_node(),
            dst_socket: p.dst_socket(),
            src_net: p.src_net(),
            src_node: p.src_node(),
            src_socket: p.src_socket(),
        }
    }
}

/// A node address as the C module prints it: zero-padded lower-case hex.
fn node_str(n: &[u8; 6]) -> String {
    format!(
        "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
        n[0], n[1], n[2], n[3], n[4], n[5]
    )
}

/// Writes the IPX fields; returns what follows the 30-byte header. A
/// shorter packet emits nothing and is all data.
pub fn decode<'a>(pkt: &'a [u8], out: &mut impl JsonSink) -> &'a [u8] {
    let Some(p) = Packet::new_checked(pkt) else {
        return pkt;
    };
    let r = Repr::parse(&p);
    out.put_int(c"IPX_transCtrl", r.transport_ctrl as i32);
    out.put_int(c"IPX_type", r.packet_type as i32);
    // The C module stores the unsigned network number in a signed int.
    out.put_int(c"IPX_dest_net", r.dst_net as i32);
    out.put_int(c"IPX_src_net", r.src_net as i32);
    out.put_str(c"IPX_dest_node", node_str(&r.dst_node).as_bytes());
    out.put_str(c"IPX_src_node", node_str(&r.src_node).as_bytes());
    out.put_int(c"IPX_dest_socket", r.dst_socket as i32);
    out.put_int(c"IPX_src_socket", r.src_socket as i32);
    after(pkt, field::HEADER_LEN)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::testutil::frame;
    use rsyslog_ffi::TextJson;

    #[test]
    fn short_is_all_data() {
        let p = [0xffu8; 29];
        let mut j = TextJson::new();
        assert_eq!(decode(&p, &mut j), &p);
        assert_eq!(j.render(), "{ }");
    }

    #[test]
    fn high_network_number_is_negative() {
        let mut p = [0u8; 32];
        p[6..10].copy_from_slice(&[0xff, 0xff, 0xff, 0xfe]);
        p[18..22].copy_from_slice(&[0x80, 0, 0, 0]);
        p[30] = 7;
        let mut j = TextJson::new();
        assert_eq!(decode(&p, &mut j), &[7, 0]);
        let s = j.render();
        assert!(s.contains(r#""IPX_dest_net": -2, "IPX_src_net": -2147483648"#), "{s}");
    }

    #[test]
    fn real_capture_raw_8023() {
        // wireshark/test/captures/ipx_rip.pcap #1 (raw 802.3, no LLC), as the C module printed it.
        let (s, data) = frame(
            "ffffffffffff00aa00a3e3a40028ffff0028000100000028ffffffffffff04530000002800aa00a3e3a404530002391729e200010002000000000000",
        );
        assert_eq!(
            s,
            r#"{ "ETH_src": "0:aa:0:a3:e3:a4", "ETH_dst": "ff:ff:ff:ff:ff:ff", "ETH_len": 40, "IPX_transCtrl": 0, "IPX_type": 1, "IPX_dest_net": 40, "IPX_src_net": 40, "IPX_dest_node": "ff:ff:ff:ff:ff:ff", "IPX_src_node": "00:aa:00:a3:e3:a4", "IPX_dest_socket": 1107, "IPX_src_socket": 1107 }"#
        );
        assert_eq!(data, 0);
    }
}
