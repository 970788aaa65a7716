/* libcurl's allocator while the module owns libcurl: every block is zeroed before it is freed. */
#ifndef PAM_CIBA_CURL_MEM_H
#define PAM_CIBA_CURL_MEM_H
#include <curl/curl.h>

/* curl_global_init with the wiping allocator. A host that initialised libcurl first keeps
 * its own allocator: libcurl then only counts this call. */
CURLcode curl_mem_global_init(long flags);

#endif
