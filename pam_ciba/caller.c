/* Reads who is asking (real uid, login uid) in the host process for reuse binding. */
#include "caller.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

result caller_parse_loginuid(const char *text, uint32_t *out)
{
    uint64_t v = 0;
    const char *p = text;

    if (*p < '0' || *p > '9')
        return RES_INTERNAL;
    for (; *p >= '0' && *p <= '9'; p++) {
        v = v * 10 + (uint64_t)(*p - '0');
        if (v > UINT32_MAX)
            return RES_INTERNAL;
    }
    if (*p == '\n')
        p++;
    if (*p != '\0')
        return RES_INTERNAL;
    *out = (uint32_t)v;
    return RES_OK;
}

result caller_of_self(const char *ruser, struct caller *c)
{
    char buf[16];
    ssize_t n;
    int fd;

    c->ruid = getuid();
    c->ruser = ruser;
    c->loginuid = UINT32_MAX;
    fd = open("/proc/self/loginuid", O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        /* No such file: a kernel without audit has no login uids, for anyone. */
        return errno == ENOENT ? RES_OK : RES_INTERNAL;
    do
        n = read(fd, buf, sizeof(buf) - 1);
    while (n < 0 && errno == EINTR);
    close(fd);
    if (n <= 0)
        return RES_INTERNAL;
    buf[n] = '\0';
    return caller_parse_loginuid(buf, &c->loginuid);
}
