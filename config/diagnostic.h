#pragma once
// A precise, human-readable complaint about one place in the operator's YAML.
// Every error and warning the loader (and later the route/pool builders) emits is one of
// these, so a rejected reload can point at the exact file, document and field.

#include <string>

namespace infergate::config {

struct Diagnostic {
  std::string file;      // as given to the loader ("gateway.yaml", "/etc/infergate/a.yaml")
  int document = 0;      // 1-based index of the YAML document in `file`; 0 = not tied to one
  std::string resource;  // "HTTPRoute/llm-route"; empty when not tied to a resource
  std::string path;      // "spec.rules[0].backendRefs[1].weight"; empty = the whole resource
  int line = 0;          // 1-based; 0 = unknown
  std::string message;

  // "gateway.yaml:37: document 6 (HTTPRoute/llm-route): spec.rules[0].backendRefs[1].weight:
  //  must be between 0 and 1000000" — parts that are unknown are left out.
  std::string to_string() const;
};

}  // namespace infergate::config
