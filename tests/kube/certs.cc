#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "tests/kube/api_server.h"

namespace infergate::testing {
namespace {

void run(const std::string& cmd) {
  const std::string quiet = cmd + " >/dev/null 2>&1";
  if (std::system(quiet.c_str()) != 0) throw std::runtime_error("command failed: " + cmd);
}

std::string quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string base64(const std::string& in) {
  static const char* t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const unsigned v = (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8) |
                       static_cast<unsigned char>(in[i + 2]);
    out += {t[v >> 18], t[(v >> 12) & 63], t[(v >> 6) & 63], t[v & 63]};
  }
  if (i + 1 == in.size()) {
    const unsigned v = static_cast<unsigned char>(in[i]) << 16;
    out += {t[v >> 18], t[(v >> 12) & 63], '=', '='};
  } else if (i + 2 == in.size()) {
    const unsigned v = (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8);
    out += {t[v >> 18], t[(v >> 12) & 63], t[(v >> 6) & 63], '='};
  }
  return out;
}

}  // namespace

ApiServerFiles make_apiserver_certs(const std::string& dir) {
  ApiServerFiles f{dir + "/ca.pem", dir + "/server.pem", dir + "/server-key.pem"};
  const std::string ca_key = dir + "/ca-key.pem", csr = dir + "/server.csr", ext = dir + "/server-ext.cnf";
  run("mkdir -p " + quote(dir));
  // EC keys: generated in milliseconds, and Go's TLS stack (kubectl) takes them.
  const std::string ec = " -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
  run("openssl req -x509" + ec + " -keyout " + quote(ca_key) + " -out " + quote(f.ca_pem) +
      " -days 365 -subj /CN=infergate-test-apiserver-ca -addext basicConstraints=critical,CA:TRUE"
      " -addext keyUsage=critical,keyCertSign,cRLSign");
  run("openssl req" + ec + " -keyout " + quote(f.key_pem) + " -out " + quote(csr) + " -subj /CN=127.0.0.1");
  {
    std::ofstream out(ext);
    out << "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
           "basicConstraints=CA:FALSE\n"
           "keyUsage=critical,digitalSignature,keyEncipherment\n"
           "extendedKeyUsage=serverAuth\n";
  }
  run("openssl x509 -req -in " + quote(csr) + " -CA " + quote(f.ca_pem) + " -CAkey " + quote(ca_key) +
      " -CAcreateserial -out " + quote(f.cert_pem) + " -days 365 -extfile " + quote(ext));
  return f;
}

std::string write_kubeconfig(const std::string& path, const std::string& server_url, const std::string& ca_pem_path,
                             const std::string& token, const std::string& default_namespace) {
  std::ofstream out(path);
  if (!out) throw std::runtime_error("cannot write " + path);
  out << "apiVersion: v1\nkind: Config\nclusters:\n- name: test\n  cluster:\n    server: " << server_url << "\n";
  if (!ca_pem_path.empty()) out << "    certificate-authority-data: " << base64(read_file(ca_pem_path)) << "\n";
  out << "contexts:\n- name: test\n  context:\n    cluster: test\n    user: test\n    namespace: " << default_namespace
      << "\ncurrent-context: test\nusers:\n- name: test\n  user:\n";
  if (!token.empty()) {
    out << "    token: " << token << "\n";
  } else {
    out << "    {}\n";
  }
  out.close();
  if (!out) throw std::runtime_error("cannot write " + path);
  return path;
}

}  // namespace infergate::testing
