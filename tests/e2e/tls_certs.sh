#!/usr/bin/env bash
# Test certificates for the TLS tests and benches: tests/e2e/tls_certs.sh OUTDIR
#
# A CA ("infergate test CA") and an unrelated one, server certificates for SNI and rotation,
# the gateway's own mesh certificate, SPIFFE client certificates good and bad (other CA,
# expired, not yet valid, revoked with a CRL, no SPIFFE ID, foreign trust domain), and the
# upstream pair. EC P-256 keys: the whole set takes about a second. Every run rewrites the
# same file names (idempotent); quiet on success, openssl's own message on failure.
#
#   ca.crt/key  other-ca.crt/key          CAs (10 years)
#   server  server-new  server2           leaves for the listeners (server-new: same SANs
#                                         as server, new key and serial, for rotation)
#   workload                              the gateway's mesh cert (SPIFFE + localhost)
#   client-{frontend,llm,other,nospiffe,foreign-td,expired,notyet,revoked,otherca}
#   upstream-server  upstream-client      for TLS toward model servers
#   ca.crl (lists client-revoked)  ca-empty.crl  ca-bundle.crt  upstream-ca.crt
#   NAME.pem = NAME.crt + NAME.key (curl --cert NAME.pem)
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: tls_certs.sh OUTDIR" >&2; exit 2; }
mkdir -p "$1"
out=$(cd "$1" && pwd)  # absolute: the openssl ca config names it
cd "$out"

# Runs openssl quietly; on failure shows what it said and stops.
ossl() {
  local msg
  if ! msg=$(openssl "$@" 2>&1); then
    printf 'tls_certs.sh: openssl %s failed:\n%s\n' "$1" "$msg" >&2
    exit 1
  fi
}

ec=(-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes)

ca() {  # NAME CN
  ossl req -x509 "${ec[@]}" -keyout "$1.key" -out "$1.crt" -days 3650 -subj "/O=infergate tests/CN=$2" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -addext "subjectKeyIdentifier=hash"
}

# `openssl ca` keeps a database: revocation and CRLs need it, and it signs with any dates
# (x509 -req cannot make an expired or not-yet-valid certificate).
rm -rf ca.db
mkdir ca.db
: >ca.db/index.txt
echo 1000 >ca.db/serial
echo 1000 >ca.db/crlnumber
cat >ca.db/openssl.cnf <<CNF
[ca]
default_ca = test_ca
[test_ca]
dir = $out/ca.db
database = \$dir/index.txt
serial = \$dir/serial
crlnumber = \$dir/crlnumber
new_certs_dir = \$dir
certificate = $out/ca.crt
private_key = $out/ca.key
default_md = sha256
default_days = 3650
default_crl_days = 3650
policy = any
preserve = yes
unique_subject = no
copy_extensions = none
[any]
organizationName = optional
commonName = supplied
CNF

ca ca "infergate test CA"
ca other-ca "infergate other CA"
rm -f other-ca.srl

# leaf NAME CN SAN EKU [STARTDATE ENDDATE] [SIGNER]: signed by ca through `openssl ca`
# (serials 1000, 1001, ... in ca.db), or by SIGNER's key.
leaf() {
  local name=$1 cn=$2 san=$3 eku=$4 start=${5:-} end=${6:-} signer=${7:-ca}
  ossl req -new "${ec[@]}" -keyout "$name.key" -out "$name.csr" -subj "/O=infergate tests/CN=$cn"
  printf '%s\n' "subjectAltName=$san" "extendedKeyUsage=$eku" "basicConstraints=critical,CA:FALSE" \
    "keyUsage=critical,digitalSignature" "subjectKeyIdentifier=hash" "authorityKeyIdentifier=keyid" >"$name.ext"
  if [ "$signer" = ca ]; then
    local dates=()
    [ -n "$start" ] && dates=(-startdate "$start" -enddate "$end")
    ossl ca -batch -config ca.db/openssl.cnf -in "$name.csr" -out "$name.crt" -extfile "$name.ext" -notext "${dates[@]}"
  else
    ossl x509 -req -in "$name.csr" -CA "$signer.crt" -CAkey "$signer.key" -set_serial "0x$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')" \
      -out "$name.crt" -days 3650 -extfile "$name.ext"
  fi
  rm -f "$name.csr" "$name.ext"
  cat "$name.crt" "$name.key" >"$name.pem"
}

spiffe=spiffe://cluster.local
gateway_id=URI:$spiffe/ns/istio-system/sa/infergate-gateway
chat_ui=URI:$spiffe/ns/frontend/sa/chat-ui
server_sans="DNS:gateway.example.com,DNS:*.example.com,DNS:localhost,IP:127.0.0.1"

leaf server gateway.example.com "$server_sans" serverAuth
leaf server-new gateway.example.com "$server_sans" serverAuth
leaf server2 api.example.org "DNS:api.example.org" serverAuth
leaf workload infergate-gateway "$gateway_id,DNS:localhost,IP:127.0.0.1" serverAuth,clientAuth

leaf client-frontend chat-ui "$chat_ui" clientAuth
leaf client-llm batch "URI:$spiffe/ns/llm-clients/sa/batch" clientAuth
leaf client-other intruder "URI:$spiffe/ns/other/sa/intruder" clientAuth
leaf client-nospiffe client.example.com "DNS:client.example.com" clientAuth
leaf client-foreign-td chat-ui "URI:spiffe://evil.example/ns/frontend/sa/chat-ui" clientAuth
leaf client-expired chat-ui "$chat_ui" clientAuth 20200101000000Z 20200201000000Z
leaf client-notyet chat-ui "$chat_ui" clientAuth 20990101000000Z 20991231000000Z
leaf client-revoked chat-ui "$chat_ui" clientAuth
leaf client-otherca chat-ui "$chat_ui" clientAuth "" "" other-ca

leaf upstream-server model.internal "DNS:model.internal,DNS:localhost,IP:127.0.0.1" serverAuth
leaf upstream-client infergate-gateway "$gateway_id" clientAuth

ossl ca -batch -config ca.db/openssl.cnf -gencrl -out ca-empty.crl
ossl ca -batch -config ca.db/openssl.cnf -revoke client-revoked.crt -crl_reason keyCompromise
ossl ca -batch -config ca.db/openssl.cnf -gencrl -out ca.crl
cp ca.crt ca-bundle.crt
cp ca.crt upstream-ca.crt
