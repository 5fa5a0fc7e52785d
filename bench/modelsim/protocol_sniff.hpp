// HTTP/1.1 and h2c (prior knowledge) share one port: the first bytes decide.
#pragma once

#include <string_view>

namespace modelsim {

inline constexpr std::string_view kHttp2Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

enum class Protocol { kHttp1, kHttp2, kNeedMore };

// kNeedMore while the bytes so far are a strict prefix of the HTTP/2 client preface.
Protocol sniff_protocol(std::string_view first_bytes);

}  // namespace modelsim
