//! imtcp's decompress-then-frame path (`compression.mode="stream:always"`):
//! received bytes go through `imtcp::decompress::Inflater` in receives and
//! slices, as the server drives it, and each slice into the `Framer`.
//!
//! Half the inputs build the stream by compressing the input's plaintext
//! (zlib or zstd, sync flushes at chosen points, with or without the end
//! marker), then optionally garble or cut a few bytes of it; the others feed
//! the input's bytes as they are. Checked: nothing panics or hangs; an intact
//! stream with the guards off gives back exactly the plaintext (a cut one a
//! prefix of it, and `finish` says truncated); the ratio and per-receive
//! guards hold for every slice handed out; after a fault nothing more comes
//! out; no frame is empty or longer than maxMessageSize; the window budget is
//! given back.
//!
//! Input: a 24-byte header (see `Setup::parse`), then the plaintext or the
//! raw stream.
#![no_main]

use imtcp::decompress::{Driver, Fault, Inflater, Limits, WindowBudget, SLICE};
use imtcp::framing::{Event, Framer, FramingConfig, FramingError};
use libfuzzer_sys::fuzz_target;
use std::io::Write;
use std::sync::Arc;

const HEADER: usize = 24;
/// Bounds for streams that expand a lot (raw bombs with the guards off): the
/// run stops early, without the end checks. An intact compressed plaintext
/// never reaches them (it is at most `-max_len` bytes).
const MAX_OUT: usize = 8 << 20;
const MAX_SLICES: usize = 300_000;
/// The faults a guard raises (zstd's text for a window over the per-receive bound).
const GUARD_FAULTS: [&str; 4] = [
    "decompressed bytes exceeded configured expansion ratio",
    "decompressed bytes exceeded configured per-receive limit",
    "zstd decoder window budget exhausted",
    "Frame requires too much memory for decoding",
];

#[derive(Debug, PartialEq)]
enum Out {
    Frame(Vec<u8>),
    Error(FramingError),
}

struct Setup {
    driver: Driver,
    compress: bool,
    end_marker: bool,
    truncate: Option<u16>,
    mutations: Vec<(u16, u8)>,
    limits: Limits,
    budget: Option<u64>,
    framing: FramingConfig,
    /// zlib: level 0..=9; zstd: level 1..=5.
    level: u8,
    /// zstd: window log 10..=25.
    window_log: u32,
    chunks: [u8; 4],
    slices: [u8; 2],
    flush_every: usize,
    split_pushes: bool,
    /// Stop draining after this many slices and push the next receive (the
    /// server never does; the API allows it).
    interrupt: Option<usize>,
    finish: bool,
}

impl Setup {
    fn parse(h: &[u8; HEADER]) -> Setup {
        let a = h[0];
        let b = h[23];
        const RATIOS: [u64; 8] = [0, 1, 2, 3, 10, 100, 1024, 0];
        const PER_RECEIVE: [u64; 8] = [0, 1, 7, 100, 1000, 65536, 1 << 20, 0];
        let u16at = |i: usize| u16::from_le_bytes([h[i], h[i + 1]]);
        Setup {
            driver: if a & 1 != 0 { Driver::Zstd } else { Driver::Zlib },
            compress: a & 2 != 0,
            end_marker: a & 4 != 0,
            truncate: (a & 8 != 0).then(|| u16at(15)),
            mutations: if b & 1 != 0 {
                vec![(u16at(17), h[19]), (u16at(20), h[22])]
            } else {
                Vec::new()
            },
            limits: Limits {
                max_ratio: RATIOS[h[1] as usize % 8],
                max_per_receive: PER_RECEIVE[h[2] as usize % 8],
            },
            budget: match h[3] % 8 {
                1 => Some(0),
                2 => Some(1024),
                3 => Some(1 << 20),
                4 => Some(1 << 24),
                _ => None,
            },
            framing: FramingConfig {
                max_line: if h[5] == 255 { 8096 } else { 1 + h[5] as usize % 64 },
                support_octet_counted: a & 16 != 0,
                addtl_delimiter: if a & 64 != 0 { h[4] as i32 } else { -1 },
                disable_lf: a & 32 != 0,
                max_frame_size: 1 + h[6] as i64 % 200,
                discard_truncated: a & 128 != 0,
                ..FramingConfig::default()
            },
            level: h[7] & 15,
            window_log: 10 + u32::from(h[7] >> 4),
            chunks: [h[8], h[9], h[10], h[11]],
            slices: [h[12], h[13]],
            flush_every: h[14] as usize * 5,
            split_pushes: b & 2 != 0,
            interrupt: (b & 4 != 0).then(|| 1 + (b >> 4) as usize % 4),
            finish: b & 8 == 0,
        }
    }

    fn chunk(&self, i: usize) -> usize {
        match self.chunks[i % 4] {
            255 => usize::MAX,
            c => 1 + c as usize * 3,
        }
    }

    fn slice(&self, i: usize) -> usize {
        match self.slices[i % 2] {
            255 => SLICE,
            254 => 4096,
            s => 1 + s as usize % 64,
        }
    }
}

/// The plaintext as omfwd sends it: a sync flush every `flush_every` bytes and
/// at the end, then the end marker if asked.
/// Writes `plain` in pieces of `step` bytes, flushing after each (zlib's sync
/// flush, zstd's flush) and once more at the end.
fn write_flushed(e: &mut impl Write, plain: &[u8], step: usize) {
    for p in plain.chunks(step) {
        e.write_all(p).unwrap();
        e.flush().unwrap();
    }
    e.flush().unwrap();
}

fn compress(s: &Setup, plain: &[u8]) -> Vec<u8> {
    let step = if s.flush_every == 0 {
        plain.len().max(1)
    } else {
        s.flush_every
    };
    match s.driver {
        Driver::Zlib => {
            let level = flate2::Compression::new(u32::from(s.level % 10));
            let mut e = flate2::write::ZlibEncoder::new(Vec::new(), level);
            write_flushed(&mut e, plain, step);
            if s.end_marker {
                e.finish().unwrap()
            } else {
                e.get_ref().clone()
            }
        }
        Driver::Zstd => {
            let mut e = zstd::stream::write::Encoder::new(Vec::new(), 1 + i32::from(s.level % 5)).unwrap();
            e.set_parameter(zstd::stream::raw::CParameter::WindowLog(s.window_log))
                .unwrap();
            write_flushed(&mut e, plain, step);
            if s.end_marker {
                e.finish().unwrap()
            } else {
                e.get_ref().clone()
            }
        }
    }
}

fn check_frames(cfg: &FramingConfig, events: &[Out]) {
    for e in events {
        if let Out::Frame(f) = e {
            assert!(
                !f.is_empty() && f.len() <= cfg.max_line,
                "frame of {} bytes, max_line {}",
                f.len(),
                cfg.max_line
            );
        }
    }
}

fn frame_whole(cfg: &FramingConfig, data: &[u8]) -> Vec<Out> {
    let mut f = Framer::new(cfg.clone());
    let mut v = Vec::new();
    let mut cb = |e: Event<'_>| match e {
        Event::Frame(b) => v.push(Out::Frame(b.to_vec())),
        Event::Error(e) => v.push(Out::Error(e)),
    };
    f.feed(data, &mut cb);
    f.close(&mut cb);
    v
}

/// After a fault nothing comes out, whatever the caller does next.
fn assert_dead(inf: &mut Inflater, buf: &mut [u8]) {
    assert!(!inf.busy(), "busy after a fault");
    assert_eq!(inf.next(buf), Ok(0), "output after a fault");
    inf.begin_receive();
    assert_eq!(inf.push(b"\x78\x9c more"), Ok(()));
    assert!(!inf.busy(), "busy after a push after a fault");
    assert_eq!(inf.next(buf), Ok(0), "output after a push after a fault");
    assert_eq!(inf.finish(), Ok(()), "finish after a fault");
}

/// The inflater, the framer behind it, and what came out.
struct Drive<'a> {
    s: &'a Setup,
    inf: Inflater,
    framer: Framer,
    budget: Option<Arc<WindowBudget>>,
    events: Vec<Out>,
    buf: Vec<u8>,
    out: Vec<u8>,
    pushed: u64,
    this_receive: u64,
    fault: Option<Fault>,
    slices: usize,
}

impl Drive<'_> {
    /// One slice into the framing; `Err(true)` on a fault, `Err(false)` at a bound of this target.
    fn slice(&mut self) -> Result<usize, bool> {
        let s = self.s;
        let want = s.slice(self.slices);
        self.slices += 1;
        let n = match self.inf.next(&mut self.buf[..want]) {
            Ok(n) => n,
            Err(f) => {
                self.fault = Some(f);
                return Err(true);
            }
        };
        assert!(n <= want);
        let got = &self.buf[..n];
        self.out.extend_from_slice(got);
        self.this_receive += n as u64;
        if s.limits.max_ratio > 0 {
            assert!(
                self.out.len() as u64 <= self.pushed * s.limits.max_ratio,
                "{} bytes out of {} in, ratio {}",
                self.out.len(),
                self.pushed,
                s.limits.max_ratio
            );
        }
        if s.limits.max_per_receive > 0 {
            assert!(
                self.this_receive <= s.limits.max_per_receive,
                "{} bytes in one receive, limit {}",
                self.this_receive,
                s.limits.max_per_receive
            );
        }
        if let (Some(b), Some(total)) = (&self.budget, s.budget) {
            assert!(total == 0 || b.in_use() <= total, "budget overdrawn");
        }
        let events = &mut self.events;
        self.framer.feed(got, &mut |e: Event<'_>| match e {
            Event::Frame(b) => events.push(Out::Frame(b.to_vec())),
            Event::Error(e) => events.push(Out::Error(e)),
        });
        if self.out.len() > MAX_OUT || self.slices > MAX_SLICES {
            return Err(false);
        }
        Ok(n)
    }

    /// Slices while the inflater is busy (at most `limit`).
    fn drain(&mut self, limit: Option<usize>) -> Result<(), bool> {
        let mut zeros = 0;
        let mut k = 0;
        while self.inf.busy() && limit.is_none_or(|l| k < l) {
            k += 1;
            if self.slice()? == 0 {
                zeros += 1;
                assert!(zeros < 3, "busy() stays true while next() gives nothing");
            } else {
                zeros = 0;
            }
        }
        Ok(())
    }
}

fuzz_target!(|data: &[u8]| {
    if data.len() < HEADER {
        return;
    }
    let (h, plain) = data.split_at(HEADER);
    let s = Setup::parse(h.try_into().unwrap());

    // The stream.
    let (stream, intact, clean_prefix) = if s.compress {
        let full = compress(&s, plain);
        let mut w = full.clone();
        if !w.is_empty() {
            for &(off, x) in &s.mutations {
                let i = off as usize % w.len();
                w[i] ^= x;
            }
        }
        let mutated = w != full;
        if let (Some(t), false) = (s.truncate, w.is_empty()) {
            let cut = 1 + t as usize % w.len();
            w.truncate(w.len() - cut);
        }
        let truncated = w.len() < full.len();
        (w, !mutated && !truncated, !mutated)
    } else {
        (plain.to_vec(), false, false)
    };
    let guards_off = s.limits.max_ratio == 0 && s.limits.max_per_receive == 0 && s.budget.unwrap_or(0) == 0;

    let budget = s.budget.map(|t| Arc::new(WindowBudget::new(t)));
    let mut d = Drive {
        inf: Inflater::new(s.driver, s.limits, budget.clone()).expect("Inflater::new"),
        framer: Framer::new(s.framing.clone()),
        s: &s,
        budget: budget.clone(),
        events: Vec::new(),
        buf: vec![0u8; SLICE],
        out: Vec::new(),
        pushed: 0,
        this_receive: 0,
        fault: None,
        slices: 0,
    };
    let mut left = &stream[..];
    let mut i = 0;
    let mut stopped = None;
    while !left.is_empty() && stopped.is_none() {
        let n = s.chunk(i).min(left.len());
        let (chunk, r) = left.split_at(n);
        left = r;
        i += 1;
        d.inf.begin_receive();
        d.this_receive = 0;
        // TLS can hand one receive's plaintext over in pieces.
        let pieces: Vec<&[u8]> = if s.split_pushes && chunk.len() > 1 {
            let (a, b) = chunk.split_at(chunk.len() / 2);
            vec![a, b]
        } else {
            vec![chunk]
        };
        for p in pieces {
            if let Err(f) = d.inf.push(p) {
                d.fault = Some(f);
                stopped = Some(true);
                break;
            }
            d.pushed += p.len() as u64;
        }
        if stopped.is_none() {
            let limit = if left.is_empty() { None } else { s.interrupt };
            stopped = d.drain(limit).err();
        }
    }
    // The connection ends: what the inflater holds is framed first.
    if stopped.is_none() && d.inf.busy() {
        // Only after an interrupted drain (the server drains a receive before the next).
        d.inf.begin_receive();
        d.this_receive = 0;
        stopped = d.drain(None).err();
    }
    if stopped == Some(false) {
        // A bound of this target, not a finding.
        return;
    }
    let Drive {
        mut inf,
        mut framer,
        mut events,
        mut buf,
        out,
        pushed,
        fault,
        ..
    } = d;
    check_frames(&s.framing, &events);

    let end = if stopped.is_none() && s.finish {
        let r = inf.finish();
        if let Err(f) = &r {
            assert!(f.truncated, "finish gave a non-truncation fault: {f:?}");
        }
        Some(r)
    } else {
        None
    };

    // With the guards off an unmutated stream has no fault, so the block after this
    // one checks its output (the plaintext's start; all of it when intact).
    if s.compress && guards_off && clean_prefix {
        assert_eq!(fault, None, "a fault on an unmutated stream");
        if intact {
            if let Some(r) = &end {
                if s.end_marker {
                    assert_eq!(r, &Ok(()), "complete stream reported at finish");
                } else {
                    assert_eq!(r.is_err(), pushed > 0, "stream without end marker: {r:?}");
                }
            }
        } else if let Some(r) = &end {
            // Cut: the end marker is gone (or was never there).
            assert_eq!(r.is_err(), pushed > 0, "cut stream: {r:?}");
        }
    }
    if s.compress && clean_prefix {
        match &fault {
            // Whatever the guards, what came out is the plaintext's start, and
            // all of it when nothing stopped the stream.
            None => {
                assert!(
                    plain.starts_with(&out),
                    "output is not a prefix of the plaintext (guards on)"
                );
                if intact {
                    assert!(
                        out == plain,
                        "intact stream, no fault: {} bytes out of {}",
                        out.len(),
                        plain.len()
                    );
                }
            }
            // Unmutated bytes are refused only by a guard.
            Some(f) => assert!(
                GUARD_FAULTS.contains(&f.detail.as_str()),
                "unmutated stream refused: {f:?}"
            ),
        }
    }

    if fault.is_some() || matches!(end, Some(Err(_))) {
        assert_dead(&mut inf, &mut buf);
    } else {
        // Slices framed one by one give what the whole output framed at once gives.
        framer.close(&mut |e: Event<'_>| match e {
            Event::Frame(b) => events.push(Out::Frame(b.to_vec())),
            Event::Error(e) => events.push(Out::Error(e)),
        });
        check_frames(&s.framing, &events);
        assert_eq!(events, frame_whole(&s.framing, &out), "slicing changed the frames");
    }
    drop(inf);
    if let Some(b) = budget {
        assert_eq!(b.in_use(), 0, "window budget not given back");
    }
});
