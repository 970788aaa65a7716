/* The typed code: how an answer is compared with the code, and which templates may be used. */
#include "confirm.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>

static bool blank(char c)
{
    return c == ' ' || c == '\t';
}

/* The answer without surrounding blanks and one leading '#': *start and its length. */
static size_t trimmed(const char *typed, const char **start)
{
    const char *s = typed, *e;

    while (blank(*s))
        s++;
    if (*s == '#')
        s++;
    while (blank(*s))
        s++;
    e = s + strlen(s);
    while (e > s && blank(e[-1]))
        e--;
    *start = s;
    return (size_t)(e - s);
}

static char upper(char c)
{
    return c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
}

bool confirm_code_matches(const char *typed, const char *code)
{
    unsigned char a[CONFIRM_ANSWER_MAX], b[CONFIRM_ANSWER_MAX];
    const char *s;
    size_t n, m;
    bool same;

    if (!typed || !code)
        return false;
    /* strnlen: an answer far longer than any code is refused without reading it all. */
    if (strnlen(typed, CONFIRM_ANSWER_MAX + 1) > CONFIRM_ANSWER_MAX)
        return false;
    n = trimmed(typed, &s);
    m = strlen(code);
    if (n == 0 || m == 0 || m > CONFIRM_ANSWER_MAX)
        return false;
    /* Both padded to the same size: the comparison time depends on neither content. */
    memset(a, 0, sizeof(a));
    memset(b, 0, sizeof(b));
    for (size_t i = 0; i < n; i++)
        a[i] = (unsigned char)upper(s[i]);
    for (size_t i = 0; i < m; i++)
        b[i] = (unsigned char)upper(code[i]);
    same = CRYPTO_memcmp(a, b, sizeof(a)) == 0 && n == m;
    OPENSSL_cleanse(a, sizeof(a));
    OPENSSL_cleanse(b, sizeof(b));
    return same;
}

bool confirm_answer_empty(const char *typed)
{
    const char *s;
    return !typed || trimmed(typed, &s) == 0;
}

/* Whether tmpl uses the escape %<c> ("%%" is a literal percent sign, not an escape). */
static bool uses_escape(const char *tmpl, char c)
{
    for (const char *p = tmpl; p && *p; p++) {
        if (*p != '%')
            continue;
        if (!*++p)
            break;
        if (*p == c)
            return true;
    }
    return false;
}

result confirm_check_config(const char *binding_tmpl, const char *message_tmpl, const char **key, char *why,
                            size_t whylen)
{
    if (!uses_escape(binding_tmpl, 'c')) {
        *key = "binding_message";
        snprintf(why, whylen, "confirm = \"type\" needs the code: put %%c in binding_message");
        return RES_CONFIG;
    }
    if (uses_escape(message_tmpl, 'c')) {
        *key = "message";
        snprintf(why, whylen, "with confirm = \"type\" the terminal must not show the code: remove %%c "
                 "(%%b shows the binding message with the code masked)");
        return RES_CONFIG;
    }
    return RES_OK;
}

void confirm_mask(const char *binding, const char *code, char *out, size_t outlen)
{
    size_t m = code ? strlen(code) : 0;

    if (outlen == 0)
        return;
    snprintf(out, outlen, "%s", binding ? binding : "");
    if (m == 0)
        return;
    for (char *p = strstr(out, code); p; p = strstr(p + m, code))
        memset(p, '*', m);
}
