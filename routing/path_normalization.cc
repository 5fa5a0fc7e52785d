#include "routing/path_normalization.h"

#include "routing/hex_digit.h"

namespace infergate::routing {

namespace {

using Mode = config::PathNormalizationMode;
using Slashes = config::EscapedSlashesAction;

constexpr char kHex[] = "0123456789ABCDEF";

// RFC 3986 2.3: what percent-encoding never changes the meaning of, so it is decoded.
bool unreserved(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
         c == '_' || c == '~';
}

bool control(unsigned char c) { return c < 0x20 || c == 0x7f; }

// The WHATWG URL path percent-encode set (what browsers encode in a path), controls aside:
// these bytes are not valid in an RFC 3986 path, so they leave encoded.
bool must_encode(unsigned char c) {
  return c >= 0x80 || c == ' ' || c == '"' || c == '<' || c == '>' || c == '`' || c == '{' || c == '}';
}

// %2F, %2f, %5C, %5c at `i` (the "%"): the byte it stands for, or 0.
char escaped_slash(std::string_view p, size_t i) {
  if (i + 2 >= p.size() || p[i] != '%') return 0;
  const char a = p[i + 1], b = p[i + 2];
  if (a == '2' && (b == 'F' || b == 'f')) return '/';
  if (a == '5' && (b == 'C' || b == 'c')) return '\\';
  return 0;
}

// Whether BASE and above could change `path` at all: the common case is a clean path that
// only needs this one scan.
bool needs_rewrite(std::string_view path, bool merge) {
  if (path.empty() || path[0] != '/') return true;
  for (size_t i = 0; i < path.size(); ++i) {
    const auto c = static_cast<unsigned char>(path[i]);
    if (c == '%' || c == '\\' || control(c) || must_encode(c)) return true;
    if (c == '/' && i + 1 < path.size()) {
      if (path[i + 1] == '.') return true;  // maybe a dot segment
      if (merge && path[i + 1] == '/') return true;
    }
  }
  return false;
}

// Removes "." and ".." segments of an absolute `path` in place (the segment form of RFC 3986
// 5.2.4, equal to it on paths starting with "/"). Returns false when a ".." climbed above the
// root (the result is then RFC 3986's clamped one).
bool remove_dots_in_place(std::string& path) {
  bool ok = true;
  size_t w = 0;  // path[0, w) is the output
  size_t r = 1;  // the segment being read starts after the "/" at r - 1
  const size_t n = path.size();
  while (r <= n) {
    size_t end = path.find('/', r);
    if (end == std::string::npos) end = n;
    const std::string_view seg(path.data() + r, end - r);
    const bool last = end == n;
    if (seg == "." || seg == "..") {
      if (seg == "..") {
        if (w == 0) ok = false;
        else w = path.rfind('/', w - 1);  // drop the last output segment and its "/"
      }
      if (last) path[w++] = '/';
    } else {
      path[w++] = '/';
      for (char c : seg) path[w++] = c;  // w <= r - 1: never overtakes the reader
    }
    r = end + 1;
  }
  if (w == 0) path[w++] = '/';
  path.resize(w);
  return ok;
}

void merge_slashes_in_place(std::string& path) {
  size_t w = 0;
  for (size_t r = 0; r < path.size(); ++r) {
    if (path[r] == '/' && w > 0 && path[w - 1] == '/') continue;
    path[w++] = path[r];
  }
  path.resize(w);
}

// Escaped slashes only (NONE with an action other than KEEP_UNCHANGED): Envoy's
// unescapeSlashes. Returns whether one was found.
bool decode_slashes_only(std::string_view path, std::string& out) {
  bool found = false;
  out.reserve(path.size());
  for (size_t i = 0; i < path.size(); ++i) {
    if (char s = escaped_slash(path, i)) {
      out.push_back(s);
      i += 2;
      found = true;
    } else {
      out.push_back(path[i]);
    }
  }
  return found;
}

}  // namespace

std::string_view path_error_name(PathError e) {
  switch (e) {
    case PathError::None: return "none";
    case PathError::BadEscape: return "bad_escape";
    case PathError::Nul: return "nul";
    case PathError::ControlChar: return "control_character";
    case PathError::Fragment: return "fragment";
    case PathError::AboveRoot: return "above_root";
    case PathError::EscapedSlash: return "escaped_slash";
  }
  return "none";
}

PathResult normalize_path(std::string& target, const config::PathNormalization& settings) {
  PathResult result;
  auto reject = [&](PathError e) {
    result.action = PathAction::Reject;
    result.error = e;
    result.changed = false;
    return result;
  };
  // Envoy refuses a fragment anywhere in :path (http_reject_path_with_fragment); no server
  // should be sent one.
  if (target.find('#') != std::string::npos) return reject(PathError::Fragment);
  const size_t q = target.find('?');
  const std::string_view path = std::string_view(target).substr(0, q == std::string::npos ? target.size() : q);
  for (char c : path)
    if (control(static_cast<unsigned char>(c))) return reject(c == 0 ? PathError::Nul : PathError::ControlChar);

  const Mode mode = settings.normalization;
  const bool decode_slashes =
      mode == Mode::DecodeAndMergeSlashes || settings.escaped_slashes != Slashes::KeepUnchanged;
  const bool merge = mode == Mode::MergeSlashes || mode == Mode::DecodeAndMergeSlashes;
  std::string out;
  bool found_slash = false;

  if (mode == Mode::None) {
    if (!decode_slashes || path.find('%') == std::string_view::npos) return result;
    found_slash = decode_slashes_only(path, out);
    if (!found_slash) return result;
  } else {
    if (!needs_rewrite(path, merge)) return result;
    out.reserve(path.size() + 8);
    if (path.empty() || path[0] != '/') out.push_back('/');
    for (size_t i = 0; i < path.size(); ++i) {
      const auto c = static_cast<unsigned char>(path[i]);
      if (c == '\\') {
        out.push_back('/');  // Envoy's canonical path reads a backslash as a separator
      } else if (c == '%') {
        const int hi = i + 2 < path.size() ? hex_value(path[i + 1]) : -1;
        const int lo = hi >= 0 ? hex_value(path[i + 2]) : -1;
        if (hi < 0 || lo < 0) return reject(PathError::BadEscape);
        const auto v = static_cast<unsigned char>(hi * 16 + lo);
        i += 2;
        if (v == 0) return reject(PathError::Nul);
        if (decode_slashes && (v == '/' || v == '\\')) {
          found_slash = true;
          out.push_back('/');  // a decoded "\" is a backslash, read as "/" like a raw one
        } else if (unreserved(v)) {
          out.push_back(static_cast<char>(v));
        } else {
          out.push_back('%');
          out.push_back(kHex[v >> 4]);
          out.push_back(kHex[v & 0xf]);
        }
      } else if (must_encode(c)) {
        out.push_back('%');
        out.push_back(kHex[c >> 4]);
        out.push_back(kHex[c & 0xf]);
      } else {
        out.push_back(static_cast<char>(c));
      }
    }
    if (!remove_dots_in_place(out)) return reject(PathError::AboveRoot);
    if (merge) merge_slashes_in_place(out);
  }

  if (found_slash && settings.escaped_slashes == Slashes::RejectRequest && mode != Mode::DecodeAndMergeSlashes)
    return reject(PathError::EscapedSlash);
  if (out != path) {
    target.replace(0, path.size(), out);
    result.changed = true;
  }
  if (found_slash && settings.escaped_slashes == Slashes::UnescapeAndRedirect && mode != Mode::DecodeAndMergeSlashes)
    result.action = PathAction::Redirect;
  return result;
}

std::string remove_dot_segments(std::string_view in, bool* climbed) {
  std::string input(in), output;
  auto pop_output = [&] {
    const size_t slash = output.rfind('/');
    if (output.empty() && climbed) *climbed = true;
    output.erase(slash == std::string::npos ? 0 : slash);
  };
  auto starts = [&](std::string_view p) { return std::string_view(input).substr(0, p.size()) == p; };
  while (!input.empty()) {
    if (starts("../")) {  // A
      input.erase(0, 3);
      if (climbed) *climbed = true;
    } else if (starts("./")) {
      input.erase(0, 2);
    } else if (starts("/./")) {  // B
      input.erase(0, 2);
    } else if (input == "/.") {
      input = "/";
    } else if (starts("/../")) {  // C
      input.erase(0, 3);
      pop_output();
    } else if (input == "/..") {
      input = "/";
      pop_output();
    } else if (input == "." || input == "..") {  // D
      if (input == ".." && climbed) *climbed = true;
      input.clear();
    } else {  // E: the first segment, with its leading "/" if any
      const size_t next = input.find('/', input[0] == '/' ? 1 : 0);
      const size_t len = next == std::string::npos ? input.size() : next;
      output.append(input, 0, len);
      input.erase(0, len);
    }
  }
  return output;
}

bool has_dot_segment(std::string_view path) {
  path = path.substr(0, path.find('?'));
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    const std::string_view seg = path.substr(start, end - start);
    if (seg == "." || seg == "..") return true;
    start = end + 1;
  }
  return false;
}

}  // namespace infergate::routing
