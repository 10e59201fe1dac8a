#include <catch2/catch.hpp>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>

namespace {
std::string read(const std::string& relative) {
  std::ifstream in(std::string(DLOGP_SOURCE_DIR) + "/" + relative);
  REQUIRE(in.good());
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}
}  // namespace

TEST_CASE("readme: the 15-line example is a copy of examples/01_quickstart.cpp", "[unit]") {
  const std::string readme = read("README.md");
  const std::string example = read("examples/01_quickstart.cpp");
  CHECK(readme.find("```cpp\n" + example + "```") != std::string::npos);
}

TEST_CASE("readme: the test command is the one CI runs", "[unit]") {
  const std::string readme = read("README.md");
  const std::string ci = read(".ci/run");
  std::smatch m;
  REQUIRE(std::regex_search(ci, m, std::regex("TEST_COMMAND='([^']*)'")));
  CHECK(readme.find(m[1].str() + "\n") != std::string::npos);
}

TEST_CASE("readme: the version in CMakeLists.txt matches version.hpp", "[unit]") {
  const std::string cmake = read("CMakeLists.txt");
  const std::string header = read("include/dlogp/version.hpp");
  std::smatch a, b;
  REQUIRE(std::regex_search(cmake, a, std::regex("project\\(dlogp VERSION ([0-9.]+)")));
  REQUIRE(std::regex_search(header, b, std::regex("DLOGP_VERSION_STRING \"([0-9.]+)\"")));
  CHECK(a[1].str() == b[1].str());
}

TEST_CASE("readme: the Guarantees section is docs/guarantees.md", "[unit]") {
  // One text, two places readers look: the README quotes the page whole, so neither drifts.
  const std::string readme = read("README.md");
  const std::string page = read("docs/guarantees.md");
  CHECK(readme.find(page) != std::string::npos);
}
