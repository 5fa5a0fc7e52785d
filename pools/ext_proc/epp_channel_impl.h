// Internal: what an EppChannel holds, shared by the channel (epp_channel.cc) and the call
// reactor (epp_client.cc). epp_client.h is the public contract; this header is not.
#pragma once

#include <grpcpp/grpcpp.h>

#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>

#include "pools/ext_proc/epp_client.h"
#include "pools/ext_proc/ext_proc.grpc.pb.h"
#include "pools/ext_proc/health.grpc.pb.h"

namespace infergate::ext_proc {

struct EppChannel::Impl {
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<::envoy::service::ext_proc::v3::ExternalProcessor::Stub> stub;
  std::unique_ptr<::grpc::health::v1::Health::Stub> health;
  // The health loop. ~EppChannel sets `stopping`; the loop touches the EppChannel only
  // under `mu` while not stopping, so the channel may go first. Impl itself is destroyed on
  // the reaper thread, which joins the loop (at most one Check deadline away).
  std::mutex mu;
  std::condition_variable cv;
  bool stopping = false;
  std::thread health_thread;
  ~Impl() {
    if (health_thread.joinable()) health_thread.join();
  }
};

}  // namespace infergate::ext_proc
