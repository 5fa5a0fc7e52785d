// libFuzzer target for the configuration loader (config/loader.h): the input is a YAML file
// of any number of manifests of any kind (Gateway API, Inference Extension, Istio, our
// GatewayConfig...), split, parsed by yaml-cpp and the kinds' parsers, and validated whole.
// The loader's contract: never throws, never crashes, and a text with errors gives no config.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "config/loader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view yaml(reinterpret_cast<const char*>(data), size);
  const infergate::config::LoadResult r = infergate::config::load_string(yaml, "fuzz.yaml");
  if (!r.errors.empty() && r.config.has_value()) std::abort();
  return 0;
}
