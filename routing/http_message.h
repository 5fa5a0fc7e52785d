// HTTP message heads as the proxy core sees them, independent of the wire codec.
//
// Both codecs (HTTP/1.1 and HTTP/2) produce and consume these, so that routing,
// header mutation and the exchange never know which protocol a request came in on.
// Header names are stored lower-case (HTTP/2 requires it; HTTP/1.1 names are
// case-insensitive), which makes every lookup a plain byte comparison.
#pragma once

#include <charconv>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace infergate {

// Lower-cases ASCII in place: header names only ever hold tokens.
inline void ascii_lower(std::string& s) {
  for (char& c : s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
}

inline bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

// An ordered multimap of headers. Small and flat: requests carry a dozen headers,
// for which a vector scan beats any hash map and keeps wire order for forwarding.
class HeaderMap {
 public:
  struct Entry {
    std::string name;  // lower-case
    std::string value;
  };

  // `name` may be in any case; it is stored lower-cased.
  void add(std::string_view name, std::string_view value) {
    Entry e{std::string(name), std::string(value)};
    ascii_lower(e.name);
    entries_.push_back(std::move(e));
  }
  // Adds a name the caller guarantees is already lower-case (HTTP/2, our own headers).
  void add_lower(std::string_view name, std::string_view value) {
    entries_.push_back(Entry{std::string(name), std::string(value)});
  }
  // Replaces every value of `name` (lower-case) with one.
  void set(std::string_view name, std::string_view value) {
    bool done = false;
    for (auto it = entries_.begin(); it != entries_.end();) {
      if (it->name == name) {
        if (!done) {
          it->value.assign(value);
          done = true;
          ++it;
        } else {
          it = entries_.erase(it);
        }
      } else {
        ++it;
      }
    }
    if (!done) add_lower(name, value);
  }
  // Removes every value of `name` (lower-case); returns how many were removed.
  size_t remove(std::string_view name) {
    size_t n = 0;
    for (auto it = entries_.begin(); it != entries_.end();) {
      if (it->name == name) {
        it = entries_.erase(it);
        ++n;
      } else {
        ++it;
      }
    }
    return n;
  }
  // First value of `name` (lower-case), or nullptr.
  const std::string* get(std::string_view name) const {
    for (const auto& e : entries_)
      if (e.name == name) return &e.value;
    return nullptr;
  }
  std::string_view get_or(std::string_view name, std::string_view fallback) const {
    const std::string* v = get(name);
    return v ? std::string_view(*v) : fallback;
  }
  size_t count(std::string_view name) const {
    size_t n = 0;
    for (const auto& e : entries_) n += e.name == name;
    return n;
  }
  // Bytes as they count against header-size limits (name + value per entry).
  size_t byte_size() const {
    size_t n = 0;
    for (const auto& e : entries_) n += e.name.size() + e.value.size();
    return n;
  }

  size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }
  void clear() { entries_.clear(); }
  void reserve(size_t n) { entries_.reserve(n); }
  auto begin() const { return entries_.begin(); }
  auto end() const { return entries_.end(); }
  auto begin() { return entries_.begin(); }
  auto end() { return entries_.end(); }

 private:
  std::vector<Entry> entries_;
};

// The length a head's Content-Length declares: its first value when that is all digits and
// fits 64 bits, else nullopt. (The HTTP/1 codec already refuses repeats, lists and junk; this
// is what the proxy reads to size, hold and rewrite bodies.)
inline std::optional<uint64_t> declared_content_length(const HeaderMap& headers) {
  const std::string* v = headers.get("content-length");
  if (v == nullptr || v->empty()) return std::nullopt;
  uint64_t n = 0;
  const auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
  if (ec != std::errc() || end != v->data() + v->size()) return std::nullopt;
  return n;
}

enum class HttpVersion : uint8_t { Http10, Http11, Http2 };

inline std::string_view protocol_name(HttpVersion v) {
  switch (v) {
    case HttpVersion::Http10: return "HTTP/1.0";
    case HttpVersion::Http11: return "HTTP/1.1";
    case HttpVersion::Http2: return "HTTP/2";
  }
  return "HTTP/1.1";
}

// A request head. Pseudo-headers live in named fields, never in `headers`.
struct RequestHead {
  std::string method;
  std::string path;       // origin-form: path and query, as received
  std::string authority;  // :authority, or Host for HTTP/1.1
  std::string scheme = "http";
  HttpVersion version = HttpVersion::Http11;
  HeaderMap headers;

  std::string_view path_only() const {
    std::string_view p = path;
    size_t q = p.find('?');
    return q == std::string_view::npos ? p : p.substr(0, q);
  }
  std::string_view query() const {
    std::string_view p = path;
    size_t q = p.find('?');
    return q == std::string_view::npos ? std::string_view() : p.substr(q + 1);
  }
};

struct ResponseHead {
  int status = 200;
  HeaderMap headers;
};

}  // namespace infergate
