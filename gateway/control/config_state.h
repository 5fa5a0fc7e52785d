// The configuration a process starts with and keeps across restarts: the files, plus, with
// --state-dir, the run-time changes saved there (DIR/overlay.json, see config/config_store.h).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "config/cluster_load.h"
#include "config/config_store.h"
#include "config/loader.h"

namespace infergate::gateway {

struct InitialConfig {
  config::ConfigStore store;
  config::LoadResult loaded;       // of store.effective()
  std::vector<std::string> notes;  // what happened to saved changes, for the log
  std::vector<config::RejectedObject> rejected;  // cluster objects left out
};

// Reads the files at `config_path` ("" = none: everything comes from the cluster) and, when `state_dir` is given, the changes saved there.
// Saved changes whose file document changed while the process was down are dropped (the file
// is newer). When the files validate but the files plus the saved changes do not, the process
// starts from the files alone and the saved state is moved aside to overlay.json.rejected:
// a restart must never be what breaks serving.
// `cluster`, when given, is the cluster layer read before start (initial_cluster_sync).
InitialConfig load_initial_config(const std::string& config_path, const std::optional<std::string>& state_dir,
                                  const config::ConfigStore* cluster = nullptr);

// Loads `store` for serving: its files, saved changes and cluster layer, with the route table
// and cluster builds' checks, cluster objects that fail left out (config/cluster_load.h).
config::ClusterLoad load_for_serving(const config::ConfigStore& store);

// Saves the store's run-time changes to DIR/overlay.json (atomically).
bool save_overlay(const std::string& state_dir, const config::ConfigStore& store, std::string* error);

}  // namespace infergate::gateway
