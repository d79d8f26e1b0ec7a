#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "formats/buildspec.hpp"

using namespace cicd;

namespace {

// Every diagnostic as the tools print it, in order.
std::vector<std::string> all(const BuildspecParse& r) {
  std::vector<std::string> out;
  for (auto& d : r.diagnostics.items()) out.push_back(format_diagnostic("b.yml", d));
  return out;
}

using Lines = std::vector<std::string>;

const Phase& build_phase(const BuildspecParse& r) { return r.spec->phase(PhaseType::build); }

std::vector<std::string> values(const std::vector<SpecString>& strings) {
  std::vector<std::string> out;
  for (auto& s : strings) out.push_back(s.value);
  return out;
}

// A valid buildspec's on-failure, given the value as written.
OnFailure on_failure(const std::string& value) {
  auto r = parse_buildspec("version: 0.2\nphases:\n  build:\n    on-failure: " + value +
                           "\n    commands: [x]\n");
  REQUIRE(r.diagnostics.items().empty());
  REQUIRE(r.spec);
  return build_phase(r).on_failure;
}

// The single diagnostic of a buildspec that should have exactly one.
std::string only_diagnostic(std::string_view text) {
  auto r = parse_buildspec(text);
  auto lines = all(r);
  INFO(text);
  REQUIRE(lines.size() == 1);
  return lines[0];
}

}  // namespace

// ---- version, top level, documents ----

TEST_CASE("buildspec: a minimal 0.2 buildspec", "[buildspec]") {
  auto r = parse_buildspec(R"(version: 0.2
phases:
  build:
    commands:
      - echo hello
      - make
)");
  REQUIRE(r.spec);
  CHECK(r.diagnostics.items().empty());
  CHECK(r.spec->version == "0.2");
  CHECK(r.spec->version_position.line == 1);
  CHECK(r.spec->version_position.column == 10);
  CHECK_FALSE(r.spec->fresh_shell_per_command());
  const Phase& build = build_phase(r);
  CHECK(build.present);
  CHECK(build.position.line == 3);
  CHECK(build.position.column == 3);
  REQUIRE(build.commands.size() == 2);
  CHECK(build.commands[0].value == "echo hello");
  CHECK(build.commands[0].position.line == 5);
  CHECK(build.commands[0].position.column == 9);
  CHECK(build.commands[1].value == "make");
  CHECK(build.on_failure.action == OnFailureAction::unset);
  CHECK_FALSE(r.spec->phase(PhaseType::install).present);
  CHECK_FALSE(r.spec->artifacts.present);
  CHECK_FALSE(r.spec->cache.present);
  CHECK_FALSE(r.spec->batch.present);
}

TEST_CASE("buildspec: version may be written as a number or a string", "[buildspec]") {
  for (std::string v : {"0.2", "\"0.2\"", "'0.2'"}) {
    auto r = parse_buildspec("version: " + v + "\nphases:\n  build:\n    commands: [x]\n");
    INFO(v);
    REQUIRE(r.spec);
    CHECK(r.spec->version == "0.2");
  }
}

TEST_CASE("buildspec: other versions are refused, naming the accepted ones", "[buildspec]") {
  CHECK(only_diagnostic("version: 0.3\nphases:\n  build:\n    commands: [x]\n") ==
        "b.yml:1:10: error: 'version' must be 0.2 (or 0.1); got '0.3'");
  CHECK(only_diagnostic("version: [0.2]\nphases:\n  build:\n    commands: [x]\n") ==
        "b.yml:1:10: error: 'version' must be 0.2 (or 0.1); got a list");
  CHECK(only_diagnostic("version:\nphases:\n  build:\n    commands: [x]\n") ==
        "b.yml:1:1: error: 'version' must be 0.2 (or 0.1); got an empty value");
  CHECK(only_diagnostic("phases:\n  build:\n    commands: [x]\n") ==
        "b.yml:1:1: error: missing required key 'version'; expected 'version: 0.2'");
}

TEST_CASE("buildspec: version 0.1 maps environment_variables.plaintext to env variables",
          "[buildspec]") {
  auto r = parse_buildspec(R"(version: 0.1
environment_variables:
  plaintext:
    STAGE: prod
    COUNT: 3
phases:
  build:
    commands:
      - echo $STAGE
)");
  REQUIRE(r.spec);
  CHECK(r.diagnostics.items().empty());
  CHECK(r.spec->version == "0.1");
  CHECK(r.spec->fresh_shell_per_command());
  REQUIRE(r.spec->env.variables.size() == 2);
  CHECK(r.spec->env.variables[0].name == "STAGE");
  CHECK(r.spec->env.variables[0].value == "prod");
  CHECK(r.spec->env.variables[0].position.line == 4);
  CHECK(r.spec->env.variables[0].position.column == 5);
  CHECK(r.spec->env.variables[1].value == "3");
}

TEST_CASE("buildspec: keys of the other version are ignored with a warning", "[buildspec]") {
  auto r = parse_buildspec(
      "version: 0.2\nenvironment_variables:\n  plaintext:\n    A: b\nphases:\n  build:\n"
      "    commands: [x]\n");
  REQUIRE(r.spec);
  CHECK(r.spec->env.variables.empty());
  CHECK(all(r) ==
        Lines{"b.yml:2:1: warning: 'environment_variables' belongs to buildspec version 0.1 and is "
              "ignored in version 0.2; use 'env: variables:'"});

  r = parse_buildspec(
      "version: 0.1\nenv:\n  variables:\n    A: b\nphases:\n  build:\n    commands: [x]\n");
  REQUIRE(r.spec);
  CHECK(r.spec->env.variables.empty());
  CHECK(
      all(r) ==
      Lines{"b.yml:2:1: warning: 'env' belongs to buildspec version 0.2 and is ignored in version "
            "0.1; use 'environment_variables: plaintext:' or 'version: 0.2'"});
}

TEST_CASE("buildspec: empty documents and non-mappings are errors", "[buildspec]") {
  for (std::string text : {"", "# just a comment\n", "---\n"}) {
    auto r = parse_buildspec(text);
    INFO(text);
    CHECK_FALSE(r.spec);
    CHECK(
        all(r) ==
        Lines{"b.yml:1:1: error: empty buildspec: expected a mapping with 'version' and 'phases'"});
  }
  CHECK(only_diagnostic("- version: 0.2\n") ==
        "b.yml:1:1: error: a buildspec must be a mapping with 'version' and 'phases'; got a list");
  CHECK(only_diagnostic("hello\n") ==
        "b.yml:1:1: error: a buildspec must be a mapping with 'version' and 'phases'; got 'hello'");
}

TEST_CASE("buildspec: a YAML syntax error is one positioned error", "[buildspec]") {
  auto r = parse_buildspec("version: 0.2\nphases\n\tbuild:\n    commands: [x]\n");
  CHECK_FALSE(r.spec);
  CHECK(
      all(r) ==
      Lines{"b.yml:3:1: error: invalid YAML: illegal tab when looking for indentation (indent with "
            "spaces, not tabs)"});
  // yaml-cpp words some tab mistakes differently; the hint still comes from the line itself.
  r = parse_buildspec("version: 0.2\nphases:\n\tbuild:\n    commands: [x]\n");
  CHECK(all(r) ==
        Lines{"b.yml:3:7: error: invalid YAML: illegal map value (indent with spaces, not tabs)"});

  r = parse_buildspec("version: 0.2\nphases: [a, b\n");
  CHECK_FALSE(r.spec);
  REQUIRE(r.diagnostics.items().size() == 1);
  CHECK(r.diagnostics.items()[0].severity == Severity::error);
  CHECK(r.diagnostics.items()[0].position.line > 0);
  CHECK(r.diagnostics.items()[0].message.starts_with("invalid YAML: "));
}

TEST_CASE("buildspec: absurd nesting is an error, not a stack overflow", "[buildspec]") {
  auto r = parse_buildspec("version: 0.2\nphases: " + std::string(20000, '[') +
                           std::string(20000, ']') + "\n");
  CHECK_FALSE(r.spec);
  REQUIRE(r.diagnostics.items().size() == 1);
  CHECK(r.diagnostics.items()[0].position.line == 2);
  CHECK(r.diagnostics.items()[0].message == "invalid YAML: nested too deeply");
}

TEST_CASE("buildspec: unknown keys are warnings with a did-you-mean", "[buildspec]") {
  auto r = parse_buildspec(R"(version: 0.2
phase:
  build:
    commands: [x]
phases:
  pre-build:
    commands: [x]
  build:
    command: [x]
    commands: [y]
)");
  REQUIRE(r.spec);
  CHECK(all(r) ==
        Lines{
            "b.yml:2:1: warning: unknown key 'phase' in buildspec; did you mean 'phases'?",
            "b.yml:6:3: warning: unknown key 'pre-build' in phases; did you mean 'pre_build'?",
            "b.yml:9:5: warning: unknown key 'command' in phases.build; did you mean 'commands'?",
        });
  CHECK_FALSE(r.spec->phase(PhaseType::pre_build).present);
}

TEST_CASE("buildspec: an unknown key far from any known one lists the expected keys",
          "[buildspec]") {
  CHECK(only_diagnostic(
            "version: 0.2\nproxy:\n  zzzzzzzz: true\nphases:\n  build:\n    commands: [x]\n") ==
        "b.yml:3:3: warning: unknown key 'zzzzzzzz' in proxy; expected upload-artifacts or logs");
}

TEST_CASE("buildspec: duplicate keys are errors pointing at the first", "[buildspec]") {
  auto r = parse_buildspec(R"(version: 0.2
env:
  variables:
    KEY: one
    OTHER: x
    KEY: two
phases:
  build:
    commands: [x]
phases:
  build:
    commands: [y]
)");
  CHECK_FALSE(r.spec);
  CHECK(all(r) == Lines{
                      "b.yml:6:5: error: duplicate key 'KEY' in env.variables (first at 4:5)",
                      "b.yml:10:1: error: duplicate key 'phases' in buildspec (first at 7:1)",
                  });
}

TEST_CASE("buildspec: type mismatches name the key and what was expected", "[buildspec]") {
  auto r = parse_buildspec(R"(version: 0.2
env:
  - A=b
run-as: [root]
phases:
  build:
    run-as: {user: x}
    commands: [x]
cache:
  paths: {a: b}
)");
  CHECK_FALSE(r.spec);
  CHECK(all(r) == Lines{
                      "b.yml:3:3: error: 'env' must be a mapping; got a list",
                      "b.yml:4:9: error: 'run-as' must be a string; got a list",
                      "b.yml:7:13: error: 'run-as' must be a string; got a mapping",
                      "b.yml:10:10: error: 'paths' must be a list of strings; got a mapping",
                  });
}

TEST_CASE("buildspec: a mistyped section gets one error, not a follow-up", "[buildspec]") {
  auto r = parse_buildspec(R"(version: 0.2
phases:
  - build
reports:
  group: [a.xml]
artifacts:
  - a
)");
  CHECK(all(r) == Lines{
                      "b.yml:3:3: error: 'phases' must be a mapping; got a list",
                      "b.yml:5:10: error: 'reports.group' must be a mapping; got a list",
                      "b.yml:7:3: error: 'artifacts' must be a mapping; got a list",
                  });
}

TEST_CASE("buildspec: every error is reported, sorted by position", "[buildspec]") {
  auto r = parse_buildspec(R"(version: 0.2
artifacts:
  discard-paths: maybe
phases:
  build:
    on-failure: SOMETIMES
    commands:
      - echo a: b
env:
  variables:
    1BAD: x
)");
  CHECK_FALSE(r.spec);
  auto lines = all(r);
  REQUIRE(lines.size() == 5);
  CHECK(lines[0] == "b.yml:2:1: error: missing required key 'files' in artifacts");
  CHECK(
      lines[1] ==
      "b.yml:3:18: error: 'discard-paths' must be true or false (or yes/no, on/off); got 'maybe'");
  CHECK(lines[2].starts_with("b.yml:6:17: error: 'on-failure' must be"));
  CHECK(lines[3].starts_with("b.yml:8:9: error: YAML read this command as a mapping"));
  CHECK(lines[4].starts_with(
      "b.yml:11:5: error: '1BAD' in env.variables is not a valid variable name"));
}

// ---- env ----

TEST_CASE("buildspec: env variable values are taken as written", "[buildspec]") {
  auto r = parse_buildspec(R"(version: 0.2
env:
  shell: bash
  variables:
    SAW: true
    N: 5
    PY: 3.10
    QUOTED: "a: b"
    REF: $HOME/x
    _under_score9: ok
  parameter-store:
    DB_PASS: /prod/db/password
  secrets-manager:
    TOKEN: arn:aws:secretsmanager:us-east-1:123456789012:secret:name:token:AWSCURRENT
    PLAIN: my-secret:key
  exported-variables:
    - SAW
    - N
  git-credential-helper: yes
phases:
  build:
    commands: [x]
)");
  REQUIRE(r.spec);
  CHECK(r.diagnostics.items().empty());
  const EnvSpec& env = r.spec->env;
  REQUIRE(env.shell);
  CHECK(env.shell->value == "bash");
  REQUIRE(env.variables.size() == 6);
  CHECK(env.variables[0].name == "SAW");
  CHECK(env.variables[0].value == "true");
  CHECK(env.variables[1].value == "5");
  CHECK(env.variables[2].value == "3.10");
  CHECK(env.variables[3].value == "a: b");
  CHECK(env.variables[4].value == "$HOME/x");
  CHECK(env.variables[5].name == "_under_score9");
  REQUIRE(env.parameter_store.size() == 1);
  CHECK(env.parameter_store[0].name == "DB_PASS");
  CHECK(env.parameter_store[0].value == "/prod/db/password");
  REQUIRE(env.secrets_manager.size() == 2);
  CHECK(env.secrets_manager[0].value ==
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:name:token:AWSCURRENT");
  CHECK(env.secrets_manager[1].value == "my-secret:key");
  CHECK(values(env.exported_variables) == Lines{"SAW", "N"});
  CHECK(env.git_credential_helper == true);
}

TEST_CASE("buildspec: an env variable with no value is empty, with a warning", "[buildspec]") {
  auto r = parse_buildspec(
      "version: 0.2\nenv:\n  variables:\n    EMPTY:\n    NIL: ~\nphases:\n  build:\n"
      "    commands: [x]\n");
  REQUIRE(r.spec);
  REQUIRE(r.spec->env.variables.size() == 2);
  CHECK(r.spec->env.variables[0].value.empty());
  CHECK(r.spec->env.variables[1].value.empty());
  CHECK(all(r) ==
        Lines{
            "b.yml:4:5: warning: 'EMPTY' in env.variables has no value; using an empty string",
            "b.yml:5:5: warning: 'NIL' in env.variables has no value; using an empty string",
        });
}

TEST_CASE("buildspec: env variables must be scalars with shell names", "[buildspec]") {
  auto r = parse_buildspec(R"(version: 0.2
env:
  variables:
    LIST: [a, b]
    MAP:
      a: b
    my-var: x
    9LIVES: x
  parameter-store:
    "A B": /x
  secrets-manager:
    S1: ":key"
    S2: ""
  exported-variables:
    - GOOD
    - bad.name
phases:
  build:
    commands: [x]
)");
  CHECK_FALSE(r.spec);
  CHECK(all(r) ==
        Lines{
            "b.yml:4:11: error: value of 'LIST' in env.variables must be a string; got a list",
            "b.yml:6:7: error: value of 'MAP' in env.variables must be a string; got a mapping",
            "b.yml:7:5: error: 'my-var' in env.variables is not a valid variable name; use "
            "letters, digits and '_', "
            "not starting with a digit",
            "b.yml:8:5: error: '9LIVES' in env.variables is not a valid variable name; use "
            "letters, digits and '_', "
            "not starting with a digit",
            "b.yml:10:5: error: 'A B' in env.parameter-store is not a valid variable name; use "
            "letters, digits and "
            "'_', not starting with a digit",
            "b.yml:12:9: error: 'S1' in env.secrets-manager must be "
            "secret-id:json-key:version-stage:version-id "
            "with a secret-id; got ':key'",
            "b.yml:13:9: error: 'S2' in env.secrets-manager must be "
            "secret-id:json-key:version-stage:version-id "
            "with a secret-id; got ''",
            "b.yml:16:7: error: 'bad.name' in env.exported-variables is not a valid variable name; "
            "use letters, "
            "digits and '_', not starting with a digit",
        });
}

TEST_CASE("buildspec: proxy and run-as", "[buildspec]") {
  auto r = parse_buildspec(R"(version: 0.2
run-as: codebuild-user
proxy:
  upload-artifacts: no
  logs: On
phases:
  build:
    run-as: root
    commands: [x]
)");
  REQUIRE(r.spec);
  REQUIRE(r.spec->run_as);
  CHECK(r.spec->run_as->value == "codebuild-user");
  CHECK(r.spec->run_as->position.line == 2);
  CHECK(r.spec->proxy.upload_artifacts == false);
  CHECK(r.spec->proxy.logs == true);
  REQUIRE(build_phase(r).run_as);
  CHECK(build_phase(r).run_as->value == "root");
}

// ---- booleans ----

TEST_CASE("buildspec: booleans accept the YAML 1.1 spellings in any case", "[buildspec]") {
  for (auto [text, expected] : std::vector<std::pair<std::string, bool>>{{"true", true},
                                                                         {"True", true},
                                                                         {"YES", true},
                                                                         {"on", true},
                                                                         {"\"yes\"", true},
                                                                         {"false", false},
                                                                         {"No", false},
                                                                         {"OFF", false}}) {
    auto r = parse_buildspec(
        "version: 0.2\nphases:\n  build:\n    commands: [x]\nartifacts:\n  files: [a]\n"
        "  discard-paths: " +
        text + "\n");
    INFO(text);
    REQUIRE(r.spec);
    CHECK(r.spec->artifacts.primary.discard_paths == expected);
  }
  CHECK(only_diagnostic(
            "version: 0.2\nphases:\n  build:\n    commands: [x]\nartifacts:\n  files: [a]\n"
            "  enable-symlinks: no | yes\n") ==
        "b.yml:7:20: error: 'enable-symlinks' must be true or false (or yes/no, on/off); got 'no | "
        "yes'");
  CHECK(only_diagnostic(
            "version: 0.2\nphases:\n  build:\n    commands: [x]\nartifacts:\n  files: [a]\n"
            "  enable-symlinks: 1\n") ==
        "b.yml:7:20: error: 'enable-symlinks' must be true or false (or yes/no, on/off); got '1'");
}

// ---- phases and commands ----

TEST_CASE("buildspec: all four phases with commands and finally", "[buildspec]") {
  auto r = parse_buildspec(R"(version: 0.2
phases:
  install:
    runtime-versions:
      python: 3.10
      nodejs: $NODE_VERSION
    commands: [i]
  pre_build:
    commands: [p]
    finally: [pf]
  build:
    commands: [b]
  post_build:
    commands: [o]
    finally:
      - f1
      - f2
)");
  REQUIRE(r.spec);
  CHECK(r.diagnostics.items().empty());
  for (PhaseType t : k_command_phases) CHECK(r.spec->phase(t).present);
  const Phase& install = r.spec->phase(PhaseType::install);
  REQUIRE(install.runtime_versions.size() == 2);
  CHECK(install.runtime_versions[0].name == "python");
  CHECK(install.runtime_versions[0].value == "3.10");
  CHECK(install.runtime_versions[1].value == "$NODE_VERSION");
  CHECK(values(r.spec->phase(PhaseType::pre_build).finally) == Lines{"pf"});
  CHECK(values(r.spec->phase(PhaseType::post_build).finally) == Lines{"f1", "f2"});
}

TEST_CASE("buildspec: phase names and record names", "[buildspec]") {
  CHECK(phase_key(PhaseType::install) == "install");
  CHECK(phase_key(PhaseType::pre_build) == "pre_build");
  CHECK(phase_key(PhaseType::build) == "build");
  CHECK(phase_key(PhaseType::post_build) == "post_build");
  CHECK(phase_record_name(PhaseType::install) == "INSTALL");
  CHECK(phase_record_name(PhaseType::pre_build) == "PRE_BUILD");
  CHECK(phase_record_name(PhaseType::build) == "BUILD");
  CHECK(phase_record_name(PhaseType::post_build) == "POST_BUILD");
}

TEST_CASE("buildspec: a block scalar is one command run as one script", "[buildspec]") {
  auto r = parse_buildspec(R"(version: 0.2
phases:
  build:
    commands: |
      cd src
      make
  post_build:
    commands:
      - |
        if [ -f x ]; then
          echo yes
        fi
      - echo done
)");
  REQUIRE(r.spec);
  CHECK(values(build_phase(r).commands) == Lines{"cd src\nmake\n"});
  CHECK(build_phase(r).commands[0].position.line == 4);
  CHECK(values(r.spec->phase(PhaseType::post_build).commands) ==
        Lines{"if [ -f x ]; then\n  echo yes\nfi\n", "echo done"});
}

TEST_CASE("buildspec: a single plain scalar is one command", "[buildspec]") {
  auto r =
      parse_buildspec("version: 0.2\nphases:\n  build:\n    commands:\n      npm install -g x\n");
  REQUIRE(r.spec);
  CHECK(values(build_phase(r).commands) == Lines{"npm install -g x"});
}

TEST_CASE("buildspec: numbers and booleans as commands keep their text", "[buildspec]") {
  auto r = parse_buildspec(
      "version: 0.2\nphases:\n  build:\n    commands:\n      - true\n      - 5\n"
      "      - 1.50\n      - 'quoted: yes'\n");
  REQUIRE(r.spec);
  CHECK(values(build_phase(r).commands) == Lines{"true", "5", "1.50", "quoted: yes"});
}

TEST_CASE("buildspec: a command YAML read as a mapping says why and how to quote it",
          "[buildspec]") {
  auto r = parse_buildspec(R"(version: 0.2
phases:
  build:
    commands:
      - echo ok
      - echo foo: bar
      - echo it's: here
      - echo trailing:
    finally:
      - [a, b]
)");
  CHECK_FALSE(r.spec);
  CHECK(all(r) ==
        Lines{
            "b.yml:6:9: error: YAML read this command as a mapping because of ': ': 'echo foo: "
            "bar'; quote the "
            "whole command: - 'echo foo: bar'",
            "b.yml:7:9: error: YAML read this command as a mapping because of ': ': 'echo it's: "
            "here'; quote the "
            "whole command: - 'echo it''s: here'",
            "b.yml:8:9: error: YAML read this command as a mapping because it ends with ':': 'echo "
            "trailing:'; "
            "quote the whole command: - 'echo trailing:'",
            "b.yml:10:9: error: a command in phases.build.finally must be a string; got a list",
        });
}

TEST_CASE("buildspec: empty commands and phases are warnings", "[buildspec]") {
  auto r = parse_buildspec(
      "version: 0.2\nphases:\n  install:\n  build:\n    commands:\n  post_build:\n"
      "    commands:\n      - echo x\n      -\n");
  REQUIRE(r.spec);
  CHECK(r.spec->phase(PhaseType::install).present);
  CHECK(build_phase(r).commands.empty());
  CHECK(values(r.spec->phase(PhaseType::post_build).commands) == Lines{"echo x"});
  auto lines = all(r);
  REQUIRE(lines.size() == 3);
  CHECK(lines[0] == "b.yml:3:3: warning: phase 'install' is empty");
  CHECK(lines[1] == "b.yml:5:5: warning: 'commands' in phases.build is empty");
  CHECK(lines[2].ends_with("warning: empty command in phases.post_build.commands is ignored"));
}

TEST_CASE("buildspec: a phase written as a list says to put it under commands", "[buildspec]") {
  CHECK(only_diagnostic("version: 0.2\nphases:\n  build:\n    - make\n") ==
        "b.yml:4:5: error: 'phases.build' must be a mapping with 'commands'; got a list (put the "
        "list under "
        "'commands:')");
}

TEST_CASE("buildspec: commands as a mapping is a type error", "[buildspec]") {
  CHECK(only_diagnostic("version: 0.2\nphases:\n  build:\n    commands:\n      make: all\n") ==
        "b.yml:5:7: error: 'commands' must be a list of commands or one block scalar ('|'); got a "
        "mapping");
}

TEST_CASE("buildspec: runtime-versions outside install is ignored with a warning", "[buildspec]") {
  auto r = parse_buildspec(
      "version: 0.2\nphases:\n  build:\n    runtime-versions:\n      java: corretto17\n"
      "    commands: [x]\n");
  REQUIRE(r.spec);
  CHECK(build_phase(r).runtime_versions.empty());
  CHECK(
      all(r) ==
      Lines{"b.yml:4:5: warning: 'runtime-versions' only applies to the install phase; ignored in "
            "build"});
}

TEST_CASE("buildspec: no phases is an error unless the buildspec defines a batch or artifacts", "[buildspec]") {
  CHECK(only_diagnostic("version: 0.2\nenv:\n  variables:\n    A: b\n") ==
        "b.yml:1:1: error: no phases: expected 'phases' with at least one of install, pre_build, "
        "build or "
        "post_build");
  CHECK(only_diagnostic("version: 0.2\nphases:\n") ==
        "b.yml:2:1: error: no phases: expected 'phases' with at least one of install, pre_build, "
        "build or "
        "post_build");
  auto r = parse_buildspec("version: 0.2\nphases:\n  compile:\n    commands: [x]\n");
  CHECK_FALSE(r.spec);
  CHECK(
      all(r) ==
      Lines{
          "b.yml:2:1: error: no phases: expected 'phases' with at least one of install, pre_build, "
          "build or post_build",
          "b.yml:3:3: warning: unknown key 'compile' in phases; expected install, pre_build, build "
          "or post_build",
      });
  r = parse_buildspec("version: 0.2\nbatch:\n  build-list:\n    - identifier: a\n");
  REQUIRE(r.spec);
  CHECK(r.diagnostics.items().empty());
}

TEST_CASE("buildspec: artifacts without phases package the source, as on CodeBuild", "[buildspec]") {
  auto r = parse_buildspec("version: 0.2\nartifacts:\n  files:\n    - '**/*'\n  name: src\n");
  REQUIRE(r.spec);
  CHECK(r.diagnostics.items().empty());
  for (PhaseType t : k_command_phases) CHECK_FALSE(r.spec->phase(t).present);
  CHECK(values(r.spec->artifacts.primary.files) == Lines{"**/*"});
  // An empty `phases:` beside them is the same thing.
  r = parse_buildspec("version: 0.2\nphases:\nartifacts:\n  files: [a.txt]\n");
  REQUIRE(r.spec);
  CHECK_FALSE(r.diagnostics.has_errors());
  // Only secondary artifacts are artifacts too.
  r = parse_buildspec(
      "version: 0.2\nartifacts:\n  secondary-artifacts:\n    docs:\n      files: [docs/**/*]\n");
  REQUIRE(r.spec);
  CHECK(r.diagnostics.items().empty());
  // Anything else alone still has nothing to run.
  CHECK(only_diagnostic("version: 0.2\ncache:\n  paths: [x]\n") ==
        "b.yml:1:1: error: no phases: expected 'phases' with at least one of install, pre_build, "
        "build or post_build");
}

// ---- on-failure ----

TEST_CASE("buildspec: on-failure forms", "[buildspec]") {
  auto f = on_failure("ABORT");
  CHECK(f.action == OnFailureAction::abort);
  CHECK(f.text == "ABORT");
  CHECK(on_failure("CONTINUE").action == OnFailureAction::continue_build);

  f = on_failure("RETRY");
  CHECK(f.action == OnFailureAction::retry);
  CHECK(f.retries == 3);
  CHECK_FALSE(f.regex);

  f = on_failure("RETRY-5");
  CHECK(f.action == OnFailureAction::retry);
  CHECK(f.retries == 5);
  CHECK_FALSE(f.regex);

  f = on_failure("RETRY-0");
  CHECK(f.retries == 0);
  CHECK(on_failure("RETRY-100").retries == 100);

  f = on_failure("RETRY-.*timed out.*");
  CHECK(f.action == OnFailureAction::retry);
  CHECK(f.retries == 3);
  CHECK(f.regex == ".*timed out.*");

  f = on_failure("RETRY-2-Connection (reset|refused)");
  CHECK(f.retries == 2);
  CHECK(f.regex == "Connection (reset|refused)");
  CHECK(f.text == "RETRY-2-Connection (reset|refused)");

  // Digits not followed by '-' are part of the regex.
  f = on_failure("RETRY-5xx");
  CHECK(f.retries == 3);
  CHECK(f.regex == "5xx");
}

TEST_CASE("buildspec: invalid on-failure values list the accepted forms", "[buildspec]") {
  auto text = [](const std::string& value) {
    return "version: 0.2\nphases:\n  build:\n    on-failure: " + value + "\n    commands: [x]\n";
  };
  const std::string forms =
      "ABORT, CONTINUE, RETRY, RETRY-<count>, RETRY-<regex> or RETRY-<count>-<regex>";
  CHECK(only_diagnostic(text("abort")) ==
        "b.yml:4:17: error: 'on-failure' must be " + forms + "; got 'abort'");
  CHECK(only_diagnostic(text("RETRY-")) ==
        "b.yml:4:17: error: 'on-failure' must be " + forms + "; got 'RETRY-'");
  CHECK(only_diagnostic(text("RETRY-3-")) ==
        "b.yml:4:17: error: 'on-failure' must be " + forms + "; got 'RETRY-3-'");
  CHECK(only_diagnostic(text("RETRY-101")) ==
        "b.yml:4:17: error: retry count in 'on-failure' must be 0 to 100; got 101");
  CHECK(only_diagnostic(text("RETRY-abc("))
            .starts_with("b.yml:4:17: error: 'on-failure' must be " + forms +
                         "; got 'RETRY-abc(' (the regex 'abc(' is not valid: "));
  CHECK(only_diagnostic(text("RETRY-2-[z-a]"))
            .starts_with("b.yml:4:17: error: 'on-failure' must be " + forms +
                         "; got 'RETRY-2-[z-a]' (the regex '[z-a]' is not valid"));
  // A pattern that would expand to millions of states is refused before std::regex sees it.
  CHECK(only_diagnostic(text("RETRY-(a{1000}){1000}")) ==
        "b.yml:4:17: error: 'on-failure' must be " + forms +
            "; got 'RETRY-(a{1000}){1000}' (the regex '(a{1000}){1000}' is not valid: repetition "
            "counts multiply "
            "past 10000)");
}

// ---- reports ----

TEST_CASE("buildspec: reports with formats, case-insensitive, JUNITXML by default", "[buildspec]") {
  auto r = parse_buildspec(R"(version: 0.2
phases:
  build:
    commands: [x]
reports:
  unit-tests:
    files:
      - '**/*.xml'
    base-directory: build/test-results
    discard-paths: yes
  arn:aws:codebuild:us-east-1:123456789012:report-group/cov:
    files: coverage.xml
    file-format: CoberturaXml
  cucumber:
    files: [a.json]
    file-format: 'cucumberjson'
)");
  REQUIRE(r.spec);
  CHECK(r.diagnostics.items().empty());
  REQUIRE(r.spec->reports.size() == 3);
  const auto& unit = r.spec->reports[0];
  CHECK(unit.name == "unit-tests");
  CHECK(unit.position.line == 6);
  CHECK(values(unit.files) == Lines{"**/*.xml"});
  CHECK(unit.base_directory == "build/test-results");
  CHECK(unit.discard_paths);
  CHECK(unit.format == ReportFormat::junit_xml);
  CHECK(r.spec->reports[1].name == "arn:aws:codebuild:us-east-1:123456789012:report-group/cov");
  CHECK(values(r.spec->reports[1].files) == Lines{"coverage.xml"});
  CHECK(r.spec->reports[1].format == ReportFormat::cobertura_xml);
  CHECK(r.spec->reports[2].format == ReportFormat::cucumber_json);
}

TEST_CASE("buildspec: report errors", "[buildspec]") {
  auto r = parse_buildspec(R"(version: 0.2
phases:
  build:
    commands: [x]
reports:
  nofiles:
    base-directory: x
  badformat:
    files: [a]
    file-format: XUNIT
)");
  CHECK_FALSE(r.spec);
  CHECK(all(r) ==
        Lines{
            "b.yml:6:3: error: missing required key 'files' in reports.nofiles",
            "b.yml:10:18: error: 'file-format' must be one of JUNITXML, CUCUMBERJSON, TESTNGXML, "
            "NUNITXML, NUNIT3XML, VISUALSTUDIOTRX, COBERTURAXML, JACOCOXML, CLOVERXML, SIMPLECOV; "
            "got "
            "'XUNIT'",
        });
}

TEST_CASE("buildspec: report format names", "[buildspec]") {
  CHECK(report_format_name(ReportFormat::junit_xml) == "JUNITXML");
  CHECK(report_format_name(ReportFormat::nunit3_xml) == "NUNIT3XML");
  CHECK(report_format_name(ReportFormat::visual_studio_trx) == "VISUALSTUDIOTRX");
  CHECK(report_format_name(ReportFormat::simplecov_json) == "SIMPLECOV");
  CHECK(parse_report_format("junitxml") == ReportFormat::junit_xml);
  CHECK(parse_report_format("TestNgXml") == ReportFormat::testng_xml);
  CHECK(parse_report_format("NUNITXML") == ReportFormat::nunit_xml);
  CHECK(parse_report_format("JaCoCoXml") == ReportFormat::jacoco_xml);
  CHECK(parse_report_format("CLOVERXML") == ReportFormat::clover_xml);
  CHECK(parse_report_format("simplecov") == ReportFormat::simplecov_json);
  CHECK_FALSE(parse_report_format("JUNIT"));
  CHECK_FALSE(parse_report_format(""));
  CHECK(is_coverage_format(ReportFormat::cobertura_xml));
  CHECK(is_coverage_format(ReportFormat::jacoco_xml));
  CHECK(is_coverage_format(ReportFormat::clover_xml));
  CHECK(is_coverage_format(ReportFormat::simplecov_json));
  CHECK_FALSE(is_coverage_format(ReportFormat::junit_xml));
  CHECK_FALSE(is_coverage_format(ReportFormat::visual_studio_trx));
}

// ---- artifacts ----

TEST_CASE("buildspec: artifacts with every key and secondary artifacts", "[buildspec]") {
  auto r = parse_buildspec(R"(version: 0.2
phases:
  build:
    commands: [x]
artifacts:
  files:
    - '**/*'
  name: app-$(date +%s)
  discard-paths: yes
  base-directory: dist
  exclude-paths:
    - '**/*.map'
  enable-symlinks: true
  s3-prefix: builds
  secondary-artifacts:
    docs_1:
      files: [index.html]
      base-directory: site
    logs:
      files: '*.log'
      discard-paths: no
)");
  REQUIRE(r.spec);
  CHECK(r.diagnostics.items().empty());
  const ArtifactsSpec& a = r.spec->artifacts;
  CHECK(a.present);
  CHECK(a.primary.identifier.empty());
  CHECK(values(a.primary.files) == Lines{"**/*"});
  REQUIRE(a.primary.name);
  CHECK(a.primary.name->value == "app-$(date +%s)");
  CHECK(a.primary.discard_paths);
  CHECK(a.primary.base_directory == "dist");
  CHECK(values(a.primary.exclude_paths) == Lines{"**/*.map"});
  CHECK(a.primary.enable_symlinks);
  CHECK(a.primary.s3_prefix == "builds");
  REQUIRE(a.secondary.size() == 2);
  CHECK(a.secondary[0].identifier == "docs_1");
  CHECK(a.secondary[0].position.line == 16);
  CHECK(values(a.secondary[0].files) == Lines{"index.html"});
  CHECK(a.secondary[0].base_directory == "site");
  CHECK(a.secondary[1].identifier == "logs");
  CHECK(values(a.secondary[1].files) == Lines{"*.log"});
  CHECK_FALSE(a.secondary[1].discard_paths);
}

TEST_CASE("buildspec: only secondary artifacts need no primary files", "[buildspec]") {
  auto r = parse_buildspec(
      "version: 0.2\nphases:\n  build:\n    commands: [x]\nartifacts:\n  secondary-artifacts:\n"
      "    one:\n      files: [a]\n");
  REQUIRE(r.spec);
  CHECK(r.spec->artifacts.primary.files.empty());
  CHECK(r.spec->artifacts.secondary.size() == 1);
}

TEST_CASE("buildspec: artifact errors", "[buildspec]") {
  auto r = parse_buildspec(R"(version: 0.2
phases:
  build:
    commands: [x]
artifacts:
  name: x
  secondary-artifacts:
    bad-name:
      files: [a]
    nofiles:
      name: y
      secondary-artifacts: {}
)");
  CHECK_FALSE(r.spec);
  CHECK(all(r) == Lines{
                      "b.yml:5:1: error: missing required key 'files' in artifacts",
                      "b.yml:8:5: error: secondary artifact identifier 'bad-name' must use only "
                      "letters, digits and '_'",
                      "b.yml:10:5: error: missing required key 'files' in "
                      "artifacts.secondary-artifacts.nofiles",
                      "b.yml:12:7: warning: unknown key 'secondary-artifacts' in "
                      "artifacts.secondary-artifacts.nofiles; "
                      "expected files, name, discard-paths, base-directory, exclude-paths, "
                      "enable-symlinks or s3-prefix",
                  });
}

// ---- cache ----

TEST_CASE("buildspec: cache paths, keys and action", "[buildspec]") {
  auto r = parse_buildspec(R"(version: 0.2
phases:
  build:
    commands: [x]
cache:
  key: deps-$(sha256sum package-lock.json | cut -c1-16)
  fallback-keys:
    - deps-
  action: restore
  paths:
    - node_modules/**/*
    - /root/.m2/**/*
)");
  REQUIRE(r.spec);
  const CacheSpec& c = r.spec->cache;
  CHECK(c.present);
  REQUIRE(c.key);
  CHECK(c.key->value == "deps-$(sha256sum package-lock.json | cut -c1-16)");
  CHECK(values(c.fallback_keys) == Lines{"deps-"});
  CHECK(c.action == CacheAction::restore);
  CHECK(values(c.paths) == Lines{"node_modules/**/*", "/root/.m2/**/*"});
  // A restore writes only under the source directory: an absolute path is not cached.
  CHECK(all(r) == Lines{"b.yml:12:7: warning: cache path '/root/.m2/**/*' is absolute: cbuild caches only files "
                        "under the source directory, so it is not cached"});

  r = parse_buildspec(
      "version: 0.2\nphases:\n  build:\n    commands: [x]\ncache:\n  paths: [a]\n  action: save\n");
  REQUIRE(r.spec);
  CHECK(r.spec->cache.action == CacheAction::save);
  r = parse_buildspec("version: 0.2\nphases:\n  build:\n    commands: [x]\ncache:\n  paths: [a]\n");
  REQUIRE(r.spec);
  CHECK(r.spec->cache.action == CacheAction::restore_and_save);
  CHECK(only_diagnostic("version: 0.2\nphases:\n  build:\n    commands: [x]\ncache:\n  paths: "
                        "[a]\n  action: both\n") ==
        "b.yml:7:11: error: 'action' must be restore or save (or left out for both); got 'both'");
}

// ---- batch ----

TEST_CASE("buildspec: batch build-list", "[buildspec]") {
  auto r = parse_buildspec(R"(version: 0.2
batch:
  fast-fail: true
  build-list:
    - identifier: linux_small
      env:
        compute-type: BUILD_GENERAL1_SMALL
        privileged-mode: true
        variables:
          ARCH: amd64
      ignore-failure: true
    - identifier: windows
      buildspec: windows.yml
      debug-session: yes
      env:
        type: WINDOWS_SERVER_2019_CONTAINER
        image: aws/codebuild/windows-base:2019-1.0
phases:
  build:
    commands: [x]
)");
  REQUIRE(r.spec);
  CHECK(r.diagnostics.items().empty());
  const BatchSpec& b = r.spec->batch;
  CHECK(b.present);
  CHECK(b.position.line == 2);
  CHECK(b.fast_fail);
  CHECK(b.kind == BatchKind::build_list);
  REQUIRE(b.tasks.size() == 2);
  CHECK(b.tasks[0].identifier == "linux_small");
  CHECK(b.tasks[0].position.line == 5);
  CHECK(b.tasks[0].env.compute_type == "BUILD_GENERAL1_SMALL");
  CHECK(b.tasks[0].env.privileged_mode == true);
  REQUIRE(b.tasks[0].env.variables.size() == 1);
  CHECK(b.tasks[0].env.variables[0].name == "ARCH");
  CHECK(b.tasks[0].env.variables[0].value == "amd64");
  CHECK(b.tasks[0].ignore_failure);
  CHECK_FALSE(b.tasks[0].buildspec);
  CHECK(b.tasks[1].buildspec == "windows.yml");
  CHECK(b.tasks[1].debug_session);
  CHECK(b.tasks[1].env.type == "WINDOWS_SERVER_2019_CONTAINER");
  CHECK(b.tasks[1].env.image == "aws/codebuild/windows-base:2019-1.0");
  CHECK_FALSE(b.tasks[1].ignore_failure);
}

TEST_CASE("buildspec: batch fast-fail defaults to false", "[buildspec]") {
  auto r = parse_buildspec("version: 0.2\nbatch:\n  build-fanout:\n    parallelism: 4\n");
  REQUIRE(r.spec);
  CHECK_FALSE(r.spec->batch.fast_fail);
  CHECK(r.spec->batch.kind == BatchKind::build_fanout);
  CHECK(r.spec->batch.fanout_parallelism == 4);
  CHECK_FALSE(r.spec->batch.fanout_ignore_failure);
}

TEST_CASE("buildspec: batch build-graph dependencies", "[buildspec]") {
  auto r = parse_buildspec(R"(version: 0.2
batch:
  build-graph:
    - identifier: build1
    - identifier: build2
      depend-on:
        - build1
    - identifier: build3
      depend-on: [build1, build2]
)");
  REQUIRE(r.spec);
  CHECK(r.diagnostics.items().empty());
  const BatchSpec& b = r.spec->batch;
  CHECK(b.kind == BatchKind::build_graph);
  REQUIRE(b.tasks.size() == 3);
  CHECK(b.tasks[0].depend_on.empty());
  CHECK(values(b.tasks[1].depend_on) == Lines{"build1"});
  CHECK(values(b.tasks[2].depend_on) == Lines{"build1", "build2"});
}

TEST_CASE("buildspec: build-graph errors: unknown dependency, cycle, bad and duplicate identifiers",
          "[buildspec]") {
  auto r = parse_buildspec(R"(version: 0.2
batch:
  build-graph:
    - identifier: a
      depend-on: [c]
    - identifier: b
      depend-on: [a, buidl1]
    - identifier: c
      depend-on: [b]
    - identifier: build1
    - identifier: a
    - identifier: not/ok
    - buildspec: x.yml
    - just a string
)");
  CHECK_FALSE(r.spec);
  CHECK(all(r) ==
        Lines{
            "b.yml:4:7: error: dependency cycle in batch.build-graph: a -> c -> b -> a (each "
            "depends on the next)",
            "b.yml:7:22: error: 'depend-on' names 'buidl1', which is not an identifier in "
            "batch.build-graph; did you "
            "mean 'build1'?",
            "b.yml:11:19: error: duplicate identifier 'a' in batch.build-graph (first at 4:19)",
            "b.yml:12:19: error: identifier 'not/ok' in batch.build-graph must not contain '/'",
            "b.yml:13:7: error: missing required key 'identifier' in batch.build-graph[6]",
            "b.yml:14:7: error: each build task in batch.build-graph must be a mapping with an "
            "'identifier'; got 'just "
            "a string'",
        });
}

TEST_CASE("buildspec: batch identifiers are any name usable as a directory", "[buildspec]") {
  // CodeBuild documents no character rule, and real buildspecs use '-'.
  auto r = parse_buildspec(R"YML(version: 0.2
batch:
  build-graph:
    - identifier: cypress-e2e-tests
    - identifier: unit.tests
      depend-on: [cypress-e2e-tests]
    - identifier: "Linux x86 (gcc 12)"
    - identifier: -leading-dash
    - identifier: 1st
    - identifier: café
)YML");
  REQUIRE(r.spec);
  CHECK(r.diagnostics.items().empty());
  std::vector<std::string> ids;
  for (auto& t : r.spec->batch.tasks) ids.push_back(t.identifier);
  CHECK(ids == Lines{"cypress-e2e-tests", "unit.tests", "Linux x86 (gcc 12)", "-leading-dash", "1st", "café"});
  CHECK(values(r.spec->batch.tasks[1].depend_on) == Lines{"cypress-e2e-tests"});

  // What cannot be one path component, or printed, is refused; names stay unique.
  r = parse_buildspec(R"YML(version: 0.2
batch:
  build-list:
    - identifier: a/b
    - identifier: ..
    - identifier: .
    - identifier: ""
    - identifier: "tab\there"
    - identifier: "del\x7F"
    - identifier: cypress-e2e-tests
    - identifier: cypress-e2e-tests
)YML");
  CHECK_FALSE(r.spec);
  CHECK(all(r) ==
        Lines{
            "b.yml:4:19: error: identifier 'a/b' in batch.build-list must not contain '/'",
            "b.yml:5:19: error: identifier '..' in batch.build-list must not be '.' or '..'",
            "b.yml:6:19: error: identifier '.' in batch.build-list must not be '.' or '..'",
            "b.yml:7:19: error: identifier '' in batch.build-list must not be empty",
            "b.yml:8:19: error: identifier in batch.build-list must not contain control characters",
            "b.yml:9:19: error: identifier in batch.build-list must not contain control characters",
            "b.yml:11:19: error: duplicate identifier 'cypress-e2e-tests' in batch.build-list (first at 10:19)",
        });
}

TEST_CASE("buildspec: a task depending on itself is a cycle", "[buildspec]") {
  CHECK(
      only_diagnostic(
          "version: 0.2\nbatch:\n  build-graph:\n    - identifier: a\n      depend-on: [a]\n") ==
      "b.yml:4:7: error: dependency cycle in batch.build-graph: a -> a (each depends on the next)");
}

TEST_CASE("buildspec: depend-on in a build-list is an unknown key", "[buildspec]") {
  CHECK(only_diagnostic(
            "version: 0.2\nbatch:\n  build-list:\n    - identifier: a\n      depend-on: [b]\n") ==
        "b.yml:5:7: warning: unknown key 'depend-on' in batch.build-list[0]; expected identifier, "
        "buildspec, env, "
        "ignore-failure or debug-session");
}

TEST_CASE("buildspec: batch takes only one kind", "[buildspec]") {
  CHECK(
      only_diagnostic("version: 0.2\nbatch:\n  build-list:\n    - identifier: a\n  build-fanout:\n"
                      "    parallelism: 2\n") ==
      "b.yml:5:3: error: 'batch' must have only one of build-list, build-graph, build-matrix or "
      "build-fanout; "
      "got 'build-list' and 'build-fanout'");
}

TEST_CASE("buildspec: batch with no kind defines no batch build", "[buildspec]") {
  auto r = parse_buildspec("version: 0.2\nbatch:\n  fast-fail: false\n");
  CHECK_FALSE(r.spec);
  CHECK(
      all(r) ==
      Lines{
          "b.yml:1:1: error: no phases: expected 'phases' with at least one of install, pre_build, "
          "build or post_build",
          "b.yml:2:1: warning: 'batch' has none of build-list, build-graph, build-matrix or "
          "build-fanout; it defines no batch build",
      });
}

TEST_CASE("buildspec: batch build-matrix", "[buildspec]") {
  auto r = parse_buildspec(R"(version: 0.2
batch:
  build-matrix:
    static:
      ignore-failure: true
      env:
        type: LINUX_CONTAINER
        privileged-mode: true
    dynamic:
      buildspec:
        - a.yml
        - b.yml
      env:
        image:
          - aws/codebuild/standard:7.0
          - aws/codebuild/amazonlinux2-x86_64-standard:5.0
        compute-type: BUILD_GENERAL1_SMALL
        variables:
          MY_VAR:
            - VALUE1
            - VALUE2
          ONE: only
)");
  REQUIRE(r.spec);
  CHECK(r.diagnostics.items().empty());
  const BatchMatrix& m = r.spec->batch.matrix;
  CHECK(r.spec->batch.kind == BatchKind::build_matrix);
  CHECK(m.ignore_failure);
  CHECK(m.static_env.type == "LINUX_CONTAINER");
  CHECK(m.static_env.privileged_mode == true);
  CHECK(m.dynamic_buildspecs == Lines{"a.yml", "b.yml"});
  REQUIRE(m.dynamic_env.size() == 2);
  CHECK(m.dynamic_env[0].first == "image");
  CHECK(m.dynamic_env[0].second ==
        Lines{"aws/codebuild/standard:7.0", "aws/codebuild/amazonlinux2-x86_64-standard:5.0"});
  CHECK(m.dynamic_env[1].first == "compute-type");
  CHECK(m.dynamic_env[1].second == Lines{"BUILD_GENERAL1_SMALL"});
  REQUIRE(m.dynamic_variables.size() == 2);
  CHECK(m.dynamic_variables[0].first == "MY_VAR");
  CHECK(m.dynamic_variables[0].second == Lines{"VALUE1", "VALUE2"});
  CHECK(m.dynamic_variables[1].second == Lines{"only"});
}

TEST_CASE("buildspec: batch env and fanout errors", "[buildspec]") {
  auto r = parse_buildspec(R"(version: 0.2
batch:
  build-list:
    - identifier: a
      env:
        compute-type: BUILD_GENERAL1_SMALL
        fleet: my-fleet
        variables:
          bad-name: x
phases:
  build:
    commands: [x]
)");
  CHECK_FALSE(r.spec);
  CHECK(all(r) == Lines{
                      "b.yml:7:9: error: 'compute-type' and 'fleet' cannot both be given in "
                      "batch.build-list[0].env",
                      "b.yml:9:11: error: 'bad-name' in batch.build-list[0].env.variables is not a "
                      "valid variable name; use "
                      "letters, digits and '_', not starting with a digit",
                  });
  for (std::string bad : {"0", "-2", "many", "99999999999"}) {
    INFO(bad);
    CHECK(
        only_diagnostic("version: 0.2\nbatch:\n  build-fanout:\n    parallelism: " + bad + "\n") ==
        "b.yml:4:18: error: 'parallelism' must be a positive integer; got '" + bad + "'");
  }
  CHECK(only_diagnostic("version: 0.2\nbatch:\n  build-list:\n    identifier: a\n") ==
        "b.yml:4:5: error: 'build-list' must be a list of build tasks; got a mapping");
}

// ---- YAML features ----

TEST_CASE("buildspec: anchors, aliases and merge keys", "[buildspec]") {
  auto r = parse_buildspec(R"(version: 0.2
env:
  variables: &common
    A: one
    B: two
phases:
  build:
    commands: &cmds
      - make
  post_build:
    commands: *cmds
batch:
  build-list:
    - identifier: x
      env:
        variables:
          <<: *common
          B: override
)");
  REQUIRE(r.spec);
  CHECK(r.diagnostics.items().empty());
  CHECK(values(r.spec->phase(PhaseType::post_build).commands) == Lines{"make"});
  const auto& vars = r.spec->batch.tasks.at(0).env.variables;
  REQUIRE(vars.size() == 2);
  CHECK(vars[0].name == "B");
  CHECK(vars[0].value == "override");
  CHECK(vars[1].name == "A");
  CHECK(vars[1].value == "one");
}

TEST_CASE("buildspec: warnings alone keep the model", "[buildspec]") {
  auto r = parse_buildspec(
      "version: 0.2\nphases:\n  build:\n    commands: [x]\nartifacts:\n  type: zip\n"
      "  files: [a]\n");
  REQUIRE(r.spec);
  CHECK(r.diagnostics.warning_count() == 1);
  CHECK_FALSE(r.diagnostics.has_errors());
}
