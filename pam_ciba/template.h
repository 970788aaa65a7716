/* Template expansion (%u %h %H %s %r %t %c %C %U %F %k %K %T %%) and binding-message sanitising. */
#ifndef PAM_CIBA_TEMPLATE_H
#define PAM_CIBA_TEMPLATE_H
#include <stdbool.h>
#include <stddef.h>
#include "result.h"

/* Auth0's limit on binding_message length. */
#define BINDING_MESSAGE_MAX 64
/* %k: the SSH key sshd accepted, when there was one; nothing (and no gap) otherwise. */
#define BINDING_MESSAGE_DEFAULT "%h login %u %k #%c"
#define BINDING_CODE_LEN 4

struct template_vars {
    const char *user;       /* %u */
    const char *host_short; /* %h */
    const char *host_full;  /* %H */
    const char *service;    /* %s */
    const char *rhost;      /* %r */
    const char *tty;        /* %t */
    const char *code;       /* %c */
    const char *command;    /* %C: the command being authorised, short (see command.h) */
    const char *target;     /* %U: whom sudo runs it as */
    const char *command_full; /* %F: the whole command, for authorization_details */
    /* The SSH key sshd accepted before this module (issue 13, item 1; ssh_auth_info.h). */
    const char *key_short;    /* %k: "SHA256:" and its first 8 characters */
    const char *key_full;     /* %K: the whole fingerprint, as ssh-keygen -l prints it */
    const char *key_type;     /* %T: "ED25519", "RSA-CERT", ... */
};

/* The value of variable c (the letter after '%') in v, in *value (may be NULL); false when
 * c names no variable. */
bool template_var(char c, const struct template_vars *v, const char **value);

/* RES_OK if every escape in tmpl is known; otherwise RES_CONFIG with why. */
result template_check(const char *tmpl, char *why, size_t whylen);

/* Expand tmpl. Each variable's value is cut to field_cap bytes (0 = no cap), %C by
 * command_cut() (whole words from the end, never the program), %F never (it is bounded
 * where it is made: COMMAND_FULL_MAX); a missing variable
 * expands to "". Returns a malloc'd string in *out. */
result template_expand(const char *tmpl, const struct template_vars *v, size_t field_cap, char **out);

/* binding_fit() (binding.h) with Auth0's limits: at most 64 characters, only ASCII
 * letters, digits, space and "+-_.,:#"; the code is never cut. RES_CONFIG when the
 * template's own text and code do not fit. */
result binding_message_build(const char *tmpl, const struct template_vars *v, char *out);

/* Replace every character Auth0 would refuse, in place; trims surrounding spaces and
 * makes each run of spaces one (an empty variable leaves no gap). */
void binding_message_sanitise(char *s);

/* The code's 32 symbols: no 0/O/1/I to misread. The longest message sent is
 * BINDING_MESSAGE_MAX; binding.h fits one to a provider's own, smaller limits. */
#define BINDING_CODE_ALPHABET "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"

/* Fill code (BINDING_CODE_LEN + 1 bytes) with a fresh random code from an unambiguous
 * alphabet, using the OpenSSL CSPRNG. */
result binding_code_generate(char *code);

#endif
