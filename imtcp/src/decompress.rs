//! Stream decompression (`compression.mode="stream:always"`): the whole byte
//! stream of a session, after TLS and before the framing, is one zlib stream
//! or one zstd frame, as omfwd sends it.
//!
//! [`Inflater`] takes what a receive brought ([`Inflater::begin_receive`],
//! [`Inflater::push`]) and hands it back decompressed in slices of at most the
//! caller's buffer ([`Inflater::next`]), so a worker can stop between slices
//! and serve other sessions. The guards of current upstream imtcp are checked
//! on every slice before it is handed out: the cumulative ratio of
//! decompressed to compressed bytes, the decompressed bytes one receive
//! produced, and for zstd the window a frame asks for against a budget shared
//! by the listener. A fault names upstream's reason and detail; the caller
//! logs it and closes the session. Nothing here touches rsyslogd.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Output of one slice at most (upstream inflates into 64 KiB chunks).
pub const SLICE: usize = 64 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Driver {
    Zlib,
    Zstd,
}

impl Driver {
    pub fn name(self) -> &'static str {
        match self {
            Driver::Zlib => "zlib",
            Driver::Zstd => "zstd",
        }
    }
}

/// The per-session guards; 0 switches one off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_ratio: u64,
    pub max_per_receive: u64,
}

/// `compression.maxTotalZstdWindowBytes`: the zstd windows the sessions of one
/// listener may hold at once. 0 = no pre-check.
#[derive(Debug)]
pub struct WindowBudget {
    total: u64,
    used: AtomicU64,
}

impl WindowBudget {
    pub fn new(total: u64) -> WindowBudget {
        WindowBudget {
            total,
            used: AtomicU64::new(0),
        }
    }

    fn reserve(&self, n: u64) -> bool {
        if self.total == 0 {
            return true;
        }
        self.used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |u| {
                u.checked_add(n).filter(|t| *t <= self.total)
            })
            .is_ok()
    }

    fn release(&self, n: u64) {
        if self.total != 0 {
            self.used.fetch_sub(n, Ordering::AcqRel);
        }
    }

    /// Bytes reserved now.
    pub fn in_use(&self) -> u64 {
        self.used.load(Ordering::Acquire)
    }
}

/// Why a stream was given up; upstream's reason and detail texts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    /// The stream ended (connection closed) before its end marker.
    pub truncated: bool,
    pub detail: String,
}

impl Fault {
    fn invalid(detail: impl Into<String>) -> Fault {
        Fault {
            truncated: false,
            detail: detail.into(),
        }
    }

    pub fn reason(&self) -> &'static str {
        if self.truncated {
            "detected truncated compressed stream"
        } else {
            "received invalid compressed stream"
        }
    }
}

/// The parts of a zstd frame header that decide its window (RFC 8878 §3.1.1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ZstdHeader {
    /// Fewer bytes than the header needs.
    Incomplete,
    /// Not a zstd frame (the decoder will say what it is).
    NotAFrame,
    Frame {
        window: u64,
        /// Header bytes, magic number included.
        len: usize,
        /// A content checksum (4 bytes) follows the last block.
        checksum: bool,
    },
}

const ZSTD_MAGIC: u32 = 0xFD2F_B528;
/// Frame header descriptor: the byte after the magic number.
const FHD: usize = 4;

/// Reads the window size a zstd frame asks for from its header.
pub fn zstd_header(b: &[u8]) -> ZstdHeader {
    if b.len() < FHD {
        // A prefix of the magic number may still become a frame.
        return if ZSTD_MAGIC.to_le_bytes().starts_with(b) {
            ZstdHeader::Incomplete
        } else {
            ZstdHeader::NotAFrame
        };
    }
    if u32::from_le_bytes([b[0], b[1], b[2], b[3]]) != ZSTD_MAGIC {
        return ZstdHeader::NotAFrame;
    }
    let Some(&fhd) = b.get(FHD) else {
        return ZstdHeader::Incomplete;
    };
    let fcs_flag = fhd >> 6;
    let single_segment = fhd & 0x20 != 0;
    let dict_len = [0usize, 1, 2, 4][(fhd & 3) as usize];
    let fcs_len = match fcs_flag {
        0 if single_segment => 1,
        0 => 0,
        1 => 2,
        2 => 4,
        _ => 8,
    };
    let wd_len = usize::from(!single_segment);
    let len = FHD + 1 + wd_len + dict_len + fcs_len;
    if b.len() < len {
        return ZstdHeader::Incomplete;
    }
    let window = if single_segment {
        let f = &b[len - fcs_len..len];
        let mut v = 0u64;
        for (i, x) in f.iter().enumerate() {
            v |= u64::from(*x) << (8 * i);
        }
        if fcs_len == 2 {
            v + 256
        } else {
            v
        }
    } else {
        let wd = b[FHD + 1];
        let log = 10 + u32::from(wd >> 3);
        let base = 1u64 << log;
        base + (base / 8) * u64::from(wd & 7)
    };
    ZstdHeader::Frame {
        window,
        len,
        checksum: fhd & 4 != 0,
    }
}

/// Size of a zstd block header (RFC 8878 §3.1.1.2).
const BLOCK_HEADER: usize = 3;

/// What follows the current unit of a zstd frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Next {
    BlockHeader,
    Checksum,
    /// The frame ends (or is not followed: not a frame).
    Done,
}

/// Where the decoder is in a zstd frame, so that one decoder call never spans
/// two blocks: zstd drops a call's output when the call fails, and the output
/// of a good block must come out before a bad block after it is looked at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Track {
    /// Bytes of the current unit (header, block, checksum) not yet given to the decoder.
    left: usize,
    next: Next,
    checksum: bool,
}

impl Track {
    const UNTRACKED: Track = Track {
        left: 0,
        next: Next::Done,
        checksum: false,
    };

    /// How many bytes of `avail` the decoder may take now.
    fn limit(&mut self, avail: &[u8]) -> usize {
        if self.left == 0 {
            match self.next {
                Next::BlockHeader => {
                    let Some(h) = avail.get(..BLOCK_HEADER) else {
                        return 0;
                    };
                    let h = u32::from(h[0]) | (u32::from(h[1]) << 8) | (u32::from(h[2]) << 16);
                    let content = match (h >> 1) & 3 {
                        // RLE: one byte repeated; reserved: the decoder refuses the header.
                        1 => 1,
                        3 => 0,
                        _ => (h >> 3) as usize,
                    };
                    self.left = BLOCK_HEADER + content;
                    self.next = match (h & 1 != 0, self.checksum) {
                        (false, _) => Next::BlockHeader,
                        (true, true) => Next::Checksum,
                        (true, false) => Next::Done,
                    };
                }
                Next::Checksum => {
                    self.left = 4;
                    self.next = Next::Done;
                }
                Next::Done => return avail.len(),
            }
        }
        self.left.min(avail.len())
    }

    fn took(&mut self, n: usize) {
        self.left -= n.min(self.left);
    }
}

/// The largest window log whose window fits in `limit` bytes (zstd's own bounds: 10..=31);
/// `None` for 0 (no limit: zstd's default applies).
fn window_log_max(limit: u64) -> Option<u32> {
    (limit > 0).then(|| (63 - limit.leading_zeros()).clamp(10, 31))
}

enum Engine {
    /// `None` once the stream ended and the decoder was released.
    Zlib(Option<Box<flate2::Decompress>>),
    Zstd(Box<Zstd>),
}

struct Zstd {
    ctx: Option<zstd::zstd_safe::DCtx<'static>>,
    /// The frame header was read and its window reserved.
    in_frame: bool,
    track: Track,
    reserved: u64,
    budget: Option<Arc<WindowBudget>>,
}

impl Drop for Zstd {
    fn drop(&mut self) {
        if let Some(b) = &self.budget {
            b.release(std::mem::take(&mut self.reserved));
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Running,
    /// The end marker was decoded; any further byte is an error.
    Ended,
    Failed,
}

pub struct Inflater {
    driver: Driver,
    limits: Limits,
    engine: Engine,
    state: State,
    /// Compressed bytes received and not yet taken by the decoder.
    input: Vec<u8>,
    pos: usize,
    compressed: u64,
    decompressed: u64,
    this_receive: u64,
    /// The decoder may still hand out bytes (cleared when a slice came back empty).
    busy: bool,
    /// A fault found after the output of the same decoder call: reported by the next call.
    deferred: Option<String>,
    /// The zlib stream reached its end marker with nothing after it and its
    /// decoder was released (reported once by [`Inflater::take_released`]).
    released: bool,
}

impl Inflater {
    pub fn new(driver: Driver, limits: Limits, budget: Option<Arc<WindowBudget>>) -> Result<Inflater, Fault> {
        let engine = match driver {
            Driver::Zlib => Engine::Zlib(Some(Box::new(flate2::Decompress::new(true)))),
            Driver::Zstd => {
                let mut ctx = zstd::zstd_safe::DCtx::try_create()
                    .ok_or_else(|| Fault::invalid("zstd context allocation failed"))?;
                // Current upstream also bounds the window of one frame by the per-receive limit.
                if let Some(log) = window_log_max(limits.max_per_receive) {
                    ctx.set_parameter(zstd::zstd_safe::DParameter::WindowLogMax(log))
                        .map_err(|c| Fault::invalid(zstd::zstd_safe::get_error_name(c)))?;
                }
                Engine::Zstd(Box::new(Zstd {
                    ctx: Some(ctx),
                    in_frame: false,
                    track: Track::UNTRACKED,
                    reserved: 0,
                    budget,
                }))
            }
        };
        Ok(Inflater {
            driver,
            limits,
            engine,
            state: State::Running,
            input: Vec::new(),
            pos: 0,
            compressed: 0,
            decompressed: 0,
            this_receive: 0,
            busy: false,
            deferred: None,
            released: false,
        })
    }

    pub fn driver(&self) -> Driver {
        self.driver
    }

    /// A new receive starts: the per-receive guard counts from zero.
    pub fn begin_receive(&mut self) {
        self.this_receive = 0;
    }

    /// Compressed bytes of the current receive.
    pub fn push(&mut self, data: &[u8]) -> Result<(), Fault> {
        if data.is_empty() || self.state == State::Failed {
            return Ok(());
        }
        if self.pos == self.input.len() {
            self.input.clear();
            self.pos = 0;
        } else if self.pos > 0 && self.pos >= self.input.len() / 2 {
            self.input.drain(..self.pos);
            self.pos = 0;
        }
        self.input.extend_from_slice(data);
        self.busy = true;
        self.compressed = match self.compressed.checked_add(data.len() as u64) {
            Some(c) => c,
            None => return Err(self.fail("stream compressed byte counter overflowed")),
        };
        Ok(())
    }

    /// Whether [`Inflater::next`] may have more to hand out.
    pub fn busy(&self) -> bool {
        self.busy && self.state != State::Failed
    }

    fn fail(&mut self, detail: &str) -> Fault {
        self.state = State::Failed;
        self.busy = false;
        self.input = Vec::new();
        self.pos = 0;
        Fault::invalid(detail)
    }

    /// Decompresses into `out`; `Ok(0)` when everything received so far has
    /// been handed out. A slice that breaks a guard is not handed out.
    pub fn next(&mut self, out: &mut [u8]) -> Result<usize, Fault> {
        if self.state == State::Failed || out.is_empty() {
            return Ok(0);
        }
        if let Some(d) = self.deferred.take() {
            return Err(self.fail(&d));
        }
        // A call may take input (a header, a block whose output the decoder still
        // holds) and hand out nothing: go on while input is being taken.
        let n = loop {
            if self.state == State::Ended {
                break 0;
            }
            let before = self.pos;
            match self.step(out) {
                Ok(0) if self.pos != before && self.state == State::Running => continue,
                Ok(n) => break n,
                Err(detail) => return Err(self.fail(&detail)),
            }
        };
        if n == 0 {
            if self.state == State::Ended && self.pos < self.input.len() {
                let d = format!("data after end of {} stream", self.driver.name());
                return Err(self.fail(&d));
            }
            self.busy = false;
            return Ok(0);
        }
        self.this_receive = match self.this_receive.checked_add(n as u64) {
            Some(v) => v,
            None => return Err(self.fail("per-receive decompressed byte counter overflowed")),
        };
        self.decompressed = match self.decompressed.checked_add(n as u64) {
            Some(v) => v,
            None => return Err(self.fail("stream decompressed byte counter overflowed")),
        };
        let l = self.limits;
        if l.max_ratio > 0 && self.decompressed > self.compressed.saturating_mul(l.max_ratio) {
            return Err(self.fail("decompressed bytes exceeded configured expansion ratio"));
        }
        if l.max_per_receive > 0 && self.this_receive > l.max_per_receive {
            return Err(self.fail("decompressed bytes exceeded configured per-receive limit"));
        }
        Ok(n)
    }

    /// One decoder call (two for zstd at a frame start); the bytes written.
    fn step(&mut self, out: &mut [u8]) -> Result<usize, String> {
        let avail = &self.input[self.pos..];
        match &mut self.engine {
            Engine::Zlib(slot) => {
                let Some(z) = slot.as_mut() else {
                    return Ok(0);
                };
                let (in0, out0) = (z.total_in(), z.total_out());
                let r = z.decompress(avail, out, flate2::FlushDecompress::Sync);
                let used = (z.total_in() - in0) as usize;
                let made = (z.total_out() - out0) as usize;
                self.pos += used;
                let Ok(st) = r else {
                    // What inflate wrote before it found the fault is handed out first.
                    if made > 0 {
                        self.deferred = Some("zlib inflate failed".into());
                        return Ok(made);
                    }
                    return Err("zlib inflate failed".into());
                };
                if st == flate2::Status::StreamEnd {
                    self.state = State::Ended;
                    // As current upstream: the decoder is freed at once unless bytes
                    // follow the end marker (a fault, reported by the next call).
                    if self.pos == self.input.len() {
                        *slot = None;
                        self.released = true;
                    }
                } else if used == 0 && made == 0 && !avail.is_empty() {
                    return Err("zlib inflate made no progress".into());
                }
                Ok(made)
            }
            Engine::Zstd(z) => {
                if !z.in_frame {
                    match zstd_header(avail) {
                        ZstdHeader::Incomplete => return Ok(0),
                        ZstdHeader::NotAFrame => {}
                        ZstdHeader::Frame { window, len, checksum } => {
                            if let Some(b) = &z.budget {
                                if !b.reserve(window) {
                                    return Err("zstd decoder window budget exhausted".into());
                                }
                                z.reserved = window;
                            }
                            z.track = Track {
                                left: len,
                                next: Next::BlockHeader,
                                checksum,
                            };
                        }
                    }
                    z.in_frame = true;
                }
                let Some(ctx) = z.ctx.as_mut() else {
                    return Ok(0);
                };
                let avail = &avail[..z.track.limit(avail)];
                let mut inb = zstd::zstd_safe::InBuffer::around(avail);
                let mut outb = zstd::zstd_safe::OutBuffer::around(out);
                let r = ctx.decompress_stream(&mut outb, &mut inb);
                let (used, made) = (inb.pos(), outb.pos());
                let hint = r.map_err(|code| zstd::zstd_safe::get_error_name(code).to_string())?;
                self.pos += used;
                z.track.took(used);
                if hint == 0 {
                    self.state = State::Ended;
                    z.ctx = None;
                    if let Some(b) = &z.budget {
                        b.release(std::mem::take(&mut z.reserved));
                    }
                }
                Ok(made)
            }
        }
    }

    /// True once after a zlib stream reached its end marker and its decoder
    /// was released (current upstream writes a debug line at that moment).
    pub fn take_released(&mut self) -> bool {
        std::mem::take(&mut self.released)
    }

    /// The connection ended. A stream that began and did not reach its end
    /// marker is truncated; a connection that sent nothing is not.
    pub fn finish(&mut self) -> Result<(), Fault> {
        if self.state == State::Running && self.compressed > 0 {
            self.state = State::Failed;
            self.busy = false;
            return Err(Fault {
                truncated: true,
                detail: format!("{} stream ended before trailer", self.driver.name()),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    const NO_LIMITS: Limits = Limits {
        max_ratio: 0,
        max_per_receive: 0,
    };
    const DEFAULTS: Limits = Limits {
        max_ratio: 1024,
        max_per_receive: 64 << 20,
    };

    fn messages(n: usize) -> Vec<u8> {
        (0..n)
            .flat_map(|i| format!("<13>app: message number {i} with some text\n").into_bytes())
            .collect()
    }

    /// Writes each part and flushes after it (zlib's sync flush, zstd's flush).
    fn write_parts(e: &mut impl Write, parts: &[&[u8]]) {
        for p in parts {
            e.write_all(p).unwrap();
            e.flush().unwrap();
        }
    }

    /// A zlib stream as omfwd sends it: a sync flush after each part, the end marker last.
    fn zlib(parts: &[&[u8]], level: u32, finish: bool) -> Vec<u8> {
        let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::new(level));
        write_parts(&mut e, parts);
        if finish {
            e.finish().unwrap()
        } else {
            e.get_ref().clone()
        }
    }

    /// One zstd frame: a flush after each part, the frame end last.
    fn zstd(parts: &[&[u8]], level: i32, window_log: Option<u32>, finish: bool) -> Vec<u8> {
        let mut e = zstd::stream::write::Encoder::new(Vec::new(), level).unwrap();
        if let Some(w) = window_log {
            e.set_parameter(zstd::stream::raw::CParameter::WindowLog(w)).unwrap();
        }
        write_parts(&mut e, parts);
        if finish {
            e.finish().unwrap()
        } else {
            e.get_ref().clone()
        }
    }

    /// Feeds `wire` in receives of `chunk` bytes and slices of `slice` bytes; the output, or
    /// the output so far and the fault.
    fn run(inf: &mut Inflater, wire: &[u8], chunk: usize, slice: usize, eof: bool) -> (Vec<u8>, Option<Fault>) {
        let mut out = Vec::new();
        let mut buf = vec![0u8; slice];
        for c in wire.chunks(chunk.max(1)) {
            inf.begin_receive();
            if let Err(f) = inf.push(c) {
                return (out, Some(f));
            }
            while inf.busy() {
                match inf.next(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => out.extend_from_slice(&buf[..n]),
                    Err(f) => return (out, Some(f)),
                }
            }
        }
        if eof {
            if let Err(f) = inf.finish() {
                return (out, Some(f));
            }
        }
        (out, None)
    }

    fn inflater(d: Driver, l: Limits) -> Inflater {
        Inflater::new(d, l, None).unwrap()
    }

    #[test]
    fn streams_decode_at_any_split() {
        let m = messages(200);
        let parts: [&[u8]; 2] = [&m[..3000], &m[3000..]];
        for (d, level) in [
            (Driver::Zlib, 1),
            (Driver::Zlib, 6),
            (Driver::Zlib, 9),
            (Driver::Zstd, 1),
            (Driver::Zstd, 3),
            (Driver::Zstd, 19),
        ] {
            let wire = match d {
                Driver::Zlib => zlib(&parts, level as u32, true),
                Driver::Zstd => zstd(&parts, level, None, true),
            };
            for chunk in [1, 5, 100, 4096, wire.len()] {
                for slice in [1, 13, SLICE] {
                    let (out, f) = run(&mut inflater(d, DEFAULTS), &wire, chunk, slice, true);
                    assert_eq!(f, None, "{d:?} level {level} chunk {chunk} slice {slice}");
                    assert_eq!(out, m);
                }
            }
        }
    }

    #[test]
    fn an_empty_connection_is_not_a_truncated_stream() {
        for d in [Driver::Zlib, Driver::Zstd] {
            let (out, f) = run(&mut inflater(d, DEFAULTS), b"", 1, SLICE, true);
            assert!(out.is_empty() && f.is_none());
        }
    }

    #[test]
    fn a_stream_without_its_end_is_truncated_and_keeps_what_was_flushed() {
        let m = messages(10);
        for (d, wire) in [
            (Driver::Zlib, zlib(&[&m], 6, false)),
            (Driver::Zstd, zstd(&[&m], 3, None, false)),
        ] {
            let (out, f) = run(&mut inflater(d, DEFAULTS), &wire, 50, SLICE, true);
            assert_eq!(out, m, "{d:?}: the flushed messages");
            let f = f.expect("truncated");
            assert!(f.truncated);
            assert_eq!(f.reason(), "detected truncated compressed stream");
            assert_eq!(f.detail, format!("{} stream ended before trailer", d.name()));
        }
    }

    #[test]
    fn bytes_after_the_end_are_an_error_after_the_messages_before_them() {
        let m = messages(5);
        for (d, mut wire) in [
            (Driver::Zlib, zlib(&[&m], 6, true)),
            (Driver::Zstd, zstd(&[&m], 3, None, true)),
        ] {
            wire.extend_from_slice(b"<13>app: plain after the end\n");
            for chunk in [3, wire.len()] {
                let (out, f) = run(&mut inflater(d, DEFAULTS), &wire, chunk, SLICE, true);
                assert_eq!(out, m);
                let f = f.unwrap_or_else(|| panic!("trailing data {d:?} {chunk}"));
                assert!(!f.truncated);
                assert_eq!(f.reason(), "received invalid compressed stream");
                assert_eq!(f.detail, format!("data after end of {} stream", d.name()));
            }
        }
    }

    #[test]
    fn a_zlib_decoder_is_released_once_at_a_clean_end() {
        let m = messages(20);
        let wire = zlib(&[&m], 6, true);
        let mut buf = vec![0u8; SLICE];
        for chunk in [1, 7, wire.len()] {
            let mut inf = inflater(Driver::Zlib, DEFAULTS);
            let (mut out, mut released) = (Vec::new(), 0);
            for (i, c) in wire.chunks(chunk).enumerate() {
                inf.begin_receive();
                inf.push(c).unwrap();
                while inf.busy() {
                    let n = inf.next(&mut buf).unwrap();
                    out.extend_from_slice(&buf[..n]);
                    if inf.take_released() {
                        released += 1;
                        // Only in the receive that carried the end marker (the last one).
                        assert_eq!(i, wire.chunks(chunk).count() - 1, "chunk {chunk}");
                        assert_eq!(out, m, "chunk {chunk}: every message before the release");
                    }
                    if n == 0 {
                        break;
                    }
                }
            }
            assert_eq!(released, 1, "chunk {chunk}");
            assert!(!inf.take_released());
            // The session stays usable: a byte after the end is the upstream fault, no new release.
            inf.begin_receive();
            inf.push(b"x").unwrap();
            let f = inf.next(&mut buf).unwrap_err();
            assert_eq!(f.detail, "data after end of zlib stream");
            assert!(!inf.take_released());
            assert_eq!(inf.finish(), Ok(()));
        }
        // Bytes after the end marker in the same receive: a fault, the decoder is not
        // reported as released (current upstream logs only the fault).
        let mut trailing = wire.clone();
        trailing.push(b'x');
        let mut inf = inflater(Driver::Zlib, DEFAULTS);
        let (out, f) = run(&mut inf, &trailing, trailing.len(), SLICE, true);
        assert_eq!(out, m);
        assert_eq!(f.unwrap().detail, "data after end of zlib stream");
        assert!(!inf.take_released());
        // zstd has no such report (current upstream writes none for it).
        let mut inf = inflater(Driver::Zstd, DEFAULTS);
        let (out, f) = run(&mut inf, &zstd(&[&m], 3, None, true), 64, SLICE, true);
        assert_eq!((out, f), (m, None));
        assert!(!inf.take_released());
    }

    #[test]
    fn corruption_in_the_middle_keeps_what_came_before() {
        let a = messages(50);
        let b = messages(60);
        for (d, first, second, detail) in [
            (
                Driver::Zlib,
                zlib(&[&a], 6, false),
                zlib(&[&a, &b], 6, true),
                "zlib inflate failed",
            ),
            (
                Driver::Zstd,
                zstd(&[&a], 3, None, false),
                zstd(&[&a, &b], 3, None, true),
                "",
            ),
        ] {
            // The second part's bytes garbled; then only its first byte made a block of
            // the reserved type (an error at once, no garbage output before it).
            let mut garbled = second.clone();
            for x in &mut garbled[first.len() + 3..first.len() + 40] {
                *x ^= 0x5a;
            }
            let mut reserved = second.clone();
            reserved[first.len()] = 0xff;
            for (wire, exact) in [(garbled, false), (reserved, true)] {
                // In the same receive as the good part, too: its output comes out first.
                for chunk in [first.len(), wire.len()] {
                    let (out, f) = run(&mut inflater(d, DEFAULTS), &wire, chunk, SLICE, true);
                    let f = f.expect("corrupt");
                    assert!(out.starts_with(&a), "{d:?} {chunk}: the first part survives");
                    if exact {
                        assert_eq!(out, a, "{d:?} {chunk}");
                    }
                    assert!(!f.truncated, "{d:?}");
                    if !detail.is_empty() {
                        assert_eq!(f.detail, detail);
                    } else if exact {
                        assert_eq!(f.detail, "Data corruption detected");
                    }
                }
            }
        }
    }

    #[test]
    fn the_other_driver_is_refused_at_once() {
        let m = messages(5);
        let (out, f) = run(
            &mut inflater(Driver::Zlib, DEFAULTS),
            &zstd(&[&m], 3, None, true),
            4096,
            SLICE,
            true,
        );
        assert!(out.is_empty());
        assert_eq!(f.unwrap().detail, "zlib inflate failed");
        let (out, f) = run(
            &mut inflater(Driver::Zstd, DEFAULTS),
            &zlib(&[&m], 6, true),
            4096,
            SLICE,
            true,
        );
        assert!(out.is_empty());
        // ZSTD_getErrorName's text for a bad magic number.
        assert_eq!(f.unwrap().detail, "Unknown frame descriptor");
    }

    #[test]
    fn a_bomb_stops_at_the_ratio_guard_and_passes_with_it_off() {
        let zeros = vec![0u8; 8 << 20];
        for (d, wire) in [
            (Driver::Zlib, zlib(&[&zeros], 9, true)),
            (Driver::Zstd, zstd(&[&zeros], 3, None, true)),
        ] {
            let (out, f) = run(&mut inflater(d, DEFAULTS), &wire, 4096, SLICE, true);
            assert_eq!(
                f.expect("guard").detail,
                "decompressed bytes exceeded configured expansion ratio",
                "{d:?}"
            );
            assert!((out.len() as u64) <= wire.len() as u64 * 1024, "{d:?}");
            let (out, f) = run(&mut inflater(d, NO_LIMITS), &wire, 4096, SLICE, true);
            assert_eq!((f, out.len()), (None, zeros.len()), "{d:?}");
        }
    }

    #[test]
    fn the_per_receive_guard_counts_one_receive() {
        let m = messages(2000); // ~90 KB
                                // zlib: a zstd window of this stream's level would already be over the limit.
        let wire = zlib(&[&m], 6, true);
        let limits = Limits {
            max_ratio: 0,
            max_per_receive: 50_000,
        };
        // All in one receive: over the limit, and the slice that crossed it is not handed out.
        let (out, f) = run(&mut inflater(Driver::Zlib, limits), &wire, wire.len(), 4096, true);
        assert_eq!(
            f.unwrap().detail,
            "decompressed bytes exceeded configured per-receive limit"
        );
        assert!(out.len() <= 50_000);
        // Many small receives: each stays below it.
        let (out, f) = run(&mut inflater(Driver::Zlib, limits), &wire, 64, 4096, true);
        assert_eq!((f, out), (None, m));
    }

    #[test]
    fn the_per_receive_limit_also_bounds_a_zstd_window() {
        assert_eq!(window_log_max(0), None);
        assert_eq!(window_log_max(64 << 20), Some(26));
        assert_eq!(window_log_max((1 << 20) + 1), Some(20));
        assert_eq!(window_log_max(1), Some(10));
        let wire = zstd(&[b"<13>app: big window\n"], 3, Some(27), true);
        let limits = Limits {
            max_ratio: 0,
            max_per_receive: 1 << 20,
        };
        let (out, f) = run(&mut inflater(Driver::Zstd, limits), &wire, 4096, SLICE, true);
        assert!(out.is_empty());
        assert_eq!(f.unwrap().detail, "Frame requires too much memory for decoding");
        let (out, f) = run(
            &mut inflater(Driver::Zstd, DEFAULTS),
            &zstd(&[b"x\n"], 3, Some(26), true),
            9,
            SLICE,
            true,
        );
        assert_eq!((f, out), (None, b"x\n".to_vec()));
    }

    #[test]
    fn zstd_headers_give_the_window() {
        let m = messages(3);
        for w in [10, 17, 21, 27] {
            let wire = zstd(&[&m], 3, Some(w), true);
            assert!(
                matches!(zstd_header(&wire), ZstdHeader::Frame { window, .. } if window == 1 << w),
                "log {w}"
            );
            for cut in 0..6 {
                assert_eq!(zstd_header(&wire[..cut]), ZstdHeader::Incomplete);
            }
        }
        // Single segment: the window is the content size.
        let one = zstd::bulk::compress(&m, 3).unwrap();
        assert!(matches!(zstd_header(&one), ZstdHeader::Frame { window, .. } if window == m.len() as u64));
        assert_eq!(zstd_header(b"\x78\x9c"), ZstdHeader::NotAFrame);
        assert_eq!(zstd_header(b"<13>"), ZstdHeader::NotAFrame);
        // A window descriptor with a mantissa: 2^20 + 3 * 2^17.
        let mut hdr = ZSTD_MAGIC.to_le_bytes().to_vec();
        hdr.extend_from_slice(&[0x00, (10 << 3) | 3]);
        assert_eq!(
            zstd_header(&hdr),
            ZstdHeader::Frame {
                window: (1 << 20) + 3 * (1 << 17),
                len: 6,
                checksum: false
            }
        );
    }

    #[test]
    fn the_window_budget_is_shared_and_given_back() {
        let m = messages(3);
        let wire = zstd(&[&m], 3, Some(20), true);
        let budget = Arc::new(WindowBudget::new(3 << 20));
        let mk = || Inflater::new(Driver::Zstd, DEFAULTS, Some(budget.clone())).unwrap();
        let (mut a, mut b, mut c, mut e) = (mk(), mk(), mk(), mk());
        // Three headers without their ends hold three windows.
        for i in [&mut a, &mut b, &mut c] {
            let (_, f) = run(i, &wire[..20], 20, SLICE, false);
            assert_eq!(f, None);
        }
        assert_eq!(budget.in_use(), 3 << 20);
        let (_, f) = run(&mut e, &wire, wire.len(), SLICE, false);
        assert_eq!(f.unwrap().detail, "zstd decoder window budget exhausted");
        // A finished frame and a dropped session give theirs back.
        let (out, f) = run(&mut a, &wire[20..], 4096, SLICE, true);
        assert_eq!((f, out), (None, m.clone()));
        drop(b);
        assert_eq!(budget.in_use(), 1 << 20);
        let (out, f) = run(&mut mk(), &wire, wire.len(), SLICE, true);
        assert_eq!((f, out), (None, m));
        drop(c);
        assert_eq!(budget.in_use(), 0);
        // 0: no pre-check.
        let unlimited = Arc::new(WindowBudget::new(0));
        let mut big = Inflater::new(Driver::Zstd, NO_LIMITS, Some(unlimited.clone())).unwrap();
        let (_, f) = run(&mut big, &zstd(&[b"x\n"], 3, Some(27), true), 4096, SLICE, true);
        assert_eq!(f, None);
    }
}
