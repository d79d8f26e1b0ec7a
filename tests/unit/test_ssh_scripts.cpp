// The fixed scripts an ssh instance runs, driven through a stand-in for ssh that runs the remote
// command on this machine in a new PID namespace (where the remote shell's $$ is 1 or 2, so a name
// built from it is one a local attacker could plant first). The real sshd tests are in
// tests/cli/test_cdeploy_ssh.cpp.
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <thread>

#include "artifact/archive.hpp"
#include "deploy/host.hpp"
#include "support/test_support.hpp"

using namespace cicd;
namespace fs = std::filesystem;

namespace {

// ssh's command line is OPTIONS... -- DESTINATION [COMMAND]: without a command (the master
// connection, -O exit) there is nothing to do; with one, it runs here as sshd would run it.
constexpr const char* k_fake_ssh = R"SH(#!/bin/sh
while [ $# -gt 0 ] && [ "$1" != -- ]; do shift; done
shift 2
[ $# -eq 0 ] && exit 0
exec unshare --pid --fork sh -c "$1"
)SH";

struct FakeInstance {
  test::Scratch dir;
  PosixProcessRunner runner;
  std::unique_ptr<SshHost> host;

  FakeInstance() {
    if (::geteuid() != 0) test::skip("a new PID namespace (unshare --pid) needs root here");
    if (test::run({"unshare", "--pid", "--fork", "true"}).exit_code != 0) test::skip("unshare --pid is not available");
    dir.write("bin/ssh", k_fake_ssh, 0755);
    InstanceTarget target;
    target.kind = TargetKind::ssh;
    target.host = "instance";
    host = std::make_unique<SshHost>("i1", target, "/", std::vector<std::string>{(dir / "bin/ssh").string()}, runner);
    REQUIRE(host->connect());
  }
};

}  // namespace

TEST_CASE("ssh scripts: a file is written through a temporary name no one can plant first", "[deploy][ssh]") {
  FakeInstance f;
  auto dest = f.dir / "instance/state.txt";
  fs::create_directories(dest.parent_path());
  auto victim = f.dir.write("victim.txt", "precious");
  // What "$1.tmp.$$" would have been, planted as symlinks to another file.
  for (int pid = 1; pid <= 8; ++pid) fs::create_symlink(victim, dest.string() + ".tmp." + std::to_string(pid));

  REQUIRE(f.host->write_text(dest.string(), "new state"));
  CHECK(f.dir.read("victim.txt") == "precious");
  struct stat st {};
  REQUIRE(::lstat(dest.c_str(), &st) == 0);
  CHECK(S_ISREG(st.st_mode));
  CHECK((st.st_mode & 07777) == 0644);
  CHECK(f.dir.read("instance/state.txt") == "new state");
  // Only the planted links are left beside it: the temporary file was renamed into place.
  size_t entries = 0;
  for (auto& e : fs::directory_iterator(dest.parent_path())) entries += e.is_symlink() ? 0 : 1;
  CHECK(entries == 1);
}

TEST_CASE("ssh scripts: a bundle unpacks without set-user-ID, set-group-ID or sticky bits, as locally",
          "[deploy][ssh]") {
  FakeInstance f;
  f.dir.write("rev/bin/tool", "#!/bin/sh\n", 0755);
  f.dir.write("rev/shared/file", "x", 0664);
  REQUIRE(::chmod((f.dir / "rev/bin/tool").c_str(), 06755) == 0);
  REQUIRE(::chmod((f.dir / "rev/shared").c_str(), 03775) == 0);
  REQUIRE(write_tar({{"bin/tool", f.dir / "rev/bin/tool", false},
                     {"shared", f.dir / "rev/shared", false},
                     {"shared/file", f.dir / "rev/shared/file", false}},
                    f.dir / "bundle.tar"));
  auto remote = f.dir / "instance/deployment-archive";
  REQUIRE(f.host->unpack_bundle(f.dir / "bundle.tar", remote.string()));
  auto mode = [](const fs::path& p) {
    struct stat st {};
    REQUIRE(::lstat(p.c_str(), &st) == 0);
    return st.st_mode & 07777;
  };
  CHECK(mode(remote / "bin/tool") == 0755);
  CHECK(mode(remote / "shared") == 0775);
  CHECK(mode(remote / "shared/file") == 0664);
  CHECK(f.dir.read("instance/deployment-archive/bin/tool") == "#!/bin/sh\n");
  // Nothing of the private directory it was unpacked in is left beside it.
  CHECK(std::distance(fs::directory_iterator(f.dir / "instance"), fs::directory_iterator()) == 1);
}

// A stand-in ssh that runs the remote command here as it is (no new namespace needed).
constexpr const char* k_plain_ssh = R"SH(#!/bin/sh
while [ $# -gt 0 ] && [ "$1" != -- ]; do shift; done
shift 2
[ $# -eq 0 ] && exit 0
exec sh -c "$1"
)SH";

TEST_CASE("ssh scripts: a remote step that does not answer times out, and a stop ends it", "[deploy][ssh]") {
  test::Scratch dir;
  dir.write("bin/ssh", k_plain_ssh, 0755);
  PosixProcessRunner runner;
  InstanceTarget target;
  target.kind = TargetKind::ssh;
  target.host = "instance";
  Run run;
  SshHost host("i1", target, "/", {(dir / "bin/ssh").string()}, runner, &run);
  auto pidfile = dir / "remote.pid";
  std::string hang = "echo $$ > " + pidfile.string() + "; exec sleep 60";
  SECTION("timeout") {
    auto r = host.run_script(hang, {}, {}, {.timeout = std::chrono::seconds(1)});
    REQUIRE_FALSE(r);
    CHECK(r.error().kind == ErrorKind::timed_out);
    CHECK(r.error().message == "instance 'i1' (ssh instance:22): no answer within 1 s");
  }
  SECTION("stop") {
    std::thread stopper([&] {
      test::wait_until([&] { return fs::exists(pidfile); });
      run.cancel(CancelReason::stopped, "stopped by a test");
    });
    auto r = host.run_script(hang, {}, {});
    stopper.join();
    REQUIRE_FALSE(r);
    CHECK(r.error().kind == ErrorKind::stopped);
    CHECK(r.error().message == "instance 'i1': the deployment was stopped by a test");
  }
  // The ssh client's group went with it (here, the "remote" sleep itself).
  pid_t remote = std::stoi(dir.read("remote.pid"));
  CHECK(test::wait_gone(remote));
}
