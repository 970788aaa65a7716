/* Keeps terminal escapes and malformed UTF-8 from login facts out of messages and requests. */
#include "text.h"

#include <string.h>

/* Length of the well-formed, non-control UTF-8 character at s, or 0 if there is none:
 * a control character (C0, DEL, C1), a stray byte, an overlong form, a surrogate, or a
 * code point past U+10FFFF. */
static size_t clean_char(const unsigned char *s)
{
    unsigned c = s[0];
    unsigned cp;
    size_t n;

    if (c < 0x20 || c == 0x7f)
        return 0;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf) {
        n = 2;
        cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        cp = c & 0x07;
    } else {
        return 0; /* continuation byte, 0xc0/0xc1 (always overlong), 0xf5-0xff */
    }
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff) || (cp >= 0x80 && cp <= 0x9f))
        return 0;
    return n;
}

bool text_is_clean(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        size_t n = clean_char(p);
        if (!n)
            return false;
        p += n;
    }
    return true;
}

size_t text_sanitise(char *s)
{
    unsigned char *p = (unsigned char *)s;
    size_t i = 0, o = 0;

    while (p[i]) {
        size_t n = clean_char(p + i);
        if (n) {
            memmove(p + o, p + i, n);
            o += n;
            i += n;
            continue;
        }
        /* A whole C1 character is one '?'; any other bad byte is one '?' each. */
        i += p[i] == 0xc2 && p[i + 1] >= 0x80 && p[i + 1] <= 0x9f ? 2 : 1;
        p[o++] = '?';
    }
    p[o] = '\0';
    return o;
}

size_t text_cut(const char *s, size_t max)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strlen(s);

    if (n <= max)
        return n;
    n = max;
    /* Step back over continuation bytes to the lead byte, and drop the lead too. */
    while (n > 0 && (p[n] & 0xc0) == 0x80)
        n--;
    return n;
}
