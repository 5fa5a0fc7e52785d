#!/usr/bin/env python3
"""Writes the fuzz targets' seed corpora (tests/fuzz/corpus/<target>/) from the unit tests'
inputs and the examples: run from the repository root after changing a target's input
format, then commit the result. Each seed is small; libFuzzer grows its own corpus from them
in build-fuzz/corpus/<target>/ (./dev.sh fuzz), never here."""
import glob
import hashlib
import os
import re
import struct

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "tests", "fuzz", "corpus")


def write(target, data):
    if isinstance(data, str):
        data = data.encode()
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, hashlib.sha1(data).hexdigest()[:16]), "wb") as f:
        f.write(data)


def raw_strings(path):
    """The R"(...)" literals of a unit test file."""
    with open(os.path.join(ROOT, path), encoding="utf-8") as f:
        text = f.read()
    return [m.group(1) for m in re.finditer(r'R"\((.*?)\)"', text, re.S)]


def c_strings(path):
    """The plain "..." literals of a unit test file, unescaped (\\r \\n \\" \\\\ only)."""
    with open(os.path.join(ROOT, path), encoding="utf-8") as f:
        text = f.read()
    out = []
    for m in re.finditer(r'"((?:[^"\\\n]|\\.)*)"', text):
        s = m.group(1).replace("\\r", "\r").replace("\\n", "\n").replace('\\"', '"').replace("\\\\", "\\")
        out.append(s)
    return out


def reads(data, size=64):
    """Socket reads for the codec targets: [len][bytes] pieces of `size` bytes at most."""
    if isinstance(data, str):
        data = data.encode()
    out = b""
    for i in range(0, len(data), size):
        piece = data[i:i + size]
        out += bytes([len(piece)]) + piece
    return out


# ---- HTTP/1.1 ------------------------------------------------------------------------
H1_REQUESTS = [s for s in c_strings("tests/unit/gateway/h1_server_codec_test.cc")
               if re.match(r"^(GET|POST|PUT|HEAD|DELETE|OPTIONS|CONNECT|PATCH) ", s)]
H1_REQUESTS += [
    "POST /v1/completions HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nX-T: 1\r\n\r\n",
    "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n",
    "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
    "GET / HTTP/1.1\r\nHost: a\r\n X-Folded: x\r\n\r\n",
    "GET / HTTP/1.0\r\n\r\nGET /2 HTTP/1.1\r\nHost: b\r\nConnection: close\r\n\r\n",
    "POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n{}",
    "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\nx\r\n",
]
for i, r in enumerate(H1_REQUESTS[:40]):
    write("h1_server", bytes([i, i % 32]) + reads(r, 16 + 32 * (i % 4)) + b"\x00")
H1_RESPONSES = [
    "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\ngrpc-status: 0\r\n\r\n",
    "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
    "HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n",
    "HTTP/1.0 200 OK\r\n\r\nuntil the end",
    "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
    "e\r\ndata: {\"a\":1}\n\n\r\n0\r\n\r\n",
    "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
]
for s in c_strings("tests/unit/gateway/h1_client_codec_test.cc"):
    if s.startswith("HTTP/1."):
        H1_RESPONSES.append(s)
for i, r in enumerate(H1_RESPONSES[:30]):
    write("h1_client", bytes([i, 0]) + reads(r, 16 + 32 * (i % 4)) + b"\x00" + reads(r))


# ---- HTTP/2 --------------------------------------------------------------------------
def frame(ftype, flags, stream, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([ftype, flags]) + struct.pack(">I", stream) + payload


def lit(name, value):
    """HPACK literal without indexing, new name."""
    return b"\x00" + bytes([len(name)]) + name.encode() + bytes([len(value)]) + value.encode()


SETTINGS_ACK = frame(4, 1, 0)
REQ_GET = b"\x82\x86\x84" + b"\x41\x01a"  # :method GET, :scheme http, :path /, :authority a
REQ_POST = b"\x83\x86\x84\x41\x01a" + lit("content-type", "application/json")
h2_server = [
    SETTINGS_ACK + frame(1, 5, 1, REQ_GET),
    SETTINGS_ACK + frame(1, 4, 1, REQ_POST) + frame(0, 1, 1, b'{"model":"m"}'),
    SETTINGS_ACK + frame(1, 4, 1, REQ_POST) + frame(0, 0, 1, b"{}") + frame(1, 5, 1, lit("x-trailer", "1")),
    SETTINGS_ACK + frame(1, 0, 1, REQ_GET[:3]) + frame(9, 4, 1, REQ_GET[3:] + lit("te", "trailers")),
    SETTINGS_ACK + frame(1, 5, 1, REQ_GET) + frame(3, 0, 1, b"\x00\x00\x00\x08") + frame(1, 5, 3, REQ_GET),
    SETTINGS_ACK + frame(1, 4, 1, REQ_POST + lit("content-length", "2")) + frame(0, 1, 1, b"abc"),
    SETTINGS_ACK + frame(6, 0, 0, b"12345678") + frame(8, 0, 0, b"\x00\x01\x00\x00") + frame(7, 0, 0, b"\x00" * 8),
    SETTINGS_ACK + frame(2, 0, 1, b"\x00\x00\x00\x00\x10") + frame(1, 0x25, 1, b"\x00\x00\x00\x00\x10" + REQ_GET),
    SETTINGS_ACK + frame(1, 5, 1, REQ_GET + lit("transfer-encoding", "chunked")),
    SETTINGS_ACK + frame(4, 0, 0, b"\x00\x04\x00\x00\x00\x00\x00\x03\x00\x00\x00\x01"),
]
for i, s in enumerate(h2_server):
    write("h2_server", bytes([i, 0]) + reads(s, 7 + 40 * (i % 3)) + b"\x00")
RESP_200 = b"\x88" + lit("content-type", "text/event-stream")
h2_client = [
    frame(4, 0, 0) + SETTINGS_ACK + frame(1, 5, 1, b"\x88"),
    frame(4, 0, 0) + frame(1, 4, 1, RESP_200) + frame(0, 0, 1, b"data: x\n\n") + frame(0, 1, 1),
    frame(4, 0, 0) + frame(1, 4, 1, b"\x88") + frame(1, 5, 1, lit("grpc-status", "0")),
    frame(4, 0, 0, b"\x00\x03\x00\x00\x00\x01") + frame(1, 4, 1, b"\x88") + frame(3, 0, 1, b"\x00\x00\x00\x02"),
    frame(4, 0, 0) + frame(7, 0, 0, b"\x00\x00\x00\x01\x00\x00\x00\x00") + frame(1, 5, 1, b"\x88"),
    frame(4, 0, 0) + frame(1, 4, 1, b"\x89") + frame(1, 4, 1, b"\x88") + frame(0, 1, 1, b"x"),
    frame(4, 0, 0) + frame(5, 4, 1, b"\x00\x00\x00\x02" + REQ_GET) + frame(1, 5, 1, b"\x88"),
]
for i, s in enumerate(h2_client):
    write("h2_client", bytes([i, 0x40]) + reads(s, 9 + 30 * (i % 3)) + b"\x00")

# ---- config and admin ----------------------------------------------------------------
yamls = sorted(glob.glob(os.path.join(ROOT, "examples", "*", "*.yaml")) +
               glob.glob(os.path.join(ROOT, "examples", "*", "*", "*.yaml")) +
               glob.glob(os.path.join(ROOT, "tests", "unit", "config", "data", "*.yaml")))
for p in yamls:
    with open(p, "rb") as f:
        text = f.read()
    if len(text) <= 8192:
        write("config", text)
        write("admin_input", b"\x01application/yaml\n" + text)
for w in [
    '{"name":"llm-route","rule":0,"weights":{"v1":90,"v2":10}}',
    '{"kind":"VirtualService","namespace":"default","name":"reviews","rule":"canary","weights":{"v2":100}}',
    '{"name":"r","weights":{"a":-1}}', '{"name":"r","weights":{}}', '{"name":"r","extra":[[[]]]}',
]:
    write("admin_input", b"\x00application/json\n" + w.encode())
write("admin_input", b"\x01text/yaml\n? - - - - a\n  - b\n- [ {a: [1, {b: c}]} ]\nk: |\n  - - - text\n")

# ---- streaming JSON readers ----------------------------------------------------------
for s in raw_strings("tests/unit/routing/body_model_test.cc"):
    write("body_model", s)
for s in raw_strings("tests/unit/metrics/token_usage_test.cc") + [
    '{"id":"x","usage":{"prompt_tokens":12,"completion_tokens":34,"total_tokens":46}}',
    'data: {"choices":[{"delta":{"content":"a"}}]}\n\ndata: {"usage":{"prompt_tokens":3,"completion_tokens":5}}\n\n'
    "data: [DONE]\n\n",
    "event: x\r\ndata:{\"usage\":null}\r\n\r\n: comment\n\n",
]:
    write("token_usage", s)

# ---- model-server /metrics -----------------------------------------------------------
for s in c_strings("tests/unit/pools/model_server_metrics_test.cc"):
    if "\n" in s and len(s) > 20:
        write("model_server_metrics", s)
write("model_server_metrics", """# HELP vllm:num_requests_waiting Number of requests waiting.
# TYPE vllm:num_requests_waiting gauge
vllm:num_requests_waiting{model_name="m"} 3
vllm:num_requests_running{model_name="m"} 2.0
vllm:kv_cache_usage_perc{model_name="m"} 0.42
vllm:lora_requests_info{max_lora="4",running_lora_adapters="a,b",waiting_lora_adapters=""} 1.7e9
vllm:cache_config_info{block_size="16",num_gpu_blocks="1024"} 1
sglang:num_queue_reqs 1 1700000000000
sglang:token_usage 0.5
nv_trt_llm_kv_cache_block_metrics{kv_cache_block_type="fraction"} 0.3
""")


# ---- ext_proc ------------------------------------------------------------------------
def varint(n):
    out = b""
    while True:
        b = n & 0x7F
        n >>= 7
        out += bytes([b | (0x80 if n else 0)])
        if not n:
            return out


def field(num, payload):
    if isinstance(payload, str):
        payload = payload.encode()
    return varint(num << 3 | 2) + varint(len(payload)) + payload


def vint(num, n):
    return varint(num << 3) + varint(n)


def set_header(key, value):
    return field(1, field(1, field(1, key) + field(3, value)))  # HeaderValueOption{header{key, raw_value}}


def message(m):
    return struct.pack(">H", len(m)) + m


endpoint = set_header("x-gateway-destination-endpoint", "10.0.0.1:8000")
headers_ok = field(1, field(1, field(2, endpoint)))  # request_headers{response{header_mutation}}
body_ok = field(3, field(1, field(3, field(3, field(1, '{"model":"m"}') + vint(2, 1)))))  # streamed_response
immediate = field(7, field(1, vint(1, 429)) + field(3, "shed") + field(5, "epp"))
metadata = field(8, field(1, field(1, "envoy.lb") + field(2, field(5, field(1, field(1, "x-gateway-destination-endpoint")
                                                                     + field(2, field(3, "[::1]:9000")))))))
for flags, msgs in [(1, [headers_ok]), (0, [headers_ok, body_ok]), (1, [immediate]), (3, [metadata]),
                    (0, [field(1, field(1, field(2, set_header("x-gateway-destination-endpoint", "bad"))))]),
                    (1, [headers_ok + field(9, vint(1, 2))])]:
    write("ext_proc", bytes([flags]) + b"".join(message(m) for m in msgs))

# ---- Prometheus answers --------------------------------------------------------------
for s in raw_strings("tests/unit/rollout/prometheus_answer_test.cc"):
    write("prometheus_answer", b"\x01" + s.encode())

# ---- Kubernetes watch events ---------------------------------------------------------
# The first byte of a line picks the resource (index in gateway/kube/resources.cc).
GW, ROUTE, SVC, SLICE, POD, POOL = 1, 2, 3, 4, 5, 6
events = [
    (GW, '{"type":"ADDED","object":{"apiVersion":"gateway.networking.k8s.io/v1","kind":"Gateway","metadata":'
         '{"name":"gw","namespace":"default","resourceVersion":"2"},"spec":{"gatewayClassName":"ours","listeners":'
         '[{"name":"http","port":8080,"protocol":"HTTP"}]}}}'),
    (ROUTE, '{"type":"ADDED","object":{"apiVersion":"gateway.networking.k8s.io/v1","kind":"HTTPRoute","metadata":'
            '{"name":"r","namespace":"default","resourceVersion":"3"},"spec":{"parentRefs":[{"name":"gw"}],"rules":'
            '[{"backendRefs":[{"name":"svc","port":8000}]}]}}}'),
    (SVC, '{"type":"ADDED","object":{"apiVersion":"v1","kind":"Service","metadata":{"name":"svc","namespace":'
          '"default"},"spec":{"selector":{"app":"m"},"ports":[{"port":8000}]}}}'),
    (POD, '{"type":"ADDED","object":{"metadata":{"name":"p","namespace":"default","labels":{"app":"m"}},"status":'
          '{"podIP":"10.0.0.9","conditions":[{"type":"Ready","status":"True"}]}}}'),
    (POD, '{"type":"MODIFIED","object":{"metadata":{"name":"p","namespace":"default","resourceVersion":"9"},'
          '"status":{"podIP":"10.0.0.9","conditions":[{"type":"Ready","status":"False"}]}}}'),
    (SLICE, '{"type":"ADDED","object":{"metadata":{"name":"s","namespace":"default","labels":'
            '{"kubernetes.io/service-name":"svc"}},"endpoints":[{"addresses":["10.0.0.7"],"conditions":'
            '{"ready":true}}],"ports":[{"port":8000}]}}'),
    (ROUTE, '{"type":"BOOKMARK","object":{"metadata":{"resourceVersion":"12"}}}'),
    (ROUTE, '{"type":"ERROR","object":{"kind":"Status","code":410}}'),
    (ROUTE, '{"type":"DELETED","object":{"metadata":{"name":"r","namespace":"default"}}}'),
    (POOL, '{"type":"ADDED","object":{"apiVersion":"inference.networking.k8s.io/v1","kind":"InferencePool",'
           '"metadata":{"name":"pool"},"spec":{"selector":{"matchLabels":{"app":"m"}},"targetPorts":'
           '[{"number":8000}],"endpointPickerRef":{"name":"epp","port":{"number":9002}}}}}'),
]
write("kube_watch", "\n".join(chr(r) + e for r, e in events) + "\n")
for r, e in events:
    write("kube_watch", chr(r) + e + "\n")

# ---- XFCC / SPIFFE -------------------------------------------------------------------
der_path = os.path.join(ROOT, "tests", "fuzz", "data", "client_cert.der")  # a self-signed cert with a SPIFFE URI SAN
der = open(der_path, "rb").read() if os.path.exists(der_path) else b""
for flags, uri, header in [
    (0x7F, "spiffe://cluster.local/ns/default/sa/client", 'By=spiffe://a/ns/b/sa/c;Hash=00;URI=spiffe://x/ns/y/sa/z'),
    (0x73, "spiffe://td/ns//sa/x", ""),
    (0x60, "spiffe://td/ns/a/b/sa/c", 'Hash=ab;Subject="CN=\\"x\\""'),
]:
    write("xfcc", bytes([flags]) + uri.encode() + b"\xff" + der + b"\xff" + header.encode())

# ---- path normalization --------------------------------------------------------------
for p in ["/a/../b/./c", "//x//y%2F..%2fz?q=1", "/%2e%2E/etc", "a/b", "/v1/chat/completions", "/%00/%zz"]:
    for mode in (0, 1, 2, 6, 7):
        write("path_normalization", bytes([mode]) + p.encode())
