/* Expands admin templates with login facts and makes binding messages provider-safe. */
#include "template.h"
#include "binding.h"
#include "text.h"
#include "command.h"

#include <openssl/rand.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *var_for(char c, const struct template_vars *v, bool *known)
{
    *known = true;
    switch (c) {
    case 'u': return v ? v->user : NULL;
    case 'h': return v ? v->host_short : NULL;
    case 'H': return v ? v->host_full : NULL;
    case 's': return v ? v->service : NULL;
    case 'r': return v ? v->rhost : NULL;
    case 't': return v ? v->tty : NULL;
    case 'c': return v ? v->code : NULL;
    case 'C': return v ? v->command : NULL;
    case 'U': return v ? v->target : NULL;
    case 'F': return v ? v->command_full : NULL;
    case 'k': return v ? v->key_short : NULL;
    case 'K': return v ? v->key_full : NULL;
    case 'T': return v ? v->key_type : NULL;
    default: *known = false; return NULL;
    }
}

bool template_var(char c, const struct template_vars *v, const char **value)
{
    bool known;
    *value = var_for(c, v, &known);
    return known;
}

result template_check(const char *tmpl, char *why, size_t whylen)
{
    for (const char *p = tmpl; *p; p++) {
        bool known;
        if (*p != '%')
            continue;
        p++;
        if (*p == '%')
            continue;
        if (*p == '\0') {
            snprintf(why, whylen, "template ends with a lone %%");
            return RES_CONFIG;
        }
        var_for(*p, NULL, &known);
        if (!known) {
            snprintf(why, whylen, "unknown escape %%%c (known: %%u %%h %%H %%s %%r %%t %%c %%C %%U %%F %%k %%K %%T %%%%)", *p);
            return RES_CONFIG;
        }
    }
    return RES_OK;
}

result template_expand(const char *tmpl, const struct template_vars *v, size_t field_cap, char **out)
{
    size_t cap = 64, len = 0;
    char *buf = malloc(cap);

    *out = NULL;
    if (!buf)
        return RES_INTERNAL;
    for (const char *p = tmpl; *p; p++) {
        const char *piece;
        char *fact = NULL;
        size_t plen;
        char lit[1], *cut = NULL;
        if (*p == '%' && p[1]) {
            bool known;
            p++;
            if (*p == '%') {
                lit[0] = '%';
                piece = lit;
                plen = 1;
            } else {
                piece = var_for(*p, v, &known);
                if (!known) {
                    free(buf);
                    return RES_CONFIG;
                }
                /* Login facts come from the caller (user, rhost, tty, command...): the
                 * one place where terminal escapes and malformed UTF-8 in them become
                 * '?', before they reach the terminal, the provider or a log. */
                if (!(fact = strdup(piece ? piece : ""))) {
                    free(buf);
                    return RES_INTERNAL;
                }
                text_sanitise(fact);
                piece = fact;
                plen = strlen(fact);
                if (field_cap && plen > field_cap && *p == 'C') {
                    /* The command keeps its program and says how many words it lost. */
                    if (!(cut = malloc(field_cap + 1))) {
                        free(buf);
                        free(fact);
                        return RES_INTERNAL;
                    }
                    command_cut(fact, field_cap, cut);
                    /* a program cut inside a character: its stray bytes become '?' */
                    plen = text_sanitise(cut);
                    piece = cut;
                } else if (field_cap && plen > field_cap && *p != 'F') {
                    /* %F is the uncut command (bounded by COMMAND_FULL_MAX where it is made). */
                    plen = text_cut(fact, field_cap);
                }
            }
        } else if (*p == '%') {
            free(buf);
            return RES_CONFIG;
        } else {
            lit[0] = *p;
            piece = lit;
            plen = 1;
        }
        if (len + plen + 1 > cap) {
            char *nb;
            while (len + plen + 1 > cap)
                cap *= 2;
            nb = realloc(buf, cap);
            if (!nb) {
                free(buf);
                free(fact);
                free(cut);
                return RES_INTERNAL;
            }
            buf = nb;
        }
        memcpy(buf + len, piece, plen);
        len += plen;
        free(fact);
        free(cut);
    }
    buf[len] = '\0';
    *out = buf;
    return RES_OK;
}

static bool binding_char_ok(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == ' ' || strchr("+-_.,:#", c) != NULL;
}

void binding_message_sanitise(char *s)
{
    size_t o = 0, start;

    for (size_t i = 0; s[i]; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\t' || c == '\n' || c == '\r')
            c = ' ';
        /* A multi-byte UTF-8 character becomes a single '_'. */
        if (c >= 0x80) {
            while ((unsigned char)s[i + 1] >= 0x80 && ((unsigned char)s[i + 1] & 0xC0) == 0x80)
                i++;
            c = '_';
        } else if (!binding_char_ok(c)) {
            c = '_';
        }
        if (c == ' ' && o > 0 && s[o - 1] == ' ')
            continue; /* "web01 login alice %k #K7QF" without a key: one space */
        s[o++] = (char)c;
    }
    s[o] = '\0';
    for (start = 0; s[start] == ' '; start++)
        ;
    memmove(s, s + start, o - start + 1);
    o -= start;
    while (o > 0 && s[o - 1] == ' ')
        s[--o] = '\0';
}

result binding_message_build(const char *tmpl, const struct template_vars *v, char *out)
{
    return binding_fit(tmpl, v, NULL, out);
}

result binding_code_generate(char *code)
{
    /* 32 symbols: 5 bits each, so masking keeps it uniform. */
    static const char alphabet[] = BINDING_CODE_ALPHABET;
    unsigned char raw[BINDING_CODE_LEN];

    if (RAND_bytes(raw, sizeof(raw)) != 1)
        return RES_INTERNAL;
    for (size_t i = 0; i < BINDING_CODE_LEN; i++)
        code[i] = alphabet[raw[i] & 31];
    code[BINDING_CODE_LEN] = '\0';
    return RES_OK;
}
