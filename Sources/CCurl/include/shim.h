// libcurl for Swift, loaded on first use. libcurl brings some 25 libraries with it (TLS, Kerberos, LDAP,
// IDN…); linking it would make every `lazyfs` command, and every mount daemon, map and bind all of them at
// start-up (about 5 ms each time), though only `--remote` mounts use it. So the library is dlopen()ed the
// first time a cl_ function is called, and these wrappers call through the pointers found then.
//
// curl_easy_setopt and curl_easy_getinfo are also variadic, which Swift cannot call: each argument type
// gets a typed wrapper. If libcurl cannot be loaded, cl_easy_init returns NULL and cl_load_error says why.
#pragma once
#include <curl/curl.h>
#include <stddef.h>

typedef size_t (*cl_write_callback)(char *data, size_t size, size_t count, void *user);

/// Why libcurl could not be loaded, or NULL.
const char *cl_load_error(void);
CURL *cl_easy_init(void);
void cl_easy_cleanup(CURL *h);
void cl_easy_reset(CURL *h);
CURLcode cl_easy_perform(CURL *h);
const char *cl_easy_strerror(CURLcode c);
CURLcode cl_setopt_long(CURL *h, CURLoption o, long v);
CURLcode cl_setopt_string(CURL *h, CURLoption o, const char *v);
CURLcode cl_setopt_pointer(CURL *h, CURLoption o, void *v);
CURLcode cl_setopt_write(CURL *h, cl_write_callback f);
long cl_response_code(CURL *h);
