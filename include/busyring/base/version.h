// What this build is: the release version, and the git commit it was built from when the
// build knows it (the Makefile passes -DBR_GIT_COMMIT="<hash>"; "unknown" otherwise).
#pragma once

namespace busyring::base {

inline constexpr const char* kVersion = "0.1.0";

#ifdef BR_GIT_COMMIT
inline constexpr const char* kGitCommit = BR_GIT_COMMIT;
#else
inline constexpr const char* kGitCommit = "unknown";
#endif

}  // namespace busyring::base
