// zstd with its advanced (stable since 1.4) streaming API.
#include <zstd.h>
