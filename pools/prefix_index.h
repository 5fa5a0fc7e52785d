#pragma once
// Prefix-cache affinity, the Inference Extension's way: a prompt is cut into fixed-size blocks,
// each block hashed together with the hash before it (so a block hash stands for the whole
// prompt up to its end), and an index remembers which blocks were recently sent to which
// model server. A server that already holds a request's leading blocks in its KV cache skips
// their prefill.
//
// The index is shared by every worker and read on every pick, so it takes no lock: a
// set-associative table of 64-byte buckets, eight 64-bit entries each (32 bits of block
// hash, 16 of endpoint id, 16 of age), updated with relaxed atomics and compare-and-swap. A
// bucket evicts its least recently recorded entry: the size is fixed at creation, as the
// Inference Extension's LRU of blocks per server, but bounded (kMaxEntries: blocksPerServer x
// 5,000 endpoints would be 1.25 GB) and only paid for as it fills: the table is fresh
// anonymous memory, whose pages the kernel provides when a record first writes to them.
// Races lose a record or keep a stale one; either way a pick is only slightly less informed,
// never wrong.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace infergate::pools {

// Chained block hashes of `prompt` (xxh64 of each block seeded with the previous hash; the
// first seeded with the model's hash, so two models never share a prefix). At most
// out.size() blocks. Only whole blocks: a model server caches only full KV blocks, so a
// partial one says nothing about its cache. Returns how many were written.
size_t prefix_block_hashes(std::string_view model, std::string_view prompt, uint32_t block_bytes,
                           std::span<uint64_t> out);

class PrefixIndex {
 public:
  // 4 Mi entries: 32 MiB once every bucket has been written.
  static constexpr size_t kMaxEntries = size_t{1} << 22;

  explicit PrefixIndex(size_t capacity_entries);
  ~PrefixIndex();
  PrefixIndex(const PrefixIndex&) = delete;
  PrefixIndex& operator=(const PrefixIndex&) = delete;

  // The capacity an index asked for `capacity_entries` gets: whole buckets, at most kMaxEntries.
  static size_t capacity_for(size_t capacity_entries);

  // For every candidate endpoint id, how many leading blocks of `hashes` were recorded for
  // it: out[i] belongs to ids[i]. Stops reading at the first block no candidate has.
  void match(std::span<const uint64_t> hashes, std::span<const uint32_t> ids, std::span<uint32_t> out) const;
  // `hashes` were sent to endpoint `id`.
  void record(std::span<const uint64_t> hashes, uint32_t id);

  size_t capacity() const { return buckets_ * kWays; }

 private:
  static constexpr size_t kWays = 8;
  // Plain words read and written through std::atomic_ref: zero pages are valid empty buckets
  // without a constructor touching them.
  struct alignas(64) Bucket {
    uint64_t entry[kWays];
  };
  Bucket& bucket_of(uint64_t hash) const;

  size_t buckets_;
  Bucket* table_;
  std::atomic<uint32_t> clock_{0};  // counts record() calls; an entry's age is read against it
};

}  // namespace infergate::pools
