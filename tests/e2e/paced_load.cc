#include "tests/e2e/paced_load.h"

#include <algorithm>
#include <memory>

namespace infergate::e2e {

PacedLoad::PacedLoad(uint16_t port, std::string request, unsigned threads, double rps)
    : port_(port), request_(std::move(request)), threads_(threads), rps_(rps), per_thread_(threads) {}

PacedLoad::~PacedLoad() { stop(); }

void PacedLoad::start() {
  for (unsigned i = 0; i < threads_; ++i) workers_.emplace_back([this, i] { run(i); });
}

void PacedLoad::stop() {
  stop_ = true;
  for (auto& t : workers_)
    if (t.joinable()) t.join();
  workers_.clear();
}

void PacedLoad::fail(const std::string& why) {
  ++errors_;
  std::lock_guard<std::mutex> lock(mu_);
  if (reasons_.size() < 10) reasons_.push_back(why);
}

void PacedLoad::run(unsigned index) {
  const auto interval = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(threads_ / rps_));
  // Threads start spread over one interval so requests do not arrive in bursts.
  auto next = Clock::now() + interval * index / threads_;
  std::unique_ptr<RawSocket> sock;
  std::vector<Sample>& out = per_thread_[index];
  out.reserve(static_cast<size_t>(rps_ / threads_ * 120));
  while (!stop_) {
    std::this_thread::sleep_until(next);
    next += interval;
    // Behind schedule (a stall): skip the missed slots instead of bursting to catch up.
    if (Clock::now() > next + interval * 10) next = Clock::now() + interval;
    try {
      if (!sock) sock = std::make_unique<RawSocket>(port_);
    } catch (const std::exception& e) {
      fail(e.what());
      continue;
    }
    sock->clear();
    if (!sock->send(request_)) {
      fail("send failed");
      sock.reset();
      continue;
    }
    std::optional<HttpResponse> r;
    const auto deadline = Clock::now() + milliseconds(5000);
    while (!(r = parse_http_response(sock->received(), sock->closed())) && !sock->closed() && Clock::now() < deadline)
      sock->read_some(65536, milliseconds(100));
    if (!r) r = parse_http_response(sock->received(), true);
    if (!r || !r->complete) {
      fail(sock->closed() ? "connection closed before a complete answer" : "no answer within 5 s");
      sock.reset();
      continue;
    }
    out.push_back(Sample{Clock::now(), r->status, r->header("x-modelsim-instance")});
    if (r->header("connection") == "close" || sock->closed()) sock.reset();
  }
}

std::vector<PacedLoad::Sample> PacedLoad::samples() const {
  std::vector<Sample> all;
  for (const auto& v : per_thread_) all.insert(all.end(), v.begin(), v.end());
  std::sort(all.begin(), all.end(), [](const Sample& a, const Sample& b) { return a.at < b.at; });
  return all;
}

std::vector<std::string> PacedLoad::error_reasons() const {
  std::lock_guard<std::mutex> lock(mu_);
  return reasons_;
}

}  // namespace infergate::e2e
