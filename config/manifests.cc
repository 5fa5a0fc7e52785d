#include "config/manifests.h"

#include <absl/strings/ascii.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "config/resource_kinds.h"
#include "config/str_cat.h"
#include "config/yaml_documents.h"

namespace infergate::config {

namespace {

constexpr uintmax_t kMaxFileBytes = 64ull << 20;

struct Piece {
  std::string_view text;
  int line_offset = 0;  // lines before the piece in the file
};

bool is_marker(std::string_view line) {
  if (!line.starts_with("---")) return false;
  // `line` still ends with its '\n' (when it has one).
  return line.size() == 3 || line[3] == ' ' || line[3] == '\t' || line[3] == '\r' ||
         line[3] == '\n';
}

// Splitting ourselves (on "---" lines, which YAML forbids inside content at column 0) keeps
// documents independent: a syntax error in one still lets the others load and report, each
// under its exact document number.
std::vector<Piece> split_documents(std::string_view text) {
  std::vector<Piece> pieces;
  size_t start = 0;
  int start_line = 0;
  int line_no = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t eol = text.find('\n', pos);
    size_t next = eol == std::string_view::npos ? text.size() : eol + 1;
    if (is_marker(text.substr(pos, next - pos)) && pos != start) {
      pieces.push_back(Piece{text.substr(start, pos - start), start_line});
      start = pos;
      start_line = line_no;
    }
    pos = next;
    ++line_no;
  }
  if (start < text.size()) pieces.push_back(Piece{text.substr(start), start_line});
  return pieces;
}

// Only blank lines, comments, markers and directives: not a document at all.
bool is_blank(std::string_view text) {
  size_t pos = 0;
  while (pos < text.size()) {
    size_t eol = text.find('\n', pos);
    size_t next = eol == std::string_view::npos ? text.size() : eol + 1;
    absl::string_view line =
        absl::StripAsciiWhitespace(detail::to_absl(text.substr(pos, next - pos)));
    if (!line.empty() && line[0] != '#' && line[0] != '%' && line != "---" && line != "...")
      return false;
    pos = next;
  }
  return true;
}

std::string scalar_at(const YAML::Node& map, const char* key) {
  if (!map.IsMap()) return {};
  for (const auto& kv : map)
    if (kv.first.IsScalar() && kv.first.Scalar() == key && kv.second.IsScalar())
      return kv.second.Scalar();
  return {};
}

YAML::Node map_at(const YAML::Node& map, const char* key) {
  if (!map.IsMap()) return {};
  for (const auto& kv : map)
    if (kv.first.IsScalar() && kv.first.Scalar() == key && kv.second.IsMap()) return kv.second;
  return {};
}

ResourceKey key_of(const YAML::Node& doc) {
  ResourceKey key;
  if (!doc.IsMap()) return key;
  key.group = std::string(detail::api_group(scalar_at(doc, "apiVersion")));
  key.kind = scalar_at(doc, "kind");
  const YAML::Node meta = map_at(doc, "metadata");
  key.name = scalar_at(meta, "name");
  if (std::string ns = scalar_at(meta, "namespace"); !ns.empty()) key.ns = std::move(ns);
  return key;
}

bool read_file(const std::filesystem::path& path, std::string* text, std::string* error) {
  std::error_code ec;
  uintmax_t size = std::filesystem::file_size(path, ec);
  if (ec) {
    *error = ec.message();
    return false;
  }
  if (size > kMaxFileBytes) {
    *error = detail::cat("file is larger than ", kMaxFileBytes >> 20, " MiB");
    return false;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    *error = std::strerror(errno);
    return false;
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  *text = std::move(ss).str();
  return true;
}

}  // namespace

std::string ResourceKey::to_string() const {
  std::string k = kind;
  if (kind == "Gateway" && group == "networking.istio.io") k += ".networking.istio.io";
  return detail::cat(k, " ", ns, "/", name);
}

std::vector<Manifest> split_manifests(std::string_view file, std::string_view text) {
  std::vector<Manifest> out;
  int document = 0;
  for (const Piece& piece : split_documents(text)) {
    if (is_blank(piece.text)) continue;
    Manifest m;
    m.file = std::string(file);
    m.document = document + 1;
    m.line_offset = piece.line_offset;
    m.text = std::string(piece.text);
    try {
      std::vector<YAML::Node> docs = detail::load_all_documents(m.text);
      int n = 0;
      for (const YAML::Node& d : docs) {
        if (!d.IsDefined() || d.IsNull()) continue;
        if (n++ == 0) m.key = key_of(d);
      }
      if (n == 0) continue;
      m.documents = n;
      // Several documents in one piece cannot be replaced one by one: no identity.
      if (n > 1) m.key = ResourceKey{};
    } catch (const std::exception&) {
      // Loaded anyway so that the loader reports the syntax error at its line.
      m.documents = 1;
    }
    if (m.key.empty()) m.key = ResourceKey{};
    document += m.documents;
    out.push_back(std::move(m));
  }
  return out;
}

std::vector<Manifest> read_manifests(const std::string& path, std::vector<Diagnostic>* errors) {
  namespace fs = std::filesystem;
  std::error_code ec;
  std::vector<fs::path> files;
  if (fs::is_directory(path, ec)) {
    for (fs::directory_iterator it(path, ec), end; !ec && it != end; it.increment(ec)) {
      const fs::path& p = it->path();
      std::error_code fec;
      if (!it->is_regular_file(fec)) continue;
      if (p.extension() == ".yaml" || p.extension() == ".yml") files.push_back(p);
    }
    std::sort(files.begin(), files.end());
    if (ec) {
      errors->push_back(Diagnostic{path, 0, "", "", 0, "cannot list: " + ec.message()});
      return {};
    }
    if (files.empty()) {
      errors->push_back(Diagnostic{path, 0, "", "", 0, "no *.yaml or *.yml files in directory"});
      return {};
    }
  } else {
    // Not a directory, or nothing there at all: reading it names the real problem.
    files.emplace_back(path);
  }
  std::vector<Manifest> out;
  for (const auto& f : files) {
    std::string text, error;
    if (!read_file(f, &text, &error)) {
      errors->push_back(Diagnostic{f.string(), 0, "", "", 0, "cannot read: " + error});
      continue;
    }
    for (Manifest& m : split_manifests(f.string(), text)) out.push_back(std::move(m));
  }
  return out;
}

}  // namespace infergate::config
