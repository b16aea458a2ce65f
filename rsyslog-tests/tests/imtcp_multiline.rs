//! Current upstream's opt-in framing modes, on every host: `multiLine` (a
//! delimiter ends a frame only before `<`) and `framing.delimiter.regex` (a
//! frame ends where a line matching a POSIX extended expression starts).

use rsyslog_tests::*;
use std::io::Write;
use std::time::Duration;

const T: Duration = Duration::from_secs(15);

const CONF: &str = r#"
$EscapeControlCharactersOnReceive off
module(load="${IMTCP}")
input(type="imtcp" port="0" listenPortFileName="${WORKDIR}/p-regex" name="regex"
      framing.delimiter.regex="^<[0-9]{2}>(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)")
input(type="imtcp" port="0" listenPortFileName="${WORKDIR}/p-multi" name="multi" multiLine="on")
input(type="imtcp" port="0" listenPortFileName="${WORKDIR}/p-bad" name="bad" framing.delimiter.regex="a(b")
template(name="t" type="string" string="NEWMSG: %rawmsg%\n")
if $inputname == "regex" then action(type="omfile" file="${WORKDIR}/out-regex" template="t")
if $inputname == "multi" then action(type="omfile" file="${WORKDIR}/out-multi" template="t")
"#;

#[test]
fn multiline_and_regex_framing() {
    let Some(host) = require_host("multiline_and_regex_framing") else {
        return;
    };
    let d = Daemon::start(&host, CONF);
    let (p_regex, p_multi) = (d.wait_port_file("p-regex", T), d.wait_port_file("p-multi", T));
    // Split at awkward places: inside a header and right after a line's LF.
    let mut s = tcp_connect(p_regex);
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
    let mut s = tcp_connect(p_multi);
    s.write_all(b"<13>app: one\n  two\nthree\n").unwrap();
    s.flush().unwrap();
    std::thread::sleep(Duration::from_millis(50));
    s.write_all(b"<13>app: four\n<13>app: five\n").unwrap();
    drop(s);
    let regex = d.wait_lines("out-regex", 6, T);
    let multi = d.wait_lines("out-multi", 5, T);
    let log = d.wait_internal("framing.delimiter.regex 'a(b'", T);
    let bad_port_file = d.path("p-bad").exists();
    d.stop();
    assert_eq!(
        regex,
        [
            "NEWMSG: <33>Mar  1 01:00:00 host tag first",
            "NEWMSG: <33>Mar  1 01:00:00 host tag xml",
            "<a/>",
            "  <b/>",
            "NEWMSG: <33>Mar  1 01:00:00 host tag second",
            // The last frame is submitted when the peer closes (current upstream keeps it
            // until a next header arrives and loses it at the close).
            "NEWMSG: <33>Mar  1 01:00:00 host tag last",
        ]
    );
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
