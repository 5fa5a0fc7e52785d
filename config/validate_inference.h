#pragma once
// Internal to config/: cross-resource checks for the GIE model kinds (InferenceModel,
// InferenceObjective, InferenceModelRewrite), run once every document is parsed and after the
// duplicate-name checks. Resolves each poolRef against the InferencePools defined here and
// sorts inference_models and model_rewrites oldest first (config/object_age.h), the order in
// which GIE lets the oldest claim a model.

#include <vector>

#include "config/diagnostic.h"
#include "config/parsers.h"

namespace infergate::config::detail {

void validate_inference(Collected& collected, std::vector<Diagnostic>* errors,
                        std::vector<Diagnostic>* warnings);

}  // namespace infergate::config::detail
