#include <algorithm>
#include <catch2/catch.hpp>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

namespace {
std::string read(const std::string& relative) {
  std::ifstream in(std::string(DLOGP_SOURCE_DIR) + "/" + relative);
  REQUIRE(in.good());
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

/// The anchors GitHub gives a Markdown page's headings: lower case, letters, digits, '-' and '_'
/// kept, spaces to '-', everything else dropped; a repeated heading gets "-1", "-2", ...
std::vector<std::string> heading_anchors(const std::string& text) {
  std::vector<std::string> anchors;
  std::map<std::string, int> seen;
  std::istringstream in(text);
  bool fence = false;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("```", 0) == 0) fence = !fence;
    if (fence || line.empty() || line[0] != '#') continue;
    const auto start = line.find_first_not_of('#');
    if (start == std::string::npos || line[start] != ' ') continue;
    std::string slug;
    for (char c : line.substr(start + 1)) {
      const auto u = static_cast<unsigned char>(c);
      if (u < 128 && (std::isalnum(u) || c == '-' || c == '_'))
        slug += static_cast<char>(std::tolower(u));
      else if (c == ' ')
        slug += '-';
    }
    const int n = seen[slug]++;
    anchors.push_back(n == 0 ? slug : slug + "-" + std::to_string(n));
  }
  return anchors;
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

TEST_CASE("readme: docs cite only files the repository has", "[unit]") {
  // The repository stands on its own: every relative Markdown link in README.md and docs/ names
  // a file or folder that exists (and one of its headings, for an anchor), and no file cites the
  // maths and reference-value pages by the old names of copies outside the repository (the maths
  // is docs/notation.md, the reference cases and numbers are docs/ground-truth.md).
  namespace fs = std::filesystem;
  const fs::path root(DLOGP_SOURCE_DIR);

  std::vector<fs::path> pages{root / "README.md"};
  for (const auto& e : fs::recursive_directory_iterator(root / "docs"))
    if (e.is_regular_file() && e.path().extension() == ".md") pages.push_back(e.path());
  const std::regex link(R"(\]\(([^()\s]+)(\s+"[^"]*")?\))");
  long links = 0;
  for (const fs::path& page : pages) {
    std::string text;  // the page without its fenced code blocks
    {
      std::istringstream in(read(fs::relative(page, root).generic_string()));
      bool fence = false;
      for (std::string line; std::getline(in, line);) {
        if (line.rfind("```", 0) == 0) fence = !fence;
        if (!fence) text += line + "\n";
      }
    }
    for (std::sregex_iterator it(text.begin(), text.end(), link), end; it != end; ++it) {
      std::string target = (*it)[1].str();
      if (target.find("://") != std::string::npos || target.rfind("mailto:", 0) == 0) continue;
      std::string anchor;
      if (const auto hash = target.find('#'); hash != std::string::npos) {
        anchor = target.substr(hash + 1);
        target.erase(hash);
      }
      const fs::path file = target.empty() ? page : page.parent_path() / target;
      ++links;
      INFO(fs::relative(page, root).generic_string() << " links to " << (*it)[1].str());
      CHECK(fs::exists(file));
      if (!anchor.empty() && file.extension() == ".md" && fs::exists(file)) {
        const auto anchors = heading_anchors(read(fs::relative(file, root).generic_string()));
        CHECK(std::find(anchors.begin(), anchors.end(), anchor) != anchors.end());
      }
    }
  }
  CHECK(links > 10);  // the pattern finds the links the docs have

  // Spelled in pieces so that this file does not match itself.
  const std::vector<std::string> banned{std::string("GROUND") + "_TRUTH",
                                        std::string("MATH") + ".md", std::string("MATH") + " \u00a7"};
  const fs::path binary = fs::weakly_canonical(fs::path(DLOGP_BINARY_DIR));
  long files = 0;
  for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator();
       ++it) {
    const fs::path& p = it->path();
    const std::string name = p.filename().string();
    if (it->is_directory()) {
      // Version control, build trees (the .gitignore'd build*/ and out/ folders, and the build
      // this test runs in when it lies inside the source tree) and Python caches.
      if (name == ".git" || name == "__pycache__" ||
          (it.depth() == 0 && (name.rfind("build", 0) == 0 || name == "out")) ||
          fs::weakly_canonical(p) == binary)
        it.disable_recursion_pending();
      continue;
    }
    if (!it->is_regular_file() || name == ".git") continue;
    ++files;
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    const std::string text = ss.str();
    for (const std::string& b : banned) {
      INFO(fs::relative(p, root).generic_string() << " contains \"" << b << "\"");
      CHECK(text.find(b) == std::string::npos);
    }
  }
  CHECK(files > 100);
}
