#include "gateway/control/config_state.h"

#include "pools/cluster.h"
#include "pools/endpoint_state.h"
#include "routing/route_table.h"

#include <filesystem>
#include <fstream>
#include <sstream>

namespace infergate::gateway {

namespace {

std::string overlay_file(const std::string& state_dir) { return state_dir + "/overlay.json"; }

std::string describe(const config::ConfigStore::Change& c) {
  return c.key.to_string() + " (" + c.source + " at " + c.applied_at + ")";
}

}  // namespace

config::ClusterLoad load_for_serving(const config::ConfigStore& store) {
  if (store.cluster().empty() && store.cluster_endpoints().empty()) {
    config::ClusterLoad out;
    out.loaded = config::load_manifests(store.effective());
    return out;
  }
  // Errors the snapshot build would find are blamed on their objects here, so one route the
  // route table refuses is left out instead of refusing the whole cluster.
  return config::load_store(store, [](const config::Config& c, std::vector<config::Diagnostic>* errors) {
    pools::EndpointRegistry scratch;
    routing::RouteTable::build(c, errors);
    pools::ClusterSet::build(c, scratch, errors);
  });
}

InitialConfig load_initial_config(const std::string& config_path, const std::optional<std::string>& state_dir,
                                  const config::ConfigStore* cluster) {
  InitialConfig init;
  std::vector<config::Diagnostic> read_errors;
  if (!config_path.empty()) init.store.set_base(config::read_manifests(config_path, &read_errors));
  if (cluster) init.store.set_cluster(std::make_shared<const std::vector<config::Manifest>>(cluster->cluster()),
                                      std::make_shared<const std::vector<config::Endpoint>>(cluster->cluster_endpoints()));
  if (!read_errors.empty()) {
    init.loaded.errors = std::move(read_errors);
    return init;
  }
  if (state_dir) {
    std::error_code ec;
    std::filesystem::create_directories(*state_dir, ec);
    if (ec) init.notes.push_back("cannot create state directory " + *state_dir + ": " + ec.message());
    std::ifstream in(overlay_file(*state_dir), std::ios::binary);
    if (in) {
      std::ostringstream ss;
      ss << in.rdbuf();
      std::vector<config::ConfigStore::Change> dropped;
      std::string error;
      if (!init.store.restore_overlay(ss.str(), &dropped, &error)) {
        init.notes.push_back(overlay_file(*state_dir) + ": " + error + "; ignored");
      } else {
        for (const auto& c : dropped)
          init.notes.push_back("saved change to " + describe(c) + " dropped: the file's version changed since");
        if (!init.store.overlay().empty())
          init.notes.push_back("restored " + std::to_string(init.store.overlay().size()) +
                               " run-time change(s) from " + overlay_file(*state_dir));
      }
    }
  }
  config::ClusterLoad first = load_for_serving(init.store);
  init.loaded = std::move(first.loaded);
  init.rejected = std::move(first.rejected);
  if (!init.loaded.ok() && !init.store.overlay().empty()) {
    config::ConfigStore files_only = init.store;
    files_only.revert_all();
    config::ClusterLoad again = load_for_serving(files_only);
    init.rejected = std::move(again.rejected);
    config::LoadResult plain = std::move(again.loaded);
    if (plain.ok()) {
      for (const auto& e : init.loaded.errors)
        init.notes.push_back("saved run-time changes do not validate with the current files: " + e.to_string());
      std::error_code ec;
      std::filesystem::rename(overlay_file(*state_dir), overlay_file(*state_dir) + ".rejected", ec);
      init.notes.push_back("starting from the files alone; the saved changes were moved to " +
                           overlay_file(*state_dir) + ".rejected");
      init.store = std::move(files_only);
      init.loaded = std::move(plain);
    }
  }
  return init;
}

bool save_overlay(const std::string& state_dir, const config::ConfigStore& store, std::string* error) {
  return config::write_file_atomically(overlay_file(state_dir), store.overlay_json(), error);
}

}  // namespace infergate::gateway
