// The artifact directory (cicd-artifacts(5)): the one reader every tool uses.
#include <catch2/catch.hpp>

#include "artifact/artifact_dir.hpp"
#include "support/test_support.hpp"
#include "util/fs.hpp"

using namespace cicd;

namespace {

// A directory as a build at `written` leaves it: a primary zip under an s3-prefix, a secondary
// artifact as files, a report, exported variables.
void write_directory(const test::Scratch& dir, const std::string& at, const std::string& written) {
  dir.write(at + "/artifacts/web/site.zip", "zip bytes");
  dir.write(at + "/artifacts/web/site.zip.manifest.json", "[]");
  dir.write(at + "/secondary/docs/docs/index.html", "<h1>docs</h1>");
  dir.write(at + "/secondary/docs/docs.manifest.json", "[]");
  dir.write(at + "/reports/app-unit.json", "{}");
  dir.write(at + "/exported-variables.env", "VERSION=1.2.3\n");
  Json record{{"id", "app:1234"},
              {"projectName", "app"},
              {"buildStatus", "SUCCEEDED"},
              {"resolvedSourceVersion", "abc123"},
              {"artifacts",
               {{"location", written + "/artifacts/web/site.zip"},
                {"name", "site"},
                {"packaging", "ZIP"},
                {"sha256sum", "ff"},
                {"manifest", written + "/artifacts/web/site.zip.manifest.json"},
                {"files", 3},
                {"size", 9}}},
              {"secondaryArtifacts",
               Json::array({{{"artifactIdentifier", "docs"},
                             {"location", written + "/secondary/docs/docs"},
                             {"name", "docs"},
                             {"packaging", "NONE"}}})},
              {"exportedEnvironmentVariables", Json::array({{{"name", "VERSION"}, {"value", "1.2.3"}}})},
              {"artifactsDirectory", written}};
  REQUIRE(write_artifact_record(dir / at, record, false));
}

}  // namespace

TEST_CASE("artifact directory: read as written, every part found", "[artifact_dir]") {
  test::Scratch dir;
  write_directory(dir, "out", (dir / "out").string());
  CHECK(is_artifact_directory(dir / "out"));
  auto d = read_artifact_directory(dir / "out");
  REQUIRE(d);
  CHECK(d->build_id == "app:1234");
  CHECK(d->project == "app");
  CHECK(d->succeeded());
  CHECK(d->resolved_source_version == "abc123");
  REQUIRE(d->primary);
  CHECK(d->primary->location == dir / "out/artifacts/web/site.zip");
  CHECK(d->primary->manifest == dir / "out/artifacts/web/site.zip.manifest.json");
  CHECK(d->primary->packaging == "ZIP");
  CHECK(d->primary->files == 3);
  REQUIRE(d->artifact("docs"));
  CHECK(d->artifact("docs")->location == dir / "out/secondary/docs/docs");
  CHECK(d->artifact("docs")->manifest == dir / "out/secondary/docs/docs.manifest.json");
  CHECK(d->artifact("nope") == nullptr);
  CHECK(d->exported_variables == EnvList{{"VERSION", "1.2.3"}});
  CHECK(d->reports == std::vector<std::filesystem::path>{dir / "out/reports/app-unit.json"});
}

TEST_CASE("artifact directory: a moved directory still reads, inside its new place", "[artifact_dir]") {
  test::Scratch dir;
  write_directory(dir, "moved/here", "/somewhere/else/out");
  auto d = read_artifact_directory(dir / "moved/here");
  REQUIRE(d);
  CHECK(d->primary->location == dir / "moved/here/artifacts/web/site.zip");
  CHECK(d->artifact("docs")->location == dir / "moved/here/secondary/docs/docs");
}

TEST_CASE("artifact directory: broken ones are errors naming the file", "[artifact_dir]") {
  test::Scratch dir;
  SECTION("no record") {
    std::filesystem::create_directories(dir / "empty");
    CHECK_FALSE(is_artifact_directory(dir / "empty"));
    auto d = read_artifact_directory(dir / "empty");
    REQUIRE_FALSE(d);
    CHECK(d.error().message == "'" + (dir / "empty").string() + "' is not an artifact directory: it has no build.json");
  }
  SECTION("a truncated record") {
    dir.write("out/build.json", "{\"id\": \"app:1\", \"artifacts\": {");
    auto d = read_artifact_directory(dir / "out");
    REQUIRE_FALSE(d);
    CHECK(d.error().kind == ErrorKind::invalid);
    CHECK(test::contains(d.error().message, (dir / "out/build.json").string()));
  }
  SECTION("a field of the wrong type") {
    dir.write("out/build.json", R"({"id": "app:1", "buildStatus": 3})");
    auto d = read_artifact_directory(dir / "out");
    REQUIRE_FALSE(d);
    CHECK(d.error().message == "'" + (dir / "out/build.json").string() +
                                   "': build record: field 'buildStatus' is a number, not a string");
  }
  SECTION("an artifact that is gone") {
    write_directory(dir, "out", (dir / "out").string());
    std::filesystem::remove(dir / "out/artifacts/web/site.zip");
    auto d = read_artifact_directory(dir / "out");
    REQUIRE_FALSE(d);
    CHECK(d.error().message == "artifact directory '" + (dir / "out").string() +
                                   "': the primary artifact 'site' is missing (artifacts/web/site.zip)");
  }
  SECTION("a location outside the directory") {
    write_directory(dir, "out", (dir / "out").string());
    auto record = unwrap(parse_json(dir.read("out/build.json"), "record"));
    record["artifacts"]["location"] = (dir / "out/../../etc/passwd").string();
    REQUIRE(write_artifact_record(dir / "out", record, false));
    auto d = read_artifact_directory(dir / "out");
    REQUIRE_FALSE(d);
    CHECK(test::contains(d.error().message, "is not inside the artifact directory"));
  }
}

TEST_CASE("artifact directory: exported variables come from the record when the file is gone", "[artifact_dir]") {
  test::Scratch dir;
  write_directory(dir, "out", (dir / "out").string());
  std::filesystem::remove(dir / "out/exported-variables.env");
  auto d = read_artifact_directory(dir / "out");
  REQUIRE(d);
  CHECK(d->exported_variables == EnvList{{"VERSION", "1.2.3"}});
}
