/* Unix user -> provider subject, from subject_map_file, re-read only when the file changes. */
#ifndef PAM_CIBA_SUBJECT_MAP_H
#define PAM_CIBA_SUBJECT_MAP_H
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>
#include "result.h"

#define SUBJECT_MAP_MAX_FILE (4 * 1024 * 1024)
#define SUBJECT_MAP_MAX_FIELD 255

struct subject_map; /* a parsed file */

/* The parsed file and the identity of the file it came from (device, inode, size,
 * mtime, ctime). Owned by the caller: a long-lived process keeps one per process. */
struct subject_map_cache {
    pthread_mutex_t lock;
    struct subject_map *map;
    char *path;
    uid_t trusted_uid;
    struct stat st;
    unsigned long parses; /* how often a file was parsed: for tests and debug logs */
};

#define SUBJECT_MAP_CACHE_INIT {PTHREAD_MUTEX_INITIALIZER, NULL, NULL, 0, {0}, 0}

/* Parse map text: lines "unixuser subject", '#' starts a comment where a field would
 * start, a "*" line's subject is a template (template.h) for everyone not listed.
 * Duplicates, extra fields and control characters are errors ("path:line: why"). */
result subject_map_parse(const char *path, const char *text, struct subject_map **out, char *err, size_t errlen);
void subject_map_free(struct subject_map *m);

/* The subject template for user: a listed subject (with '%' escaped, so it is used
 * literally) or the "*" template. RES_USER_UNKNOWN when neither exists. */
result subject_map_find(const struct subject_map *m, const char *user, char **tmpl);

/* subject_map_find on path through the cache. The file's owner and mode are checked on
 * every call (read_protected_file rules); it is parsed again only when its identity
 * changed. RES_CONFIG with err for a missing, unsafe or malformed file. */
result subject_map_lookup(struct subject_map_cache *c, const char *path, uid_t trusted_uid, const char *user,
                          char **tmpl, char *err, size_t errlen);

void subject_map_cache_clear(struct subject_map_cache *c);

#endif
