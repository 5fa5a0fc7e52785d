#pragma once
// Internal to config/: cross-resource checks of Rollouts (their route rule and backends).

#include <vector>

#include "config/diagnostic.h"
#include "config/parsers.h"

namespace infergate::config::detail {

void validate_rollouts(Collected& collected, std::vector<Diagnostic>* errors, std::vector<Diagnostic>* warnings);

}  // namespace infergate::config::detail
