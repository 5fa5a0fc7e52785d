// GatewayConfig spec.endpointPicker: the InferencePool picker's profile, scorer weights,
// saturation and prefix-cache settings, with per-pool overrides and precise errors.
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "config/loader.h"
#include "test_util.h"

namespace infergate::config {
namespace {

using testing::render;

const std::string kPools = R"(---
apiVersion: inference.networking.k8s.io/v1
kind: InferencePool
metadata: {name: llm}
spec:
  selector: {matchLabels: {app: llm}}
  targetPorts: [{number: 8000}]
---
apiVersion: inference.networking.k8s.io/v1
kind: InferencePool
metadata: {name: lora, namespace: team}
spec:
  selector: {matchLabels: {app: lora}}
  targetPorts: [{number: 8000}]
)";

LoadResult load(const std::string& picker) {
  return load_string("apiVersion: infergate.dev/v1alpha1\nkind: GatewayConfig\nmetadata: {name: gc}\nspec:\n" +
                         picker + kPools,
                     "gc.yaml");
}

TEST(EndpointPickerConfig, DefaultsAreTheInferenceExtensionsPlusLora) {
  LoadResult r = load("  workers: 1\n");
  ASSERT_TRUE(r.ok()) << render(r.errors);
  const PickerSettings& s = r.config->gateway.endpoint_picker.for_pool("default", "llm");
  EXPECT_EQ(s.profile, PickerProfile::Infergate);
  EXPECT_FALSE(s.weights);
  EXPECT_EQ(s.queue_threshold, 5u);
  EXPECT_DOUBLE_EQ(s.kv_cache_threshold, 0.8);
  EXPECT_EQ(s.prefix_block_bytes, 64u);
  EXPECT_EQ(s.prefix_max_blocks, 256u);
  EXPECT_EQ(s.prefix_blocks_per_server, 31250u);
}

TEST(EndpointPickerConfig, PoolEntriesRefineTheDefaults) {
  LoadResult r = load(R"(  endpointPicker:
    profile: inference-extension
    saturation: {queueSize: 8, kvCacheUsage: 0.9}
    prefixCache: {blockSize: 128, maxBlocks: 64, blocksPerServer: 1000}
    pools:
    - name: lora
      namespace: team
      profile: infergate
      scorers: {queue: 1, loraAffinity: 4}
)");
  ASSERT_TRUE(r.ok()) << render(r.errors);
  const EndpointPickerConfig& p = r.config->gateway.endpoint_picker;
  const PickerSettings& llm = p.for_pool("default", "llm");
  EXPECT_EQ(llm.profile, PickerProfile::InferenceExtension);
  EXPECT_EQ(llm.queue_threshold, 8u);
  EXPECT_DOUBLE_EQ(llm.kv_cache_threshold, 0.9);
  EXPECT_EQ(llm.prefix_block_bytes, 128u);
  const PickerSettings& lora = p.for_pool("team", "lora");
  EXPECT_EQ(lora.profile, PickerProfile::Infergate);
  EXPECT_EQ(lora.queue_threshold, 8u);  // inherited
  EXPECT_EQ(lora.prefix_max_blocks, 64u);
  ASSERT_TRUE(lora.weights);
  EXPECT_DOUBLE_EQ(lora.weights->queue, 1);
  EXPECT_DOUBLE_EQ(lora.weights->kv_cache, 2);  // not written: the default
  EXPECT_DOUBLE_EQ(lora.weights->prefix_cache, 3);
  EXPECT_DOUBLE_EQ(lora.weights->lora_affinity, 4);
}

TEST(EndpointPickerConfig, ExtProcConnectionSettingsWithPerPoolOverrides) {
  LoadResult r = load(R"(  endpointPicker:
    extProc:
      messageTimeout: 250ms
      tls: {caFile: /etc/epp/ca.crt, serverName: epp.default.svc}
      healthCheck: {interval: 2s}
      maxBodyMutationBytes: 2097152
    pools:
    - name: lora
      namespace: team
      extProc:
        tls: {insecureSkipVerify: true}
        subsetHint: false
        healthCheck: {enabled: false}
)");
  ASSERT_TRUE(r.ok()) << render(r.errors);
  const EndpointPickerConfig& p = r.config->gateway.endpoint_picker;
  const EppConnectionSettings& llm = p.for_pool("default", "llm").ext_proc;
  EXPECT_EQ(llm.message_timeout, std::chrono::milliseconds(250));
  EXPECT_TRUE(llm.tls);
  EXPECT_EQ(llm.ca_file, "/etc/epp/ca.crt");
  EXPECT_EQ(llm.server_name, "epp.default.svc");
  EXPECT_FALSE(llm.insecure_skip_verify);
  EXPECT_EQ(llm.health_interval, std::chrono::milliseconds(2000));
  EXPECT_EQ(llm.max_body_mutation_bytes, 2097152u);
  EXPECT_TRUE(llm.subset_hint);
  const EppConnectionSettings& lora = p.for_pool("team", "lora").ext_proc;
  EXPECT_EQ(lora.message_timeout, std::chrono::milliseconds(250));  // inherited
  EXPECT_TRUE(lora.tls);
  EXPECT_TRUE(lora.insecure_skip_verify);
  EXPECT_FALSE(lora.subset_hint);
  EXPECT_EQ(lora.health_interval.count(), 0);
  // The defaults: TLS without verification (GIE's EPP serves TLS with a self-signed
  // certificate), 1 s, health every 5 s.
  LoadResult d = load("  endpointPicker: {profile: infergate}\n");
  ASSERT_TRUE(d.ok()) << render(d.errors);
  const EppConnectionSettings& def = d.config->gateway.endpoint_picker.defaults.ext_proc;
  EXPECT_TRUE(def.tls);
  EXPECT_TRUE(def.insecure_skip_verify);
  EXPECT_EQ(def.message_timeout, std::chrono::milliseconds(1000));
  EXPECT_EQ(def.health_interval, std::chrono::milliseconds(5000));
}

TEST(EndpointPickerConfig, ProblemsNameTheirFieldPath) {
  struct Case {
    std::string yaml, expected;
  };
  const Case cases[] = {
      {"  endpointPicker: {profile: fastest}\n",
       "spec.endpointPicker.profile: \"fastest\" is not one of: infergate, inference-extension, least-request, "
       "round-robin"},
      {"  endpointPicker: {scorers: {queue: -1}}\n", "spec.endpointPicker.scorers.queue: must be a number from 0 to 1000"},
      {"  endpointPicker: {scorers: {latency: 1}}\n", "spec.endpointPicker.scorers.latency: unknown field"},
      {"  endpointPicker: {saturation: {kvCacheUsage: 2}}\n", "spec.endpointPicker.saturation.kvCacheUsage: must be a number"},
      {"  endpointPicker: {prefixCache: {blockSize: 1}}\n", "spec.endpointPicker.prefixCache.blockSize"},
      {"  endpointPicker: {pools: [{name: nope}]}\n",
       "spec.endpointPicker.pools[0].name: InferencePool \"default/nope\" is not defined"},
      {"  endpointPicker: {pools: [{name: llm}, {name: llm}]}\n", "spec.endpointPicker.pools[1]: InferencePool default/llm already has settings"},
      {"  endpointPicker: {extProc: {messageTimeout: 0s}}\n", "spec.endpointPicker.extProc.messageTimeout: must be more than 0"},
      {"  endpointPicker: {extProc: {tls: {certFile: /a.crt}}}\n", "spec.endpointPicker.extProc.tls: certFile and keyFile go together"},
      {"  endpointPicker: {extProc: {tls: {insecureSkipVerify: true, caFile: /ca}}}\n",
       "spec.endpointPicker.extProc.tls.caFile: caFile is not used with insecureSkipVerify"},
      {"  endpointPicker: {extProc: {healthCheck: {interval: 10ms}}}\n",
       "spec.endpointPicker.extProc.healthCheck.interval: must be at least 100ms"},
      {"  endpointPicker: {pools: [{name: llm, extProc: {retries: 1}}]}\n", "spec.endpointPicker.pools[0].extProc.retries: unknown field"},
  };
  for (const Case& c : cases) {
    LoadResult r = load(c.yaml);
    EXPECT_FALSE(r.ok()) << c.yaml;
    const std::string all = render(r.errors);
    EXPECT_NE(all.find(c.expected), std::string::npos) << "wanted " << c.expected << "\n" << all;
    EXPECT_NE(all.find("gc.yaml:"), std::string::npos) << all;
  }
}

}  // namespace
}  // namespace infergate::config
