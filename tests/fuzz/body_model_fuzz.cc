// libFuzzer target for the body-model JSON scanner (routing/body_model.h), the reader that
// routes on a request body's top-level "model" while the body streams in. Checks:
//   - every split of the input into two pieces (128 evenly spaced ones past 128 bytes) gives the
//     same answer as the whole: state, model, every value range, the prompt's range;
//   - against nlohmann's parser: where both read the body as a complete object, they agree
//     on the model (the gateway must route on the model the server will see);
//   - a rewrite (BodyEdits::replace of every model value) reads back as the new model.
#include <cstdint>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "routing/body_model.h"

using infergate::routing::BodyEdits;
using infergate::routing::ModelFieldScanner;

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

ModelFieldScanner scan(std::string_view body, size_t split) {
  ModelFieldScanner s;
  s.feed(body.substr(0, split));
  s.feed(body.substr(split));
  s.finish();
  return s;
}

bool same(const ModelFieldScanner& a, const ModelFieldScanner& b) {
  if (a.state() != b.state() || a.found() != b.found() || a.model() != b.model()) return false;
  if (a.state() == ModelFieldScanner::State::Invalid) return true;
  return a.model_values() == b.model_values() && a.model_keys() == b.model_keys() &&
         a.prompt_found() == b.prompt_found() && (!a.prompt_found() || (a.prompt_begin() == b.prompt_begin() &&
                                                                        a.prompt_end() == b.prompt_end()));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  const ModelFieldScanner whole = scan(body, size);
  const size_t step = size <= 128 ? 1 : size / 127;  // every split of short inputs, 128 of long ones
  for (size_t i = 0; i < size; i += step) check(same(whole, scan(body, i)));
  // Byte by byte, the finest split of all.
  ModelFieldScanner bytes;
  for (size_t i = 0; i < size; ++i) bytes.feed(body.substr(i, 1));
  bytes.finish();
  check(same(whole, bytes));
  (void)infergate::routing::python_reads_as_utf16_or_32(body.substr(0, 8));

  if (whole.state() != ModelFieldScanner::State::Complete) return 0;
  if (whole.found()) {
    check(whole.value_begin() < whole.value_end() && whole.value_end() <= size);
    check(body[whole.value_begin()] == '"' && body[whole.value_end() - 1] == '"');
  }
  if (whole.prompt_found()) check(whole.prompt_begin() < whole.prompt_end() && whole.prompt_end() <= size);

  const auto j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_object()) {
    const auto it = j.find("model");
    const bool server_sees = it != j.end() && it->is_string() &&
                             it->get_ref<const std::string&>().size() <= ModelFieldScanner::kMaxModelBytes;
    if (whole.model_keys() <= 1) {
      check(whole.found() == server_sees);
      if (server_sees) check(whole.model() == it->get_ref<const std::string&>());
    }
  }

  // The gateway rewrites a model it found (the last "model" is a string).
  if (!whole.found()) return 0;
  std::string edited(body);
  BodyEdits edits;
  check(edits.replace(edited, whole.model_values(), infergate::routing::json_quote("rewritten")));
  check(edited.size() == size + static_cast<size_t>(edits.size_change()));
  const ModelFieldScanner again = scan(edited, edited.size());
  check(again.state() == ModelFieldScanner::State::Complete && again.found() && again.model() == "rewritten");
  return 0;
}
