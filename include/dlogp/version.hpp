#pragma once
// dlogp version; kept in sync with project(VERSION) in CMakeLists.txt by a test.
#define DLOGP_VERSION_MAJOR 0
#define DLOGP_VERSION_MINOR 1
#define DLOGP_VERSION_PATCH 0
#define DLOGP_VERSION_STRING "0.1.0"

namespace dlogp {
inline constexpr const char* version_string = DLOGP_VERSION_STRING;
}
