#pragma once
// Connection limits per listener and per source IP (GatewayConfig spec.connectionLimits).
//
// One limiter is shared by every worker and lives as long as the process; hot reload calls
// set_limits(). Pure C++ (no Asio): the acceptor passes the peer address as 4 or 16 raw bytes
// or as text, and keeps the returned Ticket for the connection's lifetime.
//
// Per listener: one atomic counter each, taken by CAS against the limit.
// Per source IP: counts keyed by the full 16-byte address (IPv4 as IPv4-mapped IPv6, so a
// dual-stack socket's "::ffff:10.0.0.1" and "10.0.0.1" are one client) in a fixed table split
// into 64 shards, each with its own small mutex. A shard lock is held for a few probes only on
// accept and close (never per request), and keying by the whole address rather than a hash
// means two clients never share a count. Memory is fixed at construction; when a shard is
// full (that many distinct clients connected at once) further new addresses are admitted
// without a per-IP count (`untracked()` counts them): refusing them would let whoever holds
// the table deny every new client, and the per-listener limit still bounds them.
// IPv6 clients are counted per address, not per /64.

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

namespace infergate::gateway {

class ConnectionLimiter {
 public:
  enum class Reason : uint8_t { Ok, ListenerFull, SourceIpFull };
  using IpKey = std::array<uint8_t, 16>;

  // A held connection slot; released on destruction or release(). Movable, not copyable.
  // The limiter must outlive its tickets.
  class Ticket {
   public:
    Ticket() = default;
    Ticket(Ticket&& o) noexcept { *this = std::move(o); }
    Ticket& operator=(Ticket&& o) noexcept;
    Ticket(const Ticket&) = delete;
    Ticket& operator=(const Ticket&) = delete;
    ~Ticket() { release(); }

    // True while the slot is held; false when refused (see reason()) or released.
    explicit operator bool() const { return owner_ != nullptr; }
    Reason reason() const { return reason_; }
    void release();

   private:
    friend class ConnectionLimiter;
    ConnectionLimiter* owner_ = nullptr;
    uint32_t listener_ = 0;
    bool ip_tracked_ = false;
    Reason reason_ = Reason::Ok;
    IpKey ip_{};
  };

  // 0 = unlimited. Listener ids are small indexes the gateway assigns; `max_listeners`
  // counters exist and an id beyond shares counter id % max_listeners (stricter, never
  // looser). `ip_slots` bounds how many distinct addresses are counted at once.
  ConnectionLimiter(uint32_t per_listener, uint32_t per_source_ip, size_t max_listeners = 256,
                    size_t ip_slots = 16384);
  ConnectionLimiter(const ConnectionLimiter&) = delete;
  ConnectionLimiter& operator=(const ConnectionLimiter&) = delete;

  // `ip`: 4 (IPv4) or 16 (IPv6) network-order bytes; any other size (a Unix socket peer)
  // is not limited per IP.
  Ticket try_acquire(uint32_t listener_id, std::span<const uint8_t> ip);
  // `ip`: "10.0.0.1", "2001:db8::1" or "::ffff:10.0.0.1"; unparseable text is not limited per IP.
  Ticket try_acquire_text(uint32_t listener_id, std::string_view ip);

  // Hot reload. Connections already held stay; a lowered limit refuses new ones until enough
  // have closed. Connections accepted while the per-IP limit was 0 are not counted per IP.
  void set_limits(uint32_t per_listener, uint32_t per_source_ip);
  uint32_t per_listener() const { return per_listener_.load(std::memory_order_relaxed); }
  uint32_t per_source_ip() const { return per_source_ip_.load(std::memory_order_relaxed); }

  uint32_t active(uint32_t listener_id) const;
  uint32_t active_for_ip(std::span<const uint8_t> ip) const;
  uint32_t active_for_ip_text(std::string_view ip) const;
  uint64_t untracked() const { return untracked_.load(std::memory_order_relaxed); }

  // 4 or 16 bytes -> the 16-byte key; false for other sizes. Text: false when unparseable.
  static bool to_key(std::span<const uint8_t> ip, IpKey& out);
  static bool text_to_key(std::string_view ip, IpKey& out);

 private:
  static constexpr size_t kShards = 64;
  struct Slot {
    IpKey key{};
    uint32_t count = 0;  // 0 = empty
  };
  struct alignas(64) Shard {
    std::mutex mu;
    std::vector<Slot> slots;  // power of two, linear probing, backward-shift deletion
    size_t used = 0;
  };

  Ticket acquire_key(uint32_t listener_id, const IpKey* key);
  void release(Ticket& t);
  size_t shard_of(const IpKey& k) const;
  size_t home_of(const IpKey& k, size_t mask) const;
  uint32_t count_of(const IpKey& k) const;

  std::atomic<uint32_t> per_listener_;
  std::atomic<uint32_t> per_source_ip_;
  std::atomic<uint64_t> untracked_{0};
  const uint64_t seed_;  // shard and slot hashing: addresses cannot be chosen to pile up
  std::vector<std::atomic<uint32_t>> listeners_;
  std::unique_ptr<Shard[]> shards_;
};

}  // namespace infergate::gateway
