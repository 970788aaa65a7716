/* Takes an inline secret out of config text before libconfig sees it (see the header). */
#include "config_secret.h"
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static bool name_start(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '*';
}

static bool name_char(char c)
{
    return name_start(c) || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

static int hex(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Past blanks and comments (#, //, / * * /) from p. */
static char *skip_blank(char *p)
{
    for (;;) {
        if (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r' || *p == '\f' || *p == '\v') {
            p++;
        } else if (*p == '#' || (p[0] == '/' && p[1] == '/')) {
            while (*p && *p != '\n')
                p++;
        } else if (p[0] == '/' && p[1] == '*') {
            char *end = strstr(p + 2, "*/");
            p = end ? end + 2 : p + strlen(p);
        } else {
            return p;
        }
    }
}

/* The end of the string literal whose opening quote is at p (the closing quote), or
 * NULL when it is not closed. Decodes into out (when not NULL) at *n. */
static char *literal(char *p, char *out, size_t *n)
{
    for (p++; *p && *p != '"'; p++) {
        char c = *p;
        if (c == '\\') {
            switch (p[1]) {
            case 'n': c = '\n'; p++; break;
            case 'r': c = '\r'; p++; break;
            case 't': c = '\t'; p++; break;
            case 'f': c = '\f'; p++; break;
            case '\\': c = '\\'; p++; break;
            case '"': c = '"'; p++; break;
            case 'x':
                if (hex(p[2]) >= 0 && hex(p[3]) >= 0) {
                    c = (char)(hex(p[2]) * 16 + hex(p[3]));
                    p += 3;
                }
                break; /* otherwise a lone backslash, kept as libconfig keeps it */
            default:
                break;
            }
        }
        if (out)
            out[(*n)++] = c;
    }
    return *p == '"' ? p : NULL;
}

result config_take_secret(char *text, const char *key, char **secret)
{
    size_t keylen = strlen(key);
    int depth = 0;
    char *p = text;

    *secret = NULL;
    for (;;) {
        p = skip_blank(p);
        if (!*p)
            return RES_OK;
        if (*p == '"') {
            char *end = literal(p, NULL, NULL);
            if (!end)
                return RES_OK; /* unterminated: libconfig reports it */
            p = end + 1;
        } else if (*p == '{' || *p == '(' || *p == '[') {
            depth++;
            p++;
        } else if (*p == '}' || *p == ')' || *p == ']') {
            if (depth > 0)
                depth--;
            p++;
        } else if (name_start(*p)) {
            char *name = p, *v, *first;
            size_t len = 0;
            while (name_char(*p))
                p++;
            if (depth != 0 || (size_t)(p - name) != keylen || memcmp(name, key, keylen) != 0)
                continue;
            v = skip_blank(p);
            if (*v != '=' && *v != ':')
                continue;
            first = v = skip_blank(v + 1);
            if (*v != '"' || !literal(v, NULL, NULL))
                continue; /* not a string, or unterminated: libconfig reports it */
            /* Decode the adjacent literals, then blank them: the value never leaves here. */
            if (!*secret) {
                size_t cap = strlen(v) + 1;
                char *out = malloc(cap);
                if (!out)
                    return RES_INTERNAL;
                for (char *q = v, *end; *q == '"'; q = skip_blank(end + 1)) {
                    size_t mark = len;
                    if (!(end = literal(q, out, &len))) {
                        len = mark; /* an unterminated literal is not part of the value */
                        break;
                    }
                }
                out[len] = '\0';
                *secret = out;
                /* out is a C string: a \x00 ends it as it ends libconfig's value */
                explicit_bzero(out + strlen(out), cap - strlen(out));
            }
            for (char *q = first, *end; *q == '"' && (end = literal(q, NULL, NULL)); q = skip_blank(end + 1)) {
                /* newlines stay, so libconfig's line numbers stay right */
                for (char *c = q + 1; c < end; c++)
                    if (*c != '\n')
                        *c = 'x';
                p = end + 1;
            }
        } else {
            p++;
        }
    }
}
