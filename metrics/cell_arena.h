#pragma once

// Storage for the cells of every series of one registry, internal to metrics/.
// Cells come in chunks of kChunkSlots per shard; a chunk is one allocation with
// shard s at offset s * kChunkSlots, so a handle reaches its shard's cell with one
// multiply-add and shards never share a cache line. Chunks are never moved or
// freed before the arena dies, which is what lets series be created while
// workers update cells of older ones. Not thread-safe: the registry's mutex
// guards allocate().

#include <cstddef>
#include <vector>

#include "metrics/handles.h"

namespace infergate::metrics::detail {

class CellArena {
 public:
  explicit CellArena(unsigned shards) : shards_(shards) {}
  ~CellArena();
  CellArena(const CellArena&) = delete;
  CellArena& operator=(const CellArena&) = delete;

  // slots consecutive zeroed cells (1..kChunkSlots) in every shard; returns shard
  // 0's first cell.
  Cell* allocate(std::size_t slots);

 private:
  unsigned shards_;
  std::vector<Cell*> chunks_;
  std::size_t used_in_last_ = kChunkSlots;
};

}  // namespace infergate::metrics::detail
