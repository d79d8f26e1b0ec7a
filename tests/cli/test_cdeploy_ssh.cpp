// Deployments to instances over ssh, against a real sshd on 127.0.0.1 that each test starts (with
// a throwaway host key and user key) and stops. The ssh client is pointed at them through
// CDEPLOY_SSH ("ssh -F <config>"). The "remote" instance is this machine, so the tests can look at
// the files, modes and processes a deployment left there.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <future>
#include <map>

#include "cli/cdeploy_fixture.hpp"
#include "util/fs.hpp"
#include "util/strings.hpp"

using namespace cicd;
using namespace cicd::test;
namespace fs = std::filesystem;

namespace {

int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  socklen_t len = sizeof addr;
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
  ::close(fd);
  return ntohs(addr.sin_port);
}

bool port_open(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

std::string user_name() { return ::getpwuid(::geteuid())->pw_name; }

// sshd on 127.0.0.1:<free port>, accepting one throwaway key for any user; a client config that
// trusts only its throwaway host key.
class SshServer {
 public:
  SshServer() {
    if (!fs::exists("/usr/sbin/sshd")) skip("/usr/sbin/sshd is not installed (Debian: apt-get install openssh-server)");
    if (find_program("ssh").empty()) skip("the ssh client is not installed (Debian: apt-get install openssh-client)");
    if (::geteuid() != 0) skip("sshd needs root here (privilege separation); these tests run as root in CI");
    std::error_code ec;
    fs::create_directories("/run/sshd", ec);  // sshd's privilege separation directory
    m_port = free_port();
    // 1. Keys: the host's, and the user's that authorized_keys accepts.
    for (auto key : {"host_key", "user_key"}) {
      auto r = run({"ssh-keygen", "-q", "-N", "", "-t", "ed25519", "-f", (dir() / key).string()});
      REQUIRE(r.exit_code == 0);
    }
    unwrap(write_file_atomic(dir() / "authorized_keys", unwrap(read_file(dir() / "user_key.pub")), {.mode = 0600}));
    // 2. sshd's config and the client's.
    unwrap(write_file_atomic(dir() / "sshd_config",
                             fmt::format("ListenAddress 127.0.0.1\nPort {}\nHostKey {}\nAuthorizedKeysFile {}\n"
                                         "PidFile {}\nStrictModes no\nUsePAM no\nPermitRootLogin prohibit-password\n"
                                         "PasswordAuthentication no\nKbdInteractiveAuthentication no\nPrintMotd no\n"
                                         "MaxStartups 100\n",
                                         m_port, (dir() / "host_key").string(), (dir() / "authorized_keys").string(),
                                         (dir() / "sshd.pid").string())));
    unwrap(write_file_atomic(dir() / "known_hosts",
                             fmt::format("[127.0.0.1]:{} {}", m_port, unwrap(read_file(dir() / "host_key.pub")))));
    unwrap(write_file_atomic(dir() / "ssh_config", client_config(dir() / "known_hosts")));
    // 3. sshd in the foreground, as our child, logging to a file.
    int log = ::open((dir() / "sshd.log").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    REQUIRE(log >= 0);
    ProcessSpec spec;
    spec.argv = {"/usr/sbin/sshd", "-D", "-e", "-f", (dir() / "sshd_config").string()};
    spec.output_mode = OutputMode::inherit;
    auto child = spawn_process(spec, {{log, 1}, {log, 2}});
    ::close(log);
    REQUIRE(child);
    m_pid = child->pid;
    if (child->pidfd >= 0) ::close(child->pidfd);
    bool exited = false;
    wait_until([&] {
      int status = 0;
      exited = ::waitpid(m_pid, &status, WNOHANG) == m_pid;
      return exited || port_open(m_port);
    });
    if (exited) {
      m_pid = 0;
      FAIL("sshd exited at start:\n" << log_text());
    }
    REQUIRE(port_open(m_port));
  }
  ~SshServer() {
    if (m_pid <= 0) return;
    ::kill(m_pid, SIGTERM);
    ::waitpid(m_pid, nullptr, 0);
  }
  SshServer(const SshServer&) = delete;
  SshServer& operator=(const SshServer&) = delete;

  int port() const { return m_port; }
  fs::path dir() const { return m_dir.path(); }
  // "root@127.0.0.1:PORT", for --ssh.
  std::string target() const { return fmt::format("{}@127.0.0.1:{}", user_name(), m_port); }
  // CDEPLOY_SSH for a client that uses our key and trusts our host key.
  std::string ssh_command() const { return "ssh -F " + (dir() / "ssh_config").string(); }
  std::string client_config(const fs::path& known_hosts) const {
    return fmt::format("Host *\n  IdentityFile {}\n  IdentitiesOnly yes\n  UserKnownHostsFile {}\n"
                       "  GlobalKnownHostsFile /dev/null\n  StrictHostKeyChecking yes\n",
                       (dir() / "user_key").string(), known_hosts.string());
  }
  std::string log_text() const { return read_file(dir() / "sshd.log").value_or(""); }

 private:
  Scratch m_dir;
  int m_port = 0;
  pid_t m_pid = 0;
};

// A CdeployFixture whose group "prod" (application "web") holds the given instances: names starting
// with "ssh" are reached over ssh, the others are local; each is rooted at host(name).
struct SshFixture : CdeployFixture {
  SshServer sshd;

  SshFixture() { extra_env["CDEPLOY_SSH"] = sshd.ssh_command(); }

  void group(const std::vector<std::string>& names, const std::string& config = "CodeDeployDefault.AllAtOnce") {
    CdeployFixture::group(names, config, "enabled=false", [&](const std::string& name) {
      return name.starts_with("ssh") ? std::vector<std::string>{"--ssh", sshd.target()} : std::vector<std::string>{};
    });
  }
};

std::map<std::string, std::string> env_file(const fs::path& path) {
  std::map<std::string, std::string> out;
  for (auto& line : split_lines(unwrap(read_file(path)))) {
    auto eq = line.find('=');
    if (eq != std::string::npos) out[line.substr(0, eq)] = line.substr(eq + 1);
  }
  return out;
}

// Every path under `root` (relative) with what a deployment decides about it: type, mode, owner,
// content or link target. Two instances given the same revision must describe the same.
std::map<std::string, std::string> tree(const fs::path& root) {
  std::map<std::string, std::string> out;
  for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator(); ++it) {
    std::string rel = it->path().lexically_relative(root).generic_string();
    if (!rel.starts_with("srv") && !rel.starts_with("etc")) continue;  // what Install wrote
    struct stat st {};
    REQUIRE(::lstat(it->path().c_str(), &st) == 0);
    std::string what = fmt::format("mode {:o} uid {} gid {}", st.st_mode, st.st_uid, st.st_gid);
    if (S_ISLNK(st.st_mode)) what += " -> " + fs::read_symlink(it->path()).string();
    else if (S_ISREG(st.st_mode)) what += " " + unwrap(read_file(it->path()));
    out[rel] = what;
  }
  return out;
}

}  // namespace

TEST_CASE("cdeploy over ssh: files land, hooks run on the instance with the documented environment",
          "[cdeploy][ssh]") {
  SshFixture f;
  f.group({"ssh1"});
  auto rev = f.revision("v1", k_appspec, site("v1"));
  auto r = f.deploy(rev);
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  std::string id = deployment_id_of(r);
  auto d = f.deployment(id);
  CHECK(d["status"] == "Succeeded");
  auto inst = f.instance(id, "ssh1");
  CHECK(inst["status"] == "Succeeded");
  for (auto& e : inst["lifecycleEvents"]) CHECK(e["status"] == "Succeeded");

  // 1. The files, under the instance's root on the far side.
  auto root = f.host("ssh1");
  CHECK(unwrap(read_file(root / "srv/web/index.html")) == "<h1>v1</h1>");
  CHECK(unwrap(read_file(root / "srv/web/css/style.css")) == "body{}");
  CHECK(unwrap(read_file(root / "etc/web/app.conf")) == "version=v1");
  auto dir = f.deployment_dir("ssh1", id);
  CHECK(fs::exists(dir / "deployment-archive/appspec.yml"));
  CHECK(unwrap(read_file(root / "opt/cdeploy/deployment-root/deployment-instructions" /
                         (f.group_id() + "_last_successful_install"))) == (dir / "deployment-archive").string() + "\n");

  // 2. The hook ran through sshd (SSH_CONNECTION is sshd's), in the revision's directory, with the
  //    five variables.
  auto env = env_file(root / "env.BeforeInstall");
  CHECK(contains(env["SSH_CONNECTION"], "127.0.0.1"));
  CHECK(env["LIFECYCLE_EVENT"] == "BeforeInstall");
  CHECK(env["DEPLOYMENT_ID"] == id);
  CHECK(env["APPLICATION_NAME"] == "web");
  CHECK(env["DEPLOYMENT_GROUP_NAME"] == "prod");
  CHECK(env["DEPLOYMENT_GROUP_ID"] == f.group_id());
  CHECK(trim(unwrap(read_file(root / "pwd.BeforeInstall"))) == (dir / "deployment-archive").string());

  // 3. The script log, as for a local instance: stdout and stderr told apart, nothing of the
  //    wrapper's own status lines.
  auto log = unwrap(read_file(dir / "logs/scripts.log"));
  CHECK(contains(log, "] [stdout]LifecycleEvent - BeforeInstall\n"));
  CHECK(contains(log, "] [stdout]BeforeInstall " + id + " web prod " + f.group_id() + "\n"));
  CHECK(contains(log, "] [stdout]start v1\n"));
  CHECK(contains(log, "] [stderr]to stderr\n"));
  CHECK_FALSE(contains(log, "cdeploy-hook-"));
  CHECK(contains(log, "copied 3 files (0 overwritten, 0 retained)"));
}

TEST_CASE("cdeploy over ssh: one group mixing a local and an ssh instance installs the same tree on both",
          "[cdeploy][ssh]") {
  SshFixture f;
  f.group({"local1", "ssh1"});
  bool root = ::geteuid() == 0;
  std::string owner = root ? "nobody" : user_name();
  std::string appspec = std::string(k_appspec) + R"YML(permissions:
  - object: /srv/web
    pattern: "**"
    except: [css/style.css]
    owner: )YML" + owner + R"YML(
    mode: "640"
    type: [file]
  - object: /srv/web/css
    mode: "750"
    type: [directory]
)YML";
  auto files = site("v1");
  files.push_back({"site/bin/tool.sh", "#!/bin/sh\necho tool\n"});  // keeps its executable mode
  files.push_back({"site/it's an \"odd\" $(name) [x]; *.txt", "odd"});  // every word is quoted
  auto rev = f.revision("v1", appspec, files);
  fs::create_symlink("../index.html", rev / "site/bin/home.html");  // a symlink stays a symlink
  auto r = f.deploy(rev);
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  auto d = f.deployment(f.latest_id());
  CHECK(d["deploymentOverview"]["Succeeded"] == 2);

  auto local = tree(f.host("local1"));
  auto remote = tree(f.host("ssh1"));
  CHECK(local.size() > 6);
  CHECK(local == remote);
  // And what they agree on is right.
  struct stat st {};
  REQUIRE(::stat((f.host("ssh1") / "srv/web/index.html").c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0640);
  CHECK(st.st_uid == ::getpwnam(owner.c_str())->pw_uid);
  REQUIRE(::stat((f.host("ssh1") / "srv/web/css/style.css").c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0644);  // excepted
  REQUIRE(::stat((f.host("ssh1") / "srv/web/css").c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0750);
  REQUIRE(::lstat((f.host("ssh1") / "srv/web/bin/home.html").c_str(), &st) == 0);
  CHECK(S_ISLNK(st.st_mode));
  // The Install step's account in the log matches too.
  auto log_of = [&](const std::string& name) {
    auto log = unwrap(read_file(f.deployment_dir(name, f.latest_id()) / "logs/scripts.log"));
    std::string lines;
    for (auto& l : split_lines(log))
      if (contains(l, "copied ") || contains(l, "permissions for ") || contains(l, "removed "))
        lines += l.substr(l.find(']', l.find(']') + 1) + 1) + "\n";
    return lines;
  };
  // Except that the local instance hard-links what nothing changes (ssh instances copy).
  auto local_log = log_of("local1");
  CHECK(contains(local_log, " as hard links to the deployment archive"));
  auto note = local_log.find("; ");
  if (note != std::string::npos) local_log.erase(note, local_log.find('\n', note) - note);
  CHECK(log_of("ssh1") == local_log);
  CHECK(contains(log_of("ssh1"), "permissions for /srv/web (pattern **): applied to"));
}

TEST_CASE("cdeploy over ssh: the revision is unpacked as on a local instance, without set-user-ID or set-group-ID bits",
          "[cdeploy][ssh]") {
  SshFixture f;
  f.group({"local1", "ssh1"});
  auto rev = f.revision("v1", k_appspec, site("v1"));
  REQUIRE(::chmod((rev / "hooks/start.sh").c_str(), 06755) == 0);
  fs::create_directories(rev / "site/shared");
  REQUIRE(::chmod((rev / "site/shared").c_str(), 03775) == 0);
  auto r = f.deploy(rev);
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  auto id = f.latest_id();
  auto mode = [&](const std::string& instance, const std::string& rel) {
    struct stat st {};
    REQUIRE(::lstat((f.deployment_dir(instance, id) / "deployment-archive" / rel).c_str(), &st) == 0);
    return st.st_mode & 07777;
  };
  for (std::string instance : {"local1", "ssh1"}) {
    INFO(instance);
    CHECK(mode(instance, "hooks/start.sh") == 0755);
    CHECK(mode(instance, "site/shared") == 0775);
    CHECK(mode(instance, "site/index.html") == 0644);
  }
  // Nothing of the private directory the ssh instance unpacked in is left beside the archive.
  CHECK(std::distance(fs::directory_iterator(f.deployment_dir("ssh1", id)), fs::directory_iterator()) ==
        std::distance(fs::directory_iterator(f.deployment_dir("local1", id)), fs::directory_iterator()));
}

TEST_CASE("cdeploy over ssh: a revision whose symlink points outside it is refused by local and ssh instances alike",
          "[cdeploy][ssh]") {
  SshFixture f;
  f.group({"local1", "ssh1"});
  auto rev = f.revision("v1", k_appspec, site("v1"));
  fs::create_symlink("/etc", rev / "site/etc");
  auto r = f.deploy(rev);
  INFO(r.out << r.err);
  CHECK(r.exit_code == 1);
  auto id = f.latest_id();
  for (std::string instance : {"local1", "ssh1"}) {
    INFO(instance);
    auto inst = f.instance(id, instance);
    CHECK(inst["status"] == "Failed");
    CHECK(contains(to_json_text(inst), "is a symlink pointing outside the destination ('/etc')"));
    CHECK_FALSE(fs::exists(f.host(instance) / "srv/web/etc"));
  }
}

TEST_CASE("cdeploy over ssh: ApplicationStop runs the previous revision's scripts, and its files are cleaned up",
          "[cdeploy][ssh]") {
  SshFixture f;
  f.group({"ssh1"});
  auto v1 = site("v1");
  v1.push_back({"site/old-only.html", "gone in v2"});
  v1.push_back({"site/old-dir/inner.txt", "gone in v2 too"});
  REQUIRE(f.deploy(f.revision("v1", k_appspec, v1)).exit_code == 0);
  CHECK(fs::exists(f.host("ssh1") / "srv/web/old-only.html"));
  auto cleanup = unwrap(read_file(f.host("ssh1") / "opt/cdeploy/deployment-root/deployment-instructions" /
                                  (f.group_id() + "-cleanup")));
  CHECK(contains(cleanup, (f.host("ssh1") / "srv/web/old-dir/inner.txt").string() + "\n"));
  auto r = f.deploy(f.revision("v2", k_appspec, site("v2")));
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(unwrap(read_file(f.host("ssh1") / "hooks.log")) == "stop v1\n");
  CHECK_FALSE(fs::exists(f.host("ssh1") / "srv/web/old-only.html"));
  CHECK_FALSE(fs::exists(f.host("ssh1") / "srv/web/old-dir"));
  CHECK(unwrap(read_file(f.host("ssh1") / "srv/web/index.html")) == "<h1>v2</h1>");
  auto log = unwrap(read_file(f.deployment_dir("ssh1", f.latest_id()) / "logs/scripts.log"));
  CHECK(contains(log, "removed 5 files of the previous deployment"));
  CHECK(contains(log, "ApplicationStop runs the scripts of the last successful revision"));
}

TEST_CASE("cdeploy over ssh: file_exists_behavior, with the local host's message", "[cdeploy][ssh]") {
  SshFixture f;
  f.group({"ssh1"});
  unwrap(write_file_atomic(f.host("ssh1") / "srv/web/index.html", "hand-made"));
  auto rev = f.revision("v1", k_appspec, site("v1"));
  SECTION("DISALLOW (the default) fails Install, naming the file, before anything is written") {
    auto r = f.deploy(rev);
    CHECK(r.exit_code == 1);
    auto inst = f.instance(f.latest_id(), "ssh1");
    auto install = CdeployFixture::event(inst, "Install");
    CHECK(install["status"] == "Failed");
    CHECK(install["diagnostics"]["message"] ==
          "a file already exists at " + (f.host("ssh1") / "srv/web/index.html").string() +
              " and was not installed by the previous deployment; file_exists_behavior is DISALLOW (use OVERWRITE "
              "or RETAIN, or remove it)");
    CHECK(CdeployFixture::event_status(inst, "ApplicationStart") == "Skipped");
    CHECK(unwrap(read_file(f.host("ssh1") / "srv/web/index.html")) == "hand-made");
    CHECK_FALSE(fs::exists(f.host("ssh1") / "srv/web/css/style.css"));
  }
  SECTION("OVERWRITE replaces it") {
    REQUIRE(f.deploy(rev, {"--file-exists-behavior", "OVERWRITE"}).exit_code == 0);
    CHECK(unwrap(read_file(f.host("ssh1") / "srv/web/index.html")) == "<h1>v1</h1>");
    auto log = unwrap(read_file(f.deployment_dir("ssh1", f.latest_id()) / "logs/scripts.log"));
    CHECK(contains(log, "copied 3 files (1 overwritten, 0 retained)"));
  }
  SECTION("RETAIN keeps it") {
    REQUIRE(f.deploy(rev, {"--file-exists-behavior", "RETAIN"}).exit_code == 0);
    CHECK(unwrap(read_file(f.host("ssh1") / "srv/web/index.html")) == "hand-made");
    CHECK(unwrap(read_file(f.host("ssh1") / "srv/web/css/style.css")) == "body{}");
  }
}

TEST_CASE("cdeploy over ssh: a missing owner and a missing setfacl are reported as on a local instance",
          "[cdeploy][ssh]") {
  SshFixture f;
  f.group({"local1", "ssh1"});
  std::string appspec = std::string(k_appspec) + R"YML(permissions:
  - object: /srv/web
    owner: no-such-user-cicd
)YML";
  auto r = f.deploy(f.revision("v1", appspec, site("v1")));
  CHECK(r.exit_code == 1);
  auto message = [&](const std::string& name) {
    return CdeployFixture::event(f.instance(f.latest_id(), name), "Install")["diagnostics"]["message"].get<std::string>();
  };
  CHECK(message("ssh1") == "permissions for '/srv/web': owner 'no-such-user-cicd' does not exist on this instance");
  CHECK(message("ssh1") == message("local1"));
  CHECK(fs::exists(f.host("ssh1") / "srv/web/index.html"));  // installed before permissions, as locally
}

TEST_CASE("cdeploy over ssh: hook failures are diagnosed: failed, missing, not executable, timed out",
          "[cdeploy][ssh]") {
  SshFixture f;
  f.group({"ssh1"});
  SECTION("a failing script: ScriptFailed with its output's tail") {
    auto r = f.deploy(f.revision("v1", k_appspec, site("v1", "echo 'health check: 503'; exit 4")));
    CHECK(r.exit_code == 1);
    auto e = CdeployFixture::event(f.instance(f.latest_id(), "ssh1"), "ValidateService");
    CHECK(e["status"] == "Failed");
    CHECK(e["diagnostics"]["errorCode"] == "ScriptFailed");
    CHECK(e["diagnostics"]["scriptName"] == "hooks/validate.sh");
    CHECK(contains(e["diagnostics"]["message"], "failed with exit status 4"));
    // The user is the one the instance ran it as (id -un there).
    CHECK(contains(e["diagnostics"]["message"], "run as user " + user_name() + " failed"));
    CHECK(e["diagnostics"]["logTail"] == "validating v1\nhealth check: 503\n");
  }
  SECTION("a script killed by a signal") {
    CHECK(f.deploy(f.revision("v1", k_appspec, site("v1", "kill -9 $$"))).exit_code == 1);
    auto e = CdeployFixture::event(f.instance(f.latest_id(), "ssh1"), "ValidateService");
    CHECK(e["diagnostics"]["errorCode"] == "ScriptFailed");
    CHECK(contains(e["diagnostics"]["message"], "failed with signal 9"));
  }
  SECTION("a missing script: ScriptMissing") {
    auto files = site("v1");
    files.erase(std::remove_if(files.begin(), files.end(), [](auto& p) { return p.first == "hooks/start.sh"; }),
                files.end());
    CHECK(f.deploy(f.revision("v1", k_appspec, files)).exit_code == 1);
    auto e = CdeployFixture::event(f.instance(f.latest_id(), "ssh1"), "ApplicationStart");
    CHECK(e["diagnostics"]["errorCode"] == "ScriptMissing");
    CHECK(contains(e["diagnostics"]["message"], "Script does not exist at specified location: " +
                                                    (f.deployment_dir("ssh1", f.latest_id()) /
                                                     "deployment-archive/hooks/start.sh")
                                                        .string()));
  }
  SECTION("a script that is not executable: ScriptNotExecutable") {
    auto rev = f.revision("v1", k_appspec, site("v1"));
    fs::permissions(rev / "hooks/start.sh", fs::perms(0644));
    CHECK(f.deploy(rev).exit_code == 1);
    auto e = CdeployFixture::event(f.instance(f.latest_id(), "ssh1"), "ApplicationStart");
    CHECK(e["diagnostics"]["errorCode"] == "ScriptNotExecutable");
  }
  SECTION("a script over its timeout: ScriptTimedOut, and its whole process group on the instance is gone") {
    std::string appspec = "version: 0.0\nos: linux\nhooks:\n  ApplicationStart:\n    - location: hooks/hang.sh\n"
                          "      timeout: 2\n";
    auto pidfile = f.scratch / "child.pid";
    auto r = f.deploy(f.revision(
        "v1", appspec,
        {{"hooks/hang.sh", "#!/bin/sh\necho waiting\nsleep 60 &\necho $! > " + pidfile.string() + "\nwait\n"}}));
    CHECK(r.exit_code == 1);
    auto e = CdeployFixture::event(f.instance(f.latest_id(), "ssh1"), "ApplicationStart");
    CHECK(e["diagnostics"]["errorCode"] == "ScriptTimedOut");
    CHECK(e["diagnostics"]["message"] == "Script at specified location: hooks/hang.sh failed to complete in 2 seconds");
    CHECK(e["diagnostics"]["logTail"] == "waiting\n");
    pid_t child = std::stoi(unwrap(read_file(pidfile)));
    CHECK(wait_gone(child));
  }
}

TEST_CASE("cdeploy over ssh: a hook that leaves a daemon holding its output does not hang the deployment",
          "[cdeploy][ssh]") {
  SshFixture f;
  f.group({"ssh1"});
  std::string appspec = "version: 0.0\nos: linux\nhooks:\n  ApplicationStart:\n    - location: hooks/daemon.sh\n";
  auto pidfile = f.scratch / "daemon.pid";
  auto r = f.deploy(f.revision(
      "v1", appspec,
      {{"hooks/daemon.sh", "#!/bin/sh\n(sleep 60; echo late) &\necho $! > " + pidfile.string() + "\necho daemon started\n"}}));
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  // The deployment did not wait for the daemon's output to close: the daemon lives on (as on a
  // local instance), and the hook's log has only what the hook wrote.
  auto e = CdeployFixture::event(f.instance(f.latest_id(), "ssh1"), "ApplicationStart");
  CHECK(e["diagnostics"]["logTail"] == "daemon started\n");
  pid_t daemon = std::stoi(unwrap(read_file(pidfile)));
  CHECK(alive(daemon));
  ::kill(daemon, SIGKILL);
}

TEST_CASE("cdeploy over ssh: runas runs a hook as another user on the instance", "[cdeploy][ssh]") {
  SshFixture f;
  if (!::getpwnam("cicd-runas")) {
    auto made = run({"useradd", "--system", "--no-create-home", "--shell", "/bin/sh", "cicd-runas"});
    if (made.exit_code != 0) skip("cannot create the test user");
  }
  fs::permissions(f.scratch.path(), fs::perms(0755));
  f.group({"ssh1"});
  std::string appspec = "version: 0.0\nos: linux\nhooks:\n  AfterInstall:\n    - location: hooks/who.sh\n"
                        "      runas: cicd-runas\n  ApplicationStart:\n    - location: hooks/who.sh\n"
                        "      runas: no-such-user-cicd\n";
  auto r = f.deploy(f.revision("v1", appspec, {{"hooks/who.sh", "#!/bin/sh\necho \"ran as $(id -un) home $HOME\"\n"}}));
  CHECK(r.exit_code == 1);
  auto inst = f.instance(f.latest_id(), "ssh1");
  auto after = CdeployFixture::event(inst, "AfterInstall");
  CHECK(after["status"] == "Succeeded");
  CHECK(after["diagnostics"]["logTail"] == "ran as cicd-runas home " + std::string(::getpwnam("cicd-runas")->pw_dir) + "\n");
  auto start = CdeployFixture::event(inst, "ApplicationStart");
  CHECK(start["diagnostics"]["errorCode"] == "UnknownError");
  CHECK(start["diagnostics"]["message"] == "cannot run as 'no-such-user-cicd': no such user");
}

TEST_CASE("cdeploy over ssh: an unreachable instance or a bad host key fails it with ssh's words", "[cdeploy][ssh]") {
  SshFixture f;
  f.ok({"create-application", "--application-name", "web"});
  int closed = free_port();
  f.ok({"register-on-premises-instance", "--instance-name", "down", "--ssh", fmt::format("{}@127.0.0.1:{}", user_name(), closed),
        "--root", f.host("down").string()});
  f.ok({"register-on-premises-instance", "--instance-name", "ssh1", "--ssh", f.sshd.target(), "--root",
        f.host("ssh1").string()});
  f.ok({"add-tags-to-on-premises-instances", "--instance-names", "down", "ssh1", "--tags", "Key=Env,Value=Prod"});
  f.ok({"create-deployment-group", "--application-name", "web", "--deployment-group-name", "prod",
        "--on-premises-instance-tag-filters", "Key=Env,Value=Prod,Type=KEY_AND_VALUE", "--deployment-config-name",
        "CodeDeployDefault.AllAtOnce"});
  auto rev = f.revision("v1", k_appspec, site("v1"));
  auto first_failure = [&](const std::string& name) {
    auto inst = f.instance(f.latest_id(), name);
    CHECK(inst["status"] == "Failed");
    for (auto& e : inst["lifecycleEvents"])
      if (e["status"] == "Failed") return e["diagnostics"]["message"].get<std::string>();
    return std::string();
  };
  SECTION("nothing listens on the port") {
    CHECK(f.deploy(rev).exit_code == 0);  // AllAtOnce: one instance that succeeded will do
    CHECK(first_failure("down") ==
          fmt::format("instance 'down' (ssh {}@127.0.0.1:{}): ssh failed: ssh: connect to host 127.0.0.1 port {}: "
                      "Connection refused",
                      user_name(), closed, closed));
    CHECK(f.instance(f.latest_id(), "ssh1")["status"] == "Succeeded");
  }
  SECTION("the key is not accepted") {
    REQUIRE(run({"ssh-keygen", "-q", "-N", "", "-t", "ed25519", "-f", (f.scratch / "stranger").string()}).exit_code == 0);
    auto config = f.sshd.client_config(f.sshd.dir() / "known_hosts");
    auto at = config.find(f.sshd.dir().string() + "/user_key");
    config.replace(at, (f.sshd.dir() / "user_key").string().size(), (f.scratch / "stranger").string());
    unwrap(write_file_atomic(f.scratch / "stranger_config", config));
    f.extra_env["CDEPLOY_SSH"] = "ssh -F " + (f.scratch / "stranger_config").string();
    CHECK(f.deploy(rev).exit_code == 1);
    CHECK(first_failure("ssh1") == fmt::format("instance 'ssh1' (ssh {}): ssh failed: {}@127.0.0.1: Permission denied "
                                               "(publickey).",
                                               f.sshd.target(), user_name()));
  }
  SECTION("the host key is not the one known") {
    unwrap(write_file_atomic(f.sshd.dir() / "other_known_hosts", ""));
    unwrap(write_file_atomic(f.scratch / "strict_config", f.sshd.client_config(f.sshd.dir() / "other_known_hosts")));
    f.extra_env["CDEPLOY_SSH"] = "ssh -F '" + (f.scratch / "strict_config").string() + "'";
    CHECK(f.deploy(rev).exit_code == 1);
    CHECK(first_failure("ssh1") == fmt::format("instance 'ssh1' (ssh {}): ssh failed: Host key verification failed.",
                                               f.sshd.target()));
  }
}

TEST_CASE("cdeploy over ssh: stop-deployment ends the hook running on the instance", "[cdeploy][ssh]") {
  SshFixture f;
  f.group({"ssh1"});
  std::string appspec = "version: 0.0\nos: linux\nhooks:\n  AfterInstall:\n    - location: hooks/slow.sh\n";
  auto pidfile = f.scratch / "slow.pid";
  auto rev = f.revision("slow", appspec,
                        {{"hooks/slow.sh", "#!/bin/sh\nsleep 60 &\necho $! > " + pidfile.string() + ".tmp\nmv " +
                                               pidfile.string() + ".tmp " + pidfile.string() + "\nwait\n"}});
  auto pending = std::async(std::launch::async, [&] { return f.deploy(rev); });
  REQUIRE(wait_until([&] { return fs::exists(pidfile); }));
  pid_t child = std::stoi(unwrap(read_file(pidfile)));
  CHECK(alive(child));
  auto stop = f.cdeploy({"stop-deployment", "--deployment-id", f.latest_id()});
  CHECK(stop.exit_code == 0);
  CHECK(pending.get().exit_code == 4);
  CHECK(f.deployment(f.latest_id())["status"] == "Stopped");
  CHECK(wait_gone(child));
}

TEST_CASE("cdeploy over ssh: a killed cdeploy leaves no hook running on the instance", "[cdeploy][ssh]") {
  SshFixture f;
  f.group({"ssh1"});
  std::string appspec = "version: 0.0\nos: linux\nhooks:\n  AfterInstall:\n    - location: hooks/slow.sh\n";
  auto pidfile = f.scratch / "slow.pid";
  auto rev = f.revision("slow", appspec,
                        {{"hooks/slow.sh", "#!/bin/sh\nsleep 60 &\necho $! > " + pidfile.string() + ".tmp\nmv " +
                                               pidfile.string() + ".tmp " + pidfile.string() + "\nwait\n"}});
  auto pending = std::async(std::launch::async, [&] { return f.deploy(rev); });
  REQUIRE(wait_until([&] { return fs::exists(pidfile); }));
  pid_t child = std::stoi(unwrap(read_file(pidfile)));
  CHECK(alive(child));
  auto id = f.latest_id();
  ::kill(f.deployment(id)["process"]["pid"].get<int>(), SIGKILL);
  CHECK(pending.get().exit_code == 128 + SIGKILL);
  // The wrapper on the instance sees its stdin close and ends the hook.
  CHECK(wait_gone(child));
  CHECK(f.deployment(id)["status"] == "Failed");
}

TEST_CASE("cdeploy over ssh: acls and SELinux contexts come out as on a local instance", "[cdeploy][ssh]") {
  SshFixture f;
  f.group({"local1", "ssh1"});
  SECTION("acls: applied with setfacl on the instance, or the same error without it") {
    std::string appspec = std::string(k_appspec) + R"YML(permissions:
  - object: /srv/web
    acls:
      - u:nobody:rw
      - d:u:nobody:r
)YML";
    auto r = f.deploy(f.revision("v1", appspec, site("v1")));
    auto message = [&](const std::string& name) {
      return CdeployFixture::event(f.instance(f.latest_id(), name), "Install")["diagnostics"]["message"].get<std::string>();
    };
    CHECK(message("ssh1") == message("local1"));
    if (find_program("setfacl").empty()) {
      CHECK(r.exit_code == 1);
      CHECK(contains(message("ssh1"), "set acls, but setfacl is not installed on this instance"));
      return;
    }
    INFO(r.err << message("ssh1"));
    REQUIRE(r.exit_code == 0);
    auto acl = [&](const std::string& name, const std::string& rel) {
      auto out = run({"getfacl", "--omit-header", "--absolute-names", (f.host(name) / rel).string()});
      REQUIRE(out.exit_code == 0);
      return out.out;
    };
    CHECK(contains(acl("ssh1", "srv/web/index.html"), "user:nobody:rw-"));
    CHECK(contains(acl("ssh1", "srv/web/css"), "default:user:nobody:r--"));
    for (auto rel : {"srv/web/index.html", "srv/web/css", "srv/web/css/style.css"})
      CHECK(acl("ssh1", rel) == acl("local1", rel));
  }
  SECTION("an SELinux context where SELinux is off: the same error") {
    std::string appspec = std::string(k_appspec) + R"YML(permissions:
  - object: /srv/web
    context:
      type: httpd_sys_content_t
)YML";
    if (fs::exists("/sys/fs/selinux/enforce")) skip("SELinux is enabled here");
    CHECK(f.deploy(f.revision("v1", appspec, site("v1"))).exit_code == 1);
    auto message = [&](const std::string& name) {
      return CdeployFixture::event(f.instance(f.latest_id(), name), "Install")["diagnostics"]["message"].get<std::string>();
    };
    CHECK(message("ssh1") == "permissions for '/srv/web' set an SELinux context, but SELinux is not enabled on this instance");
    CHECK(message("ssh1") == message("local1"));
  }
}
