// What one InferencePool pick costs: hashing an 8k-token prompt into prefix blocks, looking
// them up in the prefix index, scoring every endpoint (infergate's profile: in-flight, KV
// cache, prefix, prefill, LoRA; pools/scoring_profile.h) and recording the blocks for the
// chosen one, at 8, 64 and 256 endpoints. The index holds the prompts of earlier requests
// (500 conversations spread over the endpoints), the endpoints carry scraped signals and
// adapters, and half the prompts share a system prompt with earlier ones, as the
// shared-prefix workload does.
//
//   build/picker_bench [--benchmark_filter=Pick/64]
#include <benchmark/benchmark.h>

#include <memory>
#include <random>
#include <string>
#include <vector>

#include "pools/cluster.h"
#include "pools/endpoint_picker.h"
#include "pools/prefix_index.h"

namespace {

namespace pools = infergate::pools;
namespace config = infergate::config;

constexpr size_t kPromptBytes = 8192 * 4;  // ~8k tokens at ~4 bytes per token

std::string prompt(uint32_t conversation, uint32_t question) {
  std::string p = "{\"role\":\"system\",\"content\":\"conversation " + std::to_string(conversation) + " ";
  while (p.size() < kPromptBytes - 64) p += "lorem ipsum dolor sit amet ";
  p += "question " + std::to_string(question);
  return p;
}

struct Pool {
  pools::EndpointRegistry registry;
  std::vector<std::shared_ptr<pools::EndpointState>> endpoints;
  std::unique_ptr<pools::EndpointPicker> picker;
  std::vector<std::string> prompts;

  explicit Pool(size_t n) {
    std::mt19937_64 rng(42);
    for (size_t i = 0; i < n; ++i) {
      auto ep = registry.get_or_create("10.0." + std::to_string(i / 250) + "." + std::to_string(i % 250 + 1), 8000);
      ep->queue_size = static_cast<double>(rng() % 4);
      ep->running_requests = static_cast<double>(rng() % 64);
      ep->kv_cache_usage = static_cast<double>(rng() % 70) / 100.0;
      ep->scraped_at_ms = pools::steady_now_ms() + 3'600'000;  // fresh for the whole run
      ep->publish_adapters({"adapter-" + std::to_string(i % 20), "adapter-" + std::to_string((i + 7) % 20)}, {}, 4);
      endpoints.push_back(std::move(ep));
    }
    config::Config cfg;
    config::InferencePool pool;
    pool.meta.name = "bench";
    config::PickerSettings settings;
    auto index = std::make_shared<pools::PrefixIndex>(size_t{settings.prefix_blocks_per_server} * n);
    picker = std::make_unique<pools::EndpointPicker>(settings, cfg, pool, index);
    for (uint32_t c = 0; c < 500; ++c) prompts.push_back(prompt(c, 0));
    for (const std::string& p : prompts) pick(p, rng());  // warm the index
  }

  pools::PickResult pick(const std::string& text, uint64_t draw) {
    std::array<uint64_t, 256> hashes;
    pools::PickRequest rq;
    rq.prefix = std::span(hashes.data(), pools::prefix_block_hashes("llama", text, 64, hashes));
    rq.adapter = pools::adapter_hash("adapter-3");
    rq.draw = draw;
    return picker->pick(endpoints, rq, pools::steady_now_ms());
  }
};

void BM_Pick(benchmark::State& state) {
  Pool pool(static_cast<size_t>(state.range(0)));
  // Half the requests continue an earlier conversation (its prefix is in the index).
  std::vector<std::string> asks;
  for (uint32_t i = 0; i < 64; ++i) asks.push_back(prompt(i % 2 ? i : 1000 + i, i + 1));
  uint64_t i = 0;
  for (auto _ : state) {
    pools::PickResult r = pool.pick(asks[i % asks.size()], i);
    benchmark::DoNotOptimize(r);
    ++i;
  }
}
BENCHMARK(BM_Pick)->Arg(8)->Arg(64)->Arg(256)->Unit(benchmark::kMicrosecond);

// The prefix hashing alone (256 blocks of 64 bytes of an 8k-token prompt).
void BM_HashPrompt(benchmark::State& state) {
  const std::string text = prompt(1, 1);
  std::array<uint64_t, 256> hashes;
  for (auto _ : state) benchmark::DoNotOptimize(pools::prefix_block_hashes("llama", text, 64, hashes));
}
BENCHMARK(BM_HashPrompt)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
