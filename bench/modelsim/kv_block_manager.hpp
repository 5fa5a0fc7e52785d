// The paged KV cache of the engine, after vLLM's KVCacheManager: fixed-size blocks, a block
// hash chained over the prompt's token blocks, and a free list in LRU order whose blocks keep
// their hash, so a later request with the same prefix reuses them without computing them.
// Not thread-safe: the engine calls it under its own lock.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace modelsim {

// Hashes of the prompt's full blocks: the text cut into block_size*4-character chunks (the
// token estimate is 4 characters a token), each XXH64(chunk, seed = previous hash). The first
// seed is the adapter's name hashed (0 for the base model): KV of another adapter never matches.
std::vector<std::uint64_t> prompt_block_hashes(std::string_view prompt_text, std::uint32_t block_size,
                                               std::string_view adapter);

class KvBlockManager {
 public:
  KvBlockManager(std::uint32_t num_blocks, std::uint32_t block_size);

  std::uint32_t num_blocks() const { return static_cast<std::uint32_t>(blocks_.size()); }
  std::uint32_t block_size() const { return block_size_; }
  // Blocks nobody references (cached or empty): what an allocation can take.
  std::uint32_t free_blocks() const { return free_count_; }
  // Referenced blocks over all blocks (vLLM's kv_cache_usage_perc).
  double usage() const;
  // Blocks holding a reusable hash, referenced or not.
  std::size_t cached_blocks() const { return cached_.size(); }

  // How many leading hashes are cached (no side effects).
  std::uint32_t count_hits(std::span<const std::uint64_t> hashes) const;

  // Takes the cached leading blocks of `hashes` (at most max_hits) plus `fresh` new blocks,
  // appending them to `out` in order; fresh blocks evict the least recently freed cached
  // ones. All or nothing: false (nothing taken) when the free blocks do not suffice.
  // `hits` gets the number of cached blocks taken.
  bool allocate_prompt(std::span<const std::uint64_t> hashes, std::uint32_t max_hits,
                       std::uint32_t fresh_after_hits, std::vector<std::uint32_t>& out,
                       std::uint32_t& hits);
  // Appends n fresh blocks to out; false (nothing taken) when fewer are free.
  bool allocate(std::uint32_t n, std::vector<std::uint32_t>& out);
  // Drops one reference on each block. Unreferenced blocks go to the free list, the last block
  // first, so the tail of a prompt is evicted before its head.
  void release(std::span<const std::uint32_t> blocks);
  // Records that `block` now holds the computed tokens of `hash` (a full prompt block). A hash
  // that is already cached in another block is left there.
  void cache_block(std::uint32_t block, std::uint64_t hash);

 private:
  static constexpr std::uint32_t kNone = 0xFFFFFFFFu;
  struct Block {
    std::uint64_t hash = 0;
    bool has_hash = false;
    std::uint32_t refs = 0;
    std::uint32_t prev = kNone;  // free list links, valid while refs == 0
    std::uint32_t next = kNone;
  };

  void unlink_free(std::uint32_t id);
  void push_free_tail(std::uint32_t id);
  std::uint32_t pop_free_head();  // evicts the block's hash
  void take(std::uint32_t id);    // one more reference (a cached block may be free)

  std::uint32_t block_size_;
  std::vector<Block> blocks_;
  std::uint32_t free_head_ = kNone;
  std::uint32_t free_tail_ = kNone;
  std::uint32_t free_count_ = 0;
  std::unordered_map<std::uint64_t, std::uint32_t> cached_;  // hash -> block
};

}  // namespace modelsim
