/* Whether a login needs an approval at all: services, exemptions, groups, remote address, tty. */
#ifndef PAM_CIBA_POLICY_H
#define PAM_CIBA_POLICY_H
#include <stdbool.h>
#include <stddef.h>
#include "config.h"
#include "result.h"

/* Facts about one login, gathered by the caller (the PAM glue). Strings may be NULL. */
struct policy_facts {
    const char *user;
    const char *service;
    const char *rhost;               /* PAM_RHOST as the application set it */
    const char *tty;                 /* PAM_TTY */
    const char *const *groups;       /* names of the primary and supplementary groups */
    size_t n_groups;
    bool can_converse;               /* a conversation function exists and PAM_SILENT is off */
};

/* RES_OK: an approval is required. RES_IGNORE: the policy does not apply to this login
 * (not a listed service, exempt user or address, outside the groups). RES_CONV:
 * require_tty is set and nothing can show the message. reason says which rule decided. */
result policy_decide(const struct config *cfg, const struct policy_facts *f, char *reason, size_t len);

/* An IPv4 or IPv6 network. */
struct cidr {
    int family;                      /* AF_INET or AF_INET6 */
    unsigned char addr[16];
    unsigned prefix;
};

/* Parse "a.b.c.d[/n]" or "ipv6[/n]" (inet_pton only: no names, no DNS). Host bits after
 * the prefix must be zero, so a typo like 10.0.0.1/8 is refused. */
bool cidr_parse(const char *text, struct cidr *out, char *why, size_t whylen);

/* Whether addr, an IP literal, lies in c. IPv4-mapped IPv6 addresses (::ffff:a.b.c.d)
 * also match IPv4 networks. Anything that is not an IP literal never matches. */
bool cidr_match(const struct cidr *c, const char *addr);

/* The names of user's primary and supplementary groups from NSS (getgrouplist), at
 * most 4096. Groups without a name are skipped. Free with user_groups_free. */
result user_groups(const char *user, char ***names, size_t *n);
void user_groups_free(char **names, size_t n);

#endif
