// The GPU slots for LoRA adapters (vLLM --max-loras): a request for an adapter that is not
// resident takes a free slot, or evicts the least recently used adapter no running request
// uses; when every slot serves running requests it waits. Placing an adapter is a "load"
// (counted; the engine charges --lora-load-ms to that step). Not thread-safe: the engine
// calls it under its own lock.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace modelsim {

class LoraSlots {
 public:
  enum class Result { kResident, kLoaded, kBusy };

  explicit LoraSlots(std::uint32_t max_slots);

  // One more running request for `name`; kBusy takes nothing.
  Result acquire(std::string_view name);
  // Whether acquire would succeed, without doing it.
  bool can_acquire(std::string_view name) const;
  // One running request less.
  void release(std::string_view name);
  // Drops an idle adapter from its slot (unload_lora_adapter); a busy one stays until evicted.
  void evict_if_idle(std::string_view name);

  bool resident(std::string_view name) const;
  std::vector<std::string> resident_names() const;  // least recently used first
  std::uint32_t max_slots() const { return max_slots_; }
  std::uint64_t loads() const { return loads_; }

 private:
  struct Slot {
    std::string name;
    std::uint32_t active = 0;
    std::uint64_t last_used = 0;
  };
  Slot* find(std::string_view name);
  const Slot* find(std::string_view name) const;

  std::uint32_t max_slots_;
  std::vector<Slot> slots_;
  std::uint64_t clock_ = 0;
  std::uint64_t loads_ = 0;
};

}  // namespace modelsim
