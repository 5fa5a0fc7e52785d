#pragma once
// Internal to config/: cross-resource checks for VirtualServices and DestinationRules, run
// once every document is parsed. Resolves what the model promises resolved
// (IstioDestination::service_*, DestinationRule::service_*) and sorts both kinds oldest first.

#include <vector>

#include "config/diagnostic.h"
#include "config/parsers.h"

namespace infergate::config::detail {

void validate_istio(Collected& collected, std::vector<Diagnostic>* errors,
                    std::vector<Diagnostic>* warnings);

}  // namespace infergate::config::detail
