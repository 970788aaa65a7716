/* Fitting a binding message to what one provider accepts: length, characters, priorities. */
#ifndef PAM_CIBA_BINDING_H
#define PAM_CIBA_BINDING_H
#include <stdbool.h>
#include <stddef.h>
#include "result.h"
#include "template.h"

/* Named provider limits (binding_message_profile); index = config value. */
enum binding_preset {
    BINDING_PRESET_AUTH0,     /* 64 characters: letters, digits, space, + - _ . , : # */
    BINDING_PRESET_NODE_OIDC, /* node-oidc-provider's default validator: 20, [a-zA-Z0-9-._+/!?#] */
    BINDING_PRESET_KEYCLOAK,  /* 50, [a-zA-Z0-9-._+/!?#]: no spaces */
    BINDING_PRESET_CUSTOM     /* binding_message_max and binding_message_charset say it all */
};

/* The names as the config spells them, NULL-terminated, index = enum binding_preset. */
extern const char *const binding_preset_names[];

/* What a provider accepts, and how the module adapts text to it. */
struct binding_profile {
    size_t max;         /* characters, 1..BINDING_MESSAGE_MAX */
    bool allowed[128];  /* ASCII characters the provider accepts; nothing else ever is */
    char space;         /* what a space becomes: ' ' itself, or '-', '_', '.'; 0 = dropped */
    char other;         /* what any other refused character becomes: '_', '-', '.', '?'; 0 = dropped */
    char marker;        /* ends a value that was cut: '+', '~' or '.'; 0 = none */
    char charset[96];   /* the allowed set in binding_message_charset syntax, for people */
};

/* The preset's limits (BINDING_PRESET_CUSTOM: Auth0's, to be overridden). */
void binding_profile_preset(enum binding_preset preset, struct binding_profile *p);

/* Replace p's character set by charset: printable ASCII; "x-y" joins two lowercase
 * letters, two uppercase letters or two digits; every other character, '-' included,
 * stands for itself. RES_CONFIG with why on a bad set. */
result binding_profile_set_charset(struct binding_profile *p, const char *charset, char *why, size_t whylen);

/* Load-time check of tmpl against p: every character a code can hold is allowed, and the
 * template's own text plus the code fit in p->max with every variable empty. */
result binding_profile_check(const struct binding_profile *p, const char *tmpl, char *why, size_t whylen);

/* Expand tmpl into out (BINDING_MESSAGE_MAX + 1 bytes) so that it has 1..p->max
 * characters, all allowed by p, with %c (the code) verbatim. Refused characters are
 * replaced (p->space, p->other); variables are shortened least important first
 * (%F, %K, %t, %s, %T, %H, %r, %C, %k, %h, %U, %u; the template's own text and the code never), first
 * each down to 8 characters, then down to 4 or out entirely. p NULL: Auth0's limits.
 * RES_CONFIG when tmpl is invalid or its own text and code cannot fit (see
 * binding_profile_check); RES_INTERNAL when out of memory. */
result binding_fit(const char *tmpl, const struct template_vars *v, const struct binding_profile *p, char *out);

#endif
