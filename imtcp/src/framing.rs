//! imtcp's framing state machine (pure Rust): octet stuffing (LF or an
//! additional delimiter) and octet counting (RFC 6587), byte by byte as the C
//! module does it (rsyslog 8.2302/8.2504 `tcps_sess.c`), plus current
//! upstream's `multiLine` and `framing.delimiter.regex` modes.

use std::sync::Arc;

/// Whether a line (without its LF) starts a frame.
pub type LineMatcher = Arc<dyn Fn(&[u8]) -> bool + Send + Sync>;

/// The start-of-frame test of `framing.delimiter.regex`: whether the line
/// read so far (without its LF) matches. The module passes rsyslog's POSIX
/// extended regular expression; tests pass any function.
#[derive(Clone)]
pub struct StartRegex {
    pub pattern: String,
    pub matches: LineMatcher,
}

impl std::fmt::Debug for StartRegex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "StartRegex({:?})", self.pattern)
    }
}

impl PartialEq for StartRegex {
    fn eq(&self, other: &Self) -> bool {
        self.pattern == other.pattern
    }
}
impl Eq for StartRegex {}

/// Framing settings of one listener.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FramingConfig {
    /// Global maxMessageSize: the frame buffer holds at most this many bytes.
    pub max_line: usize,
    pub support_octet_counted: bool,
    /// `addtlFrameDelimiter` (-1 = none). As in C, compared as a signed char:
    /// values 128..=255 never match.
    pub addtl_delimiter: i32,
    pub disable_lf: bool,
    /// `maxFrameSize`: octet counts above it switch to octet stuffing.
    pub max_frame_size: i64,
    pub discard_truncated: bool,
    /// `framingfix.cisco.asa`: skip a space at the start of a frame.
    pub cisco_asa: bool,
    /// `multiLine` (octet stuffing only): a delimiter ends the frame only when
    /// the next byte is `<` (or the peer closes); otherwise it stays in the frame.
    pub multiline: bool,
    /// `framing.delimiter.regex`: a frame ends where a line starts that the
    /// expression matches; replaces every other framing rule.
    pub start_regex: Option<StartRegex>,
}

impl Default for FramingConfig {
    fn default() -> Self {
        FramingConfig {
            max_line: 8096,
            support_octet_counted: true,
            addtl_delimiter: -1,
            disable_lf: false,
            max_frame_size: 200_000,
            discard_truncated: false,
            cisco_asa: false,
            multiline: false,
            start_regex: None,
        }
    }
}

/// Framing problems, reported to the log by the caller (it knows the peer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FramingError {
    /// The octet count was followed by this byte instead of SP.
    DelimiterNotSp(u8),
    /// Octet count below 1: switched to octet stuffing.
    InvalidOctetCount(i64),
    /// Octet count above maxMessageSize: the frame will be truncated.
    Oversize { count: i64, max: usize },
    /// Octet count above maxFrameSize: switched to octet stuffing.
    FrameTooLarge(i64),
    /// The peer closed inside an octet-counted frame.
    IncompleteFrame,
    /// An octet-stuffed frame reached maxMessageSize without a delimiter:
    /// it is split (or, with `discard`, the rest is skipped). Reported once
    /// per frame. Ours only: the C module splits silently.
    StuffedOversize { max: usize, discard: bool },
    /// `framing.delimiter.regex`: twice maxMessageSize arrived without a line
    /// the expression matches; what was read is submitted as one frame.
    RegexOversize(usize),
}

impl FramingError {
    /// The log text, as the C module words it (tcps_sess.c
    /// `processDataRcvd`/`PrepareClose`: identical in 8.2302 and 8.2504;
    /// current upstream adds `, (port) <port>` after the IP).
    /// `input` is the input name, `host`/`ip` the peer, `port` its port where
    /// the host's texts name it, `session` names the session in the
    /// incomplete-frame text (C: the stream's address).
    pub fn message(&self, input: &str, host: &str, ip: &str, port: Option<u16>, session: &str) -> String {
        let peer = match port {
            Some(p) => format!("(hostname) {host}, (ip) {ip}, (port) {p}"),
            None => format!("(hostname) {host}, (ip) {ip}"),
        };
        let who = format!("imtcp {input}: Framing Error in received TCP message from peer: {peer}");
        match self {
            // C prints the `char` with %d: bytes 128..=255 come out negative.
            FramingError::DelimiterNotSp(c) => {
                format!("{who}: delimiter is not SP but has ASCII value {}.", *c as i8)
            }
            FramingError::InvalidOctetCount(n) => format!("{who}: invalid octet count {n}."),
            FramingError::Oversize { count, max } => format!(
                "imtcp {input}: received oversize message from peer: {peer}: size is {count} bytes, max msg size is {max}, truncating..."
            ),
            FramingError::FrameTooLarge(n) => format!("{who}: frame too large: {n}, change to octet stuffing"),
            FramingError::IncompleteFrame => format!(
                "Incomplete frame at end of stream in session {session} - ignoring extra data (a message may be lost)."
            ),
            FramingError::RegexOversize(n) => format!(
                "imtcp: more then double max message size ({n}) received without finding frame terminator via regex - assuming end of frame now."
            ),
            FramingError::StuffedOversize { max, discard } => format!(
                "imtcp {input}: received oversize message from peer: {peer}: no frame delimiter within max msg size {max}, {}",
                if *discard { "discarding the rest of the frame" } else { "splitting..." }
            ),
        }
    }
}

/// What the framer produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event<'a> {
    Frame(&'a [u8]),
    Error(FramingError),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    AtStart,
    InOctetCount,
    InMsg,
    InMsgTruncating,
    /// multiLine: a delimiter (kept in `Framer::held_delimiter`) ended the
    /// last read; the next byte decides.
    CheckMultiLine,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Stuffing,
    Counting,
}

/// Octet counts stop growing past this value, as in C.
const COUNT_CAP: i64 = 200_000_000;

/// The per-session framer.
#[derive(Debug, Clone)]
pub struct Framer {
    cfg: FramingConfig,
    state: State,
    mode: Mode,
    count: i64,
    remaining: i64,
    buf: Vec<u8>,
    /// The current stuffed frame was already reported as oversize.
    oversize_told: bool,
    /// multiLine: the delimiter that ended the last read.
    held_delimiter: u8,
    /// framing.delimiter.regex: where the current line starts in `buf`
    /// (0 for the first line of a frame, which never ends one).
    cur_line: usize,
}

impl Framer {
    pub fn new(cfg: FramingConfig) -> Self {
        Framer {
            // Allocated when a frame first spans two reads (whole frames are passed on
            // from the read buffer), so an idle session holds no frame buffer.
            buf: Vec::new(),
            cfg,
            state: State::AtStart,
            mode: Mode::Stuffing,
            count: 0,
            remaining: 0,
            oversize_told: false,
            held_delimiter: b'\n',
            cur_line: 0,
        }
    }

    fn is_delimiter(&self, c: u8) -> bool {
        (c == b'\n' && !self.cfg.disable_lf)
            // signed-char comparison of the C module: 128..=255 never match
            || (self.cfg.addtl_delimiter >= 0 && self.cfg.addtl_delimiter < 128 && c as i32 == self.cfg.addtl_delimiter)
    }

    fn emit(buf: &mut Vec<u8>, out: &mut impl FnMut(Event<'_>)) {
        if !buf.is_empty() {
            out(Event::Frame(buf));
        }
        buf.clear();
    }

    /// Feeds received bytes; complete frames and errors go to `out` in order.
    ///
    /// Same result as handing every byte to the state machine ([`Framer::byte`]),
    /// but the body of a frame is taken in runs: the next delimiter is found
    /// with `memchr`, and a frame that lies whole inside `data` is passed on
    /// without being copied.
    pub fn feed(&mut self, data: &[u8], out: &mut impl FnMut(Event<'_>)) {
        if self.cfg.multiline || self.cfg.start_regex.is_some() {
            // Opt-in modes of current upstream: byte by byte, as there.
            return self.feed_bytewise(data, out);
        }
        let mut i = 0;
        while i < data.len() {
            let rest = &data[i..];
            i += match (self.state, self.mode) {
                (State::InMsg, Mode::Stuffing) => self.stuffed_run(rest, out),
                (State::InMsg, Mode::Counting) => self.counted_run(rest, out),
                (State::InMsgTruncating, Mode::Stuffing) => match self.find_delimiter(rest) {
                    Some(k) => {
                        self.state = State::AtStart;
                        k + 1
                    }
                    None => rest.len(),
                },
                (State::AtStart, _) if !self.starts_special(rest[0]) => {
                    // A stuffed frame starts with this byte: byte() would switch
                    // state and hand it on; the run takes it instead.
                    self.state = State::InMsg;
                    self.mode = Mode::Stuffing;
                    self.oversize_told = false;
                    0
                }
                (State::InMsgTruncating, Mode::Counting) => {
                    let n = rest.len().min(self.remaining.max(1) as usize);
                    self.remaining -= n as i64;
                    if self.remaining <= 0 {
                        self.state = State::AtStart;
                    }
                    n
                }
                _ => {
                    self.byte(rest[0], rest.get(1).copied(), out);
                    1
                }
            };
        }
    }

    /// Feeds `data` one byte at a time through the state machine, without the
    /// runs of [`Framer::feed`]: the reference the fast path must agree with
    /// (unit tests and the fuzz target compare the two).
    pub fn feed_bytewise(&mut self, data: &[u8], out: &mut impl FnMut(Event<'_>)) {
        for (i, &c) in data.iter().enumerate() {
            if self.cfg.start_regex.is_some() {
                self.regex_byte(c, out);
            } else {
                self.byte(c, data.get(i + 1).copied(), out);
            }
        }
    }

    /// framing.delimiter.regex (upstream tcps_sess.c `processDataRcvd_regexFraming`).
    fn regex_byte(&mut self, c: u8, out: &mut impl FnMut(Event<'_>)) {
        if self.buf.len() >= 2 * self.cfg.max_line {
            out(Event::Error(FramingError::RegexOversize(self.buf.len() + 1)));
            Self::emit(&mut self.buf, out);
            self.cur_line = 0;
        }
        self.buf.push(c);
        self.state = State::InMsg;
        self.mode = Mode::Stuffing;
        if c == b'\n' {
            self.cur_line = self.buf.len();
            return;
        }
        if self.cur_line == 0 {
            return;
        }
        let Some(re) = &self.cfg.start_regex else { return };
        // C matches the line as a C string: up to a NUL.
        let line = &self.buf[self.cur_line..];
        let line = line.split(|&b| b == 0).next().unwrap_or(line);
        if (re.matches)(line) {
            let next = self.buf.split_off(self.cur_line);
            self.buf.pop(); // the LF that ended the frame
            Self::emit(&mut self.buf, out);
            self.buf = next;
            self.cur_line = 0;
        }
    }

    /// Whether a frame starting with `c` is octet-counted or starts with a
    /// skipped Cisco ASA space (handled by [`Framer::byte`]).
    fn starts_special(&self, c: u8) -> bool {
        (c.is_ascii_digit() && self.cfg.support_octet_counted) || (c == b' ' && self.cfg.cisco_asa)
    }

    /// Position of the first delimiter in `data`.
    fn find_delimiter(&self, data: &[u8]) -> Option<usize> {
        let lf = !self.cfg.disable_lf;
        // signed-char comparison of the C module: 128..=255 never match
        let extra = (0..128)
            .contains(&self.cfg.addtl_delimiter)
            .then_some(self.cfg.addtl_delimiter as u8);
        match (lf, extra) {
            (true, Some(x)) => memchr::memchr2(b'\n', x, data),
            (true, None) => memchr::memchr(b'\n', data),
            (false, Some(x)) => memchr::memchr(x, data),
            (false, None) => None,
        }
    }

    /// Octet stuffing inside a frame: takes the bytes up to the next
    /// delimiter at once. Returns how many bytes of `data` it used (at least 1).
    fn stuffed_run(&mut self, data: &[u8], out: &mut impl FnMut(Event<'_>)) -> usize {
        let end = self.find_delimiter(data);
        let k = end.unwrap_or(data.len());
        let room = self.cfg.max_line.saturating_sub(self.buf.len());
        let take = k.min(room);
        if end.is_some() && take == k && self.buf.is_empty() {
            // The whole frame is in data: no copy.
            if k > 0 {
                out(Event::Frame(&data[..k]));
            }
            self.state = State::AtStart;
            return k + 1;
        }
        self.buf.extend_from_slice(&data[..take]);
        if take < k {
            // Buffer full and data[take] is no delimiter: that byte is dropped (as in byte()).
            self.cut_full_stuffed_frame(out);
            return take + 1;
        }
        if end.is_some() {
            Self::emit(&mut self.buf, out);
            self.state = State::AtStart;
            return k + 1;
        }
        data.len()
    }

    /// An octet-stuffed frame filled the buffer (maxMessageSize) before its
    /// delimiter: tell it once per frame, submit what there is, and skip the
    /// rest of the frame with `discardTruncatedMsg` (otherwise it is split).
    fn cut_full_stuffed_frame(&mut self, out: &mut impl FnMut(Event<'_>)) {
        if !self.oversize_told {
            self.oversize_told = true;
            out(Event::Error(FramingError::StuffedOversize {
                max: self.cfg.max_line,
                discard: self.cfg.discard_truncated,
            }));
        }
        Self::emit(&mut self.buf, out);
        if self.cfg.discard_truncated {
            self.state = State::InMsgTruncating;
        }
    }

    /// Octet counting inside a frame: takes up to the rest of the frame at
    /// once. Returns how many bytes of `data` it used (at least 1).
    fn counted_run(&mut self, data: &[u8], out: &mut impl FnMut(Event<'_>)) -> usize {
        let remaining = self.remaining.max(1) as usize;
        let n = data.len().min(remaining);
        let room = self.cfg.max_line.saturating_sub(self.buf.len());
        if n == remaining && self.buf.is_empty() && remaining <= room {
            // The whole frame is in data: no copy.
            out(Event::Frame(&data[..n]));
            self.remaining = 0;
            self.state = State::AtStart;
            return n;
        }
        let take = n.min(room);
        self.buf.extend_from_slice(&data[..take]);
        self.remaining -= take as i64;
        if self.remaining <= 0 {
            Self::emit(&mut self.buf, out);
            self.state = State::AtStart;
            return take;
        }
        if take == n {
            return n;
        }
        // Buffer full inside the frame: the next byte takes the slow path.
        self.byte(data[take], data.get(take + 1).copied(), out);
        take + 1
    }

    /// One byte through the state machine; `next` is the byte after it in the
    /// same read, if any (multiLine looks at it).
    fn byte(&mut self, c: u8, next: Option<u8>, out: &mut impl FnMut(Event<'_>)) {
        if self.state == State::CheckMultiLine {
            if c == b'<' {
                Self::emit(&mut self.buf, out);
                self.state = State::AtStart;
            } else {
                // A continuation line: the delimiter that ended the last read stays, as
                // one inside a read does (upstream puts an LF here even for the
                // additional delimiter, so its result depends on where reads end).
                if self.buf.len() < self.cfg.max_line {
                    self.buf.push(self.held_delimiter);
                }
                self.state = State::InMsg;
            }
        }
        match self.state {
            State::AtStart => {
                if c.is_ascii_digit() && self.cfg.support_octet_counted {
                    self.state = State::InOctetCount;
                    self.mode = Mode::Counting;
                    self.count = 0;
                    self.byte(c, next, out);
                } else if c == b' ' && self.cfg.cisco_asa {
                    // skipped
                } else {
                    self.state = State::InMsg;
                    self.mode = Mode::Stuffing;
                    self.oversize_told = false;
                    self.byte(c, next, out);
                }
            }
            State::InOctetCount => {
                if c.is_ascii_digit() {
                    if self.count <= COUNT_CAP {
                        self.count = self.count * 10 + (c - b'0') as i64;
                    }
                    if self.buf.len() < self.cfg.max_line {
                        self.buf.push(c);
                    }
                    return;
                }
                if c != b' ' {
                    out(Event::Error(FramingError::DelimiterNotSp(c)));
                }
                if self.count < 1 {
                    out(Event::Error(FramingError::InvalidOctetCount(self.count)));
                    self.mode = Mode::Stuffing;
                    self.oversize_told = false;
                    self.buf.clear();
                    self.state = State::InMsg;
                    return;
                }
                if self.count > self.cfg.max_line as i64 {
                    out(Event::Error(FramingError::Oversize {
                        count: self.count,
                        max: self.cfg.max_line,
                    }));
                }
                if self.count > self.cfg.max_frame_size {
                    out(Event::Error(FramingError::FrameTooLarge(self.count)));
                    self.mode = Mode::Stuffing; // the digits stay in the frame
                                                // The oversize count was just reported; no second notice.
                    self.oversize_told = self.count > self.cfg.max_line as i64;
                } else {
                    self.buf.clear();
                    self.remaining = self.count;
                }
                self.state = State::InMsg;
            }
            State::InMsg => match self.mode {
                Mode::Stuffing => {
                    if self.is_delimiter(c) && self.cfg.multiline {
                        match next {
                            Some(b'<') => {
                                Self::emit(&mut self.buf, out);
                                self.state = State::AtStart;
                            }
                            // A continuation line: the delimiter is data.
                            Some(_) => {
                                if self.buf.len() < self.cfg.max_line {
                                    self.buf.push(c);
                                }
                            }
                            // End of this read: the next byte decides.
                            None => {
                                self.held_delimiter = c;
                                self.state = State::CheckMultiLine;
                            }
                        }
                    } else if self.is_delimiter(c) {
                        Self::emit(&mut self.buf, out);
                        self.state = State::AtStart;
                    } else if self.buf.len() >= self.cfg.max_line {
                        // Buffer full: this byte is dropped.
                        self.cut_full_stuffed_frame(out);
                    } else {
                        self.buf.push(c);
                    }
                }
                Mode::Counting => {
                    self.remaining -= 1;
                    if self.buf.len() >= self.cfg.max_line {
                        Self::emit(&mut self.buf, out);
                        if self.cfg.discard_truncated {
                            self.state = if self.remaining > 0 {
                                State::InMsgTruncating
                            } else {
                                State::AtStart
                            };
                            return;
                        }
                    } else {
                        self.buf.push(c);
                    }
                    if self.remaining <= 0 {
                        Self::emit(&mut self.buf, out);
                        self.state = State::AtStart;
                    }
                }
            },
            State::CheckMultiLine => unreachable!("left above"),
            State::InMsgTruncating => match self.mode {
                Mode::Stuffing => {
                    if self.is_delimiter(c) {
                        self.state = State::AtStart;
                    }
                }
                Mode::Counting => {
                    self.remaining -= 1;
                    if self.remaining <= 0 {
                        self.state = State::AtStart;
                    }
                }
            },
        }
    }

    /// Drops what is buffered of an incomplete frame without submitting it (the
    /// stream under the framing failed); the bytes dropped.
    pub fn abandon(&mut self) -> usize {
        let n = self.buf.len();
        self.buf.clear();
        self.state = State::AtStart;
        self.cur_line = 0;
        n
    }

    /// The peer closed the connection: a partial stuffed frame is submitted,
    /// a partial counted frame is reported and dropped, and with
    /// `framing.delimiter.regex` the open frame is dropped.
    pub fn close(&mut self, out: &mut impl FnMut(Event<'_>)) {
        if self.state == State::AtStart {
            return;
        }
        match self.mode {
            Mode::Counting => out(Event::Error(FramingError::IncompleteFrame)),
            Mode::Stuffing if self.cfg.start_regex.is_some() => {
                // As current upstream (tcps_sess.c): a regex frame ends only where the
                // next one starts; the one still open when the peer closes is dropped
                // without a word (its imtcp_framing_regex.sh expects exactly that).
                self.cur_line = 0;
            }
            Mode::Stuffing => {
                if matches!(self.state, State::InMsg | State::CheckMultiLine) {
                    Self::emit(&mut self.buf, out);
                }
            }
        }
        self.buf.clear();
        self.state = State::AtStart;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(cfg: FramingConfig, chunks: &[&[u8]], close: bool) -> Vec<Result<String, FramingError>> {
        run_with(cfg, chunks, close, false)
    }

    /// Frames and errors of a stream fed in `chunks`, through the fast path
    /// ([`Framer::feed`]) or byte by byte ([`Framer::feed_bytewise`]).
    fn run_with(
        cfg: FramingConfig,
        chunks: &[&[u8]],
        close: bool,
        bytewise: bool,
    ) -> Vec<Result<String, FramingError>> {
        let mut f = Framer::new(cfg);
        let mut v = Vec::new();
        let mut cb = |e: Event<'_>| match e {
            Event::Frame(b) => v.push(Ok(String::from_utf8_lossy(b).into_owned())),
            Event::Error(e) => v.push(Err(e)),
        };
        for c in chunks {
            if bytewise {
                f.feed_bytewise(c, &mut cb);
            } else {
                f.feed(c, &mut cb);
            }
        }
        if close {
            f.close(&mut cb);
        }
        v
    }
    fn ok(s: &[&str]) -> Vec<Result<String, FramingError>> {
        s.iter().map(|s| Ok(s.to_string())).collect()
    }

    fn regex(pattern: &'static str, f: fn(&[u8]) -> bool) -> Option<StartRegex> {
        Some(StartRegex {
            pattern: pattern.to_string(),
            matches: Arc::new(f),
        })
    }

    #[test]
    fn multiline_keeps_continuation_lines() {
        let cfg = FramingConfig {
            multiline: true,
            ..FramingConfig::default()
        };
        // A delimiter ends the frame only before '<'; inside one read and across reads.
        let all: &[u8] = b"<13>a: one\n  two\nthree\n<13>b: four\n<13>c: five";
        let want = ok(&["<13>a: one\n  two\nthree", "<13>b: four", "<13>c: five"]);
        assert_eq!(run(cfg.clone(), &[all], true), want);
        for cut in 1..all.len() {
            let (a, b) = all.split_at(cut);
            assert_eq!(run(cfg.clone(), &[a, b], true), want, "cut at {cut}");
        }
        // A read that ends with the delimiter waits for the next byte.
        assert_eq!(run(cfg.clone(), &[b"<13>x\n"], false), ok(&[]));
        assert_eq!(run(cfg.clone(), &[b"<13>x\n", b"<"], false), ok(&["<13>x"]));
        assert_eq!(run(cfg.clone(), &[b"<13>x\n"], true), ok(&["<13>x"]));
        // Octet-counted frames are not affected.
        assert_eq!(run(cfg, &[b"5 a\nb\nc3 <1>"], true), ok(&["a\nb\nc", "<1>"]));
        // The additional delimiter stays as itself also when a read ends with it (fuzz finding).
        let nul = FramingConfig {
            multiline: true,
            addtl_delimiter: 0,
            ..FramingConfig::default()
        };
        let want = ok(&["a\0b"]);
        assert_eq!(run(nul.clone(), &[b"a\0b"], true), want);
        assert_eq!(run(nul, &[b"a\0", b"b"], true), want);
    }

    #[test]
    fn multiline_continuation_beyond_max_line_is_cut() {
        let cfg = FramingConfig {
            multiline: true,
            max_line: 4,
            ..FramingConfig::default()
        };
        // The buffer is full: the continuation LF is not kept (as C); the next byte does
        // not fit either, so the frame is submitted and that byte dropped.
        assert_eq!(
            run(cfg, &[b"abcd\nef\n<x"], true),
            vec![
                Err(FramingError::StuffedOversize { max: 4, discard: false }),
                Ok("abcd".to_string()),
                Ok("f".to_string()),
                Ok("<x".to_string())
            ]
        );
    }

    #[test]
    fn regex_starts_frames_at_matching_lines() {
        let cfg = FramingConfig {
            start_regex: regex("^<[0-9]{2}>", |l| {
                l.len() >= 4 && l[0] == b'<' && l[1].is_ascii_digit() && l[2].is_ascii_digit() && l[3] == b'>'
            }),
            ..FramingConfig::default()
        };
        let all: &[u8] = b"<33>one\n<33>two xml-ish\n<test/>\n 12 not a count\n<33>three\n";
        let want = ok(&["<33>one", "<33>two xml-ish\n<test/>\n 12 not a count", "<33>three"]);
        // The last frame ends only where a next header starts: the close drops it, as
        // current upstream does (and its imtcp_framing_regex.sh expects).
        assert_eq!(run(cfg.clone(), &[all], true), want[..2].to_vec());
        assert_eq!(run(cfg.clone(), &[all], false), want[..2].to_vec());
        for cut in 1..all.len() {
            let (a, b) = all.split_at(cut);
            assert_eq!(run(cfg.clone(), &[a, b], true), want[..2].to_vec(), "cut at {cut}");
        }
        let ended: Vec<u8> = [all, b"<33>next".as_slice()].concat();
        assert_eq!(run(cfg.clone(), &[&ended], true), want);
        for cut in 1..ended.len() {
            let (a, b) = ended.split_at(cut);
            assert_eq!(run(cfg.clone(), &[a, b], true), want, "cut at {cut}");
        }
        // The first line of a frame never ends one, even if it matches again.
        assert_eq!(
            run(cfg.clone(), &[b"<33>a<33>b\n<33>c\n<33>"], true),
            ok(&["<33>a<33>b", "<33>c"])
        );
        // A session that closes inside its first frame delivers nothing; a later one starts afresh.
        let mut f = Framer::new(cfg);
        let mut got = Vec::new();
        let mut cb = |e: Event<'_>| {
            if let Event::Frame(b) = e {
                got.push(b.to_vec())
            }
        };
        f.feed(b"<33>lost\nmore", &mut cb);
        f.close(&mut cb);
        f.feed(b"<33>x\n<33>y", &mut cb);
        assert_eq!(got, vec![b"<33>x".to_vec()]);
    }

    #[test]
    fn regex_without_match_is_cut_at_twice_max_line() {
        let cfg = FramingConfig {
            max_line: 4,
            start_regex: regex("^X", |l| l.first() == Some(&b'X')),
            ..FramingConfig::default()
        };
        // 8 bytes without a matching line: the 9th byte submits them, with upstream's text;
        // the frame that "Xy" opens is still open at the close and dropped.
        assert_eq!(
            run(cfg.clone(), &[b"abc\ndefgh\nXy"], true),
            vec![
                Err(FramingError::RegexOversize(9)),
                Ok("abc\ndefg".to_string()),
                Ok("h".to_string()),
            ]
        );
        assert_eq!(
            FramingError::RegexOversize(9).message("in", "h", "1.2.3.4", None, "s"),
            "imtcp: more then double max message size (9) received without finding frame terminator via regex - \
             assuming end of frame now."
        );
    }

    /// xorshift: reproducible pseudo-random numbers below `n`.
    fn xorshift(mut x: u64) -> impl FnMut(u64) -> u64 {
        move |n: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % n
        }
    }

    #[test]
    fn opt_in_modes_do_not_depend_on_read_boundaries() {
        let mut rnd = xorshift(0x2545_f491_4f6c_dd1d);
        let alphabet = b"01<<>> \n\n\0ab";
        for round in 0..5_000 {
            let cfg = FramingConfig {
                max_line: [1, 3, 8, 8096][rnd(4) as usize],
                support_octet_counted: rnd(2) == 0,
                discard_truncated: rnd(2) == 0,
                multiline: true,
                start_regex: if rnd(2) == 0 {
                    regex("^<", |l| l.first() == Some(&b'<'))
                } else {
                    None
                },
                ..FramingConfig::default()
            };
            let data: Vec<u8> = (0..rnd(40))
                .map(|_| alphabet[rnd(alphabet.len() as u64) as usize])
                .collect();
            let cut = rnd(data.len() as u64 + 1) as usize;
            let (a, b) = data.split_at(cut);
            assert_eq!(
                run(cfg.clone(), &[a, b], true),
                run(cfg.clone(), &[&data], true),
                "round {round}: {cfg:?} {:?} cut {cut}",
                String::from_utf8_lossy(&data)
            );
        }
    }

    #[test]
    fn lf_framing_across_reads() {
        let r = run(FramingConfig::default(), &[b"<13>a\n<13>b", b"c\n\n<13>d"], true);
        assert_eq!(r, ok(&["<13>a", "<13>bc", "<13>d"]));
    }

    #[test]
    fn octet_counted_frames_keep_lf_inside() {
        let r = run(FramingConfig::default(), &[b"5 ab\ncd3 x", b"yz"], false);
        assert_eq!(r, ok(&["ab\ncd", "xyz"]));
    }

    #[test]
    fn octet_counting_can_be_disabled() {
        let cfg = FramingConfig {
            support_octet_counted: false,
            ..Default::default()
        };
        assert_eq!(run(cfg, &[b"5 abcde\n"], false), ok(&["5 abcde"]));
    }

    #[test]
    fn count_errors() {
        let r = run(FramingConfig::default(), &[b"0 abc\n"], false);
        assert_eq!(r, vec![Err(FramingError::InvalidOctetCount(0)), Ok("abc".into())]);
        let r = run(FramingConfig::default(), &[b"3xabc"], false);
        assert_eq!(r, vec![Err(FramingError::DelimiterNotSp(b'x')), Ok("abc".into())]);
    }

    #[test]
    fn frame_too_large_switches_to_stuffing_keeping_digits() {
        let cfg = FramingConfig {
            max_frame_size: 10,
            ..Default::default()
        };
        let r = run(cfg, &[b"99 abc\n"], false);
        assert_eq!(r, vec![Err(FramingError::FrameTooLarge(99)), Ok("99abc".into())]);
        let cfg = FramingConfig {
            max_frame_size: 10,
            max_line: 50,
            ..Default::default()
        };
        let r = run(cfg, &[b"99 abc\n"], false);
        assert_eq!(
            r,
            vec![
                Err(FramingError::Oversize { count: 99, max: 50 }),
                Err(FramingError::FrameTooLarge(99)),
                Ok("99abc".into())
            ]
        );
    }

    #[test]
    fn truncation_splits_or_discards() {
        let cfg = FramingConfig {
            max_line: 4,
            ..Default::default()
        };
        let split = Err(FramingError::StuffedOversize { max: 4, discard: false });
        assert_eq!(
            run(cfg.clone(), &[b"abcdefghij\nxy\n"], false),
            vec![split, Ok("abcd".into()), Ok("fghi".into()), Ok("xy".into())]
        );
        let cfg = FramingConfig {
            max_line: 4,
            discard_truncated: true,
            ..cfg
        };
        let cut = Err(FramingError::StuffedOversize { max: 4, discard: true });
        assert_eq!(
            run(cfg, &[b"abcdefghij\nxy\n"], false),
            vec![cut, Ok("abcd".into()), Ok("xy".into())]
        );
    }

    #[test]
    fn stuffed_oversize_is_told_once_per_frame() {
        let cfg = FramingConfig {
            max_line: 3,
            ..Default::default()
        };
        let told = || Err(FramingError::StuffedOversize { max: 3, discard: false });
        // One frame split twice: one notice; the next long frame: one more.
        // (The byte that finds the buffer full is dropped, as in C.)
        assert_eq!(
            run(cfg.clone(), &[b"aaabbbcccd\neeeff\n"], true),
            vec![
                told(),
                Ok("aaa".into()),
                Ok("bbc".into()),
                Ok("cd".into()),
                told(),
                Ok("eee".into()),
                Ok("f".into()),
            ]
        );
        // A frame that only fills the buffer is not oversize.
        assert_eq!(run(cfg, &[b"abc\n"], false), ok(&["abc"]));
    }

    #[test]
    fn absurd_octet_count_is_capped_and_switches_to_stuffing() {
        // C stops growing the count once it exceeds 200000000: 14 nines give 999999999.
        let r = run(FramingConfig::default(), &[b"99999999999999 <13>x\n<13>next\n"], false);
        assert_eq!(
            r,
            vec![
                Err(FramingError::Oversize {
                    count: 999_999_999,
                    max: 8096
                }),
                Err(FramingError::FrameTooLarge(999_999_999)),
                Ok("99999999999999<13>x".into()),
                Ok("<13>next".into()),
            ]
        );
        // Reported once: the oversize count already said so, no stuffed notice on top.
        let cfg = FramingConfig {
            max_line: 4,
            ..Default::default()
        };
        let r = run(cfg, &[b"99999999 abc\n"], false);
        assert_eq!(
            r,
            vec![
                Err(FramingError::Oversize {
                    count: 99_999_999,
                    max: 4
                }),
                Err(FramingError::FrameTooLarge(99_999_999)),
                // Only maxLine digits fit; the byte that overflows ('a') is dropped.
                Ok("9999".into()),
                Ok("bc".into()),
            ]
        );
    }

    #[test]
    fn messages_use_the_c_texts() {
        let m = |e: FramingError| e.message("in1", "h.example", "192.0.2.1", None, "0x1");
        let who = "imtcp in1: Framing Error in received TCP message from peer: (hostname) h.example, (ip) 192.0.2.1";
        assert_eq!(
            m(FramingError::DelimiterNotSp(b'x')),
            format!("{who}: delimiter is not SP but has ASCII value 120.")
        );
        // C passes a (signed) char to %d.
        assert_eq!(
            m(FramingError::DelimiterNotSp(0xc8)),
            format!("{who}: delimiter is not SP but has ASCII value -56.")
        );
        assert_eq!(
            m(FramingError::InvalidOctetCount(0)),
            format!("{who}: invalid octet count 0.")
        );
        assert_eq!(
            m(FramingError::FrameTooLarge(999_999_999)),
            format!("{who}: frame too large: 999999999, change to octet stuffing")
        );
        assert_eq!(
            m(FramingError::Oversize { count: 9000, max: 8096 }),
            "imtcp in1: received oversize message from peer: (hostname) h.example, (ip) 192.0.2.1: size is 9000 bytes, max msg size is 8096, truncating..."
        );
        assert_eq!(
            m(FramingError::IncompleteFrame),
            "Incomplete frame at end of stream in session 0x1 - ignoring extra data (a message may be lost)."
        );
        assert_eq!(
            m(FramingError::StuffedOversize { max: 200, discard: true }),
            "imtcp in1: received oversize message from peer: (hostname) h.example, (ip) 192.0.2.1: no frame delimiter within max msg size 200, discarding the rest of the frame"
        );
    }

    #[test]
    fn current_upstream_texts_name_the_port() {
        let m = |e: FramingError| e.message("in1", "h.example", "192.0.2.1", Some(40712), "0x1");
        let who = "imtcp in1: Framing Error in received TCP message from peer: (hostname) h.example, (ip) 192.0.2.1, (port) 40712";
        assert_eq!(
            m(FramingError::DelimiterNotSp(b'x')),
            format!("{who}: delimiter is not SP but has ASCII value 120.")
        );
        assert_eq!(
            m(FramingError::InvalidOctetCount(0)),
            format!("{who}: invalid octet count 0.")
        );
        assert_eq!(
            m(FramingError::FrameTooLarge(27)),
            format!("{who}: frame too large: 27, change to octet stuffing")
        );
        assert_eq!(
            m(FramingError::Oversize { count: 9000, max: 8096 }),
            "imtcp in1: received oversize message from peer: (hostname) h.example, (ip) 192.0.2.1, (port) 40712: size is 9000 bytes, max msg size is 8096, truncating..."
        );
        assert_eq!(
            m(FramingError::StuffedOversize { max: 200, discard: false }),
            "imtcp in1: received oversize message from peer: (hostname) h.example, (ip) 192.0.2.1, (port) 40712: no frame delimiter within max msg size 200, splitting..."
        );
        assert_eq!(
            m(FramingError::IncompleteFrame),
            "Incomplete frame at end of stream in session 0x1 - ignoring extra data (a message may be lost)."
        );
    }

    #[test]
    fn additional_delimiter_and_signed_char_quirk() {
        let cfg = FramingConfig {
            addtl_delimiter: 0,
            ..Default::default()
        };
        assert_eq!(run(cfg, &[b"a\0b\n"], false), ok(&["a", "b"]));
        let cfg = FramingConfig {
            addtl_delimiter: 200,
            disable_lf: true,
            ..Default::default()
        };
        assert_eq!(run(cfg, &[b"a\xc8b\nc"], true), ok(&["a\u{fffd}b\nc"]));
    }

    #[test]
    fn close_inside_counted_frame_reports() {
        let r = run(FramingConfig::default(), &[b"10 abc"], true);
        assert_eq!(r, vec![Err(FramingError::IncompleteFrame)]);
    }

    /// The reference: every byte through the state machine.
    fn run_bytewise(cfg: FramingConfig, chunks: &[&[u8]], close: bool) -> Vec<Result<String, FramingError>> {
        run_with(cfg, chunks, close, true)
    }

    #[test]
    fn runs_give_the_same_result_as_bytewise() {
        // Reproducible pseudo-random inputs, configurations and chunkings.
        let mut rnd = xorshift(0x9e37_79b9_7f4a_7c15);
        let alphabet = b"0123456789  \n\n\0aa<>x\xc8";
        for round in 0..20_000 {
            let cfg = FramingConfig {
                max_line: [0, 1, 3, 5, 8, 20, 8096][rnd(7) as usize],
                support_octet_counted: rnd(4) != 0,
                addtl_delimiter: [-1, -1, 0, b'a' as i32, 200][rnd(5) as usize],
                disable_lf: rnd(5) == 0,
                max_frame_size: [2, 9, 200_000][rnd(3) as usize],
                discard_truncated: rnd(2) == 0,
                cisco_asa: rnd(4) == 0,
                ..FramingConfig::default()
            };
            let len = rnd(60) as usize;
            let data: Vec<u8> = (0..len)
                .map(|_| alphabet[rnd(alphabet.len() as u64) as usize])
                .collect();
            let mut chunks: Vec<&[u8]> = Vec::new();
            let mut at = 0;
            while at < data.len() {
                let n = 1 + rnd((data.len() - at) as u64) as usize;
                chunks.push(&data[at..at + n]);
                at += n;
            }
            let close = rnd(2) == 0;
            assert_eq!(
                run(cfg.clone(), &chunks, close),
                run_bytewise(cfg.clone(), &chunks, close),
                "round {round}: {cfg:?} {:?} chunks {:?}",
                String::from_utf8_lossy(&data),
                chunks.iter().map(|c| c.len()).collect::<Vec<_>>()
            );
        }
    }

    #[test]
    fn cisco_asa_leading_space() {
        let cfg = FramingConfig {
            cisco_asa: true,
            ..Default::default()
        };
        assert_eq!(run(cfg, &[b" <13>x\n"], false), ok(&["<13>x"]));
    }
}
