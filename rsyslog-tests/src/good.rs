//! The well-behaved session that bad-input tests keep open beside the fault:
//! it sends `<13>good: g<n>` LF-framed, numbered from 0, over any writer (plain
//! TCP, a TLS stream, a compressing writer), and [`assert_good`] checks that
//! every one of them arrived, once, in order.

use std::io::Write;

pub struct Good<W: Write> {
    pub w: W,
    next: usize,
}

impl<W: Write> Good<W> {
    pub fn new(w: W) -> Good<W> {
        Good { w, next: 0 }
    }

    /// Messages sent so far.
    pub fn sent(&self) -> usize {
        self.next
    }

    /// Sends the next `n` messages in one write, then flushes the writer (a TLS or
    /// compressing writer pushes them out).
    pub fn send(&mut self, n: usize) {
        let mut buf = Vec::new();
        for _ in 0..n {
            buf.extend_from_slice(format!("<13>good: g{}\n", self.next).as_bytes());
            self.next += 1;
        }
        self.w.write_all(&buf).expect("the good session can send");
        self.w.flush().expect("the good session can flush");
    }
}

/// All good messages arrived, each once, in order (lines are `%rawmsg%`).
pub fn assert_good(lines: &[String], sent: usize) {
    let got = numbers_after(lines, "<13>good: g");
    assert_eq!(got, (0..sent).collect::<Vec<_>>(), "good session's messages");
}

/// The numbers that end the lines starting with `prefix`, in line order
/// (`usize::MAX` for a line whose rest is not a number).
pub fn numbers_after(lines: &[String], prefix: &str) -> Vec<usize> {
    lines
        .iter()
        .filter_map(|l| l.strip_prefix(prefix))
        .map(|n| n.parse().unwrap_or(usize::MAX))
        .collect()
}

/// Lines of `text` that contain `needle`.
pub fn count<S: AsRef<str>>(lines: impl IntoIterator<Item = S>, needle: &str) -> usize {
    lines.into_iter().filter(|l| l.as_ref().contains(needle)).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_run_on_across_sends_and_the_check_sees_gaps() {
        let mut g = Good::new(Vec::new());
        g.send(2);
        g.send(1);
        let lines: Vec<String> = String::from_utf8(g.w.clone())
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect();
        assert_good(&lines, 3);
        assert_eq!(g.sent(), 3);
        let gap = vec![lines[0].clone(), lines[2].clone()];
        assert!(std::panic::catch_unwind(|| assert_good(&gap, 3)).is_err());
        assert_eq!(count(&lines, "g1"), 1);
        assert_eq!(count("a\nab\nb".lines(), "a"), 2);
    }
}
