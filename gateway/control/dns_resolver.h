// Asynchronous DNS with c-ares (the resolver Envoy uses) driven by a Boost.Asio io_context:
// c-ares tells which sockets to watch (its socket-state callback), each is watched with an
// asio descriptor, and one timer fires c-ares' retransmission timeouts. Nothing blocks: all
// of it runs on the thread running the io_context (the control thread), answers included.
#pragma once

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "config/model/dns.h"

namespace infergate::gateway {

struct DnsAnswer {
  bool ok = false;
  bool not_found = false;  // the name or the record type does not exist (NXDOMAIN, NODATA)
  std::string error;       // c-ares' words when !ok
  std::vector<std::string> v4, v6;
  std::chrono::seconds ttl{0};  // smallest TTL of the records (0: none, e.g. a hosts file)
  int timeouts = 0;             // queries that timed out on the way to this answer
};

class DnsResolver {
 public:
  // `resolvers` as config::DnsConfig writes them; empty = the system's. Throws
  // std::runtime_error when c-ares cannot start or does not take the resolvers.
  DnsResolver(boost::asio::io_context& io, const std::vector<std::string>& resolvers,
              std::chrono::milliseconds query_timeout = std::chrono::milliseconds(1000), int tries = 2);
  ~DnsResolver();  // pending queries are dropped without their callback
  DnsResolver(const DnsResolver&) = delete;
  DnsResolver& operator=(const DnsResolver&) = delete;

  // Asks for `host`'s A and/or AAAA records (V4_ONLY: A only; V6_ONLY: AAAA only). `done`
  // runs on the io_context's thread, never inside this call.
  void resolve(const std::string& host, config::DnsLookupFamily family, std::function<void(DnsAnswer)> done);
  size_t pending() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace infergate::gateway
