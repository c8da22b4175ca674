// A preload for scripts/sanitize: opens every library named in KEEP_LOADED (space-separated) at
// process start with RTLD_NODELETE, so that the Vulkan loader's later dlopen of the same file
// shares this never-unloaded mapping and its dlclose leaves the library in place. LeakSanitizer
// then finds a driver's leaked allocations in a named module, which tests/sanitizers/lsan.supp
// can suppress (an unloaded one's frames read "<unknown module>", which nothing can match).
// RTLD_LOCAL: the libraries' symbols stay out of the global scope (a preloaded validation layer
// would otherwise interpose its vkCreateInstance on the loader's).
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

__attribute__((constructor)) static void keep_loaded(void) {
  const char* list = getenv("KEEP_LOADED");
  if (list == NULL) return;
  char* copy = strdup(list);
  if (copy == NULL) return;
  char* rest = copy;
  for (char* name = strtok_r(copy, " ", &rest); name != NULL; name = strtok_r(NULL, " ", &rest)) {
    if (dlopen(name, RTLD_LAZY | RTLD_LOCAL | RTLD_NODELETE) == NULL)
      fprintf(stderr, "keep_loaded: %s\n", dlerror());
  }
  free(copy);
}
