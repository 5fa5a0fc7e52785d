#include "gateway/kube/cluster_access.h"

#include <absl/strings/escaping.h>
#include <yaml-cpp/yaml.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace infergate::gateway::kube {

namespace {

bool read_file(const std::string& path, std::string* out) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return false;
  std::ostringstream ss;
  ss << f.rdbuf();
  *out = ss.str();
  return true;
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

std::string dir_of(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
}

std::string resolve(const std::string& base_dir, const std::string& p) {
  return p.empty() || p[0] == '/' ? p : base_dir + "/" + p;
}

YAML::Node named(const YAML::Node& list, const std::string& name, const char* field) {
  if (!list.IsSequence()) return {};
  for (const auto& item : list)
    if (item["name"] && item["name"].as<std::string>() == name) return item[field];
  return {};
}

// A kubeconfig field that is either inline base64 (`X-data`) or a file (`X`).
bool pem_field(const YAML::Node& n, const std::string& key, const std::string& base_dir, std::string* out,
               std::string* error) {
  if (n[key + "-data"]) {
    if (!absl::Base64Unescape(n[key + "-data"].as<std::string>(), out)) {
      *error = key + "-data is not base64";
      return false;
    }
    return true;
  }
  if (n[key]) {
    const std::string file = resolve(base_dir, n[key].as<std::string>());
    if (!read_file(file, out)) {
      *error = "cannot read " + key + " " + file;
      return false;
    }
  }
  return true;
}

}  // namespace

std::string ClusterAccess::describe() const {
  return std::string(tls ? "https://" : "http://") + host + ":" + std::to_string(port);
}

std::string ClusterAccess::authorization() const {
  std::string t = token;
  if (!token_file.empty()) {
    std::string current;
    if (read_file(token_file, &current)) t = trim(current);
  }
  return t.empty() ? std::string() : "Bearer " + t;
}

bool parse_server_url(const std::string& url, ClusterAccess* out, std::string* error) {
  std::string rest;
  if (url.rfind("https://", 0) == 0) {
    out->tls = true;
    rest = url.substr(8);
  } else if (url.rfind("http://", 0) == 0) {
    out->tls = false;
    rest = url.substr(7);
  } else {
    *error = "server \"" + url + "\" is not an http(s) URL";
    return false;
  }
  if (auto slash = rest.find('/'); slash != std::string::npos) rest.resize(slash);
  std::string host = rest;
  uint16_t port = out->tls ? 443 : 80;
  if (!rest.empty() && rest[0] == '[') {
    auto close = rest.find(']');
    if (close == std::string::npos) {
      *error = "server \"" + url + "\": unterminated IPv6 address";
      return false;
    }
    host = rest.substr(1, close - 1);
    rest = rest.substr(close + 1);
    if (!rest.empty() && rest[0] == ':') rest = rest.substr(1);
    else rest.clear();
    if (!rest.empty()) port = static_cast<uint16_t>(std::atoi(rest.c_str()));
  } else if (auto colon = rest.rfind(':'); colon != std::string::npos) {
    host = rest.substr(0, colon);
    int p = std::atoi(rest.c_str() + colon + 1);
    if (p <= 0 || p > 65535) {
      *error = "server \"" + url + "\": bad port";
      return false;
    }
    port = static_cast<uint16_t>(p);
  }
  if (host.empty()) {
    *error = "server \"" + url + "\" has no host";
    return false;
  }
  out->host = host;
  out->server_name = host;
  out->port = port;
  return true;
}

std::optional<ClusterAccess> in_cluster_access(std::string* error, const std::string& root) {
  const char* host = std::getenv("KUBERNETES_SERVICE_HOST");
  const char* port = std::getenv("KUBERNETES_SERVICE_PORT");
  if (!host || !*host || !port || !*port) {
    *error = "--kubernetes: KUBERNETES_SERVICE_HOST/PORT are not set (not running in a pod?); use --kubeconfig";
    return std::nullopt;
  }
  ClusterAccess a;
  const std::string h = host;
  if (!parse_server_url("https://" + (h.find(':') != std::string::npos ? "[" + h + "]" : h) + ":" + port, &a, error))
    return std::nullopt;
  // The certificate is issued for the Service's name, not the address the environment gives.
  a.server_name = "kubernetes.default.svc";
  a.token_file = root + "/token";
  std::string probe;
  if (!read_file(a.token_file, &probe)) {
    *error = "--kubernetes: cannot read the service account token " + a.token_file;
    return std::nullopt;
  }
  if (!read_file(root + "/ca.crt", &a.ca_pem)) {
    *error = "--kubernetes: cannot read " + root + "/ca.crt";
    return std::nullopt;
  }
  if (std::string ns; read_file(root + "/namespace", &ns) && !trim(ns).empty()) a.ns = trim(ns);
  return a;
}

std::optional<ClusterAccess> kubeconfig_access(const std::string& path, std::string* error) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const std::exception& e) {
    *error = "kubeconfig " + path + ": " + e.what();
    return std::nullopt;
  }
  const std::string base = dir_of(path);
  try {
    const std::string context_name = root["current-context"] ? root["current-context"].as<std::string>() : "";
    if (context_name.empty()) {
      *error = "kubeconfig " + path + ": no current-context";
      return std::nullopt;
    }
    YAML::Node ctx = named(root["contexts"], context_name, "context");
    if (!ctx || !ctx.IsMap()) {
      *error = "kubeconfig " + path + ": context \"" + context_name + "\" not found";
      return std::nullopt;
    }
    const std::string cluster_name = ctx["cluster"] ? ctx["cluster"].as<std::string>() : "";
    YAML::Node cluster = named(root["clusters"], cluster_name, "cluster");
    if (!cluster || !cluster.IsMap() || !cluster["server"]) {
      *error = "kubeconfig " + path + ": cluster \"" + cluster_name + "\" not found or has no server";
      return std::nullopt;
    }
    ClusterAccess a;
    if (!parse_server_url(cluster["server"].as<std::string>(), &a, error)) return std::nullopt;
    if (cluster["tls-server-name"]) a.server_name = cluster["tls-server-name"].as<std::string>();
    a.insecure_skip_verify = cluster["insecure-skip-tls-verify"] && cluster["insecure-skip-tls-verify"].as<bool>();
    std::string why;
    if (!pem_field(cluster, "certificate-authority", base, &a.ca_pem, &why)) {
      *error = "kubeconfig " + path + ": cluster \"" + cluster_name + "\": " + why;
      return std::nullopt;
    }
    if (ctx["namespace"]) a.ns = ctx["namespace"].as<std::string>();
    const std::string user_name = ctx["user"] ? ctx["user"].as<std::string>() : "";
    if (YAML::Node user = named(root["users"], user_name, "user"); user && user.IsMap()) {
      if (user["token"]) a.token = user["token"].as<std::string>();
      if (user["tokenFile"]) a.token_file = resolve(base, user["tokenFile"].as<std::string>());
      if (!pem_field(user, "client-certificate", base, &a.client_cert_pem, &why) ||
          !pem_field(user, "client-key", base, &a.client_key_pem, &why)) {
        *error = "kubeconfig " + path + ": user \"" + user_name + "\": " + why;
        return std::nullopt;
      }
      if (user["exec"] || user["auth-provider"]) {
        *error = "kubeconfig " + path + ": user \"" + user_name +
                 "\" uses an exec or auth-provider plugin, which infergate does not run; give a token, tokenFile "
                 "or client certificate";
        return std::nullopt;
      }
    }
    return a;
  } catch (const std::exception& e) {
    *error = "kubeconfig " + path + ": " + e.what();
    return std::nullopt;
  }
}

}  // namespace infergate::gateway::kube
