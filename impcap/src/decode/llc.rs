//! IEEE 802.2 LLC header (and SNAP), as the C impcap reads it after an
//! 802.3 length field.
//!
//! - DSAP and SSAP both `0xff`: no LLC at all but "raw" Novell 802.3, the
//!   whole payload is IPX.
//! - Control field: one byte for U frames (low two bits set), otherwise two.
//!   For the two-byte form the C module byte-swaps the first control byte
//!   widened to 16 bits and never looks at the second, so on a little-endian
//!   host `LLC_ctrl` is that byte times 256. This is reproduced.
//! - The individual/group and command/response bits are masked off the SAPs.
//! - SNAP (`0xaa`/`0xaa`, control 3): OUI and EtherType are reported and the
//!   EtherType decides the next layer, which the C module hands the data
//!   from the OUI on (the 5 SNAP bytes are not skipped). This is reproduced.
//! - SAP 6 is IPv4, SAP `0xe0` is IPX; anything else is data.
//! - SNAP header with fewer than 8 bytes captured: the three LLC fields, no
//!   `SNAP_*` field, and what follows the LLC header is data. This is what
//!   current upstream does ([`Dialect::Master`]).
//! - I or S frame (two-byte control field) of which only 3 bytes were
//!   captured: [`Dialect::Master`] writes nothing and all 3 bytes are data;
//!   [`Dialect::V2504`] writes the LLC fields (the control value comes from
//!   the first control byte alone) and leaves no data.
//!   Test: `i_frame_control_uses_first_byte_only`.
//!
//! # Differences from the C module
//!
//! - llc.rs, SNAP header with fewer than 8 bytes captured, 8.2302 and
//!   8.2504 ([`Dialect::V2504`]): the C module reads the OUI and EtherType
//!   past the packet. We do as current upstream does (above).
//!   Test: `truncated_snap_header_is_data`.

use super::{after, eth, ipv4, ipx, Dialect};
use rsyslog_ffi::json::JsonSink;

/// Field offsets of the LLC header.
mod field {
    use std::ops::Range;
    pub const DSAP: usize = 0;
    pub const SSAP: usize = 1;
    pub const CTRL: usize = 2;
    /// The C module needs this much before it reads anything.
    pub const MIN_LEN: usize = 3;
    /// U frames have a one-byte control field, I and S frames two.
    pub const U_FRAME_LEN: usize = 3;
    pub const IS_FRAME_LEN: usize = 4;
    /// SNAP fields, relative to the end of the LLC header.
    pub const SNAP_OUI: Range<usize> = 0..3;
    pub const SNAP_TYPE: Range<usize> = 3..5;
    pub const SNAP_LEN: usize = 5;
}

const SAP_SNAP: u8 = 0xaa;
const SAP_IP: u8 = 0x06;
const SAP_IPX: u8 = 0xe0;
const SAP_RAW_IPX: u8 = 0xff;
const CTRL_UI: u16 = 0x03;

/// A checked view of an LLC header.
#[derive(Debug, Clone, Copy)]
pub struct Packet<'a> {
    buf: &'a [u8],
}

impl<'a> Packet<'a> {
    /// `None` when shorter than 3 bytes.
    pub fn new_checked(buf: &'a [u8]) -> Option<Self> {
        (buf.len() >= field::MIN_LEN).then_some(Packet { buf })
    }
    /// The DSAP byte as captured (with the individual/group bit).
    pub fn dsap_field(&self) -> u8 {
        self.buf[field::DSAP]
    }
    /// The SSAP byte as captured (with the command/response bit).
    pub fn ssap_field(&self) -> u8 {
        self.buf[field::SSAP]
    }
    /// "Raw" 802.3 Novell frames carry IPX (checksum `0xffff`) straight away.
    pub fn is_raw_ipx(&self) -> bool {
        self.dsap_field() == SAP_RAW_IPX && self.ssap_field() == SAP_RAW_IPX
    }
    pub fn is_u_frame(&self) -> bool {
        self.buf[field::CTRL] & 0x03 == 0x03
    }
    /// The control value as the C module computes it (see the module notes).
    pub fn ctrl(&self) -> u16 {
        let first = u16::from(self.buf[field::CTRL]);
        if self.is_u_frame() {
            first
        } else {
            u16::from_be(first)
        }
    }
    pub fn header_len(&self) -> usize {
        if self.is_u_frame() {
            field::U_FRAME_LEN
        } else {
            field::IS_FRAME_LEN
        }
    }
    /// OUI and EtherType of a SNAP header, `None` when not all captured.
    pub fn snap(&self) -> Option<(u32, u16)> {
        let s = self.buf.get(self.header_len()..)?.get(..field::SNAP_LEN)?;
        let oui = s[field::SNAP_OUI].iter().fold(0u32, |acc, &b| acc << 8 | u32::from(b));
        let t = &s[field::SNAP_TYPE];
        Some((oui, u16::from_be_bytes([t[0], t[1]])))
    }
}

/// A parsed LLC header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Repr {
    /// DSAP without the individual/group bit.
    pub dsap: u8,
    /// SSAP without the command/response bit.
    pub ssap: u8,
    pub ctrl: u16,
    pub header_len: usize,
}

impl Repr {
    pub fn parse(p: &Packet<'_>) -> Repr {
        Repr {
            dsap: p.dsap_field() & 0xfe,
            ssap: p.ssap_field() & 0xfe,
            ctrl: p.ctrl(),
            header_len: p.header_len(),
        }
    }
    fn is(&self, sap: u8) -> bool {
        self.dsap == sap && self.ssap == sap && self.ctrl == CTRL_UI
    }
}

/// Writes the LLC (and SNAP) fields and those of the layer above; returns
/// the undecoded data. Fewer than 3 bytes emit nothing and are all data.
pub fn decode<'a>(pkt: &'a [u8], d: Dialect, out: &mut impl JsonSink) -> &'a [u8] {
    let Some(p) = Packet::new_checked(pkt) else {
        return pkt;
    };
    if p.is_raw_ipx() {
        return ipx::decode(pkt, out);
    }
    if d == Dialect::Master && pkt.len() < p.header_len() {
        return pkt;
    }
    let r = Repr::parse(&p);
    out.put_int(c"LLC_dsap", r.dsap as i32);
    out.put_int(c"LLC_ssap", r.ssap as i32);
    out.put_int(c"LLC_ctrl", r.ctrl as i32);
    let rest = after(pkt, r.header_len);
    if r.is(SAP_SNAP) {
        let Some((oui, ethertype)) = p.snap() else {
            return rest;
        };
        out.put_int(c"SNAP_oui", oui as i32);
        out.put_int(c"SNAP_ethType", ethertype as i32);
        // As in the C module, the next layer starts at the OUI.
        eth::decode_proto(ethertype, rest, d, out)
    } else if r.is(SAP_IP) {
        ipv4::decode(rest, d, out)
    } else if r.is(SAP_IPX) {
        ipx::decode(rest, out)
    } else {
        rest
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::testutil::{frame, frame_in, DIALECTS};
    use rsyslog_ffi::TextJson;

    fn render(d: Dialect, p: &[u8]) -> (String, usize) {
        let mut j = TextJson::new();
        let rest = decode(p, d, &mut j);
        (j.render(), rest.len())
    }

    #[test]
    fn short_is_all_data() {
        for d in DIALECTS {
            let mut j = TextJson::new();
            assert_eq!(decode(&[0x42, 0x42], d, &mut j), &[0x42, 0x42]);
            assert_eq!(j.render(), "{ }");
        }
    }

    #[test]
    fn truncated_snap_header_is_data() {
        let p = [0xaa, 0xaa, 0x03, 0x00, 0x00, 0x0c, 0x20];
        for d in DIALECTS {
            let mut j = TextJson::new();
            assert_eq!(decode(&p, d, &mut j), &p[3..]);
            assert_eq!(j.render(), r#"{ "LLC_dsap": 170, "LLC_ssap": 170, "LLC_ctrl": 3 }"#);
        }
    }

    #[test]
    fn i_frame_control_uses_first_byte_only() {
        let ctrl = u16::from_be(2);
        for d in DIALECTS {
            let (s, n) = render(d, &[0xf0, 0xf1, 0x02, 0x07, 0x99]);
            assert_eq!(
                s,
                format!(r#"{{ "LLC_dsap": 240, "LLC_ssap": 240, "LLC_ctrl": {ctrl} }}"#)
            );
            assert_eq!(n, 1);
        }
        // Three bytes of an I frame: the header runs past the end. 8.2504
        // writes the fields and leaves nothing; current upstream writes
        // nothing and leaves all three bytes.
        assert_eq!(
            render(Dialect::V2504, &[0xf0, 0xf0, 0x00]),
            (r#"{ "LLC_dsap": 240, "LLC_ssap": 240, "LLC_ctrl": 0 }"#.to_string(), 0)
        );
        assert_eq!(render(Dialect::Master, &[0xf0, 0xf0, 0x00]), ("{ }".to_string(), 3));
        // A U frame of 3 bytes is complete in both.
        for d in DIALECTS {
            assert_eq!(
                render(d, &[0x42, 0x42, 0x03]),
                (r#"{ "LLC_dsap": 66, "LLC_ssap": 66, "LLC_ctrl": 3 }"#.to_string(), 0)
            );
        }
    }

    #[test]
    fn real_capture_stp() {
        // tcpdump/tests/802.1D_spanning_tree.pcap #1, as the C module printed it.
        let (s, data) = frame(
            "0180c2000000001906eab885002642420300000000008001001906eab880000000008001001906eab88080050000140002000f000000000000000000",
        );
        assert_eq!(
            s,
            r#"{ "ETH_src": "0:19:6:ea:b8:85", "ETH_dst": "1:80:c2:0:0:0", "ETH_len": 38, "LLC_dsap": 66, "LLC_ssap": 66, "LLC_ctrl": 3 }"#
        );
        assert_eq!(data, 0);
    }

    #[test]
    fn real_capture_snap_cdp() {
        // The first 64 of the 400 bytes of tcpdump/tests/3560_CDP.pcap #1; the
        // C module printed these fields (and 400 - 17 bytes of data).
        let (s, data) = frame(
            "01000ccccccc001906eab8850182aaaa0300000c200002b4b0bd0001000a537769746368000500c4436973636f20494f5320536f6674776172652c2043333536",
        );
        assert_eq!(
            s,
            r#"{ "ETH_src": "0:19:6:ea:b8:85", "ETH_dst": "1:0:c:cc:cc:cc", "ETH_len": 386, "LLC_dsap": 170, "LLC_ssap": 170, "LLC_ctrl": 3, "SNAP_oui": 12, "SNAP_ethType": 8192 }"#
        );
        assert_eq!(data, 64 - 17);
    }

    #[test]
    fn real_capture_llc_ipx() {
        // tcpdump/tests/ipx.pcap #1, as the C module printed it.
        let (s, data) = frame(
            "ffffffffffff0003471bc1a80054e0e003ffff0050001400000000ffffffffffff0455a8f8796700000000000104550000000000000000000000000000000000000000000000000000000000000000000101025f5f4d5342524f5753455f5f020100",
        );
        assert_eq!(
            s,
            r#"{ "ETH_src": "0:3:47:1b:c1:a8", "ETH_dst": "ff:ff:ff:ff:ff:ff", "ETH_len": 84, "LLC_dsap": 224, "LLC_ssap": 224, "LLC_ctrl": 3, "IPX_transCtrl": 0, "IPX_type": 20, "IPX_dest_net": 0, "IPX_src_net": -1460111001, "IPX_dest_node": "ff:ff:ff:ff:ff:ff", "IPX_src_node": "00:00:00:00:00:01", "IPX_dest_socket": 1109, "IPX_src_socket": 1109 }"#
        );
        assert_eq!(data, 51);
    }

    #[test]
    fn snap_next_layer_starts_at_the_oui() {
        // Crafted SNAP + IPv4 frame, as the C module printed it: the IPv4
        // header is read from the OUI on (IHL 0, addresses shifted by 5 bytes)
        // and all from the OUI on is data.
        const F: &str = "ffffffffffff00e018b10cad003aaaaa030000000800450000280001000040060000c0a80001c0a80002\
             000000000000000000000000000000000000000000000000000000000000";
        const SNAP: &str = r#"{ "ETH_src": "0:e0:18:b1:c:ad", "ETH_dst": "ff:ff:ff:ff:ff:ff", "ETH_len": 58, "LLC_dsap": 170, "LLC_ssap": 170, "LLC_ctrl": 3, "SNAP_oui": 0, "SNAP_ethType": 2048"#;
        let (s, data) = frame_in(Dialect::V2504, F);
        assert_eq!(
            s,
            format!(
                r#"{SNAP}, "net_dst_ip": "0.192.168.0", "net_src_ip": "0.64.6.0", "IP_ihl": 0, "net_ttl": 40, "IP_proto": 0 }}"#
            )
        );
        assert_eq!(data, 55);
        // Current upstream rejects the IHL of 0: no IPv4 field, the same data.
        assert_eq!(frame_in(Dialect::Master, F), (format!("{SNAP} }}"), 55));
    }
}
