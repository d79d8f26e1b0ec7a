#include "git/libgit2.hpp"

#include <dlfcn.h>


namespace cicd::libgit2 {

namespace {

Result<Api> load() {
  // RTLD_LOCAL: its symbols (and its dependencies') stay out of the global scope; nothing else
  // here looks them up. It is never unloaded.
  void* handle = ::dlopen(CICD_LIBGIT2_SONAME, RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char* why = ::dlerror();
    return fail(ErrorKind::io, "cannot load libgit2 ({}): {}", CICD_LIBGIT2_SONAME, why ? why : "unknown error");
  }
  Api api;
  const char* missing = nullptr;
#define CICD_LIBGIT2_RESOLVE(name)                                                   \
  api.name = reinterpret_cast<decltype(api.name)>(::dlsym(handle, #name));           \
  if (!api.name && !missing) missing = #name;
  CICD_LIBGIT2_FUNCTIONS(CICD_LIBGIT2_RESOLVE)
#undef CICD_LIBGIT2_RESOLVE
  if (missing) return fail(ErrorKind::io, "cannot load libgit2 ({}): it has no '{}'", CICD_LIBGIT2_SONAME, missing);
  if (api.git_libgit2_init() < 0) {
    const git_error* e = api.git_error_last();
    return fail(ErrorKind::io, "cannot initialise libgit2: {}", e && e->message ? e->message : "unknown error");
  }
  return api;
}

}  // namespace

Result<const Api*> api() {
  // Loaded once; a failure is kept too (and reported by every call that needed git).
  static const Result<Api> loaded = load();
  if (!loaded) return std::unexpected(loaded.error());
  return &*loaded;
}

}  // namespace cicd::libgit2
