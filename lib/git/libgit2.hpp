// libgit2, loaded on first use (dlopen) instead of at every start of every tool. Linked the usual
// way, it and the 13 libraries it brings (mbedTLS, libssh2, Kerberos, PCRE2, http-parser, ...) are
// mapped and their symbols bound at each start of cbuild and cdeploy, and its initialisation
// parses the system's CA bundle (Debian builds it with mbedTLS): in a one-command `cbuild run`,
// 58 of the process's 79 million instructions, though most runs use no git at all; cpipeline
// would pay that for every action it runs in a process of its own.
//
// Every libgit2 function the wrappers in lib/git call is listed once in CICD_LIBGIT2_FUNCTIONS
// and called through the table (`git().git_commit_id(commit)` in git.cpp). A new one is a new
// line in the list (the compiler takes its type from git2.h). Only lib/git includes this header.
// The binaries do not name libgit2 among their libraries: a package of them must depend on it.
#pragma once

#include <git2.h>

#include "util/error.hpp"

#define CICD_LIBGIT2_FUNCTIONS(X) \
  X(git_libgit2_init)             \
  X(git_error_last)               \
  X(git_repository_open_ext)      \
  X(git_repository_free)          \
  X(git_revparse_single)          \
  X(git_object_peel)              \
  X(git_object_free)              \
  X(git_commit_tree)              \
  X(git_commit_id)                \
  X(git_commit_message)           \
  X(git_commit_author)            \
  X(git_commit_committer)         \
  X(git_commit_free)              \
  X(git_tree_free)                \
  X(git_checkout_options_init)    \
  X(git_checkout_tree)            \
  X(git_remote_lookup)            \
  X(git_remote_url)               \
  X(git_remote_free)              \
  X(git_reference_name_to_id)     \
  X(git_oid_tostr)                \
  X(git_oid_fromstr)              \
  X(git_commit_lookup)            \
  X(git_diff_tree_to_tree)        \
  X(git_diff_num_deltas)          \
  X(git_diff_get_delta)           \
  X(git_diff_free)

namespace cicd::libgit2 {

struct Api {
#define CICD_LIBGIT2_POINTER(name) decltype(&::name) name = nullptr;
  CICD_LIBGIT2_FUNCTIONS(CICD_LIBGIT2_POINTER)
#undef CICD_LIBGIT2_POINTER
};

// Loads and initialises libgit2 the first time it is called (from any thread), then returns the
// same table. Error{io} naming the library when it cannot be loaded or lacks a function.
Result<const Api*> api();

}  // namespace cicd::libgit2
