/* Benchmark driver: runs real logins through libpam and prints one JSON line of timings per login. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <pwd.h>
#include <security/pam_appl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#if defined(__has_include)
#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>
#endif
#endif
#ifndef CALLGRIND_TOGGLE_COLLECT
#define CALLGRIND_TOGGLE_COLLECT
#define CALLGRIND_DUMP_STATS_AT(s)
#endif

static const char *confdir, *service = "bench", *user = "alice", *user_prefix;
static int count = 1, threads = 0, go_fd = -1, ready_fd = -1;
static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;

struct login {
    double t_msg, cpu_msg;
    long rss_msg_kb, maxrss_msg_kb;
    int messages;
};

static double now_mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* CPU of this thread (thread mode) or of the whole process, in seconds. */
static double cpu_now(double *user_s, double *sys_s)
{
    struct rusage ru;
    getrusage(threads ? RUSAGE_THREAD : RUSAGE_SELF, &ru);
    *user_s = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6;
    *sys_s = (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
    return *user_s + *sys_s;
}

static long rss_kb(void)
{
    long pages = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
            resident = 0;
        fclose(f);
    }
    return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

/* VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the parent across fork and exec. */
static long maxrss_kb(void)
{
    char line[256];
    long kb = 0;
    FILE *f = fopen("/proc/self/status", "r");
    if (!f)
        return 0;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "VmHWM: %ld", &kb) == 1)
            break;
    fclose(f);
    return kb;
}

/* Bytes malloc has handed out and not had back, over all arenas: growth here is a leak. */
static long heap_in_use(void)
{
    struct mallinfo2 mi = mallinfo2();
    return (long)(mi.uordblks + mi.hblkhd);
}

/* Descriptors open in this process (without the one that lists them): growth here is a leak. */
static int open_fds(void)
{
    int n = 0;
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return -1;
    while (readdir(d))
        n++;
    closedir(d);
    return n - 3; /* ".", ".." and the directory's own descriptor */
}

static int conv(int n, const struct pam_message **msg, struct pam_response **resp, void *appdata)
{
    struct login *l = appdata;
    struct pam_response *r = calloc((size_t)n, sizeof(*r));
    double u, s;

    if (!r)
        return PAM_BUF_ERR;
    for (int i = 0; i < n; i++) {
        if (msg[i]->msg_style == PAM_TEXT_INFO && l->messages++ == 0) {
            CALLGRIND_DUMP_STATS_AT("first message"); /* splits the count under callgrind */
            l->t_msg = now_mono();
            l->cpu_msg = cpu_now(&u, &s);
            l->rss_msg_kb = rss_kb();
            l->maxrss_msg_kb = maxrss_kb();
        }
        if (msg[i]->msg_style == PAM_PROMPT_ECHO_ON || msg[i]->msg_style == PAM_PROMPT_ECHO_OFF)
            r[i].resp = strdup("");
    }
    *resp = r;
    return PAM_SUCCESS;
}

/* Scale runs: say "loaded" on ready_fd, then block until go_fd is closed. */
static void wait_for_go(void)
{
    char c = 'r';
    if (ready_fd >= 0) {
        if (write(ready_fd, &c, 1) != 1)
            perror("ready-fd");
        close(ready_fd);
        ready_fd = -1;
    }
    if (go_fd < 0)
        return;
    while (read(go_fd, &c, 1) < 0 && errno == EINTR)
        ;
    close(go_fd);
    go_fd = -1;
}

static void *run(void *arg)
{
    long tid = (long)arg;
    char name[128];

    /* Thread mode: one user per thread, so each login can be matched to its requests. */
    if (user_prefix)
        snprintf(name, sizeof(name), "%s%04ld", user_prefix, tid);
    else
        snprintf(name, sizeof(name), "%s", user);

    for (int i = 0; i < count; i++) {
        struct login l = {0};
        struct pam_conv pc = {conv, &l};
        pam_handle_t *pamh = NULL;
        double u0, s0, u1, s1, u2, s2, u3, s3, c0, c1, c2, c3, t0, t1;
        long maxrss_started;
        int rc;

        c0 = cpu_now(&u0, &s0);
        rc = pam_start_confdir(service, name, &pc, confdir, &pamh);
        if (rc != PAM_SUCCESS) {
            fprintf(stderr, "pam_start_confdir: %d\n", rc);
            return (void *)1;
        }
        if (i == 0)
            wait_for_go();
        maxrss_started = maxrss_kb();
        c1 = cpu_now(&u1, &s1);
        t0 = now_mono();
        CALLGRIND_TOGGLE_COLLECT;
        rc = pam_authenticate(pamh, 0);
        CALLGRIND_TOGGLE_COLLECT;
        t1 = now_mono();
        c2 = cpu_now(&u2, &s2);
        pam_end(pamh, rc);
        c3 = cpu_now(&u3, &s3);
        pthread_mutex_lock(&out_lock);
        printf("{\"user\":\"%s\",\"thread\":%ld,\"i\":%d,\"pid\":%d,\"rc\":%d,\"t_start\":%.6f,\"t_msg\":%.6f,\"t_end\":%.6f,"
               "\"cpu\":%.6f,\"cpu_user\":%.6f,\"cpu_sys\":%.6f,\"cpu_to_msg\":%.6f,\"cpu_pam_start_end\":%.6f,"
               "\"rss_msg_kb\":%ld,\"rss_kb\":%ld,\"maxrss_started_kb\":%ld,\"maxrss_msg_kb\":%ld,"
               "\"maxrss_end_kb\":%ld,\"heap\":%ld,\"fds\":%d,\"messages\":%d}\n",
               name, tid, i, (int)getpid(), rc, t0, l.messages ? l.t_msg : 0.0, t1, c2 - c1, u2 - u1, s2 - s1,
               l.messages ? l.cpu_msg - c1 : 0.0, (c1 - c0) + (c3 - c2), l.rss_msg_kb, rss_kb(),
               maxrss_started, l.maxrss_msg_kb, maxrss_kb(), heap_in_use(), open_fds(), l.messages);
        fflush(stdout);
        pthread_mutex_unlock(&out_lock);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    struct rusage ru;
    long rss_start = rss_kb();
    int bad = 0;

    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--confdir") == 0)
            confdir = argv[i + 1];
        else if (strcmp(argv[i], "--service") == 0)
            service = argv[i + 1];
        else if (strcmp(argv[i], "--user") == 0)
            user = argv[i + 1];
        else if (strcmp(argv[i], "--count") == 0)
            count = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--threads") == 0)
            threads = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--user-prefix") == 0)
            user_prefix = argv[i + 1];
        else if (strcmp(argv[i], "--go-fd") == 0)
            go_fd = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--ready-fd") == 0)
            ready_fd = atoi(argv[i + 1]);
        else
            bad = 1;
    }
    if (bad || !confdir || count < 1 || threads < 0 || (argc - 1) % 2) {
        fprintf(stderr, "usage: %s --confdir DIR [--service S] [--user U] [--count N] "
                        "[--user-prefix P] [--threads T] [--go-fd FD] [--ready-fd FD]\n", argv[0]);
        return 2;
    }
    if (threads == 0) {
        if (run(0))
            return 1;
    } else {
        pthread_t *t = calloc((size_t)threads, sizeof(*t));
        struct passwd pw, *found;
        char name[128], buf[4096];

        if (!t)
            return 1;
        /* nss_wrapper's first lookup is not thread-safe (concurrent first calls fail or
         * crash): load its passwd file here, before the threads start. */
        snprintf(name, sizeof(name), "%s0000", user_prefix ? user_prefix : user);
        if (getpwnam_r(user_prefix ? name : user, &pw, buf, sizeof(buf), &found) != 0)
            perror("getpwnam_r");
        for (long i = 0; i < threads; i++)
            if (pthread_create(&t[i], NULL, run, (void *)i) != 0)
                return 1;
        for (int i = 0; i < threads; i++)
            pthread_join(t[i], NULL);
        free(t);
    }
    getrusage(RUSAGE_SELF, &ru);
    printf("{\"summary\":1,\"pid\":%d,\"rss_start_kb\":%ld,\"rss_end_kb\":%ld,\"maxrss_kb\":%ld,"
           "\"cpu_process\":%.6f,\"heap\":%ld}\n",
           (int)getpid(), rss_start, rss_kb(), maxrss_kb(),
           (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
               (double)ru.ru_stime.tv_usec / 1e6, heap_in_use());
    return 0;
}
