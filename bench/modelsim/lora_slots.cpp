#include "bench/modelsim/lora_slots.hpp"

#include <algorithm>

namespace modelsim {

LoraSlots::LoraSlots(std::uint32_t max_slots) : max_slots_(std::max<std::uint32_t>(1, max_slots)) {}

LoraSlots::Slot* LoraSlots::find(std::string_view name) {
  for (Slot& s : slots_) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

const LoraSlots::Slot* LoraSlots::find(std::string_view name) const {
  return const_cast<LoraSlots*>(this)->find(name);
}

bool LoraSlots::can_acquire(std::string_view name) const {
  if (find(name) || slots_.size() < max_slots_) return true;
  return std::any_of(slots_.begin(), slots_.end(), [](const Slot& s) { return s.active == 0; });
}

LoraSlots::Result LoraSlots::acquire(std::string_view name) {
  if (Slot* s = find(name)) {
    ++s->active;
    s->last_used = ++clock_;
    return Result::kResident;
  }
  if (slots_.size() >= max_slots_) {
    auto victim = slots_.end();
    for (auto it = slots_.begin(); it != slots_.end(); ++it) {
      if (it->active == 0 && (victim == slots_.end() || it->last_used < victim->last_used)) victim = it;
    }
    if (victim == slots_.end()) return Result::kBusy;
    slots_.erase(victim);
  }
  slots_.push_back(Slot{std::string(name), 1, ++clock_});
  ++loads_;
  return Result::kLoaded;
}

void LoraSlots::release(std::string_view name) {
  if (Slot* s = find(name); s && s->active > 0) {
    --s->active;
    s->last_used = ++clock_;
  }
}

void LoraSlots::evict_if_idle(std::string_view name) {
  auto it = std::find_if(slots_.begin(), slots_.end(), [&](const Slot& s) { return s.name == name; });
  if (it != slots_.end() && it->active == 0) slots_.erase(it);
}

bool LoraSlots::resident(std::string_view name) const { return find(name) != nullptr; }

std::vector<std::string> LoraSlots::resident_names() const {
  std::vector<const Slot*> order;
  for (const Slot& s : slots_) order.push_back(&s);
  std::sort(order.begin(), order.end(), [](const Slot* a, const Slot* b) { return a->last_used < b->last_used; });
  std::vector<std::string> names;
  for (const Slot* s : order) names.push_back(s->name);
  return names;
}

}  // namespace modelsim
