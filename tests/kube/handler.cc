#include "tests/kube/handler.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <vector>

#include "tests/kube/kinds.h"

namespace infergate::testing::kube {
namespace {

using nlohmann::json;

std::string url_decode(const std::string& s, bool plus_is_space) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      out += static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else if (plus_is_space && s[i] == '+') {
      out += ' ';
    } else {
      out += s[i];
    }
  }
  return out;
}

std::vector<std::string> split_path(const std::string& p) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < p.size()) {
    auto slash = p.find('/', start);
    if (slash == std::string::npos) slash = p.size();
    if (slash > start) out.push_back(p.substr(start, slash - start));
    start = slash + 1;
  }
  return out;
}

std::string param(const HttpRequest& r, const std::string& name) {
  auto it = r.query.find(name);
  return it == r.query.end() ? "" : it->second;
}

bool flag(const HttpRequest& r, const std::string& name) {
  const std::string v = param(r, name);
  return v == "true" || v == "1";
}

HttpResponse result(const ApiResult& r) { return json_response(r.code, r.body); }

HttpResponse error(int code, const std::string& reason, const std::string& message) {
  return json_response(code, status_error(code, reason, message));
}

HttpResponse not_found_path(const HttpRequest& req) {
  return error(404, "NotFound", "the server could not find the requested resource (" + req.path + ")");
}

// Where a resource path points: /api/v1/... or /apis/G/V/..., then
// [namespaces/NS/]RESOURCE[/NAME[/SUBRESOURCE]].
struct Target {
  const ResourceKind* kind = nullptr;
  std::string version, ns, name, subresource;
};

std::optional<Target> parse_resource_path(const std::string& path) {
  std::vector<std::string> seg = split_path(path);
  Target t;
  std::string group;
  size_t i = 0;
  if (seg.size() >= 2 && seg[0] == "api") {
    t.version = seg[1];
    i = 2;
  } else if (seg.size() >= 3 && seg[0] == "apis") {
    group = seg[1];
    t.version = seg[2];
    i = 3;
  } else {
    return std::nullopt;
  }
  std::vector<std::string> rest(seg.begin() + static_cast<long>(i), seg.end());
  if (rest.empty() || rest.size() > 5) return std::nullopt;
  // namespaces/NS/RESOURCE... is a namespaced path; namespaces/NAME[/status] is the namespace.
  if (rest.size() >= 3 && rest[0] == "namespaces") {
    const ResourceKind* k = find_kind(group, t.version, rest[2]);
    if (k != nullptr && k->namespaced) {
      t.kind = k;
      t.ns = rest[1];
      if (rest.size() >= 4) t.name = rest[3];
      if (rest.size() == 5) t.subresource = rest[4];
      return t;
    }
  }
  if (rest.size() > 3) return std::nullopt;
  t.kind = find_kind(group, t.version, rest[0]);
  if (t.kind == nullptr) return std::nullopt;
  if (rest.size() >= 2) {
    if (t.kind->namespaced) return std::nullopt;  // a namespaced object needs its namespace
    t.name = rest[1];
  }
  if (rest.size() == 3) t.subresource = rest[2];
  return t;
}

bool json_body(const HttpRequest& req) {
  const std::string& ct = req.content_type;
  return ct.empty() || ct.rfind("application/json", 0) == 0;
}

}  // namespace

void parse_target(const std::string& target, std::string& path, std::map<std::string, std::string>& query) {
  const auto q = target.find('?');
  path = url_decode(target.substr(0, q), false);
  if (q == std::string::npos) return;
  const std::string qs = target.substr(q + 1);
  size_t start = 0;
  while (start <= qs.size()) {
    auto amp = qs.find('&', start);
    if (amp == std::string::npos) amp = qs.size();
    const std::string pair = qs.substr(start, amp - start);
    if (!pair.empty()) {
      const auto eq = pair.find('=');
      query[url_decode(pair.substr(0, eq), true)] = eq == std::string::npos ? "" : url_decode(pair.substr(eq + 1), true);
    }
    start = amp + 1;
  }
}

Routed route(Store& store, const HttpRequest& req, const std::string& host_port) {
  Routed out;
  if (auto d = discovery(req, host_port)) {
    out.verb = "discovery";
    out.response = std::move(*d);
    return out;
  }
  if (req.path.rfind("/openapi/", 0) == 0) {
    out.verb = "discovery";
    out.response = not_found_path(req);
    return out;
  }
  const auto t = parse_resource_path(req.path);
  if (!t) {
    out.verb = "get";
    out.response = not_found_path(req);
    return out;
  }
  const ResourceKind& k = *t->kind;
  const bool status = t->subresource == "status";
  if (!t->subresource.empty() && !(status && k.status_subresource)) {
    out.verb = "get";
    out.response = not_found_path(req);
    return out;
  }
  const bool collection = t->name.empty();
  const std::string& m = req.method;

  if (m == "GET" && collection) {
    Filter f;
    f.kind = &k;
    f.ns = t->ns;
    try {
      f.labels = Selector::labels(param(req, "labelSelector"));
      f.fields = Selector::fields(param(req, "fieldSelector"));
    } catch (const SelectorError& e) {
      out.verb = flag(req, "watch") ? "watch" : "list";
      out.response = error(400, "BadRequest", e.what());
      return out;
    }
    if (flag(req, "watch")) {
      out.verb = "watch";
      WatchRequest w;
      w.filter = std::move(f);
      w.resource_version = param(req, "resourceVersion");
      w.bookmarks = flag(req, "allowWatchBookmarks");
      w.send_initial_events = flag(req, "sendInitialEvents");
      w.timeout_seconds = std::atoi(param(req, "timeoutSeconds").c_str());
      w.api_version = k.group.empty() ? t->version : k.group + "/" + t->version;
      out.watch = std::move(w);
      return out;
    }
    out.verb = "list";
    ListOptions o;
    o.limit = static_cast<size_t>(std::max(0L, std::atol(param(req, "limit").c_str())));
    o.continue_token = param(req, "continue");
    out.response = result(store.list(k, t->version, f, o));
    return out;
  }
  if (m == "GET") {
    out.verb = "get";
    out.response = result(store.get(k, t->ns, t->name));
    return out;
  }
  if (m == "POST" && collection && !status) {
    out.verb = "create";
    if (!json_body(req)) {
      out.response = error(415, "UnsupportedMediaType", "unsupported media type \"" + req.content_type + "\"");
      return out;
    }
    json body = json::parse(req.body, nullptr, false);
    out.response = body.is_discarded() ? error(400, "BadRequest", "the request body is not valid JSON")
                                       : result(store.create(k, t->version, t->ns, std::move(body)));
    return out;
  }
  if (m == "PUT" && !collection) {
    out.verb = "update";
    if (!json_body(req)) {
      out.response = error(415, "UnsupportedMediaType", "unsupported media type \"" + req.content_type + "\"");
      return out;
    }
    json body = json::parse(req.body, nullptr, false);
    out.response = body.is_discarded() ? error(400, "BadRequest", "the request body is not valid JSON")
                                       : result(store.replace(k, t->ns, t->name, std::move(body), status));
    return out;
  }
  if (m == "PATCH" && !collection) {
    out.verb = "patch";
    std::string ct = req.content_type.substr(0, req.content_type.find(';'));
    out.response = result(store.patch(k, t->ns, t->name, ct, req.body, status));
    return out;
  }
  if (m == "DELETE" && !collection && !status) {
    out.verb = "delete";
    json options = req.body.empty() ? json::object() : json::parse(req.body, nullptr, false);
    out.response = result(store.remove(k, t->ns, t->name, options));
    return out;
  }
  out.verb = m == "DELETE" ? "delete" : m == "POST" ? "create" : "get";
  out.response = error(405, "MethodNotAllowed", "the server does not allow this method on the requested resource");
  return out;
}

}  // namespace infergate::testing::kube
