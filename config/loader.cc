#include "config/loader.h"

#include <absl/strings/ascii.h>
#include "config/str_cat.h"
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "config/parse_context.h"
#include "config/parsers.h"
#include "config/resource_kinds.h"
#include "config/validate.h"
#include "config/yaml_documents.h"

namespace infergate::config {

namespace {

using detail::cat;
using detail::Collected;
using detail::KindClass;
using detail::MapView;
using detail::ParseContext;

constexpr uintmax_t kMaxFileBytes = 64ull << 20;

// One YAML document's text and where it starts in its file. Splitting ourselves (on "---"
// lines, which YAML forbids inside content at column 0) keeps documents independent: a syntax
// error in one still reports the others, and each gets its exact document number.
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
    absl::string_view line = absl::StripAsciiWhitespace(detail::to_absl(text.substr(pos, next - pos)));
    if (!line.empty() && line[0] != '#' && line[0] != '%' && line != "---" && line != "...")
      return false;
    pos = next;
  }
  return true;
}

// 1-based number of the last line of `text`, ignoring trailing line breaks.
int last_line(std::string_view text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.remove_suffix(1);
  return 1 + static_cast<int>(std::count(text.begin(), text.end(), '\n'));
}

std::string scalar_or_empty(const YAML::Node& doc, const char* key) {
  for (const auto& kv : doc) {
    if (kv.first.IsScalar() && kv.first.Scalar() == key && kv.second.IsScalar())
      return kv.second.Scalar();
  }
  return {};
}

std::string metadata_name(const YAML::Node& doc) {
  for (const auto& kv : doc) {
    if (kv.first.IsScalar() && kv.first.Scalar() == "metadata" && kv.second.IsMap())
      return scalar_or_empty(kv.second, "name");
  }
  return {};
}

void load_document(ParseContext& ctx, const YAML::Node& doc, Collected& out) {
  if (!doc.IsMap()) {
    ctx.error(doc, "", "a document must be a mapping with apiVersion and kind");
    return;
  }
  const std::string api_version = scalar_or_empty(doc, "apiVersion");
  const std::string kind = scalar_or_empty(doc, "kind");
  const std::string name = metadata_name(doc);
  ctx.set_resource(kind.empty() ? std::string() : cat(kind, "/", name));
  if (api_version.empty() || kind.empty()) {
    ctx.error(doc, api_version.empty() ? "apiVersion" : "kind", "is required");
    return;
  }
  MapView view(ctx, doc, "");
  switch (detail::classify(api_version, kind)) {
    case KindClass::GatewayConfig:
      ctx.set_strict_fields(true);
      detail::parse_gateway_config(ctx, view, out);
      return;
    case KindClass::Gateway:
      detail::parse_gateway(ctx, view, out);
      return;
    case KindClass::HttpRoute:
      if (auto r = detail::parse_http_route(ctx, view)) out.config.routes.push_back(std::move(*r));
      return;
    case KindClass::Service:
      if (auto s = detail::parse_service(ctx, view)) out.config.services.push_back(std::move(*s));
      return;
    case KindClass::InferencePool:
      if (auto p = detail::parse_inference_pool(ctx, view, api_version))
        out.config.pools.push_back(std::move(*p));
      return;
    case KindClass::VirtualService:
      if (auto vs = detail::parse_virtual_service(ctx, view, api_version))
        out.config.virtual_services.push_back(std::move(*vs));
      return;
    case KindClass::DestinationRule:
      if (auto dr = detail::parse_destination_rule(ctx, view, api_version))
        out.config.destination_rules.push_back(std::move(*dr));
      return;
    case KindClass::Ignored:
      ctx.warning(doc, "", cat(api_version, " ", kind,
                                        " is not used by the gateway; ignored"));
      return;
    case KindClass::NotYetSupported:
      ctx.warning(doc, "", cat(api_version, " ", kind,
                                        " is not yet supported; ignored for now"));
      return;
    case KindClass::UnknownVersion:
      ctx.error(doc, "apiVersion",
                cat("kind ", kind, " is not supported in apiVersion \"", api_version,
                             "\""));
      return;
    case KindClass::Unknown:
      break;
  }
  ctx.error(doc, "kind",
            cat("unknown kind \"", kind, "\" (apiVersion \"", api_version, "\")"));
}

void load_text(std::string_view file, std::string_view text, Collected& out, LoadResult& result) {
  int document = 0;
  for (const Piece& piece : split_documents(text)) {
    if (is_blank(piece.text)) continue;
    std::vector<YAML::Node> docs;
    try {
      docs = detail::load_all_documents(std::string(piece.text));
    } catch (const YAML::Exception& e) {
      ++document;
      // yaml-cpp marks an unclosed construct where the text ran out, which is the next
      // document's "---"; the piece's last line is where the reader should look.
      int line = e.mark.is_null() ? 0 : std::min(e.mark.line + 1, last_line(piece.text)) +
                                            piece.line_offset;
      result.errors.push_back(Diagnostic{std::string(file), document, "", "", line,
                                         cat("YAML syntax error: ", e.msg)});
      continue;
    } catch (const std::exception& e) {
      ++document;
      result.errors.push_back(Diagnostic{std::string(file), document, "", "", piece.line_offset + 1,
                                         cat("cannot parse YAML: ", e.what())});
      continue;
    }
    for (const YAML::Node& doc : docs) {
      if (!doc.IsDefined() || doc.IsNull()) continue;
      ++document;
      ParseContext ctx(std::string(file), document, piece.line_offset, &result.errors,
                       &result.warnings);
      try {
        load_document(ctx, doc, out);
      } catch (const std::exception& e) {
        // yaml-cpp accessors are only used where they cannot throw; this is a last line of
        // defence so a surprise becomes an error message, not a crash.
        ctx.error(doc, "", cat("internal error while reading: ", e.what()));
      }
    }
  }
}

LoadResult finish(Collected& collected, LoadResult& result) {
  if (result.errors.empty()) detail::validate(collected, &result.errors, &result.warnings);
  if (result.errors.empty()) result.config = std::move(collected.config);
  return std::move(result);
}

bool read_file(const std::filesystem::path& path, std::string* text, std::string* error) {
  std::error_code ec;
  uintmax_t size = std::filesystem::file_size(path, ec);
  if (ec) {
    *error = ec.message();
    return false;
  }
  if (size > kMaxFileBytes) {
    *error = cat("file is larger than ", kMaxFileBytes >> 20, " MiB");
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

LoadResult load_documents(const std::vector<std::pair<std::string, std::string>>& named_texts) {
  LoadResult result;
  Collected collected;
  for (const auto& [name, text] : named_texts) load_text(name, text, collected, result);
  return finish(collected, result);
}

LoadResult load_string(std::string_view yaml, std::string_view file_name) {
  LoadResult result;
  Collected collected;
  load_text(file_name, yaml, collected, result);
  return finish(collected, result);
}

LoadResult load_path(const std::string& path) {
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
    if (!ec && files.empty()) {
      LoadResult r;
      r.errors.push_back(Diagnostic{path, 0, "", "", 0, "no *.yaml or *.yml files in directory"});
      return r;
    }
  } else {
    // Not a directory, or nothing there at all: reading it names the real problem.
    ec.clear();
    files.emplace_back(path);
  }
  LoadResult result;
  if (ec) {
    result.errors.push_back(Diagnostic{path, 0, "", "", 0, "cannot list: " + ec.message()});
    return result;
  }
  Collected collected;
  for (const auto& f : files) {
    std::string text, error;
    if (!read_file(f, &text, &error)) {
      result.errors.push_back(Diagnostic{f.string(), 0, "", "", 0, "cannot read: " + error});
      continue;
    }
    load_text(f.string(), text, collected, result);
  }
  return finish(collected, result);
}

}  // namespace infergate::config
