/* Provider document cache files: <dir>/<kind>-<sha256(url)>.json holding url, times and body. */
#include "cache.h"
#include "config.h"
#include "json_util.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The directory must be ours alone: a directory others can write lets them plant entries. */
static int dir_ok(const struct cache *c, int create)
{
    struct stat st;

    if (lstat(c->dir, &st) != 0) {
        if (!create || errno != ENOENT || mkdir(c->dir, 0700) != 0 || lstat(c->dir, &st) != 0)
            return 0;
    }
    return S_ISDIR(st.st_mode) && st.st_uid == c->owner && !(st.st_mode & (S_IWGRP | S_IWOTH));
}

static int entry_path(const struct cache *c, const char *kind, const char *url, char *out, size_t outlen)
{
    unsigned char md[32];
    unsigned int mdlen = 0;
    char hex[65];

    if (EVP_Digest(url, strlen(url), md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != 32)
        return 0;
    for (unsigned i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    return snprintf(out, outlen, "%s/%s-%s.json", c->dir, kind, hex) < (int)outlen;
}

result cache_get(const struct cache *c, const char *kind, const char *url, time_t now, int allow_expired,
                 char **body, time_t *fetched)
{
    char path[4096], err[256];
    char *text = NULL;
    size_t len = 0;
    json_object *o = NULL, *v;
    const char *u, *b;
    int64_t f, e;
    result r = RES_PROTOCOL;

    *body = NULL;
    if (!dir_ok(c, 0) || !entry_path(c, kind, url, path, sizeof(path)))
        return RES_PROTOCOL;
    if (read_protected_file(path, c->owner, false, 2 * CACHE_MAX_DOC + 1024, &text, &len, err, sizeof(err)) != RES_OK)
        return RES_PROTOCOL;
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
    char path[4096], tmp[4096];
    json_object *o;
    const char *text;
    size_t len, off = 0;
    int fd;
    result r = RES_PROTOCOL;

    if (ttl <= 0 || strlen(body) > CACHE_MAX_DOC)
        return RES_OK;
    if (!dir_ok(c, 1) || !entry_path(c, kind, url, path, sizeof(path)) ||
        snprintf(tmp, sizeof(tmp), "%s/.tmp-XXXXXX", c->dir) >= (int)sizeof(tmp))
        return RES_PROTOCOL;
    if (!(o = json_object_new_object()))
        return RES_INTERNAL;
    json_object_object_add(o, "url", json_object_new_string(url));
    json_object_object_add(o, "fetched", json_object_new_int64((int64_t)now));
    json_object_object_add(o, "expires", json_object_new_int64((int64_t)now + ttl));
    json_object_object_add(o, "body", json_object_new_string(body));
    text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
    fd = text ? mkstemp(tmp) : -1;
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
    if (rename(tmp, path) != 0)
        goto fail;
    r = RES_OK;
    goto out;
fail:
    if (fd >= 0)
        close(fd);
    unlink(tmp);
out:
    json_object_put(o);
    return r;
}
