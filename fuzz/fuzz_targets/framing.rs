//! imtcp's framing state machine on arbitrary streams: no panic, no frame
//! longer than maxMessageSize, the same frames and errors whether the
//! stream arrives in one piece or split at arbitrary points, and the same as
//! the byte-by-byte reference machine (`Framer::feed_bytewise`).
#![no_main]

use imtcp::framing::{Event, Framer, FramingConfig, FramingError, StartRegex};
use std::sync::Arc;
use libfuzzer_sys::fuzz_target;

#[derive(Debug, PartialEq)]
enum Out {
    Frame(Vec<u8>),
    Error(FramingError),
}

fn run(cfg: &FramingConfig, chunks: &[&[u8]]) -> Vec<Out> {
    run_with(cfg, chunks, false)
}

fn run_with(cfg: &FramingConfig, chunks: &[&[u8]], bytewise: bool) -> Vec<Out> {
    let mut f = Framer::new(cfg.clone());
    let mut v = Vec::new();
    let mut cb = |e: Event<'_>| match e {
        Event::Frame(b) => v.push(Out::Frame(b.to_vec())),
        Event::Error(e) => v.push(Out::Error(e)),
    };
    for c in chunks {
        if bytewise {
            f.feed_bytewise(c, &mut cb);
        } else {
            f.feed(c, &mut cb);
        }
    }
    f.close(&mut cb);
    v
}

fuzz_target!(|data: &[u8]| {
    // Header: 4 bytes of settings, 1 byte of split step, then the stream.
    if data.len() < 5 {
        return;
    }
    let (h, stream) = data.split_at(5);
    let cfg = FramingConfig {
        max_line: 1 + (h[0] as usize % 64),
        support_octet_counted: h[1] & 1 != 0,
        addtl_delimiter: if h[1] & 2 != 0 { h[2] as i32 } else { -1 },
        disable_lf: h[1] & 4 != 0,
        max_frame_size: 1 + (h[3] as i64 % 200),
        discard_truncated: h[1] & 8 != 0,
        cisco_asa: h[1] & 16 != 0,
        multiline: h[1] & 32 != 0,
        // A frame starts at a line beginning with '<' (the module uses a POSIX regex).
        start_regex: (h[1] & 64 != 0).then(|| StartRegex {
            pattern: "^<".to_string(),
            matches: Arc::new(|l: &[u8]| l.first() == Some(&b'<')),
        }),
    };
    // framing.delimiter.regex collects up to twice maxMessageSize.
    let max_frame = if cfg.start_regex.is_some() {
        2 * cfg.max_line
    } else {
        cfg.max_line
    };
    let whole = run(&cfg, &[stream]);
    for o in &whole {
        if let Out::Frame(b) = o {
            assert!(!b.is_empty() && b.len() <= max_frame, "frame of {} bytes", b.len());
        }
    }
    let step = 1 + h[4] as usize % 7;
    let pieces: Vec<&[u8]> = stream.chunks(step).collect();
    assert_eq!(run(&cfg, &pieces), whole, "chunking changed the result");
    assert_eq!(
        run_with(&cfg, &[stream], true),
        whole,
        "runs differ from the byte-wise machine"
    );
});
