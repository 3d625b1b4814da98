// The wrappers are static inline in include/clinux.h; this file exists because a C target needs a source.
#include "clinux.h"
