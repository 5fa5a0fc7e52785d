#include "routing/client_identity.h"

#include <cctype>

namespace infergate::routing {

namespace {
bool starts_with_ignore_case(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(s[i])) != prefix[i]) return false;
  return true;
}
}  // namespace

std::string_view fairness_id(const HeaderMap& headers) {
  const std::string* v = headers.get("x-gateway-inference-fairness-id");
  return v ? std::string_view(*v) : std::string_view();
}

std::string_view api_key(const HeaderMap& headers) {
  if (const std::string* auth = headers.get("authorization")) {
    std::string_view a = *auth;
    constexpr std::string_view kBearer = "bearer ";
    if (a.size() > kBearer.size() && starts_with_ignore_case(a, kBearer)) {
      a.remove_prefix(kBearer.size());
      while (!a.empty() && a.front() == ' ') a.remove_prefix(1);
      while (!a.empty() && a.back() == ' ') a.remove_suffix(1);
      if (!a.empty()) return a;
    }
  }
  const std::string* key = headers.get("x-api-key");
  return key ? std::string_view(*key) : std::string_view();
}

std::string_view flow_id(const HeaderMap& headers, std::string_view principal) {
  if (std::string_view f = fairness_id(headers); !f.empty()) return f;
  if (!principal.empty()) return principal;
  return api_key(headers);
}

}  // namespace infergate::routing
