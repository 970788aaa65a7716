/* Freeing memory that held secrets: zero it first so it cannot linger in the heap or a core dump. */
#ifndef PAM_CIBA_WIPE_H
#define PAM_CIBA_WIPE_H
#include <stddef.h>

/* Zero a NUL-terminated string in place, then free it. NULL is fine. */
void wipe_free_str(char *s);
/* Zero len bytes, then free. NULL is fine. */
void wipe_free(void *p, size_t len);

#endif
