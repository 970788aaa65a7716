/* Form encoding for OAuth requests; bodies carry client secrets and are wiped. */
#include "form.h"
#include "wipe.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

void form_init(struct form *f)
{
    memset(f, 0, sizeof(*f));
}

char *form_urlencode(const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = strlen(s);
    char *out = malloc(3 * n + 1), *o = out;

    if (!out)
        return NULL;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '.' || *p == '_' || *p == '~') {
            *o++ = (char)*p;
        } else {
            *o++ = '%';
            *o++ = hex[*p >> 4];
            *o++ = hex[*p & 15];
        }
    }
    *o = '\0';
    return out;
}

static void append(struct form *f, const char *s)
{
    size_t n = strlen(s);

    if (f->failed)
        return;
    if (wipe_grow(&f->buf, &f->cap, f->len, f->len + n + 1, 256, (size_t)-1 / 2) != 0) {
        f->failed = 1;
        return;
    }
    memcpy(f->buf + f->len, s, n);
    f->len += n;
    f->buf[f->len] = '\0';
}

void form_add(struct form *f, const char *key, const char *value)
{
    char *k, *v;

    if (!value)
        return;
    k = form_urlencode(key);
    v = form_urlencode(value);
    if (!k || !v) {
        f->failed = 1;
    } else {
        if (f->len)
            append(f, "&");
        append(f, k);
        append(f, "=");
        append(f, v);
    }
    free(k);
    wipe_free_str(v);
}

const char *form_body(const struct form *f)
{
    if (f->failed)
        return NULL;
    return f->buf ? f->buf : "";
}

void form_free(struct form *f)
{
    wipe_free(f->buf, f->cap);
    form_init(f);
}

char *form_basic_auth(const char *id, const char *secret)
{
    char *eid = form_urlencode(id), *esec = form_urlencode(secret);
    char *pair = NULL, *out = NULL;
    size_t plen;

    if (!eid || !esec)
        goto done;
    plen = strlen(eid) + 1 + strlen(esec);
    pair = malloc(plen + 1);
    out = malloc(6 + 4 * ((plen + 2) / 3) + 1);
    if (!pair || !out) {
        free(out); /* nothing written to it yet */
        out = NULL;
        goto done;
    }
    strcpy(pair, eid);
    strcat(pair, ":");
    strcat(pair, esec);
    memcpy(out, "Basic ", 6);
    EVP_EncodeBlock((unsigned char *)out + 6, (const unsigned char *)pair, (int)plen);
done:
    free(eid);
    wipe_free_str(esec);
    wipe_free_str(pair);
    return out;
}
