#include "gateway/http/stream.h"

namespace infergate::gateway {

std::string_view reset_reason_name(ResetReason r) {
  switch (r) {
    case ResetReason::ConnectFailure: return "connection failure";
    case ResetReason::ConnectionTermination: return "connection termination";
    case ResetReason::RemoteReset: return "remote reset";
    case ResetReason::ProtocolError: return "protocol error";
    case ResetReason::Timeout: return "timeout";
    case ResetReason::LocalReset: return "local reset";
    case ResetReason::Overflow: return "overflow";
  }
  return "unknown";
}

}  // namespace infergate::gateway
