/* Strict text records (reuse records, limit counters, break-glass codes): a bounded writer, and a reader
 * that accepts only what the writer makes. */
#ifndef PAM_CIBA_RECORD_TEXT_H
#define PAM_CIBA_RECORD_TEXT_H
#include <stdbool.h>
#include <stddef.h>

/* Writes into a fixed buffer, always NUL-terminated; ok turns false, for good, once
 * something does not fit. */
struct rtext_out {
    char *p;
    size_t left;
    bool ok;
};

void rtext_put(struct rtext_out *o, const char *s, size_t n);
void rtext_putf(struct rtext_out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void rtext_put_hex(struct rtext_out *o, const unsigned char *b, size_t n); /* lower case */

/* Reads [p, end); ok turns false, for good, at the first thing that is not as expected. */
struct rtext_in {
    const char *p, *end;
    bool ok;
};

bool rtext_at(const struct rtext_in *c, const char *lit);
void rtext_expect(struct rtext_in *c, const char *lit);
/* A decimal number without sign or leading zeros, at most max (>= 0); 0 on failure. */
long long rtext_get_num(struct rtext_in *c, long long max);
/* n bytes written as 2n lower-case hex digits. */
void rtext_get_hex(struct rtext_in *c, unsigned char *out, size_t n);
int rtext_hexval(char ch); /* a lower-case hex digit's value, or -1 */

#endif
