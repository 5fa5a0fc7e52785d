#!/usr/bin/env python3
"""Deterministic request streams for the routing-quality benchmark (stdlib only).

    python3 workloads.py sharegpt --n 3 --seed 1        # JSON lines: model, prompt, max_tokens
    python3 workloads.py capacity shared-prefix          # computed pool capacity, requests/s

Workloads (token counts are modelsim's estimate: 4 characters a token):
  sharegpt       prompt and output lengths drawn from log-normals shaped like ShareGPT
                 conversations: input median 200 tokens (sigma 1.0: p99 ~2,000, clipped to
                 4,096), output median 200 (sigma 0.8, capped at --max-output). These are chosen
                 to match the commonly quoted shape of the ShareGPT set used by vLLM's serving
                 benchmark (median of a few hundred tokens each way, long input tail), not a
                 fit we made to the data set.
  shared-prefix  150 groups x 5 prompts: every group shares a 2,048-token system prompt and
                 adds a 32..96-token question; output median 100 (sigma 0.5, capped). The 750
                 requests are shuffled (groups interleaved) and repeated in the same order when
                 a run needs more. This is the Gateway API Inference Extension's prefix
                 benchmark shape.
  lora           ShareGPT-like lengths; each request names one of 20 adapters (adapter-00 ..
                 adapter-19) as its model, with Zipf popularity (s = 1.1: adapter-00 takes
                 ~31 %, adapter-19 ~1.2 %).
"""
import argparse
import json
import math
import random
import sys

WORDS = ("the model token gateway request stream cache prefix route weight canary pool server "
         "latency queue batch prompt answer signal metric version traffic shift stable decode "
         "prefill block memory adapter layer vector sample quick brown fox jumps over lazy dog "
         "river mountain cloud light shadow garden window paper stone green silver calm bright").split()

ADAPTERS = [f"adapter-{i:02d}" for i in range(20)]


def text(rng, tokens):
    """About `tokens` tokens of text: tokens*4 characters of random words."""
    want = tokens * 4
    parts, n = [], 0
    while n < want:
        w = rng.choice(WORDS)
        parts.append(w)
        n += len(w) + 1
    return " ".join(parts)[:want]


def lognormal_int(rng, median, sigma, lo, hi):
    return int(min(hi, max(lo, round(rng.lognormvariate(math.log(median), sigma)))))


def sharegpt(seed, n, max_output):
    rng = random.Random(seed)
    for _ in range(n):
        prompt_tokens = lognormal_int(rng, 200, 1.0, 4, 4096)
        yield {"model": None, "prompt": text(rng, prompt_tokens),
               "max_tokens": lognormal_int(rng, 200, 0.8, 1, max_output)}


def shared_prefix(seed, n, max_output, groups=150, per_group=5, system_tokens=2048):
    rng = random.Random(seed)
    systems = [f"[system {g}] " + text(rng, system_tokens) for g in range(groups)]
    order = [(g, i) for g in range(groups) for i in range(per_group)]
    rng.shuffle(order)
    reqs = [{"model": None, "prompt": systems[g] + " [question] " + text(rng, rng.randint(32, 96)),
             "max_tokens": lognormal_int(rng, 100, 0.5, 1, max_output)} for g, _ in order]
    for k in range(n):
        yield reqs[k % len(reqs)]


def lora_weights(s=1.1):
    w = [1.0 / (i + 1) ** s for i in range(len(ADAPTERS))]
    total = sum(w)
    return [x / total for x in w]


def lora(seed, n, max_output):
    rng = random.Random(seed)
    weights = lora_weights()
    for base in sharegpt(seed + 1, n, max_output):
        base["model"] = rng.choices(ADAPTERS, weights)[0]
        yield base


GENERATORS = {"sharegpt": sharegpt, "shared-prefix": shared_prefix, "lora": lora}

# The engine numbers of modelsim's --profile presets (bench/modelsim/options.cpp, README.md).
PROFILES = {
    "llama3-8b-h100": {"base_ms": 6.5, "per_seq_ms": 0.06, "prefill_tps": 20000, "kv_blocks": 25000},
    "llama3-8b-a100": {"base_ms": 10.5, "per_seq_ms": 0.12, "prefill_tps": 8000, "kv_blocks": 25000},
}


def capacity(workload, servers, profile, kv_blocks=None, max_num_seqs=256, max_output=256, seed=1):
    """Requests/s (model time) the pool sustains with every server at its batch limit and no
    prefix reuse: per server B / (S*O + B*I/P), where B = min(max_num_seqs, KV tokens / (I+O)),
    S = base + per_seq*B the decode step, I and O the mean prompt and output tokens, P the
    prefill throughput. A conservative bound: prefix reuse only raises it."""
    p = PROFILES[profile]
    sample = list(GENERATORS[workload](seed, 2000, max_output))
    mean_in = sum(len(r["prompt"]) / 4 for r in sample) / len(sample)
    mean_out = sum(r["max_tokens"] for r in sample) / len(sample)
    kv_tokens = (kv_blocks or p["kv_blocks"]) * 16
    batch = min(max_num_seqs, kv_tokens / (mean_in + mean_out))
    step_s = (p["base_ms"] + p["per_seq_ms"] * batch) / 1000
    per_server = batch / (step_s * mean_out + batch * mean_in / p["prefill_tps"])
    return {"workload": workload, "capacity_rps": per_server * servers, "per_server_rps": per_server,
            "batch": batch, "mean_prompt_tokens": mean_in, "mean_output_tokens": mean_out}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("what", choices=sorted(GENERATORS) + ["capacity"])
    ap.add_argument("workload", nargs="?", choices=sorted(GENERATORS))
    ap.add_argument("--n", type=int, default=5)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--max-output", type=int, default=256)
    ap.add_argument("--servers", type=int, default=8)
    ap.add_argument("--profile", default="llama3-8b-h100", choices=sorted(PROFILES))
    ap.add_argument("--kv-blocks", type=int, default=None)
    a = ap.parse_args()
    if a.what == "capacity":
        if not a.workload:
            ap.error("capacity needs a workload")
        print(json.dumps(capacity(a.workload, a.servers, a.profile, a.kv_blocks, max_output=a.max_output,
                                  seed=a.seed)))
        return
    for r in GENERATORS[a.what](a.seed, a.n, a.max_output):
        sys.stdout.write(json.dumps(r) + "\n")


if __name__ == "__main__":
    main()
