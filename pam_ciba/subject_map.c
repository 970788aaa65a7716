/* Parses and caches subject_map_file; lookups are a binary search on the sorted table. */
#include "subject_map.h"
#include "config.h"
#include "safe_file.h"
#include "template.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct entry {
    char *user;
    char *subject;
};

struct subject_map {
    struct entry *e;
    size_t n;
    char *fallback; /* the "*" template, or NULL */
};

void subject_map_free(struct subject_map *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->n; i++) {
        free(m->e[i].user);
        free(m->e[i].subject);
    }
    free(m->e);
    free(m->fallback);
    free(m);
}

static int by_user(const void *a, const void *b)
{
    return strcmp(((const struct entry *)a)->user, ((const struct entry *)b)->user);
}

/* Split one line into at most 3 fields at blanks; a field starting with '#' ends the line. */
static size_t fields(char *line, char **f)
{
    size_t n = 0;
    char *p = line;

    while (n < 3) {
        p += strspn(p, " \t");
        if (!*p || *p == '#')
            break;
        f[n++] = p;
        p += strcspn(p, " \t");
        if (*p)
            *p++ = '\0';
    }
    return n;
}

static bool printable(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return false;
    return true;
}

result subject_map_parse(const char *path, const char *text, struct subject_map **out, char *err, size_t errlen)
{
    struct subject_map *m = calloc(1, sizeof(*m));
    size_t cap = 0, lineno = 0;
    char *copy = strdup(text), *line, *next;
    result r = RES_CONFIG;

    *out = NULL;
    if (!m || !copy) {
        r = RES_INTERNAL;
        goto out;
    }
    for (line = copy; line; line = next) {
        char *f[3];
        size_t nf, len;
        lineno++;
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        len = strlen(line);
        if (len && line[len - 1] == '\r')
            line[--len] = '\0';
        nf = fields(line, f);
        if (nf == 0)
            continue;
        if (nf != 2) {
            snprintf(err, errlen, "%s:%zu: expected \"unixuser subject\"", path, lineno);
            goto out;
        }
        if (strlen(f[0]) > SUBJECT_MAP_MAX_FIELD || strlen(f[1]) > SUBJECT_MAP_MAX_FIELD ||
            !printable(f[0]) || !printable(f[1])) {
            snprintf(err, errlen, "%s:%zu: fields must be printable and at most %d bytes", path, lineno,
                     SUBJECT_MAP_MAX_FIELD);
            goto out;
        }
        if (strcmp(f[0], "*") == 0) {
            char why[200];
            if (m->fallback) {
                snprintf(err, errlen, "%s:%zu: a second \"*\" line", path, lineno);
                goto out;
            }
            if (template_check(f[1], why, sizeof(why)) != RES_OK) {
                snprintf(err, errlen, "%s:%zu: \"*\" template: %s", path, lineno, why);
                goto out;
            }
            if (!(m->fallback = strdup(f[1]))) {
                r = RES_INTERNAL;
                goto out;
            }
            continue;
        }
        if (m->n == cap) {
            struct entry *ne;
            cap = cap ? cap * 2 : 64;
            if (!(ne = realloc(m->e, cap * sizeof(*ne)))) {
                r = RES_INTERNAL;
                goto out;
            }
            m->e = ne;
        }
        m->e[m->n].user = strdup(f[0]);
        m->e[m->n].subject = strdup(f[1]);
        m->n++;
        if (!m->e[m->n - 1].user || !m->e[m->n - 1].subject) {
            r = RES_INTERNAL;
            goto out;
        }
    }
    if (m->n)
        qsort(m->e, m->n, sizeof(*m->e), by_user);
    for (size_t i = 1; i < m->n; i++) {
        /* Two subjects for one user would let file order decide whose phone approves. */
        if (strcmp(m->e[i - 1].user, m->e[i].user) == 0) {
            snprintf(err, errlen, "%s: user \"%.64s\" is listed twice", path, m->e[i].user);
            goto out;
        }
    }
    *out = m;
    m = NULL;
    r = RES_OK;
out:
    subject_map_free(m);
    free(copy);
    return r;
}

result subject_map_find(const struct subject_map *m, const char *user, char **tmpl)
{
    struct entry key = {(char *)user, NULL};
    const struct entry *e = m->n ? bsearch(&key, m->e, m->n, sizeof(*m->e), by_user) : NULL;

    *tmpl = NULL;
    if (e) {
        /* A listed subject is literal: double every '%' so template_expand keeps it. */
        size_t extra = 0;
        char *o;
        for (const char *p = e->subject; *p; p++)
            extra += *p == '%';
        if (!(o = *tmpl = malloc(strlen(e->subject) + extra + 1)))
            return RES_INTERNAL;
        for (const char *p = e->subject; *p; p++) {
            if (*p == '%')
                *o++ = '%';
            *o++ = *p;
        }
        *o = '\0';
        return RES_OK;
    }
    if (m->fallback)
        return (*tmpl = strdup(m->fallback)) ? RES_OK : RES_INTERNAL;
    return RES_USER_UNKNOWN;
}

static bool same_file(const struct stat *a, const struct stat *b)
{
    return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
           a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
           a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

void subject_map_cache_clear(struct subject_map_cache *c)
{
    subject_map_free(c->map);
    free(c->path);
    c->map = NULL;
    c->path = NULL;
    memset(&c->st, 0, sizeof(c->st));
}

result subject_map_lookup(struct subject_map_cache *c, const char *path, uid_t trusted_uid, const char *user,
                          char **tmpl, char *err, size_t errlen)
{
    struct stat st;
    int fd = -1;
    result r;

    *tmpl = NULL;
    pthread_mutex_lock(&c->lock);
    r = safe_file_open(path, trusted_uid, 0, &fd, &st, err, errlen);
    if (r != RES_OK) {
        subject_map_cache_clear(c);
        goto out;
    }
    if (!c->map || !c->path || strcmp(c->path, path) != 0 || c->trusted_uid != trusted_uid || !same_file(&c->st, &st)) {
        char *text = NULL;
        struct subject_map *m = NULL;
        subject_map_cache_clear(c);
        /* Parsed from the descriptor just checked: the identity cached is what was read. */
        r = safe_fd_read(fd, &st, path, SUBJECT_MAP_MAX_FILE, 0, &text, NULL, err, errlen);
        if (r == RES_OK)
            r = subject_map_parse(path, text, &m, err, errlen);
        free(text);
        if (r != RES_OK)
            goto out;
        c->parses++;
        c->map = m;
        c->st = st;
        c->trusted_uid = trusted_uid;
        if (!(c->path = strdup(path))) {
            subject_map_cache_clear(c);
            r = RES_INTERNAL;
            goto out;
        }
    }
    r = subject_map_find(c->map, user, tmpl);
out:
    if (fd >= 0)
        close(fd);
    pthread_mutex_unlock(&c->lock);
    return r;
}
