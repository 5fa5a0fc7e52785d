#!/usr/bin/env bash
# testssl.sh against infergate's TLS listener: which protocols, ciphers and curves it offers,
# what it picks, and the classic TLS vulnerabilities. Fails (exit 1) when a protocol below
# TLS 1.2 is offered or a protocol, cipher or vulnerability finding is graded MEDIUM or worse;
# certificate findings (the test CA's 10-year, CRL-less leaf) are listed, never fatal.
#
# Starts build/infergate on test certificates (tests/e2e/tls_certs.sh) with one HTTPS
# listener answering a direct response, scans it, stops it. TARGET=HOST:PORT scans a server
# that is already running instead (say `openssl s_server -www`), CA=FILE trusts its CA.
# Takes about 1.5 minutes on loopback (the checks below; TESTSSL_CHECKS replaces them).
#
#   bench/tls_scan.sh [BUILD_DIR]
#   INFERGATE=/path/to/infergate JSON_OUT=scan.json bench/tls_scan.sh
#   TARGET=127.0.0.1:8443 CA=certs/ca.crt bench/tls_scan.sh
#   FAIL_SEVERITY=LOW bench/tls_scan.sh     # stricter: LOW findings fail too
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
build=${1:-$root/build}
INFERGATE=${INFERGATE:-$build/infergate}
FAIL_SEVERITY=${FAIL_SEVERITY:-MEDIUM}
TARGET=${TARGET:-}
# Protocols, cipher categories, server defaults and picks, forward secrecy, and the
# vulnerabilities one by one (-U would add BREACH and the slow ones, nothing TLS-level).
TESTSSL_CHECKS=${TESTSSL_CHECKS:---protocols --std --server-defaults --server-preference --fs --heartbleed --ccs
  --ticketbleed --robot --renegotiation --crime --poodle --tls-fallback --sweet32 --beast --lucky13 --freak
  --logjam --drown --rc4}
base=${BASE_PORT:-$((20000 + ($$ % 200) * 10))}
ig_port=$base
ig_admin=$((base + 1))

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$here/lib.sh"
bench_install testssl:testssl.sh python3:python3 openssl:openssl
bench_workdir tls_scan

if [ -z "$TARGET" ]; then
  [ -x "$INFERGATE" ] || { echo "missing $INFERGATE: run ./dev.sh build (or set INFERGATE=)" >&2; exit 1; }
  bash "$root/tests/e2e/tls_certs.sh" "$work/certs"
  CA=${CA:-$work/certs/ca.crt}
  mkdir "$work/config"
  cat >"$work/config/gateway.yaml" <<EOF
apiVersion: infergate.dev/v1alpha1
kind: GatewayConfig
metadata: {name: gw}
spec:
  workers: 1
  admin: {address: 127.0.0.1, port: $ig_admin}
  accessLog: {path: ""}
  tls:
    certificates:
    - {name: gw-cert, certFile: $work/certs/server.crt, keyFile: $work/certs/server.key}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw}
spec:
  gatewayClassName: infergate
  addresses: [{type: IPAddress, value: 127.0.0.1}]
  listeners:
  - name: https
    port: $ig_port
    protocol: HTTPS
    tls: {mode: Terminate, certificateRefs: [{kind: Secret, name: gw-cert}]}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: ok}
spec:
  hosts: ["*"]
  gateways: [gw]
  http:
  - directResponse: {status: 200, body: {string: ok}}
EOF
  "$INFERGATE" --check --config "$work/config" >"$work/check.log" 2>&1 || { cat "$work/check.log" >&2; exit 1; }
  "$INFERGATE" --config "$work/config" --log-level warning >"$work/infergate.log" 2>&1 &
  pids+=($!)
  wait_port "$ig_port" || { cat "$work/infergate.log" >&2; exit 1; }
  TARGET=127.0.0.1:$ig_port
  what="infergate $("$INFERGATE" --version 2>/dev/null | head -1)"
else
  what="server at $TARGET"
fi

ca_args=()
[ -n "${CA:-}" ] && ca_args=(--add-ca "$CA")
read -r -d '' -a checks <<<"$TESTSSL_CHECKS" || true
cmd=(testssl --quiet --color 0 --warnings off --connect-timeout 5 --openssl-timeout 10 "${ca_args[@]}"
  "${checks[@]}" --jsonfile "$work/testssl.json" "https://$TARGET")
echo "tls_scan: $what, testssl $(testssl --version 2>/dev/null | awk '/testssl +[0-9]/ {print $2; exit}'), fail at $FAIL_SEVERITY"
start=$(date +%s)
"${cmd[@]}" >"$work/testssl.txt" 2>&1 || true  # its exit status counts findings; the JSON says which
echo "  scanned in $(($(date +%s) - start)) s$([ -n "${KEEP:-}" ] && echo "; report in $work/testssl.txt")"
[ -n "${JSON_OUT:-}" ] && cp "$work/testssl.json" "$JSON_OUT"
[ -s "$work/testssl.json" ] || { echo "testssl wrote no JSON:" >&2; tail -20 "$work/testssl.txt" >&2; exit 1; }

python3 - "$work/testssl.json" "$FAIL_SEVERITY" <<'PY'
import json, re, sys

findings = json.load(open(sys.argv[1]))
rank = {"OK": 0, "INFO": 0, "LOW": 1, "MEDIUM": 2, "HIGH": 3, "CRITICAL": 4}
threshold = rank[sys.argv[2].upper()]
legacy = ["SSLv2", "SSLv3", "TLS1", "TLS1_1"]
modern = ["TLS1_2", "TLS1_3"]
vulns = {"heartbleed", "CCS", "ticketbleed", "ROBOT", "secure_renego", "secure_client_renego", "CRIME_TLS",
         "POODLE_SSL", "fallback_SCSV", "SWEET32", "FREAK", "DROWN", "LOGJAM", "LOGJAM-common_primes", "BEAST",
         "BEAST_CBC_TLS1", "LUCKY13", "RC4", "BREACH", "winshock", "GREASE"}

def group(fid):
    if fid in legacy or fid in modern or fid in ("NPN", "ALPN", "ALPN_HTTP2"):
        return "protocol"
    if fid.startswith(("cipherlist_", "cipher-", "cipher_x", "PFS", "FS", "cipher_negotiated", "DH_groups",
                       "protocol_negotiated")):
        return "cipher"
    if fid.startswith("cipher_order"):
        return "order"
    if fid in vulns or fid.startswith(("DROWN", "LOGJAM", "BEAST", "RC4", "SWEET32")):
        return "vulnerability"
    if fid.startswith(("cert", "OCSP", "DNS_CAA", "intermediate", "chain")):
        return "certificate"
    if fid in ("scanProblem",) or fid.endswith("_problem") and fid != "engine_problem":
        return "problem"
    return "other"

by_id = {f["id"]: f for f in findings}
offered = lambda fid: fid in by_id and re.search(r"(?<!not )offered", by_id[fid]["finding"]) is not None
failures, notes = [], []
for f in findings:
    g, sev = group(f["id"]), f.get("severity", "INFO")
    line = f"{f['id']} [{sev}] {f['finding']}"
    if sev == "FATAL" or g == "problem":
        failures.append("scan problem: " + line)
    elif g in ("protocol", "cipher", "vulnerability") and rank.get(sev, 0) >= threshold:
        failures.append(line)
    elif g in ("order", "certificate", "other") and rank.get(sev, 0) >= threshold:
        notes.append(line)
for p in legacy:
    if offered(p):
        failures.append(f"{p} offered: nothing below TLS 1.2 may be")
if not any(p in by_id for p in modern):
    failures.append("no protocol findings: the scan did not reach the server")

names = {"SSLv2": "SSLv2", "SSLv3": "SSLv3", "TLS1": "TLS 1.0", "TLS1_1": "TLS 1.1", "TLS1_2": "TLS 1.2",
         "TLS1_3": "TLS 1.3"}
print("  protocols offered: " + (", ".join(names[p] for p in legacy + modern if offered(p)) or "none"))
cats = [f["id"][len("cipherlist_"):] for f in findings if f["id"].startswith("cipherlist_") and offered(f["id"])]
print("  cipher categories offered: " + (", ".join(cats) or "none"))
for fid in ("protocol_negotiated", "cipher_negotiated", "PFS_ECDHE_curves", "ALPN_HTTP2", "ALPN"):
    if fid in by_id:
        print(f"  {fid}: {by_id[fid]['finding']}")
vuln = [f for f in findings if group(f["id"]) == "vulnerability"]
bad_vuln = [f["id"] for f in vuln if rank.get(f.get("severity"), 0) >= 1]
print(f"  vulnerability checks: {len(vuln)}, graded LOW or worse: {', '.join(bad_vuln) or 'none'}")
for n in notes:
    print("  note (not fatal): " + n)
if failures:
    print(f"FAIL: {len(failures)} finding(s)")
    for x in failures:
        print("  " + x)
    sys.exit(1)
print("PASS: TLS 1.2+ only, no protocol, cipher or vulnerability finding graded %s or worse" % sys.argv[2].upper())
PY
