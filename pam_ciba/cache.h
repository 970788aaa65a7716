/* On-disk cache for provider documents (discovery, JWKS): root-only, atomic, expiring. */
#ifndef PAM_CIBA_CACHE_H
#define PAM_CIBA_CACHE_H
#include <stddef.h>
#include <sys/types.h>
#include <time.h>
#include "result.h"

#define CACHE_MAX_DOC (64 * 1024)
/* The largest entry file cache_get reads, and so the largest cache_put writes. */
#define CACHE_MAX_FILE (2 * CACHE_MAX_DOC + 1024)

struct cache {
    const char *dir;   /* absolute; created 0700 if missing */
    uid_t owner;       /* files and dir must belong to it (root in the module) */
};

/* The body stored for url under kind ("discovery", "jwks"), if the entry is intact,
 * for the same url, and fetched within [now - age limit, now]. *fetched is when it
 * was stored. Anything else (missing, corrupt, foreign, expired) is RES_CONFIG-free
 * RES_PROTOCOL: the caller refetches. With allow_expired the expiry is ignored (the
 * caller uses it only as a fallback). */
result cache_get(const struct cache *c, const char *kind, const char *url, time_t now, int allow_expired,
                 char **body, time_t *fetched);

/* Store body for url, valid for ttl seconds from now; temp file + fsync + rename so a
 * reader never sees half a file. ttl 0, or an entry that would exceed CACHE_MAX_FILE
 * once JSON-escaped, stores nothing. */
result cache_put(const struct cache *c, const char *kind, const char *url, const char *body, time_t now,
                 long ttl);

#endif
