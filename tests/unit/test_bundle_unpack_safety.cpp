// The deployment bundle unpacker holds symlinks to the archive extractor's rule, and reports a
// mode, a time or a write it could not set (a lost +x would show much later as a hook "not
// executable"). Kept apart from test_bundle_unpack.cpp, whose escape tests are another's.
#include <dlfcn.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <cerrno>
#include <mutex>

#include "artifact/archive.hpp"
#include "deploy/bundle_unpack.hpp"
#include "support/test_support.hpp"

using namespace cicd;
namespace fs = std::filesystem;

// ---- fault injection: fchmod, futimens and close fail for one chosen file ----
//
// The unit test binary links libcicd statically, so these definitions are the ones the unpacker
// calls; each forwards to the C library's unless the call is the one chosen to fail, for a file
// whose name ends with the chosen suffix.

namespace {

enum class FailingCall { none, fchmod, futimens, close };
std::atomic<FailingCall> g_failing{FailingCall::none};
std::mutex g_suffix_mutex;
std::string g_suffix;

bool should_fail(FailingCall call, int fd) {
  if (g_failing.load() != call) return false;
  char link[64];
  std::snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  char target[4096];
  ssize_t n = ::readlink(link, target, sizeof target - 1);
  if (n <= 0) return false;
  std::string_view path(target, static_cast<size_t>(n));
  std::lock_guard lock(g_suffix_mutex);
  return path.ends_with(g_suffix);
}

template <class F>
F real(const char* name) {
  return reinterpret_cast<F>(::dlsym(RTLD_NEXT, name));
}

// Makes `call` fail for files whose path ends with `suffix` while it lives.
class Fault {
 public:
  Fault(FailingCall call, std::string suffix) {
    {
      std::lock_guard lock(g_suffix_mutex);
      g_suffix = std::move(suffix);
    }
    g_failing = call;
  }
  ~Fault() { g_failing = FailingCall::none; }
  Fault(const Fault&) = delete;
  Fault& operator=(const Fault&) = delete;
};

}  // namespace

extern "C" int fchmod(int fd, mode_t mode) {
  static auto next = real<int (*)(int, mode_t)>("fchmod");
  if (should_fail(FailingCall::fchmod, fd)) {
    errno = EPERM;
    return -1;
  }
  return next(fd, mode);
}

extern "C" int futimens(int fd, const struct timespec times[2]) {
  static auto next = real<int (*)(int, const struct timespec*)>("futimens");
  if (should_fail(FailingCall::futimens, fd)) {
    errno = EROFS;
    return -1;
  }
  return next(fd, times);
}

extern "C" int close(int fd) {
  static auto next = real<int (*)(int)>("close");
  bool fail = should_fail(FailingCall::close, fd);
  int rc = next(fd);
  if (fail) {
    errno = EIO;  // as a delayed write error reported at close (NFS, a full disk)
    return -1;
  }
  return rc;
}

namespace {

// A bundle of a small script and a file over the unpacker's streaming size.
fs::path bundle_with_script_and_big_file(const test::Scratch& dir) {
  dir.write("src/hooks/start.sh", "#!/bin/sh\necho started\n", 0755);
  dir.write("src/big.bin", std::string(17 << 20, 'b'), 0755);
  auto bundle = dir / "bundle.tar";
  REQUIRE(write_tar({{"hooks/start.sh", dir / "src/hooks/start.sh", false}, {"big.bin", dir / "src/big.bin", false}},
                    bundle));
  return bundle;
}

}  // namespace

TEST_CASE("bundle unpack safety: symlink targets follow the extractor's rule", "[bundle][safety]") {
  struct Case {
    std::string script;
    std::string message;  // after "bundle '<path>': "
  };
  std::vector<Case> cases = {
      {"file('a/ok'); link('a/etc', '/etc')", "entry 'a/etc' is a symlink pointing outside the destination ('/etc')"},
      {"file('a/ok'); link('a/up', '../../outside')",
       "entry 'a/up' is a symlink pointing outside the destination ('../../outside')"},
      {"link('b', '.'); link('a', 'b/../..')", "entry 'a' is a symlink pointing outside the destination ('b/../..')"},
  };
  for (auto& c : cases) {
    INFO(c.script);
    test::Scratch dir;
    test::craft_tar(c.script, dir / "b.tar");
    auto r = unpack_own_bundle(dir / "b.tar", dir / "out");
    REQUIRE_FALSE(r);
    CHECK(r.error().kind == ErrorKind::invalid);
    CHECK(r.error().message == "bundle '" + (dir / "b.tar").string() + "': " + c.message);
    // The same bundle, through the extractor (as an ssh instance's copy goes), is refused too.
    CHECK_FALSE(extract_archive(dir / "b.tar", dir / "x"));
  }
  // Links that stay inside are kept.
  test::Scratch dir;
  test::craft_tar("file('a/b/data'); link('a/b/up', '../../a/b/data'); link('top', 'a/b')", dir / "ok.tar");
  REQUIRE(unpack_own_bundle(dir / "ok.tar", dir / "out"));
  CHECK(dir.read("out/a/b/up") == "x");
  CHECK(fs::read_symlink(dir / "out/top") == "a/b");
}

TEST_CASE("bundle unpack safety: a mode, a time or a write that fails is an error naming the file",
          "[bundle][safety]") {
  test::Scratch dir;
  auto bundle = bundle_with_script_and_big_file(dir);
  REQUIRE(unpack_own_bundle(bundle, dir / "ok"));
  struct stat st {};
  REQUIRE(::stat((dir / "ok/hooks/start.sh").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0755);

  struct Case {
    FailingCall call;
    std::string file;
    std::string message;  // with PATH for the file's path
  };
  std::vector<Case> cases = {
      {FailingCall::fchmod, "hooks/start.sh", "cannot set the mode of 'PATH': Operation not permitted"},
      {FailingCall::fchmod, "big.bin", "cannot set the mode of 'PATH': Operation not permitted"},
      {FailingCall::futimens, "hooks/start.sh", "cannot set the modification time of 'PATH': Read-only file system"},
      {FailingCall::futimens, "big.bin", "cannot set the modification time of 'PATH': Read-only file system"},
      {FailingCall::close, "big.bin", "cannot write 'PATH': Input/output error"},
      {FailingCall::close, "hooks/start.sh", "cannot write 'PATH': Input/output error"},
  };
  int n = 0;
  for (auto& c : cases) {
    auto out = dir / ("out" + std::to_string(n++));
    INFO(c.file << " " << static_cast<int>(c.call));
    Fault fault(c.call, "/" + c.file);
    auto r = unpack_own_bundle(bundle, out);
    REQUIRE_FALSE(r);
    CHECK(r.error().kind == ErrorKind::io);
    std::string expected = c.message;
    expected.replace(expected.find("PATH"), 4, (out / c.file).string());
    CHECK(r.error().message == expected);
  }
}
