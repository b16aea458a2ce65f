#!/usr/bin/env python3
"""Helper of impcap.sh (see there): builds the benchmark capture and drives
one rsyslogd run that reads it with the C impcap and with ours, one after
the other, through named pipes.

  impcap_bench.py mkcap OUT.pcap MIN_PACKETS CAPTURE...
  impcap_bench.py run DIR PCAP ORDER RSYSLOGD ARGS...

`run` expects DIR/rsyslog.conf whose inputs read DIR/c.fifo (C module,
ruleset writing DIR/c.out) and DIR/rs.fifo (ours, DIR/rs.out). Why pipes:
impcap opens its file at activation, so both inputs open theirs when the
daemon starts. The pipes get the 24-byte pcap header at once (opening
succeeds) and the packets only when it is that module's turn, so the two
never compete for the CPU. The C module's pipe stays open after the last
packet, so it then blocks in read() instead of busy-spinning at end-of-file
(which would steal a core from the other phase); ours is closed at the end
(our module submits in batches and flushes the last one at end-of-file,
then sleeps). Either way a module's time ends with its last line written.
"""
import array
import fcntl
import os
import signal
import struct
import subprocess
import sys
import termios
import threading
import time

POLL = 0.005  # seconds between samples of output size and RSS
SETTLE = 1.0  # output unchanged this long (and all lines there) = done
GIVE_UP = 60.0  # output unchanged this long without all lines = failure


def read_frames(path):
    """(ts_sec, ts_usec, orig_len, data) of a classic pcap with Ethernet link type."""
    with open(path, "rb") as f:
        hdr = f.read(24)
        if len(hdr) < 24:
            return
        magic = hdr[:4]
        if magic == b"\xd4\xc3\xb2\xa1":
            end, nano = "<", False
        elif magic == b"\xa1\xb2\xc3\xd4":
            end, nano = ">", False
        elif magic == b"\x4d\x3c\xb2\xa1":
            end, nano = "<", True
        elif magic == b"\xa1\xb2\x3c\x4d":
            end, nano = ">", True
        else:
            return
        if struct.unpack(end + "I", hdr[20:24])[0] & 0x0FFFFFFF != 1:
            return
        while True:
            rec = f.read(16)
            if len(rec) < 16:
                return
            sec, frac, caplen, olen = struct.unpack(end + "IIII", rec)
            data = f.read(caplen)
            if len(data) < caplen or caplen > 65535:
                return
            yield sec, (frac // 1000 if nano else frac), olen, data


def mkcap(out, min_packets, files):
    frames = []
    used = 0
    for p in files:
        got = list(read_frames(p))
        if got:
            used += 1
            frames.extend(got)
    if not frames:
        sys.exit("impcap_bench.py: no Ethernet frames found")
    reps = -(-min_packets // len(frames))
    tmp = out + ".tmp"
    with open(tmp, "wb") as o:
        o.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        body = b"".join(struct.pack("<IIII", s, u, len(d), l) + d for s, u, l, d in frames)
        for _ in range(reps):
            o.write(body)
    os.rename(tmp, out)
    total = reps * len(frames)
    print(f"{out}: {total} packets ({len(frames)} frames from {used} captures x {reps}), "
          f"{os.path.getsize(out) / 1e6:.0f} MB", file=sys.stderr)


def count_packets(pcap):
    n = 0
    with open(pcap, "rb") as f:
        f.seek(24)
        while True:
            rec = f.read(16)
            if len(rec) < 16:
                return n
            f.seek(struct.unpack("<I", rec[8:12])[0], 1)
            n += 1


def count_lines(path):
    n = 0
    with open(path, "rb") as f:
        while True:
            b = f.read(1 << 22)
            if not b:
                return n
            n += b.count(b"\n")


def rss_kb(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def threads(pid):
    """{tid: (name, cpu ticks)} of every thread of pid."""
    out = {}
    base = f"/proc/{pid}/task"
    try:
        tids = os.listdir(base)
    except OSError:
        return out
    for t in tids:
        try:
            with open(f"{base}/{t}/stat") as f:
                s = f.read()
        except OSError:
            continue
        name = s[s.index("(") + 1:s.rindex(")")]
        rest = s[s.rindex(")") + 2:].split()
        out[t] = (name, int(rest[11]) + int(rest[12]))  # utime + stime
    return out


class Feeder(threading.Thread):
    """Writes the pcap header into a pipe, the packets on go, closes on stop."""

    def __init__(self, fifo, pcap, close_when_done):
        super().__init__(daemon=True)
        self.fifo, self.pcap, self.close_when_done = fifo, pcap, close_when_done
        self.go, self.stop = threading.Event(), threading.Event()
        self.opened = threading.Event()
        self.done_writing = None
        self.error = None

    def run(self):
        try:
            fd = os.open(self.fifo, os.O_WRONLY)  # blocks until the module opens it
            self.opened.set()
            size = os.path.getsize(self.pcap)
            with open(self.pcap, "rb") as src:
                os.write(fd, src.read(24))
                self.go.wait()
                # A 1 MiB pipe topped up whenever it is half empty: the module's
                # reads then find data without waking a blocked writer each time.
                try:
                    fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, 1 << 20)
                except OSError:
                    pass
                cap = fcntl.fcntl(fd, fcntl.F_GETPIPE_SZ)
                queued = array.array("i", [0])
                off = 24
                while off < size:
                    fcntl.ioctl(fd, termios.FIONREAD, queued)
                    room = cap - queued[0]
                    if room < cap // 2:
                        time.sleep(0.001)
                        continue
                    n = os.sendfile(fd, src.fileno(), off, min(room, size - off))
                    if n <= 0:
                        break
                    off += n
            self.done_writing = time.monotonic()
            if not self.close_when_done:
                self.stop.wait()
            os.close(fd)
        except OSError as e:
            self.error = e
            self.opened.set()


def phase(which, name, feeder, out, want, pid, perf):
    hz = os.sysconf("SC_CLK_TCK")
    rec = None
    if perf:
        rec = subprocess.Popen(["perf", "record", "-q", "-g", "-F", "499", "-p", str(pid),
                                "-o", perf + f".{which}.data"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(1.0)
    cpu0 = threads(pid)
    rss0 = rss_kb(pid)
    t0 = time.monotonic()
    feeder.go.set()
    last_size, last_change, peak = -1, t0, rss0
    samples = []
    while True:
        time.sleep(POLL)
        now = time.monotonic()
        size = os.path.getsize(out)
        r = rss_kb(pid)
        peak = max(peak, r)
        if size != last_size:
            last_size, last_change = size, now
            samples.append((now - t0, r))
        elif now - last_change >= SETTLE:
            lines = count_lines(out)
            if lines >= want:
                break
            if now - last_change >= GIVE_UP:
                sys.exit(f"impcap_bench.py: {name}: only {lines} of {want} lines in {out}")
        if now - t0 > 3600 or rss_kb(pid) == 0:
            sys.exit(f"impcap_bench.py: {name}: rsyslogd gone or no progress")
    cpu1 = threads(pid)
    rss1 = rss_kb(pid)
    if rec:
        rec.send_signal(signal.SIGINT)
        rec.wait()
    secs = last_change - t0
    per_thread = {}
    for t, (n, c) in cpu1.items():
        d = c - cpu0.get(t, (n, 0))[1]
        if d > 0:
            per_thread[f"{n}[{t}]"] = d / hz
    # RSS at 25/50/75/100 % of the phase, to show it stays flat.
    marks = []
    for q in (0.25, 0.5, 0.75, 1.0):
        at = [r for (t, r) in samples if t <= q * secs]
        marks.append(at[-1] if at else rss0)
    return {
        "name": name, "packets": want, "secs": secs, "pps": want / secs if secs > 0 else 0,
        "rss_start": rss0, "rss_peak": peak, "rss_end": rss1, "rss_marks": marks,
        "cpu": per_thread, "feed_secs": (feeder.done_writing or last_change) - t0,
    }


def run(d, pcap, order, argv, perf):
    want = count_packets(pcap)
    # The C module's pipe stays open after the capture (it would spin at
    # end-of-file); ours is closed: our module submits its last partial
    # batch at end-of-file and then sleeps.
    feeders = {"c": Feeder(f"{d}/c.fifo", pcap, False), "rs": Feeder(f"{d}/rs.fifo", pcap, True)}
    for f in feeders.values():
        f.start()
    log = open(f"{d}/rsyslogd.stderr", "wb")
    proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
    results = []
    try:
        for f in feeders.values():
            while not f.opened.wait(0.1):
                if proc.poll() is not None:
                    sys.exit(f"impcap_bench.py: rsyslogd exited ({proc.returncode}) before opening {f.fifo}")
            if f.error:
                sys.exit(f"impcap_bench.py: {f.fifo}: {f.error}")
        time.sleep(1.0)  # let both inputs settle (blocked on the pipe)
        for which in order.split(","):
            label = {"c": "C impcap", "rs": "ours"}[which]
            results.append(phase(which, label, feeders[which], f"{d}/{which}.out", want, proc.pid, perf))
            time.sleep(0.5)
    finally:
        rss_after = rss_kb(proc.pid)
        for f in feeders.values():
            f.go.set()
            f.stop.set()
        time.sleep(0.5)
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
    report(results, rss_after, perf)


def report(results, rss_after, perf):
    print(f"{'module':<10} {'packets':>9} {'seconds':>8} {'packets/s':>10} "
          f"{'RSS MB start/peak/end':>22}   RSS MB at 25/50/75/100%")
    for r in results:
        mb = lambda k: r[k] / 1024
        marks = "/".join(f"{m / 1024:.0f}" for m in r["rss_marks"])
        print(f"{r['name']:<10} {r['packets']:>9} {r['secs']:>8.2f} {r['pps']:>10.0f} "
              f"{mb('rss_start'):>6.0f}/{mb('rss_peak'):.0f}/{mb('rss_end'):.0f}{'':>11}   {marks}")
    by = {r["name"]: r for r in results}
    if "ours" in by and "C impcap" in by and by["C impcap"]["pps"] > 0:
        print(f"ratio ours/C: {by['ours']['pps'] / by['C impcap']['pps']:.2f}x")
        print(f"RESULT {by['C impcap']['pps']:.0f} {by['ours']['pps']:.0f}")
    print(f"rsyslogd RSS after both: {rss_after / 1024:.0f} MB")
    for r in results:
        tot = sum(r["cpu"].values())
        parts = ", ".join(f"{k} {v:.2f}" for k, v in sorted(r["cpu"].items(), key=lambda kv: -kv[1]))
        print(f"CPU seconds during {r['name']}: {tot:.2f} ({parts}); pipe fed in {r['feed_secs']:.2f}s")
    if perf:
        print(f"perf data: {perf}.c.data, {perf}.rs.data")


if __name__ == "__main__":
    if len(sys.argv) >= 4 and sys.argv[1] == "mkcap":
        mkcap(sys.argv[2], int(sys.argv[3]), sys.argv[4:])
    elif len(sys.argv) >= 6 and sys.argv[1] == "run":
        run(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:], os.environ.get("BENCH_PERF"))
    else:
        sys.exit(__doc__)
