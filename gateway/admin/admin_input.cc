#include "gateway/admin/admin_input.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <vector>

#include "routing/http_message.h"

namespace infergate::gateway {

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  ascii_lower(out);
  return out;
}

// "http://h:1" -> "h:1", with the scheme's default port left out as a Host header leaves it.
std::string origin_authority(std::string_view origin) {
  std::string o = lower(origin);
  std::string_view v = o;
  size_t sep = v.find("://");
  if (sep == std::string_view::npos) return "";
  std::string_view scheme = v.substr(0, sep);
  std::string_view auth = v.substr(sep + 3);
  if (auth.find('/') != std::string_view::npos) auth = auth.substr(0, auth.find('/'));
  std::string out(auth);
  if (scheme == "http" && out.ends_with(":80")) out.resize(out.size() - 3);
  if (scheme == "https" && out.ends_with(":443")) out.resize(out.size() - 4);
  return out;
}

}  // namespace

std::string cross_site_refusal(const BrowserHeaders& h) {
  const std::string site = lower(trim(h.sec_fetch_site));
  if (site == "cross-site" || site == "same-site")
    return "cross-site request refused (Sec-Fetch-Site: " + site + "): the admin API takes changes from its own origin only";
  if (h.origin.empty()) return "";
  if (lower(trim(h.origin)) == "null") return "cross-site request refused (Origin: null)";
  const std::string from = origin_authority(trim(h.origin));
  if (from.empty() || from != lower(trim(h.host)))
    return "cross-site request refused: Origin " + std::string(trim(h.origin)) + " is not this admin listener (Host " +
           h.host + ")";
  return "";
}

bool loopback_host(std::string_view host) {
  std::string h = lower(trim(host));
  if (h.starts_with("[")) {
    const size_t close = h.find(']');
    if (close == std::string::npos) return false;
    return h.substr(1, close - 1) == "::1";
  }
  if (const size_t colon = h.rfind(':'); colon != std::string::npos) h.resize(colon);
  if (h == "localhost") return true;
  // 127.x.y.z in dotted decimal, nothing else (no "127.evil.com").
  if (!h.starts_with("127.")) return false;
  int dots = 0;
  for (char c : h) {
    if (c == '.') ++dots;
    else if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  }
  return dots == 3;
}

std::string media_type(std::string_view content_type) {
  return lower(trim(content_type.substr(0, content_type.find(';'))));
}

std::string content_type_refusal(std::string_view content_type, size_t body_size, bool yaml_allowed) {
  const std::string type = media_type(content_type);
  const std::string wanted = yaml_allowed ? "application/json or application/yaml" : "application/json";
  if (type == "text/plain" || type == "application/x-www-form-urlencoded" || type == "multipart/form-data")
    return "Content-Type " + type + " is refused (a cross-site form can send it): send " + wanted;
  if (body_size == 0) return "";
  if (type == "application/json") return "";
  if (yaml_allowed && (type == "application/yaml" || type == "application/x-yaml" || type == "text/yaml")) return "";
  return (type.empty() ? std::string("a body without Content-Type") : "Content-Type " + type) + " is refused: send " +
         wanted;
}

size_t json_nesting_depth(std::string_view text, size_t limit) {
  size_t depth = 0, deepest = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
      continue;
    }
    if (c == '"') in_string = true;
    else if (c == '{' || c == '[') {
      deepest = std::max(deepest, ++depth);
      if (deepest > limit) return deepest;
    } else if ((c == '}' || c == ']') && depth > 0) {
      --depth;
    }
  }
  return deepest;
}

size_t yaml_nesting_depth(std::string_view text, size_t limit) {
  std::vector<size_t> indents;  // open block levels (their indentation)
  size_t flow = 0, deepest = 0;
  size_t block_scalar_indent = std::string::npos;  // inside a "|" / ">" scalar deeper than this
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    size_t indent = 0;
    while (indent < line.size() && line[indent] == ' ') ++indent;
    std::string_view rest = line.substr(indent);
    if (!rest.empty() && rest.back() == '\r') rest.remove_suffix(1);
    if (rest.empty() || rest.front() == '#') {
      if (end == text.size()) break;
      continue;
    }
    if (block_scalar_indent != std::string::npos) {
      if (indent > block_scalar_indent) continue;
      block_scalar_indent = std::string::npos;
    }
    if (rest == "---" || rest == "...") {
      indents.clear();
      flow = 0;
      continue;
    }
    // Indentation counts inside flow collections too (a quote the estimator does not read could
    // otherwise leave a "[" open and hide the block levels after it): at worst it errs high.
    while (!indents.empty() && indents.back() >= indent) indents.pop_back();
    indents.push_back(indent);
    size_t level = indents.size();
    // "- - x": each dash opens one more level, and so does each "? " (an explicit mapping key:
    // "? ? ? x" and "? - - x" nest as deep as dashes do) and each ": " (a value with an empty
    // key: after "metadata:", yaml-cpp reads ": a: b" as metadata: {~: {a: b}}, found by
    // fuzz_admin_input).
    size_t i = 0;
    while (flow == 0 && i + 1 < rest.size() && (rest[i] == '-' || rest[i] == '?' || rest[i] == ':') &&
           rest[i + 1] == ' ') {
      ++level;
      i += 2;
      while (i < rest.size() && rest[i] == ' ') ++i;
    }
    size_t here = level + flow;
    deepest = std::max(deepest, here);
    // Every bracket counts, quoted or not, and "#" starts a comment only at the line's start:
    // reading quotes and comments as yaml-cpp does is what an attacker would aim at (a quote
    // opening a plain scalar, "#" inside one), and counting too many only errs on the safe side.
    for (; i < rest.size(); ++i) {
      const char c = rest[i];
      if (c == '{' || c == '[') {
        ++flow;
        deepest = std::max(deepest, level + flow);
      } else if ((c == '}' || c == ']') && flow > 0) {
        --flow;
      }
    }
    if (deepest > limit) return deepest;
    // "key: |" or "key: >-": the lines below, deeper than this one, are text.
    // Only an indicator that is a token of its own ("key: |", "- >-", a line "|"): "b 8|" is a
    // plain scalar, and yaml-cpp may read the deeper lines after it as structure (found by
    // fuzz_admin_input; skipping them hid that depth from the limit).
    std::string_view tail = trim(rest);
    const size_t indicator = !tail.empty() && (tail.back() == '|' || tail.back() == '>') ? 1
                             : tail.ends_with("|-") || tail.ends_with(">-") || tail.ends_with("|+") || tail.ends_with(">+")
                                 ? 2
                                 : 0;
    if (flow == 0 && indicator > 0 && (tail.size() == indicator || tail[tail.size() - indicator - 1] == ' '))
      block_scalar_indent = indent;
    if (end == text.size()) break;
  }
  return deepest;
}

TokenBucket::TokenBucket(double rate, double burst, Clock::time_point now)
    : rate_(rate), burst_(std::max(1.0, burst)), tokens_(std::max(1.0, burst)), last_(now) {}

void TokenBucket::refill(Clock::time_point now) {
  if (now <= last_) return;
  const double elapsed = std::chrono::duration<double>(now - last_).count();
  tokens_ = std::min(burst_, tokens_ + elapsed * rate_);
  last_ = now;
}

bool TokenBucket::try_take(Clock::time_point now) {
  refill(now);
  if (tokens_ < 1.0) return false;
  tokens_ -= 1.0;
  return true;
}

long TokenBucket::retry_after_s(Clock::time_point now) const {
  TokenBucket copy = *this;
  copy.refill(now);
  if (copy.tokens_ >= 1.0 || rate_ <= 0) return 1;
  return std::max(1L, static_cast<long>(std::ceil((1.0 - copy.tokens_) / rate_)));
}

}  // namespace infergate::gateway
