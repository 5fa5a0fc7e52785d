// DNS discovery of static endpoints, as Envoy's STRICT_DNS: a real DNS server (dnsmasq,
// answering from a hosts file it re-reads on SIGHUP) names 3, then 5, then 2 model servers
// (modelsim on 127.0.0.2..6, one port) while a steady load runs. The gateway must follow each
// change within its refresh rate without failing a request, send nothing to a removed
// address, and keep the last addresses serving when the DNS server goes away.
#include <unistd.h>

#include <csignal>
#include <set>

#include "tests/e2e/canary_util.h"
#include "tests/e2e/paced_load.h"

namespace infergate::e2e {
namespace {

constexpr const char* kHost = "models.dns.test";

std::string dnsmasq_path() {
  std::string p = INFERGATE_E2E_DNSMASQ;
  return p.find("NOTFOUND") == std::string::npos ? p : "";
}

// dnsmasq on 127.0.0.1:port answering only from `hosts` (no upstream, no /etc/hosts).
class Dnsmasq {
 public:
  Dnsmasq(const std::string& path, const TempDir& dir, const std::vector<std::string>& addresses)
      : hosts_(dir.file("hosts")), port_(free_port()) {
    write(addresses);
    // As root dnsmasq would switch to "nobody", who cannot read the test's private directory
    // again on SIGHUP: it stays root then (a non-root dnsmasq keeps its user anyway).
    // --local: names of the test domain that are not in the file are NXDOMAIN, not REFUSED.
    std::vector<std::string> argv = {path, "--keep-in-foreground", "--port=" + std::to_string(port_),
                                     "--listen-address=127.0.0.1", "--bind-interfaces", "--no-resolv", "--no-hosts",
                                     "--no-negcache", "--local=/dns.test/", "--addn-hosts=" + hosts_,
                                     "--log-facility=-", "--pid-file="};
    if (getuid() == 0) argv.push_back("--user=root");
    process_ = std::make_unique<Process>(argv);
    if (!process_->wait_err("started", scaled(5000)) && !process_->wait_out("started", milliseconds(100)))
      throw std::runtime_error("dnsmasq did not start: " + process_->describe());
  }
  // Replaces the name's A records and makes dnsmasq read them.
  void set(const std::vector<std::string>& addresses) {
    write(addresses);
    const size_t from = process_->err().size();
    process_->signal(SIGHUP);
    if (!process_->wait_err("read " + hosts_, scaled(3000), from))
      ADD_FAILURE() << "dnsmasq did not re-read its hosts file: " << process_->describe();
  }
  uint16_t port() const { return port_; }
  Process& process() { return *process_; }

 private:
  void write(const std::vector<std::string>& addresses) {
    std::string text;
    for (const auto& a : addresses) text += a + " " + kHost + "\n";
    const std::string tmp = hosts_ + ".tmp";
    std::ofstream(tmp) << text;
    std::rename(tmp.c_str(), hosts_.c_str());
  }
  std::string hosts_;
  uint16_t port_;
  std::unique_ptr<Process> process_;
};

// The pool cluster's endpoint addresses (host part) from /clusters?format=json.
std::set<std::string> served_addresses(Gateway& gw) {
  std::set<std::string> out;
  HttpResponse r = gw.admin("GET", "/clusters?format=json");
  auto j = nlohmann::json::parse(r.body, nullptr, false);
  if (!j.is_object()) return out;
  for (const auto& c : j["cluster_statuses"])
    for (const auto& h : c["host_statuses"]) {
      const std::string a = h["address"];
      out.insert(a.substr(0, a.rfind(':')));
    }
  return out;
}

// Polls until the cluster holds exactly `want`; returns how long that took (or nullopt).
std::optional<milliseconds> wait_addresses(Gateway& gw, const std::set<std::string>& want, milliseconds timeout) {
  const auto start = Clock::now();
  while (Clock::now() - start < timeout) {
    if (served_addresses(gw) == want) return std::chrono::duration_cast<milliseconds>(Clock::now() - start);
    std::this_thread::sleep_for(milliseconds(20));
  }
  return std::nullopt;
}

std::set<std::string> addrs(std::initializer_list<int> last) {
  std::set<std::string> out;
  for (int n : last) out.insert("127.0.0." + std::to_string(n));
  return out;
}

std::vector<std::string> list(std::initializer_list<int> last) {
  std::vector<std::string> out;
  for (int n : last) out.push_back("127.0.0." + std::to_string(n));
  return out;
}

struct DnsFixture {
  DnsFixture(const std::string& path, const std::vector<std::string>& first) : dns(path, dir, first) {
    port = free_port();
    for (int n = 2; n <= 6; ++n)
      sims.push_back(std::make_unique<Modelsim>(std::vector<std::string>{
          "--address", "127.0.0." + std::to_string(n), "--port", std::to_string(port), "--name", "sim" + std::to_string(n)}));
  }
  GatewaySetup setup() const {
    GatewaySetup s;
    s.workers = 2;
    s.gateway_spec_extra = "  dns: {resolvers: [\"127.0.0.1:" + std::to_string(dns.port()) +
                           "\"], refreshRate: 200ms, lookupFamily: V4_ONLY}\n"
                           "  endpointPicker: {profile: round-robin}\n"
                           "  endpoints:\n"
                           "  - {name: sims, address: " + std::string(kHost) + ", port: " + std::to_string(port) +
                           ", labels: {app: sim}}\n";
    return s;
  }
  TempDir dir;
  Dnsmasq dns;
  uint16_t port = 0;
  std::vector<std::unique_ptr<Modelsim>> sims;
};

std::string chat_request() {
  const std::string body = chat_body(1, false);
  return "POST /v1/chat/completions HTTP/1.1\r\nHost: llm\r\nContent-Type: application/json\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + body;
}

// Instances that answered at or after `from`.
std::set<std::string> instances_since(const std::vector<PacedLoad::Sample>& samples, Clock::time_point from,
                                      Clock::time_point until = Clock::time_point::max()) {
  std::set<std::string> out;
  for (const auto& s : samples)
    if (s.at >= from && s.at < until) out.insert(s.instance);
  return out;
}

TEST(DnsDiscovery, EndpointsFollowTheRecordsUnderLoadAndSurviveTheResolverGoing) {
  const std::string path = dnsmasq_path();
  if (path.empty()) GTEST_SKIP() << "dnsmasq is not installed (found at configure time)";
  DnsFixture f(path, list({2, 3, 4}));
  Gateway gw(f.setup());
  ASSERT_EQ(served_addresses(gw), addrs({2, 3, 4})) << gw.process().describe();
  EXPECT_EQ(gw.stat("dns.endpoint.sims.membership_total"), 3);

  PacedLoad load(gw.port(), chat_request(), 4, 200);
  load.start();
  std::this_thread::sleep_for(milliseconds(600));

  // 3 -> 5: the two new servers get requests within the refresh.
  f.dns.set(list({2, 3, 4, 5, 6}));
  auto took = wait_addresses(gw, addrs({2, 3, 4, 5, 6}), scaled(3000));
  ASSERT_TRUE(took) << "5 addresses never served: " << gw.process().describe();
  EXPECT_LT(took->count(), 200 * 5 * time_scale()) << "not within a few refreshes";
  const auto five_at = Clock::now();
  std::this_thread::sleep_for(milliseconds(800));

  // 5 -> 2: the removed ones get nothing new.
  f.dns.set(list({3, 6}));
  took = wait_addresses(gw, addrs({3, 6}), scaled(3000));
  ASSERT_TRUE(took) << "2 addresses never served: " << gw.process().describe();
  const auto two_at = Clock::now();
  std::this_thread::sleep_for(milliseconds(800));
  load.stop();

  const auto samples = load.samples();
  EXPECT_EQ(load.errors(), 0u) << (load.error_reasons().empty() ? "" : load.error_reasons().front());
  size_t not_ok = 0;
  for (const auto& s : samples) not_ok += s.status != 200;
  EXPECT_EQ(not_ok, 0u);
  EXPECT_GT(samples.size(), 300u);
  EXPECT_EQ(instances_since(samples, five_at + milliseconds(100), two_at - milliseconds(300)),
            (std::set<std::string>{"sim2", "sim3", "sim4", "sim5", "sim6"}));
  // A request in flight at the change may still finish on a removed server; none starts there.
  EXPECT_EQ(instances_since(samples, two_at + milliseconds(100)), (std::set<std::string>{"sim3", "sim6"}));
  EXPECT_GE(gw.stat("dns.endpoint.sims.membership_change"), 2);
  EXPECT_EQ(gw.stat("dns.endpoint.sims.membership_total"), 2);
  EXPECT_EQ(gw.stat("dns.endpoint.sims.update_failure"), 0);
  EXPECT_GT(gw.stat("dns.endpoint.sims.update_success"), 5);
  EXPECT_GT(gw.stat("dns.cares.resolve_total"), 5);
  // Runtime state is keyed by address:port: sim3 kept its count through both changes.
  HttpResponse cj = gw.admin("GET", "/clusters?format=json");
  auto c = nlohmann::json::parse(cj.body);
  for (const auto& h : c["cluster_statuses"][0]["host_statuses"]) {
    EXPECT_EQ(h["name"].get<std::string>().rfind("sims/127.0.0.", 0), 0u) << h.dump();
    EXPECT_GT(h["rq_total"].get<int>(), 20) << h.dump();
  }

  // The resolver goes away: refreshes fail, are counted, and the last addresses serve on.
  f.dns.process().kill_now();
  ASSERT_TRUE(gw.wait_stat_at_least("dns.endpoint.sims.update_failure", 3, scaled(5000)))
      << gw.process().describe();
  EXPECT_EQ(served_addresses(gw), addrs({3, 6}));
  auto seen = count_instances(gw.port(), 20);
  EXPECT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen["sim3"] + seen["sim6"], 20);
}

TEST(DnsDiscovery, ANameThatDoesNotResolveIsAConfigErrorAndTheOldConfigServes) {
  const std::string path = dnsmasq_path();
  if (path.empty()) GTEST_SKIP() << "dnsmasq is not installed (found at configure time)";
  DnsFixture f(path, list({2}));
  Gateway gw(f.setup(), {"--watch-debounce", "20"});
  ASSERT_EQ(served_addresses(gw), addrs({2}));
  const int version = config_version(gw);
  GatewaySetup bad = f.setup();
  bad.gateway_spec_extra += "  - {name: ghost, address: nowhere.dns.test, port: " + std::to_string(f.port) +
                            ", labels: {app: sim}}\n";
  const size_t from = gw.process().err().size();
  gw.write_config(gw.render(bad));
  gw.process().signal(SIGHUP);
  ASSERT_TRUE(gw.process().wait_err("nowhere.dns.test", scaled(5000), from)) << gw.process().describe();
  EXPECT_NE(gw.process().err().find("cannot resolve host", from), std::string::npos) << gw.process().describe();
  EXPECT_EQ(config_version(gw), version);
  EXPECT_EQ(served_addresses(gw), addrs({2}));
  EXPECT_EQ(count_instances(gw.port(), 3)["sim2"], 3);
}

}  // namespace
}  // namespace infergate::e2e
