#include "rollout/prometheus_answer.h"

#include <nlohmann/json.hpp>

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <string>

namespace infergate::rollout {

namespace {

using json = nlohmann::json;

// Prometheus writes sample values as Go's strconv.FormatFloat: a decimal or exponent form,
// "+Inf", "-Inf" or "NaN". The whole string must be the number.
std::optional<double> sample_number(const std::string& s) {
  if (s.empty() || std::isspace(static_cast<unsigned char>(s[0]))) return std::nullopt;
  errno = 0;
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  if (end != s.c_str() + s.size() || errno == ERANGE) return std::nullopt;
  return v;
}

}  // namespace

PrometheusResult read_prometheus_answer(int status, std::string_view body) {
  PrometheusResult out;
  const json j = json::parse(body, nullptr, false);
  const auto field = [](const json& o, const char* name) -> const json* {
    if (!o.is_object()) return nullptr;
    auto it = o.find(name);
    return it == o.end() ? nullptr : &*it;
  };
  const json* st = field(j, "status");
  if (status != 200 || !st || !st->is_string() || st->get_ref<const std::string&>() != "success") {
    std::string e = "HTTP ";
    e += std::to_string(status);
    e += ' ';
    e += body.substr(0, 200);
    out.error = std::move(e);
    return out;
  }
  const json* data = field(j, "data");
  const json* result = data ? field(*data, "result") : nullptr;
  if (!result || !result->is_array() || result->empty()) {
    out.error = "the query returned no sample";
    return out;
  }
  // An instant vector's sample: {"metric": {...}, "value": [<unix time>, "<value>"]}; a
  // scalar answer's result is the pair itself.
  const json& first = (*result)[0];
  const json* pair = first.is_object() ? field(first, "value") : &*result;
  std::optional<double> v;
  if (pair && pair->is_array() && pair->size() == 2 && (*pair)[1].is_string())
    v = sample_number((*pair)[1].get_ref<const std::string&>());
  if (!v) {
    out.error = "the first sample is not a number";
  } else if (std::isnan(*v)) {
    out.error = "the query returned NaN (no data for its ratio)";
  } else {
    out.value = *v;
  }
  return out;
}

}  // namespace infergate::rollout
