/* What kind of process the module is a guest in: threads, set-id, risky environment, descriptors. */
#ifndef PAM_CIBA_HOST_ENV_H
#define PAM_CIBA_HOST_ENV_H
#include <stdbool.h>

/* True only when this thread is provably the process's only one (/proc/self/task holds
 * one entry). Unknown counts as shared: then nothing process-wide may be changed. */
bool host_sole_thread(void);

/* True in a set-id or otherwise AT_SECURE process (su, sudo, pkexec), or when the real
 * and effective ids differ: the environment then belongs to the (possibly hostile) caller. */
bool host_secure(void);

/* The first variable of the caller's environment that libcurl or OpenSSL would act on
 * while initialising (SSLKEYLOGFILE, OPENSSL_CONF, ...), or NULL if none is set. */
const char *host_risky_env(void);

/* Run fn(arg) with an empty environment, then put the host's own array back untouched.
 * Only for a process with no other thread (host_sole_thread): environ is process-wide. */
void host_with_empty_env(void (*fn)(void *arg), void *arg);

/* Descriptors open at one moment, to find the ones opened after it. */
#define HOST_FD_MAX 1024
struct host_fds {
    unsigned char open[HOST_FD_MAX / 8];
    bool valid;
};

void host_fds_snapshot(struct host_fds *s);

/* Set FD_CLOEXEC on every descriptor opened since s was taken. Only exact (and only
 * called) when this thread is the only one: otherwise a descriptor another thread just
 * opened would be changed under it. */
void host_fds_cloexec_since(const struct host_fds *s);

#endif
