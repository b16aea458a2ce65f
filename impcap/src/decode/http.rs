//! HTTP/1.x message heads, as the C impcap reads them over TCP ports 80 and
//! 8080.
//!
//! A payload of 6 bytes or more is read as text up to its first zero byte.
//! It is taken for HTTP when one of `OPTIONS`, `GET`, `HEAD`, `POST`, `PUT`,
//! `DELETE`, `TRACE`, `CONNECT` or `HTTP` first occurs within its first 20
//! bytes (anywhere, case-sensitive). The head is the text up to the first
//! empty line (`\r\n\r\n`), or all of it:
//!
//! - Its first line, when it has two spaces, is split at them into three
//!   parts: a response (`HTTP_version`, `HTTP_status_code`, `HTTP_reason`)
//!   when the first part contains `HTTP`, else a request (`HTTP_method`,
//!   `HTTP_request_URI`, `HTTP_version`). The third part keeps any further
//!   spaces.
//! - Every following line (split at `\r\n` only) that has a `:` becomes a
//!   member of `HTTP_header_fields`: the name as written (case kept, spaces
//!   kept), the value without its leading spaces. A repeated name keeps its
//!   first place and its last value. `HTTP_header_fields` is there (maybe
//!   empty) whenever the payload was taken for HTTP.
//!
//! The payload is returned as data.
//!
//! # Differences from the C module
//!
//! None: the C parser works on a zero-terminated copy of the payload and
//! never reads past it.

use rsyslog_ffi::json::JsonSink;
use std::ffi::CString;

/// Shorter payloads are not looked at.
const MIN_LEN: usize = 6;
/// A keyword must start before this offset.
const KEYWORD_WINDOW: usize = 20;
const KEYWORDS: &[&[u8]] = &[
    b"OPTIONS", b"GET", b"HEAD", b"POST", b"PUT", b"DELETE", b"TRACE", b"CONNECT", b"HTTP",
];

/// The first line of a message head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartLine<'a> {
    Request {
        method: &'a [u8],
        uri: &'a [u8],
        version: &'a [u8],
    },
    Response {
        version: &'a [u8],
        status: &'a [u8],
        reason: &'a [u8],
    },
}

/// A parsed message head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repr<'a> {
    pub start: Option<StartLine<'a>>,
    /// Header fields in order of appearance, repetitions included.
    pub fields: Vec<(&'a [u8], &'a [u8])>,
}

/// Where `needle` first occurs in `hay`.
fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// `hay` cut at the first `sep`: before and (if found) after it.
fn cut<'a>(hay: &'a [u8], sep: &[u8]) -> (&'a [u8], Option<&'a [u8]>) {
    match find(hay, sep) {
        Some(i) => (&hay[..i], Some(&hay[i + sep.len()..])),
        None => (hay, None),
    }
}

impl<'a> Repr<'a> {
    /// `None` when the payload is too short or not taken for HTTP.
    pub fn parse(payload: &'a [u8]) -> Option<Repr<'a>> {
        if payload.len() < MIN_LEN {
            return None;
        }
        let text = payload.split(|&c| c == 0).next().unwrap_or_default();
        let is_http = KEYWORDS
            .iter()
            .any(|kw| find(text, kw).is_some_and(|i| i < KEYWORD_WINDOW));
        if !is_http {
            return None;
        }
        let (head, _) = cut(text, b"\r\n\r\n");
        let (first_line, lines) = cut(head, b"\r\n");
        Some(Repr {
            start: parse_start_line(first_line),
            fields: lines.map(parse_fields).unwrap_or_default(),
        })
    }
}

fn parse_start_line(line: &[u8]) -> Option<StartLine<'_>> {
    let (first, rest) = cut(line, b" ");
    let (second, third) = cut(rest?, b" ");
    let third = third?;
    Some(if find(first, b"HTTP").is_some() {
        StartLine::Response {
            version: first,
            status: second,
            reason: third,
        }
    } else {
        StartLine::Request {
            method: first,
            uri: second,
            version: third,
        }
    })
}

fn parse_fields(mut lines: &[u8]) -> Vec<(&[u8], &[u8])> {
    let mut fields = Vec::new();
    loop {
        let (line, next) = cut(lines, b"\r\n");
        if let (name, Some(value)) = cut(line, b":") {
            let skip = value.iter().take_while(|&&c| c == b' ').count();
            fields.push((name, &value[skip..]));
        }
        match next {
            Some(n) => lines = n,
            None => return fields,
        }
    }
}

/// Writes the HTTP fields; returns the payload, all of which counts as data.
pub fn decode<'a>(pkt: &'a [u8], out: &mut impl JsonSink) -> &'a [u8] {
    let Some(r) = Repr::parse(pkt) else {
        return pkt;
    };
    match r.start {
        Some(StartLine::Response {
            version,
            status,
            reason,
        }) => {
            out.put_str(c"HTTP_version", version);
            out.put_str(c"HTTP_status_code", status);
            out.put_str(c"HTTP_reason", reason);
        }
        Some(StartLine::Request { method, uri, version }) => {
            out.put_str(c"HTTP_method", method);
            out.put_str(c"HTTP_request_URI", uri);
            out.put_str(c"HTTP_version", version);
        }
        None => {}
    }
    out.begin_object(c"HTTP_header_fields");
    for (name, value) in r.fields {
        // The text was cut at its first zero byte: names hold none.
        if let Ok(key) = CString::new(name) {
            out.put_str(&key, value);
        }
    }
    out.end();
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
    fn request_and_response() {
        assert_eq!(
            render(b"GET /a b HTTP/1.1\r\nHost: x\r\nAccept:  */*\r\n\r\nbody: no"),
            r#"{ "HTTP_method": "GET", "HTTP_request_URI": "\/a", "HTTP_version": "b HTTP\/1.1", "HTTP_header_fields": { "Host": "x", "Accept": "*\/*" } }"#
        );
        assert_eq!(
            render(b"HTTP/1.0 404 Not Found\r\nA:1\r\nA: 2\r\nB: 3"),
            r#"{ "HTTP_version": "HTTP\/1.0", "HTTP_status_code": "404", "HTTP_reason": "Not Found", "HTTP_header_fields": { "A": "2", "B": "3" } }"#
        );
    }

    #[test]
    fn keyword_window() {
        let mut p = vec![b'x'; 19];
        p.extend_from_slice(b"PUT a b\r\nK: v");
        assert!(render(&p).contains(r#""K": "v""#));
        let mut p = vec![b'x'; 20];
        p.extend_from_slice(b"PUT a b\r\nK: v");
        assert_eq!(render(&p), "{ }");
        // Only the first occurrence counts; it must be complete in the text.
        assert_eq!(render(b"12345678901234567HEA"), "{ }");
        assert_eq!(render(b"get / http/1.1\r\n"), "{ }");
    }

    #[test]
    fn short_or_odd() {
        assert_eq!(render(b"HTTP/"), "{ }");
        assert_eq!(render(b"HTTP/1"), r#"{ "HTTP_header_fields": { } }"#);
        // A zero byte ends the text.
        assert_eq!(render(b"\0GET / HTTP/1.1\r\n"), "{ }");
        assert_eq!(
            render(b"GET / HTTP/1.1\r\nA: b\0\r\nC: d"),
            r#"{ "HTTP_method": "GET", "HTTP_request_URI": "\/", "HTTP_version": "HTTP\/1.1", "HTTP_header_fields": { "A": "b" } }"#
        );
        // One space only: no start-line fields, but the header lines count.
        assert_eq!(
            render(b"POST /x\r\n: empty name\r\nno colon\r\n x :y\r\n"),
            r#"{ "HTTP_header_fields": { "": "empty name", " x ": "y" } }"#
        );
    }

    /// python-dpkt http.pcap, frame 4, as the C module printed it.
    #[test]
    fn real_request() {
        check_frame(
            concat!(
                "feff200001000000010000000800450002070f4540008006901091fea0ed41d0e4df0d2c005038affe14114c618c5018",
                "25bca9580000474554202f646f776e6c6f61642e68746d6c20485454502f312e310d0a486f73743a207777772e657468",
                "657265616c2e636f6d0d0a557365722d4167656e743a204d6f7a696c6c612f352e30202857696e646f77733b20553b20",
                "57696e646f7773204e5420352e313b20656e2d55533b2072763a312e3629204765636b6f2f32303034303131330d0a41",
                "63636570743a20746578742f786d6c2c6170706c69636174696f6e2f786d6c2c6170706c69636174696f6e2f7868746d",
                "6c2b786d6c2c746578742f68746d6c3b713d302e392c746578742f706c61696e3b713d302e382c696d6167652f706e67",
                "2c696d6167652f6a7065672c696d6167652f6769663b713d302e322c2a2f2a3b713d302e310d0a4163636570742d4c61",
                "6e67756167653a20656e2d75732c656e3b713d302e350d0a4163636570742d456e636f64696e673a20677a69702c6465",
                "666c6174650d0a4163636570742d436861727365743a2049534f2d383835392d312c7574662d383b713d302e372c2a3b",
                "713d302e370d0a4b6565702d416c6976653a203330300d0a436f6e6e656374696f6e3a206b6565702d616c6976650d0a",
                "526566657265723a20687474703a2f2f7777772e657468657265616c2e636f6d2f646576656c6f706d656e742e68746d",
                "6c0d0a0d0a",
            ),
            r#"{ "ETH_src": "0:0:1:0:0:0", "ETH_dst": "fe:ff:20:0:1:0", "ETH_type": 2048, "ETH_typestr": "IP", "net_dst_ip": "65.208.228.223", "net_src_ip": "145.254.160.237", "IP_ihl": 5, "net_ttl": 128, "IP_proto": 6, "net_src_port": 3372, "net_dst_port": 80, "TCP_seq_number": 951057940, "TCP_ack_number": 290218380, "net_flags": "PA", "HTTP_method": "GET", "HTTP_request_URI": "\/download.html", "HTTP_version": "HTTP\/1.1", "HTTP_header_fields": { "Host": "www.ethereal.com", "User-Agent": "Mozilla\/5.0 (Windows; U; Windows NT 5.1; en-US; rv:1.6) Gecko\/20040113", "Accept": "text\/xml,application\/xml,application\/xhtml+xml,text\/html;q=0.9,text\/plain;q=0.8,image\/png,image\/jpeg,image\/gif;q=0.2,*\/*;q=0.1", "Accept-Language": "en-us,en;q=0.5", "Accept-Encoding": "gzip,deflate", "Accept-Charset": "ISO-8859-1,utf-8;q=0.7,*;q=0.7", "Keep-Alive": "300", "Connection": "keep-alive", "Referer": "http:\/\/www.ethereal.com\/development.html" } }"#,
            479,
        );
    }

    /// tcpflow test1.pcap, frame 29 (a 204 with TCP timestamps), as the C module printed it.
    #[test]
    fn real_response() {
        check_frame(
            concat!(
                "001f5bc7fad2000fccfeccdc0800450000bc5e8a0000370604c24a7d1365c0a801660050c70c0f38eb6622e28a7d8018",
                "006c330200000101080a112c031b316ac2db485454502f312e3120323034204e6f20436f6e74656e740d0a436f6e7465",
                "6e742d547970653a20746578742f68746d6c3b20636861727365743d5554462d380d0a446174653a204d6f6e2c203036",
                "204f637420323030382031373a35343a353420474d540d0a5365727665723a206777730d0a436f6e74656e742d4c656e",
                "6774683a20300d0a0d0a",
            ),
            r#"{ "ETH_src": "0:f:cc:fe:cc:dc", "ETH_dst": "0:1f:5b:c7:fa:d2", "ETH_type": 2048, "ETH_typestr": "IP", "net_dst_ip": "192.168.1.102", "net_src_ip": "74.125.19.101", "IP_ihl": 5, "net_ttl": 55, "IP_proto": 6, "net_src_port": 80, "net_dst_port": 50956, "TCP_seq_number": 255388518, "TCP_ack_number": 585271933, "net_flags": "PA", "HTTP_version": "HTTP\/1.1", "HTTP_status_code": "204", "HTTP_reason": "No Content", "HTTP_header_fields": { "Content-Type": "text\/html; charset=UTF-8", "Date": "Mon, 06 Oct 2008 17:54:54 GMT", "Server": "gws", "Content-Length": "0" } }"#,
            136,
        );
    }

    /// Every prefix of some samples, and random bytes: no panic, and what is
    /// returned lies inside the input.
    #[test]
    fn never_reads_past_the_input() {
        assert_stays_inside(
            |p| decode(p, &mut TextJson::new()),
            &[b"GET / HTTP/1.1\r\nHost: a\r\nX:  y\r\n\r\nbody".to_vec()],
        );
    }
}
