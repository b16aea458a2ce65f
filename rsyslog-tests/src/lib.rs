//! Testbench harness: runs a REAL rsyslogd (Debian's 8.2302 by default) with our Rust
//! modules, one private instance per test.
//!
//! ```no_run
//! use rsyslog_tests::*;
//! use std::time::Duration;
//! let Some(host) = require_host("imtcp_basic") else { return };
//! let d = Daemon::start(&host, r#"
//! module(load="${IMTCP}")
//! input(type="imtcp" port="0" listenPortFileName="${WORKDIR}/tcp.port")
//! action(type="omfile" file="${WORKDIR}/out.log" template="RSYSLOG_TraditionalFileFormat")
//! "#);
//! let port = d.wait_port_file("tcp.port", Duration::from_secs(10));
//! tcp_send(port, b"<13>hello\n");
//! d.wait_lines("out.log", 1, Duration::from_secs(10));
//! d.stop().assert_clean_exit();
//! ```
//!
//! How rsyslogd is run (see [`Daemon`]): cwd = a fresh temp work dir,
//! `rsyslogd -C -n -f <wd>/rsyslog.conf -i <wd>/rsyslogd.pid [-M $RSYSLOG_MODDIR]` with
//! `RSYSLOG_DFLT_LOG_INTERNAL=1`, stdout/stderr in `<wd>/rsyslogd.stdout|stderr`.
//! `-C` keeps the cwd (no chdir("/")) so relative paths and core files land in the work dir;
//! `-n` keeps it in the foreground (no fork). Nothing is loaded except builtins and what the
//! config loads, so instances never collide.
//!
//! Environment: `RSYSLOGD` (binary), `RSYSLOG_MODDIR` (`-M` list), `RSYSLOG_RS_MODULES`
//! (folder with prebuilt `<name>.so`, skips the build), `RSYSLOG_RS_NO_BUILD=1` (use
//! target/rsyslog without building), `RSYSLOG_TESTS_KEEP=1` (keep every work dir),
//! `CI=true|1` (missing rsyslogd panics instead of skipping).

pub mod certs;
pub mod compare;
pub mod config;
pub mod daemon;
pub mod good;
pub mod host;
pub mod modules;
pub mod net;
pub mod netns;
pub mod pcapfile;
pub mod sockets;
pub mod spawn;
pub mod stats;
pub mod wait;

pub use config::{INTERNAL_DETAIL_LOG, INTERNAL_LOG};
pub use daemon::{check_config, check_config_with, render_config, Daemon, InternalMsg, Options, Stopped, WorkDir};
pub use host::{host, require_host, Host};
pub use modules::module_path;
pub use net::{tcp_connect, tcp_send, tcp_send_from, udp_send};
