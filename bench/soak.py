"""Samples a gateway under bench/soak.sh and reports the run: slopes, errors against kills, the plot.

  sample PID ADMIN_URL SECONDS CSV EVENTS
      every second: the gateway's error counters (5xx, 4xx, requests reset by the gateway), each
      second they moved written to CSV's "-errors.csv" sibling, and its open fds; every 10 s a
      CSV row: RSS, fds (the mean of the last 10 reads: connections come and go), threads, p99
      of the last 10 s (envoy_http_downstream_rq_time), counters, config version, kills so far
      (from EVENTS, the chaos loop's log)
  report CSV EVENTS WORK_DIR WARMUP_S KILL_WINDOW_S PERIOD_S ALIVE EXIT_CODE GATEWAY_STDERR
      slopes of RSS and fds after warm-up (%/h, with standard errors; pass when |slope| < 1),
      and their means over each whole PERIOD_S (one round of kills); the clients' requests and
      errors (their outputs in WORK_DIR); error seconds outside KILL_WINDOW_S after a kill;
      crashes; for an ASan run (EXIT_CODE given) the sanitizer reports in GATEWAY_STDERR; draws
      CSV's PNG

Only the standard library samples; the plot needs matplotlib (Debian's python3-matplotlib).
"""
import csv
import glob
import os
import re
import sys
import time
import urllib.request

from rollout_plot import p99  # the same interpolation over histogram buckets

SERIES = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)$")
FIELDS = ["elapsed_s", "rss_kib", "fds", "threads", "p99_ms", "requests", "errors_5xx", "errors_4xx", "resets",
          "config_version", "kills"]


def get(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.read().decode()


def proc_status(pid):
    rss = threads = 0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
            elif line.startswith("Threads:"):
                threads = int(line.split()[1])
    return rss, threads, len(os.listdir(f"/proc/{pid}/fd"))


def counters(admin):
    """(requests, 5xx, 4xx, resets) summed over listeners, from /stats."""
    req = e5 = e4 = resets = 0.0
    for line in get(f"{admin}/stats").splitlines():
        name, _, value = line.partition(": ")
        if not name.startswith("http.") or not value.replace(".", "", 1).isdigit():
            continue
        v = float(value)
        if name.endswith(".downstream_rq_total"):
            req += v
        elif name.endswith(".downstream_rq_5xx"):
            e5 += v
        elif name.endswith(".downstream_rq_4xx"):
            e4 += v
        elif name.endswith(".downstream_rq_tx_reset"):
            resets += v
    return req, e5, e4, resets


def histogram(admin):
    """{le: cumulative count} of envoy_http_downstream_rq_time over every listener (ms)."""
    out = {}
    for line in get(f"{admin}/stats/prometheus").splitlines():
        m = SERIES.match(line)
        if not m or m.group(1) != "envoy_http_downstream_rq_time_bucket":
            continue
        le = re.search(r'le="([^"]*)"', m.group(2) or "").group(1)
        le = float("inf") if le == "+Inf" else float(le)
        out[le] = out.get(le, 0.0) + float(m.group(3))
    return out


def config_version(admin):
    m = re.search(r'"version"\s*:\s*(\d+)', get(f"{admin}/config_dump"))
    return int(m.group(1)) if m else ""


def kills(events):
    try:
        with open(events) as f:
            return sum(1 for line in f if line.split()[1:2] == ["kill"])
    except OSError:
        return 0


def sample(pid, admin, seconds, path, events):
    errors_path = path[:-4] + "-errors.csv"
    t0 = time.time()
    hist0 = histogram(admin)
    last = counters(admin)
    with open(path, "w", newline="") as f, open(errors_path, "w", newline="") as ef:
        out = csv.writer(f)
        out.writerow(FIELDS)
        err = csv.writer(ef)
        err.writerow(["unix_s", "elapsed_s", "new_5xx", "new_4xx", "new_resets"])
        next_row = t0 + 10
        fd_reads = []
        while time.time() < t0 + seconds:
            time.sleep(1)
            try:
                now = counters(admin)
            except OSError as e:  # the gateway is gone: a crash, reported at the end
                print(f"soak: the admin API stopped answering: {e}", file=sys.stderr)
                return
            if now[1:] != last[1:]:
                err.writerow([f"{time.time():.1f}", round(time.time() - t0), now[1] - last[1], now[2] - last[2],
                              now[3] - last[3]])
                ef.flush()
            last = now
            try:
                fd_reads.append(len(os.listdir(f"/proc/{pid}/fd")))
            except OSError:
                pass
            if time.time() < next_row:
                continue
            next_row += 10
            try:
                rss, threads, fds = proc_status(pid)
                # Connections come and go every second: the mean of the window's reads.
                fds = round(sum(fd_reads) / len(fd_reads), 1) if fd_reads else fds
                fd_reads = []
                hist = histogram(admin)
                version = config_version(admin)
            except OSError as e:
                print(f"soak: sampling failed: {e}", file=sys.stderr)
                return
            q = p99(hist0, hist)
            hist0 = hist
            out.writerow([round(time.time() - t0), rss, fds, threads, "" if q is None else round(q, 1), int(now[0]),
                          int(now[1]), int(now[2]), int(now[3]), version, kills(events)])
            f.flush()


def slope_pct_per_hour(xs, ys):
    """Least-squares slope in % of the mean per hour, and its standard error (same unit)."""
    n = len(xs)
    if n < 3:
        return 0.0, 0.0
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    if sxx == 0 or my == 0:
        return 0.0, 0.0
    b = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx  # per second
    residual = sum((y - my - b * (x - mx)) ** 2 for x, y in zip(xs, ys)) / (n - 2)
    scale = 3600 / my * 100
    return b * scale, (residual / sxx) ** 0.5 * scale


def client_totals(work):
    """name -> (requests, errors) from the clients' outputs."""
    out = {}
    wrk_req = wrk_err = 0
    for p in glob.glob(f"{work}/h1.*.out"):
        text = open(p).read()
        m = re.search(r"(\d+) requests in", text)
        wrk_req += int(m.group(1)) if m else 0
        m = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
        wrk_err += int(m.group(1)) if m else 0
        m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
        wrk_err += sum(int(g) for g in m.groups()) if m else 0
    out["h1 (wrk)"] = (wrk_req, wrk_err)
    for name, label in (("h2c", "h2c (h2load)"), ("tls", "TLS h2 (h2load)")):
        req = err = 0
        for p in glob.glob(f"{work}/{name}.*.out"):
            text = open(p).read()
            m = re.search(r"requests: (\d+) total, \d+ started, \d+ done, (\d+) succeeded, (\d+) failed, (\d+) errored", text)
            if m:  # failed: answered, not 2xx; errored: no answer
                req += int(m.group(1))
                err += int(m.group(3)) + int(m.group(4))
        out[label] = (req, err)
    for pattern, label in (("mtls.codes", "mTLS (curl)"), ("sse-*.codes", "SSE (curl)"), ("upload.codes", "uploads (curl)")):
        req = err = 0
        for p in glob.glob(f"{work}/{pattern}"):
            for line in open(p):
                req += 1
                err += line.split()[0] != "200"
        out[label] = (req, err)
    return out


def report(path, events, work, warmup, window, period, alive, exit_code, stderr_path):
    rows = list(csv.DictReader(open(path)))
    ok = True
    after = [r for r in rows if float(r["elapsed_s"]) >= warmup]
    print(f"samples: {len(rows)} (every 10 s), {len(after)} after the {warmup:.0f} s warm-up")
    for key, label in (("rss_kib", "RSS"), ("fds", "fds")):
        xs = [float(r["elapsed_s"]) for r in after]
        ys = [float(r[key]) for r in after]
        s, se = slope_pct_per_hour(xs, ys)
        lo, hi = (min(ys), max(ys)) if ys else (0, 0)
        good = abs(s) < 1.0
        ok &= good
        # The standard error says how much of the slope is the samples' noise: a slope within
        # two of them of 0 is no measurable trend.
        print(f"{label:4} slope after warm-up: {s:+.2f} %/h, standard error {se:.2f} %/h (min {lo:.0f}, "
              f"max {hi:.0f}): {'PASS' if good else 'FAIL'} (|slope| < 1 %/h)")
        # The kills come round every `period` (each server once): pools refill, buffers come
        # and go in that rhythm. The mean of each whole round, for the eye.
        bins = {}
        for x, y in zip(xs, ys):
            bins.setdefault(int((x - warmup) // period), []).append((x, y))
        full = [v for v in bins.values() if len(v) >= 0.9 * period / 10]
        bx = [sum(x for x, _ in v) / len(v) for v in full]
        by = [sum(y for _, y in v) / len(v) for v in full]
        print(f"{label:4} means of {len(full)} whole {period:.0f} s rounds of kills: "
              f"{', '.join(f'{y:.0f}' for y in by)}")
    if rows:
        last = rows[-1]
        print(f"threads: {min(int(r['threads']) for r in rows)}..{max(int(r['threads']) for r in rows)}; "
              f"p99 (10 s windows): median {median([float(r['p99_ms']) for r in rows if r['p99_ms']]):.1f} ms, "
              f"max {max([float(r['p99_ms']) for r in rows if r['p99_ms']] or [0]):.1f} ms")
        print(f"gateway: {last['requests']} requests, {last['errors_5xx']} 5xx, {last['errors_4xx']} 4xx, "
              f"{last['resets']} reset by the gateway; config version {last['config_version']}")
    kill_times, n_kills = [], {"model server": 0, "EPP": 0}
    reloads = 0
    for line in open(events):
        parts = line.split()
        if len(parts) >= 3 and parts[1] == "kill":
            kill_times.append(float(parts[0]))
            n_kills["EPP" if parts[2] == "epp" else "model server"] += 1
        reloads += len(parts) >= 2 and parts[1] == "reload"
    print(f"kills: {n_kills['model server']} model servers, {n_kills['EPP']} EPP; config rewrites: {reloads}")
    clients = client_totals(work)
    total_req = sum(r for r, _ in clients.values())
    total_err = sum(e for _, e in clients.values())
    print(f"clients: {total_req} requests, {total_err} errors")
    for name, (r, e) in clients.items():
        print(f"  {name:16} {r:8} requests {e:6} errors")
    stray, near = 0, 0
    errors_path = path[:-4] + "-errors.csv"
    for r in csv.DictReader(open(errors_path)):
        t = float(r["unix_s"])
        n = float(r["new_5xx"]) + float(r["new_4xx"]) + float(r["new_resets"])
        # The error counters are read once a second: an error up to 1 s before the kill is logged
        # can only be read after it; KILL_WINDOW covers the restart and requests in flight.
        if any(k - 1.5 <= t <= k + window for k in kill_times):
            near += n
        else:
            stray += n
            print(f"  errors outside any kill window at {r['elapsed_s']} s: {r['new_5xx']} 5xx, {r['new_4xx']} 4xx, "
                  f"{r['new_resets']} resets")
    good = stray == 0
    ok &= good
    print(f"gateway errors within {window:.0f} s of a kill: {near:.0f}; elsewhere: {stray:.0f}: {'PASS' if good else 'FAIL'}")
    crashed = alive != "yes"
    ok &= not crashed
    print(f"crashes: {'the gateway died: FAIL' if crashed else '0: PASS'}")
    if exit_code != "running":
        text = open(stderr_path, errors="replace").read()
        reports = len(re.findall(r"ERROR: (?:AddressSanitizer|LeakSanitizer)|runtime error:", text))
        good = reports == 0 and exit_code == "0"
        ok &= good
        print(f"sanitizers: exit code {exit_code} after SIGTERM, {reports} reports: {'PASS' if good else 'FAIL'}")
    print("soak:", "PASS" if ok else "FAIL")
    plot(rows, kill_times, path[:-4] + ".png", events)
    return ok


def median(xs):
    xs = sorted(xs)
    return xs[len(xs) // 2] if xs else 0.0


def plot(rows, kill_times, png, events):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t = [float(r["elapsed_s"]) / 60 for r in rows]
    start = None
    for line in open(events):
        if line.split()[1:2] == ["start"]:
            start = float(line.split()[0])
    fig, axes = plt.subplots(5, 1, figsize=(10, 12), sharex=True)
    series = [("rss_kib", "RSS (MiB)", 1 / 1024), ("fds", "open fds", 1), ("threads", "threads", 1),
              ("p99_ms", "p99 latency ms (10 s)", 1)]
    for ax, (key, label, scale) in zip(axes, series):
        ax.plot(t, [float(r[key]) * scale if r[key] else float("nan") for r in rows], color="tab:blue")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    ax = axes[4]
    prev = None
    errs = []
    for r in rows:
        cur = int(r["errors_5xx"]) + int(r["errors_4xx"]) + int(r["resets"])
        errs.append(0 if prev is None else cur - prev)
        prev = cur
    ax.bar(t, errs, width=0.12, color="tab:red", label="gateway errors per 10 s (5xx, 4xx, resets)")
    if start is not None:
        for k in kill_times:
            for a in axes:
                a.axvline((k - start) / 60, color="grey", alpha=0.25, lw=0.8)
    ax.set_ylabel("errors / 10 s")
    ax.set_xlabel("minutes (grey lines: a model server or the EPP killed)")
    ax.legend(loc="upper right")
    ax.grid(alpha=0.3)
    fig.suptitle("infergate soak: h1, h2c, TLS, mTLS, SSE, uploads; reload 10 s, weights 2 s, kills")
    fig.tight_layout()
    fig.savefig(png, dpi=90)


if __name__ == "__main__":
    cmd = sys.argv[1] if len(sys.argv) > 1 else ""
    if cmd == "sample" and len(sys.argv) == 7:
        sample(int(sys.argv[2]), sys.argv[3], float(sys.argv[4]), sys.argv[5], sys.argv[6])
    elif cmd == "report" and len(sys.argv) == 11:
        sys.exit(0 if report(sys.argv[2], sys.argv[3], sys.argv[4], float(sys.argv[5]), float(sys.argv[6]),
                             float(sys.argv[7]), sys.argv[8], sys.argv[9], sys.argv[10]) else 1)
    else:
        sys.exit(__doc__)
