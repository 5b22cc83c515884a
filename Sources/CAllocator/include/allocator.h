#ifndef SUBSIDY_ALLOCATOR_H
#define SUBSIDY_ALLOCATOR_H

#if defined(__GLIBC__) || defined(__linux__)
#include <malloc.h>
#endif

/// Returns the free pages of every malloc arena to the system: glibc's malloc_trim(0), which
/// Swift's Glibc module does not export (malloc.h is not in it). Elsewhere nothing to do.
static inline int subsidy_release_free_memory(void) {
#if defined(__GLIBC__)
    return malloc_trim(0);
#else
    return 0;
#endif
}

#endif
