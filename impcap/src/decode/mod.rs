//! Packet decoders: pure Rust over byte slices, no rsyslogd needed.
//!
//! Each layer follows smoltcp's `wire` style: a checked view over the bytes
//! with named field offsets, which refuses to read past the captured length.
//! A decoder writes its fields into a [`JsonSink`] in the order the C impcap
//! emits them and returns the data it left undecoded (a subslice of the
//! packet, empty when nothing is left), as the C module's `data_ret_t`.
//!
//! Where the C module hands a layer a negative size (a header length larger
//! than what was captured), the layer here gets an empty slice.
//!
//! The C module's output changed between releases: current upstream checks
//! header and address lengths against the captured bytes where 8.2302 and
//! 8.2504 did not (see [`Dialect`]). The decoders take the dialect to follow
//! as a value; the module picks it once from the host it was loaded into.

pub mod arp;
pub mod dns;
pub mod eth;
pub mod ftp;
pub mod http;
pub mod icmp;
pub mod ipv4;
pub mod ipv6;
pub mod ipx;
pub mod llc;
pub mod smb;
pub mod tcp;
#[cfg(test)]
mod testutil;
pub mod udp;

use rsyslog_ffi::json::JsonSink;

/// Which C impcap's output the decoders reproduce.
///
/// The two differ for malformed or truncated packets and in `RARP_hwSrc`;
/// each decoder's notes say where.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Dialect {
    /// rsyslog 8.2302 to 8.2504: header lengths are taken as given.
    #[default]
    V2504,
    /// Current upstream (8.26xx): a VLAN tag, an IPv4 or TCP header length,
    /// an LLC control field, ARP address lengths and IPv6 extension headers
    /// that do not fit the captured bytes (or are below the minimum) end the
    /// decoding of that layer; IPv6 extension header lengths no longer wrap;
    /// `RARP_hwSrc` is the sender's address.
    Master,
}

/// What decoding one packet produced besides its JSON fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decoded {
    /// Offset of the undecoded rest (`net_bytes_data` = caplen - offset,
    /// or 0 when the rest is Ethernet padding).
    pub data_offset: usize,
    /// Length of the undecoded rest reported as `net_bytes_data`.
    pub data_len: usize,
}

/// Decodes a captured packet (always starting at Ethernet, as the C module
/// does) and writes the protocol fields as the C module of `dialect` does.
pub fn decode_packet(pkt: &[u8], dialect: Dialect, out: &mut impl JsonSink) -> Decoded {
    let rest = eth::decode(pkt, dialect, out);
    let data_offset = offset_in(pkt, rest);
    Decoded {
        data_offset,
        // Never past the packet, even if a decoder broke the subslice rule.
        data_len: rest.len().min(pkt.len() - data_offset),
    }
}

/// Big-endian u16 from the first two bytes of `b` (the caller checked the length).
#[inline]
pub(crate) fn be16(b: &[u8]) -> u16 {
    u16::from_be_bytes([b[0], b[1]])
}

/// Big-endian u32 from the first four bytes of `b` (the caller checked the length).
#[inline]
pub(crate) fn be32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

/// The C module's `RETURN_DATA_AFTER(x)`: what follows the first `x` bytes.
#[inline]
pub fn after(pkt: &[u8], x: usize) -> &[u8] {
    pkt.get(x..).unwrap_or(&[])
}

/// Where `part` (a subslice of `whole`, or empty) starts in `whole`.
fn offset_in(whole: &[u8], part: &[u8]) -> usize {
    if part.is_empty() {
        return whole.len();
    }
    let off = (part.as_ptr() as usize).wrapping_sub(whole.as_ptr() as usize);
    debug_assert!(
        off + part.len() <= whole.len(),
        "decoders return subslices of the packet"
    );
    off.min(whole.len())
}

/// Appends the upper-case hex of `data`, as the C module's data container holds it.
pub fn hex_upper(data: &[u8], out: &mut Vec<u8>) {
    const H: &[u8; 16] = b"0123456789ABCDEF";
    let start = out.len();
    out.resize(start + data.len() * 2, 0);
    for (pair, &b) in out[start..].chunks_exact_mut(2).zip(data) {
        pair[0] = H[(b >> 4) as usize];
        pair[1] = H[(b & 15) as usize];
    }
}

#[cfg(test)]
mod tests {
    use super::testutil::DIALECTS;
    use super::*;
    use rsyslog_ffi::TextJson;

    #[test]
    fn short_frame_padding_is_not_data() {
        let mut f = vec![0u8; 60];
        f[12] = 0x12; // unknown ethertype 0x1200 -> data after the header
        f[13] = 0x00;
        for dialect in DIALECTS {
            let mut j = TextJson::new();
            let d = decode_packet(&f, dialect, &mut j);
            assert_eq!(
                d,
                Decoded {
                    data_offset: 60,
                    data_len: 0
                }
            );
            let mut g = f.clone();
            g[14] = 1;
            let d = decode_packet(&g, dialect, &mut TextJson::new());
            assert_eq!(d.data_len, 46);
        }
    }

    #[test]
    fn runt_frame_is_all_data_even_with_leading_zero() {
        for dialect in DIALECTS {
            let d = decode_packet(&[0, 1, 2], dialect, &mut TextJson::new());
            assert_eq!(
                d,
                Decoded {
                    data_offset: 0,
                    data_len: 3
                }
            );
        }
    }

    #[test]
    fn hex() {
        let mut v = Vec::new();
        hex_upper(&[0x00, 0xab, 0x5f], &mut v);
        assert_eq!(v, b"00AB5F");
    }
}
