#pragma once
// Internal to config/: typed, path-tracking field access over yaml-cpp nodes. Every problem
// becomes a Diagnostic carrying file, document, resource, field path and line, so the
// per-kind parsers read like schemas and never touch yaml-cpp's throwing accessors.

#include <yaml-cpp/yaml.h>

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/diagnostic.h"
#include "config/model/common.h"

namespace infergate::config::detail {

class ParseContext {
 public:
  ParseContext(std::string file, int document, int line_offset, std::vector<Diagnostic>* errors,
               std::vector<Diagnostic>* warnings)
      : file_(std::move(file)),
        document_(document),
        line_offset_(line_offset),
        errors_(errors),
        warnings_(warnings) {}

  // "HTTPRoute/llm-route"; named in every later diagnostic.
  void set_resource(std::string resource) { resource_ = std::move(resource); }
  const std::string& resource() const { return resource_; }
  // Our own kind: unknown fields are errors. Foreign kinds: warnings.
  void set_strict_fields(bool strict) { strict_ = strict; }
  bool strict_fields() const { return strict_; }

  void error(const YAML::Node& at, std::string path, std::string message);
  void warning(const YAML::Node& at, std::string path, std::string message);
  void error_at_line(int line, std::string path, std::string message);
  void warning_at_line(int line, std::string path, std::string message);

  // 1-based line in the file of `node`, 0 when yaml-cpp has none.
  int line(const YAML::Node& node) const;
  SourceLocation location(const YAML::Node& node) const;
  size_t error_count() const { return errors_->size(); }

 private:
  Diagnostic make(int line, std::string path, std::string message) const;

  std::string file_;
  int document_;
  int line_offset_;
  std::string resource_;
  bool strict_ = false;
  std::vector<Diagnostic>* errors_;
  std::vector<Diagnostic>* warnings_;
};

std::string join_path(std::string_view base, std::string_view key);
std::string index_path(std::string_view base, size_t index);

// A YAML mapping being read. Construction reports a non-mapping node (valid() is then false and
// every accessor yields nothing). Call allow() once with the keys the schema knows; the rest are
// reported as unknown fields. Duplicate keys are errors (Kubernetes rejects them too).
// A key whose value is null counts as absent.
class MapView {
 public:
  MapView(ParseContext& ctx, const YAML::Node& node, std::string path);

  bool valid() const { return valid_; }
  const YAML::Node& node() const { return node_; }
  const std::string& path() const { return path_; }
  std::string path_of(std::string_view key) const { return join_path(path_, key); }
  ParseContext& ctx() const { return *ctx_; }
  int line() const { return ctx_->line(node_); }

  void allow(std::initializer_list<std::string_view> keys) const;
  // Keys known to Kubernetes but without meaning to us: accepted without a word.
  bool has(std::string_view key) const { return find(key) != nullptr; }
  const YAML::Node* find(std::string_view key) const;
  // 1-based line of `key` itself (not its value); the mapping's line when absent.
  int key_line(std::string_view key) const;
  // Reports "is required" when the key is missing.
  const YAML::Node* require(std::string_view key) const;

  std::optional<std::string> string(std::string_view key, bool required = false) const;
  std::optional<int64_t> integer(std::string_view key, int64_t min, int64_t max,
                                 bool required = false) const;
  std::optional<bool> boolean(std::string_view key) const;
  std::optional<std::chrono::milliseconds> duration(std::string_view key) const;
  std::optional<Labels> labels(std::string_view key) const;
  std::optional<MapView> map(std::string_view key, bool required = false) const;
  // Elements with their paths; reports a non-sequence value.
  std::vector<std::pair<std::string, YAML::Node>> list(std::string_view key,
                                                       bool required = false) const;
  std::vector<std::string> string_list(std::string_view key) const;
  // Every entry as (key, value) in written order, for mappings keyed by user-chosen names
  // (Istio's header maps). A null value is kept: the caller decides what it means.
  std::vector<std::pair<std::string, YAML::Node>> items() const;

 private:
  struct Entry {
    std::string key;
    YAML::Node key_node;
    YAML::Node value;
  };
  ParseContext* ctx_;
  YAML::Node node_;
  std::string path_;
  bool valid_ = false;
  std::vector<Entry> entries_;
};

// Scalar conversions for values not reached through MapView (list elements).
std::optional<std::string> scalar_string(ParseContext& ctx, const YAML::Node& node,
                                         const std::string& path);
std::optional<int64_t> scalar_integer(ParseContext& ctx, const YAML::Node& node,
                                      const std::string& path, int64_t min, int64_t max);

// A number from min to max ("must be a number from min to max" otherwise).
std::optional<double> number(ParseContext& ctx, const MapView& map, std::string_view key, double min, double max);

// "must be one of: a, b, c"
std::optional<std::string> one_of(ParseContext& ctx, const MapView& map, std::string_view key,
                                  std::initializer_list<std::string_view> allowed,
                                  bool required = false);

}  // namespace infergate::config::detail
