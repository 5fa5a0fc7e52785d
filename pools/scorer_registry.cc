// The registered scorers: one line each, in the order a listing shows them.
#include <array>

#include "pools/scorer.h"

namespace infergate::pools {

namespace scorers {  // each defined in its file under pools/scorers/
const Scorer& queue();
const Scorer& in_flight();
const Scorer& kv_cache();
const Scorer& prefix_cache();
const Scorer& lora();
const Scorer& prefill();
}  // namespace scorers

namespace {

constexpr std::array kTable = {
    &scorers::queue,
    &scorers::in_flight,
    &scorers::kv_cache,
    &scorers::prefix_cache,
    &scorers::lora,
    &scorers::prefill,
};

}  // namespace

std::span<const Scorer* const> registered_scorers() {
  static const auto all = [] {
    std::array<const Scorer*, kTable.size()> a{};
    for (size_t i = 0; i < kTable.size(); ++i) a[i] = &kTable[i]();
    return a;
  }();
  return all;
}

const Scorer* find_scorer(std::string_view name) {
  for (const Scorer* s : registered_scorers())
    if (s->name() == name) return s;
  return nullptr;
}

}  // namespace infergate::pools
