/* Provider document cache files: <dir>/<kind>-<sha256(url)>.json holding url, times and body. */
#include "cache.h"
#include "json_util.h"
#include "safe_file.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The directory (and every one above it) must be safe from others, or they could plant
 * entries: safe_dir_open checks it, and entries are opened relative to its descriptor. */
static int open_dir(const struct cache *c, int create)
{
    char err[512];
    int dfd;

    if (safe_dir_open(c->dir, c->owner, create ? SAFE_CREATE : 0, &dfd, err, sizeof(err)) != RES_OK)
        return -1;
    return dfd;
}

static int entry_name(const char *kind, const char *url, char *out, size_t outlen)
{
    unsigned char md[32];
    unsigned int mdlen = 0;
    char hex[65];

    if (EVP_Digest(url, strlen(url), md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != 32)
        return 0;
    for (unsigned i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    return snprintf(out, outlen, "%s-%s.json", kind, hex) < (int)outlen;
}

result cache_get(const struct cache *c, const char *kind, const char *url, time_t now, int allow_expired,
                 char **body, time_t *fetched)
{
    char name[256], err[512];
    char *text = NULL;
    size_t len = 0;
    struct stat st;
    json_object *o = NULL, *v;
    const char *u, *b;
    int64_t f, e;
    int dfd, fd;
    result r = RES_PROTOCOL;

    *body = NULL;
    if (!entry_name(kind, url, name, sizeof(name)) || (dfd = open_dir(c, 0)) < 0)
        return RES_PROTOCOL;
    r = safe_file_openat(dfd, c->dir, name, c->owner, 0, &fd, &st, err, sizeof(err));
    close(dfd);
    if (r != RES_OK)
        return RES_PROTOCOL;
    r = safe_fd_read(fd, &st, name, CACHE_MAX_FILE, 0, &text, &len, err, sizeof(err));
    close(fd);
    if (r != RES_OK)
        return RES_PROTOCOL;
    r = RES_PROTOCOL;
    o = json_parse_object(text, len);
    u = json_get_str(o, "url");
    b = json_get_str(o, "body");
    if (!o || !u || !b || strcmp(u, url) != 0 || strlen(b) > CACHE_MAX_DOC)
        goto out;
    if (!json_object_object_get_ex(o, "fetched", &v) || !json_object_is_type(v, json_type_int))
        goto out;
    f = json_object_get_int64(v);
    if (!json_object_object_get_ex(o, "expires", &v) || !json_object_is_type(v, json_type_int))
        goto out;
    e = json_object_get_int64(v);
    /* A fetch time in the future means a clock jump or a forged entry: do not trust it. */
    if (f > (int64_t)now + 60 || e < f || (!allow_expired && e <= (int64_t)now))
        goto out;
    if (!(*body = strdup(b))) {
        r = RES_INTERNAL;
        goto out;
    }
    if (fetched)
        *fetched = (time_t)f;
    r = RES_OK;
out:
    json_object_put(o);
    free(text);
    return r;
}

result cache_put(const struct cache *c, const char *kind, const char *url, const char *body, time_t now,
                 long ttl)
{
    char name[256], tmp[32];
    unsigned char rnd[8];
    json_object *o;
    const char *text;
    size_t len, off = 0;
    int dfd, fd;
    result r = RES_PROTOCOL;

    if (ttl <= 0 || strlen(body) > CACHE_MAX_DOC)
        return RES_OK;
    if (!entry_name(kind, url, name, sizeof(name)) || RAND_bytes(rnd, sizeof(rnd)) != 1)
        return RES_PROTOCOL;
    snprintf(tmp, sizeof(tmp), ".tmp-");
    for (size_t i = 0; i < sizeof(rnd); i++)
        snprintf(tmp + 5 + 2 * i, 3, "%02x", rnd[i]);
    if ((dfd = open_dir(c, 1)) < 0)
        return RES_PROTOCOL;
    if (!(o = json_object_new_object())) {
        close(dfd);
        return RES_INTERNAL;
    }
    json_object_object_add(o, "url", json_object_new_string(url));
    json_object_object_add(o, "fetched", json_object_new_int64((int64_t)now));
    json_object_object_add(o, "expires", json_object_new_int64((int64_t)now + ttl));
    json_object_object_add(o, "body", json_object_new_string(body));
    text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
    /* Escaping can grow a body up to sixfold (\u00XX): an entry cache_get would refuse
     * is not worth writing. */
    if (text && strlen(text) > CACHE_MAX_FILE) {
        r = RES_OK;
        goto out;
    }
    fd = text ? openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600) : -1;
    if (fd < 0)
        goto out;
    if (fchmod(fd, 0644) != 0)
        goto fail;
    len = strlen(text);
    while (off < len) {
        ssize_t n = write(fd, text + off, len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            goto fail;
        off += (size_t)n;
    }
    if (fsync(fd) != 0 || close(fd) != 0) {
        fd = -1;
        goto fail;
    }
    fd = -1;
    if (renameat(dfd, tmp, dfd, name) != 0)
        goto fail;
    r = RES_OK;
    goto out;
fail:
    if (fd >= 0)
        close(fd);
    unlinkat(dfd, tmp, 0);
out:
    json_object_put(o);
    close(dfd);
    return r;
}
