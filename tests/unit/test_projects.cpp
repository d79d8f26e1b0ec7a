// Build projects: their checks, the build options they mean, and their files in the home.
#include <catch2/catch.hpp>

#include "builder/projects.hpp"
#include "support/test_support.hpp"
#include "util/fs.hpp"

using namespace cicd;

namespace {

Json minimal(const std::string& name = "web") {
  return Json{{"name", name},
              {"source", {{"type", "NO_SOURCE"}, {"buildspec", "version: 0.2\nphases:\n  build:\n    commands:\n      - echo hi\n"}}},
              {"artifacts", {{"type", "NO_ARTIFACTS"}}},
              {"environment", {{"type", "LINUX_CONTAINER"}, {"image", "aws/codebuild/standard:7.0"}, {"computeType", "BUILD_GENERAL1_SMALL"}}}};
}

std::vector<std::string> problems_of(const Json& j) {
  std::vector<std::string> out;
  for (auto& p : check_project_json(j).problems) out.push_back(project_field_name(p.pointer) + ": " + p.message);
  return out;
}

}  // namespace

TEST_CASE("projects: a minimal project is read as written", "[projects]") {
  auto check = check_project_json(minimal());
  REQUIRE(check.problems.empty());
  REQUIRE(check.project);
  CHECK(check.project->name == "web");
  CHECK(check.project->source_type == "NO_SOURCE");
  CHECK(check.project->artifacts_type == "NO_ARTIFACTS");
  CHECK(check.project->environment_image == "aws/codebuild/standard:7.0");
  CHECK(check.project->timeout_in_minutes == 60);
}

TEST_CASE("projects: every problem is reported, by field", "[projects]") {
  Json j = minimal("x");
  j["source"] = Json{{"type", "GITHUBB"}, {"locaton", "a"}};
  j["artifacts"] = Json{{"type", "S3"}};
  j["environment"]["environmentVariables"] = Json::array({{{"name", "A"}, {"value", "1"}, {"type", "SECRET"}},
                                                          {{"name", "1BAD"}, {"value", "2"}}});
  j["timeoutInMinutes"] = "3";
  j["servceRole"] = "r";
  CHECK(problems_of(j) == std::vector<std::string>{
                              "servceRole: unknown field 'servceRole'; did you mean 'serviceRole'?",
                              "name: invalid project name 'x': 2 to 100 letters, digits, '-' and '_', starting with a letter or digit",
                              "timeoutInMinutes: 'timeoutInMinutes' must be between 5 and 2160; got 3",
                              "source.locaton: unknown field 'locaton'; did you mean 'location'?",
                              "source.type: 'GITHUBB' is not a valid type; did you mean 'GITHUB'?",
                              "artifacts.location: S3 artifacts need a location (a bucket or a directory)",
                              "environment.environmentVariables[0].type: 'SECRET' is not a valid type; expected PLAINTEXT, PARAMETER_STORE or SECRETS_MANAGER",
                              "environment.environmentVariables[1].name: '1BAD' is not a valid variable name"});
  Json none = Json{{"name", "web"}};
  CHECK(problems_of(none) == std::vector<std::string>{"source: 'source' is required", "artifacts: 'artifacts' is required",
                                                      "environment: 'environment' is required"});
  Json nosrc = minimal();
  nosrc["source"].erase("buildspec");
  CHECK(problems_of(nosrc) ==
        std::vector<std::string>{"source.buildspec: a NO_SOURCE project needs its buildspec inline in source.buildspec"});
}

TEST_CASE("projects: the build options a project means", "[projects]") {
  test::Scratch dir;
  ProjectBuildInputs in{dir / "home", dir / "store", {}, {}, {}};
  SECTION("NO_SOURCE: an empty workspace and the inline buildspec") {
    auto o = build_options_for(*check_project_json(minimal()).project, in);
    REQUIRE(o);
    CHECK(o->source_kind == BuildOptions::SourceKind::none);
    CHECK(test::contains(o->buildspec_text, "echo hi"));
    CHECK(o->buildspec_name == "project web: source.buildspec");
    CHECK_FALSE(o->package_artifacts);
    CHECK_FALSE(o->cache_enabled);
    CHECK(o->environment_image == "aws/codebuild/standard:7.0");
  }
  SECTION("S3: a directory or archive of the bucket area; artifacts into the bucket area") {
    Json j = minimal();
    j["source"] = Json{{"type", "S3"}, {"location", "src-bucket/app.zip"}};
    j["artifacts"] = Json{{"type", "S3"}, {"location", "out-bucket"}, {"path", "builds"}, {"name", "app"},
                          {"namespaceType", "BUILD_ID"}, {"packaging", "NONE"}};
    j["cache"] = Json{{"type", "LOCAL"}, {"modes", {"LOCAL_CUSTOM_CACHE"}}};
    auto p = *check_project_json(j).project;
    auto missing = build_options_for(p, in);
    REQUIRE_FALSE(missing);
    CHECK(test::contains(missing.error().message, "source location 'src-bucket/app.zip'"));
    dir.write("store/buckets/src-bucket/app.zip", "zip");
    auto o = build_options_for(p, in);
    REQUIRE(o);
    CHECK(o->source_kind == BuildOptions::SourceKind::archive);
    CHECK(o->source_archive == dir / "store/buckets/src-bucket/app.zip");
    CHECK(o->artifacts_dir == dir / "store/buckets/out-bucket/builds/app");
    CHECK(o->artifacts_dir_per_build);
    CHECK(o->packaging == ArtifactPackaging::none);
    CHECK(o->cache_enabled);
  }
  SECTION("S3 locations stay in the bucket area") {
    Json j = minimal();
    j["source"] = Json{{"type", "S3"}, {"location", "bucket/../../etc"}};
    auto o = build_options_for(*check_project_json(j).project, in);
    REQUIRE_FALSE(o);
    CHECK(o.error().message == "source location 'bucket/../../etc': give a local path, or BUCKET/KEY without '..'");
  }
  SECTION("CODECOMMIT: a repository of the home, by name or by its URL; its default branch unless told") {
    std::filesystem::create_directories(dir / "home/repos/app.git");
    for (std::string location : {"app", "https://git-codecommit.eu-west-1.amazonaws.com/v1/repos/app"}) {
      Json j = minimal();
      j["source"] = Json{{"type", "CODECOMMIT"}, {"location", location}};
      auto o = build_options_for(*check_project_json(j).project, in);
      REQUIRE(o);
      CHECK(o->source_dir == dir / "home/repos/app.git");
      CHECK(o->source_version == "HEAD");
    }
  }
  SECTION("GITHUB over the network is refused with what to do") {
    Json j = minimal();
    j["source"] = Json{{"type", "GITHUB"}, {"location", "https://github.com/o/r.git"}};
    auto o = build_options_for(*check_project_json(j).project, in);
    REQUIRE_FALSE(o);
    CHECK(test::contains(o.error().message, "clone it and give its path (or a file:// URL)"));
  }
  SECTION("CODEPIPELINE needs the input") {
    Json j = minimal();
    j["source"] = Json{{"type", "CODEPIPELINE"}};
    j["artifacts"] = Json{{"type", "CODEPIPELINE"}};
    auto p = *check_project_json(j).project;
    auto o = build_options_for(p, in);
    REQUIRE_FALSE(o);
    CHECK(test::contains(o.error().message, "give the input with --source DIR"));
    in.source_dir = dir / "in";
    in.artifacts_dir = dir / "out";
    o = build_options_for(p, in);
    REQUIRE(o);
    CHECK(o->source_dir == dir / "in");
    CHECK(o->artifacts_dir == dir / "out");
  }
}

TEST_CASE("projects: kept in the home, checked on every read", "[projects]") {
  test::Scratch dir;
  BuildProjects projects(dir / "home");
  auto created = projects.create(minimal());
  REQUIRE(created);
  CHECK(created->json["timeoutInMinutes"] == 60);
  CHECK(created->json["cache"]["type"] == "NO_CACHE");
  CHECK(test::contains(created->json["arn"].get<std::string>(), ":project/web"));
  auto again = projects.create(minimal());
  REQUIRE_FALSE(again);
  CHECK(again.error().kind == ErrorKind::conflict);
  CHECK(again.error().message == "build project 'web' already exists");
  // A round trip keeps the JSON as it was (the inline buildspec's lines included).
  auto got = projects.get("web");
  REQUIRE(got);
  CHECK(got->json == created->json);
  // An update replaces the fields given and is checked whole.
  auto updated = projects.update(Json{{"name", "web"}, {"timeoutInMinutes", "30"}});
  REQUIRE(updated);
  CHECK(updated->timeout_in_minutes == 30);
  CHECK(updated->json["created"] == created->json["created"]);
  auto bad = projects.update(Json{{"name", "web"}, {"timeoutInMinutes", "3"}});
  REQUIRE_FALSE(bad);
  CHECK(bad.error().details == std::vector<std::string>{"timeoutInMinutes: 'timeoutInMinutes' must be between 5 and 2160; got 3"});
  CHECK(projects.get("web")->timeout_in_minutes == 30);
  // A hand-edited file with mistakes: all of them, positioned.
  auto file = dir / "home/build/projects/web.yml";
  auto text = unwrap(read_file(file));
  REQUIRE(test::contains(text, "type: NO_SOURCE"));
  text.replace(text.find("type: NO_SOURCE"), 15, "type: NO_SORCE");
  text.replace(text.find("type: NO_ARTIFACTS"), 18, "tpye: NO_ARTIFACTS");
  REQUIRE(write_file_atomic(file, text));
  auto broken = projects.get("web");
  REQUIRE_FALSE(broken);
  CHECK(broken.error().kind == ErrorKind::invalid);
  REQUIRE(broken.error().details.size() == 3);
  CHECK(test::contains(broken.error().details[0], file.string() + ":"));
  CHECK(test::contains(broken.error().details[0], "error: source.type: 'NO_SORCE' is not a valid type; did you mean 'NO_SOURCE'?"));
  // Listing and removing.
  REQUIRE(projects.create(minimal("api")));
  CHECK(*projects.list() == std::vector<std::string>{"api", "web"});
  CHECK(*projects.list(BuildProjects::SortBy::name, true) == std::vector<std::string>{"web", "api"});
  REQUIRE(projects.remove("api"));
  auto gone = projects.get("api");
  REQUIRE_FALSE(gone);
  CHECK(gone.error().kind == ErrorKind::not_found);
  CHECK(projects.remove("api").error().message == "build project 'api' does not exist");
}

TEST_CASE("projects: the flags make CreateProject's input, shorthand or JSON", "[projects]") {
  ProjectFlags flags;
  flags.values["name"] = "web";
  flags.structures["--source"] = {"type=S3,location=bucket/src.zip,buildspec=ci/buildspec.yml"};
  flags.structures["--environment"] = {
      "type=LINUX_CONTAINER,image=img,computeType=BUILD_GENERAL1_SMALL,environmentVariables=[{name=A,value=1},{name=B,value=db-pass,type=PARAMETER_STORE}]"};
  flags.structures["--artifacts"] = {R"({"type": "NO_ARTIFACTS"})"};
  flags.structures["--tags"] = {"key=team,value=web", "key=env,value=prod"};
  auto j = project_input(flags);
  REQUIRE(j);
  CHECK((*j)["source"]["location"] == "bucket/src.zip");
  CHECK((*j)["environment"]["environmentVariables"][1]["type"] == "PARAMETER_STORE");
  CHECK((*j)["artifacts"]["type"] == "NO_ARTIFACTS");
  CHECK((*j)["tags"].size() == 2);
  auto check = check_project_json(*j);
  CHECK(check.problems.empty());
  flags.structures["--source"] = {"type=S3,locaton=x"};
  auto bad = project_input(flags);
  REQUIRE_FALSE(bad);
  CHECK(test::contains(bad.error().message, "--source 'type=S3,locaton=x': unknown field 'locaton'"));
}
