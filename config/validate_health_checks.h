#pragma once
// Internal to config/: cross-resource checks of GKE HealthCheckPolicies, run after the
// duplicate-name checks: a target that is not defined here is a warning (GKE accepts the
// policy and it attaches once the target exists); two policies on one target are an error
// (which one GKE would apply is not defined).

#include <vector>

#include "config/diagnostic.h"
#include "config/parsers.h"

namespace infergate::config::detail {

void validate_health_checks(Collected& collected, std::vector<Diagnostic>* errors,
                            std::vector<Diagnostic>* warnings);

}  // namespace infergate::config::detail
