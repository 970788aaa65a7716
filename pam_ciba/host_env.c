/* What kind of process the module is a guest in: threads, set-id, risky environment, descriptors. */
#include "host_env.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>

extern char **environ;

bool host_sole_thread(void)
{
    DIR *d = opendir("/proc/self/task");
    struct dirent *e;
    int n = 0;

    if (!d)
        return false;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n == 1;
}

bool host_secure(void)
{
    return getauxval(AT_SECURE) != 0 || getuid() != geteuid() || getgid() != getegid();
}

/* Read by libcurl 7.88 (SSLKEYLOGFILE with plain getenv; CURL_SSL_BACKEND in multi-backend
 * builds) and OpenSSL 3.0 (the others, through secure_getenv) during curl_global_init. */
static const char *const risky_vars[] = {
    "SSLKEYLOGFILE", "OPENSSL_CONF", "OPENSSL_CONF_INCLUDE", "OPENSSL_MODULES", "OPENSSL_ENGINES",
    "CURL_SSL_BACKEND", NULL,
};

const char *host_risky_env(void)
{
    for (int i = 0; risky_vars[i]; i++)
        if (getenv(risky_vars[i]))
            return risky_vars[i];
    return NULL;
}

void host_with_empty_env(void (*fn)(void *arg), void *arg)
{
    static char *empty[] = {NULL};
    char **saved = environ;

    environ = empty;
    fn(arg);
    /* Whatever fn may have set lives in a new array: drop it, the host's comes back as it was. */
    environ = saved;
}

static bool fd_bit(const struct host_fds *s, int fd)
{
    return fd >= 0 && fd < HOST_FD_MAX && (s->open[fd / 8] & (1u << (fd % 8)));
}

void host_fds_snapshot(struct host_fds *s)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;

    memset(s, 0, sizeof(*s));
    if (!d)
        return;
    while ((e = readdir(d)) != NULL) {
        int fd = atoi(e->d_name);
        if (e->d_name[0] != '.' && fd != dirfd(d) && fd >= 0 && fd < HOST_FD_MAX)
            s->open[fd / 8] |= (unsigned char)(1u << (fd % 8));
    }
    closedir(d);
    s->valid = true;
}

void host_fds_cloexec_since(const struct host_fds *s)
{
    struct host_fds now;

    if (!s->valid)
        return;
    host_fds_snapshot(&now);
    for (int fd = 0; fd < HOST_FD_MAX; fd++) {
        int flags;
        if (!fd_bit(&now, fd) || fd_bit(s, fd))
            continue;
        flags = fcntl(fd, F_GETFD);
        if (flags >= 0 && !(flags & FD_CLOEXEC))
            fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
    }
}
