#pragma once
// TorchScript models for dlogp-run ("model": {"type": "torchscript"}). Linking libtorch would add
// about 0.7 s and 160 MB to every start of the runner, model or not, so the runner does not link
// it: the plugin libdlogp-run-torch.so (torch_plugin.cpp, built when CMake finds libtorch) is
// loaded only when a spec names a TorchScript module. Looked for, in order: the file named by
// DLOGP_RUN_TORCH_PLUGIN, beside the running program, and in DLOGP_RUN_TORCH_PLUGIN_DIR from it
// (the installed <libdir>/dlogp/, set by CMake).
#include <dlfcn.h>
#include <unistd.h>

#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include <dlogp/error.hpp>
#include <dlogp/model/any_score_model.hpp>
#include <dlogp/model/parametrisation.hpp>
#include <dlogp/model/torch_model_options.hpp>
#include <dlogp/process/any_process.hpp>
#include <dlogp/process/vp.hpp>
#include <dlogp/version.hpp>

#ifndef DLOGP_RUN_TORCH_PLUGIN_DIR
#define DLOGP_RUN_TORCH_PLUGIN_DIR "../lib/dlogp/"
#endif

namespace dlogp::runner {

/// What the spec says about a TorchScript module.
struct torch_model_request {
  std::string path;
  long dimension = 0;
  any_process process = vp_process{};
  parametrisation kind = parametrisation::epsilon;
  bool float32 = true;  ///< the module's dtype: float32, else float64
  torch_model_options options;
};

/// The plugin's entry points (C names, so dlsym finds them; C++ types, as the plugin is built
/// with the runner by the same compiler). The version must equal the runner's.
using torch_plugin_version_function = const char* (*)();
using torch_plugin_load_function = void (*)(const torch_model_request*, std::shared_ptr<const any_score_model>*);
inline constexpr const char* torch_plugin_file = "libdlogp-run-torch.so";

namespace detail {

inline std::string running_program_folder() {
  std::vector<char> buf(4096);
  const ssize_t n = readlink("/proc/self/exe", buf.data(), buf.size() - 1);
  if (n <= 0) return "";
  std::string p(buf.data(), std::size_t(n));
  return p.substr(0, p.rfind('/') + 1);
}

/// The plugin's load function, or an error saying why there is none.
inline torch_plugin_load_function torch_plugin() {
  static torch_plugin_load_function load = nullptr;
  static std::string why;
  static bool tried = false;
  if (tried) {
    if (!load) throw error("unsupported", why);
    return load;
  }
  tried = true;
  std::vector<std::string> candidates;
  if (const char* env = std::getenv("DLOGP_RUN_TORCH_PLUGIN"); env && *env) candidates.push_back(env);
  else if (const std::string dir = running_program_folder(); !dir.empty())
    candidates = {dir + torch_plugin_file, dir + DLOGP_RUN_TORCH_PLUGIN_DIR + torch_plugin_file};
  std::string tried_files;
  for (const auto& file : candidates) {
    if (access(file.c_str(), F_OK) != 0) {
      tried_files += (tried_files.empty() ? "" : ", ") + file;
      continue;
    }
    void* h = dlopen(file.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!h) {
      why = "model type \"torchscript\" needs libtorch, and its plugin " + file + " cannot be loaded: " + dlerror();
      throw error("unsupported", why);
    }
    auto version = reinterpret_cast<torch_plugin_version_function>(dlsym(h, "dlogp_run_torch_plugin_version"));
    load = reinterpret_cast<torch_plugin_load_function>(dlsym(h, "dlogp_run_load_torch_model"));
    if (!version || !load || std::string(version()) != version_string) {
      load = nullptr;
      why = "model type \"torchscript\": " + file + " is not the TorchScript plugin of dlogp " + version_string;
      throw error("unsupported", why);
    }
    return load;
  }
  why = "model type \"torchscript\" needs libtorch, which this build lacks (no " + std::string(torch_plugin_file) +
        (tried_files.empty() ? std::string() : " at " + tried_files) +
        "; build dlogp with libtorch installed, Debian: libtorch-dev)";
  throw error("unsupported", why);
}

}  // namespace detail

/// Loads a TorchScript module through the plugin (throws error "unsupported" without it, and the
/// plugin's errors for a module it cannot use).
inline std::shared_ptr<const any_score_model> load_torch_model(const torch_model_request& r) {
  const torch_plugin_load_function load = detail::torch_plugin();
  std::shared_ptr<const any_score_model> out;
  load(&r, &out);
  return out;
}

}  // namespace dlogp::runner
