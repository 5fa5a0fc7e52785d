// Per-worker upstream connection pools, one per (endpoint, protocol).
//
// HTTP/1.1: keep-alive connections, one request each at a time, reused most recently
// used first (warm sockets, fewer idle timeouts). h2c: one multiplexed session per
// endpoint, a second one only when the first is at its stream limit or going away.
// Pools are worker-local, so nothing here takes a lock.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <absl/container/flat_hash_map.h>
#include <vector>

#include "gateway/http/codec.h"
#include "gateway/proxy/proxy_stats.h"
#include "gateway/proxy/security_stats.h"
#include "gateway/net/socket_connection.h"
#include "pools/endpoint_state.h"
#include "pools/upstream_protocol.h"

namespace infergate::gateway {

using pools::UpstreamProtocol;

struct ConnPoolOptions {
  std::chrono::milliseconds connect_timeout{5000};  // Envoy's cluster connect_timeout default
  std::chrono::milliseconds idle_timeout{3600 * 1000};  // Envoy's upstream idle_timeout default: 1 h
  size_t max_connections = 1024;                        // Envoy's circuit-breaker default
  size_t max_header_bytes = 60 * 1024;
  size_t max_headers_count = 100;
  Watermarks watermarks;
  const SecurityStats* security = nullptr;  // upstream TLS handshake counters
};

class ConnPool;

// What the cluster a stream is for asks of a connection it opens (DestinationRule
// connectionPool): at most `max_connections` open at once for the cluster, counted on its
// ClusterLoad for as long as each lives, and its own connect timeout.
struct ConnectionBudget {
  std::shared_ptr<pools::ClusterLoad> load;
  std::optional<uint32_t> max_connections;
  std::optional<std::chrono::milliseconds> connect_timeout;
};

class UpstreamConnection final : public SocketConnection {
 public:
  UpstreamConnection(boost::asio::io_context& io, ConnPool& pool, UpstreamProtocol protocol,
                     const ClusterStats* stats, std::shared_ptr<pools::ClusterLoad> load = nullptr);
  ~UpstreamConnection() override;

  void connect(const boost::asio::ip::tcp::endpoint& target, std::chrono::milliseconds timeout);
  ClientCodec& codec() { return *codec_; }
  bool connected() const { return connected_; }
  // Detaches from the pool (worker shutdown): no callbacks into it afterwards.
  void orphan() { pool_ = nullptr; }

 private:
  bool on_bytes(std::string_view bytes) override;
  void on_drained() override;
  void on_tick() override;
  void on_closed(bool by_peer) override;
  void on_idle_timeout() override;
  void on_tls_established() override;
  void on_tls_failed() override;
  void established();

  ConnPool* pool_;
  std::unique_ptr<ClientCodec> codec_;
  boost::asio::steady_timer connect_timer_;
  // The handles of the snapshot that opened the connection, copied: a pooled connection
  // outlives that snapshot (a reload, a certificate rotation), the registry cells do not go.
  ClusterStats stats_copy_;
  const ClusterStats* stats_;
  std::shared_ptr<pools::ClusterLoad> load_;  // counts this connection while it lives
  bool connected_ = false;
  bool timed_out_ = false;
  bool in_idle_list_ = false;
  friend class ConnPool;
};

class ConnPool {
 public:
  // `tls` (may be null): connections handshake with it before the codec sees them.
  ConnPool(boost::asio::io_context& io, boost::asio::ip::tcp::endpoint target, UpstreamProtocol protocol,
               const ConnPoolOptions& opts, std::shared_ptr<const tls::ClientContext> tls = nullptr);
  ~ConnPool();

  // A stream for one request attempt; callbacks.on_upstream_ready() follows (never from
  // inside this call), or on_upstream_reset(ConnectFailure/Overflow). nullptr only at a
  // connection limit (the pool's, or the cluster's `budget`): the caller answers 503, flag UO.
  UpstreamStream* new_stream(UpstreamCallbacks& callbacks, const ClusterStats* stats,
                             const ConnectionBudget* budget = nullptr);

  size_t connections() const { return connections_.size(); }
  size_t idle_connections() const { return idle_.size(); }
  void close_all();

 private:
  friend class UpstreamConnection;
  void on_connection_free(UpstreamConnection* c);
  void on_connection_closed(UpstreamConnection* c);

  boost::asio::io_context& io_;
  boost::asio::ip::tcp::endpoint target_;
  UpstreamProtocol protocol_;
  ConnPoolOptions opts_;
  std::shared_ptr<const tls::ClientContext> tls_;
  std::vector<std::shared_ptr<UpstreamConnection>> connections_;
  std::vector<UpstreamConnection*> idle_;  // HTTP/1.1 only; back = most recently used
};

// All pools of one worker.
class ConnPools {
 public:
  ConnPools(boost::asio::io_context& io, const ConnPoolOptions& opts) : io_(io), opts_(opts) {}
  // A stream to `endpoint` from its pool (ConnPool::new_stream): the one way requests and
  // their shadows reach an upstream.
  UpstreamStream* new_stream(const pools::EndpointState& endpoint, UpstreamProtocol protocol,
                             const std::shared_ptr<const tls::ClientContext>& tls, UpstreamCallbacks& callbacks,
                             const ClusterStats& stats, const ConnectionBudget* budget = nullptr) {
    return get(endpoint.address, endpoint.port, protocol, tls).new_stream(callbacks, &stats, budget);
  }
  void close_all();
  size_t connections() const;

 private:
  // Pools are per (endpoint, protocol, TLS context): a certificate rotation gets new
  // connections while those already open finish on the old context.
  ConnPool& get(std::string_view address, uint16_t port, UpstreamProtocol protocol,
                const std::shared_ptr<const tls::ClientContext>& tls);

  boost::asio::io_context& io_;
  ConnPoolOptions opts_;
  // Looked up on every attempt, so by a struct of views (no string is built per request);
  // the map's own keys hold the address.
  struct Key {
    std::string_view address;  // points into its Entry's address (heap-held: rehashing keeps it)
    uint16_t port;
    UpstreamProtocol protocol;
    const void* tls;  // the ClientContext; the pool keeps it alive
    bool operator==(const Key&) const = default;
    template <typename H>
    friend H AbslHashValue(H h, const Key& k) {
      return H::combine(std::move(h), k.address, k.port, k.protocol, k.tls);
    }
  };
  struct Entry {
    std::string address;
    std::unique_ptr<ConnPool> pool;
  };
  absl::flat_hash_map<Key, std::unique_ptr<Entry>> pools_;
};

}  // namespace infergate::gateway
