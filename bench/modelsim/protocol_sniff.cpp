#include "bench/modelsim/protocol_sniff.hpp"

namespace modelsim {

Protocol sniff_protocol(std::string_view first_bytes) {
  const std::size_t n = std::min(first_bytes.size(), kHttp2Preface.size());
  if (first_bytes.substr(0, n) != kHttp2Preface.substr(0, n)) return Protocol::kHttp1;
  return n == kHttp2Preface.size() ? Protocol::kHttp2 : Protocol::kNeedMore;
}

}  // namespace modelsim
