//! Helpers shared by the decoders' unit tests.

use crate::decode::Dialect;
use rsyslog_ffi::TextJson;

/// Bytes from a hex string (test data only).
pub fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// Decodes a whole captured frame and compares with what the C module
/// printed for it (minus the fields impcap.c adds around the decoders).
/// Frames that no dialect tells apart are checked in both.
pub fn check_frame(frame: &str, expected: &str, data_len: usize) {
    for dialect in DIALECTS {
        let mut j = TextJson::new();
        let d = crate::decode::decode_packet(&hex(frame), dialect, &mut j);
        assert_eq!(j.render(), expected, "{dialect:?}");
        assert_eq!(d.data_len, data_len, "{dialect:?}");
    }
}

/// Every dialect, for the checks that hold in all of them.
pub const DIALECTS: [Dialect; 2] = [Dialect::V2504, Dialect::Master];

/// Every prefix of `samples` and of pseudo-random inputs (biased towards the
/// bytes the text parsers look for) goes through `decode`: no panic, and the
/// returned rest lies inside the input.
pub fn assert_stays_inside(decode: impl Fn(&[u8]) -> &[u8], samples: &[Vec<u8>]) {
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut all: Vec<Vec<u8>> = samples.to_vec();
    for len in [0usize, 3, 12, 40, 70, 300] {
        for _ in 0..200 {
            let v = (0..len)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    [0, b' ', b'\r', b'\n', b':', b'S', b'M', b'B', (seed >> 32) as u8][(seed % 9) as usize]
                })
                .collect();
            all.push(v);
        }
    }
    for s in &all {
        for n in 0..=s.len() {
            let p = &s[..n];
            let rest = decode(p);
            if !rest.is_empty() {
                let start = (rest.as_ptr() as usize).wrapping_sub(p.as_ptr() as usize);
                assert!(start + rest.len() <= p.len());
            }
        }
    }
}

/// One layer's rendered fields and the length of what it left undecoded.
pub fn layer(decode: for<'a> fn(&'a [u8], &mut TextJson) -> &'a [u8], pkt: &[u8]) -> (String, usize) {
    let mut j = TextJson::new();
    let rest = decode(pkt, &mut j);
    (j.render(), rest.len())
}

/// Decodes a whole captured frame that every dialect decodes alike (checked):
/// (rendered fields, `net_bytes_data`).
pub fn frame(hex_frame: &str) -> (String, usize) {
    let v2504 = frame_in(Dialect::V2504, hex_frame);
    assert_eq!(frame_in(Dialect::Master, hex_frame), v2504, "dialects differ");
    v2504
}

/// Decodes a whole captured frame in `dialect`: (rendered fields, `net_bytes_data`).
pub fn frame_in(dialect: Dialect, hex_frame: &str) -> (String, usize) {
    frame_bytes(dialect, &hex(hex_frame))
}

/// [`frame_in`] over bytes.
pub fn frame_bytes(dialect: Dialect, frame: &[u8]) -> (String, usize) {
    let mut j = TextJson::new();
    let d = crate::decode::decode_packet(frame, dialect, &mut j);
    (j.render(), d.data_len)
}
