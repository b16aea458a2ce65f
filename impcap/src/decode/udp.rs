//! UDP header, as the C impcap reads it (length and checksum reported, not
//! checked), dispatching to DNS when either port is 53.
//!
//! # Differences from the C module
//!
//! None: the C parser checks for the 8-byte header before reading it.

use super::{after, dns};
use rsyslog_ffi::json::JsonSink;

/// Field offsets of the UDP header.
mod field {
    use std::ops::Range;
    pub const SRC_PORT: Range<usize> = 0..2;
    pub const DST_PORT: Range<usize> = 2..4;
    pub const LENGTH: Range<usize> = 4..6;
    pub const CHECKSUM: Range<usize> = 6..8;
    pub const HEADER_LEN: usize = 8;
}

pub const PORT_DNS: u16 = 53;

/// A checked view of a UDP header.
#[derive(Debug, Clone, Copy)]
pub struct Packet<'a> {
    buf: &'a [u8],
}

impl<'a> Packet<'a> {
    /// `None` when shorter than the header.
    pub fn new_checked(buf: &'a [u8]) -> Option<Self> {
        (buf.len() >= field::HEADER_LEN).then_some(Packet { buf })
    }
    fn u16_at(&self, r: std::ops::Range<usize>) -> u16 {
        super::be16(&self.buf[r])
    }
    pub fn src_port(&self) -> u16 {
        self.u16_at(field::SRC_PORT)
    }
    pub fn dst_port(&self) -> u16 {
        self.u16_at(field::DST_PORT)
    }
    pub fn length(&self) -> u16 {
        self.u16_at(field::LENGTH)
    }
    pub fn checksum(&self) -> u16 {
        self.u16_at(field::CHECKSUM)
    }
}

/// A parsed UDP header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Repr {
    pub src_port: u16,
    pub dst_port: u16,
    pub length: u16,
    pub checksum: u16,
}

impl Repr {
    pub fn parse(p: &Packet<'_>) -> Repr {
        Repr {
            src_port: p.src_port(),
            dst_port: p.dst_port(),
            length: p.length(),
            checksum: p.checksum(),
        }
    }
}

/// Writes the UDP fields and those of DNS; returns the undecoded data.
pub fn decode<'a>(pkt: &'a [u8], out: &mut impl JsonSink) -> &'a [u8] {
    let Some(p) = Packet::new_checked(pkt) else {
        return pkt;
    };
    let r = Repr::parse(&p);
    out.put_int(c"net_src_port", r.src_port as i32);
    out.put_int(c"net_dst_port", r.dst_port as i32);
    out.put_int(c"UDP_Length", r.length as i32);
    out.put_int(c"UDP_Checksum", r.checksum as i32);
    let payload = after(pkt, field::HEADER_LEN);
    if r.src_port == PORT_DNS || r.dst_port == PORT_DNS {
        dns::decode(payload, out)
    } else {
        payload
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::testutil::{assert_stays_inside, check_frame, hex};
    use rsyslog_ffi::TextJson;

    #[test]
    fn fields_in_c_order() {
        let p = [0x30, 0x39, 0x00, 0x7b, 0x00, 0x0b, 0xab, 0xcd, b'n', b't', b'p'];
        let mut j = TextJson::new();
        assert_eq!(decode(&p, &mut j), b"ntp");
        assert_eq!(
            j.render(),
            r#"{ "net_src_port": 12345, "net_dst_port": 123, "UDP_Length": 11, "UDP_Checksum": 43981 }"#
        );
    }

    #[test]
    fn short_header_is_all_data() {
        let p = [0u8, 53, 0, 53, 0, 8, 0];
        let mut j = TextJson::new();
        assert_eq!(decode(&p, &mut j), &p);
        assert_eq!(j.render(), "{ }");
    }

    #[test]
    fn port_53_goes_to_dns() {
        // A DNS header with the reserved bit set: DNS adds nothing and the
        // payload stays data.
        let mut p = vec![0xc0, 0x00, 0x00, 0x35, 0x00, 0x14, 0x00, 0x00];
        p.extend_from_slice(&[0x12, 0x34, 0x00, 0x40, 0, 1, 0, 0, 0, 0, 0, 0]);
        let mut j = TextJson::new();
        assert_eq!(decode(&p, &mut j), &p[8..]);
        assert!(j.render().ends_with(r#""UDP_Checksum": 0 }"#));
    }

    /// tcpflow udp.pcap, frame 15, as the C module printed it.
    #[test]
    fn real_dns_query() {
        check_frame(
            concat!(
                "0026624b13fdc42c03284d85080045000039f01f0000ff110000c0a8010ac0a80101dfaa003500258392362701000001",
                "000000000000036e6372036e7073036564750000010001",
            ),
            r#"{ "ETH_src": "c4:2c:3:28:4d:85", "ETH_dst": "0:26:62:4b:13:fd", "ETH_type": 2048, "ETH_typestr": "IP", "net_dst_ip": "192.168.1.1", "net_src_ip": "192.168.1.10", "IP_ihl": 5, "net_ttl": 255, "IP_proto": 17, "net_src_port": 57258, "net_dst_port": 53, "UDP_Length": 37, "UDP_Checksum": 33682, "DNS_transaction_id": 13863, "DNS_response_flag": false, "DNS_opcode": 0, "DNS_rcode": 0, "DNS_error": "NoError", "DNS_QDCOUNT": 1, "DNS_ANCOUNT": 0, "DNS_NSCOUNT": 0, "DNS_ARCOUNT": 0, "DNS_Names": [ { "qname": "ncr.nps.edu", "qtype": 1, "type": "A", "qclass": 1, "class": "IN" } ] }"#,
            29,
        );
    }

    /// Every prefix of some samples, and random bytes: no panic, and what is
    /// returned lies inside the input.
    #[test]
    fn never_reads_past_the_input() {
        assert_stays_inside(
            |p| decode(p, &mut TextJson::new()),
            &[hex(
                "dfaa003500258392362701000001000000000000036e6372036e7073036564750000010001",
            )],
        );
    }
}
