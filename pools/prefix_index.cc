#include "pools/prefix_index.h"

#include <sys/mman.h>
#include <xxhash.h>

#include <algorithm>
#include <new>
#include <vector>

namespace infergate::pools {

namespace {

// Entry layout: tag (high 32 bits of the block hash, never 0) | endpoint id (16) | stamp (16).
// 0 is an empty entry.
uint32_t tag_of(uint64_t hash) {
  const auto t = static_cast<uint32_t>(hash >> 32);
  return t ? t : 1;
}
uint64_t pack(uint32_t tag, uint32_t id, uint32_t stamp) {
  return uint64_t{tag} << 32 | uint64_t{id & 0xFFFF} << 16 | (stamp & 0xFFFF);
}
uint32_t entry_tag(uint64_t e) { return static_cast<uint32_t>(e >> 32); }
uint32_t entry_id(uint64_t e) { return static_cast<uint32_t>(e >> 16) & 0xFFFF; }
uint32_t entry_stamp(uint64_t e) { return static_cast<uint32_t>(e) & 0xFFFF; }

// The stamp advances every 16 records, so ages stay comparable over a million requests.
constexpr uint32_t kStampShift = 4;

}  // namespace

size_t prefix_block_hashes(std::string_view model, std::string_view prompt, uint32_t block_bytes,
                           std::span<uint64_t> out) {
  if (block_bytes == 0) return 0;
  uint64_t prev = XXH3_64bits(model.data(), model.size());
  size_t n = 0;
  for (size_t at = 0; at + block_bytes <= prompt.size() && n < out.size(); at += block_bytes) {
    prev = XXH64(prompt.data() + at, block_bytes, prev);
    out[n++] = prev;
  }
  return n;
}

size_t PrefixIndex::capacity_for(size_t capacity_entries) {
  return std::max<size_t>(1, (std::min(capacity_entries, kMaxEntries) + kWays - 1) / kWays) * kWays;
}

PrefixIndex::PrefixIndex(size_t capacity_entries) : buckets_(capacity_for(capacity_entries) / kWays) {
  // Anonymous memory reads as zeros (empty entries) and costs RSS only where written.
  void* p = mmap(nullptr, buckets_ * sizeof(Bucket), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  table_ = static_cast<Bucket*>(p);
}

PrefixIndex::~PrefixIndex() { munmap(table_, buckets_ * sizeof(Bucket)); }

PrefixIndex::Bucket& PrefixIndex::bucket_of(uint64_t hash) const {
  // Lemire's multiply-shift range reduction on the low 32 bits (the tag uses the high ones).
  return table_[(uint64_t{static_cast<uint32_t>(hash)} * buckets_) >> 32];
}

void PrefixIndex::match(std::span<const uint64_t> hashes, std::span<const uint32_t> ids,
                        std::span<uint32_t> out) const {
  std::fill(out.begin(), out.end(), 0u);
  // Entry id -> candidate position, per thread and reused: one pick costs O(blocks + ids).
  constexpr uint16_t kNone = 0xFFFF;
  thread_local std::vector<uint16_t> position(0x10000, kNone);
  const size_t n = std::min<size_t>(ids.size(), kNone);
  for (size_t i = 0; i < n; ++i) position[ids[i] & 0xFFFF] = static_cast<uint16_t>(i);
  struct Reset {
    std::span<const uint32_t> ids;
    ~Reset() {
      for (uint32_t id : ids) position[id & 0xFFFF] = kNone;
    }
  } reset{ids.first(n)};
  for (size_t block = 0; block < hashes.size(); ++block) {
    Bucket& b = bucket_of(hashes[block]);
    const uint32_t tag = tag_of(hashes[block]);
    bool any = false;
    for (uint64_t& slot : b.entry) {
      const uint64_t e = std::atomic_ref<uint64_t>(slot).load(std::memory_order_relaxed);
      if (entry_tag(e) != tag) continue;
      const uint16_t i = position[entry_id(e)];
      // A candidate continues its match only if it had every block before this one.
      if (i != kNone && out[i] == block) {
        out[i] = static_cast<uint32_t>(block + 1);
        any = true;
      }
    }
    if (!any) return;
  }
}

void PrefixIndex::record(std::span<const uint64_t> hashes, uint32_t id) {
  const uint32_t stamp = (clock_.fetch_add(1, std::memory_order_relaxed) >> kStampShift) & 0xFFFF;
  for (const uint64_t h : hashes) {
    Bucket& b = bucket_of(h);
    const uint32_t tag = tag_of(h);
    const uint64_t fresh = pack(tag, id, stamp);
    size_t victim = 0;
    uint32_t oldest = 0;
    uint64_t victim_value = 0;
    bool refreshed = false;
    for (size_t w = 0; w < kWays; ++w) {
      std::atomic_ref<uint64_t> slot(b.entry[w]);
      uint64_t e = slot.load(std::memory_order_relaxed);
      if (e != 0 && entry_tag(e) == tag && entry_id(e) == (id & 0xFFFF)) {
        if (entry_stamp(e) != (stamp & 0xFFFF)) slot.compare_exchange_strong(e, fresh, std::memory_order_relaxed);
        refreshed = true;
        break;
      }
      const uint32_t age = e == 0 ? 0x10000 : ((stamp - entry_stamp(e)) & 0xFFFF);
      if (w == 0 || age > oldest) {
        oldest = age;
        victim = w;
        victim_value = e;
      }
    }
    if (!refreshed)
      std::atomic_ref<uint64_t>(b.entry[victim]).compare_exchange_strong(victim_value, fresh, std::memory_order_relaxed);
  }
}

}  // namespace infergate::pools
