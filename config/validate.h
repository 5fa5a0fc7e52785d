#pragma once
// Internal to config/: checks across resources once every document is parsed — duplicates,
// references between routes, gateways, services and pools, selectors that select nothing.
// Resolves what references imply (ParentRef::unresolved_foreign).

#include <vector>

#include "config/diagnostic.h"
#include "config/parsers.h"

namespace infergate::config::detail {

void validate(Collected& collected, std::vector<Diagnostic>* errors,
              std::vector<Diagnostic>* warnings);

}  // namespace infergate::config::detail
