//! FTP control (and, by port 20, data) payloads, as the C impcap reads them.
//!
//! A payload of 5 bytes or more is cut at the first space-delimited token
//! (leading spaces skipped; a zero byte ends the text). If that token reads
//! as a number (C `strtol` rules: leading white space and a sign allowed,
//! trailing garbage ignored) found in the C module's list of reply codes,
//! it is reported as `FTP_response`. Otherwise `FTP_request` is the token
//! when it is exactly one of the known commands, else `UNKNOWN`. The payload
//! is returned as data.
//!
//! # Differences from the C module
//!
//! For 8.2302 and 8.2504; current upstream's parser ends its copy with a
//! zero byte and so reads as we do.
//!
//! - **Token running to the end of the payload.** The C parser copies the
//!   payload without a terminating zero and lets `strtok` and `strtol` run
//!   past its end, into whatever follows on the heap, when the payload ends
//!   inside the first token (no space after it, no zero byte), or when it
//!   is nothing but spaces. We take the end of the payload as the end of
//!   the text. The result is the same unless the heap bytes would have
//!   changed it: e.g. a payload ending in exactly `PWD` (no CRLF) gives
//!   `PWD` here, and in C only when a zero byte happens to follow (it did
//!   in our comparison runs); an all-space payload adds nothing here, while
//!   C might find a token in the heap.
//! - The C parser also calls `strtok` a second time, for the rest of the
//!   line, which may read past the copy too; its result is never used, so
//!   we do not do that.

use rsyslog_ffi::json::JsonSink;

/// Shorter payloads are not looked at.
const MIN_LEN: usize = 5;

/// The reply codes the C module recognises (its list has `100054`, not a
/// 5-digit code, among its extended ones).
const REPLY_CODES: &[i64] = &[
    100, 110, 120, 125, 150, 200, 202, 211, 212, 213, 214, 215, 220, 221, 225, 226, 227, 228, 229, 230, 231, 232, 250,
    257, 300, 331, 332, 350, 400, 421, 425, 426, 430, 434, 450, 451, 452, 500, 501, 502, 503, 504, 530, 532, 550, 551,
    552, 553, 600, 631, 632, 633, 10000, 100054, 10060, 10061, 10066, 10068,
];

/// The commands the C module recognises.
const COMMANDS: &[&str] = &[
    "STOR", "TYPE", "ABOR", "ACCT", "ALLO", "APPE", "CDUP", "CWD", "DELE", "HELP", "LIST", "MKD", "MODE", "NLST",
    "NOOP", "PASS", "PASV", "PORT", "PWD", "QUIT", "REIN", "REST", "RETR", "RMD", "RNFR", "RNTO", "SITE", "SMNT",
    "STAT", "STOU", "STRU", "SYST", "USER",
];

/// What the first token of a payload says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Repr {
    Response(i32),
    /// A known command, or `UNKNOWN`.
    Request(&'static str),
}

impl Repr {
    /// `None` when the payload is too short or has no token.
    pub fn parse(payload: &[u8]) -> Option<Repr> {
        if payload.len() < MIN_LEN {
            return None;
        }
        let token = first_token(payload)?;
        let value = c_strtol(token);
        if let Some(&code) = REPLY_CODES.iter().find(|&&c| c == value) {
            // Every listed code fits in an i32.
            return Some(Repr::Response(code as i32));
        }
        let cmd = COMMANDS
            .iter()
            .find(|c| c.as_bytes() == token)
            .copied()
            .unwrap_or("UNKNOWN");
        Some(Repr::Request(cmd))
    }
}

/// The first run of bytes up to a space, after leading spaces, in the text
/// that ends at the first zero byte or at the end of the payload.
fn first_token(payload: &[u8]) -> Option<&[u8]> {
    let text = payload.split(|&c| c == 0).next().unwrap_or_default();
    text.split(|&c| c == b' ').find(|t| !t.is_empty())
}

/// C's `strtol(s, NULL, 10)` in the C locale, with a 64-bit `long`.
fn c_strtol(s: &[u8]) -> i64 {
    let mut rest = s;
    while let [c, tail @ ..] = rest {
        if matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r') {
            rest = tail;
        } else {
            break;
        }
    }
    let negative = match rest.first() {
        Some(b'-') => true,
        Some(b'+') => false,
        _ => return digits_value(rest, false),
    };
    digits_value(&rest[1..], negative)
}

/// The value of the leading decimal digits, saturated as `strtol` does.
fn digits_value(s: &[u8], negative: bool) -> i64 {
    let mut v: i64 = 0;
    for &c in s.iter().take_while(|c| c.is_ascii_digit()) {
        let d = (c - b'0') as i64;
        v = if negative {
            v.saturating_mul(10).saturating_sub(d)
        } else {
            v.saturating_mul(10).saturating_add(d)
        };
    }
    v
}

/// Writes the FTP field; returns the payload, all of which counts as data.
pub fn decode<'a>(pkt: &'a [u8], out: &mut impl JsonSink) -> &'a [u8] {
    match Repr::parse(pkt) {
        Some(Repr::Response(code)) => out.put_int(c"FTP_response", code),
        Some(Repr::Request(cmd)) => out.put_str(c"FTP_request", cmd.as_bytes()),
        None => {}
    }
    pkt
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::testutil::{assert_stays_inside, check_frame};
    use rsyslog_ffi::TextJson;

    fn render(pkt: &[u8]) -> String {
        let mut j = TextJson::new();
        assert_eq!(decode(pkt, &mut j), pkt);
        j.render()
    }

    #[test]
    fn responses() {
        assert_eq!(render(b"220 (vsFTPd 2.3.4)\r\n"), r#"{ "FTP_response": 220 }"#);
        assert_eq!(render(b"230-Welcome\r\n"), r#"{ "FTP_response": 230 }"#);
        assert_eq!(render(b"\r\n226 ok"), r#"{ "FTP_response": 226 }"#);
        // Only spaces delimit the token: this one is "\r\n".
        assert_eq!(render(b"\r\n 226 ok"), r#"{ "FTP_request": "UNKNOWN" }"#);
        assert_eq!(render(b"100054 x"), r#"{ "FTP_response": 100054 }"#);
        // Not in the list: taken for a request.
        assert_eq!(render(b"299 whatever\r\n"), r#"{ "FTP_request": "UNKNOWN" }"#);
        assert_eq!(render(b"-220 x"), r#"{ "FTP_request": "UNKNOWN" }"#);
        assert_eq!(render(b"+220 x"), r#"{ "FTP_response": 220 }"#);
    }

    #[test]
    fn requests() {
        assert_eq!(render(b"USER anonymous\r\n"), r#"{ "FTP_request": "USER" }"#);
        assert_eq!(render(b"   RETR file\r\n"), r#"{ "FTP_request": "RETR" }"#);
        // The token must be exactly the command.
        assert_eq!(render(b"QUIT\r\n"), r#"{ "FTP_request": "UNKNOWN" }"#);
        assert_eq!(render(b"user anonymous\r\n"), r#"{ "FTP_request": "UNKNOWN" }"#);
    }

    #[test]
    fn short_or_empty() {
        assert_eq!(render(b"USER"), "{ }");
        assert_eq!(render(b""), "{ }");
        assert_eq!(render(b"\0USER x"), "{ }");
        assert_eq!(render(b"NOOP\0 abc"), r#"{ "FTP_request": "NOOP" }"#);
    }

    /// Differences: the token ends with the payload; C reads on into the heap.
    #[test]
    fn token_ends_with_payload() {
        assert_eq!(render(b"   PWD"), r#"{ "FTP_request": "PWD" }"#);
        assert_eq!(render(b"     "), "{ }");
        assert_eq!(render(b"  221"), r#"{ "FTP_response": 221 }"#);
    }

    #[test]
    fn strtol_saturates() {
        assert_eq!(c_strtol(b"99999999999999999999999"), i64::MAX);
        assert_eq!(c_strtol(b"-99999999999999999999999"), i64::MIN);
        assert_eq!(c_strtol(b"\x0b\x0c-12x"), -12);
        assert_eq!(c_strtol(b"abc"), 0);
    }

    /// A crafted capture (no FTP in the corpus), as the C module printed it.
    #[test]
    fn crafted_capture() {
        check_frame(
            concat!(
                "0011223344550066778899aa08004500003c00010000400600000a0000010a0000029c40001501020304a0b0c0d05018",
                "200000000000323230202876734654506420332e302e33290d0a",
            ),
            r#"{ "ETH_src": "0:66:77:88:99:aa", "ETH_dst": "0:11:22:33:44:55", "ETH_type": 2048, "ETH_typestr": "IP", "net_dst_ip": "10.0.0.2", "net_src_ip": "10.0.0.1", "IP_ihl": 5, "net_ttl": 64, "IP_proto": 6, "net_src_port": 40000, "net_dst_port": 21, "TCP_seq_number": 16909060, "TCP_ack_number": 2695938256, "net_flags": "PA", "FTP_response": 220 }"#,
            20,
        );
        check_frame(
            concat!(
                "0011223344550066778899aa08004500003800010000400600000a0000010a00000200159c4001020304a0b0c0d05018",
                "2000000000005553455220616e6f6e796d6f75730d0a",
            ),
            r#"{ "ETH_src": "0:66:77:88:99:aa", "ETH_dst": "0:11:22:33:44:55", "ETH_type": 2048, "ETH_typestr": "IP", "net_dst_ip": "10.0.0.2", "net_src_ip": "10.0.0.1", "IP_ihl": 5, "net_ttl": 64, "IP_proto": 6, "net_src_port": 21, "net_dst_port": 40000, "TCP_seq_number": 16909060, "TCP_ack_number": 2695938256, "net_flags": "PA", "FTP_request": "USER" }"#,
            16,
        );
    }

    /// Every prefix of some samples, and random bytes: no panic, and what is
    /// returned lies inside the input.
    #[test]
    fn never_reads_past_the_input() {
        assert_stays_inside(
            |p| decode(p, &mut TextJson::new()),
            &[b"220 (vsFTPd 3.0.3)\r\n".to_vec(), b"   USER anonymous\r\n".to_vec()],
        );
    }
}
