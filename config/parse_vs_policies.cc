// VirtualService http[] policies: retries, fault, mirrors, rewrite, redirect, directResponse.
#include "config/parse_vs_policies.h"

#include <absl/strings/ascii.h>
#include <absl/strings/numbers.h>
#include <absl/strings/str_split.h>

#include <array>
#include <string_view>

#include "config/istio_fields.h"
#include "config/str_cat.h"

namespace infergate::config::detail {

namespace {

// Istio's supportedRetryOnPolicies (Envoy x-envoy-retry-on and x-envoy-retry-grpc-on values).
constexpr std::array<std::string_view, 16> kRetryOn = {
    "5xx",           "gateway-error",          "reset",
    "reset-before-request", "connect-failure", "envoy-ratelimited",
    "retriable-4xx", "refused-stream",         "retriable-status-codes",
    "retriable-headers", "http3-post-connect-failure", "cancelled",
    "deadline-exceeded", "internal",           "resource-exhausted",
    "unavailable",
};

// gRPC status names Istio accepts for abort.grpcStatus.
constexpr std::array<std::string_view, 17> kGrpcStatus = {
    "OK",        "CANCELLED",        "UNKNOWN",           "INVALID_ARGUMENT",
    "DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS",   "PERMISSION_DENIED",
    "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE",
    "UNIMPLEMENTED", "INTERNAL",         "UNAVAILABLE",       "DATA_LOSS",
    "UNAUTHENTICATED",
};

template <size_t N>
bool contains(const std::array<std::string_view, N>& a, std::string_view v) {
  for (auto x : a)
    if (x == v) return true;
  return false;
}

// A Percent, or the deprecated integer `percent` (0..100) next to it.
std::optional<uint32_t> fault_percentage(ParseContext& ctx, const MapView& m) {
  if (m.has("percentage")) return parse_percentage(ctx, m, "percentage");
  if (auto p = m.integer("percent", 0, 100)) return static_cast<uint32_t>(*p) * 10000u;
  return std::nullopt;
}

}  // namespace

std::optional<IstioRetry> parse_vs_retries(ParseContext& ctx, const MapView& http) {
  auto m = http.map("retries");
  if (!m) return std::nullopt;
  m->allow({"attempts", "perTryTimeout", "retryOn", "retryRemoteLocalities",
            "retryIgnorePreviousHosts", "backoff"});
  IstioRetry r;
  if (auto a = m->integer("attempts", 0, 2147483647)) r.attempts = static_cast<uint32_t>(*a);
  r.per_try_timeout = m->duration("perTryTimeout");
  r.backoff = m->duration("backoff");
  if (auto on = m->string("retryOn")) {
    r.retry_on_written = true;
    for (absl::string_view part : absl::StrSplit(to_absl(*on), ',')) {
      std::string p(absl::StripAsciiWhitespace(part));
      if (p.empty()) continue;
      int code = 0;
      if (absl::SimpleAtoi(p, &code) && code >= 100 && code <= 599) {
        r.retry_on_codes.push_back(static_cast<uint16_t>(code));
      } else if (contains(kRetryOn, p)) {
        r.retry_on.push_back(std::move(p));
      } else {
        ctx.error(*m->find("retryOn"), m->path_of("retryOn"),
                  cat("\"", p, "\" is not a valid retryOn policy"));
      }
    }
  }
  const bool remote = m->boolean("retryRemoteLocalities").value_or(false);
  m->boolean("retryIgnorePreviousHosts");
  if (r.attempts == 0 && (r.per_try_timeout || r.retry_on_written || remote))
    ctx.error(m->node(), m->path(),
              "http retry policy configured when attempts are set to 0 (disabled)");
  if (r.per_try_timeout && r.per_try_timeout->count() == 0)
    ctx.error(*m->find("perTryTimeout"), m->path_of("perTryTimeout"),
              "duration must be at least 1ms");
  return r;
}

std::optional<IstioFault> parse_vs_fault(ParseContext& ctx, const MapView& http) {
  auto m = http.map("fault");
  if (!m) return std::nullopt;
  m->allow({"delay", "abort"});
  IstioFault f;
  if (!m->has("delay") && !m->has("abort"))
    ctx.error(m->node(), m->path(), "HTTP fault injection must have an abort and/or a delay");
  auto no_percentage = [&](const MapView& at) {
    ctx.warning(at.node(), at.path(),
                "has no percentage: Istio injects this fault into no request "
                "(write percentage: {value: 100} for every request)");
  };
  if (auto d = m->map("delay")) {
    d->allow({"fixedDelay", "exponentialDelay", "percentage", "percent"});
    IstioFaultDelay delay;
    if (d->has("exponentialDelay")) {
      ctx.error(*d->find("exponentialDelay"), d->path_of("exponentialDelay"),
                "exponentialDelay is not supported (Istio does not support it either)");
    } else if (auto fd = d->duration("fixedDelay")) {
      if (fd->count() == 0)
        ctx.error(*d->find("fixedDelay"), d->path_of("fixedDelay"),
                  "duration must be at least 1ms");
      delay.fixed_delay = *fd;
    } else if (!d->has("fixedDelay")) {
      ctx.error(d->node(), d->path_of("fixedDelay"), "is required");
    }
    auto pct = fault_percentage(ctx, *d);
    if (!pct && !d->has("percentage") && !d->has("percent")) no_percentage(*d);
    delay.per_million = pct.value_or(0);
    f.delay = delay;
  }
  if (auto a = m->map("abort")) {
    a->allow({"httpStatus", "grpcStatus", "http2Error", "percentage"});
    IstioFaultAbort abort;
    if (a->has("http2Error")) {
      ctx.error(*a->find("http2Error"), a->path_of("http2Error"),
                "HTTP/2 abort fault injection is not supported (nor by Istio)");
    } else if (a->has("httpStatus")) {
      if (auto s = a->integer("httpStatus", 200, 599))
        abort.http_status = static_cast<uint16_t>(*s);
    } else if (auto g = a->string("grpcStatus")) {
      if (!contains(kGrpcStatus, *g))
        ctx.error(*a->find("grpcStatus"), a->path_of("grpcStatus"),
                  cat("gRPC status \"", *g, "\" is not supported (e.g. UNAVAILABLE)"));
      abort.grpc_status = *g;
    } else {
      // Istio accepts this with a warning and injects nothing.
      ctx.warning(a->node(), a->path(), "abort configured, but error type not set; ignored");
    }
    auto pct = a->has("percentage") ? parse_percentage(ctx, *a, "percentage") : std::nullopt;
    if (!a->has("percentage")) no_percentage(*a);
    abort.per_million = pct.value_or(0);
    if (abort.http_status != 0 || !abort.grpc_status.empty()) f.abort = abort;
  }
  return f;
}

std::vector<IstioMirror> parse_vs_mirrors(ParseContext& ctx, const MapView& http) {
  std::vector<IstioMirror> out;
  if (http.has("mirror")) {
    IstioMirror mirror;
    auto d = parse_destination(ctx, http, "mirror");
    if (http.has("mirrorPercentage")) {
      if (auto p = parse_percentage(ctx, http, "mirrorPercentage")) mirror.per_million = *p;
    } else if (http.has("mirrorPercent")) {
      ctx.warning_at_line(http.key_line("mirrorPercent"), http.path_of("mirrorPercent"),
                          "using deprecated setting \"mirrorPercent\", use \"mirrorPercentage\" "
                          "instead");
      if (auto p = http.integer("mirrorPercent", 0, 100))
        mirror.per_million = static_cast<uint32_t>(*p) * 10000u;
    }
    if (d) {
      mirror.destination = std::move(*d);
      out.push_back(std::move(mirror));
    }
  } else if (http.has("mirrorPercentage") || http.has("mirrorPercent")) {
    if (http.has("mirrorPercentage")) parse_percentage(ctx, http, "mirrorPercentage");
    if (http.has("mirrorPercent")) http.integer("mirrorPercent", 0, 100);
    ctx.warning_at_line(http.key_line(http.has("mirrorPercentage") ? "mirrorPercentage"
                                                                    : "mirrorPercent"),
                        http.path(), "a mirror percentage without a mirror; ignored");
  }
  int index = 0;
  for (const auto& [path, node] : http.list("mirrors")) {
    const int list_index = index++;
    MapView m(ctx, node, path);
    if (!m.valid()) continue;
    m.allow({"destination", "percentage"});
    IstioMirror mirror;
    auto d = parse_destination(ctx, m, "destination");
    if (m.has("percentage")) {
      if (auto p = parse_percentage(ctx, m, "percentage")) mirror.per_million = *p;
    }
    if (!d) continue;
    mirror.destination = std::move(*d);
    mirror.list_index = list_index;
    out.push_back(std::move(mirror));
  }
  return out;
}

std::optional<IstioRewrite> parse_vs_rewrite(ParseContext& ctx, const MapView& http) {
  auto m = http.map("rewrite");
  if (!m) return std::nullopt;
  m->allow({"uri", "authority", "uriRegexRewrite"});
  IstioRewrite rw;
  if (auto u = m->string("uri")) rw.uri = *u;
  if (auto a = m->string("authority")) rw.authority = *a;
  if (auto rr = m->map("uriRegexRewrite")) {
    rr->allow({"match", "rewrite"});
    auto match = rr->string("match");
    auto rewrite = rr->string("rewrite");
    if (!match || !rewrite || match->empty() || rewrite->empty()) {
      ctx.error(rr->node(), rr->path(),
                "UriRegexRewrite requires both rewrite and match fields to be specified");
    } else if (check_istio_regex(ctx, *rr->find("match"), rr->path_of("match"), *match)) {
      rw.uri_regex_match = *match;
      rw.uri_regex_rewrite = *rewrite;
    }
  }
  if (!rw.uri.empty() && m->has("uriRegexRewrite"))
    ctx.error(m->node(), m->path(), "rewrite may only contain one of uri or uriRegexRewrite");
  if (rw.uri.empty() && rw.authority.empty() && !m->has("uriRegexRewrite"))
    ctx.error(m->node(), m->path(),
              "rewrite must specify at least one of uri, uriRegexRewrite or authority");
  return rw;
}

std::optional<IstioRedirect> parse_vs_redirect(ParseContext& ctx, const MapView& http) {
  auto m = http.map("redirect");
  if (!m) return std::nullopt;
  m->allow({"uri", "authority", "port", "derivePort", "scheme", "redirectCode"});
  IstioRedirect r;
  if (auto u = m->string("uri")) r.uri = *u;
  if (auto a = m->string("authority")) r.authority = *a;
  if (auto s = one_of(ctx, *m, "scheme", {"http", "https"})) r.scheme = *s;
  if (auto p = m->integer("port", 1, 65535)) r.port = static_cast<uint16_t>(*p);
  if (auto d = one_of(ctx, *m, "derivePort", {"FROM_PROTOCOL_DEFAULT", "FROM_REQUEST_PORT"}))
    r.derive_port_from_request = *d == "FROM_REQUEST_PORT";
  if (m->has("port") && m->has("derivePort"))
    ctx.error(m->node(), m->path(), "only one of port or derivePort may be set");
  if (auto c = m->integer("redirectCode", 0, 999); c && *c != 0) {
    // Istio's validation takes any 3xx, but only these reach Envoy (others drop the route).
    if (*c != 301 && *c != 302 && *c != 303 && *c != 307 && *c != 308)
      ctx.error(*m->find("redirectCode"), m->path_of("redirectCode"),
                cat(*c, " is not a supported redirect code (301, 302, 303, 307 or 308)"));
    r.code = static_cast<uint16_t>(*c);
  }
  if (r.uri.empty() && r.authority.empty() && r.scheme.empty() && !m->has("port") &&
      !m->has("derivePort"))
    ctx.error(m->node(), m->path(), "redirect must specify uri, authority, scheme, or port");
  return r;
}

std::optional<IstioDirectResponse> parse_vs_direct_response(ParseContext& ctx,
                                                            const MapView& http) {
  auto m = http.map("directResponse");
  if (!m) return std::nullopt;
  m->allow({"status", "body"});
  IstioDirectResponse out;
  if (auto s = m->integer("status", 200, 599, true)) out.status = static_cast<uint16_t>(*s);
  if (auto b = m->map("body")) {
    b->allow({"string", "bytes"});
    if (auto s = b->string("string")) out.body = *s;
    if (b->has("bytes"))
      ctx.error(*b->find("bytes"), b->path_of("bytes"), "is not supported; use body.string");
    if (out.body.size() > 1024 * 1024)
      ctx.error(b->node(), b->path(), "must be less than 1MB (as Istio requires)");
  }
  return out;
}

}  // namespace infergate::config::detail
