// An instance as the deployment engine sees it: a place to unpack a bundle, files to read and
// write, the Install step, hook scripts to run. The local host works on this machine (under a
// root prefix); an SSH host does the same on another machine.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "deploy/install.hpp"
#include "deploy/resources.hpp"
#include "spec/appspec.hpp"
#include "util/error.hpp"
#include "util/process.hpp"

namespace cicd {

struct HookRun {
  std::string script;  // path on the instance
  std::string cwd;     // the revision's directory on the instance
  Environment env;     // the documented hook variables (added to the host's own environment)
  std::chrono::seconds timeout{3600};
  std::optional<std::string> runas;
  bool sudo = false;  // the agent's `sudo: true`: through sudo when we are not root already
  std::shared_ptr<OutputSink> sink;
};

enum class ScriptState { ok, missing, not_executable };

class InstanceHost {
 public:
  virtual ~InstanceHost() = default;
  virtual std::string describe() const = 0;
  // Where deployments live on the instance (paths below are all instance paths).
  virtual std::string deployment_root() const = 0;
  // Copies the bundle (a tar) to the instance and unpacks it into `dir`.
  virtual Status unpack_bundle(const std::filesystem::path& bundle, const std::string& dir) = 0;
  // nullopt when the file does not exist.
  virtual Result<std::optional<std::string>> read_text(const std::string& path) = 0;
  virtual Status write_text(const std::string& path, const std::string& content) = 0;
  virtual Status append_text(const std::string& path, const std::string& content) = 0;
  virtual Status remove_tree(const std::string& path) = 0;
  // Subdirectories of `path`, oldest first (by modification time).
  virtual Result<std::vector<std::string>> list_directories(const std::string& path) = 0;
  virtual Result<InstallOutcome> install(const Appspec& spec, const std::string& archive_dir,
                                         const std::string& cleanup_file, FileExistsBehavior behavior) = 0;
  virtual ScriptState check_script(const std::string& path) = 0;
  virtual Result<ProcessResult> run_hook(const HookRun& run) = 0;
};

// This machine, with destinations and the deployment root placed under `root`.
class LocalHost final : public InstanceHost {
 public:
  LocalHost(std::string name, std::filesystem::path root, ProcessRunner& runner);
  std::string describe() const override;
  std::string deployment_root() const override;
  Status unpack_bundle(const std::filesystem::path& bundle, const std::string& dir) override;
  Result<std::optional<std::string>> read_text(const std::string& path) override;
  Status write_text(const std::string& path, const std::string& content) override;
  Status append_text(const std::string& path, const std::string& content) override;
  Status remove_tree(const std::string& path) override;
  Result<std::vector<std::string>> list_directories(const std::string& path) override;
  Result<InstallOutcome> install(const Appspec& spec, const std::string& archive_dir, const std::string& cleanup_file,
                                 FileExistsBehavior behavior) override;
  ScriptState check_script(const std::string& path) override;
  Result<ProcessResult> run_hook(const HookRun& run) override;

 private:
  std::string m_name;
  std::filesystem::path m_root;
  ProcessRunner& m_runner;
};

// The host for a registered instance (local now; ssh in the SSH host).
Result<std::unique_ptr<InstanceHost>> open_host(const Instance& instance, ProcessRunner& runner);

}  // namespace cicd
