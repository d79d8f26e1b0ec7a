// CDEPLOY_SSH: the ssh command and its options, split as a shell would split them (no expansion).
#include <catch2/catch.hpp>

#include "deploy/host.hpp"

using namespace cicd;

TEST_CASE("CDEPLOY_SSH splits into words with quotes and escapes, nothing expanded", "[deploy][ssh]") {
  using V = std::vector<std::string>;
  CHECK(*split_ssh_command("ssh") == V{"ssh"});
  CHECK(*split_ssh_command("  ssh   -F /etc/x  ") == V{"ssh", "-F", "/etc/x"});
  CHECK(*split_ssh_command("ssh -F '/my dir/config' -o \"ProxyJump=a b\"") ==
        V{"ssh", "-F", "/my dir/config", "-o", "ProxyJump=a b"});
  CHECK(*split_ssh_command(R"(ssh -i my\ key -o "x=\"q\"" '$HOME' a'b'c)") ==
        V{"ssh", "-i", "my key", "-o", "x=\"q\"", "$HOME", "abc"});
  CHECK(*split_ssh_command("ssh ''") == V{"ssh", ""});
  CHECK(split_ssh_command("")->empty());
  auto bad = split_ssh_command("ssh -F 'unterminated");
  REQUIRE_FALSE(bad);
  CHECK(bad.error().message == "CDEPLOY_SSH: unterminated ' quote");
  CHECK_FALSE(split_ssh_command("ssh \"open"));
}
