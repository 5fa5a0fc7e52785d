"""Records two Rollouts run by infergate and plots them: weight, per-version error rate and p99.

  record BUILD_DIR CSV   run a promoted and an aborted rollout (two modelsims, steady load),
                         sampling /rollouts and /stats/prometheus every 0.5 s into CSV
  plot CSV PNG           draw the recorded run

bench/rollout_plot.sh runs both. Only the standard library records; plotting needs matplotlib
(Debian's python3-matplotlib).
"""
import csv
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

SAMPLE_S = 0.5
SERIES = re.compile(r'^(infergate_version_\w+)\{([^}]*)\} (\S+)$')


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url, body=None):
    req = urllib.request.Request(url, data=body.encode() if body is not None else None,
                                 method="POST" if body is not None else "GET")
    with urllib.request.urlopen(req, timeout=5) as r:
        return r.read().decode()


def wait_http(url):
    for _ in range(100):
        try:
            get(url)
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"{url} did not come up")


def config(port, admin, v1, v2, steps):
    return f"""apiVersion: infergate.dev/v1alpha1
kind: GatewayConfig
metadata: {{name: plot}}
spec:
  workers: 1
  admin: {{address: 127.0.0.1, port: {admin}}}
  endpoints:
  - {{name: v1, address: 127.0.0.1, port: {v1}, labels: {{version: v1}}}}
  - {{name: v2, address: 127.0.0.1, port: {v2}, labels: {{version: v2}}}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {{name: gw}}
spec:
  listeners: [{{name: http, port: {port}, protocol: HTTP}}]
---
apiVersion: inference.networking.k8s.io/v1
kind: InferencePool
metadata: {{name: pool-v1}}
spec: {{selector: {{matchLabels: {{version: v1}}}}, targetPorts: [{{number: 8000}}]}}
---
apiVersion: inference.networking.k8s.io/v1
kind: InferencePool
metadata: {{name: pool-v2}}
spec: {{selector: {{matchLabels: {{version: v2}}}}, targetPorts: [{{number: 8000}}]}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {{name: llm}}
spec:
  parentRefs: [{{name: gw}}]
  rules:
  - backendRefs:
    - {{group: inference.networking.k8s.io, kind: InferencePool, name: pool-v1, weight: 100}}
    - {{group: inference.networking.k8s.io, kind: InferencePool, name: pool-v2, weight: 0}}
---
apiVersion: infergate.dev/v1alpha1
kind: Rollout
metadata: {{name: canary}}
spec:
  targetRef: {{kind: HTTPRoute, name: llm}}
  stable: pool-v1
  canary: pool-v2
  steps:
{steps}  analysis:
    interval: 1s
    window: 3s
    minRequests: 10
    failureLimit: 2
    gates:
    - {{metric: errorRate, max: 0.05}}
    - {{metric: p99Latency, maxRatio: 2}}
"""


def read_versions(admin):
    """version -> (requests, errors, {le: cumulative count}) from the gateway's exposition."""
    out = {}
    for line in get(f"http://127.0.0.1:{admin}/stats/prometheus").splitlines():
        m = SERIES.match(line)
        if not m:
            continue
        name, labels, value = m.group(1), dict(re.findall(r'(\w+)="([^"]*)"', m.group(2))), float(m.group(3))
        v = out.setdefault(labels.get("version", ""), [0.0, 0.0, {}])
        if name == "infergate_version_requests_total":
            v[0] += value
            if labels.get("response_code_class") in ("5xx", "reset"):
                v[1] += value
        elif name == "infergate_version_request_duration_seconds_bucket":
            le = float("inf") if labels["le"] == "+Inf" else float(labels["le"])
            v[2][le] = v[2].get(le, 0.0) + value
    return out


def p99(before, after):
    delta = sorted((le, after.get(le, 0) - before.get(le, 0)) for le in after)
    total = delta[-1][1] if delta else 0
    if total <= 0:
        return None
    rank, below, lower = 0.99 * total, 0.0, 0.0
    for le, cum in delta:
        if cum >= rank:
            if le == float("inf"):
                return lower
            count = cum - below
            return lower + (le - lower) * ((rank - below) / count if count else 1)
        below, lower = cum, le
    return lower


def load(port, stop):
    body = json.dumps({"model": "sim-model", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 4})
    while not stop.is_set():
        t0 = time.time()
        try:
            get(f"http://127.0.0.1:{port}/v1/chat/completions", body)
        except OSError:
            pass
        time.sleep(max(0.0, 0.01 - (time.time() - t0)))  # ~100 requests/s per thread


def run_one(build, label, steps, go_bad_at, rows):
    v1, v2, port, admin = free_port(), free_port(), free_port(), free_port()
    procs = [subprocess.Popen([f"{build}/modelsim", "--port", str(p), "--name", n, "--ttft-ms", "10", "--itl-ms", "2"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for p, n in ((v1, "v1"), (v2, "v2"))]
    tmp = tempfile.mkdtemp()
    with open(os.path.join(tmp, "gw.yaml"), "w") as f:
        f.write(config(port, admin, v1, v2, steps))
    procs.append(subprocess.Popen([f"{build}/infergate", "--config", tmp, "--log-level", "warning"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    try:
        wait_http(f"http://127.0.0.1:{admin}/ready")
        stop = threading.Event()
        threads = [threading.Thread(target=load, args=(port, stop)) for _ in range(3)]
        for t in threads:
            t.start()
        start, history, bad = time.time(), [], False
        while time.time() - start < 90:
            r = json.loads(get(f"http://127.0.0.1:{admin}/rollouts"))["rollouts"][0]
            versions = read_versions(admin)
            history.append((time.time(), versions))
            if go_bad_at is not None and not bad and r["canary_weight"] >= go_bad_at:
                get(f"http://127.0.0.1:{v2}/modelsim/faults", json.dumps({"error_rate": 0.3, "delay_ms": 40}))
                bad = True
            base = next((h for h in history if h[0] >= time.time() - 2.0), history[0])
            row = {"run": label, "t": round(time.time() - start, 2), "weight": r["canary_weight"], "phase": r["phase"]}
            for v in ("v1", "v2"):
                a, b = versions.get(v, [0, 0, {}]), base[1].get(v, [0, 0, {}])
                n, e = a[0] - b[0], a[1] - b[1]
                row[f"{v}_error_rate"] = round(e / n, 4) if n > 0 else ""
                q = p99(b[2], a[2])
                row[f"{v}_p99_ms"] = round(q * 1000, 1) if q is not None else ""
            rows.append(row)
            if r["phase"] in ("Completed", "Aborted") and time.time() - start > 3 and \
                    rows[-1]["t"] - next(x["t"] for x in rows if x["run"] == label and x["phase"] == r["phase"]) > 4:
                break
            time.sleep(SAMPLE_S)
        stop.set()
        for t in threads:
            t.join()
    finally:
        for p in procs:
            p.terminate()
            p.wait()


def record(build, path):
    steps = "".join(f"  - setWeight: {w}\n  - pause: {{duration: 4s}}\n" for w in (5, 10, 25, 50))
    rows = []
    run_one(build, "promoted", steps, None, rows)
    run_one(build, "aborted", steps, 25, rows)
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0].keys()))
        w.writeheader()
        w.writerows(rows)
    print(f"recorded {len(rows)} samples in {path}")


def plot(path, png):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    with open(path) as f:
        rows = list(csv.DictReader(f))
    runs = ["promoted", "aborted"]
    fig, axes = plt.subplots(3, 2, figsize=(12, 8), sharex="col")
    num = lambda x: float(x) if x != "" else None
    for col, run in enumerate(runs):
        rs = [r for r in rows if r["run"] == run]
        t = [float(r["t"]) for r in rs]
        axes[0][col].step(t, [float(r["weight"]) for r in rs], where="post", color="tab:purple")
        axes[0][col].set_ylabel("canary weight %")
        axes[0][col].set_ylim(-5, 105)
        axes[0][col].set_title(f"{run} rollout (final phase: {rs[-1]['phase']})")
        for v, colour in (("v1", "tab:blue"), ("v2", "tab:orange")):
            axes[1][col].plot(t, [num(r[f"{v}_error_rate"]) for r in rs], label=f"{v} ({'stable' if v == 'v1' else 'canary'})",
                              color=colour)
            axes[2][col].plot(t, [num(r[f"{v}_p99_ms"]) for r in rs], label=v, color=colour)
        errs = [num(r[f"{v}_error_rate"]) or 0 for r in rs for v in ("v1", "v2")]
        axes[1][col].set_ylim(-0.005, max(0.1, max(errs) * 1.1))
        axes[1][col].set_ylabel("error rate (2 s window)")
        axes[1][col].axhline(0.05, color="grey", linestyle="--", linewidth=0.8)
        axes[1][col].legend(loc="upper left")
        axes[2][col].set_ylabel("p99 latency ms (2 s window)")
        axes[2][col].set_xlabel("seconds")
    fig.suptitle("infergate Rollout: 5 -> 10 -> 25 -> 50 -> 100 %, gates errorRate <= 5 %, p99 <= 2x stable")
    fig.tight_layout()
    fig.savefig(png, dpi=90)
    print(f"wrote {png}")


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "record":
        record(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 4 and sys.argv[1] == "plot":
        plot(sys.argv[2], sys.argv[3])
    else:
        print(__doc__)
        sys.exit(2)
