//! Running one test with the host's C module and with ours, side by side.

use crate::daemon::{Daemon, Options};
use crate::host::{require_host, Host};
use crate::modules::module_path;
use std::path::PathBuf;

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
/// Refuses to run when the C module file is ours (rsyslog-tests/upstream/run.sh
/// swaps it into the 8.2504 tree while it runs): the comparison would be void.
pub fn both<R: Send>(test: &str, name: &str, f: impl Fn(&Host, Imp) -> R + Sync) -> Option<(R, R)> {
    let host = require_host(test)?;
    let ours = module_path(name);
    let c = c_module_file(&host, name);
    if std::fs::canonicalize(&c).ok() == std::fs::canonicalize(&ours).ok() {
        panic!(
            "{test}: the C module {} is our {} (swapped in by rsyslog-tests/upstream/run.sh?)",
            c.display(),
            ours.display()
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
