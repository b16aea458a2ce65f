//! Writes classic pcap files (microsecond, Ethernet) for tests and the demo.

use std::io::Write;
use std::path::Path;

/// One captured frame: timestamp and bytes (`len` = original length).
pub struct Frame {
    pub ts_sec: u32,
    pub ts_usec: u32,
    pub data: Vec<u8>,
    pub orig_len: u32,
}

impl Frame {
    pub fn new(ts_sec: u32, ts_usec: u32, data: Vec<u8>) -> Frame {
        let orig_len = data.len() as u32;
        Frame {
            ts_sec,
            ts_usec,
            data,
            orig_len,
        }
    }
}

/// Writes `frames` as a little-endian pcap file with link type 1 (Ethernet).
pub fn write(path: &Path, frames: &[Frame]) -> std::io::Result<()> {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path)?);
    f.write_all(&0xa1b2_c3d4u32.to_le_bytes())?;
    f.write_all(&2u16.to_le_bytes())?;
    f.write_all(&4u16.to_le_bytes())?;
    f.write_all(&0i32.to_le_bytes())?;
    f.write_all(&0u32.to_le_bytes())?;
    f.write_all(&262_144u32.to_le_bytes())?; // snaplen: libpcap's maximum
    f.write_all(&1u32.to_le_bytes())?;
    for fr in frames {
        f.write_all(&fr.ts_sec.to_le_bytes())?;
        f.write_all(&fr.ts_usec.to_le_bytes())?;
        f.write_all(&(fr.data.len() as u32).to_le_bytes())?;
        f.write_all(&fr.orig_len.to_le_bytes())?;
        f.write_all(&fr.data)?;
    }
    f.flush()
}

/// An Ethernet frame: dst, src, ethertype, payload.
pub fn ethernet(dst: [u8; 6], src: [u8; 6], ethertype: u16, payload: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(14 + payload.len());
    v.extend_from_slice(&dst);
    v.extend_from_slice(&src);
    v.extend_from_slice(&ethertype.to_be_bytes());
    v.extend_from_slice(payload);
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_header_and_records() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.pcap");
        write(&p, &[Frame::new(1, 2, vec![9; 20])]).unwrap();
        let b = std::fs::read(&p).unwrap();
        assert_eq!(b.len(), 24 + 16 + 20);
        assert_eq!(&b[0..4], &[0xd4, 0xc3, 0xb2, 0xa1]);
        assert_eq!(&b[24..28], &1u32.to_le_bytes());
    }
}
