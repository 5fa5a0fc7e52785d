// How full the simulated KV cache is. The scheduler reports each request's start and end; a
// model answers usage. The paged model with prefix reuse (pools work) replaces the token-count
// one behind this interface without touching the scheduler or the metrics.
#pragma once

#include <cstdint>
#include <string_view>

namespace modelsim {

struct KvRequest {
  std::string_view prompt_text;  // valid only during the call
  std::uint32_t prompt_tokens = 0;
  std::uint32_t output_tokens = 0;
};

class KvCacheModel {
 public:
  virtual ~KvCacheModel() = default;
  // Called under the scheduler's lock, in admission and release order.
  virtual void on_admit(const KvRequest& request) = 0;
  virtual void on_release(const KvRequest& request) = 0;
  virtual double usage() const = 0;  // 0..1
};

// Reserves prompt + output tokens per running request against a fixed token capacity.
class TokenCountKvModel final : public KvCacheModel {
 public:
  static constexpr std::uint64_t kDefaultCapacityTokens = 262144;  // 16384 blocks of 16

  explicit TokenCountKvModel(std::uint64_t capacity_tokens = kDefaultCapacityTokens);
  void on_admit(const KvRequest& request) override;
  void on_release(const KvRequest& request) override;
  double usage() const override;

 private:
  std::uint64_t capacity_;
  std::uint64_t reserved_ = 0;
};

}  // namespace modelsim
