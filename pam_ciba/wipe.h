/* Freeing memory that held secrets: zero it first so it cannot linger in the heap or a core dump. */
#ifndef PAM_CIBA_WIPE_H
#define PAM_CIBA_WIPE_H
#include <stddef.h>

/* Zero a NUL-terminated string in place, then free it. NULL is fine. */
void wipe_free_str(char *s);
/* Zero len bytes, then free. NULL is fine. */
void wipe_free(void *p, size_t len);

/* Make room for need bytes in *buf (capacity *cap, of which len are used), doubling from
 * first_cap and never past max. Never realloc: the old copy may hold a secret, so it is
 * copied and wiped. Returns 0, or -1 when need > max or memory runs out. */
int wipe_grow(char **buf, size_t *cap, size_t len, size_t need, size_t first_cap, size_t max);

#endif
