//! Config text handling: `${NAME}` placeholders and the harness preamble.

use std::path::Path;

/// File (in the work dir) receiving every internal rsyslogd message, template `%msg%\n`.
pub const INTERNAL_LOG: &str = "internal.log";
/// Same messages as `"<severity-text> <syslogtag> <msg>"` (e.g. `err rsyslogd-2207: ...`).
pub const INTERNAL_DETAIL_LOG: &str = "internal.detail.log";
/// The generated config file name in the work dir.
pub const CONF_FILE: &str = "rsyslog.conf";
/// rsyslogd's pid file (`-i`).
pub const PID_FILE: &str = "rsyslogd.pid";
/// Captured stdout / stderr of rsyslogd.
pub const STDOUT_FILE: &str = "rsyslogd.stdout";
pub const STDERR_FILE: &str = "rsyslogd.stderr";

/// Replaces every `${NAME}` (NAME = `[A-Za-z0-9_]+`) for which `resolve` returns `Some`.
/// Unknown placeholders and anything else are left untouched. Single pass: replacement
/// text is not scanned again. `resolve` is only called for placeholders present in `text`.
pub fn substitute(text: &str, resolve: &mut dyn FnMut(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let name_len = after
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(after.len());
        let name = &after[..name_len];
        if name_len > 0 && after[name_len..].starts_with('}') {
            if let Some(v) = resolve(name) {
                out.push_str(&v);
                rest = &after[name_len + 1..];
                continue;
            }
        }
        out.push_str("${");
        rest = after;
    }
    out.push_str(rest);
    out
}

/// Escapes a value for use inside a RainerScript double-quoted string.
pub fn rs_quote(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

/// The harness preamble — deliberately ONE line (see [`with_preamble`]):
/// `global(workDirectory=...)` (left out when `set_workdir` is false, i.e. the test config
/// sets it itself; rsyslogd rejects a second one) and a rule writing every internal message
/// (`$syslogtag startswith "rsyslogd"`, which also matches `rsyslogd-2207:` error tags) to
/// [`INTERNAL_LOG`] and [`INTERNAL_DETAIL_LOG`]. No `stop`: the test's rules still see them.
pub fn preamble(workdir: &Path, set_workdir: bool) -> String {
    let wd = rs_quote(&workdir.to_string_lossy());
    let mut p = String::new();
    if set_workdir {
        p.push_str(&format!("global(workDirectory=\"{wd}\") "));
    }
    p.push_str(concat!(
        "template(name=\"rstb_harness_internal\" type=\"string\" string=\"%msg%\\n\") ",
        "template(name=\"rstb_harness_internal_detail\" type=\"string\" ",
        "string=\"%syslogseverity-text% %syslogtag% %msg%\\n\") ",
    ));
    p.push_str(&format!(
        "if $syslogtag startswith \"rsyslogd\" then {{ \
         action(type=\"omfile\" file=\"{wd}/{INTERNAL_LOG}\" template=\"rstb_harness_internal\") \
         action(type=\"omfile\" file=\"{wd}/{INTERNAL_DETAIL_LOG}\" template=\"rstb_harness_internal_detail\") }}"
    ));
    p
}

/// True when the config sets the work directory itself (`workDirectory=` or `$WorkDirectory`).
pub fn config_sets_workdir(config: &str) -> bool {
    config.to_ascii_lowercase().contains("workdirectory")
}

/// Puts the one-line preamble in front of `config`. If the config's first line is blank
/// (typical for `r#"` + newline literals) the preamble takes that line, so rsyslogd's
/// "on or before line N" numbers match the test's config text; otherwise it becomes a new
/// first line (numbers shift by one). It cannot share a non-blank line: legacy `$Directive`
/// and selector lines must start a line.
pub fn with_preamble(preamble: &str, config: &str) -> String {
    let (first, rest) = match config.find('\n') {
        Some(i) => (&config[..i], Some(&config[i..])),
        None => (config, None),
    };
    match rest {
        Some(rest) if first.trim().is_empty() => format!("{preamble}{rest}"),
        _ => format!("{preamble}\n{config}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn sub(text: &str, vars: &[(&str, &str)]) -> (String, Vec<String>) {
        let map: HashMap<_, _> = vars.iter().cloned().collect();
        let mut asked = vec![];
        let out = substitute(text, &mut |n| {
            asked.push(n.to_string());
            map.get(n).map(|v| v.to_string())
        });
        (out, asked)
    }

    #[test]
    fn substitutes_known_placeholders() {
        let (out, asked) = sub(
            "a ${WORKDIR}/x ${IMTCP} ${WORKDIR}",
            &[("WORKDIR", "/tmp/w"), ("IMTCP", "/m/imtcp.so")],
        );
        assert_eq!(out, "a /tmp/w/x /m/imtcp.so /tmp/w");
        assert_eq!(asked, ["WORKDIR", "IMTCP", "WORKDIR"]);
    }

    #[test]
    fn leaves_unknown_and_malformed_alone() {
        let (out, _) = sub("${NOPE} ${ } ${A-B} $WORKDIR ${WORKDIR ${", &[("WORKDIR", "/w")]);
        assert_eq!(out, "${NOPE} ${ } ${A-B} $WORKDIR ${WORKDIR ${");
        let (out, _) = sub("$!var ${WORKDIR}}", &[("WORKDIR", "/w")]);
        assert_eq!(out, "$!var /w}");
        let (out, _) = sub("${X}", &[("X", "${X}")]);
        assert_eq!(out, "${X}", "no recursion");
        let (out, _) = sub("äö ${X} ü", &[("X", "1")]);
        assert_eq!(out, "äö 1 ü");
    }

    #[test]
    fn resolver_only_called_when_present() {
        let (_, asked) = sub("module(load=\"imtcp\")", &[]);
        assert!(asked.is_empty());
    }

    #[test]
    fn preamble_is_one_line_and_keeps_line_numbers() {
        let p = preamble(Path::new("/tmp/w"), true);
        assert!(!p.contains('\n'));
        assert!(p.starts_with("global(workDirectory=\"/tmp/w\") "));
        assert!(p.contains("file=\"/tmp/w/internal.log\""));
        assert!(p.contains("string=\"%msg%\\n\""));
        assert!(!preamble(Path::new("/tmp/w"), false).contains("global("));

        let c = with_preamble("P", "\naction(a)\naction(b)\n");
        assert_eq!(c, "P\naction(a)\naction(b)\n");
        let c = with_preamble("P", "  \t\naction(a)");
        assert_eq!(c, "P\naction(a)");
        let c = with_preamble("P", "$ModLoad x\naction(a)");
        assert_eq!(c, "P\n$ModLoad x\naction(a)");
        assert_eq!(with_preamble("P", ""), "P\n");
        assert_eq!(with_preamble("P", "action(a)"), "P\naction(a)");
    }

    #[test]
    fn detects_workdir_setting() {
        assert!(config_sets_workdir("global(workDirectory=\"/x\")"));
        assert!(config_sets_workdir("$WorkDirectory /x"));
        assert!(!config_sets_workdir("action(type=\"omfile\")"));
        assert_eq!(rs_quote("a\"b\\c"), "a\\\"b\\\\c");
    }
}
