// Secrets, artifacts, reports, cache, sources: what a build takes in and leaves behind.
#include <sys/stat.h>

#include "cli/cbuild_fixture.hpp"
#include "util/fs.hpp"
#include "util/hash.hpp"

using namespace cicd;
using namespace cicd::test;

namespace {
std::string unzip_list(const std::filesystem::path& zip) {
  auto r = run({"unzip", "-Z1", zip.string()});
  REQUIRE(r.exit_code == 0);
  return r.out;
}
}  // namespace

TEST_CASE("cbuild: parameter-store and secrets-manager values resolve locally and are masked", "[cbuild][secrets]") {
  CbuildFixture f;
  REQUIRE(f.cbuild({"put-parameter", "--name", "/ci/db-password"}, "s3cr3t-pw\n").exit_code == 0);
  REQUIRE(f.cbuild({"put-parameter", "--name", "prod/api", "--value", R"({"token":"tok-123","user":"svc"})"}).exit_code == 0);
  // The store file is private.
  struct stat st {};
  REQUIRE(::stat((f.home / "parameters.json").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  auto again = f.cbuild({"put-parameter", "--name", "/ci/db-password", "--value", "x"});
  CHECK(again.exit_code == 2);
  CHECK(contains(again.err, "parameter '/ci/db-password' already exists (use --overwrite to replace it)"));
  auto listed = f.cbuild({"list-parameters"});
  CHECK(listed.out == "/ci/db-password\tSecureString\tversion 1\nprod/api\tSecureString\tversion 1\n");
  CHECK(f.cbuild({"get-parameter", "--name", "/ci/db-password", "--with-decryption"}).out == "s3cr3t-pw\n");

  f.buildspec(R"YML(version: 0.2
env:
  parameter-store:
    DB_PASSWORD: /ci/db-password
  secrets-manager:
    API_TOKEN: prod/api:token
    API_USER: prod/api:user
  exported-variables:
    - LEAK
phases:
  build:
    commands:
      - echo "password is $DB_PASSWORD, token is $API_TOKEN, user is $API_USER"
      - export LEAK="x${DB_PASSWORD}x"
      - test "$(printf %s "$DB_PASSWORD" | wc -c)" -eq 9
)YML");
  auto r = f.build();
  REQUIRE(r.exit_code == 0);
  CHECK(contains(f.log(), "\npassword is ***, token is ***, user is ***\n"));
  CHECK_FALSE(contains(r.err, "s3cr3t-pw"));
  auto record_text = f.scratch.read("out/build.json");
  CHECK_FALSE(contains(record_text, "s3cr3t-pw"));
  CHECK_FALSE(contains(record_text, "tok-123"));
  CHECK(contains(record_text, R"("value": "x***x")"));
  CHECK(contains(record_text, R"("type": "PARAMETER_STORE")"));
  CHECK_FALSE(contains(f.scratch.read("out/exported-variables.env"), "s3cr3t"));

  SECTION("a missing parameter fails the build before any command, saying how to add it") {
    f.buildspec("version: 0.2\nenv:\n  parameter-store:\n    X: /missing/one\nphases:\n  build:\n    commands:\n      - echo never\n");
    CHECK(f.build().exit_code == 1);
    auto rec = f.record();
    CHECK(CbuildFixture::phase_status(rec, "PROVISIONING") == "FAILED");
    CHECK(CbuildFixture::phase_message(rec, "PROVISIONING") ==
          "parameter-store variable 'X': parameter '/missing/one' does not exist (add it with: cbuild put-parameter --name /missing/one)");
    CHECK_FALSE(contains(f.log(), "echo never"));
  }
}

TEST_CASE("cbuild: get-parameter shows a SecureString only with --with-decryption, as the AWS CLI", "[cbuild][secrets]") {
  CbuildFixture f;
  REQUIRE(f.cbuild({"put-parameter", "--name", "/ci/db-password", "--value", "s3cr3t-pw"}).exit_code == 0);
  REQUIRE(f.cbuild({"put-parameter", "--name", "/ci/region", "--value", "eu-west-1", "--type", "String"}).exit_code == 0);
  auto hidden = f.cbuild({"get-parameter", "--name", "/ci/db-password"});
  CHECK(hidden.exit_code == 0);
  CHECK(hidden.out == "***\n");
  auto json = f.cbuild({"get-parameter", "--name", "/ci/db-password", "--output", "json"});
  CHECK(contains(json.out, R"("Value": "***")"));
  CHECK_FALSE(contains(json.out, "s3cr3t-pw"));
  CHECK(f.cbuild({"get-parameter", "--name", "/ci/db-password", "--with-decryption"}).out == "s3cr3t-pw\n");
  CHECK(contains(f.cbuild({"get-parameter", "--name", "/ci/db-password", "--with-decryption", "--output", "json"}).out,
                 R"("Value": "s3cr3t-pw")"));
  // Other types are not secret.
  CHECK(f.cbuild({"get-parameter", "--name", "/ci/region"}).out == "eu-west-1\n");
}

TEST_CASE("cbuild: primary and secondary artifacts with base-directory, discard-paths, exclude-paths, name", "[cbuild][artifacts]") {
  CbuildFixture f;
  f.file("dist/index.html", "<html/>");
  f.file("dist/js/app.js", "console.log(1)");
  f.file("dist/js/app.js.map", "{}");
  f.file("target/lib/a.jar", "jar-a");
  f.file("target/b.jar", "jar-b");
  f.file("notes.txt", "n");
  f.buildspec(R"YML(version: 0.2
env:
  variables:
    VERSION: "1.4"
phases:
  build:
    commands:
      - cd target
artifacts:
  files:
    - '**/*'
  base-directory: dist
  exclude-paths:
    - '**/*.map'
  name: web-$VERSION-$(echo built)
  secondary-artifacts:
    jars:
      files:
        - target/**/*.jar
      discard-paths: yes
    docs:
      files:
        - notes.txt
      name: docs
)YML");
  auto r = f.build();
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  auto rec = f.record();
  auto primary = f.out / "artifacts/web-1.4-built.zip";
  CHECK(rec["artifacts"]["location"] == primary.string());
  CHECK(unzip_list(primary) == "index.html\njs/app.js\n");
  CHECK(run({"unzip", "-tqq", primary.string()}).exit_code == 0);
  CHECK(rec["artifacts"]["sha256sum"] == unwrap(sha256_file(primary)));
  auto jars = f.out / "secondary/jars/jars.zip";
  CHECK(unzip_list(jars) == "b.jar\na.jar\n");  // in source path order: target/b.jar, target/lib/a.jar
  CHECK(unzip_list(f.out / "secondary/docs/docs.zip") == "notes.txt\n");
  CHECK(rec["secondaryArtifacts"].size() == 2);
  CHECK(rec["secondaryArtifacts"][0]["artifactIdentifier"] == "jars");
  auto manifest = unwrap(parse_json(unwrap(read_file(rec["artifacts"]["manifest"].get<std::string>())), "manifest"));
  REQUIRE(manifest.size() == 2);
  CHECK(manifest[0]["path"] == "index.html");
  CHECK(manifest[0]["size"] == 7);
  CHECK(manifest[0]["sha256"] == sha256_hex("<html/>"));

  SECTION("packaging none copies the files") {
    REQUIRE(f.build({"--artifact-packaging", "none"}).exit_code == 0);
    CHECK(f.scratch.read("out/artifacts/web-1.4-built/js/app.js") == "console.log(1)");
    CHECK_FALSE(std::filesystem::exists(f.out / "artifacts/web-1.4-built/js/app.js.map"));
    CHECK_FALSE(std::filesystem::exists(f.out / "artifacts/web-1.4-built.zip"));  // the previous build's outputs are replaced
  }
}

TEST_CASE("cbuild: no matching artifact paths fails the build", "[cbuild][artifacts]") {
  CbuildFixture f;
  f.buildspec(R"YML(version: 0.2
phases:
  build:
    commands:
      - echo nothing built
artifacts:
  files:
    - build/output.bin
)YML");
  CHECK(f.build().exit_code == 1);
  auto rec = f.record();
  CHECK(rec["buildStatus"] == "FAILED");
  CHECK(CbuildFixture::phase_status(rec, "BUILD") == "SUCCEEDED");
  CHECK(CbuildFixture::phase_status(rec, "UPLOAD_ARTIFACTS") == "FAILED");
  CHECK(CbuildFixture::phase_message(rec, "UPLOAD_ARTIFACTS") ==
        "CLIENT_ERROR: no matching artifact paths found for the primary artifact (files: build/output.bin)");
}

TEST_CASE("cbuild: enable-symlinks keeps links in the zip", "[cbuild][artifacts]") {
  CbuildFixture f;
  f.file("lib/real.so.1", "elf");
  std::filesystem::create_symlink("real.so.1", f.src / "lib/real.so");
  f.buildspec("version: 0.2\nphases:\n  build:\n    commands:\n      - 'true'\nartifacts:\n  files: ['lib/*']\n  enable-symlinks: yes\n");
  REQUIRE(f.build().exit_code == 0);
  auto extract = f.scratch / "x";
  REQUIRE(run({"unzip", "-q", (f.out / "artifacts/src.zip").string(), "-d", extract.string()}).exit_code == 0);
  CHECK(std::filesystem::is_symlink(extract / "lib/real.so"));
  CHECK(std::filesystem::read_symlink(extract / "lib/real.so") == "real.so.1");
}

TEST_CASE("cbuild: test reports are parsed and a malformed file is reported, not fatal", "[cbuild][reports]") {
  CbuildFixture f;
  f.buildspec(R"YML(version: 0.2
phases:
  build:
    commands:
      - mkdir -p reports
      - |
        cat > reports/unit.xml <<'EOF'
        <testsuite name="calc" tests="3">
          <testcase classname="calc.AddTest" name="adds" time="0.5"/>
          <testcase classname="calc.AddTest" name="overflows" time="0.25"><failure message="expected 0">trace</failure></testcase>
          <testcase classname="calc.DivTest" name="by_zero"><skipped/></testcase>
        </testsuite>
        EOF
      - echo "not xml at all" > reports/broken.xml
reports:
  unit:
    files:
      - 'unit.xml'
    base-directory: reports
    file-format: JUNITXML
  broken:
    files:
      - reports/broken.xml
)YML");
  auto r = f.build();
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(contains(r.out, "tests src-unit: 1 passed, 1 failed, 0 errors, 1 skipped (FAILED)"));
  auto rec = f.record();
  REQUIRE(rec["reportArns"].size() == 2);
  auto reports = unwrap(parse_json(f.cbuild({"list-reports", "--output", "json"}).out, "list-reports"));
  CHECK(reports["reports"].size() == 2);
  std::string unit_arn;
  for (auto& a : rec["reportArns"])
    if (a.get<std::string>().starts_with("src-unit:")) unit_arn = a;
  REQUIRE_FALSE(unit_arn.empty());
  auto cases = f.cbuild({"describe-test-cases", unit_arn, "--output", "json"});
  REQUIRE(cases.exit_code == 0);
  auto j = unwrap(parse_json(cases.out, "cases"));
  REQUIRE(j["testCases"].size() == 3);
  CHECK(j["testCases"][1]["name"] == "overflows");
  CHECK(j["testCases"][1]["status"] == "FAILED");
  CHECK(j["testCases"][1]["prefix"] == "calc.AddTest");
  CHECK(j["testCases"][1]["durationInNanoSeconds"] == 250000000);
  auto failed_only = f.cbuild({"describe-test-cases", unit_arn, "--status", "FAILED"});
  CHECK(contains(failed_only.out, "FAILED    calc.AddTest.overflows"));
  CHECK_FALSE(contains(failed_only.out, "adds"));
  auto broken = unwrap(parse_json(f.scratch.read("out/reports/src-broken.json"), "broken"));
  CHECK(broken["status"] == "INCOMPLETE");
  CHECK(contains(f.log(), "report group 'src-broken': cannot parse reports/broken.xml as JUNITXML"));
}

TEST_CASE("cbuild: the cache is saved after a success and restored before INSTALL", "[cbuild][cache]") {
  CbuildFixture f;
  f.file("package-lock.json", "{\"lock\": 1}");
  f.buildspec(R"YML(version: 0.2
phases:
  install:
    commands:
      - if [ -f deps/installed ]; then echo "deps from cache"; else mkdir -p deps && echo v1 > deps/installed && echo "deps installed"; fi
cache:
  key: deps-$(codebuild-hash-files package-lock.json)
  fallback-keys:
    - deps-
  paths:
    - deps/**/*
)YML");
  REQUIRE(f.build().exit_code == 0);
  CHECK(contains(f.log(), "\ndeps installed\n"));
  auto key_hash = f.cbuild({"hash-files", "package-lock.json"}).out;
  CHECK(key_hash.size() == 65);
  CHECK(contains(f.log(), "Cache: saved 1 files under key 'deps-" + key_hash.substr(0, 64) + "'"));
  std::filesystem::remove_all(f.src / "deps");
  REQUIRE(f.build().exit_code == 0);
  CHECK(contains(f.log(), "\ndeps from cache\n"));
  CHECK(contains(f.log(), "Cache: restored 1 files from key 'deps-" + key_hash.substr(0, 64) + "'"));

  SECTION("a changed lock file misses the exact key and falls back to the prefix") {
    f.file("package-lock.json", "{\"lock\": 2}");
    std::filesystem::remove_all(f.src / "deps");
    REQUIRE(f.build().exit_code == 0);
    CHECK(contains(f.log(), "\ndeps from cache\n"));
    CHECK(contains(f.log(), "Cache: restored 1 files from key 'deps-" + key_hash.substr(0, 64) + "'"));
  }
}

TEST_CASE("cbuild: hash-files depends on names and contents", "[cbuild][cache]") {
  CbuildFixture f;
  f.file("a/x.txt", "1");
  f.file("a/y.txt", "2");
  auto h1 = f.cbuild({"hash-files", "a/**/*"}).out;
  CHECK(f.cbuild({"hash-files", "a/**/*"}).out == h1);
  f.file("a/y.txt", "3");
  auto h2 = f.cbuild({"hash-files", "a/**/*"}).out;
  CHECK(h2 != h1);
  std::filesystem::rename(f.src / "a/y.txt", f.src / "a/z.txt");
  CHECK(f.cbuild({"hash-files", "a/**/*"}).out != h2);
}

TEST_CASE("cbuild: --source-version builds a commit exported into a fresh workspace", "[cbuild][git]") {
  CbuildFixture f;
  auto git = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {"git", "-c", "user.name=t", "-c", "user.email=t@e", "-c", "init.defaultBranch=main"});
    auto r = run(args, f.src);
    REQUIRE(r.exit_code == 0);
    return r.out;
  };
  git({"init", "-q"});
  f.file("version.txt", "one");
  f.buildspec("version: 0.2\nphases:\n  build:\n    commands:\n      - echo \"building $(cat version.txt) at $CODEBUILD_RESOLVED_SOURCE_VERSION in $CODEBUILD_SRC_DIR\"\n");
  git({"add", "-A"});
  git({"commit", "-qm", "one"});
  std::string first = git({"rev-parse", "HEAD"}).substr(0, 40);
  git({"tag", "v1"});
  f.file("version.txt", "two");
  git({"commit", "-qam", "two"});
  std::string second = git({"rev-parse", "HEAD"}).substr(0, 40);
  f.file("version.txt", "uncommitted");

  REQUIRE(f.build({"--source-version", "v1"}).exit_code == 0);
  auto rec = f.record();
  CHECK(rec["sourceVersion"] == "v1");
  CHECK(rec["resolvedSourceVersion"] == first);
  CHECK(contains(f.log(), "\nbuilding one at " + first + " in /"));
  CHECK_FALSE(contains(f.log(), " in " + f.src.string() + "\n"));
  // In place, the resolved version is HEAD's commit.
  REQUIRE(f.build().exit_code == 0);
  CHECK(contains(f.log(), "\nbuilding uncommitted at " + second + " in " + f.src.string() + "\n"));
  auto bad = f.build({"--source-version", "no-such-ref"});
  CHECK(bad.exit_code == 2);
  CHECK(contains(bad.err, "revision 'no-such-ref' not found"));
}

TEST_CASE("cbuild: libgit2 is loaded only for a source inside a git repository", "[cbuild][git]") {
  // Loading it (and initialising it) costs a run milliseconds: a source outside git, such as the
  // workspace a pipeline hands to a build action, pays nothing. ld.so names every library it
  // loads (LD_DEBUG=libs) in a file per process (LD_DEBUG_OUTPUT), the build's shells included.
  CbuildFixture f;
  f.buildspec("version: 0.2\nphases:\n  build:\n    commands:\n      - echo \"at [$CODEBUILD_RESOLVED_SOURCE_VERSION]\"\n");
  auto loaded = [&](const std::filesystem::path& dir, const std::string& tag) {
    auto env = f.env();
    env["LD_DEBUG"] = "libs";
    env["LD_DEBUG_OUTPUT"] = (f.scratch / ("ld-" + tag)).string();
    auto r = run({CICD_CBUILD, "run", "-s", dir.string(), "-a", f.out.string()}, f.scratch.path(), env);
    REQUIRE(r.exit_code == 0);
    std::string libraries;
    for (auto& e : std::filesystem::directory_iterator(f.scratch.path()))
      if (e.path().filename().string().starts_with("ld-" + tag + "."))
        libraries += unwrap(read_file(e.path()));
    REQUIRE(contains(libraries, "libc.so.6"));  // the trace works
    return contains(libraries, "libgit2");
  };
  CHECK_FALSE(loaded(f.src, "outside"));
  CHECK(contains(f.log(), "\nat []\n"));

  // In a subdirectory of a work tree, reached through a symlink, HEAD's commit is found.
  auto git = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {"git", "-c", "user.name=t", "-c", "user.email=t@e"});
    auto r = run(args, f.src);
    REQUIRE(r.exit_code == 0);
    return r.out;
  };
  git({"init", "-q"});
  f.file("sub/buildspec.yml", unwrap(read_file(f.src / "buildspec.yml")));
  git({"add", "-A"});
  git({"commit", "-qm", "one"});
  std::string head = git({"rev-parse", "HEAD"}).substr(0, 40);
  std::filesystem::create_directory_symlink(f.src / "sub", f.scratch / "link");
  CHECK(loaded(f.scratch / "link", "inside"));
  CHECK(contains(f.log(), "\nat [" + head + "]\n"));
}

TEST_CASE("cbuild: a multi-line secret is masked line by line", "[cbuild][secrets]") {
  CbuildFixture f;
  std::string pem = "-----BEGIN KEY-----\nMIIBVwIBADANBgkqhkiG9w0BAQ\nEFAASCAUEwggE9AgEAAkEA\n-----END KEY-----";
  auto key_file = f.scratch.write("key.pem", pem);
  REQUIRE(f.cbuild({"put-parameter", "--name", "deploy-key", "--value-file", key_file.string()}).exit_code == 0);
  f.buildspec("version: 0.2\nenv:\n  parameter-store:\n    KEY: deploy-key\nphases:\n  build:\n    commands:\n      - printf '%s\\n' \"$KEY\"\n");
  REQUIRE(f.build().exit_code == 0);
  auto log = f.log();
  CHECK_FALSE(contains(log, "MIIBVwIBADANBgkqhkiG9w0BAQ"));
  CHECK_FALSE(contains(log, "EFAASCAUEwggE9AgEAAkEA"));
  CHECK(contains(log, "\n***\n***\n***\n***\n"));
}

TEST_CASE("cbuild: s3-prefix is a folder inside the artifact folder, never outside", "[cbuild][artifacts]") {
  CbuildFixture f;
  f.file("a.txt", "a");
  f.buildspec("version: 0.2\nphases:\n  build:\n    commands:\n      - 'true'\nartifacts:\n  files: [a.txt]\n  s3-prefix: releases/v1\n");
  REQUIRE(f.build().exit_code == 0);
  CHECK(std::filesystem::exists(f.out / "artifacts/releases/v1/src.zip"));
  f.buildspec("version: 0.2\nphases:\n  build:\n    commands:\n      - 'true'\nartifacts:\n  files: [a.txt]\n  s3-prefix: ../../escape\n");
  CHECK(f.build().exit_code == 1);
  CHECK(CbuildFixture::phase_message(f.record(), "UPLOAD_ARTIFACTS") ==
        "CLIENT_ERROR: primary artifact: s3-prefix '../../escape' must be a relative path without '..'");
  CHECK_FALSE(std::filesystem::exists(f.scratch / "escape"));
}

TEST_CASE("cbuild: a buildspec with artifacts and no phases packages its source", "[cbuild][artifacts]") {
  CbuildFixture f;
  f.file("index.html", "<h1>hi</h1>");
  f.file("js/app.js", "app()");
  f.buildspec("version: 0.2\nartifacts:\n  files:\n    - '**/*'\n  exclude-paths: [buildspec.yml]\n  name: site\n");
  CHECK(f.cbuild({"validate", "buildspec.yml"}).exit_code == 0);
  auto r = f.build();
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(unzip_list(f.out / "artifacts/site.zip") == "index.html\njs/app.js\n");
  // The record has the usual phases, each with nothing to run.
  auto rec = f.record();
  CHECK(rec["buildStatus"] == "SUCCEEDED");
  CHECK(CbuildFixture::phase_types(rec) ==
        std::vector<std::string>{"SUBMITTED", "QUEUED", "PROVISIONING", "DOWNLOAD_SOURCE", "INSTALL", "PRE_BUILD",
                                 "BUILD", "POST_BUILD", "UPLOAD_ARTIFACTS", "FINALIZING", "COMPLETED"});
  for (auto& phase : rec["phases"])
    if (phase["phaseType"] != "COMPLETED") CHECK(phase["phaseStatus"] == "SUCCEEDED");
}

TEST_CASE("cbuild: a batch-only buildspec is refused with a clear message", "[cbuild]") {
  CbuildFixture f;
  f.buildspec("version: 0.2\nbatch:\n  build-list:\n    - identifier: one\n      buildspec: one.yml\n");
  auto r = f.build();
  CHECK(r.exit_code == 2);
  CHECK(contains(r.err, "defines only a batch build"));
  CHECK(contains(r.err, "running batch builds is not supported yet"));
  CHECK_FALSE(std::filesystem::exists(f.out / "build.json"));
}
