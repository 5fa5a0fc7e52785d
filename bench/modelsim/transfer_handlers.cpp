#include "bench/modelsim/transfer_handlers.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <optional>

#include <nlohmann/json.hpp>

#include "bench/modelsim/routes.hpp"

namespace modelsim {
namespace {

constexpr std::size_t kChunkBytes = 64 * 1024;

std::string_view pattern_chunk() {
  static const std::string chunk = [] {
    std::string s(kChunkBytes, '\0');
    for (std::size_t i = 0; i < s.size(); ++i) s[i] = static_cast<char>('a' + i % 26);
    return s;
  }();
  return chunk;
}

std::optional<std::uint64_t> query_number(std::string_view query, std::string_view key) {
  while (!query.empty()) {
    auto amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    if (pair.size() > key.size() && pair.starts_with(key) && pair[key.size()] == '=') {
      std::string_view text = pair.substr(key.size() + 1);
      std::uint64_t value = 0;
      auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
      if (ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
      return value;
    }
  }
  return std::nullopt;
}

struct ByteStream : std::enable_shared_from_this<ByteStream> {
  std::shared_ptr<ResponseWriter> writer;
  std::uint64_t remaining = 0;

  void next() {
    if (writer->gone()) return;
    if (remaining == 0) {
      writer->finish({});
      return;
    }
    const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(remaining, kChunkBytes));
    remaining -= n;
    writer->write_static(pattern_chunk().substr(0, n), [self = shared_from_this()] { self->next(); });
  }
};

bool is_token_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// "name:value,name:value": each legal pair becomes a response header (name lower-cased, as
// HTTP/2 requires). A value cannot hold a comma, as in the echo server this follows.
void set_echo_headers(std::string_view spec, ResponseWriter& writer) {
  while (!spec.empty()) {
    const auto comma = spec.find(',');
    const std::string_view entry = spec.substr(0, comma);
    spec = comma == std::string_view::npos ? std::string_view{} : spec.substr(comma + 1);
    const auto colon = entry.find(':');
    if (colon == std::string_view::npos) continue;
    const std::string_view name = trim(entry.substr(0, colon)), value = trim(entry.substr(colon + 1));
    if (name.empty() || !std::all_of(name.begin(), name.end(), is_token_char)) continue;
    if (std::any_of(value.begin(), value.end(), [](char c) { return c == '\r' || c == '\n' || c == '\0'; })) continue;
    std::string lower(name);
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
    writer.add_header(std::move(lower), std::string(value));
  }
}

}  // namespace

void handle_echo(const ServerContext& ctx, const HttpRequest& request, ResponseWriter& writer) {
  nlohmann::json headers = nlohmann::json::object();
  for (const auto& [name, value] : request.headers) {
    auto& slot = headers[name];
    if (slot.is_null()) {
      slot = value;
    } else {
      slot = slot.get<std::string>() + ", " + value;
    }
  }
  nlohmann::json body = {{"method", request.method},
                         {"path", request.target},
                         {"host", request.header("host")},
                         {"headers", std::move(headers)},
                         {"body_bytes", request.body_bytes},
                         {"pod", ctx.instance},
                         {"namespace", ctx.options.pod_namespace},
                         {"httpPort", std::to_string(ctx.options.port)}};
  set_echo_headers(request.header("x-echo-set-header"), writer);
  writer.respond(200, "application/json",
                 body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

void start_byte_stream(const HttpRequest& request, std::shared_ptr<ResponseWriter> writer) {
  auto n = query_number(request.query(), "n");
  if (!n || *n > (1ull << 40)) {
    respond_error(*writer, 400, "/bytes needs ?n=N with 0 <= N <= 2^40");
    return;
  }
  writer->begin_stream(200, "application/octet-stream", false);
  auto stream = std::make_shared<ByteStream>();
  stream->writer = std::move(writer);
  stream->remaining = *n;
  stream->next();
}

void handle_upload(const HttpRequest& request, ResponseWriter& writer) {
  writer.respond(200, "application/json",
                 "{\"bytes\":" + std::to_string(request.body_bytes) + "}");
}

}  // namespace modelsim
