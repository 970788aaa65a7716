/* Zero-then-free helpers for secrets (client secret, auth_req_id, tokens, request bodies). */
#include "wipe.h"
#include <stdlib.h>
#include <string.h>

void wipe_free(void *p, size_t len)
{
    if (!p)
        return;
    explicit_bzero(p, len);
    free(p);
}

void wipe_free_str(char *s)
{
    if (s)
        wipe_free(s, strlen(s));
}

int wipe_grow(char **buf, size_t *cap, size_t len, size_t need, size_t first_cap, size_t max)
{
    size_t ncap = *cap ? *cap : first_cap;
    char *nb;

    if (need <= *cap)
        return 0;
    if (need > max)
        return -1;
    while (ncap < need)
        ncap *= 2;
    if (ncap > max)
        ncap = max;
    if (!(nb = malloc(ncap)))
        return -1;
    if (*buf)
        memcpy(nb, *buf, len);
    wipe_free(*buf, *cap);
    *buf = nb;
    *cap = ncap;
    return 0;
}
