#include "config/parse_context.h"

#include <absl/strings/numbers.h>
#include "config/str_cat.h"


#include "config/duration.h"

namespace infergate::config::detail {

namespace {

bool is_quoted(const YAML::Node& node) {
  // yaml-cpp tags plain scalars "?" and quoted ones "!".
  return node.Tag() == "!";
}

std::string_view node_kind(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map: return "a mapping";
    case YAML::NodeType::Sequence: return "a list";
    case YAML::NodeType::Null: return "null";
    case YAML::NodeType::Scalar: return "a scalar";
    case YAML::NodeType::Undefined: break;
  }
  return "nothing";
}

}  // namespace

Diagnostic ParseContext::make(int line, std::string path, std::string message) const {
  Diagnostic d;
  d.file = file_;
  d.document = document_;
  d.resource = resource_;
  d.path = std::move(path);
  d.line = line;
  d.message = std::move(message);
  return d;
}

void ParseContext::error(const YAML::Node& at, std::string path, std::string message) {
  errors_->push_back(make(line(at), std::move(path), std::move(message)));
}
void ParseContext::warning(const YAML::Node& at, std::string path, std::string message) {
  warnings_->push_back(make(line(at), std::move(path), std::move(message)));
}
void ParseContext::error_at_line(int line, std::string path, std::string message) {
  errors_->push_back(make(line, std::move(path), std::move(message)));
}
void ParseContext::warning_at_line(int line, std::string path, std::string message) {
  warnings_->push_back(make(line, std::move(path), std::move(message)));
}

int ParseContext::line(const YAML::Node& node) const {
  if (!node.IsDefined()) return 0;
  YAML::Mark m = node.Mark();
  if (m.is_null() || m.line < 0) return 0;
  return m.line + 1 + line_offset_;
}

SourceLocation ParseContext::location(const YAML::Node& node) const {
  return SourceLocation{file_, document_, line(node)};
}

std::string join_path(std::string_view base, std::string_view key) {
  if (base.empty()) return std::string(key);
  return cat(base, ".", key);
}

std::string index_path(std::string_view base, size_t index) {
  return cat(base, "[", index, "]");
}

MapView::MapView(ParseContext& ctx, const YAML::Node& node, std::string path)
    : ctx_(&ctx), node_(node), path_(std::move(path)) {
  if (!node.IsMap()) {
    ctx.error(node, path_, cat("must be a mapping, got ", node_kind(node)));
    return;
  }
  valid_ = true;
  // Range-for keeps yaml-cpp's by-value iterator pairs alive; it->first would dangle.
  for (const auto& kv : node) {
    const YAML::Node& k = kv.first;
    if (!k.IsScalar()) {
      ctx.error(k, path_, "mapping keys must be plain strings");
      continue;
    }
    bool duplicate = false;
    for (const auto& e : entries_) {
      if (e.key == k.Scalar()) {
        ctx.error(k, join_path(path_, k.Scalar()), "duplicate key");
        duplicate = true;
        break;
      }
    }
    if (!duplicate) entries_.push_back(Entry{k.Scalar(), k, kv.second});
  }
}

void MapView::allow(std::initializer_list<std::string_view> keys) const {
  for (const auto& e : entries_) {
    bool known = false;
    for (auto k : keys) known = known || k == e.key;
    if (known) continue;
    std::string msg = cat("unknown field \"", e.key, "\"");
    if (ctx_->strict_fields()) {
      ctx_->error(e.key_node, path_of(e.key),
                  cat(msg, " (known: ", join(keys, ", "), ")"));
    } else {
      ctx_->warning(e.key_node, path_of(e.key), cat(msg, ", ignored"));
    }
  }
}

const YAML::Node* MapView::find(std::string_view key) const {
  for (const auto& e : entries_)
    if (e.key == key) return e.value.IsNull() ? nullptr : &e.value;
  return nullptr;
}

int MapView::key_line(std::string_view key) const {
  for (const auto& e : entries_)
    if (e.key == key) return ctx_->line(e.key_node);
  return line();
}

const YAML::Node* MapView::require(std::string_view key) const {
  if (!valid_) return nullptr;
  const YAML::Node* n = find(key);
  if (!n) ctx_->error(node_, path_of(key), "is required");
  return n;
}

std::optional<std::string> scalar_string(ParseContext& ctx, const YAML::Node& node,
                                         const std::string& path) {
  if (!node.IsScalar()) {
    ctx.error(node, path, cat("must be a string, got ", node_kind(node)));
    return std::nullopt;
  }
  return node.Scalar();
}

std::optional<int64_t> scalar_integer(ParseContext& ctx, const YAML::Node& node,
                                      const std::string& path, int64_t min, int64_t max) {
  int64_t v = 0;
  if (!node.IsScalar() || is_quoted(node) || !absl::SimpleAtoi(node.Scalar(), &v)) {
    std::string got = node.IsScalar() ? cat("\"", node.Scalar(), "\"")
                                      : std::string(node_kind(node));
    ctx.error(node, path, cat("must be an integer, got ", got));
    return std::nullopt;
  }
  if (v < min || v > max) {
    ctx.error(node, path, cat("must be between ", min, " and ", max));
    return std::nullopt;
  }
  return v;
}

std::optional<std::string> MapView::string(std::string_view key, bool required) const {
  const YAML::Node* n = required ? require(key) : find(key);
  if (!n) return std::nullopt;
  return scalar_string(*ctx_, *n, path_of(key));
}

std::optional<int64_t> MapView::integer(std::string_view key, int64_t min, int64_t max,
                                        bool required) const {
  const YAML::Node* n = required ? require(key) : find(key);
  if (!n) return std::nullopt;
  return scalar_integer(*ctx_, *n, path_of(key), min, max);
}

std::optional<bool> MapView::boolean(std::string_view key) const {
  const YAML::Node* n = find(key);
  if (!n) return std::nullopt;
  if (n->IsScalar() && !is_quoted(*n)) {
    const std::string& s = n->Scalar();
    if (s == "true" || s == "True" || s == "TRUE") return true;
    if (s == "false" || s == "False" || s == "FALSE") return false;
  }
  ctx_->error(*n, path_of(key), "must be true or false");
  return std::nullopt;
}

std::optional<std::chrono::milliseconds> MapView::duration(std::string_view key) const {
  const YAML::Node* n = find(key);
  if (!n) return std::nullopt;
  auto s = scalar_string(*ctx_, *n, path_of(key));
  if (!s) return std::nullopt;
  std::string why;
  auto d = parse_duration(*s, &why);
  if (!d) ctx_->error(*n, path_of(key), why);
  return d;
}

std::optional<Labels> MapView::labels(std::string_view key) const {
  const YAML::Node* n = find(key);
  if (!n) return std::nullopt;
  MapView m(*ctx_, *n, path_of(key));
  if (!m.valid()) return std::nullopt;
  Labels out;
  bool ok = true;
  for (const auto& e : m.entries_) {
    auto v = scalar_string(*ctx_, e.value, m.path_of(e.key));
    if (!v) {
      ok = false;
      continue;
    }
    out[e.key] = *v;
  }
  if (!ok) return std::nullopt;
  return out;
}

std::optional<MapView> MapView::map(std::string_view key, bool required) const {
  const YAML::Node* n = required ? require(key) : find(key);
  if (!n) return std::nullopt;
  MapView m(*ctx_, *n, path_of(key));
  if (!m.valid()) return std::nullopt;
  return m;
}

std::vector<std::pair<std::string, YAML::Node>> MapView::list(std::string_view key,
                                                              bool required) const {
  std::vector<std::pair<std::string, YAML::Node>> out;
  const YAML::Node* n = required ? require(key) : find(key);
  if (!n) return out;
  if (!n->IsSequence()) {
    ctx_->error(*n, path_of(key), cat("must be a list, got ", node_kind(*n)));
    return out;
  }
  size_t i = 0;
  for (const auto& element : *n) out.emplace_back(index_path(path_of(key), i++), element);
  return out;
}

std::vector<std::string> MapView::string_list(std::string_view key) const {
  std::vector<std::string> out;
  for (const auto& [path, node] : list(key)) {
    if (auto s = scalar_string(*ctx_, node, path)) out.push_back(*s);
  }
  return out;
}

std::vector<std::pair<std::string, YAML::Node>> MapView::items() const {
  std::vector<std::pair<std::string, YAML::Node>> out;
  for (const auto& e : entries_) out.emplace_back(e.key, e.value);
  return out;
}

std::optional<std::string> one_of(ParseContext& ctx, const MapView& map, std::string_view key,
                                  std::initializer_list<std::string_view> allowed,
                                  bool required) {
  auto v = map.string(key, required);
  if (!v) return std::nullopt;
  for (auto a : allowed)
    if (*v == a) return v;
  const YAML::Node* n = map.find(key);
  ctx.error(n ? *n : map.node(), map.path_of(key),
            cat("\"", *v, "\" is not one of: ", join(allowed, ", ")));
  return std::nullopt;
}

std::optional<double> number(ParseContext& ctx, const MapView& map, std::string_view key, double min, double max) {
  const YAML::Node* n = map.find(key);
  if (!n) return std::nullopt;
  try {
    const double v = n->as<double>();
    if (v >= min && v <= max) return v;
  } catch (const YAML::Exception&) {
  }
  ctx.error(*n, map.path_of(key), cat("must be a number from ", min, " to ", max));
  return std::nullopt;
}

}  // namespace infergate::config::detail
