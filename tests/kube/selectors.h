// Label and field selectors as the API server parses them from ?labelSelector= and
// ?fieldSelector=.
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace infergate::testing::kube {

struct SelectorError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class Selector {
 public:
  // Labels: "a=b", "a==b", "a!=b", "a in (x,y)", "a notin (x,y)", "a", "!a", comma-separated.
  // Throws SelectorError on bad syntax.
  static Selector labels(const std::string& text);
  // Fields: "path=v", "path==v", "path!=v", comma-separated; the path is any dotted path into
  // the object whose value is a string (metadata.name, metadata.namespace, status.phase).
  static Selector fields(const std::string& text);

  bool matches(const nlohmann::json& object) const;
  bool empty() const { return reqs_.empty(); }

 private:
  enum class Op { kEq, kNe, kIn, kNotIn, kExists, kNotExists };
  struct Req {
    std::string key;
    Op op;
    std::vector<std::string> values;
  };
  bool fields_ = false;
  std::vector<Req> reqs_;
};

}  // namespace infergate::testing::kube
