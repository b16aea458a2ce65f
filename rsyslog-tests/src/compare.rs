//! Running one test with the host's C module and with ours, side by side.

use crate::daemon::{Daemon, Options};
use crate::host::{require_host, Host};
use crate::modules::module_path;
use std::path::{Path, PathBuf};

/// Which implementation of a module a run loads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Imp {
    /// The host's C module: `module(load="<name>")` (RSYSLOG_MODDIR selects 8.2504's build).
    C,
    /// Ours (target/rsyslog/<name>.so).
    Rust,
}

/// Debian's module folder, where `module(load="imtcp")` looks without `-M`.
pub const DEBIAN_MODDIR: &str = "/usr/lib/x86_64-linux-gnu/rsyslog";

/// The file `module(load="<name>")` loads on `host`: the first `-M` folder
/// holding `<name>.so`, else Debian's folder.
pub fn c_module_file(host: &Host, name: &str) -> PathBuf {
    let dirs: Vec<String> = match &host.moddir {
        Some(m) => m.split(':').map(str::to_string).collect(),
        None => vec![DEBIAN_MODDIR.to_string()],
    };
    dirs.iter()
        .map(|d| PathBuf::from(d).join(format!("{name}.so")))
        .find(|p| p.exists())
        .unwrap_or_else(|| PathBuf::from(DEBIAN_MODDIR).join(format!("{name}.so")))
}

/// True when `path` is a build of our modules (any worktree's): it names
/// our ffi crate, which no C module does.
pub fn is_ours(path: &Path) -> bool {
    std::fs::read(path).is_ok_and(|b| b.windows(11).any(|w| w == b"rsyslog_ffi"))
}

/// Starts rsyslogd with `conf` in which `${<NAME>}` (the module's name in
/// upper case, e.g. `${IMTCP}`) loads the implementation `imp`.
pub fn start(host: &Host, imp: Imp, name: &str, conf: &str) -> Daemon {
    let load = match imp {
        Imp::C => name.to_string(),
        Imp::Rust => module_path(name).to_string_lossy().into_owned(),
    };
    Daemon::start_with(host, conf, &Options::default().var(&name.to_ascii_uppercase(), load))
}

/// Runs `f` for the host's C module `name` and for ours in two threads and
/// returns both results (C first); panics naming the implementation(s)
/// whose run failed. `None` (after a printed SKIP) without rsyslogd.
///
/// Refuses to run when the C module file is one of ours (rsyslog-tests/upstream/run.sh
/// swaps it into the 8.2504 tree while it runs): the comparison would be void.
pub fn both<R: Send>(test: &str, name: &str, f: impl Fn(&Host, Imp) -> R + Sync) -> Option<(R, R)> {
    let host = require_host(test)?;
    module_path(name); // build once, before the threads
    let c = c_module_file(&host, name);
    if is_ours(&c) {
        panic!(
            "{test}: the C module {} is a build of ours (swapped in by rsyslog-tests/upstream/run.sh?), not the C module",
            c.display()
        );
    }
    let (c, r) = std::thread::scope(|s| {
        let c = s.spawn(|| f(&host, Imp::C));
        let r = s.spawn(|| f(&host, Imp::Rust));
        (c.join(), r.join())
    });
    match (c, r) {
        (Ok(c), Ok(r)) => Some((c, r)),
        (c, r) => panic!(
            "{test}: failed with {} (panic messages above)",
            [("the C module", c.is_err()), ("ours", r.is_err())]
                .iter()
                .filter(|x| x.1)
                .map(|x| x.0)
                .collect::<Vec<_>>()
                .join(" and ")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tells_our_builds_from_c_modules() {
        let dir = tempfile::tempdir().unwrap();
        let c = dir.path().join("c.so");
        std::fs::write(&c, b"\x7fELF ... imtcp.c tcpsrv ...").unwrap();
        assert!(!is_ours(&c));
        let r = dir.path().join("r.so");
        std::fs::write(&r, b"\x7fELF ... rsyslog_ffi::module ...").unwrap();
        assert!(is_ours(&r));
        assert!(!is_ours(&dir.path().join("missing.so")));
        let h = Host {
            rsyslogd: "/x".into(),
            moddir: Some(format!("/nonexistent:{}", dir.path().display())),
            version: "8.2504.0".into(),
        };
        std::fs::write(dir.path().join("imtcp.so"), b"x").unwrap();
        assert_eq!(c_module_file(&h, "imtcp"), dir.path().join("imtcp.so"));
    }
}
