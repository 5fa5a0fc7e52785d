#!/usr/bin/env bash
# mTLS, authorization and rate limiting in front of a simulated model server (gateway.yaml):
# certificates made with tests/e2e/tls_certs.sh into certs/, one modelsim on 18021, infergate
# on https://gateway.example.com:8443 (resolved to 127.0.0.1), then clients with and without
# the right certificates, and an API key over its rate limit. Everything keeps running until
# Ctrl-C so the README's commands can be tried.
#
#   examples/mtls/run.sh [BUILD_DIR] [--once]   (BUILD_DIR default: build)
#     --once    run the steps and stop everything (used to test it)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$here/../lib.sh"
build=$root/build
once=
for a in "$@"; do common_arg 2,9 "$a"; done
admin=http://127.0.0.1:9903
logdir=$(mktemp -d "${TMPDIR:-/tmp}/infergate-mtls.XXXXXX")

stop_children_on_exit
need_binaries
need_curl
need_free_ports " (another run.sh still running?); stop what holds it and run again" 8443 9903 18021

[ -f "$here/certs/ca.crt" ] || bash "$root/tests/e2e/tls_certs.sh" "$here/certs"
certs=$here/certs
url=https://gateway.example.com:8443
tls=(--cacert "$certs/ca.crt" --resolve gateway.example.com:8443:127.0.0.1)

"$build/modelsim" --port 18021 --name triton-0 >"$logdir/modelsim.log" 2>&1 &
pids+=($!)
"$build/infergate" --config "$here/gateway.yaml" >"$logdir/infergate.log" 2>&1 &
pids+=($!)
wait_http "$admin/ready"

as() {  # CLIENT [curl args...]: a request with client certificate CLIENT ("none" = without)
  local who=$1; shift
  local cert=()
  [ "$who" = none ] || cert=(--cert "$certs/$who.crt" --key "$certs/$who.key")
  curl -s "${tls[@]}" "${cert[@]}" "$@" || echo " (refused: curl exit $?)"
}

say "a client of namespace llm-clients, and service account frontend/chat-ui: allowed"
show "curl --cacert certs/ca.crt --cert certs/client-llm.crt --key certs/client-llm.key $url/v1/models"
as client-llm -o /dev/null -w '%{http_code}\n' "$url/v1/models"
as client-frontend -o /dev/null -w '%{http_code}\n' "$url/v1/models"

say "the model server sees who called (x-forwarded-client-cert, Envoy's format)"
as client-frontend "$url/echo" | grep -o '"x-forwarded-client-cert":"\([^"\\]\|\\.\)*"'

say "another service account of the mesh: 403 from the AuthorizationPolicy"
as client-other -w ' %{http_code}\n' "$url/v1/models"

say "no certificate, another CA, expired, revoked: no TLS connection at all"
for who in none client-otherca client-expired client-revoked; do
  printf '  %-16s ' "$who"
  as "$who" -o /dev/null -w '%{http_code}' "$url/v1/models"
done

say "one API key, 7 requests: 5 tokens per 10 s"
for _ in 1 2 3 4 5 6 7; do as client-llm -o /dev/null -H 'x-api-key: team-a' -w '%{http_code} ' "$url/v1/models"; done
echo

say "what the gateway counted"
show "curl -s $admin/stats | grep -E 'ssl\.|rbac|rate_limit'"
curl -s "$admin/stats" | grep -E 'listener\.ssl\.(handshake|handshake_error\.[a-z_]+|fail_verify[a-z_]*):|rbac\.(allowed|denied|policy)|rate_limit' |
  grep -v ': 0$' | sed 's/^/  /'

[ -n "$once" ] && exit 0
say "logs in $logdir"
run_until_ctrl_c
