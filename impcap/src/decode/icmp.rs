//! ICMP and ICMPv6 header, as the C impcap reads it: the first 8 bytes
//! (type, code, checksum and the 4-byte rest of header); the body is data.
//!
//! Both IPv4 (protocol 1) and IPv6 (next header 58) come here, so ICMPv6
//! messages get the same three fields.
//!
//! # Differences from the C module
//!
//! None: the C module checks for 8 bytes before it reads anything.

use super::after;
use rsyslog_ffi::json::JsonSink;

/// Field offsets of the ICMP header.
mod field {
    use std::ops::Range;
    pub const TYPE: usize = 0;
    pub const CODE: usize = 1;
    pub const CHECKSUM: Range<usize> = 2..4;
    /// Type, code, checksum and the 4 type-specific bytes.
    pub const HEADER_LEN: usize = 8;
}

/// A checked view of an ICMP header.
#[derive(Debug, Clone, Copy)]
pub struct Packet<'a> {
    buf: &'a [u8],
}

impl<'a> Packet<'a> {
    /// `None` when shorter than the 8-byte header.
    pub fn new_checked(buf: &'a [u8]) -> Option<Self> {
        (buf.len() >= field::HEADER_LEN).then_some(Packet { buf })
    }
    pub fn msg_type(&self) -> u8 {
        self.buf[field::TYPE]
    }
    pub fn code(&self) -> u8 {
        self.buf[field::CODE]
    }
    pub fn checksum(&self) -> u16 {
        let c = &self.buf[field::CHECKSUM];
        u16::from_be_bytes([c[0], c[1]])
    }
}

/// A parsed ICMP header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Repr {
    pub msg_type: u8,
    pub code: u8,
    pub checksum: u16,
}

impl Repr {
    pub fn parse(p: &Packet<'_>) -> Repr {
        Repr {
            msg_type: p.msg_type(),
            code: p.code(),
            checksum: p.checksum(),
        }
    }
}

/// Writes the ICMP fields; returns what follows the 8-byte header. A
/// shorter packet emits nothing and is all data.
pub fn decode<'a>(pkt: &'a [u8], out: &mut impl JsonSink) -> &'a [u8] {
    let Some(p) = Packet::new_checked(pkt) else {
        return pkt;
    };
    let r = Repr::parse(&p);
    out.put_int(c"net_icmp_type", r.msg_type as i32);
    out.put_int(c"net_icmp_code", r.code as i32);
    out.put_int(c"icmp_checksum", r.checksum as i32);
    after(pkt, field::HEADER_LEN)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::testutil::frame;
    use rsyslog_ffi::TextJson;

    #[test]
    fn echo_request() {
        // A synthetic echo request with 2 bytes of payload.
        let p = [0x08, 0x00, 0xf7, 0xfc, 0x00, 0x01, 0x00, 0x02, 0xab, 0xcd];
        let mut j = TextJson::new();
        assert_eq!(decode(&p, &mut j), &[0xab, 0xcd]);
        assert_eq!(
            j.render(),
            r#"{ "net_icmp_type": 8, "net_icmp_code": 0, "icmp_checksum": 63484 }"#
        );
    }

    #[test]
    fn short_is_all_data() {
        let p = [3, 1, 0, 0, 0, 0, 0];
        let mut j = TextJson::new();
        assert_eq!(decode(&p, &mut j), &p);
        assert_eq!(j.render(), "{ }");
        assert!(decode(&[], &mut j).is_empty());
    }

    #[test]
    fn header_only_leaves_nothing() {
        let p = [0x81, 0x00, 0x12, 0x34, 0, 0, 0, 0];
        let mut j = TextJson::new();
        assert!(decode(&p, &mut j).is_empty());
        assert_eq!(
            j.render(),
            r#"{ "net_icmp_type": 129, "net_icmp_code": 0, "icmp_checksum": 4660 }"#
        );
    }

    #[test]
    fn real_capture_echo_request() {
        // python-dpkt/examples/data/dns_icmp.pcap #3, as the C module printed it.
        let (s, data) = frame(
            "021a11f0c83b60334b13c55808004500005426ef0000400157f9c0a82b09080808080800bbb3d73b000051a7d67d000451e408090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f3031323334353637",
        );
        assert_eq!(
            s,
            r#"{ "ETH_src": "60:33:4b:13:c5:58", "ETH_dst": "2:1a:11:f0:c8:3b", "ETH_type": 2048, "ETH_typestr": "IP", "net_dst_ip": "8.8.8.8", "net_src_ip": "192.168.43.9", "IP_ihl": 5, "net_ttl": 64, "IP_proto": 1, "net_icmp_type": 8, "net_icmp_code": 0, "icmp_checksum": 48051 }"#
        );
        assert_eq!(data, 56);
    }
}
