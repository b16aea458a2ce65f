//! TCP header, as the C impcap reads it (options skipped, no checksum check),
//! dispatching the payload by port: SMB (445) first, then FTP (21 and 20),
//! then HTTP (80 and 8080); any other payload is data.
//!
//! A data offset below 5 words or past the captured bytes:
//! - [`Dialect::Master`] (current upstream): no TCP field, the whole segment
//!   is data.
//! - [`Dialect::V2504`]: the fields are written and the offset is taken as
//!   given: when it is below 5 the payload starts inside the header, and
//!   when it is past the captured bytes the next layer gets an empty slice.
//!   (The C module then hands SMB, FTP or HTTP a negative size; each treats
//!   it exactly like an empty payload, since they give up below a minimum
//!   length or scan only while the size is positive, and return no data.)
//!
//! Test: `data_offset_taken_as_given`.
//!
//! # Differences from the C module
//!
//! None: the C parser checks for the 20-byte fixed header before reading it.
//! The NS flag (bit 0 of the data-offset byte) never shows in `net_flags`,
//! because the C module appends its table's string terminator for it; ours
//! leaves it out to the same effect.

use super::{after, ftp, http, smb, Dialect};
use rsyslog_ffi::json::JsonSink;

/// Field offsets of the TCP header.
mod field {
    use std::ops::Range;
    pub const SRC_PORT: Range<usize> = 0..2;
    pub const DST_PORT: Range<usize> = 2..4;
    pub const SEQ_NUM: Range<usize> = 4..8;
    pub const ACK_NUM: Range<usize> = 8..12;
    pub const DATA_OFFSET: usize = 12;
    pub const FLAGS: usize = 13;
    /// The fixed header, which the C module requires before reading anything.
    pub const MIN_LEN: usize = 20;
}

pub const PORT_FTP_DATA: u16 = 20;
pub const PORT_FTP: u16 = 21;
pub const PORT_HTTP: u16 = 80;
pub const PORT_SMB: u16 = 445;
pub const PORT_HTTP_ALT: u16 = 8080;

/// Letters of the flag bits 0 (FIN) to 7 (CWR), as `net_flags` spells them.
const FLAG_LETTERS: &[u8; 8] = b"FSRPAUEC";

/// A checked view of a TCP header.
#[derive(Debug, Clone, Copy)]
pub struct Packet<'a> {
    buf: &'a [u8],
}

impl<'a> Packet<'a> {
    /// `None` when shorter than the fixed header.
    pub fn new_checked(buf: &'a [u8]) -> Option<Self> {
        (buf.len() >= field::MIN_LEN).then_some(Packet { buf })
    }
    fn u16_at(&self, r: std::ops::Range<usize>) -> u16 {
        super::be16(&self.buf[r])
    }
    fn u32_at(&self, r: std::ops::Range<usize>) -> u32 {
        super::be32(&self.buf[r])
    }
    pub fn src_port(&self) -> u16 {
        self.u16_at(field::SRC_PORT)
    }
    pub fn dst_port(&self) -> u16 {
        self.u16_at(field::DST_PORT)
    }
    pub fn seq_number(&self) -> u32 {
        self.u32_at(field::SEQ_NUM)
    }
    pub fn ack_number(&self) -> u32 {
        self.u32_at(field::ACK_NUM)
    }
    /// Header length in 32-bit words (may be below 5 in malformed packets).
    pub fn data_offset(&self) -> u8 {
        self.buf[field::DATA_OFFSET] >> 4
    }
    /// The eight flag bits FIN..CWR.
    pub fn flags(&self) -> u8 {
        self.buf[field::FLAGS]
    }
}

/// A parsed TCP header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Repr {
    pub src_port: u16,
    pub dst_port: u16,
    pub seq_number: u32,
    pub ack_number: u32,
    pub data_offset: u8,
    pub flags: u8,
}

impl Repr {
    pub fn parse(p: &Packet<'_>) -> Repr {
        Repr {
            src_port: p.src_port(),
            dst_port: p.dst_port(),
            seq_number: p.seq_number(),
            ack_number: p.ack_number(),
            data_offset: p.data_offset(),
            flags: p.flags(),
        }
    }
    /// Where the payload starts: 4 × data offset, even inside the header.
    pub fn header_len(&self) -> usize {
        4 * self.data_offset as usize
    }
    /// `net_flags`: one letter per set flag, lowest bit first.
    pub fn flag_letters(&self) -> Vec<u8> {
        (0..8)
            .filter(|i| self.flags & (1 << i) != 0)
            .map(|i| FLAG_LETTERS[i])
            .collect()
    }
    fn has_port(&self, port: u16) -> bool {
        self.src_port == port || self.dst_port == port
    }
}

/// Writes the TCP fields and those of the application layer; returns the undecoded data.
pub fn decode<'a>(pkt: &'a [u8], d: Dialect, out: &mut impl JsonSink) -> &'a [u8] {
    let Some(p) = Packet::new_checked(pkt) else {
        return pkt;
    };
    let r = Repr::parse(&p);
    if d == Dialect::Master && (r.data_offset < 5 || r.header_len() > pkt.len()) {
        return pkt;
    }
    out.put_int(c"net_src_port", r.src_port as i32);
    out.put_int(c"net_dst_port", r.dst_port as i32);
    out.put_i64(c"TCP_seq_number", r.seq_number as i64);
    out.put_i64(c"TCP_ack_number", r.ack_number as i64);
    out.put_str(c"net_flags", &r.flag_letters());

    let payload = after(pkt, r.header_len());
    if r.has_port(PORT_SMB) {
        smb::decode(payload, out)
    } else if r.has_port(PORT_FTP) || r.has_port(PORT_FTP_DATA) {
        ftp::decode(payload, out)
    } else if r.has_port(PORT_HTTP) || r.has_port(PORT_HTTP_ALT) {
        http::decode(payload, out)
    } else {
        payload
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::testutil::{assert_stays_inside, check_frame, frame_in, hex, DIALECTS};
    use rsyslog_ffi::TextJson;

    fn header(src: u16, dst: u16, off: u8, flags: u8) -> Vec<u8> {
        let mut h = vec![0u8; 20];
        h[0..2].copy_from_slice(&src.to_be_bytes());
        h[2..4].copy_from_slice(&dst.to_be_bytes());
        h[4..8].copy_from_slice(&0xfedc_ba98u32.to_be_bytes());
        h[8..12].copy_from_slice(&7u32.to_be_bytes());
        h[12] = off << 4;
        h[13] = flags;
        h
    }

    #[test]
    fn fields_and_flags() {
        let mut p = header(1234, 5678, 5, 0xff);
        p[12] |= 1; // NS does not show
        p.extend_from_slice(b"xyz");
        for d in DIALECTS {
            let mut j = TextJson::new();
            assert_eq!(decode(&p, d, &mut j), b"xyz");
            assert_eq!(
                j.render(),
                r#"{ "net_src_port": 1234, "net_dst_port": 5678, "TCP_seq_number": 4275878552, "TCP_ack_number": 7, "net_flags": "FSRPAUEC" }"#
            );
            let mut j = TextJson::new();
            decode(&header(1, 2, 5, 0x12), d, &mut j);
            assert!(j.render().ends_with(r#""net_flags": "SA" }"#));
        }
    }

    #[test]
    fn short_header_is_all_data() {
        let p = header(1, 2, 5, 0);
        for d in DIALECTS {
            let mut j = TextJson::new();
            assert_eq!(decode(&p[..19], d, &mut j), &p[..19]);
            assert_eq!(j.render(), "{ }");
        }
    }

    #[test]
    fn data_offset_taken_as_given() {
        let render = |d, p: &[u8]| {
            let mut j = TextJson::new();
            let rest = decode(p, d, &mut j).len();
            (j.render(), rest)
        };
        const FIELDS: &str = r#"{ "net_src_port": 1, "net_dst_port": 2, "TCP_seq_number": 4275878552, "TCP_ack_number": 7, "net_flags": "" }"#;
        // Offset 2 (8 bytes): 8.2504 starts the payload inside the header;
        // current upstream writes no field and all 20 bytes are data.
        let p = header(1, 2, 2, 0);
        assert_eq!(decode(&p, Dialect::V2504, &mut TextJson::new()), &p[8..]);
        assert_eq!(render(Dialect::V2504, &p).0, FIELDS);
        assert_eq!(render(Dialect::Master, &p), ("{ }".to_string(), 20));
        // Offset 15 with 24 bytes captured: nothing left in 8.2504, all 24
        // bytes and no field in current upstream.
        let mut p = header(1, 2, 15, 0);
        p.extend_from_slice(b"abcd");
        assert_eq!(render(Dialect::V2504, &p), (FIELDS.to_string(), 0));
        assert_eq!(render(Dialect::Master, &p), ("{ }".to_string(), 24));
        // Offset 6 with exactly 24 bytes: a complete header in both.
        let p = {
            let mut p = header(1, 2, 6, 0);
            p.extend_from_slice(&[1, 1, 1, 1]);
            p
        };
        for d in DIALECTS {
            assert_eq!(render(d, &p), (FIELDS.to_string(), 0));
        }
        // Same for an application parser: in 8.2504 HTTP gets nothing and
        // adds nothing; current upstream hands it nothing either.
        let mut p = header(80, 2, 15, 0);
        p.extend_from_slice(b"GET / HTTP/1.0\r\n\r\n");
        let mut j = TextJson::new();
        assert!(decode(&p, Dialect::V2504, &mut j).is_empty());
        assert!(!j.render().contains("HTTP"));
        assert_eq!(render(Dialect::Master, &p), ("{ }".to_string(), p.len()));
    }

    #[test]
    fn dispatch_order_smb_ftp_http() {
        for d in DIALECTS {
            let run = |src, dst, payload: &[u8]| {
                let mut p = header(src, dst, 5, 0x18);
                p.extend_from_slice(payload);
                let mut j = TextJson::new();
                let rest = decode(&p, d, &mut j).len();
                (j.render(), rest)
            };
            // Port 21 wins over 80.
            let (j, rest) = run(21, 80, b"USER anonymous\r\n");
            assert!(j.ends_with(r#""FTP_request": "USER" }"#), "{j}");
            assert_eq!(rest, 16);
            let (j, _) = run(8080, 20, b"USER x\r\n");
            assert!(j.contains("FTP_request"), "{j}");
            // Port 445 wins over 21: no SMB header, so nothing is added.
            let (j, rest) = run(445, 21, b"USER anonymous\r\n");
            assert!(j.ends_with(r#""net_flags": "PA" }"#), "{j}");
            assert_eq!(rest, 16);
            let (j, _) = run(40000, 8080, b"GET / HTTP/1.1\r\n\r\n");
            assert!(j.contains(r#""HTTP_method": "GET""#), "{j}");
            let (j, rest) = run(40000, 8081, b"GET / HTTP/1.1\r\n\r\n");
            assert!(!j.contains("HTTP"), "{j}");
            assert_eq!(rest, 18);
        }
    }

    /// python-dpkt http.pcap, frame 1: a SYN with MSS/SACK options, as the C module printed it.
    #[test]
    fn real_syn_with_options() {
        check_frame(
            concat!(
                "feff200001000000010000000800450000300f414000800691eb91fea0ed41d0e4df0d2c005038affe13000000007002",
                "2238c30c0000020405b401010402",
            ),
            r#"{ "ETH_src": "0:0:1:0:0:0", "ETH_dst": "fe:ff:20:0:1:0", "ETH_type": 2048, "ETH_typestr": "IP", "net_dst_ip": "65.208.228.223", "net_src_ip": "145.254.160.237", "IP_ihl": 5, "net_ttl": 128, "IP_proto": 6, "net_src_port": 3372, "net_dst_port": 80, "TCP_seq_number": 951057939, "TCP_ack_number": 0, "net_flags": "S" }"#,
            0,
        );
    }

    /// Every prefix of some samples, and random bytes: no panic, and what is
    /// returned lies inside the input.
    #[test]
    fn never_reads_past_the_input() {
        let sample = [hex("0050c70c0f38eb6622e28a7d8018006c330200000101080a112c031b316ac2db485454502f312e3120323034204e6f20436f6e74656e740d0a0d0a")];
        for d in DIALECTS {
            assert_stays_inside(|p| decode(p, d, &mut TextJson::new()), &sample);
        }
    }

    #[test]
    fn real_capture_data_offset_zero() {
        // tcpdump/tests/kday3.pcap #2: data offset 0. 8.2504's C module
        // printed the TCP fields and the 24-byte segment as data; current
        // upstream's no TCP field and the same data.
        const F: &str = "0cc47a08e91284b59cbe3048080067100034fd2640003e063da6cc093384cc093650c39f001649d1c8546c6f12ae80100ffe861100000101080a381c317fffffffca";
        const IP: &str = r#"{ "ETH_src": "84:b5:9c:be:30:48", "ETH_dst": "c:c4:7a:8:e9:12", "ETH_type": 2048, "ETH_typestr": "IP", "net_dst_ip": "204.9.54.80", "net_src_ip": "204.9.51.132", "IP_ihl": 7, "net_ttl": 62, "IP_proto": 6"#;
        assert_eq!(
            frame_in(Dialect::V2504, F),
            (
                format!(
                    r#"{IP}, "net_src_port": 27759, "net_dst_port": 4782, "TCP_seq_number": 2148536318, "TCP_ack_number": 2249261056, "net_flags": "F" }}"#
                ),
                24
            )
        );
        assert_eq!(frame_in(Dialect::Master, F), (format!("{IP} }}"), 24));
    }
}
