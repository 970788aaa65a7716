/* pam_ciba-codes: issue, list, count and revoke a user's break-glass codes (root only). */
#include "breakglass.h"
#include "config.h"
#include "result.h"

#include <errno.h>
#include <getopt.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_COUNT 10

static void usage(FILE *f)
{
    fprintf(f,
            "usage: pam_ciba-codes [--config PATH | --dir DIR] issue [--count N] [--scrypt LOG2N:R:P] USER\n"
            "       pam_ciba-codes [--config PATH | --dir DIR] list USER\n"
            "       pam_ciba-codes [--config PATH | --dir DIR] count USER\n"
            "       pam_ciba-codes [--config PATH | --dir DIR] revoke USER SLOT... | revoke --all USER\n"
            "       pam_ciba-codes bench [--scrypt LOG2N:R:P]\n"
            "\n"
            "Break-glass codes for pam_ciba (breakglass = \"unreachable\" or \"always\"). issue replaces\n"
            "USER's codes with N (default %d) new single-use codes and prints them once; only their\n"
            "scrypt hashes are kept, in breakglass_dir (from the config, default\n"
            BREAKGLASS_DEFAULT_DIR "). Run as root.\n"
            "Exit status: 0 done, 1 USER has no codes (list, count, revoke), 2 error or usage.\n",
            DEFAULT_COUNT);
}

static const char *fmt_time(long long t, char *buf, size_t len)
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (!gmtime_r(&tt, &tm) || strftime(buf, len, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
        snprintf(buf, len, "%lld", t);
    return buf;
}

static bool parse_kdf(const char *s, struct bg_kdf *k)
{
    char extra;
    if (sscanf(s, "%u:%u:%u%c", &k->log2n, &k->r, &k->p, &extra) != 3 || !bg_kdf_ok(k)) {
        fprintf(stderr, "pam_ciba-codes: --scrypt %s: want LOG2N:R:P with 10 <= LOG2N <= 20, 1 <= R <= 32, "
                        "1 <= P <= 16 and at most 64 MiB (128*R*2^LOG2N*P)\n", s);
        return false;
    }
    return true;
}

/* ---- issue ---- */

struct issue_ctx {
    const char *user;
    struct bg_kdf kdf;
    int count;
    char (*codes)[BREAKGLASS_CODE_LEN + 1];
    int replaced; /* unused codes of the old set */
};

static result do_issue(void *vctx, struct bg_record *rec, int have, char *why, size_t whylen)
{
    struct issue_ctx *c = vctx;
    result r;

    c->replaced = have == BG_HAVE ? bg_live_count(rec) : 0;
    if (have == BG_MALFORMED)
        fprintf(stderr, "pam_ciba-codes: replacing a malformed file: %s\n", why);
    r = bg_issue(rec, c->user, &c->kdf, c->count, (long long)time(NULL), c->codes);
    if (r != RES_OK)
        snprintf(why, whylen, "cannot make codes (%s)", r == RES_CONFIG ? "invalid parameters" : "no randomness");
    return r;
}

static int cmd_issue(const struct bg_store *s, int argc, char **argv)
{
    static const struct option opts[] = {{"count", required_argument, NULL, 'n'},
                                         {"scrypt", required_argument, NULL, 'k'},
                                         {NULL, 0, NULL, 0}};
    struct issue_ctx c = {NULL, {BREAKGLASS_KDF_LOG2N, BREAKGLASS_KDF_R, BREAKGLASS_KDF_P}, DEFAULT_COUNT, NULL, 0};
    char why[512], shown[BREAKGLASS_SHOWN_LEN + 1];
    size_t codes_len;
    int opt;
    result r;

    optind = 1;
    while ((opt = getopt_long(argc, argv, "+n:", opts, NULL)) != -1) {
        if (opt == 'n') {
            char *end;
            long v = strtol(optarg, &end, 10);
            if (*end || v < 1 || v > BREAKGLASS_MAX_CODES) {
                fprintf(stderr, "pam_ciba-codes: --count must be 1..%d\n", BREAKGLASS_MAX_CODES);
                return 2;
            }
            c.count = (int)v;
        } else if (opt == 'k') {
            if (!parse_kdf(optarg, &c.kdf))
                return 2;
        } else {
            usage(stderr);
            return 2;
        }
    }
    if (optind != argc - 1) {
        usage(stderr);
        return 2;
    }
    c.user = argv[optind];
    if (!getpwnam(c.user))
        fprintf(stderr, "pam_ciba-codes: warning: no account %s on this host (codes issued anyway)\n", c.user);
    codes_len = sizeof(*c.codes) * (size_t)c.count;
    c.codes = calloc((size_t)c.count, sizeof(*c.codes));
    if (!c.codes)
        return 2;
    r = bg_store_edit(s, c.user, do_issue, &c, why, sizeof(why));
    if (r != RES_OK) {
        fprintf(stderr, "pam_ciba-codes: %s\n", why);
        explicit_bzero(c.codes, codes_len);
        free(c.codes);
        return 2;
    }
    fprintf(stderr, "pam_ciba-codes: %d break-glass codes for %s%s; each works once. They are shown only now:\n",
            c.count, c.user, c.replaced ? " (the old set is gone)" : "");
    for (int i = 0; i < c.count; i++) {
        bg_display(c.codes[i], shown);
        printf("%3d  %s\n", i + 1, shown);
    }
    fflush(stdout);
    explicit_bzero(shown, sizeof(shown));
    explicit_bzero(c.codes, codes_len);
    free(c.codes);
    return 0;
}

/* ---- list, count ---- */

static int read_or_report(const struct bg_store *s, const char *user, struct bg_record *rec)
{
    char why[512];
    result r = bg_store_read(s, user, rec, why, sizeof(why));
    if (r == RES_DENIED) {
        fprintf(stderr, "pam_ciba-codes: %s: %s\n", user, why);
        return 1;
    }
    if (r != RES_OK) {
        fprintf(stderr, "pam_ciba-codes: %s\n", why);
        return 2;
    }
    return 0;
}

static int cmd_list(const struct bg_store *s, int argc, char **argv, bool count_only)
{
    static const char *const states[] = {"unused", "used", "revoked"};
    struct bg_record *rec;
    char when[64];
    int rc;

    if (argc != 2) {
        usage(stderr);
        return 2;
    }
    rec = malloc(sizeof(*rec));
    if (!rec)
        return 2;
    rc = read_or_report(s, argv[1], rec);
    if (rc == 1 && count_only) {
        printf("0\n");
    } else if (rc == 0 && count_only) {
        printf("%d\n", bg_live_count(rec));
    } else if (rc == 0) {
        printf("user %s: %d of %d codes unused, issued %s, scrypt N=2^%u r=%u p=%u\n", rec->user,
               bg_live_count(rec), rec->n, fmt_time(rec->issued, when, sizeof(when)), rec->kdf.log2n, rec->kdf.r,
               rec->kdf.p);
        for (int i = 0; i < rec->n; i++)
            printf("%3d  %-7s %s\n", i + 1, states[rec->slot[i].state],
                   rec->slot[i].state == BG_LIVE ? "" : fmt_time(rec->slot[i].when, when, sizeof(when)));
    }
    explicit_bzero(rec, sizeof(*rec));
    free(rec);
    return rc;
}

/* ---- revoke ---- */

struct revoke_ctx {
    bool all;
    int nslots;
    char **slots;
    int done;
};

static result do_revoke(void *vctx, struct bg_record *rec, int have, char *why, size_t whylen)
{
    struct revoke_ctx *c = vctx;

    if (have == BG_NONE) {
        snprintf(why, whylen, "no break-glass codes for this user");
        return RES_DENIED;
    }
    if (c->all) {
        c->done = have == BG_HAVE ? bg_live_count(rec) : 0;
        rec->n = 0; /* removes the file */
        return RES_OK;
    }
    if (have == BG_MALFORMED)
        return RES_CONFIG; /* why says it */
    for (int i = 0; i < c->nslots; i++) {
        char *end;
        long v = strtol(c->slots[i], &end, 10);
        if (*end || v < 1 || v > rec->n) {
            snprintf(why, whylen, "no slot %s (the user has slots 1..%d)", c->slots[i], rec->n);
            return RES_CONFIG;
        }
        if (rec->slot[v - 1].state == BG_LIVE) {
            rec->slot[v - 1].state = BG_REVOKED;
            rec->slot[v - 1].when = (long long)time(NULL);
            c->done++;
        }
    }
    return c->done ? RES_OK : RES_IGNORE;
}

static int cmd_revoke(const struct bg_store *s, int argc, char **argv)
{
    struct revoke_ctx c = {false, 0, NULL, 0};
    const char *user;
    char why[512];
    result r;

    if (argc >= 2 && strcmp(argv[1], "--all") == 0) {
        if (argc != 3) {
            usage(stderr);
            return 2;
        }
        c.all = true;
        user = argv[2];
    } else {
        if (argc < 3) {
            usage(stderr);
            return 2;
        }
        user = argv[1];
        c.slots = argv + 2;
        c.nslots = argc - 2;
    }
    r = bg_store_edit(s, user, do_revoke, &c, why, sizeof(why));
    if (r == RES_DENIED) {
        fprintf(stderr, "pam_ciba-codes: %s: %s\n", user, why);
        return 1;
    }
    if (r != RES_OK) {
        fprintf(stderr, "pam_ciba-codes: %s\n", why);
        return 2;
    }
    if (c.all)
        fprintf(stderr, "pam_ciba-codes: all codes of %s removed (%d were unused)\n", user, c.done);
    else
        fprintf(stderr, "pam_ciba-codes: %d code(s) of %s revoked\n", c.done, user);
    return 0;
}

/* ---- bench: what one code check costs here ---- */

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmd_bench(int argc, char **argv)
{
    struct bg_kdf k = {BREAKGLASS_KDF_LOG2N, BREAKGLASS_KDF_R, BREAKGLASS_KDF_P};
    unsigned char salt[BREAKGLASS_SALT_LEN] = {0}, out[BREAKGLASS_HASH_LEN];
    double best = 1e9, sum = 0, t;
    const int rounds = 10;

    if (argc == 3 && strcmp(argv[1], "--scrypt") == 0) {
        if (!parse_kdf(argv[2], &k))
            return 2;
    } else if (argc != 1) {
        usage(stderr);
        return 2;
    }
    for (int i = 0; i < rounds; i++) {
        t = mono();
        if (bg_derive(&k, salt, "bench", "0123456789", out) != RES_OK) {
            fprintf(stderr, "pam_ciba-codes: scrypt failed\n");
            return 2;
        }
        t = mono() - t;
        sum += t;
        best = t < best ? t : best;
    }
    printf("scrypt N=2^%u r=%u p=%u (%llu KiB): %.1f ms a check (mean of %d), best %.1f ms\n", k.log2n, k.r, k.p,
           128ull * k.r * (1ull << k.log2n) * k.p / 1024, sum / rounds * 1000, rounds, best * 1000);
    return 0;
}

/* The directories above the store, as mkdir -p would (0700 under the tool's umask);
 * the store itself is made by safe_dir_open, which checks the whole path. */
static void make_parents(const char *dir)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s", dir);
    for (char *p = path + 1; (p = strchr(p, '/')); p++) {
        *p = '\0';
        if (mkdir(path, 0755) != 0 && errno != EEXIST)
            return;
        *p = '/';
    }
}

/* breakglass_dir from the config; the default when there is no config at the default path. */
static int store_dir(const char *conf, bool conf_given, char **dir)
{
    struct config cfg;
    struct stat st;
    char err[1024];

    *dir = NULL;
    if (!conf_given && stat(conf, &st) != 0 && errno == ENOENT)
        return 0;
    if (config_load(conf, 0, &cfg, err, sizeof(err)) != RES_OK) {
        fprintf(stderr, "pam_ciba-codes: %s (or name the directory with --dir)\n", err);
        return 2;
    }
    if (cfg.breakglass_dir && !(*dir = strdup(cfg.breakglass_dir))) {
        config_free(&cfg);
        return 2;
    }
    config_free(&cfg);
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
                                         {"dir", required_argument, NULL, 'd'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *conf = CONFIG_DEFAULT_PATH, *dir = NULL;
    bool conf_given = false;
    char *conf_dir = NULL;
    struct bg_store store = {NULL, 0};
    int opt, rc;

    umask(077);
    while ((opt = getopt_long(argc, argv, "+c:d:h", opts, NULL)) != -1) {
        switch (opt) {
        case 'c': conf = optarg; conf_given = true; break;
        case 'd': dir = optarg; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind >= argc) {
        usage(stderr);
        return 2;
    }
    argc -= optind;
    argv += optind;
    if (strcmp(argv[0], "bench") == 0)
        return cmd_bench(argc, argv);
    /* The files are root's, and so is every decision about them. */
    if (geteuid() != 0) {
        fprintf(stderr, "pam_ciba-codes: must run as root\n");
        return 2;
    }
    if (dir && dir[0] != '/') {
        fprintf(stderr, "pam_ciba-codes: --dir must be an absolute path\n");
        return 2;
    }
    if (!dir && (rc = store_dir(conf, conf_given, &conf_dir)) != 0)
        return rc;
    store.dir = dir ? dir : conf_dir;
    if (strcmp(argv[0], "issue") == 0)
        make_parents(store.dir ? store.dir : BREAKGLASS_DEFAULT_DIR);
    if (strcmp(argv[0], "issue") == 0)
        rc = cmd_issue(&store, argc, argv);
    else if (strcmp(argv[0], "list") == 0)
        rc = cmd_list(&store, argc, argv, false);
    else if (strcmp(argv[0], "count") == 0)
        rc = cmd_list(&store, argc, argv, true);
    else if (strcmp(argv[0], "revoke") == 0)
        rc = cmd_revoke(&store, argc, argv);
    else {
        usage(stderr);
        rc = 2;
    }
    free(conf_dir);
    return rc;
}
