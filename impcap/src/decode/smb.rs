//! SMB header, as the C impcap reads it over TCP port 445.
//!
//! The header is looked for, not expected at the start: the first position
//! followed by the bytes `SMB` is taken as its start (the byte there, any
//! byte, is normally the 0xFF or 0xFE marker), which skips a NetBIOS session
//! header. From there 64 bytes are needed; fields are read little-endian at
//! the SMB2 header's offsets, whatever the version. The C module's quirks are
//! kept as facts:
//!
//! - `SMB_version` is 1 only when the 32-bit word at the start is 0xFF,
//!   which the `SMB` bytes in it rule out: it is always 2.
//! - `SMB_seqNumber` and `SMB_userID` combine the two 32-bit halves of the
//!   64-bit field as `low | high << 16`, in 32-bit arithmetic.
//! - `SMB_flags` holds a letter for each of flag bits 0 to 3 (`R`, `P`,
//!   `C`, `S`).
//!
//! Whatever was decoded, the payload is returned as data.
//!
//! # Differences from the C module
//!
//! None that shows. When searching for `SMB`, the C parser of 8.2302 and
//! 8.2504 reads up to three bytes past the end of the payload (current
//! upstream's stops in time); a match there could only start less than 64
//! bytes from the end, which it then rejects as too short, just as we do
//! without reading past.

use rsyslog_ffi::json::JsonSink;

/// Field offsets of the header, from the protocol marker.
mod field {
    use std::ops::Range;
    pub const PROTOCOL: Range<usize> = 0..4;
    pub const NT_STATUS: Range<usize> = 8..12;
    pub const OPCODE: Range<usize> = 12..14;
    pub const FLAGS: Range<usize> = 16..20;
    pub const SEQ_LOW: Range<usize> = 24..28;
    pub const SEQ_HIGH: Range<usize> = 28..32;
    pub const PROCESS_ID: Range<usize> = 32..36;
    pub const TREE_ID: Range<usize> = 36..40;
    pub const USER_LOW: Range<usize> = 40..44;
    pub const USER_HIGH: Range<usize> = 44..48;
    /// What must be present from the marker on.
    pub const HEADER_LEN: usize = 64;
}

/// The bytes that follow the protocol marker.
const MAGIC: &[u8; 3] = b"SMB";
/// Letters of flag bits 0 to 3.
const FLAG_LETTERS: &[u8; 4] = b"RPCS";

/// A checked view of an SMB header found in a payload.
#[derive(Debug, Clone, Copy)]
pub struct Packet<'a> {
    buf: &'a [u8],
}

impl<'a> Packet<'a> {
    /// Finds the header in `payload`; `None` when there is no `SMB` or fewer
    /// than 64 bytes from the marker to the end.
    pub fn find(payload: &'a [u8]) -> Option<Self> {
        let start = payload.windows(1 + MAGIC.len()).position(|w| &w[1..] == MAGIC)?;
        let buf = &payload[start..];
        (buf.len() >= field::HEADER_LEN).then_some(Packet { buf })
    }
    fn u16_at(&self, r: std::ops::Range<usize>) -> u16 {
        u16::from_le_bytes([self.buf[r.start], self.buf[r.start + 1]])
    }
    fn u32_at(&self, r: std::ops::Range<usize>) -> u32 {
        let b = &self.buf[r];
        u32::from_le_bytes([b[0], b[1], b[2], b[3]])
    }
    pub fn protocol(&self) -> u32 {
        self.u32_at(field::PROTOCOL)
    }
    pub fn nt_status(&self) -> u32 {
        self.u32_at(field::NT_STATUS)
    }
    pub fn opcode(&self) -> u16 {
        self.u16_at(field::OPCODE)
    }
    pub fn flags(&self) -> u32 {
        self.u32_at(field::FLAGS)
    }
    pub fn seq_halves(&self) -> (u32, u32) {
        (self.u32_at(field::SEQ_LOW), self.u32_at(field::SEQ_HIGH))
    }
    pub fn process_id(&self) -> u32 {
        self.u32_at(field::PROCESS_ID)
    }
    pub fn tree_id(&self) -> u32 {
        self.u32_at(field::TREE_ID)
    }
    pub fn user_halves(&self) -> (u32, u32) {
        (self.u32_at(field::USER_LOW), self.u32_at(field::USER_HIGH))
    }
}

/// A parsed SMB header, with the values as the C module reports them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repr {
    pub version: u8,
    pub nt_status: u32,
    pub opcode: u16,
    pub flags: Vec<u8>,
    pub seq_number: u32,
    pub process_id: u32,
    pub tree_id: u32,
    pub user_id: u32,
}

/// The C module's combination of a 64-bit field's halves.
fn combine((low, high): (u32, u32)) -> u32 {
    low | high.wrapping_shl(16)
}

impl Repr {
    pub fn parse(p: &Packet<'_>) -> Repr {
        let flags = p.flags();
        Repr {
            version: if p.protocol() == 0xff { 1 } else { 2 },
            nt_status: p.nt_status(),
            opcode: p.opcode(),
            flags: (0..4)
                .filter(|i| flags & (1 << i) != 0)
                .map(|i| FLAG_LETTERS[i])
                .collect(),
            seq_number: combine(p.seq_halves()),
            process_id: p.process_id(),
            tree_id: p.tree_id(),
            user_id: combine(p.user_halves()),
        }
    }
}

/// Writes the SMB fields; returns the payload, all of which counts as data.
pub fn decode<'a>(pkt: &'a [u8], out: &mut impl JsonSink) -> &'a [u8] {
    let Some(p) = Packet::find(pkt) else {
        return pkt;
    };
    let r = Repr::parse(&p);
    out.put_int(c"SMB_version", r.version as i32);
    out.put_i64(c"SMB_NTstatus", r.nt_status as i64);
    out.put_int(c"SMB_operation", r.opcode as i32);
    out.put_str(c"SMB_flags", &r.flags);
    out.put_i64(c"SMB_seqNumber", r.seq_number as i64);
    out.put_i64(c"SMB_processID", r.process_id as i64);
    out.put_i64(c"SMB_treeID", r.tree_id as i64);
    out.put_i64(c"SMB_userID", r.user_id as i64);
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

    fn smb2(prefix: &[u8]) -> Vec<u8> {
        let mut p = prefix.to_vec();
        let mut h = vec![0u8; 64];
        h[0..4].copy_from_slice(b"\xfeSMB");
        h[4..6].copy_from_slice(&64u16.to_le_bytes());
        h[8..12].copy_from_slice(&0xc000_0016u32.to_le_bytes());
        h[12..14].copy_from_slice(&5u16.to_le_bytes());
        h[16..20].copy_from_slice(&0x0000_0009u32.to_le_bytes());
        h[24..28].copy_from_slice(&0x0001_0003u32.to_le_bytes());
        h[28..32].copy_from_slice(&0x0002_0000u32.to_le_bytes());
        h[32..36].copy_from_slice(&0xfeffu32.to_le_bytes());
        h[36..40].copy_from_slice(&0xffff_ffffu32.to_le_bytes());
        h[40..44].copy_from_slice(&0x0000_0041u32.to_le_bytes());
        h[44..48].copy_from_slice(&0x0000_0001u32.to_le_bytes());
        p.extend_from_slice(&h);
        p
    }

    #[test]
    fn header_after_netbios() {
        let p = smb2(&[0, 0, 0, 0x40]);
        assert_eq!(
            render(&p),
            (
                r#"{ "SMB_version": 2, "SMB_NTstatus": 3221225494, "SMB_operation": 5, "SMB_flags": "RS", "SMB_seqNumber": 65539, "SMB_processID": 65279, "SMB_treeID": 4294967295, "SMB_userID": 65601 }"#
                    .into(),
                68
            )
        );
    }

    #[test]
    fn needs_64_bytes_from_the_marker() {
        let p = smb2(b"xy");
        assert_eq!(render(&p[..65]).1, 65);
        assert_eq!(render(&p[..65]).0, "{ }");
        assert!(render(&p).0.contains("SMB_version"));
        assert_eq!(render(b""), ("{ }".into(), 0));
        assert_eq!(render(b"SMB"), ("{ }".into(), 3));
    }

    #[test]
    fn marker_may_be_anything_and_version_is_two() {
        let mut p = smb2(b"");
        p[0] = 0xff;
        assert!(render(&p).0.starts_with(r#"{ "SMB_version": 2, "#));
        // "SMB" at the very start has no marker byte before it: the search
        // finds a later occurrence only.
        let mut p = b"SMB".to_vec();
        p.extend_from_slice(&smb2(b"")[..]);
        assert_eq!(Packet::find(&p).unwrap().buf.len(), 64);
    }

    #[test]
    fn halves_combine_in_32_bits() {
        assert_eq!(combine((1, 0x0001_0000)), 1);
        assert_eq!(combine((0, 0x0000_ffff)), 0xffff_0000);
    }

    /// wireshark smb311-aes-128-gcm.pcap, frame 6, as the C module printed it.
    #[test]
    fn real_session_setup_response() {
        check_frame(
            concat!(
                "525500d1444552540007032d080045000080496840007d06425f0aa041c0c0a864a801bd8dea1edb5dca710e84008018",
                "0100d46200000101080ac00feba669fa659900000048fe534d4240000000000000000100820009000000000000000200",
                "00000000000014010000000000003900000000400000a9ab185bd1a0b06d9cbe3570983d4c0d0900000048000000",
            ),
            r#"{ "ETH_src": "52:54:0:7:3:2d", "ETH_dst": "52:55:0:d1:44:45", "ETH_type": 2048, "ETH_typestr": "IP", "net_dst_ip": "192.168.100.168", "net_src_ip": "10.160.65.192", "IP_ihl": 5, "net_ttl": 125, "IP_proto": 6, "net_src_port": 445, "net_dst_port": 36330, "TCP_seq_number": 517692874, "TCP_ack_number": 1896776704, "net_flags": "PA", "SMB_version": 2, "SMB_NTstatus": 0, "SMB_operation": 1, "SMB_flags": "RS", "SMB_seqNumber": 2, "SMB_processID": 276, "SMB_treeID": 0, "SMB_userID": 1073741881 }"#,
            76,
        );
    }

    /// Every prefix of some samples, and random bytes: no panic, and what is
    /// returned lies inside the input.
    #[test]
    fn never_reads_past_the_input() {
        assert_stays_inside(|p| decode(p, &mut TextJson::new()), &[hex("00000048fe534d424000000000000000010082000900000000000000020000000000000014010000000000003900000000400000a9ab185bd1a0b06d9cbe3570983d4c0d0900000048000000")]);
    }
}
