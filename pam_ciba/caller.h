/* Who is asking for a login: facts about the calling process for binding approval reuse. */
#ifndef PAM_CIBA_CALLER_H
#define PAM_CIBA_CALLER_H
#include <stdint.h>
#include <sys/types.h>
#include "result.h"

struct caller {
    uid_t ruid;        /* real uid: su and sudo keep their caller's while PAM runs */
    const char *ruser; /* PAM_RUSER as the application set it, or NULL */
    uint32_t loginuid; /* /proc/self/loginuid; 4294967295 when unset */
};

/* Fill c for this process; ruser is the application's PAM_RUSER (may be NULL).
 * RES_INTERNAL when the login uid cannot be read: then the caller is unknown and no
 * approval may be reused. A kernel without login uids counts as "unset". */
result caller_of_self(const char *ruser, struct caller *c);

/* Parse the text of /proc/PID/loginuid (a decimal number, optional newline). */
result caller_parse_loginuid(const char *text, uint32_t *out);

#endif
