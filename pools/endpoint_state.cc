#include "pools/endpoint_state.h"

#include "pools/flow_control.h"

#include <xxhash.h>

#include <chrono>

namespace infergate::pools {

int64_t steady_now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::string endpoint_key(std::string_view address, uint16_t port) {
  std::string key;
  const bool v6 = address.find(':') != std::string_view::npos && !address.starts_with("[");
  if (v6) key.push_back('[');
  key.append(address);
  if (v6) key.push_back(']');
  key.push_back(':');
  key.append(std::to_string(port));
  return key;
}

EndpointState::EndpointState(std::string_view a, uint16_t p) : address(a), port(p), key_(endpoint_key(a, p)) {}

uint32_t EndpointState::next_id() {
  static std::atomic<uint32_t> next{1};
  return next.fetch_add(1, std::memory_order_relaxed);
}

uint64_t adapter_hash(std::string_view name) {
  const uint64_t h = XXH3_64bits(name.data(), name.size());
  return h ? h : 1;
}

namespace {

void publish(std::array<std::atomic<uint64_t>, EndpointState::kAdapterSlots>& slots,
             const std::vector<std::string>& names) {
  size_t i = 0;
  for (; i < slots.size() && i < names.size(); ++i) slots[i].store(adapter_hash(names[i]), std::memory_order_relaxed);
  for (; i < slots.size(); ++i) slots[i].store(0, std::memory_order_relaxed);
}

bool holds(const std::array<std::atomic<uint64_t>, EndpointState::kAdapterSlots>& slots, uint64_t hash) {
  for (const auto& s : slots) {
    const uint64_t v = s.load(std::memory_order_relaxed);
    if (v == hash) return true;
    if (v == 0) return false;  // filled from the front
  }
  return false;
}

}  // namespace

void EndpointState::publish_adapters(const std::vector<std::string>& running, const std::vector<std::string>& waiting,
                                     std::optional<uint32_t> max) {
  publish(running_adapters, running);
  publish(waiting_adapters, waiting);
  running_adapter_count.store(static_cast<uint32_t>(running.size()), std::memory_order_relaxed);
  max_loras.store(max ? static_cast<int32_t>(*max) : -1, std::memory_order_relaxed);
}

AdapterPresence EndpointState::adapter(uint64_t hash) const {
  if (holds(running_adapters, hash)) return AdapterPresence::Loaded;
  if (holds(waiting_adapters, hash)) return AdapterPresence::Waiting;
  return AdapterPresence::Absent;
}

bool EndpointState::adapter_slot_free() const {
  const int32_t max = max_loras.load(std::memory_order_relaxed);
  return max < 0 || running_adapter_count.load(std::memory_order_relaxed) < static_cast<uint32_t>(max);
}

std::shared_ptr<EndpointState> EndpointRegistry::get_or_create(
    std::string_view address, uint16_t port, std::string_view name,
    const std::map<std::string, std::string>& labels) {
  std::string key = endpoint_key(address, port);
  std::lock_guard lock(mu_);
  auto it = states_.find(key);
  if (it != states_.end() && it->second->name == name && it->second->labels == labels)
    return it->second;
  // New, or its description changed: descriptions are read lock-free by workers, so they are
  // never rewritten in place; the old object lives on in the snapshots that hold it.
  auto state = std::make_shared<EndpointState>(address, port);
  state->name = std::string(name);
  state->labels = labels;
  states_[key] = state;
  return state;
}

std::shared_ptr<EndpointState> EndpointRegistry::find(std::string_view address,
                                                      uint16_t port) const {
  std::lock_guard lock(mu_);
  auto it = states_.find(endpoint_key(address, port));
  return it == states_.end() ? nullptr : it->second;
}

std::shared_ptr<PrefixIndex> EndpointRegistry::prefix_index(const std::string& name, size_t capacity) {
  std::lock_guard lock(mu_);
  auto& index = prefix_indexes_[name];
  if (!index || index->capacity() != PrefixIndex::capacity_for(capacity)) index = std::make_shared<PrefixIndex>(capacity);
  return index;
}

std::shared_ptr<FlowQueue> EndpointRegistry::flow_queue(const std::string& name) {
  std::lock_guard lock(mu_);
  auto& slot = flow_queues_[name];
  if (!slot) slot = std::make_shared<FlowQueue>(name);
  return slot;
}

std::shared_ptr<FlowQueue> EndpointRegistry::find_flow_queue(const std::string& name) const {
  std::lock_guard lock(mu_);
  auto it = flow_queues_.find(name);
  return it == flow_queues_.end() ? nullptr : it->second;
}

std::shared_ptr<ClusterLoad> EndpointRegistry::cluster_load(const std::string& name) {
  std::lock_guard lock(mu_);
  auto& slot = loads_[name];
  if (!slot) slot = std::make_shared<ClusterLoad>();
  return slot;
}

size_t EndpointRegistry::prune() {
  std::lock_guard lock(mu_);
  std::erase_if(loads_, [](const auto& kv) { return kv.second.use_count() == 1; });
  std::erase_if(flow_queues_, [](const auto& kv) { return kv.second.use_count() == 1; });
  return std::erase_if(states_, [](const auto& kv) { return kv.second.use_count() == 1; });
}

size_t EndpointRegistry::size() const {
  std::lock_guard lock(mu_);
  return states_.size();
}

}  // namespace infergate::pools
