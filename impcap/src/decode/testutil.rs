//! Helpers shared by the decoders' unit tests.

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
pub fn check_frame(frame: &str, expected: &str, data_len: usize) {
    let mut j = TextJson::new();
    let d = crate::decode::decode_packet(&hex(frame), &mut j);
    assert_eq!(j.render(), expected);
    assert_eq!(d.data_len, data_len);
}

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

/// Decodes a whole captured frame: (rendered fields, `net_bytes_data`).
pub fn frame(hex_frame: &str) -> (String, usize) {
    let mut j = TextJson::new();
    let d = crate::decode::decode_packet(&hex(hex_frame), &mut j);
    (j.render(), d.data_len)
}
