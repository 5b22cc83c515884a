// The target's one function is inline in include/allocator.h; SwiftPM needs a source file.
#include "allocator.h"
