//! Current upstream's opt-in framing modes, on every host: `multiLine` (a
//! delimiter ends a frame only before `<`) and `framing.delimiter.regex` (a
//! frame ends where a line matching a POSIX extended expression starts).

use rsyslog_tests::compare::{self, Imp};
use rsyslog_tests::*;
use std::io::Write;
use std::time::Duration;

const T: Duration = Duration::from_secs(15);

const CONF: &str = r#"
$EscapeControlCharactersOnReceive off
module(load="${IMTCP}")
input(type="imtcp" port="0" listenPortFileName="${WORKDIR}/p-multi" name="multi" multiLine="on")
input(type="imtcp" port="0" listenPortFileName="${WORKDIR}/p-bad" name="bad" framing.delimiter.regex="a(b")
template(name="t" type="string" string="NEWMSG: %rawmsg%\n")
if $inputname == "multi" then action(type="omfile" file="${WORKDIR}/out-multi" template="t")
"#;

const REGEX_CONF: &str = r#"
$EscapeControlCharactersOnReceive off
module(load="${IMTCP}")
input(type="imtcp" port="0" listenPortFileName="${WORKDIR}/p-regex" name="regex"
      framing.delimiter.regex="^<[0-9]{2}>(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)")
template(name="t" type="string" string="NEWMSG: %rawmsg%\n")
if $inputname == "regex" then action(type="omfile" file="${WORKDIR}/out-regex" template="t")
"#;

/// One run of the regex framing: a session split at awkward places whose last
/// frame is still open when it closes, then a second session whose first frame
/// a next header ends. The output after rsyslogd stopped.
fn regex_run(host: &Host, imp: Imp) -> Vec<String> {
    let d = compare::start(host, imp, "imtcp", REGEX_CONF);
    let port = d.wait_port_file("p-regex", T);
    // Split inside a header and right after a line's LF.
    let mut s = tcp_connect(port);
    for part in [
        &b"<33>Mar  1 01:00:00 host tag first\n<33>Mar  1 01:00:00 host tag xml\n<a/>\n  <b/"[..],
        b">\n<3",
        b"3>Mar  1 01:00:00 host tag second\n<33>Ma",
        b"r  1 01:00:00 host tag last\n",
    ] {
        s.write_all(part).unwrap();
        s.flush().unwrap();
        std::thread::sleep(Duration::from_millis(50));
    }
    drop(s);
    d.wait_lines("out-regex", 5, T);
    // The first session's close has had time to be handled before the marker arrives.
    std::thread::sleep(Duration::from_millis(300));
    tcp_send(
        port,
        b"<33>Mar  1 01:00:00 host tag marker\n<33>Mar  1 01:00:00 host tag open at close",
    );
    d.wait_lines("out-regex", 6, T);
    let st = d.stop();
    assert!(st.exited_cleanly(), "{imp:?}: {}", st.report());
    st.lines("out-regex")
}

/// `framing.delimiter.regex`: a frame ends where the next one starts, so the
/// frame still open when the peer closes is dropped, as current upstream
/// does (its imtcp_framing_regex.sh expects that). On a host whose C imtcp
/// has the parameter (current upstream) the C module must give the same.
#[test]
fn regex_framing_drops_the_frame_open_at_close() {
    let Some(host) = require_host("regex_framing_drops_the_frame_open_at_close") else {
        return;
    };
    let want = [
        "NEWMSG: <33>Mar  1 01:00:00 host tag first",
        "NEWMSG: <33>Mar  1 01:00:00 host tag xml",
        "<a/>",
        "  <b/>",
        "NEWMSG: <33>Mar  1 01:00:00 host tag second",
        "NEWMSG: <33>Mar  1 01:00:00 host tag marker",
    ];
    let c_has_regex = std::fs::read(compare::c_module_file(&host, "imtcp"))
        .is_ok_and(|b| b.windows(23).any(|w| w == b"framing.delimiter.regex"));
    if c_has_regex {
        let (c, ours) = compare::both("regex_framing_drops_the_frame_open_at_close", "imtcp", regex_run).unwrap();
        assert_eq!(c, want, "the C module");
        assert_eq!(ours, want, "ours");
    } else {
        assert_eq!(regex_run(&host, Imp::Rust), want);
    }
}

#[test]
fn multiline_framing_and_a_bad_regex() {
    let Some(host) = require_host("multiline_framing_and_a_bad_regex") else {
        return;
    };
    let d = Daemon::start(&host, CONF);
    let p_multi = d.wait_port_file("p-multi", T);
    let mut s = tcp_connect(p_multi);
    s.write_all(b"<13>app: one\n  two\nthree\n").unwrap();
    s.flush().unwrap();
    std::thread::sleep(Duration::from_millis(50));
    s.write_all(b"<13>app: four\n<13>app: five\n").unwrap();
    drop(s);
    let multi = d.wait_lines("out-multi", 5, T);
    let log = d.wait_internal("framing.delimiter.regex 'a(b'", T);
    let bad_port_file = d.path("p-bad").exists();
    d.stop();
    assert_eq!(
        multi,
        [
            "NEWMSG: <13>app: one",
            "  two",
            "three",
            "NEWMSG: <13>app: four",
            "NEWMSG: <13>app: five",
        ]
    );
    assert!(
        log.contains("imtcp: input 'bad': framing.delimiter.regex 'a(b' is not a valid regular expression: "),
        "{log}"
    );
    assert!(!bad_port_file);
}
