#!/usr/bin/env python3
"""Open-loop load generator for streaming chat completions (stdlib only, asyncio, raw HTTP/1.1).

    python3 loadgen.py --url http://127.0.0.1:8080/v1/chat/completions \\
        --workload sharegpt --rate 50 --duration 20

Requests arrive as a Poisson process at --rate (model-time requests/s) for --duration wall
seconds, in the order of the workload (workloads.py, deterministic with --seed); each opens
its own connection and asks for "stream": true with stream_options.include_usage. Per request:
TTFT = first SSE event with a delta after the request was written; time per output token =
(last token event - first) / (completion tokens - 1); errors = non-200, connection failures,
streams that end without [DONE], requests unfinished --drain seconds after the last arrival.
Requests that start in the first --warmup seconds are sent but not counted.

--time-scale F says modelsim runs F times faster than the model (its --time-scale): the
arrival rate is multiplied by F and every latency by F, throughput divided by F, so the
report is in model time. Prints one JSON object.

--header NAME:VALUE (repeatable) adds a header to every request (a tenant's
x-gateway-inference-fairness-id, an x-gateway-inference-objective); --tag NAME is copied into
the output as "tag", so that several streams run at once can be told apart.
"""
import argparse
import asyncio
import json
import random
import sys
import time
import urllib.parse

import workloads


class Result:
    __slots__ = ("start", "first", "last", "tokens", "events", "error", "done")

    def __init__(self, start):
        self.start, self.first, self.last = start, None, None
        self.tokens, self.events, self.error, self.done = 0, 0, None, False


def parse_events(buf, res, now):
    """Consumes complete SSE events from buf (bytes); returns the rest."""
    while True:
        end = buf.find(b"\n\n")
        if end < 0:
            return buf
        event, buf = buf[:end], buf[end + 2:]
        if not event.startswith(b"data: "):
            continue
        if event == b"data: [DONE]":
            res.done = True
        elif b'"usage"' in event and b'"choices":[]' in event:
            try:
                res.tokens = json.loads(event[6:])["usage"]["completion_tokens"]
            except (ValueError, KeyError, TypeError):
                pass
        elif b'"delta"' in event or b'"text"' in event:
            res.events += 1
            if res.first is None:
                res.first = now
            res.last = now


async def one_request(host, port, path, body, res, timeout, extra=""):
    writer = None
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
        head = (f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
                f"Accept: text/event-stream\r\n{extra}Content-Length: {len(body)}\r\nConnection: close\r\n\r\n")
        writer.write(head.encode() + body)
        res.start = time.perf_counter()
        raw = b""
        while b"\r\n\r\n" not in raw:
            chunk = await asyncio.wait_for(reader.read(65536), timeout)
            if not chunk:
                res.error = "closed before response"
                return
            raw += chunk
        head_bytes, rest = raw.split(b"\r\n\r\n", 1)
        status_line, *header_lines = head_bytes.decode("latin-1").split("\r\n")
        status = int(status_line.split(" ", 2)[1])
        headers = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in header_lines)}
        if status != 200:
            res.error = f"http {status}"
            return
        chunked = "chunked" in headers.get("transfer-encoding", "").lower()
        body_buf, pending = b"", rest  # pending: undecoded transfer bytes
        while not res.done:
            now = time.perf_counter()
            if chunked:
                while True:  # decode as many whole chunks as have arrived
                    nl = pending.find(b"\r\n")
                    if nl < 0:
                        break
                    size = int(pending[:nl].split(b";")[0], 16)
                    if size == 0:
                        pending = b""
                        break
                    if len(pending) < nl + 2 + size + 2:
                        break
                    body_buf += pending[nl + 2:nl + 2 + size]
                    pending = pending[nl + 2 + size + 2:]
            else:
                body_buf, pending = body_buf + pending, b""
            body_buf = parse_events(body_buf, res, now)
            if res.done:
                break
            chunk = await asyncio.wait_for(reader.read(65536), timeout)
            if not chunk:
                break
            pending += chunk
        if not res.done:
            res.error = "stream ended before [DONE]"
    except asyncio.TimeoutError:
        res.error = "timeout"
    except (OSError, ValueError, IndexError) as e:
        res.error = type(e).__name__
    finally:
        if writer is not None:
            writer.close()


def pct(values, p):
    if not values:
        return None
    values = sorted(values)
    return values[min(len(values) - 1, max(0, int(round(p / 100 * len(values) + 0.5)) - 1))]


async def run(a):
    u = urllib.parse.urlsplit(a.url)
    host, port, path = u.hostname, u.port or 80, u.path or "/v1/chat/completions"
    gen = workloads.GENERATORS[a.workload](a.seed, 10 ** 9, a.max_output)
    rng = random.Random(a.seed + 7)
    wall_rate = a.rate * a.time_scale
    tasks, results = [], []
    extra = "".join(f"{name}: {value}\r\n" for name, value in a.header)
    t0 = time.perf_counter()
    next_at = t0
    while True:
        next_at += rng.expovariate(wall_rate)
        if next_at - t0 >= a.duration:
            break
        delay = next_at - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        req = next(gen)
        msg = {"messages": [{"role": "user", "content": req["prompt"]}], "max_tokens": req["max_tokens"],
               "stream": True, "stream_options": {"include_usage": True}}
        msg["model"] = req["model"] or a.model
        res = Result(time.perf_counter())
        counted = res.start - t0 >= a.warmup
        results.append((counted, res))
        tasks.append(asyncio.create_task(one_request(host, port, path, json.dumps(msg).encode(), res, a.timeout,
                                                        extra)))
    sent_for = time.perf_counter() - t0
    _, still = await asyncio.wait(tasks, timeout=a.drain) if tasks else (None, set())
    for t in still:
        t.cancel()
    for counted, res in results:
        if not res.done and res.error is None:
            res.error = "unfinished"
    elapsed = time.perf_counter() - t0
    counted = [r for c, r in results if c]
    ok = [r for r in counted if r.error is None]
    f = a.time_scale  # wall -> model time
    ttft = [(r.first - r.start) * 1000 * f for r in ok if r.first is not None]
    tpot = [(r.last - r.first) * 1000 * f / (r.tokens - 1) for r in ok if r.tokens > 1 and r.first is not None]
    window = max(1e-9, sent_for - a.warmup) * f  # model seconds of arrivals counted
    errors = {}
    for r in counted:
        if r.error:
            errors[r.error] = errors.get(r.error, 0) + 1
    out = {
        "workload": a.workload, "rate_rps": a.rate, "time_scale": a.time_scale,
        "sent": len(results), "counted": len(counted), "ok": len(ok), "errors": sum(errors.values()),
        "error_kinds": errors,
        "ttft_p50_ms": pct(ttft, 50), "ttft_p90_ms": pct(ttft, 90), "ttft_p99_ms": pct(ttft, 99),
        "tpot_p50_ms": pct(tpot, 50), "tpot_p90_ms": pct(tpot, 90),
        "throughput_rps": len(ok) / window,
        "output_tokens_per_s": sum(r.tokens for r in ok) / window,
        "wall_s": elapsed,
    }
    if a.tag is not None:
        out["tag"] = a.tag
    print(json.dumps(out))


def header(text):
    name, sep, value = text.partition(":")
    if not sep or not name.strip() or any(c in text for c in "\r\n"):
        raise argparse.ArgumentTypeError(f"not NAME:VALUE: {text!r}")
    return name.strip(), value.strip()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", required=True)
    ap.add_argument("--workload", choices=sorted(workloads.GENERATORS), default="sharegpt")
    ap.add_argument("--rate", type=float, required=True, help="model-time requests/s")
    ap.add_argument("--duration", type=float, default=20, help="wall seconds of arrivals")
    ap.add_argument("--warmup", type=float, default=0, help="wall seconds not counted")
    ap.add_argument("--drain", type=float, default=60, help="wall seconds to wait for the last requests")
    ap.add_argument("--timeout", type=float, default=120, help="per read, wall seconds")
    ap.add_argument("--time-scale", type=float, default=1.0)
    ap.add_argument("--max-output", type=int, default=256)
    ap.add_argument("--model", default="sim-model", help="model of requests that name no adapter")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--header", action="append", default=[], type=header, metavar="NAME:VALUE",
                    help="a header for every request (repeatable)")
    ap.add_argument("--tag", help='copied into the output as "tag"')
    a = ap.parse_args()
    if a.rate <= 0 or a.time_scale <= 0:
        ap.error("--rate and --time-scale must be positive")
    asyncio.run(run(a))


if __name__ == "__main__":
    sys.exit(main())
