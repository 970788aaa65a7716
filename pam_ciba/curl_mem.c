/* libcurl's allocator while the module owns libcurl: every block is zeroed before it is freed. */
#include "curl_mem.h"

#include <malloc.h>
#include <stdlib.h>
#include <string.h>

/* libcurl's buffers hold the request as sent (Authorization header, form body with the
 * client secret) and the response as received (tokens): none may outlive the transfer. */
static void wiping_free(void *p)
{
    if (!p)
        return;
    explicit_bzero(p, malloc_usable_size(p));
    free(p);
}

static void *plain_malloc(size_t n)
{
    return malloc(n);
}

static void *plain_calloc(size_t n, size_t size)
{
    return calloc(n, size);
}

/* Never realloc in place of a move: a moved block would be freed with its contents. */
static void *wiping_realloc(void *p, size_t n)
{
    size_t old;
    void *q;

    if (!p)
        return malloc(n);
    old = malloc_usable_size(p);
    if (n <= old && n > 0)
        return p;
    if (!(q = malloc(n ? n : 1)))
        return NULL;
    memcpy(q, p, old < n ? old : n);
    wiping_free(p);
    return q;
}

static char *plain_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

CURLcode curl_mem_global_init(long flags)
{
    /* The module is linked -z nodelete: these functions outlive pam_end's dlclose, so a host
     * that uses libcurl after the module was unloaded still finds them. */
    return curl_global_init_mem(flags, plain_malloc, wiping_free, wiping_realloc, plain_strdup, plain_calloc);
}
