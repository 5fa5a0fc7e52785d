#include "config/model.h"

namespace infergate::config {

const Service* Config::find_service(std::string_view ns, std::string_view name) const {
  for (const auto& s : services)
    if (s.meta.ns == ns && s.meta.name == name) return &s;
  return nullptr;
}

const InferencePool* Config::find_pool(std::string_view ns, std::string_view name) const {
  for (const auto& p : pools)
    if (p.meta.ns == ns && p.meta.name == name) return &p;
  return nullptr;
}

bool selector_matches(const Labels& selector, const Labels& labels) {
  if (selector.empty()) return false;
  for (const auto& [k, v] : selector) {
    auto it = labels.find(k);
    if (it == labels.end() || it->second != v) return false;
  }
  return true;
}

}  // namespace infergate::config
