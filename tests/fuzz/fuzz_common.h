/* Shared bits of the libFuzzer targets: an oracle failure aborts so libFuzzer keeps the input. */
#ifndef PAM_CIBA_FUZZ_COMMON_H
#define PAM_CIBA_FUZZ_COMMON_H
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "http.h"

#define FUZZ_ASSERT(cond) do { if (!(cond)) { \
    fprintf(stderr, "fuzz oracle failed: %s (%s:%d)\n", #cond, __FILE__, __LINE__); abort(); } } while (0)

/* Maps a selector byte to an HTTP status, mostly the ones the parsers branch on. */
static inline long fuzz_status(unsigned char b)
{
    static const long table[] = {200, 200, 200, 200, 400, 400, 401, 403, 429, 500, 503, 302, 204, 0, 418, 600};
    return table[b % (sizeof(table) / sizeof(table[0]))];
}

static inline const char *fuzz_ctype(unsigned char b)
{
    static const char *const table[] = {"application/json", "application/json; charset=utf-8",
                                        "application/json", "text/html", "APPLICATION/JSON", ""};
    return table[b % (sizeof(table) / sizeof(table[0]))];
}

/* A provider answer from fuzz input: byte 0 picks the status, byte 1 the content type,
 * the rest is the body. The caller frees resp->body. Needs size >= 2. */
static inline void fuzz_response(const unsigned char *data, size_t size, struct http_response *resp)
{
    memset(resp, 0, sizeof(*resp));
    resp->status = fuzz_status(data[0]);
    snprintf(resp->content_type, sizeof(resp->content_type), "%s", fuzz_ctype(data[1]));
    resp->len = size - 2;
    resp->body = malloc(resp->len + 1);
    FUZZ_ASSERT(resp->body != NULL);
    memcpy(resp->body, data + 2, resp->len);
    resp->body[resp->len] = '\0';
    resp->retry_after = -1;
}
#endif
