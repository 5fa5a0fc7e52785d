// One HTTP/2 cleartext connection (prior knowledge), driven by an nghttp2 server session.
// Each stream is a ResponseWriter; DATA is pulled by nghttp2 as flow control allows, so
// streamed bodies never pile up in memory.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>

#include "bench/modelsim/server_context.hpp"

struct nghttp2_session;

namespace modelsim {

class Http2Stream;

class Http2Connection final : public std::enable_shared_from_this<Http2Connection> {
 public:
  // `buffer` holds the bytes read while sniffing, the client preface among them.
  Http2Connection(ServerContext& ctx, boost::asio::ip::tcp::socket socket,
                  boost::beast::flat_buffer buffer);
  ~Http2Connection();
  Http2Connection(const Http2Connection&) = delete;
  Http2Connection& operator=(const Http2Connection&) = delete;

  void start();

 private:
  friend class Http2Stream;
  friend struct Http2Callbacks;

  bool feed(const std::uint8_t* data, std::size_t size);
  void read();
  void flush();  // writes what nghttp2 has queued, unless inside mem_recv
  void close();

  ServerContext& ctx_;
  boost::asio::ip::tcp::socket socket_;
  boost::beast::flat_buffer initial_;
  nghttp2_session* session_ = nullptr;
  std::unordered_map<std::int32_t, std::shared_ptr<Http2Stream>> streams_;
  std::array<std::uint8_t, 16384> read_buffer_{};
  std::string out_;
  bool writing_ = false;
  bool in_recv_ = false;
  bool closed_ = false;
};

}  // namespace modelsim
