#include "gateway/kube/api_client.h"

#include <nlohmann/json.hpp>

namespace infergate::gateway::kube {

std::string ApiResponse::describe() const {
  if (!error.empty()) return error;
  std::string out = std::to_string(status);
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_object() && j.contains("message") && j["message"].is_string())
    out += ": " + j["message"].get<std::string>();
  return out;
}

}  // namespace infergate::gateway::kube
