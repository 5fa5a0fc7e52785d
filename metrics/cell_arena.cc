#include "metrics/cell_arena.h"

#include <memory>
#include <new>
#include <stdexcept>

namespace infergate::metrics::detail {
namespace {

constexpr std::align_val_t kCacheLine{64};

}  // namespace

CellArena::~CellArena() {
  for (Cell* chunk : chunks_) {
    std::destroy_n(chunk, static_cast<std::size_t>(shards_) * kChunkSlots);
    ::operator delete(chunk, kCacheLine);
  }
}

Cell* CellArena::allocate(std::size_t slots) {
  if (slots == 0 || slots > kChunkSlots) throw std::invalid_argument("metrics: series needs too many cells");
  if (used_in_last_ + slots > kChunkSlots) {
    const std::size_t n = static_cast<std::size_t>(shards_) * kChunkSlots;
    auto* raw = static_cast<Cell*>(::operator new(n * sizeof(Cell), kCacheLine));
    std::uninitialized_value_construct_n(raw, n);
    chunks_.push_back(raw);
    used_in_last_ = 0;
  }
  Cell* cell0 = chunks_.back() + used_in_last_;
  used_in_last_ += slots;
  return cell0;
}

}  // namespace infergate::metrics::detail
