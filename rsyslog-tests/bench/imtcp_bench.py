#!/usr/bin/env python3
"""Helper of imtcp.sh (see there for what is measured and why).

  imtcp_bench.py send PORT CONNS N [COMP]   fast sender (subprocess of `run`);
                                            COMP none, zlib or zstd
  imtcp_bench.py probe PORT                 one TLS handshake: version and cipher suite
  imtcp_bench.py idle PORT CONNS            holds CONNS idle connections
  imtcp_bench.py run DIR N ORDER SENDERS CONNS REPS -- RSYSLOGD ARGS...
  imtcp_bench.py idlerun DIR CONNS ORDER -- RSYSLOGD ARGS...
  imtcp_bench.py summary DIR                ratios and targets over DIR/*.json

`run` expects DIR/rsyslog.conf with one input per name in ORDER: the C
imtcp (name "c", listenPortFileName DIR/c.port, ruleset writing
`%rawmsg%\\n` to DIR/c.out) and ours (name "rs", DIR/rs.port, DIR/rs.out);
over TLS the C imtcp twice, "gtls" and "ossl" (one per stream driver). For
every sender (tcpflood, fast), connection count and repetition it sends N
messages to one input, then to the next (ORDER, reversed per repetition),
and measures each phase:

- seconds from the sender's start until the output file holds all N lines
  (its size is known in advance: every frame plus LF; polled every 5 ms);
- CPU of rsyslogd (utime+stime of /proc/PID/stat, all threads, dead ones
  included) and of each thread (/proc/PID/task/*/stat, names from comm)
  between the start and the end of the phase; the module's own threads are
  `in:<module>` and its workers `w<N>/<input name>`, the rest is rsyslog's
  core (queue worker: parser, template, omfile; main thread);
- peak RSS: VmHWM after the phase, reset before it (`5` into
  /proc/PID/clear_refs), so each phase has its own peak;
- the sender's CPU (getrusage of the child), to show who was the bottleneck;
- completeness: every msgnum 0..N-1 exactly once in the output.

TLS: when BENCH_TLS_CA, BENCH_TLS_CERT and BENCH_TLS_KEY are set, both
senders speak TLS with that client certificate (tcpflood -Ttls -x -z -Z;
the fast sender through Python's ssl, i.e. OpenSSL, handshakes done before
the clock starts, the same 256 KiB writes going into SSL_write), and `run`
first probes each input with one handshake (version, cipher suite).

Compression (imtcp.sh IMTCP_BENCH_MODE=zlib or zstd): the inputs "cz" (the C
imptcp, compression.mode="stream:always"), "zlib" and "zstd" (ours with
that compression.driver) get compressed streams, "rs" (ours) plain ones.
The fast sender compresses each connection's messages once, before it
reports `ready`, in omfwd's wire format: zlib = one zlib stream per
connection (zlib header, deflate level BENCH_ZLEVEL, default 6, window 15),
Z_SYNC_FLUSH after every BENCH_ZBATCH (default 128) messages of that
connection (omfwd's compression.stream.flushOnTXEnd after a transaction)
and Z_FINISH at the end; zstd = one zstd frame per connection (level
BENCH_ZSTD_LEVEL, default 3; content size not declared, so the window is
the level's default, 2 MiB at level 3), ZSTD_e_flush after every batch and
the frame end (ZSTD_e_end) last. It reports the bytes before and after
compression (`ready RAW WIRE`), kept per phase as raw_bytes/wire_bytes.
"""
import json
import os
import re
import resource
import selectors
import signal
import socket
import ssl
import statistics
import subprocess
import sys
import time

POLL = 0.005
GIVE_UP = 60.0  # output unchanged this long without all lines = failure
HZ = os.sysconf("SC_CLK_TCK")
LINE = b"<167>Mar  1 01:00:00 172.20.245.8 tag msgnum:%08d:\n"  # tcpflood's default message
LINE_LEN = len(LINE % 0)
MODS = {"c": "C imtcp", "gtls": "C gtls", "ossl": "C ossl", "rs": "ours", "cz": "C zlib", "zlib": "ours zlib",
        "zstd": "ours zstd"}
C_MODS = ("c", "gtls", "ossl")
OURS = ("rs", "zlib", "zstd")  # our inputs: they share our module's dispatcher threads
COMPRESS = {"cz": "zlib", "zlib": "zlib", "zstd": "zstd"}  # input -> what the sender compresses with


def tls_files():
    """(ca, cert, key) of the client when the bench runs over TLS, else None."""
    f = [os.environ.get(k) for k in ("BENCH_TLS_CA", "BENCH_TLS_CERT", "BENCH_TLS_KEY")]
    return tuple(f) if all(f) else None


def tls_context():
    ca, cert, key = tls_files()
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False  # the CA is checked; the name is not what is measured
    ctx.load_verify_locations(ca)
    ctx.load_cert_chain(cert, key)
    return ctx


def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = hard if hard != resource.RLIM_INFINITY else 1 << 20
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, 1 << 20), hard))


def connect_all(port, conns, ctx=None):
    socks = []
    for _ in range(conns):
        s = socket.create_connection(("127.0.0.1", port))
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if ctx is not None:
            s = ctx.wrap_socket(s)  # blocking handshake
        socks.append(s)
    return socks


def probe(port):
    """One TLS handshake as the fast sender makes it; prints version and suite."""
    with tls_context().wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=10)) as s:
        c = s.cipher()
        print(f"{s.version()} {c[0]} {c[2]}-bit", flush=True)
        try:
            s.unwrap()
        except (OSError, ValueError):
            pass


# ---------------------------------------------------------------- senders


def compress_stream(comp, lines):
    """One connection's messages (a list of frames) as omfwd sends them with
    compression.mode="stream:always": one zlib stream or one zstd frame, a
    flush after every BENCH_ZBATCH messages, the stream's end last."""
    batch = int(os.environ.get("BENCH_ZBATCH", "128"))
    parts = []
    if comp == "zlib":
        import zlib
        z = zlib.compressobj(int(os.environ.get("BENCH_ZLEVEL", "6")), zlib.DEFLATED, zlib.MAX_WBITS)
        for k in range(0, len(lines), batch):
            parts.append(z.compress(b"".join(lines[k:k + batch])))
            parts.append(z.flush(zlib.Z_SYNC_FLUSH))
        parts.append(z.flush(zlib.Z_FINISH))
    elif comp == "zstd":
        try:
            import zstandard
        except ImportError:
            sys.exit("imtcp_bench.py: the zstd sender needs Python's zstandard module (pip install zstandard)")
        z = zstandard.ZstdCompressor(level=int(os.environ.get("BENCH_ZSTD_LEVEL", "3"))).compressobj()
        for k in range(0, len(lines), batch):
            parts.append(z.compress(b"".join(lines[k:k + batch])))
            parts.append(z.flush(zstandard.COMPRESSOBJ_FLUSH_BLOCK))
        parts.append(z.flush(zstandard.COMPRESSOBJ_FLUSH_FINISH))
    else:
        sys.exit(f"imtcp_bench.py: unknown compression '{comp}'")
    return b"".join(parts)


def send(port, conns, n, comp="none"):
    """Pre-framed messages from memory in large writes; message i goes to
    connection i % conns. Prints `ready RAW WIRE` once connected and built
    (bytes of the frames, bytes on the wire before TLS), sends on the first
    line of stdin, prints `sent SECONDS CPU`. Over TLS (see tls_files) each
    write is one SSL_write (16 KiB records); a write that would block is
    repeated with the same bytes, as OpenSSL requires. With COMP zlib or
    zstd each connection's bytes are compressed first (compress_stream)."""
    raise_nofile()
    if comp == "none":
        bufs = [b"".join(LINE % i for i in range(j, n, conns)) for j in range(conns)]
        raw = sum(len(b) for b in bufs)
    else:
        bufs = []
        raw = 0
        for j in range(conns):
            lines = [LINE % i for i in range(j, n, conns)]
            raw += sum(len(x) for x in lines)
            bufs.append(compress_stream(comp, lines))
    tls = tls_files() is not None
    socks = connect_all(port, conns, tls_context() if tls else None)
    print(f"ready {raw} {sum(len(b) for b in bufs)}", flush=True)
    sys.stdin.readline()
    t0 = time.monotonic()
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    chunk = 256 * 1024
    sel = selectors.DefaultSelector()
    state = {}
    done = []
    for s, b in zip(socks, bufs):
        s.setblocking(False)
        if b:
            state[s.fileno()] = [s, memoryview(b), 0]
            sel.register(s, selectors.EVENT_WRITE)
        else:
            done.append(s)
    while state:
        for key, _ in sel.select():
            st = state[key.fd]
            s, mv, off = st
            try:
                k = s.send(mv[off:off + chunk])
            except (BlockingIOError, ssl.SSLWantWriteError, ssl.SSLWantReadError):
                continue
            st[2] = off + k
            if st[2] >= len(mv):
                sel.unregister(s)
                del state[key.fd]
                if tls:
                    done.append(s)
                else:
                    s.close()
    for s in done:  # close_notify (and the peer's) before the TCP close
        try:
            s.setblocking(True)
            s.settimeout(10)
            s.unwrap()
        except (OSError, ValueError):
            pass
        s.close()
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (r1.ru_utime + r1.ru_stime) - (r0.ru_utime + r0.ru_stime)
    print(f"sent {time.monotonic() - t0:.3f} {cpu:.3f}", flush=True)


def idle(port, conns):
    """Opens CONNS connections, prints `ready`, keeps them until stdin closes."""
    raise_nofile()
    socks = connect_all(port, conns)
    print("ready", flush=True)
    sys.stdin.read()
    for s in socks:
        s.close()


# ------------------------------------------------------- /proc sampling


def proc_cpu(pid):
    with open(f"/proc/{pid}/stat") as f:
        s = f.read()
    rest = s[s.rindex(")") + 2:].split()
    return (int(rest[11]) + int(rest[12])) / HZ


def threads(pid):
    """{tid: (name, cpu seconds)}"""
    out = {}
    base = f"/proc/{pid}/task"
    for t in os.listdir(base):
        try:
            with open(f"{base}/{t}/stat") as f:
                s = f.read()
        except OSError:
            continue
        name = s[s.index("(") + 1:s.rindex(")")]
        rest = s[s.rindex(")") + 2:].split()
        out[t] = (name, (int(rest[11]) + int(rest[12])) / HZ)
    return out


def busy_cpu():
    """CPU seconds all CPUs spent not idle since boot (/proc/stat)."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:9]]
    return (sum(v) - v[3] - v[4]) / HZ


def status_kb(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def reset_hwm(pid):
    try:
        with open(f"/proc/{pid}/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def module_of(thread_name):
    """Which input a thread belongs to: 'c', 'gtls', 'ossl' (C imtcp
    workers), 'imtcp' (the C imtcp's listener threads, shared by its
    inputs), 'cz' (the C imptcp: its input thread and helper workers; it has
    one input here), 'rs', 'zlib', 'zstd' (our workers), 'ours' (our
    dispatcher threads, shared by our inputs) or None (rsyslog core)."""
    if thread_name.startswith("in:rs") or thread_name.startswith("in:imtcp#"):
        return "ours"
    if thread_name == "in:imtcp":
        return "imtcp"
    if thread_name == "in:imptcp" or re.fullmatch(r"imptcp/w\d+", thread_name):
        return "cz"
    m = re.fullmatch(r"w\d+/(c|gtls|ossl|rs|zlib|zstd)", thread_name)
    return m.group(1) if m else None


def counts_for(m, which):
    """Whether a thread of input m counts as the module's own in a phase of `which`."""
    return m == which or (m == "imtcp" and which in C_MODS) or (m == "ours" and which in OURS)


def accept_backlog(port):
    """Connections waiting in the accept queue of the listeners on port."""
    n = 0
    for tab in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(tab) as f:
                next(f)
                for line in f:
                    p = line.split()
                    if p[3] == "0A" and int(p[1].rsplit(":", 1)[1], 16) == port:
                        n += int(p[4].split(":")[1], 16)
        except OSError:
            pass
    return n


def wait_port(path, proc):
    for _ in range(600):
        if proc.poll() is not None:
            sys.exit(f"imtcp_bench.py: rsyslogd exited ({proc.returncode}) at start")
        try:
            with open(path) as f:
                p = f.read().strip()
            if p:
                return int(p)
        except OSError:
            pass
        time.sleep(0.1)
    sys.exit(f"imtcp_bench.py: no port in {path}")


def verify(path, n):
    """(ok, text): every msgnum 0..n-1 exactly once, nothing else."""
    with open(path, "rb") as f:
        data = f.read()
    lines = data.count(b"\n")
    nums = re.findall(rb"msgnum:(\d{8}):\n", data)
    seen = bytearray(n)
    dup = bad = 0
    for x in nums:
        i = int(x)
        if i >= n:
            bad += 1
        elif seen[i]:
            dup += 1
        else:
            seen[i] = 1
    missing = n - sum(seen)
    ok = lines == n and missing == 0 and dup == 0 and bad == 0
    return ok, f"{lines} lines, {n - missing}/{n} msgnums" + (f", {dup} duplicates" if dup else "") + (
        f", {bad} out of range" if bad else "")


# ---------------------------------------------------------------- phases


def start_sender(kind, port, conns, n, tcpflood, comp="none", sizes=None):
    if kind == "fast":
        p = subprocess.Popen([sys.executable, os.path.abspath(__file__), "send", str(port), str(conns), str(n), comp],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        ready = p.stdout.readline().split()
        if len(ready) != 3 or ready[0] != "ready":
            sys.exit("imtcp_bench.py: fast sender did not start")
        if sizes is not None:
            sizes["raw_bytes"], sizes["wire_bytes"] = int(ready[1]), int(ready[2])
        return p, lambda: (p.stdin.write("go\n"), p.stdin.flush())
    if comp != "none":
        sys.exit("imtcp_bench.py: tcpflood cannot send compressed streams; use the fast sender")
    argv = [tcpflood, "-t", "127.0.0.1", "-p", str(port), "-c", str(conns), "-m", str(n), "-s"]
    if tls_files():
        ca, cert, key = tls_files()
        argv += ["-Ttls", "-x", ca, "-z", key, "-Z", cert]
    holder = {}

    def go():
        holder["p"] = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)

    return holder, go


def phase(which, kind, conns, n, port, out, pid, tcpflood, log):
    expect = n * LINE_LEN
    os.truncate(out, 0)
    sizes = {}
    sender, go = start_sender(kind, port, conns, n, tcpflood, COMPRESS.get(which, "none"), sizes)
    rec = None
    if os.environ.get("BENCH_PERF"):
        rec = subprocess.Popen(["perf", "record", "-q", "-e", "cpu-clock", "-g", "-F", "999", "-p", str(pid), "-o",
                                f"{os.path.dirname(out)}/perf.{which}.{kind}.{conns}.data"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(1.0)
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    hwm_ok = reset_hwm(pid)
    cpu0, th0, busy0 = proc_cpu(pid), threads(pid), busy_cpu()
    t0 = time.monotonic()
    go()
    p = sender if kind == "fast" else sender["p"]
    last, last_change = -1, t0
    while True:
        time.sleep(POLL)
        now = time.monotonic()
        size = os.path.getsize(out)
        if size != last:
            last, last_change = size, now
        if size >= expect:
            break
        if now - last_change > GIVE_UP:
            break
        if proc_gone(pid):
            sys.exit("imtcp_bench.py: rsyslogd is gone")
    t1 = last_change
    cpu1, th1, busy1 = proc_cpu(pid), threads(pid), busy_cpu()
    t_end = time.monotonic()
    hwm = status_kb(pid, "VmHWM")
    rss = status_kb(pid, "VmRSS")
    if rec:
        rec.send_signal(signal.SIGINT)
        rec.wait()
    try:
        p.wait(120)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
    sender_cpu = None
    if kind == "fast":
        line = p.stdout.readline().split()
        p.stdin.close()
        p.stdout.close()
        if len(line) == 3 and line[0] == "sent":
            sender_cpu = float(line[2])
    else:
        err = p.stderr.read()
        if p.returncode != 0:
            print(f"  tcpflood exited {p.returncode}: {err.strip()[:300]}", file=log)
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    time.sleep(0.3)  # the last writes of omfile
    ok, text = verify(out, n)
    per_thread = {}
    mod_cpu = core_cpu = 0.0
    for t, (name, c) in th1.items():
        d = c - th0.get(t, (name, 0.0))[1]
        if d <= 0:
            continue
        per_thread[f"{name}[{t}]"] = d
        m = module_of(name)
        if counts_for(m, which):
            mod_cpu += d
        elif m is None:
            core_cpu += d
    secs = t1 - t0
    snd = sender_cpu if sender_cpu is not None else (ru1.ru_utime + ru1.ru_stime) - (ru0.ru_utime + ru0.ru_stime)
    # Cores busy with anything but rsyslogd and the sender (other processes,
    # and interrupts that /proc/stat does not charge to a process).
    others = max(0.0, (busy1 - busy0) - (cpu1 - cpu0) - snd) / max(t_end - t0, 1e-3)
    return {
        "module": which, "sender": kind, "conns": conns, "n": n, "secs": secs,
        "mps": n / secs if secs > 0 else 0.0, "cpu": cpu1 - cpu0, "mod_cpu": mod_cpu,
        "core_cpu": core_cpu, "threads": per_thread, "hwm_kb": hwm if hwm_ok else None, "rss_kb": rss,
        "sender_cpu": snd, "others": others, "complete": ok, "verify": text, **sizes,
    }


# Other work on the machine (other processes) distorts a phase: before each
# phase wait up to QUIET_WAIT s for the machine to be quiet, and repeat a
# phase during which other processes kept more than MAX_OTHERS cores busy
# (at most RETRIES times; the last attempt counts whatever it saw).
MAX_OTHERS = float(os.environ.get("IMTCP_BENCH_MAX_OTHERS", "0.3"))
RETRIES = int(os.environ.get("IMTCP_BENCH_RETRIES", "3"))
QUIET_WAIT = float(os.environ.get("IMTCP_BENCH_QUIET_WAIT", "30"))


def wait_quiet(pid):
    t0 = time.monotonic()
    while True:
        b0, c0 = busy_cpu(), proc_cpu(pid)
        time.sleep(0.5)
        others = ((busy_cpu() - b0) - (proc_cpu(pid) - c0)) / 0.5
        if others <= MAX_OTHERS or time.monotonic() - t0 > QUIET_WAIT:
            return others


def proc_gone(pid):
    return not os.path.exists(f"/proc/{pid}/stat")


def start_daemon(d, argv, mods=("c", "rs")):
    log = open(f"{d}/rsyslogd.stderr", "ab")
    proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
    ports = {m: wait_port(f"{d}/{m}.port", proc) for m in mods}
    time.sleep(1.0)
    return proc, ports


def stop_daemon(proc):
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def fmt_phase(r):
    per = 1e6 / r["n"]
    hwm = f"{r['hwm_kb'] / 1024:.0f}" if r["hwm_kb"] is not None else "?"
    return (f"{MODS[r['module']]:<9} {r['sender']:<8} {r['conns']:>5} {r['secs']:>7.2f} {r['mps']:>9.0f} "
            f"{r['cpu'] * per:>8.2f} {r['mod_cpu'] * per:>8.2f} {r['core_cpu'] * per:>8.2f} {hwm:>6} "
            f"{r['sender_cpu'] * per:>7.2f} {r.get('others', float('nan')):>6.2f}  {'OK' if r['complete'] else 'INCOMPLETE'} ({r['verify']})"
            + (f" [{r['raw_bytes'] / r['wire_bytes']:.1f}x compressed]" if r.get("wire_bytes") and
               r["module"] in COMPRESS else ""))


HEAD = (f"{'module':<9} {'sender':<8} {'conns':>5} {'seconds':>7} {'msgs/s':>9} "
        f"{'cpu/1M':>8} {'in/1M':>8} {'core/1M':>8} {'HWM MB':>6} {'snd/1M':>7} {'others':>6}  complete")


def run(d, n, order, senders, conns_list, reps, tcpflood, argv):
    proc, ports = start_daemon(d, argv, order)
    results = []
    log = sys.stdout
    try:
        if tls_files():
            for which in order:
                p = subprocess.run([sys.executable, os.path.abspath(__file__), "probe", str(ports[which])],
                                   capture_output=True, text=True, timeout=60)
                print(f"TLS probe {MODS[which]:<8} {p.stdout.strip() or 'FAILED: ' + p.stderr.strip()[-300:]}")
            time.sleep(0.5)
        print(HEAD)
        for kind in senders:
            for conns in conns_list:
                o = order
                for _ in range(reps):
                    for which in o:
                        for attempt in range(1 + RETRIES):
                            wait_quiet(proc.pid)
                            r = phase(which, kind, conns, n, ports[which], f"{d}/{which}.out", proc.pid, tcpflood, log)
                            if r["others"] <= MAX_OTHERS or attempt == RETRIES or not r["complete"]:
                                break
                            print(f"{fmt_phase(r)}  [others > {MAX_OTHERS}: repeated]", flush=True)
                            time.sleep(0.5)
                        results.append(r)
                        print(fmt_phase(r), flush=True)
                        top = sorted(r["threads"].items(), key=lambda kv: -kv[1])[:6]
                        print("    threads (CPU s): " + ", ".join(f"{k} {v:.2f}" for k, v in top), flush=True)
                        if not r["complete"]:
                            print(f"imtcp_bench.py: {MODS[which]} lost messages; files in {d}", file=sys.stderr)
                        time.sleep(0.5)
                    o = list(reversed(o))
    finally:
        stop_daemon(proc)
    return results


def idlerun(d, conns, order, argv):
    proc, ports = start_daemon(d, argv)
    holders = []
    out = {}
    try:
        time.sleep(1.0)
        base = status_kb(proc.pid, "VmRSS")
        out["base_kb"] = base
        prev = base
        for which in order:
            h = subprocess.Popen([sys.executable, os.path.abspath(__file__), "idle", str(ports[which]), str(conns)],
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
            holders.append(h)
            if h.stdout.readline().strip() != "ready":
                sys.exit("imtcp_bench.py: idle connector failed")
            # Accepted by the module (empty accept queue), RSS steady for a second.
            t0 = time.monotonic()
            while accept_backlog(ports[which]) > 0 and time.monotonic() - t0 < 60:
                time.sleep(0.05)
            steady, last = 0, -1
            while steady < 10 and time.monotonic() - t0 < 60:
                time.sleep(0.1)
                r = status_kb(proc.pid, "VmRSS")
                steady = steady + 1 if r == last else 0
                last = r
            est = established(ports[which])
            out[which] = {"rss_kb": last, "growth_kb": last - prev, "established": est}
            prev = last
    finally:
        for h in holders:
            h.stdin.close()
            h.wait()
        stop_daemon(proc)
    out["order"] = order
    out["conns"] = conns
    return out


def established(port):
    n = 0
    for tab in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(tab) as f:
            next(f)
            for line in f:
                p = line.split()
                if p[3] == "01" and int(p[1].rsplit(":", 1)[1], 16) == port:
                    n += 1
    return n


# ---------------------------------------------------------------- summary


def ratio(a, b):
    return a / b if b else float("nan")


def verdict(ok):
    return "PASS" if ok else "MISS"


def summary(d):
    rows = []
    idles = []
    for f in sorted(os.listdir(d)):
        if f.startswith("phases-") and f.endswith(".json"):
            wt = f[len("phases-"):-len(".json")]
            with open(f"{d}/{f}") as fh:
                for r in json.load(fh):
                    r["wt"] = wt
                    rows.append(r)
        if f.startswith("idle-") and f.endswith(".json"):
            with open(f"{d}/{f}") as fh:
                idles.append(json.load(fh))
    if any(r["module"] in ("gtls", "ossl") for r in rows):
        return summary_tls(rows)
    if any(r["module"] in COMPRESS for r in rows):
        return summary_compress(rows)
    print("== ratios ours/C (median over repetitions; CPU per message: lower is better)")
    print(f"{'workers':<7} {'sender':<8} {'conns':>5} {'msgs/s C':>9} {'ours':>9} {'ratio':>6}   "
          f"{'cpu/1M C':>8} {'ours':>6} {'ratio':>6}   {'in/1M C':>7} {'ours':>6} {'ratio':>6}   "
          f"{'HWM C':>5} {'ours':>5}  targets")
    keys = config_keys(rows)
    all_ok = {"mps": True}
    verdicts = {}  # sender -> [process CPU ratios, input-thread CPU ratios]
    tot = {"c": [0.0, 0.0, 0], "rs": [0.0, 0.0, 0]}
    incomplete = 0
    for k in keys:
        sel = [r for r in rows if (r["wt"], r["sender"], r["conns"]) == k]
        incomplete += sum(1 for r in sel if not r["complete"])
        med = {}
        for m in ("c", "rs"):
            ms = [r for r in sel if r["module"] == m]
            if not ms:
                continue
            per = lambda key: statistics.median(r[key] * 1e6 / r["n"] for r in ms)
            hw = [r["hwm_kb"] for r in ms if r["hwm_kb"] is not None]
            med[m] = {"mps": statistics.median(r["mps"] for r in ms), "cpu": per("cpu"), "in": per("mod_cpu"),
                      "hwm": statistics.median(hw) / 1024 if hw else float("nan")}
            for r in ms:
                tot[m][0] += r["cpu"]
                tot[m][1] += r["mod_cpu"]
                tot[m][2] += r["n"]
        if len(med) < 2:
            continue
        c, o = med["c"], med["rs"]
        rm, rc, ri = ratio(o["mps"], c["mps"]), ratio(o["cpu"], c["cpu"]), ratio(o["in"], c["in"])
        t = [f"cpu {verdict(rc <= 0.7)}"]
        v = verdicts.setdefault(k[1], [[], []])
        v[0].append(rc)
        v[1].append(ri)
        if k[1] == "fast":
            t.append(f"msgs/s {verdict(rm >= 1.3)}")
            all_ok["mps"] &= rm >= 1.3
        print(f"{k[0]:<7} {k[1]:<8} {k[2]:>5} {c['mps']:>9.0f} {o['mps']:>9.0f} {rm:>5.2f}x   "
              f"{c['cpu']:>8.2f} {o['cpu']:>6.2f} {rc:>5.2f}x   {c['in']:>7.2f} {o['in']:>6.2f} {ri:>5.2f}x   "
              f"{c['hwm']:>5.0f} {o['hwm']:>5.0f}  {', '.join(t)}")
    if tot["c"][2] and tot["rs"][2]:
        pc = tot["c"][0] / tot["c"][2] * 1e6
        po = tot["rs"][0] / tot["rs"][2] * 1e6
        ic = tot["c"][1] / tot["c"][2] * 1e6
        io = tot["rs"][1] / tot["rs"][2] * 1e6
        print(f"all phases: rsyslogd CPU s per 1M messages C {pc:.2f}, ours {po:.2f} ({ratio(po, pc):.2f}x); "
              f"input threads only C {ic:.2f}, ours {io:.2f} ({ratio(io, ic):.2f}x)")
    if incomplete:
        print(f"INCOMPLETE: {incomplete} phase(s) lost messages (see above)")
    for i in idles:
        c, o = i["c"], i["rs"]
        print(f"idle connections ({'->'.join(i['order'])}): base {i['base_kb'] / 1024:.1f} MB; "
              f"C +{c['growth_kb'] / 1024:.2f} MB ({c['established']} est.), "
              f"ours +{o['growth_kb'] / 1024:.2f} MB ({o['established']} est.)")
    idle_ok = None
    if idles:
        gc = statistics.median(i["c"]["growth_kb"] for i in idles)
        go = statistics.median(i["rs"]["growth_kb"] for i in idles)
        idle_ok = go <= gc
        print(f"idle RSS growth per {idles[0]['conns']} connections (median): C {gc / 1024:.2f} MB, ours {go / 1024:.2f} MB "
              f"({ratio(go, gc):.2f}x)")
    print("== targets")
    for sender, (proc, inp) in verdicts.items():
        print(f"rsyslogd CPU per message <= 0.7x C, {sender} sender: {verdict(max(proc) <= 0.7)} "
              f"(ratios {', '.join(f'{r:.2f}' for r in proc)}; the module's own threads: "
              f"{', '.join(f'{r:.2f}' for r in inp)}, {verdict(max(inp) <= 0.7)})")
    if any(k[1] == "fast" for k in keys):
        print(f"msgs/s >= 1.3x C with the fast sender (every configuration): {verdict(all_ok['mps'])}")
    if idle_ok is not None:
        print(f"{idles[0]['conns']} idle connections, RSS growth <= C: {verdict(idle_ok)}")
    if incomplete:
        print("completeness: MISS")
        return 1
    return 0


def medians(ms):
    per = lambda key: statistics.median(r[key] * 1e6 / r["n"] for r in ms)
    hw = [r["hwm_kb"] for r in ms if r["hwm_kb"] is not None]
    return {"mps": statistics.median(r["mps"] for r in ms), "cpu": per("cpu"), "in": per("mod_cpu"),
            "snd": per("sender_cpu"), "hwm": statistics.median(hw) / 1024 if hw else float("nan")}


def config_keys(rows):
    """The configurations (workers, sender, connections) of `rows`, in first-seen order."""
    keys = []
    for r in rows:
        k = (r["wt"], r["sender"], r["conns"])
        if k not in keys:
            keys.append(k)
    return keys


def medians_by_module(sel, mods, tot):
    """The medians of each module's phases in `sel`; adds their CPU, module CPU
    and message counts to the running totals `tot`."""
    med = {}
    for m in mods:
        ms = [r for r in sel if r["module"] == m]
        if ms:
            med[m] = medians(ms)
        for r in ms:
            t = tot.setdefault(m, [0.0, 0.0, 0])
            t[0] += r["cpu"]
            t[1] += r["mod_cpu"]
            t[2] += r["n"]
    return med


def summary_tls(rows):
    """TLS: ours against the better C driver (more msgs/s) per configuration;
    targets of issue 5: msgs/s >= 1.5x, rsyslogd CPU per message <= 0.7x."""
    cmods = [m for m in ("gtls", "ossl") if any(r["module"] == m for r in rows)]
    keys = config_keys(rows)
    print("== TLS: ours against the better C driver (median over repetitions; CPU s per 1M messages, "
          "lower is better)")
    print(f"{'workers':<7} {'sender':<8} {'conns':>5} " + " ".join(f"{'msgs/s ' + m:>11}" for m in cmods) +
          f" {'ours':>9} {'ratio':>6}   " + " ".join(f"{'cpu ' + m:>8}" for m in cmods) +
          f" {'ours':>6} {'ratio':>6}   " + " ".join(f"{'in ' + m:>7}" for m in cmods) +
          f" {'ours':>6} {'ratio':>6} {'others':>6}  better C, targets")
    verdicts = {}  # sender -> [msgs/s ratios, CPU ratios, module-thread CPU ratios]
    tot = {}
    incomplete = 0
    for k in keys:
        sel = [r for r in rows if (r["wt"], r["sender"], r["conns"]) == k]
        incomplete += sum(1 for r in sel if not r["complete"])
        med = medians_by_module(sel, cmods + ["rs"], tot)
        have = [m for m in cmods if m in med]
        if "rs" not in med or not have:
            continue
        best = max(have, key=lambda m: med[m]["mps"])
        c, o = med[best], med["rs"]
        rm, rc, ri = ratio(o["mps"], c["mps"]), ratio(o["cpu"], c["cpu"]), ratio(o["in"], c["in"])
        v = verdicts.setdefault(k[1], [[], [], []])
        v[0].append(rm)
        v[1].append(rc)
        v[2].append(ri)
        na = float("nan")
        print(f"{k[0]:<7} {k[1]:<8} {k[2]:>5} " + " ".join(f"{med.get(m, {}).get('mps', na):>11.0f}" for m in cmods) +
              f" {o['mps']:>9.0f} {rm:>5.2f}x   " + " ".join(f"{med.get(m, {}).get('cpu', na):>8.2f}" for m in cmods) +
              f" {o['cpu']:>6.2f} {rc:>5.2f}x   " + " ".join(f"{med.get(m, {}).get('in', na):>7.2f}" for m in cmods) +
              f" {o['in']:>6.2f} {ri:>5.2f}x {max([r['others'] for r in sel if 'others' in r] or [na]):>6.2f}  {best}, msgs/s {verdict(rm >= 1.5)}, cpu {verdict(rc <= 0.7)}")
    print("others = the most cores any phase of the row saw busy outside rsyslogd and the sender")
    if "rs" in tot:
        print("all phases, rsyslogd CPU s per 1M messages (module threads): " + ", ".join(
            f"{MODS[m]} {t[0] / t[2] * 1e6:.2f} ({t[1] / t[2] * 1e6:.2f})" for m, t in tot.items() if t[2]))
    if incomplete:
        print(f"INCOMPLETE: {incomplete} phase(s) lost messages (see above)")
    print("== targets (TLS, against the better C driver of each configuration)")
    for sender, (mps, cpu, inp) in verdicts.items():
        print(f"{sender} sender: msgs/s >= 1.5x: {verdict(min(mps) >= 1.5)} (ratios {', '.join(f'{r:.2f}' for r in mps)}); "
              f"rsyslogd CPU per message <= 0.7x: {verdict(max(cpu) <= 0.7)} (ratios {', '.join(f'{r:.2f}' for r in cpu)}; "
              f"the module's own threads: {', '.join(f'{r:.2f}' for r in inp)})")
    if incomplete:
        print("completeness: MISS")
        return 1
    return 0


def summary_compress(rows):
    """Compressed streams: ours against the C imptcp (zlib) and each
    compressed input against our plain input, per configuration (medians)."""
    mods = [m for m in ("cz", "zlib", "zstd", "rs") if any(r["module"] == m for r in rows)]
    pairs = [(a, b) for a, b in (("zlib", "cz"), ("zlib", "rs"), ("cz", "rs"), ("zstd", "rs"))
             if a in mods and b in mods]
    keys = config_keys(rows)
    print("== compressed streams (median over repetitions; cpu = rsyslogd CPU s per 1M messages, in = the "
          "input's own threads; ratio a/b: msgs/s higher is better, CPU lower is better)")
    print(f"{'workers':<7} {'conns':>5} " + " ".join(f"{'msgs/s ' + m:>12}" for m in mods) + "  " +
          " ".join(f"{'cpu ' + m:>9}" for m in mods) + "  " + " ".join(f"{'in ' + m:>8}" for m in mods) + "  " +
          " ".join(f"{a + '/' + b + ' mps,cpu,in':>22}" for a, b in pairs) + f" {'others':>6}")
    tot = {}
    incomplete = 0
    na = float("nan")
    for k in keys:
        sel = [r for r in rows if (r["wt"], r["sender"], r["conns"]) == k]
        incomplete += sum(1 for r in sel if not r["complete"])
        med = medians_by_module(sel, mods, tot)
        g = lambda m, f: med.get(m, {}).get(f, na)
        rat = []
        for a, b in pairs:
            rat.append(f"{ratio(g(a, 'mps'), g(b, 'mps')):.2f},{ratio(g(a, 'cpu'), g(b, 'cpu')):.2f},"
                       f"{ratio(g(a, 'in'), g(b, 'in')):.2f}")
        print(f"{k[0]:<7} {k[2]:>5} " + " ".join(f"{g(m, 'mps'):>12.0f}" for m in mods) + "  " +
              " ".join(f"{g(m, 'cpu'):>9.2f}" for m in mods) + "  " + " ".join(f"{g(m, 'in'):>8.2f}" for m in mods) +
              "  " + " ".join(f"{x:>22}" for x in rat) +
              f" {max([r['others'] for r in sel if 'others' in r] or [na]):>6.2f}")
    for m in mods:
        if m not in COMPRESS:
            continue
        rs = [r for r in rows if r["module"] == m and r.get("wire_bytes")]
        if rs:
            cr = [r["raw_bytes"] / r["wire_bytes"] for r in rs]
            print(f"compression ratio of the payload ({MODS[m]}, raw/wire): {min(cr):.1f} to {max(cr):.1f} "
                  f"(BENCH_ZBATCH {os.environ.get('BENCH_ZBATCH', '128')} messages per flush)")
    if tot:
        print("all phases, rsyslogd CPU s per 1M messages (module threads): " + ", ".join(
            f"{MODS[m]} {t[0] / t[2] * 1e6:.2f} ({t[1] / t[2] * 1e6:.2f})" for m, t in tot.items() if t[2]))
    if incomplete:
        print(f"INCOMPLETE: {incomplete} phase(s) lost messages (see above)")
        print("completeness: MISS")
        return 1
    print("completeness: every phase delivered every message exactly once")
    return 0


def main(a):
    if len(a) >= 4 and a[0] == "send":
        send(int(a[1]), int(a[2]), int(a[3]), a[4] if len(a) > 4 else "none")
    elif len(a) == 2 and a[0] == "probe":
        probe(int(a[1]))
    elif len(a) >= 3 and a[0] == "idle":
        idle(int(a[1]), int(a[2]))
    elif len(a) > 8 and a[0] == "run" and a[7] == "--":
        d, n, order, senders, conns, reps = a[1], int(a[2]), a[3].split(","), a[4].split(","), a[5], int(a[6])
        tcpflood = os.environ.get("TCPFLOOD", "tcpflood")
        res = run(d, n, order, senders, [int(x) for x in conns.split(",")], reps, tcpflood, a[8:])
        with open(os.environ.get("BENCH_JSON", f"{d}/phases.json"), "w") as f:
            json.dump(res, f, indent=1)
        if not all(r["complete"] for r in res):
            sys.exit(1)
    elif len(a) > 5 and a[0] == "idlerun" and a[4] == "--":
        res = idlerun(a[1], int(a[2]), a[3].split(","), a[5:])
        with open(os.environ.get("BENCH_JSON", f"{a[1]}/idle.json"), "w") as f:
            json.dump(res, f, indent=1)
    elif len(a) == 2 and a[0] == "summary":
        sys.exit(summary(a[1]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
