#include "gateway/net/connection_limiter.h"

#include <arpa/inet.h>

#include <algorithm>
#include <bit>
#include <chrono>
#include <cstring>
#include <random>
#include <string>

namespace infergate::gateway {

namespace {

uint64_t random_seed() {
  try {
    std::random_device rd;
    return (uint64_t{rd()} << 32) ^ rd();
  } catch (...) {  // no entropy source: still differs per process
    return static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  }
}

uint64_t mix(uint64_t x) {  // splitmix64's finalizer
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

// A shard full beyond this no longer takes new addresses: linear probes stay short.
constexpr size_t kMaxLoadNum = 7, kMaxLoadDen = 8;

}  // namespace

ConnectionLimiter::Ticket& ConnectionLimiter::Ticket::operator=(Ticket&& o) noexcept {
  if (this == &o) return *this;
  release();
  owner_ = std::exchange(o.owner_, nullptr);
  listener_ = o.listener_;
  ip_tracked_ = o.ip_tracked_;
  reason_ = o.reason_;
  ip_ = o.ip_;
  return *this;
}

void ConnectionLimiter::Ticket::release() {
  if (ConnectionLimiter* owner = std::exchange(owner_, nullptr)) owner->release(*this);
}

ConnectionLimiter::ConnectionLimiter(uint32_t per_listener, uint32_t per_source_ip, size_t max_listeners,
                                     size_t ip_slots)
    : per_listener_(per_listener),
      per_source_ip_(per_source_ip),
      seed_(random_seed()),
      listeners_(std::max<size_t>(max_listeners, 1)),
      shards_(new Shard[kShards]) {
  const size_t per_shard = std::bit_ceil(std::max<size_t>((ip_slots + kShards - 1) / kShards, 8));
  for (size_t i = 0; i < kShards; ++i) shards_[i].slots.resize(per_shard);
}

bool ConnectionLimiter::to_key(std::span<const uint8_t> ip, IpKey& out) {
  if (ip.size() == 16) {
    std::copy(ip.begin(), ip.end(), out.begin());
    return true;
  }
  if (ip.size() != 4) return false;
  out = IpKey{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, ip[0], ip[1], ip[2], ip[3]};  // ::ffff:a.b.c.d
  return true;
}

bool ConnectionLimiter::text_to_key(std::string_view ip, IpKey& out) {
  char buf[INET6_ADDRSTRLEN + 1];
  if (ip.empty() || ip.size() >= sizeof buf) return false;
  std::memcpy(buf, ip.data(), ip.size());
  buf[ip.size()] = '\0';
  uint8_t v4[4];
  if (inet_pton(AF_INET, buf, v4) == 1) return to_key(v4, out);
  return inet_pton(AF_INET6, buf, out.data()) == 1;
}

size_t ConnectionLimiter::shard_of(const IpKey& k) const {
  uint64_t a, b;
  std::memcpy(&a, k.data(), 8);
  std::memcpy(&b, k.data() + 8, 8);
  return mix(a ^ mix(b ^ seed_)) % kShards;
}

size_t ConnectionLimiter::home_of(const IpKey& k, size_t mask) const {
  uint64_t a, b;
  std::memcpy(&a, k.data(), 8);
  std::memcpy(&b, k.data() + 8, 8);
  return (mix(b ^ mix(a ^ ~seed_)) >> 7) & mask;  // other bits than shard_of's
}

ConnectionLimiter::Ticket ConnectionLimiter::try_acquire(uint32_t listener_id, std::span<const uint8_t> ip) {
  IpKey key;
  return acquire_key(listener_id, to_key(ip, key) ? &key : nullptr);
}

ConnectionLimiter::Ticket ConnectionLimiter::try_acquire_text(uint32_t listener_id, std::string_view ip) {
  IpKey key;
  return acquire_key(listener_id, text_to_key(ip, key) ? &key : nullptr);
}

ConnectionLimiter::Ticket ConnectionLimiter::acquire_key(uint32_t listener_id, const IpKey* key) {
  Ticket t;
  t.listener_ = static_cast<uint32_t>(listener_id % listeners_.size());
  std::atomic<uint32_t>& active = listeners_[t.listener_];
  // Counted even when unlimited, so that a limit set by a reload sees the open connections.
  const uint32_t listener_limit = per_listener_.load(std::memory_order_relaxed);
  uint32_t cur = active.load(std::memory_order_relaxed);
  do {
    if (listener_limit != 0 && cur >= listener_limit) {
      t.reason_ = Reason::ListenerFull;
      return t;
    }
  } while (!active.compare_exchange_weak(cur, cur + 1, std::memory_order_acq_rel, std::memory_order_relaxed));

  const uint32_t ip_limit = per_source_ip_.load(std::memory_order_relaxed);
  if (ip_limit != 0 && key) {
    Shard& sh = shards_[shard_of(*key)];
    const size_t mask = sh.slots.size() - 1;
    std::lock_guard lock(sh.mu);
    size_t i = home_of(*key, mask);
    while (sh.slots[i].count != 0 && sh.slots[i].key != *key) i = (i + 1) & mask;
    Slot& s = sh.slots[i];
    if (s.count == 0 && sh.used + 1 > sh.slots.size() * kMaxLoadNum / kMaxLoadDen) {
      untracked_.fetch_add(1, std::memory_order_relaxed);  // shard full: admitted uncounted
    } else if (s.count >= ip_limit) {
      active.fetch_sub(1, std::memory_order_acq_rel);
      t.reason_ = Reason::SourceIpFull;
      return t;
    } else {
      if (s.count == 0) {
        s.key = *key;
        ++sh.used;
      }
      ++s.count;
      t.ip_tracked_ = true;
      t.ip_ = *key;
    }
  }
  t.owner_ = this;
  t.reason_ = Reason::Ok;
  return t;
}

void ConnectionLimiter::release(Ticket& t) {
  if (t.ip_tracked_) {
    Shard& sh = shards_[shard_of(t.ip_)];
    const size_t mask = sh.slots.size() - 1;
    std::lock_guard lock(sh.mu);
    size_t i = home_of(t.ip_, mask);
    while (sh.slots[i].count != 0 && sh.slots[i].key != t.ip_) i = (i + 1) & mask;
    if (sh.slots[i].count != 0 && --sh.slots[i].count == 0) {
      // Backward-shift deletion: move later entries of the probe run into the hole so that
      // lookups, which stop at the first empty slot, still find them.
      --sh.used;
      size_t hole = i;
      for (size_t j = (i + 1) & mask; sh.slots[j].count != 0; j = (j + 1) & mask) {
        const size_t home = home_of(sh.slots[j].key, mask);
        // Movable when its home is not in the cyclic range (hole, j].
        const bool in_range = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);
        if (in_range) continue;
        sh.slots[hole] = sh.slots[j];
        sh.slots[j].count = 0;
        hole = j;
      }
    }
    t.ip_tracked_ = false;
  }
  listeners_[t.listener_].fetch_sub(1, std::memory_order_acq_rel);
}

void ConnectionLimiter::set_limits(uint32_t per_listener, uint32_t per_source_ip) {
  per_listener_.store(per_listener, std::memory_order_relaxed);
  per_source_ip_.store(per_source_ip, std::memory_order_relaxed);
}

uint32_t ConnectionLimiter::active(uint32_t listener_id) const {
  return listeners_[listener_id % listeners_.size()].load(std::memory_order_relaxed);
}

uint32_t ConnectionLimiter::count_of(const IpKey& k) const {
  Shard& sh = shards_[shard_of(k)];
  const size_t mask = sh.slots.size() - 1;
  std::lock_guard lock(sh.mu);
  size_t i = home_of(k, mask);
  while (sh.slots[i].count != 0 && sh.slots[i].key != k) i = (i + 1) & mask;
  return sh.slots[i].count;
}

uint32_t ConnectionLimiter::active_for_ip(std::span<const uint8_t> ip) const {
  IpKey key;
  return to_key(ip, key) ? count_of(key) : 0;
}

uint32_t ConnectionLimiter::active_for_ip_text(std::string_view ip) const {
  IpKey key;
  return text_to_key(ip, key) ? count_of(key) : 0;
}

}  // namespace infergate::gateway
