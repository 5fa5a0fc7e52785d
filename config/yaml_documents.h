#pragma once
// Internal to config/: YAML::LoadAll without the hang. yaml-cpp 0.7 (Debian 12) loops for ever,
// allocating a null document per turn, when a document starts with a token its parser does not
// consume (a stray ',' at block level: jbeder/yaml-cpp#1040, fixed upstream only in 2024).
// A bad config must become a diagnostic, never a hung or OOM-killed process.

#include <yaml-cpp/yaml.h>

#include <string>
#include <vector>

namespace infergate::config::detail {

// Every document of `text`, as YAML::LoadAll returns them. Throws YAML::ParserException (with
// the offending mark) for a stream yaml-cpp cannot make progress on, and whatever LoadAll
// throws for other syntax errors.
std::vector<YAML::Node> load_all_documents(const std::string& text);

}  // namespace infergate::config::detail
