// Build projects through the real binary: create, get, list, update, delete, and start-build of
// each kind of source, with CodeBuild's precedence of variables.
#include "cli/cbuild_fixture.hpp"
#include "util/fs.hpp"

using namespace cicd;
using namespace cicd::test;

namespace {

constexpr const char* k_environment = "type=LINUX_CONTAINER,image=aws/codebuild/standard:7.0,computeType=BUILD_GENERAL1_SMALL";

Json json_of(const RunOutput& r) { return unwrap(parse_json(r.out, "cbuild output")); }

}  // namespace

TEST_CASE("cbuild projects: create, get, list, update, delete", "[cbuild][projects]") {
  CbuildFixture f;
  auto created = f.cbuild({"create-project", "--name", "web", "--source",
                           "type=NO_SOURCE,buildspec='version: 0.2\nphases:\n  build:\n    commands:\n      - echo hi\n'",
                           "--artifacts", "type=NO_ARTIFACTS", "--environment", k_environment, "--service-role",
                           "arn:aws:iam::123456789012:role/cb", "--tags", "key=team,value=web", "--output", "json"});
  INFO(created.err);
  REQUIRE(created.exit_code == 0);
  auto p = json_of(created)["project"];
  CHECK(p["name"] == "web");
  CHECK(p["serviceRole"] == "arn:aws:iam::123456789012:role/cb");
  CHECK(p["tags"] == Json::array({{{"key", "team"}, {"value", "web"}}}));
  CHECK(p["timeoutInMinutes"] == 60);

  auto dup = f.cbuild({"create-project", "--name", "web", "--source", "type=NO_SOURCE,buildspec=x", "--artifacts",
                       "type=NO_ARTIFACTS", "--environment", k_environment});
  CHECK(dup.exit_code == 2);
  CHECK(dup.err == "cbuild: error: build project 'web' already exists\n");

  // Bad input: every problem, nothing written.
  auto bad = f.cbuild({"create-project", "--name", "api", "--source", "type=GITHUBB", "--artifacts", "type=S3",
                       "--environment", "type=LINUX_CONTAINER"});
  CHECK(bad.exit_code == 2);
  CHECK(contains(bad.err, "source.type: 'GITHUBB' is not a valid type; did you mean 'GITHUB'?"));
  CHECK(contains(bad.err, "artifacts.location: S3 artifacts need a location"));
  CHECK(contains(bad.err, "environment.image: 'image' is required"));
  CHECK(contains(bad.err, "invalid build project 'api': 4 problems"));

  auto got = f.cbuild({"batch-get-projects", "--names", "web", "nope", "--output", "json"});
  REQUIRE(got.exit_code == 0);
  CHECK(json_of(got)["projects"][0]["name"] == "web");
  CHECK(json_of(got)["projectsNotFound"] == Json::array({"nope"}));

  auto updated = f.cbuild({"update-project", "--name", "web", "--timeout-in-minutes", "15", "--output", "json"});
  REQUIRE(updated.exit_code == 0);
  CHECK(json_of(updated)["project"]["timeoutInMinutes"] == 15);
  CHECK(json_of(updated)["project"]["serviceRole"] == "arn:aws:iam::123456789012:role/cb");

  REQUIRE(f.cbuild({"create-project", "--cli-input-json",
                    R"({"name": "api", "source": {"type": "NO_SOURCE", "buildspec": "version: 0.2\nphases:\n  build:\n    commands:\n      - 'true'\n"},
                        "artifacts": {"type": "NO_ARTIFACTS"},
                        "environment": {"type": "LINUX_CONTAINER", "image": "i", "computeType": "BUILD_GENERAL1_SMALL"}})"})
              .exit_code == 0);
  CHECK(json_of(f.cbuild({"list-projects", "--output", "json"}))["projects"] == Json::array({"api", "web"}));
  CHECK(json_of(f.cbuild({"list-projects", "--sort-by", "NAME", "--sort-order", "DESCENDING", "--output", "json"}))["projects"] ==
        Json::array({"web", "api"}));
  CHECK(f.cbuild({"delete-project", "--name", "api"}).exit_code == 0);
  auto gone = f.cbuild({"delete-project", "--name", "api"});
  CHECK(gone.exit_code == 2);
  CHECK(gone.err == "cbuild: error: build project 'api' does not exist\n");
}

TEST_CASE("cbuild projects: start-build of a NO_SOURCE project, variables in CodeBuild's order", "[cbuild][projects]") {
  CbuildFixture f;
  REQUIRE(f.cbuild({"put-parameter", "--name", "db-pass", "--value", "s3cret"}).exit_code == 0);
  std::string buildspec = "version: 0.2\nenv:\n  variables:\n    A: buildspec\n    B: buildspec\n    C: buildspec\n"
                          "phases:\n  build:\n    commands:\n      - echo \"A=$A B=$B C=$C P=$P\"\n      - pwd\n";
  auto created = f.cbuild({"create-project", "--name", "nosrc", "--source", "type=NO_SOURCE,buildspec='" + buildspec + "'",
                           "--artifacts", "type=NO_ARTIFACTS", "--environment",
                           std::string(k_environment) +
                               ",environmentVariables=[{name=B,value=project},{name=C,value=project},{name=P,value=db-pass,type=PARAMETER_STORE}]"});
  INFO(created.err);
  REQUIRE(created.exit_code == 0);
  auto r = f.cbuild({"start-build", "--project-name", "nosrc", "-a", f.out.string(), "--environment-variables-override",
                     "name=C,value=override,type=PLAINTEXT"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  auto log = f.log();
  CHECK(contains(log, "A=buildspec B=project C=override P=***"));
  auto rec = f.record();
  CHECK(rec["projectName"] == "nosrc");
  CHECK(rec["source"]["type"] == "NO_SOURCE");
  CHECK(rec["environment"]["image"] == "aws/codebuild/standard:7.0");
  CHECK(rec["environment"]["computeType"] == "BUILD_GENERAL1_SMALL");
  // The source directory is an empty workspace of the build's own, not ours.
  CHECK_FALSE(contains(log, f.src.string() + "\n"));
  // An override of the buildspec, inline.
  auto other = f.cbuild({"start-build", "--project-name", "nosrc", "-a", (f.scratch / "out2").string(), "--buildspec-override",
                         "version: 0.2\nphases:\n  build:\n    commands:\n      - echo overridden\n"});
  REQUIRE(other.exit_code == 0);
  CHECK(contains(unwrap(read_file(f.scratch / "out2/build.log")), "overridden"));
  // Overrides need a project.
  auto stray = f.cbuild({"run", "--timeout-in-minutes-override", "10"});
  CHECK(stray.exit_code == 2);
  CHECK(contains(stray.err, "give --project-name"));
}

TEST_CASE("cbuild projects: git, S3 and CODEPIPELINE sources, S3 artifacts, NO_CACHE", "[cbuild][projects]") {
  CbuildFixture f;
  // A repository with two commits on main.
  auto repo = f.scratch / "repo";
  std::filesystem::create_directories(repo);
  auto git = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {"git", "-C", repo.string(), "-c", "user.name=t", "-c", "user.email=t@e"});
    REQUIRE(run(args).exit_code == 0);
  };
  git({"init", "-q", "-b", "main"});
  f.scratch.write("repo/buildspec.yml", "version: 0.2\nphases:\n  build:\n    commands:\n      - cat version.txt\n"
                                        "artifacts:\n  files: [version.txt]\ncache:\n  paths: ['cache/**/*']\n");
  f.scratch.write("repo/version.txt", "one\n");
  git({"add", "."});
  git({"commit", "-qm", "one"});
  f.scratch.write("repo/version.txt", "two\n");
  git({"commit", "-qam", "two"});

  REQUIRE(f.cbuild({"create-project", "--name", "gitproj", "--source", "type=GITHUB,location=file://" + repo.string(),
                    "--artifacts", "type=S3,location=out-bucket,path=builds,packaging=NONE", "--environment", k_environment})
              .exit_code == 0);
  auto r = f.cbuild({"start-build", "--project-name", "gitproj", "--source-version", "HEAD~1", "--output", "json"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  auto build = json_of(r)["build"];
  CHECK(build["source"]["type"] == "GITHUB");
  CHECK(build["resolvedSourceVersion"].get<std::string>().size() == 40);
  auto dir = f.home / "store/buckets/out-bucket/builds/gitproj";
  CHECK(build["artifactsDirectory"] == dir.string());
  CHECK(unwrap(read_file(dir / "artifacts/gitproj/version.txt")) == "one\n");
  CHECK(contains(unwrap(read_file(dir / "build.log")), "the project's cache type is NO_CACHE"));

  // An S3 source: an archive in the bucket area.
  REQUIRE(run({"sh", "-c", "mkdir -p " + (f.home / "store/buckets/src").string() + " && cd " + repo.string() +
                               " && zip -q " + (f.home / "store/buckets/src/app.zip").string() + " buildspec.yml version.txt"})
              .exit_code == 0);
  REQUIRE(f.cbuild({"create-project", "--name", "s3proj", "--source", "type=S3,location=src/app.zip", "--artifacts",
                    "type=NO_ARTIFACTS", "--environment", k_environment})
              .exit_code == 0);
  auto s3 = f.cbuild({"start-build", "--project-name", "s3proj", "-a", (f.scratch / "s3out").string()});
  INFO(s3.err);
  REQUIRE(s3.exit_code == 0);
  CHECK(contains(unwrap(read_file(f.scratch / "s3out/build.log")), "two"));
  CHECK_FALSE(std::filesystem::exists(f.scratch / "s3out/artifacts"));

  // CODEPIPELINE: the input comes from --source (a pipeline gives it).
  REQUIRE(f.cbuild({"create-project", "--name", "pipe", "--source", "type=CODEPIPELINE", "--artifacts", "type=CODEPIPELINE",
                    "--environment", k_environment})
              .exit_code == 0);
  auto no_input = f.cbuild({"start-build", "--project-name", "pipe"});
  CHECK(no_input.exit_code == 2);
  CHECK(contains(no_input.err, "give the input with --source DIR"));
  auto piped = f.cbuild({"start-build", "--project-name", "pipe", "--source", repo.string(), "-a", (f.scratch / "pipeout").string()});
  REQUIRE(piped.exit_code == 0);
  CHECK(std::filesystem::exists(f.scratch / "pipeout/artifacts/pipe.zip"));
}
