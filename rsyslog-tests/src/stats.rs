//! impstats output as the tests read it.

/// One impstats line: name, origin, counters in order.
pub type StatsLine = (String, String, Vec<(String, u64)>);

/// Parses impstats legacy lines "<date>: <name>: origin=<o> k=v ...".
pub fn stats_lines(text: &str) -> Vec<StatsLine> {
    let mut out = Vec::new();
    for l in text.lines() {
        let Some(i) = l.find(": origin=") else { continue };
        let head = &l[..i];
        // The name follows the date ("Sun Nov 22 05:50:58 2026: name").
        let name = head.rsplit_once(": ").map(|x| x.1).unwrap_or(head).to_string();
        let mut fields = l[i + 2..].split_whitespace();
        let origin = fields.next().unwrap().trim_start_matches("origin=").to_string();
        let kv = fields
            .filter_map(|f| f.split_once('='))
            .map(|(k, v)| (k.to_string(), v.parse().unwrap_or(u64::MAX)))
            .collect();
        out.push((name, origin, kv));
    }
    out
}

/// The value of counter `key` on the last line of object `name` (e.g. `imtcp(0)`).
pub fn last_value(text: &str, name: &str, key: &str) -> Option<u64> {
    stats_lines(text)
        .into_iter()
        .rev()
        .find(|(n, _, _)| n == name)
        .and_then(|(_, _, kv)| kv.into_iter().find(|(k, _)| k == key).map(|x| x.1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_lines_parse() {
        let t = "Sun Nov 22 05:50:58 2026: imtcp(0): origin=imtcp submitted=3 bytes.received=10\n\
                 Sun Nov 22 05:50:59 2026: imtcp(0): origin=imtcp submitted=5 bytes.received=12\n";
        assert_eq!(stats_lines(t).len(), 2);
        assert_eq!(last_value(t, "imtcp(0)", "submitted"), Some(5));
        assert_eq!(last_value(t, "imtcp(0)", "nope"), None);
    }
}
