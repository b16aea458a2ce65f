//! DNS message header and question section, as the C impcap reads them.
//!
//! Only the header and the questions are decoded; answer, authority and
//! additional records are not looked at. A message whose reserved bit (Z,
//! bit 6 of the flags) is set adds nothing. Question names are rebuilt from
//! their labels without following compression pointers: each label-length
//! byte after the first becomes a `.`, every other byte is copied as is.
//! Decoding questions stops at a name of 256 bytes or more, or when the name
//! and its type and class do not fit in what is left. The whole message is
//! returned as data.
//!
//! # Differences from the C module
//!
//! For 8.2302 and 8.2504; current upstream's parser checks for the 12-byte
//! header and then does as we do.
//!
//! - **Header shorter than 12 bytes.** The C parser reads the 12-byte header
//!   without checking the length, so for a shorter UDP payload it reports
//!   whatever follows in memory (unless the reserved bit is already set in
//!   the first 4 bytes, where it correctly adds nothing). Reading a capture
//!   file, that is stale bytes of an earlier, longer packet in libpcap's
//!   buffer: all DNS fields appear, with made-up flags and counts and an
//!   empty `DNS_Names`. We add no DNS field at all and return the payload as
//!   data, as for a malformed message.

use rsyslog_ffi::json::JsonSink;

/// Field offsets of the DNS header.
mod field {
    use std::ops::Range;
    pub const ID: Range<usize> = 0..2;
    pub const FLAGS: Range<usize> = 2..4;
    pub const QDCOUNT: Range<usize> = 4..6;
    pub const ANCOUNT: Range<usize> = 6..8;
    pub const NSCOUNT: Range<usize> = 8..10;
    pub const ARCOUNT: Range<usize> = 10..12;
    pub const HEADER_LEN: usize = 12;
}

/// Bits of the flags word.
mod flag {
    pub const RESPONSE: u16 = 1 << 15;
    pub const OPCODE_SHIFT: u16 = 11;
    pub const OPCODE_MASK: u16 = 0xf;
    pub const RESERVED: u16 = 1 << 6;
    pub const RCODE_MASK: u16 = 0xf;
}

/// The longest name (label bytes up to the terminating zero, excluded) the
/// C module accepts.
const MAX_NAME_LEN: usize = 255;
/// Bytes after a name: its terminating zero, type and class.
const QUESTION_TAIL: usize = 5;

/// A checked view of a DNS message.
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
    pub fn id(&self) -> u16 {
        self.u16_at(field::ID)
    }
    pub fn flags(&self) -> u16 {
        self.u16_at(field::FLAGS)
    }
    pub fn counts(&self) -> [u16; 4] {
        [
            self.u16_at(field::QDCOUNT),
            self.u16_at(field::ANCOUNT),
            self.u16_at(field::NSCOUNT),
            self.u16_at(field::ARCOUNT),
        ]
    }
    /// The bytes after the header.
    pub fn body(&self) -> &'a [u8] {
        &self.buf[field::HEADER_LEN..]
    }
}

/// One entry of the question section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Question {
    /// The name as the C module spells it (never contains a zero byte).
    pub name: Vec<u8>,
    pub qtype: u16,
    pub qclass: u16,
}

/// A parsed DNS message (header and questions).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repr {
    pub id: u16,
    pub response: bool,
    pub opcode: u8,
    pub rcode: u8,
    pub qdcount: u16,
    pub ancount: u16,
    pub nscount: u16,
    pub arcount: u16,
    pub questions: Vec<Question>,
}

impl Repr {
    /// `None` when the reserved bit is set: the C module then gives up.
    pub fn parse(p: &Packet<'_>) -> Option<Repr> {
        let flags = p.flags();
        if flags & flag::RESERVED != 0 {
            return None;
        }
        let [qdcount, ancount, nscount, arcount] = p.counts();
        Some(Repr {
            id: p.id(),
            response: flags & flag::RESPONSE != 0,
            opcode: ((flags >> flag::OPCODE_SHIFT) & flag::OPCODE_MASK) as u8,
            rcode: (flags & flag::RCODE_MASK) as u8,
            qdcount,
            ancount,
            nscount,
            arcount,
            questions: parse_questions(p.body(), qdcount),
        })
    }
}

/// Reads up to `count` questions from the start of `body`.
fn parse_questions(body: &[u8], count: u16) -> Vec<Question> {
    let mut questions = Vec::new();
    let mut rest = body;
    while questions.len() < count as usize && !rest.is_empty() {
        let Some((q, used)) = parse_question(rest) else {
            break;
        };
        questions.push(q);
        rest = &rest[used..];
    }
    questions
}

/// One question at the start of `b` (non-empty) and the bytes it took.
fn parse_question(b: &[u8]) -> Option<(Question, usize)> {
    // The name runs up to the first zero byte (or the end).
    let len = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    if len > MAX_NAME_LEN || len + QUESTION_TAIL > b.len() {
        return None;
    }
    let mut name = Vec::with_capacity(len);
    let mut label_left = b[0];
    for &c in b.get(1..len).unwrap_or_default() {
        if label_left == 0 {
            label_left = c;
            name.push(b'.');
        } else {
            name.push(c);
            label_left -= 1;
        }
    }
    // The terminating zero is skipped only after a name of two bytes or
    // more; a one-byte name leaves it to be read as the type's high byte.
    let at = if len >= 2 { len + 1 } else { 1 };
    let qtype = super::be16(&b[at..]);
    let qclass = super::be16(&b[at + 2..]);
    Some((Question { name, qtype, qclass }, at + 4))
}

/// `DNS_error`: the name of a 4-bit response code.
pub fn rcode_name(rcode: u8) -> &'static str {
    match rcode {
        0 => "NoError",
        1 => "FormErr",
        2 => "ServFail",
        3 => "NXDomain",
        4 => "NotImp",
        5 => "Refused",
        6 => "YXDomain",
        7 => "YXRRSet",
        8 => "NXRRSet",
        9 => "NotAuth",
        10 => "NotZone",
        _ => "",
    }
}

/// `type`: the mnemonic of a query type, as far as the C module knows them.
pub fn type_name(t: u16) -> &'static str {
    match t {
        1 => "A",
        2 => "NS",
        3 => "MD",
        4 => "MF",
        5 => "CNAME",
        6 => "SOA",
        7 => "MB",
        8 => "MG",
        9 => "MR",
        10 => "NULL",
        11 => "WKS",
        12 => "PTR",
        13 => "HINFO",
        14 => "MINFO",
        15 => "MX",
        16 => "TXT",
        17 => "RP",
        18 => "AFSDB",
        19 => "X25",
        20 => "ISDN",
        21 => "RT",
        22 => "NSAP",
        23 => "NSAP-PTR",
        24 => "SIG",
        25 => "KEY",
        26 => "PX",
        27 => "GPOS",
        28 => "AAAA",
        29 => "LOC",
        30 => "NXT",
        31 => "EID",
        32 => "NIMLOC",
        33 => "SRV",
        34 => "ATMA",
        35 => "NAPTR",
        36 => "KX",
        37 => "CERT",
        38 => "A6",
        39 => "DNAME",
        40 => "SINK",
        41 => "OPT",
        42 => "APL",
        43 => "DS",
        44 => "SSHFP",
        45 => "IPSECKEY",
        46 => "RRSIG",
        47 => "NSEC",
        48 => "DNSKEY",
        49 => "DHCID",
        50 => "NSEC3",
        51 => "NSEC3PARAM",
        52 => "TLSA",
        53 => "SMIMEA",
        54 => "Unassigned",
        55 => "HIP",
        56 => "NINFO",
        57 => "RKEY",
        58 => "TALINK",
        59 => "CDS",
        60 => "CDNSKEY",
        61 => "OPENPGPKEY",
        62 => "CSYNC",
        63 => "ZONEMD",
        99 => "SPF",
        100 => "UINFO",
        101 => "UID",
        102 => "GID",
        103 => "UNSPEC",
        104 => "NID",
        105 => "L32",
        106 => "L64",
        107 => "LP",
        108 => "EUI48",
        109 => "EUI64",
        249 => "TKEY",
        250 => "TSIG",
        251 => "IXFR",
        252 => "AXFR",
        253 => "MAILB",
        254 => "MAILA",
        255 => "*",
        256 => "URI",
        257 => "CAA",
        258 => "AVC",
        259 => "DOA",
        260 => "AMTRELAY",
        32768 => "TA",
        32769 => "DLV",
        _ => "UNKNOWN",
    }
}

/// `class`: the name of a query class.
pub fn class_name(c: u16) -> &'static str {
    match c {
        1 => "IN",
        3 => "CH",
        4 => "HS",
        254 => "QCLASS NONE",
        255 => "QCLASS *",
        _ => "UNKNOWN",
    }
}

/// Writes the DNS fields; returns the message, all of which counts as data.
pub fn decode<'a>(pkt: &'a [u8], out: &mut impl JsonSink) -> &'a [u8] {
    let Some(r) = Packet::new_checked(pkt).and_then(|p| Repr::parse(&p)) else {
        return pkt;
    };
    out.put_int(c"DNS_transaction_id", r.id as i32);
    out.put_bool(c"DNS_response_flag", r.response);
    out.put_int(c"DNS_opcode", r.opcode as i32);
    out.put_int(c"DNS_rcode", r.rcode as i32);
    out.put_str(c"DNS_error", rcode_name(r.rcode).as_bytes());
    out.put_int(c"DNS_QDCOUNT", r.qdcount as i32);
    out.put_int(c"DNS_ANCOUNT", r.ancount as i32);
    out.put_int(c"DNS_NSCOUNT", r.nscount as i32);
    out.put_int(c"DNS_ARCOUNT", r.arcount as i32);
    out.begin_array(c"DNS_Names");
    for q in &r.questions {
        out.begin_element_object();
        out.put_str(c"qname", &q.name);
        out.put_int(c"qtype", q.qtype as i32);
        out.put_str(c"type", type_name(q.qtype).as_bytes());
        out.put_int(c"qclass", q.qclass as i32);
        out.put_str(c"class", class_name(q.qclass).as_bytes());
        out.end();
    }
    out.end();
    pkt
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::testutil::{assert_stays_inside, check_frame, hex, layer};
    use rsyslog_ffi::TextJson;

    fn render(pkt: &[u8]) -> (String, usize) {
        layer(decode, pkt)
    }

    fn header(id: u16, flags: u16, qd: u16) -> Vec<u8> {
        let mut h = Vec::new();
        for v in [id, flags, qd, 0, 0, 0] {
            h.extend_from_slice(&v.to_be_bytes());
        }
        h
    }

    #[test]
    fn rejects_reserved_bit() {
        let p = header(1, 0x0040, 0);
        assert_eq!(render(&p), ("{ }".into(), 12));
    }

    /// Differences: a header shorter than 12 bytes adds nothing.
    #[test]
    fn short_header_adds_nothing() {
        let p = header(1, 0x0100, 1);
        for n in 0..12 {
            assert_eq!(render(&p[..n]), ("{ }".into(), n));
        }
    }

    #[test]
    fn no_questions() {
        let p = header(0xbeef, 0x8583, 0);
        assert_eq!(
            render(&p).0,
            r#"{ "DNS_transaction_id": 48879, "DNS_response_flag": true, "DNS_opcode": 0, "DNS_rcode": 3, "DNS_error": "NXDomain", "DNS_QDCOUNT": 0, "DNS_ANCOUNT": 0, "DNS_NSCOUNT": 0, "DNS_ARCOUNT": 0, "DNS_Names": [ ] }"#
        );
    }

    #[test]
    fn names_types_classes() {
        let mut p = header(7, 0x780b, 3);
        // Root name, type ANY, class NONE.
        p.extend_from_slice(&[0, 0, 255, 0, 254]);
        // "a.bc", type 32769, class 0x8001 (mDNS unicast bit: unknown).
        p.extend_from_slice(&[1, b'a', 2, b'b', b'c', 0, 0x80, 1, 0x80, 1]);
        // A one-byte name: its zero is read as the type's high byte.
        p.extend_from_slice(&[5, 0, 1, 0, 3, 9]);
        assert_eq!(
            render(&p).0,
            concat!(
                r#"{ "DNS_transaction_id": 7, "DNS_response_flag": false, "DNS_opcode": 15, "DNS_rcode": 11, "DNS_error": "", "#,
                r#""DNS_QDCOUNT": 3, "DNS_ANCOUNT": 0, "DNS_NSCOUNT": 0, "DNS_ARCOUNT": 0, "DNS_Names": [ "#,
                r#"{ "qname": "", "qtype": 255, "type": "*", "qclass": 254, "class": "QCLASS NONE" }, "#,
                r#"{ "qname": "a.bc", "qtype": 32769, "type": "DLV", "qclass": 32769, "class": "UNKNOWN" }, "#,
                r#"{ "qname": "", "qtype": 1, "type": "A", "qclass": 3, "class": "CH" } ] }"#
            )
        );
    }

    #[test]
    fn questions_stop_when_they_do_not_fit() {
        // Count says 2, but the second question lacks its class.
        let mut p = header(1, 0, 2);
        p.extend_from_slice(&[1, b'x', 0, 0, 1, 0, 1]);
        p.extend_from_slice(&[1, b'y', 0, 0, 1, 0]);
        let (j, rest) = render(&p);
        assert!(
            j.ends_with(r#""DNS_Names": [ { "qname": "x", "qtype": 1, "type": "A", "qclass": 1, "class": "IN" } ] }"#),
            "{j}"
        );
        assert_eq!(rest, p.len());
        // A name without terminating zero up to the end of the packet.
        let mut p = header(1, 0, 1);
        p.extend_from_slice(b"\x03abcdefgh");
        assert!(render(&p).0.ends_with(r#""DNS_Names": [ ] }"#));
        // A name of 256 bytes is refused even though it would fit.
        let mut p = header(1, 0, 1);
        p.extend_from_slice(&[b'x'; 256]);
        p.extend_from_slice(&[0, 0, 1, 0, 1]);
        assert!(render(&p).0.ends_with(r#""DNS_Names": [ ] }"#));
        // 255 bytes are fine (label lengths are not checked).
        let mut p = header(1, 0, 1);
        p.push(0xff);
        p.extend_from_slice(&[b'x'; 254]);
        p.extend_from_slice(&[0, 0, 1, 0, 1]);
        assert!(render(&p).0.contains(&format!(r#""qname": "{}""#, "x".repeat(254))));
    }

    #[test]
    fn compression_pointer_is_copied_raw() {
        let mut p = header(1, 0, 1);
        p.extend_from_slice(&[2, b'a', b'b', 0xc0, 0x0c, 0, 0, 1, 0, 1]);
        let q = Repr::parse(&Packet::new_checked(&p).unwrap()).unwrap().questions;
        assert_eq!(q[0].name, b"ab.\x0c");
    }

    #[test]
    fn type_table_edges() {
        assert_eq!(type_name(0), "UNKNOWN");
        assert_eq!(type_name(64), "UNKNOWN");
        assert_eq!(type_name(110), "UNKNOWN");
        assert_eq!(type_name(261), "UNKNOWN");
        assert_eq!(type_name(32770), "UNKNOWN");
        assert_eq!(type_name(28), "AAAA");
    }

    /// tcpflow udp.pcap, frames 15 and 16, as the C module printed them.
    #[test]
    fn real_query_and_response() {
        check_frame(
            concat!(
                "0026624b13fdc42c03284d85080045000039f01f0000ff110000c0a8010ac0a80101dfaa003500258392362701000001",
                "000000000000036e6372036e7073036564750000010001",
            ),
            r#"{ "ETH_src": "c4:2c:3:28:4d:85", "ETH_dst": "0:26:62:4b:13:fd", "ETH_type": 2048, "ETH_typestr": "IP", "net_dst_ip": "192.168.1.1", "net_src_ip": "192.168.1.10", "IP_ihl": 5, "net_ttl": 255, "IP_proto": 17, "net_src_port": 57258, "net_dst_port": 53, "UDP_Length": 37, "UDP_Checksum": 33682, "DNS_transaction_id": 13863, "DNS_response_flag": false, "DNS_opcode": 0, "DNS_rcode": 0, "DNS_error": "NoError", "DNS_QDCOUNT": 1, "DNS_ANCOUNT": 0, "DNS_NSCOUNT": 0, "DNS_ARCOUNT": 0, "DNS_Names": [ { "qname": "ncr.nps.edu", "qtype": 1, "type": "A", "qclass": 1, "class": "IN" } ] }"#,
            29,
        );
        check_frame(
            concat!(
                "c42c03284d850026624b13fd080045000049000040004011b748c0a80101c0a8010a0035dfaa003531c1362781800001",
                "000100000000036e6372036e7073036564750000010001c00c0001000100002a300004081e4f0d",
            ),
            r#"{ "ETH_src": "0:26:62:4b:13:fd", "ETH_dst": "c4:2c:3:28:4d:85", "ETH_type": 2048, "ETH_typestr": "IP", "net_dst_ip": "192.168.1.10", "net_src_ip": "192.168.1.1", "IP_ihl": 5, "net_ttl": 64, "IP_proto": 17, "net_src_port": 53, "net_dst_port": 57258, "UDP_Length": 53, "UDP_Checksum": 12737, "DNS_transaction_id": 13863, "DNS_response_flag": true, "DNS_opcode": 0, "DNS_rcode": 0, "DNS_error": "NoError", "DNS_QDCOUNT": 1, "DNS_ANCOUNT": 1, "DNS_NSCOUNT": 0, "DNS_ARCOUNT": 0, "DNS_Names": [ { "qname": "ncr.nps.edu", "qtype": 1, "type": "A", "qclass": 1, "class": "IN" } ] }"#,
            45,
        );
    }

    /// Every prefix of some samples, and random bytes: no panic, and what is
    /// returned lies inside the input.
    #[test]
    fn never_reads_past_the_input() {
        assert_stays_inside(
            |p| decode(p, &mut TextJson::new()),
            &[hex(
                "362781800001000100000000036e6372036e7073036564750000010001c00c0001000100002a300004081e4f0d",
            )],
        );
    }
}
