// GatewayConfig spec.pathNormalization: Istio's defaults, every value in Istio's and Envoy's
// spelling, and each mistake reported with file, line, document and field path.
#include <gtest/gtest.h>

#include <string>

#include "config/loader.h"
#include "test_util.h"

namespace infergate::config {
namespace {

using testing::has_diagnostic;
using testing::line_of;
using testing::render;

const std::string& kHead = testing::kGatewayConfigHead;

LoadResult load(const std::string& spec) { return testing::load_gateway_spec(spec); }

TEST(PathNormalizationConfig, AbsentIsIstiosDefaultBaseKeepingEscapedSlashes) {
  LoadResult r = load("  workers: 1\n");
  ASSERT_TRUE(r.ok()) << render(r.errors);
  EXPECT_EQ(r.config->gateway.path_normalization.normalization, PathNormalizationMode::Base);
  EXPECT_EQ(r.config->gateway.path_normalization.escaped_slashes, EscapedSlashesAction::KeepUnchanged);
  // An empty mapping too.
  r = load("  pathNormalization: {}\n");
  ASSERT_TRUE(r.ok()) << render(r.errors);
  EXPECT_EQ(r.config->gateway.path_normalization.normalization, PathNormalizationMode::Base);
}

TEST(PathNormalizationConfig, EveryNormalization) {
  const std::pair<const char*, PathNormalizationMode> cases[] = {
      {"DEFAULT", PathNormalizationMode::Base},
      {"NONE", PathNormalizationMode::None},
      {"BASE", PathNormalizationMode::Base},
      {"MERGE_SLASHES", PathNormalizationMode::MergeSlashes},
      {"DECODE_AND_MERGE_SLASHES", PathNormalizationMode::DecodeAndMergeSlashes},
  };
  for (const auto& [name, mode] : cases) {
    LoadResult r = load(std::string("  pathNormalization: {normalization: ") + name + "}\n");
    ASSERT_TRUE(r.ok()) << name << ": " << render(r.errors);
    EXPECT_EQ(r.config->gateway.path_normalization.normalization, mode) << name;
    // DECODE_AND_MERGE_SLASHES is Istio's MERGE_SLASHES plus Envoy's UNESCAPE_AND_FORWARD.
    EXPECT_EQ(r.config->gateway.path_normalization.escaped_slashes,
              mode == PathNormalizationMode::DecodeAndMergeSlashes ? EscapedSlashesAction::UnescapeAndForward
                                                                   : EscapedSlashesAction::KeepUnchanged)
        << name;
  }
}

TEST(PathNormalizationConfig, EveryEscapedSlashAction) {
  const std::pair<const char*, EscapedSlashesAction> cases[] = {
      {"IMPLEMENTATION_SPECIFIC_DEFAULT", EscapedSlashesAction::KeepUnchanged},
      {"KEEP_UNCHANGED", EscapedSlashesAction::KeepUnchanged},
      {"REJECT_REQUEST", EscapedSlashesAction::RejectRequest},
      {"UNESCAPE_AND_REDIRECT", EscapedSlashesAction::UnescapeAndRedirect},
      {"UNESCAPE_AND_FORWARD", EscapedSlashesAction::UnescapeAndForward},
  };
  for (const auto& [name, action] : cases) {
    LoadResult r = load(std::string("  pathNormalization:\n    normalization: MERGE_SLASHES\n"
                                    "    pathWithEscapedSlashes: ") + name + "\n");
    ASSERT_TRUE(r.ok()) << name << ": " << render(r.errors);
    EXPECT_EQ(r.config->gateway.path_normalization.normalization, PathNormalizationMode::MergeSlashes);
    EXPECT_EQ(r.config->gateway.path_normalization.escaped_slashes, action) << name;
  }
  LoadResult r = load("  pathNormalization: {normalization: DECODE_AND_MERGE_SLASHES, "
                      "pathWithEscapedSlashes: IMPLEMENTATION_SPECIFIC_DEFAULT}\n");
  ASSERT_TRUE(r.ok()) << render(r.errors);
  EXPECT_EQ(r.config->gateway.path_normalization.escaped_slashes, EscapedSlashesAction::UnescapeAndForward);
}

TEST(PathNormalizationConfig, MistakesNameTheFieldAndLine) {
  struct Case {
    std::string spec, needle, expected;
  };
  const Case cases[] = {
      {"  pathNormalization:\n    normalization: base\n", "normalization: base",
       "spec.pathNormalization.normalization: \"base\" is not one of: DEFAULT, NONE, BASE, MERGE_SLASHES, "
       "DECODE_AND_MERGE_SLASHES"},
      {"  pathNormalization:\n    pathWithEscapedSlashes: REJECT\n", "pathWithEscapedSlashes: REJECT",
       "spec.pathNormalization.pathWithEscapedSlashes: \"REJECT\" is not one of: IMPLEMENTATION_SPECIFIC_DEFAULT, "
       "KEEP_UNCHANGED, REJECT_REQUEST, UNESCAPE_AND_REDIRECT, UNESCAPE_AND_FORWARD"},
      {"  pathNormalization:\n    normalization: DECODE_AND_MERGE_SLASHES\n    pathWithEscapedSlashes: "
       "REJECT_REQUEST\n",
       "pathWithEscapedSlashes: REJECT_REQUEST",
       "spec.pathNormalization.pathWithEscapedSlashes: \"REJECT_REQUEST\" contradicts normalization "
       "DECODE_AND_MERGE_SLASHES, which decodes %2F and %5C and forwards (use MERGE_SLASHES with this action, or "
       "UNESCAPE_AND_FORWARD)"},
      {"  pathNormalization:\n    mergeSlashes: true\n", "mergeSlashes: true",
       "spec.pathNormalization.mergeSlashes: unknown field \"mergeSlashes\" (known: normalization, "
       "pathWithEscapedSlashes)"},
      {"  pathNormalization: BASE\n", "pathNormalization: BASE", ""},
  };
  for (const Case& c : cases) {
    LoadResult r = load(c.spec);
    ASSERT_FALSE(r.ok()) << c.spec;
    if (c.expected.empty()) continue;  // only that it is refused: the mapping check words it
    const int line = line_of(kHead + c.spec, c.needle);
    EXPECT_TRUE(has_diagnostic(r.errors, "gc.yaml:" + std::to_string(line) + ": document 1 (GatewayConfig/gc): " +
                                             c.expected))
        << render(r.errors);
  }
}

}  // namespace
}  // namespace infergate::config
