//! Locating (and building once per test process) our Rust modules.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

/// The modules `module_path` builds: `cargo build --release -p <each>`.
pub const MODULES: &[&str] = &["impcap", "imtcp"];

/// The workspace root (parent of this crate's manifest dir).
pub fn workspace_root() -> PathBuf {
    let me = Path::new(env!("CARGO_MANIFEST_DIR"));
    me.parent().unwrap_or(me).to_path_buf()
}

/// Cargo's target dir: env `CARGO_TARGET_DIR` (relative to the workspace root) or `<root>/target`.
pub fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(d) if !d.is_empty() => workspace_root().join(d),
        _ => workspace_root().join("target"),
    }
}

/// Folder holding `<name>.so`: env `RSYSLOG_RS_MODULES`, else `<target>/rsyslog`.
pub fn modules_dir() -> PathBuf {
    match std::env::var_os("RSYSLOG_RS_MODULES") {
        Some(d) if !d.is_empty() => PathBuf::from(d),
        _ => target_dir().join("rsyslog"),
    }
}

fn cargo_bin() -> String {
    std::env::var("CARGO")
        .ok()
        .filter(|s| !s.is_empty())
        .or_else(|| option_env!("CARGO").map(str::to_string))
        .unwrap_or_else(|| "cargo".to_string())
}

/// The build command `module_path` runs (once per process).
pub fn build_command() -> Command {
    let mut c = Command::new(cargo_bin());
    c.arg("build").arg("--release");
    for m in MODULES {
        c.arg("-p").arg(m);
    }
    c.current_dir(workspace_root()).stdin(Stdio::null());
    c
}

static BUILD: OnceLock<Result<(), String>> = OnceLock::new();

/// Runs the module build once per process (no-op with `RSYSLOG_RS_MODULES` or
/// `RSYSLOG_RS_NO_BUILD=1`). Returns the build error text on failure (every call).
pub fn ensure_built() -> Result<(), String> {
    if std::env::var_os("RSYSLOG_RS_MODULES").is_some_and(|v| !v.is_empty()) {
        return Ok(());
    }
    if std::env::var("RSYSLOG_RS_NO_BUILD").is_ok_and(|v| v == "1") {
        return MODULES.iter().try_for_each(|m| sync_layout(m));
    }
    BUILD
        .get_or_init(|| {
            let mut cmd = build_command();
            let shown = format!("{cmd:?}");
            let t0 = std::time::Instant::now();
            match cmd.output() {
                Ok(o) if o.status.success() => {
                    eprintln!("rsyslog-tests: {shown} ok in {:.1?}", t0.elapsed());
                    MODULES.iter().try_for_each(|m| sync_layout(m))
                }
                Ok(o) => Err(format!(
                    "{shown} failed ({}):\n{}{}",
                    o.status,
                    String::from_utf8_lossy(&o.stdout),
                    String::from_utf8_lossy(&o.stderr)
                )),
                Err(e) => Err(format!("cannot run {shown}: {e}")),
            }
        })
        .clone()
}

/// Makes `<target>/rsyslog/<name>.so` the relative link to cargo's
/// `<target>/release/lib<name>.so` that build.rs also makes (created atomically:
/// temp link + rename). Nothing to do when the release library does not exist.
pub fn sync_layout(name: &str) -> Result<(), String> {
    // The same layout build.rs makes: target/rsyslog/<name>.so -> ../release/lib<name>.so
    // (`-p impcap -p imtcp` does not run the root package's build script).
    let src = target_dir().join("release").join(format!("lib{name}.so"));
    let dir = target_dir().join("rsyslog");
    let dst = dir.join(format!("{name}.so"));
    let rel = PathBuf::from("..").join("release").join(format!("lib{name}.so"));
    if !src.exists() || std::fs::read_link(&dst).ok().as_deref() == Some(rel.as_path()) {
        return Ok(());
    }
    let res = (|| -> std::io::Result<()> {
        std::fs::create_dir_all(&dir)?;
        let tmp = dir.join(format!(".{name}.so.{}.tmp", std::process::id()));
        let _ = std::fs::remove_file(&tmp);
        std::os::unix::fs::symlink(&rel, &tmp)?;
        std::fs::rename(&tmp, &dst)
    })();
    res.map_err(|e| format!("linking {} to {}: {e}", dst.display(), rel.display()))
}

/// Path of our built module `<name>.so` (env `RSYSLOG_RS_MODULES` folder, else
/// `<workspace>/target/rsyslog/<name>.so`). The first call in a process runs
/// `$CARGO build --release -p impcap -p imtcp` unless `RSYSLOG_RS_MODULES` is set, then
/// refreshes target/rsyslog from cargo's `target/release/lib<name>.so` ([`sync_layout`]).
/// Panics with a clear message if the build fails or the file is missing.
pub fn module_path(name: &str) -> PathBuf {
    if let Err(e) = ensure_built() {
        panic!("rsyslog-tests: building the modules failed: {e}");
    }
    let p = modules_dir().join(format!("{name}.so"));
    if !p.is_file() {
        let cdylib = target_dir().join("release").join(format!("lib{name}.so"));
        panic!(
            "rsyslog-tests: module {name} not found at {} (cargo built {}: {}). \
             Set RSYSLOG_RS_MODULES=<dir containing {name}.so> to use a prebuilt module.",
            p.display(),
            cdylib.display(),
            if cdylib.exists() { "exists" } else { "missing too" }
        );
    }
    p
}
