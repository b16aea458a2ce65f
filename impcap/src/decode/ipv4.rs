//! IPv4 header, as the C impcap reads it (no options decoded, no checksum check).

use super::{after, icmp, tcp, udp};
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
pub fn decode_proto<'a>(proto: u8, pkt: &'a [u8], out: &mut impl JsonSink) -> &'a [u8] {
    match proto {
        PROTO_TCP => tcp::decode(pkt, out),
        PROTO_UDP => udp::decode(pkt, out),
        PROTO_ICMP => icmp::decode(pkt, out),
        _ => pkt,
    }
}

/// Writes the IPv4 fields and those of the layer above; returns the undecoded data.
pub fn decode<'a>(pkt: &'a [u8], out: &mut impl JsonSink) -> &'a [u8] {
    let Some(p) = Packet::new_checked(pkt) else {
        return pkt;
    };
    let r = Repr::parse(&p);
    out.put_str(c"net_dst_ip", r.dst.to_string().as_bytes());
    out.put_str(c"net_src_ip", r.src.to_string().as_bytes());
    out.put_int(c"IP_ihl", r.ihl as i32);
    out.put_int(c"net_ttl", r.ttl as i32);
    out.put_int(c"IP_proto", r.protocol as i32);
    decode_proto(r.protocol, after(pkt, r.header_len()), out)
}

#[cfg(test)]
mod tests {
    use super::*;
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
        let mut j = TextJson::new();
        assert_eq!(decode(&p, &mut j), b"esp");
        assert_eq!(
            j.render(),
            r#"{ "net_dst_ip": "10.0.0.255", "net_src_ip": "192.168.0.1", "IP_ihl": 5, "net_ttl": 64, "IP_proto": 50 }"#
        );
    }

    #[test]
    fn short_header_is_all_data() {
        let p = header(5, 6);
        let mut j = TextJson::new();
        assert_eq!(decode(&p[..19], &mut j), &p[..19]);
        assert_eq!(j.render(), "{ }");
    }

    #[test]
    fn header_length_is_taken_as_given() {
        // IHL 15 (60 bytes) with 24 captured: nothing is left for the payload.
        let mut p = header(15, 99);
        p.extend_from_slice(&[1, 2, 3, 4]);
        assert!(decode(&p, &mut TextJson::new()).is_empty());
        // IHL 2 (8 bytes): the payload starts inside the header, as in the C module.
        let p = header(2, 99);
        assert_eq!(decode(&p, &mut TextJson::new()), &p[8..]);
    }
}
