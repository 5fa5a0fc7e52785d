// Reading members of JSON from the API server, which may have any shape: a member that is
// absent or of another type reads as a fallback, never as nlohmann's type_error (which, on
// the control thread, would end it).
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace infergate::config {

// j[key] when j is an object holding `key` with that type, else null (which iterates as empty).
inline const nlohmann::json& json_member(const nlohmann::json& j, const char* key, nlohmann::json::value_t type) {
  static const nlohmann::json kNull;
  if (!j.is_object()) return kNull;
  auto it = j.find(key);
  return it != j.end() && it->type() == type ? *it : kNull;
}

// j[key] when it is a string, else `fallback`.
inline std::string json_string(const nlohmann::json& j, const char* key, std::string fallback = {}) {
  if (!j.is_object()) return fallback;
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : fallback;
}

}  // namespace infergate::config
