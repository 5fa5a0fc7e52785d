// Every VirtualService match condition, Envoy's way (routing/istio_match.h): one table row per
// condition and request. Each row's VirtualService is [the match under test -> "hit",
// everything else -> "miss"].
#include <gtest/gtest.h>

#include "istio_test_util.h"
#include "routing_test_util.h"

namespace infergate::routing {
namespace {

using namespace testing;

struct Case {
  std::string label;
  std::string match;  // one HTTPMatchRequest, YAML flow style
  std::string method = "GET";
  std::string path = "/";
  std::string authority = "llm.example.com";
  std::vector<std::pair<std::string, std::string>> headers = {};
  bool hit = true;
  std::string scheme = "http";
};

const Case kCases[] = {
    // uri
    {"exact", "{uri: {exact: /v1/models}}", "GET", "/v1/models"},
    {"exact ignores the query", "{uri: {exact: /v1/models}}", "GET", "/v1/models?x=1"},
    {"exact is exact", "{uri: {exact: /v1/models}}", "GET", "/v1/models/", "llm.example.com", {}, false},
    {"exact is case-sensitive", "{uri: {exact: /v1/models}}", "GET", "/V1/Models", "llm.example.com", {}, false},
    {"exact ignoreUriCase", "{uri: {exact: /v1/models}, ignoreUriCase: true}", "GET", "/V1/Models"},
    {"prefix", "{uri: {prefix: /v1}}", "GET", "/v1/chat"},
    {"prefix is a string prefix", "{uri: {prefix: /v1}}", "GET", "/v10"},
    {"prefix miss", "{uri: {prefix: /v1}}", "GET", "/v2/chat", "llm.example.com", {}, false},
    {"prefix ignoreUriCase", "{uri: {prefix: /v1/Chat}, ignoreUriCase: true}", "GET", "/V1/CHAT/x"},
    {"prefix not past the query", "{uri: {prefix: /v1/chat}}", "GET", "/v1?/chat", "llm.example.com", {}, false},
    {"regex is a full match", "{uri: {regex: \"/v[0-9]+/chat\"}}", "GET", "/v2/chat"},
    {"regex partial is no match", "{uri: {regex: \"/v[0-9]+\"}}", "GET", "/v2/chat", "llm.example.com", {}, false},
    {"regex ignores ignoreUriCase", "{uri: {regex: /abc}, ignoreUriCase: true}", "GET", "/ABC", "llm.example.com", {}, false},
    {"empty uri match is any", "{uri: {}}", "GET", "/anything"},
    // headers
    {"header exact", "{headers: {version: {exact: v1}}}", "GET", "/", "llm.example.com", {{"version", "v1"}}},
    {"header exact miss", "{headers: {version: {exact: v1}}}", "GET", "/", "llm.example.com", {{"version", "v2"}}, false},
    {"header absent", "{headers: {version: {exact: v1}}}", "GET", "/", "llm.example.com", {}, false},
    {"header name case", "{headers: {X-Version: {exact: v1}}}", "GET", "/", "llm.example.com", {{"x-VERSION", "v1"}}},
    {"header value case", "{headers: {version: {exact: v1}}}", "GET", "/", "llm.example.com", {{"version", "V1"}}, false},
    {"header prefix", "{headers: {x-model: {prefix: llama}}}", "GET", "/", "llm.example.com", {{"x-model", "llama-3-8b"}}},
    {"header regex", "{headers: {x-model: {regex: \"llama-[0-9]+-.*\"}}}", "GET", "/", "llm.example.com", {{"x-model", "llama-3-8b"}}},
    {"header regex full", "{headers: {x-model: {regex: llama}}}", "GET", "/", "llm.example.com", {{"x-model", "llama-3"}}, false},
    {"header present {}", "{headers: {x-debug: {}}}", "GET", "/", "llm.example.com", {{"x-debug", ""}}},
    {"header present regex *", "{headers: {x-debug: {regex: \"*\"}}}", "GET", "/", "llm.example.com", {{"x-debug", "1"}}},
    {"header present needs it", "{headers: {x-debug: {}}}", "GET", "/", "llm.example.com", {}, false},
    {"header values joined", "{headers: {x-tag: {exact: \"a,b\"}}}", "GET", "/", "llm.example.com", {{"x-tag", "a"}, {"x-tag", "b"}}},
    {"every header must match", "{headers: {a: {exact: \"1\"}, b: {exact: \"2\"}}}", "GET", "/", "llm.example.com", {{"a", "1"}}, false},
    // withoutHeaders
    {"without: absent passes", "{withoutHeaders: {x-canary: {exact: \"true\"}}}"},
    {"without: other value passes", "{withoutHeaders: {x-canary: {exact: \"true\"}}}", "GET", "/", "llm.example.com", {{"x-canary", "false"}}},
    {"without: value fails", "{withoutHeaders: {x-canary: {exact: \"true\"}}}", "GET", "/", "llm.example.com", {{"x-canary", "true"}}, false},
    {"without: missing is empty", "{withoutHeaders: {x-canary: {regex: \".*\"}}}", "GET", "/", "llm.example.com", {}, false},
    {"without present: absent passes", "{withoutHeaders: {x-debug: {}}}"},
    {"without present: present fails", "{withoutHeaders: {x-debug: {}}}", "GET", "/", "llm.example.com", {{"x-debug", "0"}}, false},
    // query parameters
    {"query exact", "{queryParams: {lora: {exact: sql}}}", "GET", "/v1?model=x&lora=sql"},
    {"query exact miss", "{queryParams: {lora: {exact: sql}}}", "GET", "/v1?lora=sql2", "llm.example.com", {}, false},
    {"query first occurrence", "{queryParams: {lora: {exact: sql}}}", "GET", "/v1?lora=a&lora=sql", "llm.example.com", {}, false},
    {"query name case-sensitive", "{queryParams: {lora: {exact: sql}}}", "GET", "/v1?LORA=sql", "llm.example.com", {}, false},
    {"query prefix", "{queryParams: {lora: {prefix: sq}}}", "GET", "/v1?lora=sql"},
    {"query regex", "{queryParams: {id: {regex: \"[0-9]+\"}}}", "GET", "/v1?id=123"},
    {"query regex miss", "{queryParams: {id: {regex: \"[0-9]+\"}}}", "GET", "/v1?id=12a", "llm.example.com", {}, false},
    {"query presence {}", "{queryParams: {debug: {}}}", "GET", "/v1?debug"},
    {"query exact empty is ?key", "{queryParams: {debug: {exact: \"\"}}}", "GET", "/v1?debug"},
    {"query absent", "{queryParams: {debug: {}}}", "GET", "/v1?other=1", "llm.example.com", {}, false},
    // method, authority, scheme
    {"method exact", "{method: {exact: POST}}", "POST", "/"},
    {"method miss", "{method: {exact: POST}}", "GET", "/", "llm.example.com", {}, false},
    {"method regex", "{method: {regex: \"GET|HEAD\"}}", "HEAD", "/"},
    {"authority exact", "{authority: {exact: llm.example.com}}"},
    {"authority keeps the port", "{authority: {exact: llm.example.com}}", "GET", "/", "llm.example.com:8080", {}, false},
    {"authority prefix", "{authority: {prefix: llm.}}", "GET", "/", "llm.example.com:8080"},
    {"authority regex", "{authority: {regex: \"[a-z]+[.]example[.]com(:[0-9]+)?\"}}", "GET", "/", "llm.example.com:8080"},
    {"scheme", "{scheme: {exact: https}}", "GET", "/", "llm.example.com", {}, true, "https"},
    {"scheme miss", "{scheme: {exact: https}}", "GET", "/", "llm.example.com", {}, false, "http"},
    // everything at once
    {"all conditions", "{uri: {prefix: /v1}, method: {exact: POST}, headers: {version: {exact: v2}}, "
                       "queryParams: {stream: {exact: \"true\"}}, withoutHeaders: {x-debug: {}}}",
     "POST", "/v1/chat?stream=true", "llm.example.com", {{"version", "v2"}}},
    {"all but one", "{uri: {prefix: /v1}, method: {exact: POST}, headers: {version: {exact: v2}}, "
                    "queryParams: {stream: {exact: \"true\"}}, withoutHeaders: {x-debug: {}}}",
     "POST", "/v1/chat?stream=true", "llm.example.com", {{"version", "v2"}, {"x-debug", "1"}}, false},
};

class IstioMatch : public ::testing::TestWithParam<Case> {};

TEST_P(IstioMatch, FollowsEnvoy) {
  const Case& k = GetParam();
  auto t = build_istio(virtual_service("vs", "  hosts: [\"*\"]\n  http:\n"
                                             "  - name: hit\n    match: [" + k.match + "]\n"
                                             "    route: [{destination: {host: llm}}]\n"
                                             "  - name: miss\n"
                                             "    route: [{destination: {host: llm}}]\n"));
  RequestHead head = request(k.method, k.path, k.authority);
  head.scheme = k.scheme;
  for (const auto& [n, v] : k.headers) head.headers.add(n, v);
  EXPECT_EQ(matched(*t, head, kGw), k.hit ? "default/vs/hit" : "default/vs/miss");
}

INSTANTIATE_TEST_SUITE_P(Table, IstioMatch, ::testing::ValuesIn(kCases),
                         [](const ::testing::TestParamInfo<Case>& info) {
                           std::string name;
                           for (char c : info.param.label)
                             name += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
                           return name;
                         });

}  // namespace
}  // namespace infergate::routing
