/* Shared bits of the libFuzzer targets: an oracle failure aborts so libFuzzer keeps the input. */
#ifndef PAM_CIBA_FUZZ_COMMON_H
#define PAM_CIBA_FUZZ_COMMON_H
#include <stdio.h>
#include <stdlib.h>

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
#endif
