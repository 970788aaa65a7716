/* A test PAM application: odd conversations, many logins in one process, host-safety checks.
 *
 * pam_host [options] SERVICE USER
 *   --conv ok|fail|null|none  conversation: answer (default), fail with PAM_CONV_ERR,
 *                             answer PAM_SUCCESS with no responses, or no function at all
 *   --repeat N                authenticate N times in this process (default 1)
 *   --threads T               spread the logins over T threads (default 1)
 *   --growth W                run the first W logins as a round of their own, then the rest;
 *                             print fd count and RSS after each round (no login in flight)
 *   --hostcheck               check that umask, environment, signal dispositions and each
 *                             thread's signal mask are unchanged by the module
 *   --secret-file F           fail if the text in F shows up in environ or the PAM environment
 *   --scan-file F             after the last pam_end, search every writable mapping of this
 *                             process (through /proc/self/mem) for each line "LABEL VALUE" of
 *                             F; print "scan: LABEL N" and fail if any VALUE is found
 *   --fdcheck                 (one thread) every descriptor opened during a login, seen from
 *                             the conversation while the module waits, is close-on-exec, and
 *                             none is left open after pam_end
 *   With --hostcheck and --threads T > 1, a sampler thread also checks that the SIGINT
 *   disposition and the dumpable flag never change while logins are in flight.
 *   --curl-url U --cafile C   (built with -DHOST_USES_CURL) the host's own libcurl and OpenSSL
 *                             must still work after the module ran: GET U, hash a string
 *   --rhost R --tty T         set PAM_RHOST / PAM_TTY (any bytes: hostile-text tests)
 *   --pam-env NAME=VALUE      pam_putenv before authenticating, as sshd does with
 *                             SSH_AUTH_INFO_0 (the value may hold newlines)
 *   --spare-fds N             after pam_start, lower RLIMIT_NOFILE so that only N more
 *                             descriptors can be opened (a caller's prlimit --nofile)
 *
 * Prints one "result: NAME" line per login (NAME from pam_strerror-free names below),
 * "counts: NAME=N ..." and, with --growth, "growth: fds A -> B, rss_kb A -> B".
 * Exit status: 0 if every check passed (whatever the PAM results), 2 if a check failed. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <pthread.h>
#include <pwd.h>
#include <security/pam_appl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#ifdef HOST_USES_CURL
#include <curl/curl.h>
#include <openssl/evp.h>
#endif

extern char **environ;

static const char *service, *user, *conv_mode = "ok", *secret_file, *scan_file;
static const char *host_url, *cafile; /* used only with HOST_USES_CURL */
static const char *rhost, *tty, *pam_env;
static int spare_fds = -1;
static int repeat = 1, nthreads = 1, growth_after = -1, hostcheck, fdcheck;
static char *secret;
static int failures;
static int counts[64];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int done_logins;
static long fds_mark = -1, rss_mark = -1;

/* --fdcheck: the descriptors open before the login in flight (one thread only). */
#define MAX_FD 1024
static unsigned char fd_before[MAX_FD];
static int fd_checked_in_conv;

static const char *code_name(int rc)
{
    switch (rc) {
    case PAM_SUCCESS: return "PAM_SUCCESS";
    case PAM_AUTH_ERR: return "PAM_AUTH_ERR";
    case PAM_AUTHINFO_UNAVAIL: return "PAM_AUTHINFO_UNAVAIL";
    case PAM_USER_UNKNOWN: return "PAM_USER_UNKNOWN";
    case PAM_SERVICE_ERR: return "PAM_SERVICE_ERR";
    case PAM_SYSTEM_ERR: return "PAM_SYSTEM_ERR";
    case PAM_CONV_ERR: return "PAM_CONV_ERR";
    case PAM_PERM_DENIED: return "PAM_PERM_DENIED";
    case PAM_ABORT: return "PAM_ABORT";
    case PAM_BUF_ERR: return "PAM_BUF_ERR";
    default: return "PAM_OTHER";
    }
}

static void check_failed(const char *what)
{
    pthread_mutex_lock(&lock);
    failures++;
    printf("CHECK FAILED: %s\n", what);
    fflush(stdout);
    pthread_mutex_unlock(&lock);
}

static void check_failed(const char *what);

/* Mark every open descriptor (below MAX_FD) in set. */
static void open_fds(unsigned char *set)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    memset(set, 0, MAX_FD);
    if (!d) {
        check_failed("cannot list /proc/self/fd");
        return;
    }
    while ((e = readdir(d))) {
        int fd = atoi(e->d_name);
        if (e->d_name[0] != '.' && fd != dirfd(d) && fd >= 0 && fd < MAX_FD)
            set[fd] = 1;
    }
    closedir(d);
}

static void describe_fd(int fd, char *out, size_t len)
{
    char path[64];
    ssize_t n;
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    n = readlink(path, out, len - 1);
    out[n > 0 ? n : 0] = '\0';
}

/* Every descriptor opened since fd_before must be close-on-exec; with left_open, none
 * may be open at all. */
static void check_new_fds(const char *when, int left_open)
{
    unsigned char now[MAX_FD];
    open_fds(now);
    for (int fd = 0; fd < MAX_FD; fd++) {
        char what[160], msg[320];
        int flags;
        if (!now[fd] || fd_before[fd])
            continue;
        describe_fd(fd, what, sizeof(what));
        flags = fcntl(fd, F_GETFD);
        if (left_open) {
            snprintf(msg, sizeof(msg), "descriptor %d (%s) left open %s", fd, what, when);
            check_failed(msg);
        } else if (flags < 0 || !(flags & FD_CLOEXEC)) {
            snprintf(msg, sizeof(msg), "descriptor %d (%s) without FD_CLOEXEC %s", fd, what, when);
            check_failed(msg);
        } else {
            printf("fd: %d (%s) close-on-exec %s\n", fd, what, when);
        }
    }
}

static int conv_fn(int n, const struct pam_message **msg, struct pam_response **resp, void *data)
{
    struct pam_response *r;
    (void)data;
    if (strcmp(conv_mode, "fail") == 0)
        return PAM_CONV_ERR;
    if (strcmp(conv_mode, "null") == 0) {
        *resp = NULL;
        return PAM_SUCCESS;
    }
    if (fdcheck) {
        /* The module is mid-login here: its connection to the provider is open. */
        check_new_fds("during the conversation", 0);
        fd_checked_in_conv++;
    }
    r = calloc((size_t)n, sizeof(*r));
    if (!r)
        return PAM_BUF_ERR;
    for (int i = 0; i < n; i++) {
        if (repeat == 1)
            printf("conv: %s\n", msg[i]->msg ? msg[i]->msg : "");
        if (msg[i]->msg_style == PAM_PROMPT_ECHO_ON || msg[i]->msg_style == PAM_PROMPT_ECHO_OFF)
            r[i].resp = strdup("");
    }
    *resp = r;
    return PAM_SUCCESS;
}

static long count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    long n = 0;
    if (!d)
        return -1;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n - 1; /* the DIR's own descriptor */
}

static long rss_kb(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long size = 0, res = 0;
    if (!f)
        return -1;
    if (fscanf(f, "%ld %ld", &size, &res) != 2)
        res = -1;
    fclose(f);
    return res < 0 ? -1 : res * (sysconf(_SC_PAGESIZE) / 1024);
}

static void check_secret_in(char **list, const char *where)
{
    char msg[128];
    if (!secret || !list)
        return;
    for (char **p = list; *p; p++) {
        if (strstr(*p, secret)) {
            snprintf(msg, sizeof(msg), "the secret is in %s", where);
            check_failed(msg);
        }
    }
}

static void one_login(void)
{
    struct pam_conv conv = {conv_fn, NULL};
    pam_handle_t *h = NULL;
    sigset_t before, after;
    int rc;

    if (strcmp(conv_mode, "none") == 0)
        conv.conv = NULL;
    sigemptyset(&before);
    sigemptyset(&after);
    pthread_sigmask(SIG_SETMASK, NULL, &before);
    if (fdcheck)
        open_fds(fd_before);
    rc = pam_start(service, user, &conv, &h);
    if (rc == PAM_SUCCESS && rhost)
        rc = pam_set_item(h, PAM_RHOST, rhost);
    if (rc == PAM_SUCCESS && tty)
        rc = pam_set_item(h, PAM_TTY, tty);
    if (rc == PAM_SUCCESS && pam_env)
        rc = pam_putenv(h, pam_env);
    if (rc == PAM_SUCCESS && spare_fds >= 0) {
        /* Every open descriptor number is below count + 1 here (none were closed). */
        struct rlimit rl;
        getrlimit(RLIMIT_NOFILE, &rl);
        rl.rlim_cur = (rlim_t)(count_fds() + spare_fds);
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
            check_failed("setrlimit RLIMIT_NOFILE");
    }
    if (rc == PAM_SUCCESS)
        rc = pam_authenticate(h, 0);
    if (h) {
        char **env = pam_getenvlist(h);
        check_secret_in(env, "the PAM environment");
        if (env) {
            for (char **p = env; *p; p++)
                free(*p);
            free(env);
        }
        pam_end(h, rc);
    }
    if (fdcheck)
        check_new_fds("after pam_end", 1);
    pthread_sigmask(SIG_SETMASK, NULL, &after);
    if (hostcheck) {
        /* Compare signal by signal: sigset_t is wider than the kernel's mask, and the bytes
         * past it are whatever the stack held. */
        for (int s = 1; s < NSIG; s++) {
            if (sigismember(&before, s) != sigismember(&after, s)) {
                char msg[96];
                snprintf(msg, sizeof(msg), "the thread's signal mask changed (signal %d %s)", s,
                         sigismember(&after, s) ? "blocked" : "unblocked");
                check_failed(msg);
            }
        }
    }
    pthread_mutex_lock(&lock);
    counts[rc >= 0 && rc < 64 ? rc : 63]++;
    if (repeat == 1)
        printf("result: %s\n", code_name(rc));
    done_logins++;
    pthread_mutex_unlock(&lock);
}

static void *worker(void *arg)
{
    long n = (long)arg;
    for (long i = 0; i < n; i++)
        one_login();
    return NULL;
}

/* n logins spread over nthreads threads (or this one), all finished on return. */
static void run_round(int n, pthread_t *th)
{
    int started = 0;
    if (nthreads == 1) {
        worker((void *)(long)n);
        return;
    }
    for (int t = 0; t < nthreads; t++, started++) {
        long share = n / nthreads + (t < n % nthreads ? 1 : 0);
        if (pthread_create(&th[t], NULL, worker, (void *)share) != 0) {
            check_failed("pthread_create");
            break;
        }
    }
    for (int t = 0; t < started; t++)
        pthread_join(th[t], NULL);
}

#ifdef HOST_USES_CURL
static size_t discard(char *p, size_t s, size_t n, void *u)
{
    (void)p;
    (void)u;
    return s * n;
}

/* The host's own use of libcurl and OpenSSL, before and after the module ran. */
static void host_uses_libraries(const char *when)
{
    char msg[160];
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    static const unsigned char abc_sha256[4] = {0xba, 0x78, 0x16, 0xbf};

    if (!EVP_Digest("abc", 3, md, &mdlen, EVP_sha256(), NULL) || memcmp(md, abc_sha256, 4) != 0) {
        snprintf(msg, sizeof(msg), "OpenSSL SHA-256 broken %s the module ran", when);
        check_failed(msg);
    }
    if (host_url) {
        CURL *c = curl_easy_init();
        long status = 0;
        CURLcode rc;
        if (!c) {
            snprintf(msg, sizeof(msg), "curl_easy_init failed %s the module ran", when);
            check_failed(msg);
            return;
        }
        curl_easy_setopt(c, CURLOPT_URL, host_url);
        curl_easy_setopt(c, CURLOPT_CAINFO, cafile);
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
        curl_easy_setopt(c, CURLOPT_PROXY, "");
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
        rc = curl_easy_perform(c);
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        curl_easy_cleanup(c);
        if (rc != CURLE_OK || status != 200) {
            snprintf(msg, sizeof(msg), "the host's libcurl GET failed %s the module ran: %s, HTTP %ld",
                     when, curl_easy_strerror(rc), status);
            check_failed(msg);
        }
    }
}
#endif

static char *read_secret(const char *path)
{
    static char buf[512];
    FILE *f = fopen(path, "r");
    size_t n;
    if (!f)
        return NULL;
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    buf[strcspn(buf, "\r\n")] = '\0';
    return buf[0] ? buf : NULL;
}

#ifndef SA_RESTORER
#define SA_RESTORER 0x04000000
#endif

/* --hostcheck with threads: what a login in flight must not change for the other threads. */
static volatile int sampling;
static long samples_in_flight;

static void *sampler(void *arg)
{
    struct sigaction first, now;
    int dumpable = prctl(PR_GET_DUMPABLE, 0, 0, 0, 0);
    int reported = 0;
    (void)arg;
    sigaction(SIGINT, NULL, &first);
    while (sampling) {
        struct timespec ts = {0, 200000};
        int busy;
        pthread_mutex_lock(&lock);
        busy = done_logins < repeat;
        pthread_mutex_unlock(&lock);
        sigaction(SIGINT, NULL, &now);
        if (!reported && now.sa_handler != first.sa_handler) {
            check_failed("the SIGINT disposition changed while a login was in flight");
            reported = 1;
        }
        if (!reported && prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != dumpable) {
            check_failed("the dumpable flag changed while a login was in flight");
            reported = 1;
        }
        if (busy)
            samples_in_flight++;
        nanosleep(&ts, NULL);
    }
    return NULL;
}

/* --scan-file: needles live in a private mapping that the scan skips, and the file is read
 * with read(2) straight into it, so the search itself leaves no copy to find. */
struct needle {
    char label[32];
    char value[4096];
    size_t len;
    long hits;
};
#define MAX_NEEDLES 64

static int load_needles(const char *path, struct needle *nd, size_t *count)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    char *buf = (char *)&nd[MAX_NEEDLES]; /* scratch inside the private mapping */
    size_t len = 0;
    ssize_t n;
    char *line, *end;

    if (fd < 0)
        return -1;
    while (len < 65535 && (n = read(fd, buf + len, 65535 - len)) > 0)
        len += (size_t)n;
    close(fd);
    buf[len] = '\0';
    *count = 0;
    for (line = buf; *line && *count < MAX_NEEDLES; line = end) {
        char *sp;
        end = line + strcspn(line, "\n");
        if (*end)
            *end++ = '\0';
        sp = strchr(line, ' ');
        if (!sp || (size_t)(sp - line) >= sizeof(nd->label) || strlen(sp + 1) >= sizeof(nd->value) ||
            !sp[1])
            continue;
        memcpy(nd[*count].label, line, (size_t)(sp - line));
        memcpy(nd[*count].value, sp + 1, strlen(sp + 1));
        nd[*count].len = strlen(sp + 1);
        (*count)++;
    }
    explicit_bzero(buf, len);
    return 0;
}

static void scan_memory(const char *path)
{
    size_t region = sizeof(struct needle) * MAX_NEEDLES + 65536 + (1 << 20);
    char *priv = mmap(NULL, region, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    struct needle *nd = (struct needle *)priv;
    char *chunk = priv + sizeof(struct needle) * MAX_NEEDLES + 65536;
    size_t chunk_len = 1 << 20, count = 0, overlap = 4096;
    char line[512];
    int mem;
    FILE *maps;

    /* The caller learns the values only once the login is over: wait for its go. */
    printf("scan-ready\n");
    fflush(stdout);
    if (read(0, line, 1) < 0)
        check_failed("no go for the scan on stdin");
    if (priv == MAP_FAILED || load_needles(path, nd, &count) != 0 || count == 0) {
        check_failed("cannot read the scan file");
        return;
    }
    mem = open("/proc/self/mem", O_RDONLY | O_CLOEXEC);
    maps = fopen("/proc/self/maps", "re");
    if (mem < 0 || !maps) {
        check_failed("cannot open /proc/self/mem or maps");
        return;
    }
    while (fgets(line, sizeof(line), maps)) {
        uintptr_t lo, hi;
        char perms[8] = "", name[256] = "";
        if (sscanf(line, "%lx-%lx %7s %*s %*s %*s %255s", &lo, &hi, perms, name) < 3)
            continue;
        if (perms[0] != 'r' || perms[1] != 'w' || lo == (uintptr_t)priv)
            continue;
        /* Read in chunks that overlap by more than any needle, so none is cut in two. */
        for (uintptr_t at = lo; at < hi;) {
            size_t want = hi - at < chunk_len ? hi - at : chunk_len;
            ssize_t got = pread(mem, chunk, want, (off_t)at);
            if (got <= 0)
                break;
            /* Hits that start past limit are counted by the next chunk, which starts there;
             * a needle is never longer than the overlap, so none is cut in two. */
            size_t limit = at + (uintptr_t)got >= hi || (size_t)got <= overlap ? (size_t)got : (size_t)got - overlap;
            for (size_t k = 0; k < count; k++) {
                const char *p = chunk, *stop = chunk + got;
                while ((p = memmem(p, (size_t)(stop - p), nd[k].value, nd[k].len)) != NULL &&
                       (size_t)(p - chunk) < limit) {
                    nd[k].hits++;
                    printf("scan-hit: %s in %s at offset %#lx\n", nd[k].label, name[0] ? name : "[anon]",
                           (unsigned long)(at + (uintptr_t)(p - chunk) - lo));
                    p++;
                }
            }
            if (at + (uintptr_t)got >= hi)
                break;
            at += (uintptr_t)limit;
        }
    }
    fclose(maps);
    close(mem);
    for (size_t k = 0; k < count; k++) {
        printf("scan: %s %ld\n", nd[k].label, nd[k].hits);
        if (nd[k].hits) {
            char msg[96];
            snprintf(msg, sizeof(msg), "%s found %ld times in writable memory", nd[k].label, nd[k].hits);
            check_failed(msg);
        }
    }
    explicit_bzero(priv, region);
    munmap(priv, region);
}

int main(int argc, char **argv)
{
    int i;
    pthread_t th[256], sampler_thread;
    struct sigaction sa_before[NSIG], sa_now;
    sigset_t block;
    mode_t umask_before = 027;
    char **env_before;
    size_t env_n = 0;

    for (i = 1; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
        const char *o = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(o, "--hostcheck") == 0) {
            hostcheck = 1;
            continue;
        }
        if (strcmp(o, "--fdcheck") == 0) {
            fdcheck = 1;
            continue;
        }
        if (!v) {
            fprintf(stderr, "pam_host: %s needs a value\n", o);
            return 64;
        }
        i++;
        if (strcmp(o, "--conv") == 0) conv_mode = v;
        else if (strcmp(o, "--repeat") == 0) repeat = atoi(v);
        else if (strcmp(o, "--threads") == 0) nthreads = atoi(v);
        else if (strcmp(o, "--growth") == 0) growth_after = atoi(v);
        else if (strcmp(o, "--secret-file") == 0) secret_file = v;
        else if (strcmp(o, "--scan-file") == 0) scan_file = v;
        else if (strcmp(o, "--curl-url") == 0) host_url = v;
        else if (strcmp(o, "--cafile") == 0) cafile = v;
        else if (strcmp(o, "--rhost") == 0) rhost = v;
        else if (strcmp(o, "--tty") == 0) tty = v;
        else if (strcmp(o, "--pam-env") == 0) pam_env = v;
        else if (strcmp(o, "--spare-fds") == 0) spare_fds = atoi(v);
        else {
            fprintf(stderr, "pam_host: unknown option %s\n", o);
            return 64;
        }
    }
    if (argc - i != 2 || repeat < 1 || nthreads < 1 || nthreads > 256 || (fdcheck && nthreads != 1)) {
        fprintf(stderr, "usage: pam_host [options] SERVICE USER\n");
        return 64;
    }
    service = argv[i];
    user = argv[i + 1];
    if (secret_file && !(secret = read_secret(secret_file))) {
        fprintf(stderr, "pam_host: cannot read %s\n", secret_file);
        return 64;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);

    /* A host with its own settings that the module must leave alone. */
    umask(umask_before);
    sigemptyset(&block);
    sigaddset(&block, SIGUSR2);
    sigaddset(&block, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &block, NULL);
    /* glibc reserves 32 and 33 for itself: sigaction refuses them, so compare only the
     * signals an application can see. */
    memset(sa_before, 0, sizeof(sa_before));
    for (int s = 1; s < NSIG; s++)
        if (sigaction(s, NULL, &sa_before[s]) != 0)
            sa_before[s].sa_flags = -1;
    for (char **p = environ; *p; p++)
        env_n++;
    env_before = calloc(env_n + 1, sizeof(char *));
    for (size_t k = 0; k < env_n; k++)
        env_before[k] = strdup(environ[k]);
#ifdef HOST_USES_CURL
    curl_global_init(CURL_GLOBAL_DEFAULT);
    host_uses_libraries("before");
#endif

    /* nss_wrapper (the tests' fake passwd) initialises lazily and racily: a first lookup
     * made by several threads at once can fail with ENOENT (seen 8 times in 200 runs of
     * a plain getpwnam_r test). One lookup here first; a real NSS has no such race. */
    (void)getpwnam(user);

    /* With --growth, the first W logins run as a round of their own, so both measurements
     * are taken with no login in flight. */
    if (hostcheck && nthreads > 1) {
        sampling = 1;
        if (pthread_create(&sampler_thread, NULL, sampler, NULL) != 0)
            check_failed("pthread_create (sampler)");
    }
    if (growth_after > 0 && growth_after < repeat) {
        run_round(growth_after, th);
        fds_mark = count_fds();
        rss_mark = rss_kb();
        run_round(repeat - growth_after, th);
    } else {
        run_round(repeat, th);
    }

    if (sampling) {
        sampling = 0;
        pthread_join(sampler_thread, NULL);
        printf("sampled: %ld times while logins were in flight\n", samples_in_flight);
        if (samples_in_flight == 0)
            check_failed("the sampler never ran while a login was in flight");
    }
    if (fdcheck && !fd_checked_in_conv)
        check_failed("--fdcheck: the conversation was never called");
    if (hostcheck) {
        mode_t now = umask(umask_before);
        size_t n = 0;
        if (now != umask_before)
            check_failed("the umask changed");
        for (int s = 1; s < NSIG; s++) {
            if (sa_before[s].sa_flags == -1 || sigaction(s, NULL, &sa_now) != 0)
                continue;
            /* glibc sets SA_RESTORER (its own return trampoline) on every sigaction() it
             * passes to the kernel and reports it back; a disposition put back exactly
             * differs from a never-touched one only in that bit. */
            if (sa_now.sa_handler != sa_before[s].sa_handler ||
                (sa_now.sa_flags & ~SA_RESTORER) != (sa_before[s].sa_flags & ~SA_RESTORER)) {
                char msg[64];
                snprintf(msg, sizeof(msg), "the disposition of signal %d changed", s);
                check_failed(msg);
            }
        }
        for (char **p = environ; *p; p++, n++)
            if (n >= env_n || strcmp(*p, env_before[n]) != 0)
                break;
        if (n != env_n || environ[n] != NULL)
            check_failed("the process environment changed");
    }
    check_secret_in(environ, "the process environment");
#ifdef HOST_USES_CURL
    host_uses_libraries("after");
    curl_global_cleanup();
#endif
    if (scan_file)
        scan_memory(scan_file);
    printf("counts:");
    for (int c = 0; c < 64; c++)
        if (counts[c])
            printf(" %s=%d", code_name(c), counts[c]);
    printf("\n");
    if (growth_after >= 0)
        printf("growth: after %d logins fds %ld rss_kb %ld; after %d logins fds %ld rss_kb %ld\n",
               growth_after, fds_mark, rss_mark, done_logins, count_fds(), rss_kb());
    for (size_t k = 0; k < env_n; k++)
        free(env_before[k]);
    free(env_before);
    return failures ? 2 : 0;
}
