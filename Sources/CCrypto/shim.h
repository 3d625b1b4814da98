// OpenSSL's libcrypto, for SHA-256 only: it uses the CPU's SHA extensions (SHA-NI) where present,
// which makes hashing several times faster than a portable implementation, at no build cost.
#include <openssl/sha.h>
#include <openssl/evp.h>
