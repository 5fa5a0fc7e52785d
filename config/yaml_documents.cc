#include "config/yaml_documents.h"

#include <yaml-cpp/eventhandler.h>

#include <sstream>

namespace infergate::config::detail {

namespace {

// Watches the event stream only for the stall: every real document consumes at least one
// token, so two documents starting at the same offset mean the parser is stuck on one token.
class StallDetector : public YAML::EventHandler {
 public:
  void OnDocumentStart(const YAML::Mark& mark) override {
    if (started_ && mark.pos == last_start_.pos)
      throw YAML::ParserException(mark, "unexpected token at the start of a document");
    started_ = true;
    last_start_ = mark;
  }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}

 private:
  bool started_ = false;
  YAML::Mark last_start_ = YAML::Mark::null_mark();
};

}  // namespace

std::vector<YAML::Node> load_all_documents(const std::string& text) {
  // First pass over events only (cheap: no nodes), stopping at a stall; then the real load,
  // which sees the same tokens and therefore terminates too.
  {
    std::istringstream in(text);
    YAML::Parser parser(in);
    StallDetector detector;
    while (parser.HandleNextDocument(detector)) {
    }
  }
  return YAML::LoadAll(text);
}

}  // namespace infergate::config::detail
