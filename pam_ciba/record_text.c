/* Strict text records: the writer and reader the record formats share (see the header). */
#include "record_text.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void rtext_put(struct rtext_out *o, const char *s, size_t n)
{
    if (!o->ok || n >= o->left) {
        o->ok = false;
        return;
    }
    memcpy(o->p, s, n);
    o->p += n;
    o->left -= n;
    *o->p = '\0';
}

void rtext_putf(struct rtext_out *o, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (!o->ok)
        return;
    va_start(ap, fmt);
    n = vsnprintf(o->p, o->left, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= o->left) {
        o->ok = false;
        return;
    }
    o->p += n;
    o->left -= (size_t)n;
}

void rtext_put_hex(struct rtext_out *o, const unsigned char *b, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < n && o->ok; i++) {
        char two[2] = {hex[b[i] >> 4], hex[b[i] & 15]};
        rtext_put(o, two, 2);
    }
}

bool rtext_at(const struct rtext_in *c, const char *lit)
{
    size_t n = strlen(lit);
    return c->ok && (size_t)(c->end - c->p) >= n && memcmp(c->p, lit, n) == 0;
}

void rtext_expect(struct rtext_in *c, const char *lit)
{
    if (rtext_at(c, lit))
        c->p += strlen(lit);
    else
        c->ok = false;
}

long long rtext_get_num(struct rtext_in *c, long long max)
{
    long long v = 0;
    const char *start = c->p;

    while (c->ok && c->p < c->end && *c->p >= '0' && *c->p <= '9') {
        int d = *c->p - '0';
        if (v > (max - d) / 10) {
            c->ok = false;
            break;
        }
        v = v * 10 + d;
        c->p++;
    }
    if (c->p == start || (*start == '0' && c->p - start > 1))
        c->ok = false;
    return c->ok ? v : 0;
}

int rtext_hexval(char ch)
{
    return ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
}

void rtext_get_hex(struct rtext_in *c, unsigned char *out, size_t n)
{
    for (size_t i = 0; i < n && c->ok; i++) {
        int hi = c->end - c->p >= 2 ? rtext_hexval(c->p[0]) : -1, lo = hi >= 0 ? rtext_hexval(c->p[1]) : -1;
        if (lo < 0) {
            c->ok = false;
            return;
        }
        out[i] = (unsigned char)(hi << 4 | lo);
        c->p += 2;
    }
}
