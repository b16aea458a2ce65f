//! Polling helpers (no rsyslogd needed; unit-tested).

use std::path::Path;
use std::time::{Duration, Instant};

/// Poll interval used by the harness.
pub const POLL: Duration = Duration::from_millis(20);

/// Calls `f` every `interval` until it returns `Some` or `timeout` passed (`f` is always
/// called at least once, and once more after the deadline).
pub fn poll_until<T>(timeout: Duration, interval: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        let now = Instant::now();
        if now >= deadline {
            return None;
        }
        std::thread::sleep(interval.min(deadline - now));
    }
}

/// The newline-terminated lines of `bytes` (lossy UTF-8, without the `\n`). A trailing
/// unterminated line is NOT included: it may still be being written.
pub fn complete_lines(bytes: &[u8]) -> Vec<String> {
    let end = match bytes.iter().rposition(|&b| b == b'\n') {
        Some(i) => i,
        None => return Vec::new(),
    };
    bytes[..end]
        .split(|&b| b == b'\n')
        .map(|l| String::from_utf8_lossy(l).into_owned())
        .collect()
}

/// All lines including an unterminated last one (for reports).
pub fn all_lines(bytes: &[u8]) -> Vec<String> {
    let mut v = complete_lines(bytes);
    let tail_start = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    if tail_start < bytes.len() {
        v.push(String::from_utf8_lossy(&bytes[tail_start..]).into_owned());
    }
    v
}

/// File content as (lossy) text; empty when missing.
pub fn read_lossy(path: &Path) -> String {
    std::fs::read(path)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default()
}

/// Waits until `path` has at least `n` complete lines. `Ok(all complete lines)`, or on
/// timeout `Err(every line it has, including an unterminated last one)`.
/// `abort` is polled too: returning `Some(reason)` ends the wait early with `Err`.
pub fn wait_file_lines(
    path: &Path,
    n: usize,
    timeout: Duration,
    mut abort: impl FnMut() -> Option<String>,
) -> Result<Vec<String>, (Vec<String>, Option<String>)> {
    let mut aborted = None;
    let got = poll_until(timeout, POLL, || {
        let lines = complete_lines(&std::fs::read(path).unwrap_or_default());
        if lines.len() >= n {
            return Some(lines);
        }
        if let Some(why) = abort() {
            // One last look: the process may have flushed right before exiting.
            let lines = complete_lines(&std::fs::read(path).unwrap_or_default());
            if lines.len() >= n {
                return Some(lines);
            }
            aborted = Some(why);
            return Some(Vec::new());
        }
        None
    });
    match got {
        Some(lines) if aborted.is_none() => Ok(lines),
        _ => Err((all_lines(&std::fs::read(path).unwrap_or_default()), aborted)),
    }
}

/// Parses a port file as written by imtcp's `listenPortFileName` (digits, maybe no newline).
/// `None` for empty/partial/invalid content or port 0.
pub fn parse_port(text: &str) -> Option<u16> {
    let t = text.trim();
    if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    t.parse::<u16>().ok().filter(|&p| p != 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn line_splitting() {
        assert!(complete_lines(b"").is_empty());
        assert!(complete_lines(b"partial").is_empty());
        assert_eq!(complete_lines(b"a\nb\n"), ["a", "b"]);
        assert_eq!(complete_lines(b"a\nb\nc"), ["a", "b"]);
        assert_eq!(complete_lines(b"\n\n"), ["", ""]);
        assert_eq!(complete_lines(b"x\xff\n"), ["x\u{fffd}"]);
        assert_eq!(all_lines(b"a\nb\nc"), ["a", "b", "c"]);
        assert_eq!(all_lines(b"a\n"), ["a"]);
    }

    #[test]
    fn ports() {
        assert_eq!(parse_port("13514"), Some(13514));
        assert_eq!(parse_port("13514\n"), Some(13514));
        assert_eq!(parse_port(""), None);
        assert_eq!(parse_port("0"), None);
        assert_eq!(parse_port("70000"), None);
        assert_eq!(parse_port("12a"), None);
    }

    #[test]
    fn poll_until_times_out_and_succeeds() {
        let t0 = Instant::now();
        let r: Option<()> = poll_until(Duration::from_millis(100), Duration::from_millis(10), || None);
        assert!(r.is_none());
        assert!(t0.elapsed() >= Duration::from_millis(100));
        let mut n = 0;
        assert_eq!(
            poll_until(Duration::from_secs(5), Duration::from_millis(1), || {
                n += 1;
                (n == 3).then_some(n)
            }),
            Some(3)
        );
    }

    #[test]
    fn waits_for_lines_written_later() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.log");
        let p2 = path.clone();
        let writer = std::thread::spawn(move || {
            let mut f = std::fs::File::create(&p2).unwrap();
            for i in 0..5 {
                std::thread::sleep(Duration::from_millis(30));
                // Write each line in two pieces to exercise the partial-line logic.
                write!(f, "line {i}").unwrap();
                f.flush().unwrap();
                std::thread::sleep(Duration::from_millis(5));
                writeln!(f).unwrap();
            }
        });
        let lines = wait_file_lines(&path, 3, Duration::from_secs(10), || None).unwrap();
        assert!(lines.len() >= 3);
        assert_eq!(&lines[..3], ["line 0", "line 1", "line 2"]);
        writer.join().unwrap();
        let lines = wait_file_lines(&path, 5, Duration::from_secs(1), || None).unwrap();
        assert_eq!(lines.len(), 5);
    }

    #[test]
    fn wait_lines_timeout_reports_partial() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.log");
        std::fs::write(&path, "one\ntw").unwrap();
        let (have, why) = wait_file_lines(&path, 2, Duration::from_millis(80), || None).unwrap_err();
        assert_eq!(have, ["one", "tw"]);
        assert!(why.is_none());
        // missing file
        let (have, _) = wait_file_lines(&dir.path().join("nope"), 1, Duration::from_millis(30), || None).unwrap_err();
        assert!(have.is_empty());
    }

    #[test]
    fn wait_lines_aborts_early() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.log");
        let t0 = Instant::now();
        let (_, why) = wait_file_lines(&path, 1, Duration::from_secs(30), || Some("died".into())).unwrap_err();
        assert_eq!(why.as_deref(), Some("died"));
        assert!(t0.elapsed() < Duration::from_secs(5));
        // abort with the data already there → success
        std::fs::write(&path, "x\n").unwrap();
        assert_eq!(
            wait_file_lines(&path, 1, Duration::from_secs(1), || Some("died".into())).unwrap(),
            ["x"]
        );
    }
}
