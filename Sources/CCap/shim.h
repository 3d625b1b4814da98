// libcap: capability names and numbers (cap_from_name, cap_to_name, cap_max_bits).
#pragma once
#include <sys/capability.h>
