#include "config/cluster_load.h"

#include <map>
#include <set>

namespace infergate::config {

std::string cluster_manifest_file(const ResourceKey& key) {
  return "kubernetes/" + key.kind + "/" + key.ns + "/" + key.name;
}

ClusterLoad load_store(const ConfigStore& store,
                       const std::function<void(const Config&, std::vector<Diagnostic>*)>& also_check) {
  ClusterLoad out;
  std::vector<Manifest> docs = store.effective();
  std::map<std::string, const Manifest*> cluster_files;
  const std::vector<Manifest> all = docs;
  for (const Manifest& m : all)
    if (m.origin == Manifest::Origin::Kubernetes) cluster_files.emplace(m.file, &m);
  // Each round leaves out at least one object, so this ends; the bound only guards against a
  // surprise costing a reload per object.
  for (size_t round = 0; round <= cluster_files.size(); ++round) {
    out.loaded = load_manifests(docs, store.cluster_endpoints());
    if (out.loaded.ok() && also_check) {
      also_check(*out.loaded.config, &out.loaded.errors);
      if (!out.loaded.errors.empty()) out.loaded.config.reset();
    }
    if (out.loaded.errors.empty()) return out;
    std::map<std::string, std::vector<Diagnostic>> blamed;
    for (const Diagnostic& d : out.loaded.errors) {
      if (!cluster_files.count(d.file)) return out;  // the files' fault: reject the change
      blamed[d.file].push_back(d);
    }
    for (auto& [file, errors] : blamed) {
      const Manifest* m = cluster_files[file];
      out.rejected.push_back(
          RejectedObject{m->key, file, nlohmann::json::parse(m->text, nullptr, false), std::move(errors)});
    }
    std::erase_if(docs, [&](const Manifest& m) { return blamed.count(m.file) > 0; });
  }
  return out;
}

}  // namespace infergate::config
