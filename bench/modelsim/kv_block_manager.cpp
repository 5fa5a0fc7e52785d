#include "bench/modelsim/kv_block_manager.hpp"

#include <algorithm>

#include <xxhash.h>

namespace modelsim {

std::vector<std::uint64_t> prompt_block_hashes(std::string_view prompt_text, std::uint32_t block_size,
                                               std::string_view adapter) {
  const std::size_t chunk = std::size_t{block_size} * 4;
  std::vector<std::uint64_t> hashes;
  if (chunk == 0) return hashes;
  hashes.reserve(prompt_text.size() / chunk);
  std::uint64_t seed = adapter.empty() ? 0 : XXH64(adapter.data(), adapter.size(), 0x10CA);
  for (std::size_t at = 0; at + chunk <= prompt_text.size(); at += chunk) {
    seed = XXH64(prompt_text.data() + at, chunk, seed);
    hashes.push_back(seed);
  }
  return hashes;
}

KvBlockManager::KvBlockManager(std::uint32_t num_blocks, std::uint32_t block_size)
    : block_size_(std::max<std::uint32_t>(1, block_size)), blocks_(std::max<std::uint32_t>(1, num_blocks)) {
  for (std::uint32_t id = 0; id < blocks_.size(); ++id) push_free_tail(id);
}

double KvBlockManager::usage() const {
  return static_cast<double>(blocks_.size() - free_count_) / static_cast<double>(blocks_.size());
}

std::uint32_t KvBlockManager::count_hits(std::span<const std::uint64_t> hashes) const {
  std::uint32_t hits = 0;
  for (std::uint64_t h : hashes) {
    if (!cached_.contains(h)) break;
    ++hits;
  }
  return hits;
}

bool KvBlockManager::allocate_prompt(std::span<const std::uint64_t> hashes, std::uint32_t max_hits,
                                     std::uint32_t fresh_after_hits, std::vector<std::uint32_t>& out,
                                     std::uint32_t& hits) {
  hits = 0;
  std::uint32_t hit_blocks_now_free = 0;
  const std::size_t limit = std::min<std::size_t>(hashes.size(), max_hits);
  for (std::size_t i = 0; i < limit; ++i) {
    auto it = cached_.find(hashes[i]);
    if (it == cached_.end()) break;
    ++hits;
    if (blocks_[it->second].refs == 0) ++hit_blocks_now_free;
  }
  if (std::uint64_t{fresh_after_hits} + hit_blocks_now_free > free_count_) {
    hits = 0;
    return false;
  }
  for (std::uint32_t i = 0; i < hits; ++i) {
    const std::uint32_t id = cached_.find(hashes[i])->second;
    take(id);
    out.push_back(id);
  }
  for (std::uint32_t i = 0; i < fresh_after_hits; ++i) {
    const std::uint32_t id = pop_free_head();
    blocks_[id].refs = 1;
    out.push_back(id);
  }
  return true;
}

bool KvBlockManager::allocate(std::uint32_t n, std::vector<std::uint32_t>& out) {
  if (n > free_count_) return false;
  for (std::uint32_t i = 0; i < n; ++i) {
    const std::uint32_t id = pop_free_head();
    blocks_[id].refs = 1;
    out.push_back(id);
  }
  return true;
}

void KvBlockManager::release(std::span<const std::uint32_t> ids) {
  for (auto it = ids.rbegin(); it != ids.rend(); ++it) {
    Block& b = blocks_[*it];
    if (b.refs == 0) continue;  // defensive: a double release must not corrupt the list
    if (--b.refs == 0) push_free_tail(*it);
  }
}

void KvBlockManager::cache_block(std::uint32_t id, std::uint64_t hash) {
  Block& b = blocks_[id];
  if (b.has_hash) return;
  if (!cached_.emplace(hash, id).second) return;
  b.hash = hash;
  b.has_hash = true;
}

void KvBlockManager::take(std::uint32_t id) {
  Block& b = blocks_[id];
  if (b.refs == 0) unlink_free(id);
  ++b.refs;
}

void KvBlockManager::unlink_free(std::uint32_t id) {
  Block& b = blocks_[id];
  if (b.prev != kNone) blocks_[b.prev].next = b.next;
  else free_head_ = b.next;
  if (b.next != kNone) blocks_[b.next].prev = b.prev;
  else free_tail_ = b.prev;
  b.prev = b.next = kNone;
  --free_count_;
}

void KvBlockManager::push_free_tail(std::uint32_t id) {
  Block& b = blocks_[id];
  b.prev = free_tail_;
  b.next = kNone;
  if (free_tail_ != kNone) blocks_[free_tail_].next = id;
  else free_head_ = id;
  free_tail_ = id;
  ++free_count_;
}

std::uint32_t KvBlockManager::pop_free_head() {
  const std::uint32_t id = free_head_;
  unlink_free(id);
  Block& b = blocks_[id];
  if (b.has_hash) {
    auto it = cached_.find(b.hash);
    if (it != cached_.end() && it->second == id) cached_.erase(it);
    b.has_hash = false;
  }
  return id;
}

}  // namespace modelsim
