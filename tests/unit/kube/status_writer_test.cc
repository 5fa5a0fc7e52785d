// The status writer (gateway/kube/status_writer.h) against the fake API server: nothing written
// when the status matches, one write per object for a burst of changes, 409 → GET → write again,
// failures retried with backoff, nothing written by a follower.
#include <gtest/gtest.h>

#include "gateway/kube/status_writer.h"
#include "tests/unit/kube/fake_api_client.h"

namespace infergate::gateway::kube {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using testing::FakeApiClient;

constexpr const char* kController = "infergate.dev/gateway-controller";
constexpr const char* kRoutePath = "/apis/gateway.networking.k8s.io/v1/namespaces/infer/httproutes/llm";

const ApiResource& routes() { return *find_resource("gateway.networking.k8s.io", "HTTPRoute"); }
config::ResourceKey route_key() { return {"gateway.networking.k8s.io", "HTTPRoute", "infer", "llm"}; }

json parent(const char* controller, const char* gateway, const char* status, const char* time) {
  return json{{"parentRef", {{"name", gateway}}},
              {"controllerName", controller},
              {"conditions",
               json::array({json{{"type", "Accepted"},
                                 {"status", status},
                                 {"reason", std::string(status) == "True" ? "Accepted" : "UnsupportedValue"},
                                 {"message", ""},
                                 {"observedGeneration", 1},
                                 {"lastTransitionTime", time}}})}};
}

config::DesiredStatuses desired(const char* accepted, const char* time = "2026-12-07T15:00:00Z") {
  config::DesiredStatuses d;
  d.controller_name = kController;
  d.gateways.emplace("infer", "gw");
  d.status[route_key()] = json{{"parents", json::array({parent(kController, "gw", accepted, time)})}};
  return d;
}

json route_object(json status = json()) {
  json o{{"apiVersion", "gateway.networking.k8s.io/v1"},
         {"kind", "HTTPRoute"},
         {"metadata", {{"name", "llm"}, {"namespace", "infer"}, {"generation", 1}}},
         {"spec", {{"parentRefs", json::array({json{{"name", "gw"}}})}}}};
  if (!status.is_null()) o["status"] = std::move(status);
  return o;
}

class StatusWriterTest : public ::testing::Test {
 protected:
  StatusWriterTest() {
    StatusWriterConfig c;
    c.coalesce = 10ms;
    c.backoff_initial = 60ms;
    c.backoff_max = 100ms;
    writer = std::make_unique<StatusWriter>(io, api, c);
  }
  // The object as the API server holds it, handed to the writer as an informer would.
  void seed(json object) {
    api.put_object(kRoutePath, std::move(object));
    writer->observe(routes(), api.objects.at(kRoutePath));
  }
  const json& stored_status() { return api.objects.at(kRoutePath)["status"]; }
  // An io_context that ran out of work stays stopped until restarted.
  void run(std::chrono::milliseconds d) {
    io.restart();
    io.run_for(d);
  }

  boost::asio::io_context io;
  FakeApiClient api{io};
  std::unique_ptr<StatusWriter> writer;
};

TEST_F(StatusWriterTest, NothingIsWrittenWhenTheStatusAlreadyMatches) {
  // Same status, another transition time: still the same.
  seed(route_object(json{{"parents", json::array({parent(kController, "gw", "True", "2026-01-01T00:00:00Z")})}}));
  writer->set_desired(desired("True"));
  writer->set_leading(true);
  run(50ms);
  EXPECT_EQ(api.count("PUT"), 0u);
  EXPECT_EQ(writer->pending(), 0u);
  EXPECT_EQ(writer->stats().writes, 0u);
}

TEST_F(StatusWriterTest, ABurstOfChangesIsOneWritePerObject) {
  seed(route_object());
  writer->set_leading(true);
  writer->set_desired(desired("False"));
  writer->set_desired(desired("True"));
  writer->observe(routes(), api.objects.at(kRoutePath));
  writer->set_desired(desired("True"));
  run(50ms);
  ASSERT_EQ(api.count("PUT", "/httproutes/llm/status"), 1u);
  EXPECT_EQ(stored_status()["parents"][0]["conditions"][0]["status"], "True");
  EXPECT_EQ(writer->stats().writes, 1u);
  EXPECT_EQ(writer->pending(), 0u);

  // The informer's echo of our own write, and the same desired again: nothing more.
  writer->observe(routes(), api.objects.at(kRoutePath));
  writer->set_desired(desired("True", "2026-12-07T16:00:00Z"));
  run(50ms);
  EXPECT_EQ(api.count("PUT"), 1u);

  // A real change: one more write; the transition time is the new one for the flipped condition.
  writer->set_desired(desired("False", "2026-12-07T17:00:00Z"));
  run(50ms);
  EXPECT_EQ(api.count("PUT"), 2u);
  EXPECT_EQ(stored_status()["parents"][0]["conditions"][0]["lastTransitionTime"], "2026-12-07T17:00:00Z");
}

TEST_F(StatusWriterTest, WriteCarriesTheResourceVersionItWasComputedFrom) {
  seed(route_object());
  const std::string version = api.objects.at(kRoutePath)["metadata"]["resourceVersion"];
  writer->set_desired(desired("True"));
  writer->set_leading(true);
  run(50ms);
  ASSERT_EQ(api.count("PUT"), 1u);
  EXPECT_EQ(json::parse(api.requests.back().body)["metadata"]["resourceVersion"], version);
}

TEST_F(StatusWriterTest, ConflictRereadsTheObjectAndWritesAgain) {
  seed(route_object());
  // Another controller writes its parent entry after our informer saw the object.
  json theirs = parent("example.com/other", "other-gw", "True", "2026-12-01T00:00:00Z");
  json changed = api.objects.at(kRoutePath);
  changed["status"] = json{{"parents", json::array({theirs})}};
  api.put_object(kRoutePath, changed);

  writer->set_desired(desired("True"));
  writer->set_leading(true);
  run(50ms);
  EXPECT_EQ(writer->stats().conflicts, 1u);
  EXPECT_EQ(writer->stats().writes, 1u);
  EXPECT_EQ(api.count("GET", "/httproutes/llm"), 1u);
  EXPECT_EQ(api.count("PUT"), 2u);
  const json& parents = stored_status()["parents"];
  ASSERT_EQ(parents.size(), 2u);
  EXPECT_EQ(parents[0], theirs) << "the other controller's entry is kept";
  EXPECT_EQ(parents[1]["controllerName"], kController);
}

TEST_F(StatusWriterTest, ConflictsAreBounded) {
  seed(route_object());
  api.before_answer = [&](const testing::RecordedRequest& r) {  // someone always writes first
    if (r.method == "PUT") api.put_object(kRoutePath, api.objects.at(kRoutePath));
  };
  writer->set_desired(desired("True"));
  writer->set_leading(true);
  run(20ms);
  EXPECT_EQ(writer->stats().conflicts, 6u) << "the first write and 5 retries";
  EXPECT_EQ(writer->stats().writes, 0u);
  EXPECT_EQ(writer->pending(), 1u) << "waiting in backoff";
  api.before_answer = nullptr;
  run(100ms);
  EXPECT_EQ(writer->stats().writes, 1u);
}

TEST_F(StatusWriterTest, FailuresAreRetriedWithBackoff) {
  seed(route_object());
  api.scripted_statuses = {500, 503};
  writer->set_desired(desired("True"));
  writer->set_leading(true);
  run(40ms);
  EXPECT_EQ(writer->stats().failures, 1u);
  EXPECT_EQ(api.count("PUT"), 1u) << "the next try waits for the backoff";
  run(200ms);
  EXPECT_EQ(writer->stats().failures, 2u);
  EXPECT_EQ(writer->stats().writes, 1u);
  EXPECT_EQ(api.count("PUT"), 3u);
  EXPECT_EQ(writer->pending(), 0u);
}

TEST_F(StatusWriterTest, AFollowerWritesNothingUntilItLeads) {
  seed(route_object());
  writer->set_desired(desired("True"));
  run(50ms);
  EXPECT_EQ(api.requests.size(), 0u) << "a follower sends no request at all";
  EXPECT_EQ(writer->pending(), 1u);
  writer->set_leading(true);
  run(50ms);
  EXPECT_EQ(api.count("PUT"), 1u);
  writer->set_leading(false);
  writer->set_desired(desired("False"));
  run(50ms);
  EXPECT_EQ(api.count("PUT"), 1u);
}

TEST_F(StatusWriterTest, OurStaleEntryIsRemovedWhenTheRouteIsNoLongerOurs) {
  json theirs = parent("example.com/other", "other-gw", "True", "2026-12-01T00:00:00Z");
  seed(route_object(json{{"parents", json::array({theirs, parent(kController, "gw", "True", "t")})}}));
  config::DesiredStatuses none;
  none.controller_name = kController;
  writer->set_desired(none);
  writer->set_leading(true);
  run(50ms);
  ASSERT_EQ(api.count("PUT"), 1u);
  EXPECT_EQ(stored_status()["parents"], json::array({theirs}));
}

TEST_F(StatusWriterTest, ObjectsOfOtherControllersAreNeverWritten) {
  seed(route_object(json{{"parents", json::array({parent("example.com/other", "other-gw", "True", "t")})}}));
  config::DesiredStatuses none;
  none.controller_name = kController;
  writer->set_desired(none);
  writer->set_leading(true);
  run(50ms);
  EXPECT_EQ(api.count("PUT"), 0u);
}

TEST_F(StatusWriterTest, AGoneObjectIsForgotten) {
  seed(route_object());
  api.objects.clear();  // deleted; the informer has not said so yet
  writer->set_desired(desired("True"));
  writer->set_leading(true);
  run(50ms);
  EXPECT_EQ(api.count("PUT"), 1u);
  EXPECT_EQ(writer->pending(), 0u);
  EXPECT_EQ(writer->stats().failures, 0u);
}

}  // namespace
}  // namespace infergate::gateway::kube
