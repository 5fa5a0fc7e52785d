// Prefix-cache affinity's index: chained block hashes and the lock-free, fixed-size record of
// which blocks went to which endpoint.
#include <gtest/gtest.h>

#include <unistd.h>

#include <array>
#include <fstream>
#include <string>
#include <vector>

#include "pools/prefix_index.h"

namespace infergate::pools {
namespace {

std::vector<uint64_t> hashes(std::string_view model, std::string_view prompt, uint32_t block = 8, size_t max = 64) {
  std::vector<uint64_t> out(max);
  out.resize(prefix_block_hashes(model, prompt, block, out));
  return out;
}

TEST(PrefixHashes, ChainedSoEqualHashesMeanEqualPrefixes) {
  const auto a = hashes("m", "0123456789abcdefXXXXXXXX");  // three blocks of 8
  const auto b = hashes("m", "0123456789abcdefYYYYYYYY");
  ASSERT_EQ(a.size(), 3u);
  ASSERT_EQ(b.size(), 3u);
  EXPECT_EQ(a[0], b[0]);
  EXPECT_EQ(a[1], b[1]);
  EXPECT_NE(a[2], b[2]);
  // The same block after a different prefix is a different hash.
  const auto c = hashes("m", "ZZZZZZZZ89abcdef");
  EXPECT_NE(c[1], a[1]);
  // Another model never shares a prefix.
  EXPECT_NE(hashes("other", "0123456789abcdef")[0], a[0]);
  // Only whole blocks (a server caches only full KV blocks); at most out.size() of them.
  EXPECT_EQ(hashes("m", "0123456789").size(), 1u);
  EXPECT_TRUE(hashes("m", "0123").empty());
  EXPECT_EQ(hashes("m", std::string(1000, 'x'), 8, 16).size(), 16u);
  EXPECT_TRUE(hashes("m", "").empty());
}

TEST(PrefixIndex, MatchesTheLeadingBlocksRecordedPerEndpoint) {
  PrefixIndex index(4096);
  const auto sent = hashes("m", std::string(80, 'a') + std::string(80, 'b'));  // 20 blocks
  index.record(sent, 7);
  const auto asked = hashes("m", std::string(80, 'a') + std::string(80, 'c'));  // first 10 shared
  const std::array<uint32_t, 3> ids{3, 7, 9};
  std::array<uint32_t, 3> out{};
  index.match(asked, ids, out);
  EXPECT_EQ(out[0], 0u);
  EXPECT_EQ(out[1], 10u);
  EXPECT_EQ(out[2], 0u);
  index.match(sent, ids, out);
  EXPECT_EQ(out[1], 20u);
}

TEST(PrefixIndex, AMatchIsContiguousFromTheFirstBlock) {
  PrefixIndex index(4096);
  const auto h = hashes("m", std::string(32, 'q'));  // 4 blocks
  index.record(std::span(h).subspan(1), 5);            // everything but the first
  const std::array<uint32_t, 1> ids{5};
  std::array<uint32_t, 1> out{};
  index.match(h, ids, out);
  EXPECT_EQ(out[0], 0u);
}

TEST(PrefixIndex, SeveralEndpointsCanHoldOnePrefix) {
  PrefixIndex index(4096);
  const auto h = hashes("m", std::string(64, 'p'));
  index.record(h, 1);
  index.record(std::span(h).first(4), 2);
  const std::array<uint32_t, 2> ids{1, 2};
  std::array<uint32_t, 2> out{};
  index.match(h, ids, out);
  EXPECT_EQ(out[0], h.size());
  EXPECT_EQ(out[1], 4u);
}

TEST(PrefixIndex, MemoryIsFixedAndTheLeastRecentlyRecordedGoFirst) {
  PrefixIndex index(8);  // one bucket of eight entries
  EXPECT_EQ(index.capacity(), 8u);
  std::vector<std::vector<uint64_t>> prompts;
  for (int i = 0; i < 40; ++i) {
    prompts.push_back(hashes("m", "prompt-" + std::to_string(i + 10), 9));  // one block each
    index.record(prompts.back(), 1);
    // Each record ages the others; re-recording prompt 0 keeps it young.
    for (int k = 0; k < 16; ++k) index.record(prompts[0], 1);
  }
  const std::array<uint32_t, 1> ids{1};
  std::array<uint32_t, 1> out{};
  index.match(prompts[0], ids, out);
  EXPECT_EQ(out[0], 1u) << "the prompt recorded most often was evicted";
  index.match(prompts[39], ids, out);
  EXPECT_EQ(out[0], 1u) << "the newest prompt was evicted";
  int kept = 0;
  for (const auto& p : prompts) {
    index.match(p, ids, out);
    kept += static_cast<int>(out[0]);
  }
  EXPECT_LE(kept, 8);
}

// Resident pages of this process, from /proc/self/statm.
long resident_pages() {
  std::ifstream statm("/proc/self/statm");
  long size = 0, resident = 0;
  statm >> size >> resident;
  return resident;
}

TEST(PrefixIndex, SizeIsBoundedAndPaidForOnlyAsItFills) {
  // blocksPerServer 31,250 x 5,000 endpoints: 1.25 GB if allocated up front.
  PrefixIndex index(size_t{31250} * 5000);
  EXPECT_EQ(index.capacity(), PrefixIndex::kMaxEntries);
  EXPECT_EQ(PrefixIndex::capacity_for(size_t{31250} * 5000), PrefixIndex::kMaxEntries);
  EXPECT_EQ(PrefixIndex::capacity_for(9), 16u);  // whole buckets
  const long before = resident_pages();
  PrefixIndex big(PrefixIndex::kMaxEntries);
  // Reads of untouched buckets find nothing and need no memory either.
  const auto prompt = hashes("m", std::string(64 * 8, 'x'));
  const std::array<uint32_t, 1> ids{3};
  std::array<uint32_t, 1> out{};
  big.match(prompt, ids, out);
  EXPECT_EQ(out[0], 0u);
  // 2 MiB of slack for the test's own allocations; the table alone is 32 MiB.
  EXPECT_LE((resident_pages() - before) * sysconf(_SC_PAGESIZE), 2 << 20) << "the table was touched at creation";
  big.record(prompt, 3);
  big.match(prompt, ids, out);
  EXPECT_EQ(out[0], prompt.size());
}

}  // namespace
}  // namespace infergate::pools
