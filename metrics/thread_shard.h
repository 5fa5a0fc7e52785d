#pragma once

// Which metric shard the calling thread writes to. Every worker owns one shard so
// that hot-path updates touch only cache lines no other thread writes; the control
// (main) thread and any thread that never calls set_thread_shard use shard 0.

namespace infergate::metrics {

// Call once at the start of a worker thread, shard in 0..Registry::shards()-1.
// A thread whose shard is out of a registry's range writes to that registry's
// shard 0: still exact (cells are atomic), only contended.
void set_thread_shard(unsigned shard);
unsigned thread_shard();

namespace detail {
// Declared constinit so callers in other translation units read it directly,
// without the thread_local wrapper call, on the hot path.
extern constinit thread_local unsigned t_shard;
}  // namespace detail

}  // namespace infergate::metrics
