//! Arbitrary bytes as one captured Ethernet frame, decoded in every dialect
//! (8.2504's and current upstream's C impcap): the decoders must not panic,
//! must return a subslice of the packet, and the JSON must render.
#![no_main]

use impcap::capture::{write_data, write_metadata};
use impcap::decode::{decode_packet, Dialect};
use libfuzzer_sys::fuzz_target;
use rsyslog_ffi::json::render;
use rsyslog_ffi::TextJson;

fuzz_target!(|data: &[u8]| {
    for dialect in [Dialect::V2504, Dialect::Master] {
        one(data, dialect);
    }
});

fn one(data: &[u8], dialect: Dialect) {
    let mut j = TextJson::new();
    let d = decode_packet(data, dialect, &mut j);
    assert!(
        d.data_offset + d.data_len <= data.len(),
        "undecoded rest {}+{} outside the {}-byte packet",
        d.data_offset,
        d.data_len,
        data.len()
    );
    let text = j.render();
    assert!(text.starts_with('{') && text.ends_with('}'));

    // The module's whole per-packet path (metadata + data objects).
    let mut meta = TextJson::new();
    let rest = write_metadata(&mut meta, 1, (1_112_172_737, 733_384), data.len() as u32, data, dialect);
    assert_eq!(rest, &data[d.data_offset..d.data_offset + d.data_len]);
    let mut dat = TextJson::new();
    write_data(&mut dat, rest, &mut Vec::new());
    let mut out = Vec::new();
    render(&meta.value(), &mut out);
    render(&dat.value(), &mut out);
}
