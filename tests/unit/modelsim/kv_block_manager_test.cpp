#include "bench/modelsim/kv_block_manager.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace modelsim {
namespace {

TEST(PromptBlockHashes, ChainedOverFullChunksAndSeededByAdapter) {
  const std::string text(64 * 3 + 10, 'x');  // three full 16-token blocks (64 characters each)
  const auto base = prompt_block_hashes(text, 16, "");
  ASSERT_EQ(base.size(), 3u);
  // Same chunk text, different positions: the chain tells them apart.
  EXPECT_NE(base[0], base[1]);
  EXPECT_NE(base[1], base[2]);
  // A shared prefix gives the same leading hashes; the first different chunk breaks the chain.
  std::string other = text;
  other[64 + 5] = 'y';
  const auto diverged = prompt_block_hashes(other, 16, "");
  EXPECT_EQ(diverged[0], base[0]);
  EXPECT_NE(diverged[1], base[1]);
  EXPECT_NE(diverged[2], base[2]);
  EXPECT_NE(prompt_block_hashes(text, 16, "adapter-a")[0], base[0]);
  EXPECT_TRUE(prompt_block_hashes(std::string(63, 'x'), 16, "").empty());
}

TEST(KvBlockManager, UsageCountsReferencedBlocksOnly) {
  KvBlockManager kv(10, 16);
  EXPECT_EQ(kv.free_blocks(), 10u);
  std::vector<std::uint32_t> a;
  ASSERT_TRUE(kv.allocate(4, a));
  EXPECT_DOUBLE_EQ(kv.usage(), 0.4);
  std::vector<std::uint32_t> b;
  EXPECT_FALSE(kv.allocate(7, b));  // all or nothing
  EXPECT_TRUE(b.empty());
  EXPECT_EQ(kv.free_blocks(), 6u);
  kv.release(a);
  EXPECT_DOUBLE_EQ(kv.usage(), 0.0);
}

TEST(KvBlockManager, FinishedPromptBlocksAreReusedByTheSamePrefix) {
  KvBlockManager kv(8, 16);
  const std::vector<std::uint64_t> hashes{11, 22, 33};
  std::vector<std::uint32_t> first;
  std::uint32_t hits = 99;
  ASSERT_TRUE(kv.allocate_prompt(hashes, 3, 4, first, hits));
  EXPECT_EQ(hits, 0u);
  ASSERT_EQ(first.size(), 4u);
  for (int i = 0; i < 3; ++i) kv.cache_block(first[i], hashes[i]);
  kv.release(first);
  EXPECT_EQ(kv.free_blocks(), 8u);  // cached but free: usage 0
  EXPECT_DOUBLE_EQ(kv.usage(), 0.0);
  EXPECT_EQ(kv.count_hits(hashes), 3u);

  // Same first two blocks, then different: two hits, the same physical blocks.
  const std::vector<std::uint64_t> second_hashes{11, 22, 44};
  std::vector<std::uint32_t> second;
  ASSERT_TRUE(kv.allocate_prompt(second_hashes, 3, 2, second, hits));
  EXPECT_EQ(hits, 2u);
  EXPECT_EQ(second[0], first[0]);
  EXPECT_EQ(second[1], first[1]);
  EXPECT_EQ(kv.free_blocks(), 4u);

  // A cached block in use by one request is shared by another.
  std::vector<std::uint32_t> third;
  ASSERT_TRUE(kv.allocate_prompt(hashes, 1, 0, third, hits));
  EXPECT_EQ(hits, 1u);
  EXPECT_EQ(third[0], first[0]);
  kv.release(third);
  EXPECT_EQ(kv.free_blocks(), 4u);  // still referenced by `second`
  kv.release(second);
  EXPECT_EQ(kv.free_blocks(), 8u);
}

TEST(KvBlockManager, MaxHitsCapsTheReuse) {
  KvBlockManager kv(4, 16);
  std::vector<std::uint32_t> blocks;
  std::uint32_t hits = 0;
  ASSERT_TRUE(kv.allocate_prompt(std::vector<std::uint64_t>{1, 2}, 2, 2, blocks, hits));
  kv.cache_block(blocks[0], 1);
  kv.cache_block(blocks[1], 2);
  kv.release(blocks);
  std::vector<std::uint32_t> again;
  ASSERT_TRUE(kv.allocate_prompt(std::vector<std::uint64_t>{1, 2}, 1, 1, again, hits));
  EXPECT_EQ(hits, 1u);
}

TEST(KvBlockManager, EvictsTheLeastRecentlyFreedCachedBlocksFirst) {
  KvBlockManager kv(4, 16);
  std::uint32_t hits = 0;
  std::vector<std::uint32_t> old_req, new_req;
  ASSERT_TRUE(kv.allocate_prompt(std::vector<std::uint64_t>{100, 101}, 2, 2, old_req, hits));
  ASSERT_TRUE(kv.allocate_prompt(std::vector<std::uint64_t>{200, 201}, 2, 2, new_req, hits));
  kv.cache_block(old_req[0], 100);
  kv.cache_block(old_req[1], 101);
  kv.cache_block(new_req[0], 200);
  kv.cache_block(new_req[1], 201);
  kv.release(old_req);  // freed first: evicted first
  kv.release(new_req);
  EXPECT_EQ(kv.cached_blocks(), 4u);

  std::vector<std::uint32_t> fresh;
  ASSERT_TRUE(kv.allocate(1, fresh));
  // The tail of the older prompt went first (blocks are freed last-first).
  EXPECT_EQ(kv.count_hits(std::vector<std::uint64_t>{100, 101}), 1u);
  EXPECT_EQ(kv.count_hits(std::vector<std::uint64_t>{200, 201}), 2u);
  ASSERT_TRUE(kv.allocate(1, fresh));
  EXPECT_EQ(kv.count_hits(std::vector<std::uint64_t>{100}), 0u);
  EXPECT_EQ(kv.count_hits(std::vector<std::uint64_t>{200, 201}), 2u);
  EXPECT_EQ(kv.cached_blocks(), 2u);

  // Reusing a cached block refreshes nothing else: it leaves the free list while in use.
  std::vector<std::uint32_t> reuse;
  ASSERT_TRUE(kv.allocate_prompt(std::vector<std::uint64_t>{200, 201}, 2, 0, reuse, hits));
  EXPECT_EQ(hits, 2u);
  EXPECT_EQ(kv.free_blocks(), 0u);
  std::vector<std::uint32_t> none;
  EXPECT_FALSE(kv.allocate(1, none));
}

TEST(KvBlockManager, PromptAllocationIsAllOrNothing) {
  KvBlockManager kv(3, 16);
  std::uint32_t hits = 0;
  std::vector<std::uint32_t> a;
  ASSERT_TRUE(kv.allocate_prompt(std::vector<std::uint64_t>{7}, 1, 1, a, hits));
  kv.cache_block(a[0], 7);
  kv.release(a);
  std::vector<std::uint32_t> b;
  // One hit (a free cached block) plus three fresh would need four: refused, nothing taken.
  EXPECT_FALSE(kv.allocate_prompt(std::vector<std::uint64_t>{7}, 1, 3, b, hits));
  EXPECT_TRUE(b.empty());
  EXPECT_EQ(kv.free_blocks(), 3u);
  EXPECT_EQ(kv.count_hits(std::vector<std::uint64_t>{7}), 1u);
  EXPECT_TRUE(kv.allocate_prompt(std::vector<std::uint64_t>{7}, 1, 2, b, hits));
  EXPECT_EQ(hits, 1u);
  EXPECT_EQ(kv.free_blocks(), 0u);
}

}  // namespace
}  // namespace modelsim
