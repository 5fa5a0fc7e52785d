// Loading a configuration that has objects from the Kubernetes API.
//
// A file is the operator's one document: when it does not validate, nothing of it is taken
// and the old configuration keeps serving. A cluster is many writers' objects, and one bad
// HTTPRoute must not stop every other route from following the cluster, so an object from
// the API that does not validate is left out, alone, and reported (log, counter, its status),
// and the rest is loaded without it. Leaving one out can make another fail (an
// InferenceModel whose pool was left out): that one is left out in turn. Errors in the files,
// or errors no cluster object can be blamed for, still reject the whole change.
#pragma once

#include <nlohmann/json.hpp>

#include <functional>
#include <string>
#include <vector>

#include "config/config_store.h"
#include "config/loader.h"

namespace infergate::config {

struct RejectedObject {
  ResourceKey key;
  std::string file;                 // its Manifest::file ("kubernetes/HTTPRoute/ns/name")
  nlohmann::json object;            // as read from the API (without status): for its status
  std::vector<Diagnostic> errors;   // why; messages become condition messages
};

struct ClusterLoad {
  LoadResult loaded;                    // ok() unless the files (or something unattributable) failed
  std::vector<RejectedObject> rejected; // cluster objects left out, in the order found
};

// What a Manifest from the API is called in diagnostics: "kubernetes/HTTPRoute/ns/name".
std::string cluster_manifest_file(const ResourceKey& key);

// Loads `store`'s effective documents and cluster endpoints. `also_check`, when given, runs on
// a loaded Config and adds the errors a later stage would find (route table and cluster
// builds), so those are blamed on their objects too.
ClusterLoad load_store(const ConfigStore& store,
                       const std::function<void(const Config&, std::vector<Diagnostic>*)>& also_check = {});

}  // namespace infergate::config
