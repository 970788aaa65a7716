/* Builds the terminal text: %b and %e are resolved here, the rest by template_expand. */
#include "message.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Replace %b and %e with their values (with any '%' doubled), keeping every other escape
 * for template_expand, so the shared escapes have one implementation. */
static result pre_expand(const char *tmpl, const char *binding, const char *expires, char **out)
{
    size_t cap = strlen(tmpl) + 1, len = 0;
    char *buf;

    for (const char *p = tmpl; *p; p++)
        if (*p == '%' && (p[1] == 'b' || p[1] == 'e'))
            cap += 2 * (strlen(binding) + strlen(expires));
    if (!(buf = malloc(cap)))
        return RES_INTERNAL;
    for (const char *p = tmpl; *p; p++) {
        const char *val = NULL;
        if (*p == '%' && p[1] == 'b')
            val = binding;
        else if (*p == '%' && p[1] == 'e')
            val = expires;
        if (val) {
            for (; *val; val++) {
                if (*val == '%')
                    buf[len++] = '%';
                buf[len++] = *val;
            }
            p++;
        } else if (*p == '%' && p[1]) {
            buf[len++] = *p++;
            buf[len++] = *p;
        } else {
            buf[len++] = *p;
        }
    }
    buf[len] = '\0';
    *out = buf;
    return RES_OK;
}

result message_check(const char *tmpl, char *why, size_t whylen)
{
    char *pre = NULL;
    result r = pre_expand(tmpl, "x", "1", &pre);

    if (r == RES_OK)
        r = template_check(pre, why, whylen);
    if (r == RES_CONFIG) {
        size_t n = strlen(why);
        if (n + 40 < whylen && strstr(why, "known:"))
            snprintf(why + n, whylen - n, "; in message also %%b %%e");
    }
    free(pre);
    return r;
}

result message_build(const char *tmpl, const struct template_vars *v, const char *binding,
                     long expires_in, char *out, size_t outlen)
{
    char expires[32], *pre = NULL, *text = NULL;
    result r;

    snprintf(expires, sizeof(expires), "%ld", expires_in > 0 ? expires_in : 0);
    r = pre_expand(tmpl, binding ? binding : "", expires, &pre);
    if (r == RES_OK)
        r = template_expand(pre, v, 256, &text);
    if (r == RES_OK) {
        for (unsigned char *p = (unsigned char *)text; *p; p++)
            if ((*p < 0x20 && *p != '\n' && *p != '\t') || *p == 0x7f)
                *p = '?';
        snprintf(out, outlen, "%s", text);
    }
    free(pre);
    free(text);
    return r;
}
