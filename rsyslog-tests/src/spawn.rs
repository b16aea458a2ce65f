//! Spawning rsyslogd so that it cannot outlive the test process.
//!
//! Every child gets `PR_SET_PDEATHSIG(SIGKILL)`. That signal fires when the *thread* that
//! forked exits, so all forks happen on one dedicated, never-ending spawner thread: a
//! `Daemon` may then be moved between test threads freely, and a test binary killed by a
//! timeout or Ctrl-C never leaves rsyslogd instances behind.

use std::io;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command};
use std::sync::mpsc;
use std::sync::OnceLock;

type Request = (Command, mpsc::Sender<io::Result<Child>>);

static SPAWNER: OnceLock<mpsc::Sender<Request>> = OnceLock::new();

/// Adds the child-side setup: own process group (a Ctrl-C on the test does not hit rsyslogd
/// directly), parent-death SIGKILL, and core dumps enabled (soft RLIMIT_CORE raised to the
/// hard limit; with the usual `core_pattern` "core" the file lands in the work dir because
/// rsyslogd runs with `-C` in it).
pub fn prepare(cmd: &mut Command) {
    let parent = std::process::id() as libc::pid_t;
    cmd.process_group(0);
    // SAFETY: only async-signal-safe calls (prctl, getppid, getrlimit, setrlimit).
    unsafe {
        cmd.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong, 0, 0, 0) != 0 {
                return Err(io::Error::last_os_error());
            }
            if libc::getppid() != parent {
                return Err(io::Error::other("test process exited during spawn"));
            }
            let mut lim = libc::rlimit {
                rlim_cur: 0,
                rlim_max: 0,
            };
            if libc::getrlimit(libc::RLIMIT_CORE, &mut lim) == 0 && lim.rlim_cur != lim.rlim_max {
                lim.rlim_cur = lim.rlim_max;
                libc::setrlimit(libc::RLIMIT_CORE, &lim);
            }
            Ok(())
        });
    }
}

/// Spawns `cmd` (after [`prepare`]) on the spawner thread.
pub fn spawn(mut cmd: Command) -> io::Result<Child> {
    prepare(&mut cmd);
    let tx = SPAWNER.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<Request>();
        std::thread::Builder::new()
            .name("rsyslog-tests-spawner".into())
            .spawn(move || {
                for (mut c, reply) in rx {
                    let _ = reply.send(c.spawn());
                }
            })
            .expect("cannot start the spawner thread");
        tx
    });
    let (rtx, rrx) = mpsc::channel();
    tx.send((cmd, rtx))
        .map_err(|_| io::Error::other("spawner thread is gone"))?;
    rrx.recv().map_err(|_| io::Error::other("spawner thread is gone"))?
}
