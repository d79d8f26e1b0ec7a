#include <catch2/catch.hpp>

#include "builder/runtimes.hpp"

using namespace cicd;

TEST_CASE("runtimes: versions found in tools' output", "[runtimes]") {
  CHECK(extract_version("v18.19.0") == "18.19.0");
  CHECK(extract_version("Python 3.11.7") == "3.11.7");
  CHECK(extract_version("openjdk version \"17.0.2\" 2022-01-18") == "17.0.2");
  CHECK(extract_version("go version go1.21.5 linux/amd64") == "1.21.5");
  CHECK(extract_version("Docker version 28.2.2, build e6534b4") == "28.2.2");
  CHECK(extract_version("9") == "9");
  CHECK(extract_version("nothing here") == "");
}

TEST_CASE("runtimes: requested versions match as prefixes", "[runtimes]") {
  CHECK(version_matches("18", "18.19.0"));
  CHECK(version_matches("3.11", "3.11.7"));
  CHECK_FALSE(version_matches("3.1", "3.11.7"));
  CHECK(version_matches("3.x", "3.12.1"));
  CHECK(version_matches("latest", "1.0"));
  CHECK_FALSE(version_matches("latest", ""));
  CHECK(version_matches("corretto17", "17.0.2"));
  CHECK(version_matches("openjdk11", "11.0.21"));
  CHECK(version_matches("8", "1.8.0_392"));  // Java 8 calls itself 1.8
  CHECK_FALSE(version_matches("corretto21", "17.0.2"));
}
