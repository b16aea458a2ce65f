//! Ethernet II / 802.3 header (with one 802.1Q tag), as the C impcap reads it.
//!
//! A frame whose payload is decoded further and which is at most 60 bytes
//! long loses its undecoded rest when that starts with a zero byte (taken
//! for padding).
//!
//! A frame of type 0x8100 shorter than the 18 bytes of a tagged header:
//! - [`Dialect::Master`]: `ETH_src` and `ETH_dst` only, and the whole frame
//!   is data (no padding rule).
//! - [`Dialect::V2504`]: the C module reads the tag and the inner type past
//!   the packet. We report the frame as untagged, of type 0x8100, with what
//!   follows the first 14 bytes as data.

use super::{arp, ipv4, ipv6, ipx, llc, Dialect};
use rsyslog_ffi::json::JsonSink;

/// Field offsets of the Ethernet header.
mod field {
    use std::ops::Range;
    pub const DST: Range<usize> = 0..6;
    pub const SRC: Range<usize> = 6..12;
    pub const ETHERTYPE: Range<usize> = 12..14;
    pub const TCI: Range<usize> = 14..16;
    pub const INNER_ETHERTYPE: Range<usize> = 16..18;
    pub const HEADER_LEN: usize = 14;
    pub const VLAN_HEADER_LEN: usize = 18;
}

pub const ETHERTYPE_VLAN: u16 = 0x8100;

/// A checked view of an Ethernet frame.
#[derive(Debug, Clone, Copy)]
pub struct Frame<'a> {
    buf: &'a [u8],
}

impl<'a> Frame<'a> {
    /// `None` when the buffer is shorter than an Ethernet header.
    pub fn new_checked(buf: &'a [u8]) -> Option<Self> {
        (buf.len() >= field::HEADER_LEN).then_some(Frame { buf })
    }
    pub fn dst(&self) -> &'a [u8] {
        &self.buf[field::DST]
    }
    pub fn src(&self) -> &'a [u8] {
        &self.buf[field::SRC]
    }
    pub fn ethertype(&self) -> u16 {
        super::be16(&self.buf[field::ETHERTYPE])
    }
    /// True when tagged (type 0x8100) but shorter than a tagged header.
    pub fn is_cut_vlan(&self) -> bool {
        self.ethertype() == ETHERTYPE_VLAN && self.buf.len() < field::VLAN_HEADER_LEN
    }
    /// The 802.1Q TCI and inner type, when tagged and long enough.
    pub fn vlan(&self) -> Option<(u16, u16)> {
        if self.ethertype() != ETHERTYPE_VLAN || self.is_cut_vlan() {
            return None;
        }
        let r = |f: std::ops::Range<usize>| super::be16(&self.buf[f]);
        Some((r(field::TCI), r(field::INNER_ETHERTYPE)))
    }
    pub fn buffer(&self) -> &'a [u8] {
        self.buf
    }
}

/// A parsed Ethernet header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Repr {
    pub src: [u8; 6],
    pub dst: [u8; 6],
    pub vlan_tci: Option<u16>,
    /// Type (≥ 1500) or 802.3 length (< 1500) after any VLAN tag.
    pub type_or_len: u16,
    pub header_len: usize,
}

impl Repr {
    pub fn parse(f: &Frame<'_>) -> Repr {
        let (vlan_tci, type_or_len, header_len) = match f.vlan() {
            Some((tci, t)) => (Some(tci), t, field::VLAN_HEADER_LEN),
            None => (None, f.ethertype(), field::HEADER_LEN),
        };
        let mut src = [0; 6];
        let mut dst = [0; 6];
        src.copy_from_slice(f.src());
        dst.copy_from_slice(f.dst());
        Repr {
            src,
            dst,
            vlan_tci,
            type_or_len,
            header_len,
        }
    }
}

/// `ether_ntoa_r` format: lower-case hex without zero padding (`0:a:95:67:49:3c`).
pub fn ether_ntoa(mac: &[u8]) -> String {
    let mut s = String::with_capacity(17);
    for (i, b) in mac.iter().enumerate() {
        if i > 0 {
            s.push(':');
        }
        s.push_str(&format!("{b:x}"));
    }
    s
}

/// The C module's `ETH_typestr` table.
pub fn type_name(t: u16) -> &'static str {
    match t {
        0x00bb => "EDP",
        0x0200 => "PUP",
        0x0800 => "IP",
        0x0806 => "ARP",
        0x88a2 => "AOE",
        0x2000 => "CDP",
        0x2004 => "DTP",
        0x8035 => "REVARP",
        0x8100 => "802.1Q",
        0x88a8 => "802.1AD",
        0x9100 => "QINQ1",
        0x9200 => "QINQ2",
        0x8137 => "IPX",
        0x86dd => "IPv6",
        0x880b => "PPP",
        0x8847 => "MPLS",
        0x8848 => "MPLS_MCAST",
        0x8863 => "PPPoE_DISC",
        0x8864 => "PPPoE",
        0x88cc => "LLDP",
        0x6558 => "TEB",
        _ => "UNKNOWN",
    }
}

pub const ETHERTYPE_IP: u16 = 0x0800;
pub const ETHERTYPE_ARP: u16 = 0x0806;
pub const ETHERTYPE_REVARP: u16 = 0x8035;
pub const ETHERTYPE_IPX: u16 = 0x8137;
pub const ETHERTYPE_IPV6: u16 = 0x86dd;

/// The C module's `eth_proto_parse`: the layer above Ethernet (or SNAP) by type.
pub fn decode_proto<'a>(ethertype: u16, pkt: &'a [u8], d: Dialect, out: &mut impl JsonSink) -> &'a [u8] {
    match ethertype {
        ETHERTYPE_IP => ipv4::decode(pkt, d, out),
        ETHERTYPE_IPV6 => ipv6::decode(pkt, d, out),
        ETHERTYPE_ARP => arp::decode(pkt, d, out),
        ETHERTYPE_REVARP => arp::decode_rarp(pkt, d, out),
        ETHERTYPE_IPX => ipx::decode(pkt, out),
        _ => pkt,
    }
}

/// Writes the Ethernet fields and those of the layers above; returns the
/// undecoded data. A frame shorter than the header emits nothing and is all data.
pub fn decode<'a>(pkt: &'a [u8], d: Dialect, out: &mut impl JsonSink) -> &'a [u8] {
    let Some(frame) = Frame::new_checked(pkt) else {
        return pkt;
    };
    let r = Repr::parse(&frame);
    out.put_str(c"ETH_src", ether_ntoa(&r.src).as_bytes());
    out.put_str(c"ETH_dst", ether_ntoa(&r.dst).as_bytes());
    if d == Dialect::Master && frame.is_cut_vlan() {
        return pkt;
    }
    if let Some(tci) = r.vlan_tci {
        out.put_int(c"ETH_tag", tci as i32);
    }
    let payload = super::after(pkt, r.header_len);
    let rest = if r.type_or_len < 1500 {
        out.put_int(c"ETH_len", r.type_or_len as i32);
        llc::decode(payload, d, out)
    } else {
        out.put_int(c"ETH_type", r.type_or_len as i32);
        out.put_str(c"ETH_typestr", type_name(r.type_or_len).as_bytes());
        decode_proto(r.type_or_len, payload, d, out)
    };
    // A minimum-size frame's rest that starts with 0x00 is taken for padding.
    if pkt.len() <= 60 && rest.first() == Some(&0) {
        &rest[rest.len()..]
    } else {
        rest
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::testutil::{frame_bytes, DIALECTS};
    use rsyslog_ffi::TextJson;

    #[test]
    fn decodes_ipv4_frame_header() {
        let mut f = vec![0u8; 14];
        f[0..6].copy_from_slice(&[0, 0xe0, 0x18, 0xb1, 0x0c, 0xad]);
        f[6..12].copy_from_slice(&[0, 0xc0, 0x9f, 0x32, 0x41, 0x8c]);
        f[12..14].copy_from_slice(&[0x08, 0x00]);
        for d in DIALECTS {
            let mut j = TextJson::new();
            assert_eq!(decode(&f, d, &mut j).len(), 0);
            assert_eq!(
                j.render(),
                r#"{ "ETH_src": "0:c0:9f:32:41:8c", "ETH_dst": "0:e0:18:b1:c:ad", "ETH_type": 2048, "ETH_typestr": "IP" }"#
            );
        }
    }

    #[test]
    fn vlan_and_length_frames() {
        let mut f = vec![0u8; 18];
        f[12..14].copy_from_slice(&[0x81, 0x00]);
        f[14..16].copy_from_slice(&[0x00, 0x64]);
        f[16..18].copy_from_slice(&[0x00, 0x26]);
        for d in DIALECTS {
            let mut j = TextJson::new();
            assert_eq!(decode(&f, d, &mut j).len(), 0);
            assert!(
                j.render().ends_with(r#""ETH_tag": 100, "ETH_len": 38 }"#),
                "{}",
                j.render()
            );
        }
    }

    #[test]
    fn truncated_frame_is_all_data() {
        for d in DIALECTS {
            let mut j = TextJson::new();
            assert_eq!(decode(&[1, 2, 3], d, &mut j), &[1, 2, 3]);
            assert_eq!(j.render(), "{ }");
        }
    }

    #[test]
    fn vlan_tag_cut_short() {
        // 16 bytes of a tagged frame: the inner type is not captured.
        let mut f = vec![0xff; 6];
        f.extend_from_slice(&[2, 0, 0, 0, 0, 1, 0x81, 0x00, 0x00, 0x64]);
        let (s, data) = frame_bytes(Dialect::Master, &f);
        assert_eq!(s, r#"{ "ETH_src": "2:0:0:0:0:1", "ETH_dst": "ff:ff:ff:ff:ff:ff" }"#);
        assert_eq!(data, 16, "current upstream: the whole frame is data");
        let (s, data) = frame_bytes(Dialect::V2504, &f);
        assert_eq!(
            s,
            r#"{ "ETH_src": "2:0:0:0:0:1", "ETH_dst": "ff:ff:ff:ff:ff:ff", "ETH_type": 33024, "ETH_typestr": "802.1Q" }"#
        );
        // What follows the 14 bytes starts with 0 in a short frame: padding.
        assert_eq!(data, 0);
        // The whole frame is data even when it starts with a zero byte.
        f[0] = 0;
        assert_eq!(frame_bytes(Dialect::Master, &f).1, 16);
    }
}
