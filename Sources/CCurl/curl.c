// See include/shim.h: libcurl, loaded with dlopen on first use.
#include "shim.h"
#include <dlfcn.h>
#include <pthread.h>

struct cl_functions {
  CURLcode (*global_init)(long);
  CURL *(*easy_init)(void);
  void (*easy_cleanup)(CURL *);
  void (*easy_reset)(CURL *);
  CURLcode (*easy_perform)(CURL *);
  const char *(*easy_strerror)(CURLcode);
  CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
  CURLcode (*easy_getinfo)(CURL *, CURLINFO, ...);
  const char *error;
};

static struct cl_functions cl_table;
static pthread_once_t cl_once = PTHREAD_ONCE_INIT;

static void cl_load(void) {
  void *lib = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    cl_table.error = dlerror();
    return;
  }
  cl_table.global_init = (CURLcode(*)(long))dlsym(lib, "curl_global_init");
  cl_table.easy_init = (CURL * (*)(void)) dlsym(lib, "curl_easy_init");
  cl_table.easy_cleanup = (void (*)(CURL *))dlsym(lib, "curl_easy_cleanup");
  cl_table.easy_reset = (void (*)(CURL *))dlsym(lib, "curl_easy_reset");
  cl_table.easy_perform = (CURLcode(*)(CURL *))dlsym(lib, "curl_easy_perform");
  cl_table.easy_strerror = (const char *(*)(CURLcode))dlsym(lib, "curl_easy_strerror");
  cl_table.easy_setopt = (CURLcode(*)(CURL *, CURLoption, ...))dlsym(lib, "curl_easy_setopt");
  cl_table.easy_getinfo = (CURLcode(*)(CURL *, CURLINFO, ...))dlsym(lib, "curl_easy_getinfo");
  if (!cl_table.global_init || !cl_table.easy_init || !cl_table.easy_cleanup || !cl_table.easy_reset ||
      !cl_table.easy_perform || !cl_table.easy_strerror || !cl_table.easy_setopt || !cl_table.easy_getinfo) {
    cl_table.error = "libcurl.so.4 lacks a function lazyfs needs";
    cl_table.easy_init = NULL;
    return;
  }
  cl_table.global_init(CURL_GLOBAL_ALL);
}

static struct cl_functions *cl(void) {
  pthread_once(&cl_once, cl_load);
  return &cl_table;
}

/// Why libcurl could not be loaded, or NULL.
const char *cl_load_error(void) { return cl()->error; }
CURL *cl_easy_init(void) { return cl()->easy_init ? cl()->easy_init() : NULL; }
void cl_easy_cleanup(CURL *h) { cl()->easy_cleanup(h); }
void cl_easy_reset(CURL *h) { cl()->easy_reset(h); }
CURLcode cl_easy_perform(CURL *h) { return cl()->easy_perform(h); }
const char *cl_easy_strerror(CURLcode c) { return cl()->easy_strerror(c); }
CURLcode cl_setopt_long(CURL *h, CURLoption o, long v) { return cl()->easy_setopt(h, o, v); }
CURLcode cl_setopt_string(CURL *h, CURLoption o, const char *v) { return cl()->easy_setopt(h, o, v); }
CURLcode cl_setopt_pointer(CURL *h, CURLoption o, void *v) { return cl()->easy_setopt(h, o, v); }
CURLcode cl_setopt_write(CURL *h, cl_write_callback f) {
  return cl()->easy_setopt(h, CURLOPT_WRITEFUNCTION, f);
}
long cl_response_code(CURL *h) {
  long code = 0;
  cl()->easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
  return code;
}
