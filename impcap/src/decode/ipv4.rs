//! IPv4 header, as the C impcap reads it (no options decoded, no checksum check).
//!
//! Fewer than 20 bytes write nothing and are all data. The header length
//! (IHL) below 5 words or past the captured bytes:
//! - [`Dialect::Master`] (current upstream): no IPv4 field, the whole IPv4
//!   packet is data.
//! - [`Dialect::V2504`]: the fields are written and the IHL is taken as
//!   given: the payload starts inside the header, or is empty.
//!
//! Test: `header_length_is_taken_as_given`.

use super::{after, icmp, tcp, udp, Dialect};
use rsyslog_ffi::json::JsonSink;
use std::net::Ipv4Addr;

/// Field offsets of the IPv4 header.
mod field {
    pub const VER_IHL: usize = 0;
    pub const TTL: usize = 8;
    pub const PROTOCOL: usize = 9;
    pub const SRC: std::ops::Range<usize> = 12..16;
    pub const DST: std::ops::Range<usize> = 16..20;
    /// The C module needs this much before it reads any field.
    pub const MIN_LEN: usize = 20;
}

pub const PROTO_ICMP: u8 = 1;
pub const PROTO_TCP: u8 = 6;
pub const PROTO_UDP: u8 = 17;

/// A checked view of an IPv4 header.
#[derive(Debug, Clone, Copy)]
pub struct Packet<'a> {
    buf: &'a [u8],
}

impl<'a> Packet<'a> {
    /// `None` when shorter than the fixed header.
    pub fn new_checked(buf: &'a [u8]) -> Option<Self> {
        (buf.len() >= field::MIN_LEN).then_some(Packet { buf })
    }
    /// Header length in 32-bit words (may be below 5 in malformed packets).
    pub fn ihl(&self) -> u8 {
        self.buf[field::VER_IHL] & 0x0f
    }
    pub fn ttl(&self) -> u8 {
        self.buf[field::TTL]
    }
    pub fn protocol(&self) -> u8 {
        self.buf[field::PROTOCOL]
    }
    pub fn src(&self) -> Ipv4Addr {
        addr(&self.buf[field::SRC])
    }
    pub fn dst(&self) -> Ipv4Addr {
        addr(&self.buf[field::DST])
    }
}

fn addr(b: &[u8]) -> Ipv4Addr {
    Ipv4Addr::new(b[0], b[1], b[2], b[3])
}

/// A parsed IPv4 header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Repr {
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
    pub ihl: u8,
    pub ttl: u8,
    pub protocol: u8,
}

impl Repr {
    pub fn parse(p: &Packet<'_>) -> Repr {
        Repr {
            src: p.src(),
            dst: p.dst(),
            ihl: p.ihl(),
            ttl: p.ttl(),
            protocol: p.protocol(),
        }
    }
    /// Where the payload starts: 4 × IHL, even when that is inside the header.
    pub fn header_len(&self) -> usize {
        4 * self.ihl as usize
    }
}

/// The C module's `ip_proto_parse`: TCP, UDP and ICMP are decoded, the rest is data.
pub fn decode_proto<'a>(proto: u8, pkt: &'a [u8], d: Dialect, out: &mut impl JsonSink) -> &'a [u8] {
    match proto {
        PROTO_TCP => tcp::decode(pkt, d, out),
        PROTO_UDP => udp::decode(pkt, out),
        PROTO_ICMP => icmp::decode(pkt, out),
        _ => pkt,
    }
}

/// Writes the IPv4 fields and those of the layer above; returns the undecoded data.
pub fn decode<'a>(pkt: &'a [u8], d: Dialect, out: &mut impl JsonSink) -> &'a [u8] {
    let Some(p) = Packet::new_checked(pkt) else {
        return pkt;
    };
    let r = Repr::parse(&p);
    if d == Dialect::Master && (r.ihl < 5 || r.header_len() > pkt.len()) {
        return pkt;
    }
    out.put_str(c"net_dst_ip", r.dst.to_string().as_bytes());
    out.put_str(c"net_src_ip", r.src.to_string().as_bytes());
    out.put_int(c"IP_ihl", r.ihl as i32);
    out.put_int(c"net_ttl", r.ttl as i32);
    out.put_int(c"IP_proto", r.protocol as i32);
    decode_proto(r.protocol, after(pkt, r.header_len()), d, out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::testutil::{frame_in, DIALECTS};
    use rsyslog_ffi::TextJson;

    fn header(ihl: u8, proto: u8) -> Vec<u8> {
        let mut h = vec![0u8; 20];
        h[0] = 0x40 | ihl;
        h[8] = 64;
        h[9] = proto;
        h[12..16].copy_from_slice(&[192, 168, 0, 1]);
        h[16..20].copy_from_slice(&[10, 0, 0, 255]);
        h
    }

    #[test]
    fn fields_in_c_order() {
        let mut p = header(5, 50);
        p.extend_from_slice(b"esp");
        for d in DIALECTS {
            let mut j = TextJson::new();
            assert_eq!(decode(&p, d, &mut j), b"esp");
            assert_eq!(
                j.render(),
                r#"{ "net_dst_ip": "10.0.0.255", "net_src_ip": "192.168.0.1", "IP_ihl": 5, "net_ttl": 64, "IP_proto": 50 }"#
            );
        }
    }

    #[test]
    fn short_header_is_all_data() {
        let p = header(5, 6);
        for d in DIALECTS {
            let mut j = TextJson::new();
            assert_eq!(decode(&p[..19], d, &mut j), &p[..19]);
            assert_eq!(j.render(), "{ }");
        }
    }

    #[test]
    fn header_length_is_taken_as_given() {
        let render = |d, p: &[u8]| {
            let mut j = TextJson::new();
            let rest = decode(p, d, &mut j).len();
            (j.render(), rest)
        };
        // IHL 15 (60 bytes) with 24 captured: 8.2504 leaves nothing for the
        // payload, current upstream writes no field and all 24 bytes are data.
        let mut p = header(15, 99);
        p.extend_from_slice(&[1, 2, 3, 4]);
        assert_eq!(
            render(Dialect::V2504, &p),
            (
                r#"{ "net_dst_ip": "10.0.0.255", "net_src_ip": "192.168.0.1", "IP_ihl": 15, "net_ttl": 64, "IP_proto": 99 }"#
                    .to_string(),
                0
            )
        );
        assert_eq!(render(Dialect::Master, &p), ("{ }".to_string(), 24));
        // IHL 15 with all 60 bytes captured: the same in both.
        p.resize(60, 0);
        p.push(7);
        for d in DIALECTS {
            assert_eq!(render(d, &p).1, 1);
        }
        // IHL 2 (8 bytes): 8.2504 starts the payload inside the header,
        // current upstream writes no field and returns all.
        let p = header(2, 99);
        assert_eq!(decode(&p, Dialect::V2504, &mut TextJson::new()), &p[8..]);
        assert_eq!(render(Dialect::Master, &p), ("{ }".to_string(), 20));
        // IHL 4 is too short for current upstream too.
        assert_eq!(render(Dialect::Master, &header(4, 99)), ("{ }".to_string(), 20));
        assert_eq!(render(Dialect::Master, &header(5, 99)).1, 0);
    }

    #[test]
    fn real_capture_header_longer_than_captured() {
        // tcpdump/tests/ip_printroute_asan.pcap #1: IHL 15 (60 bytes) with 46
        // captured. 8.2504's C module printed the fields and no data; current
        // upstream's no IPv4 field and the 46 bytes as data.
        const F: &str = "a9a99d00007fffc18000000008004f008000640fdff9fe118e15fb49560000ac800583190f6767670000ac007400102424100024020e09240401efff";
        const ETH: &str =
            r#"{ "ETH_src": "ff:c1:80:0:0:0", "ETH_dst": "a9:a9:9d:0:0:7f", "ETH_type": 2048, "ETH_typestr": "IP""#;
        assert_eq!(
            frame_in(Dialect::V2504, F),
            (
                format!(
                    r#"{ETH}, "net_dst_ip": "0.172.128.5", "net_src_ip": "251.73.86.0", "IP_ihl": 15, "net_ttl": 254, "IP_proto": 17 }}"#
                ),
                0
            )
        );
        assert_eq!(frame_in(Dialect::Master, F), (format!("{ETH} }}"), 46));
    }
}
