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
/// does) and writes the protocol fields.
pub fn decode_packet(pkt: &[u8], out: &mut impl JsonSink) -> Decoded {
    let rest = eth::decode(pkt, out);
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
    use super::*;
    use rsyslog_ffi::TextJson;

    #[test]
    fn short_frame_padding_is_not_data() {
        let mut f = vec![0u8; 60];
        f[12] = 0x12; // unknown ethertype 0x1200 -> data after the header
        f[13] = 0x00;
        let mut j = TextJson::new();
        let d = decode_packet(&f, &mut j);
        assert_eq!(
            d,
            Decoded {
                data_offset: 60,
                data_len: 0
            }
        );
        f[14] = 1;
        let d = decode_packet(&f, &mut TextJson::new());
        assert_eq!(d.data_len, 46);
    }

    #[test]
    fn runt_frame_is_all_data_even_with_leading_zero() {
        let d = decode_packet(&[0, 1, 2], &mut TextJson::new());
        assert_eq!(
            d,
            Decoded {
                data_offset: 0,
                data_len: 3
            }
        );
    }

    #[test]
    fn hex() {
        let mut v = Vec::new();
        hex_upper(&[0x00, 0xab, 0x5f], &mut v);
        assert_eq!(v, b"00AB5F");
    }
}
