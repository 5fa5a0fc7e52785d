#pragma once
// Durations as Kubernetes users write them.
// Gateway API: "10s", "500ms", "1h30m" (GEP-2257: up to four <1-5 digits><h|m|s|ms> parts).
// Istio / protobuf-JSON / Go: adds fractions and finer units ("1.5s", "250us", "100ns").
// Both are parsed by absl::ParseDuration (Go syntax, a superset); negative, infinite and
// unit-less values other than "0" are rejected. Results are whole milliseconds, rounded UP so
// that a tiny but non-zero timeout never turns into 0, which everywhere means "no timeout".

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace infergate::config {

// nullopt on a bad value; *error (if given) then says why.
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text,
                                                        std::string* error = nullptr);

// "1h30m", "1.5s", "250ms", "0s": the shortest Go-style spelling, for config dumps.
std::string format_duration(std::chrono::milliseconds d);

}  // namespace infergate::config
