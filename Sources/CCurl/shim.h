// libcurl for Swift: curl_easy_setopt and curl_easy_getinfo are variadic, which Swift cannot call,
// so each argument type gets a typed wrapper.
#include <curl/curl.h>

typedef size_t (*cl_write_callback)(char *data, size_t size, size_t count, void *user);

static inline CURLcode cl_setopt_long(CURL *h, CURLoption o, long v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode cl_setopt_string(CURL *h, CURLoption o, const char *v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode cl_setopt_pointer(CURL *h, CURLoption o, void *v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode cl_setopt_write(CURL *h, cl_write_callback f) {
  return curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, f);
}
static inline long cl_response_code(CURL *h) {
  long code = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
  return code;
}
