#include "metrics/thread_shard.h"

namespace infergate::metrics {

namespace detail {
constinit thread_local unsigned t_shard = 0;
}

void set_thread_shard(unsigned shard) { detail::t_shard = shard; }
unsigned thread_shard() { return detail::t_shard; }

}  // namespace infergate::metrics
