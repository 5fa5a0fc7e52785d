// Hostile input: every failure is a diagnostic, never a crash, hang or exception.
#include <gtest/gtest.h>

#include <fstream>
#include <random>
#include <sstream>

#include "config/loader.h"
#include "test_util.h"

namespace infergate::config {
namespace {

void expect_handled(const std::string& text) {
  LoadResult r;
  ASSERT_NO_THROW(r = load_string(text, "fuzz.yaml")) << text;
  EXPECT_EQ(r.ok(), r.errors.empty() && r.config.has_value());
  for (const auto& d : r.errors) {
    EXPECT_FALSE(d.message.empty());
    EXPECT_EQ(d.file, "fuzz.yaml");
  }
}

// A frozen copy of the quickstart, so that every run mutates the same text.
std::string quickstart() {
  std::ifstream in(std::string(CONFIG_TEST_DATA_DIR) + "/quickstart_gateway.yaml");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(GarbageInput, EveryTruncationOfTheQuickstart) {
  const std::string text = quickstart();
  ASSERT_FALSE(text.empty());
  for (size_t n = 0; n <= text.size(); n += 7) expect_handled(text.substr(0, n));
}

TEST(GarbageInput, RandomByteFlipsOfTheQuickstart) {
  const std::string text = quickstart();
  std::mt19937 rng(12345);
  for (int i = 0; i < 300; ++i) {
    std::string t = text;
    for (int k = 0; k < 5; ++k) t[rng() % t.size()] = static_cast<char>(rng() % 256);
    expect_handled(t);
  }
}

TEST(GarbageInput, PathologicalDocuments) {
  expect_handled(std::string(100000, '['));
  expect_handled(std::string(5000, '{') + std::string(5000, '}'));
  std::string deep;
  for (int i = 0; i < 3000; ++i) deep += std::string(i % 80, ' ') + "- \n";
  expect_handled(deep);
  expect_handled("a: *undefined_alias\n");
  expect_handled("&a [*a]\n");
  expect_handled(std::string("kind: Service\0apiVersion: v1\n", 29));
  expect_handled("\t\tkind:\tService\n");
  expect_handled("apiVersion: v1\nkind: Service\nmetadata: {name: [1, 2]}\n");
  expect_handled("apiVersion: v1\nkind: Service\nmetadata:\n  name: s\nspec:\n  ports:\n  - port: -1\n");
  expect_handled("apiVersion: v1\nkind: Service\nmetadata:\n  name: s\nspec:\n  ports:\n  - {port: 99999999999999999999999}\n");
  expect_handled("? [complex, key]\n: value\n");
  expect_handled("apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: r}\n"
                 "spec: {rules: [[[]]], parentRefs: 3, hostnames: {a: b}}\n");
  expect_handled("--- !!binary |\n  R0lGODlhDAAMAIQAAP\n");
  expect_handled("%YAML 1.2\n---\napiVersion: v1\n...\n");
}

// yaml-cpp 0.7 never returns from LoadAll on these (a document starting with a token its
// parser does not consume); the loader must turn them into a syntax error.
TEST(GarbageInput, StrayFlowEntryIsASyntaxErrorNotAHang) {
  for (const char* text : {",", ",\n", "[a],", "&a ,", "!t ,", "a: 1\n...\n,",
                           "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\n,\n"}) {
    LoadResult r = load_string(text, "comma.yaml");
    ASSERT_FALSE(r.ok()) << text;
    ASSERT_EQ(r.errors.size(), 1u) << text;
    EXPECT_NE(r.errors[0].message.find("YAML syntax error"), std::string::npos)
        << r.errors[0].to_string();
  }
  LoadResult r = load_string("apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\n,\n",
                             "comma.yaml");
  EXPECT_EQ(r.errors[0].document, 2);
  EXPECT_EQ(r.errors[0].line, 5);
}

TEST(GarbageInput, RandomBytes) {
  std::mt19937 rng(777);
  for (int i = 0; i < 200; ++i) {
    std::string t(rng() % 400, '\0');
    for (auto& c : t) c = static_cast<char>(rng() % 128);
    expect_handled(t);
  }
}

}  // namespace
}  // namespace infergate::config
