/* The approval policy: which logins need an approval, decided from gathered facts only. */
#include "policy.h"

#include <arpa/inet.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_GROUPS 4096

static bool in_list(char *const *l, const char *s)
{
    for (size_t i = 0; s && l && l[i]; i++)
        if (strcmp(l[i], s) == 0)
            return true;
    return false;
}

static bool member_of(const struct policy_facts *f, const char *group)
{
    for (size_t i = 0; i < f->n_groups; i++)
        if (f->groups[i] && strcmp(f->groups[i], group) == 0)
            return true;
    return false;
}

/* Like Duo's groups: a "!group" match exempts; otherwise, when positive groups are
 * listed, the user must be in one of them. Returns the deciding group or NULL. */
static bool groups_require(char *const *groups, const struct policy_facts *f, const char **why)
{
    bool any_positive = false;

    for (size_t i = 0; groups[i]; i++) {
        const char *g = groups[i];
        if (g[0] == '!' && member_of(f, g + 1)) {
            *why = g;
            return false;
        }
    }
    for (size_t i = 0; groups[i]; i++) {
        const char *g = groups[i];
        if (g[0] == '!')
            continue;
        any_positive = true;
        if (member_of(f, g)) {
            *why = g;
            return true;
        }
    }
    *why = NULL;
    return !any_positive;
}

result policy_decide(const struct config *cfg, const struct policy_facts *f, char *reason, size_t len)
{
    const char *g = NULL;

    if (cfg->services && !in_list(cfg->services, f->service)) {
        snprintf(reason, len, "service not listed in services");
        return RES_IGNORE;
    }
    if (in_list(cfg->exempt_users, f->user)) {
        snprintf(reason, len, "user listed in exempt_users");
        return RES_IGNORE;
    }
    if (cfg->groups && !groups_require(cfg->groups, f, &g)) {
        if (g)
            snprintf(reason, len, "user is in excluded group %.64s", g + 1);
        else
            snprintf(reason, len, "user is in none of the groups");
        return RES_IGNORE;
    }
    for (size_t i = 0; cfg->exempt_rhosts && cfg->exempt_rhosts[i]; i++) {
        struct cidr c;
        char why[128];
        if (f->rhost && cidr_parse(cfg->exempt_rhosts[i], &c, why, sizeof(why)) && cidr_match(&c, f->rhost)) {
            snprintf(reason, len, "remote host in exempt_rhosts %.64s", cfg->exempt_rhosts[i]);
            return RES_IGNORE;
        }
    }
    if (cfg->require_tty) {
        if (!f->tty || !*f->tty) {
            snprintf(reason, len, "require_tty: no terminal (PAM_TTY is not set) to show the approval message");
            return RES_CONV;
        }
        if (!f->can_converse) {
            snprintf(reason, len, "require_tty: the application has no conversation (or asked for silence) "
                     "to show the approval message");
            return RES_CONV;
        }
    }
    snprintf(reason, len, "approval required");
    return RES_OK;
}

bool cidr_parse(const char *text, struct cidr *out, char *why, size_t whylen)
{
    char addr[INET6_ADDRSTRLEN + 1];
    const char *slash = strchr(text, '/');
    size_t alen = slash ? (size_t)(slash - text) : strlen(text);
    unsigned maxbits;

    memset(out, 0, sizeof(*out));
    if (alen == 0 || alen >= sizeof(addr)) {
        snprintf(why, whylen, "\"%.64s\" is not an address or CIDR", text);
        return false;
    }
    memcpy(addr, text, alen);
    addr[alen] = '\0';
    if (inet_pton(AF_INET, addr, out->addr) == 1) {
        out->family = AF_INET;
        maxbits = 32;
    } else if (inet_pton(AF_INET6, addr, out->addr) == 1) {
        out->family = AF_INET6;
        maxbits = 128;
    } else {
        snprintf(why, whylen, "\"%.64s\" is not an IPv4 or IPv6 address (host names are not allowed)", text);
        return false;
    }
    out->prefix = maxbits;
    if (slash) {
        const char *p = slash + 1;
        unsigned v = 0;
        if (!*p || strlen(p) > 3) {
            snprintf(why, whylen, "\"%.64s\": bad prefix length", text);
            return false;
        }
        for (; *p; p++) {
            if (*p < '0' || *p > '9') {
                snprintf(why, whylen, "\"%.64s\": bad prefix length", text);
                return false;
            }
            v = v * 10 + (unsigned)(*p - '0');
        }
        if (v > maxbits) {
            snprintf(why, whylen, "\"%.64s\": prefix longer than %u", text, maxbits);
            return false;
        }
        out->prefix = v;
    }
    for (unsigned bit = out->prefix; bit < maxbits; bit++) {
        if (out->addr[bit / 8] & (0x80 >> (bit % 8))) {
            snprintf(why, whylen, "\"%.64s\": address has bits set after the prefix", text);
            return false;
        }
    }
    return true;
}

static bool prefix_equal(const unsigned char *a, const unsigned char *b, unsigned bits)
{
    unsigned full = bits / 8, rest = bits % 8;
    if (memcmp(a, b, full) != 0)
        return false;
    if (rest == 0)
        return true;
    unsigned char mask = (unsigned char)(0xff << (8 - rest));
    return (a[full] & mask) == (b[full] & mask);
}

bool cidr_match(const struct cidr *c, const char *addr)
{
    unsigned char a[16];
    static const unsigned char v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

    if (!addr || !*addr)
        return false;
    if (inet_pton(AF_INET, addr, a) == 1)
        return c->family == AF_INET && prefix_equal(a, c->addr, c->prefix);
    if (inet_pton(AF_INET6, addr, a) != 1)
        return false;
    if (c->family == AF_INET6)
        return prefix_equal(a, c->addr, c->prefix);
    return memcmp(a, v4mapped, sizeof(v4mapped)) == 0 && prefix_equal(a + 12, c->addr, c->prefix);
}

void user_groups_free(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

result user_groups(const char *user, char ***names_out, size_t *n_out)
{
    struct passwd pw, *pwp = NULL;
    char pwbuf[4096];
    gid_t *gids = NULL;
    int ng = 64;
    char **names = NULL;
    size_t n = 0, buflen = 4096;
    char *buf = NULL;
    result r = RES_INTERNAL;

    *names_out = NULL;
    *n_out = 0;
    if (getpwnam_r(user, &pw, pwbuf, sizeof(pwbuf), &pwp) != 0 || !pwp)
        return RES_USER_UNKNOWN;
    for (;;) {
        int want = ng;
        gid_t *ng_gids = realloc(gids, (size_t)ng * sizeof(*gids));
        if (!ng_gids)
            goto out;
        gids = ng_gids;
        if (getgrouplist(user, pw.pw_gid, gids, &ng) >= 0)
            break;
        if (ng <= want)
            ng = want * 2;
        if (ng > MAX_GROUPS)
            goto out;
    }
    names = calloc((size_t)ng, sizeof(*names));
    buf = malloc(buflen);
    if (!names || !buf)
        goto out;
    for (int i = 0; i < ng; i++) {
        struct group gr, *grp = NULL;
        int e;
        while ((e = getgrgid_r(gids[i], &gr, buf, buflen, &grp)) == ERANGE && buflen < (1u << 20)) {
            char *nb = realloc(buf, buflen * 2);
            if (!nb)
                goto out;
            buf = nb;
            buflen *= 2;
        }
        if (e != 0 || !grp || !grp->gr_name)
            continue;
        if (!(names[n] = strdup(grp->gr_name)))
            goto out;
        n++;
    }
    *names_out = names;
    *n_out = n;
    names = NULL;
    r = RES_OK;
out:
    if (names)
        user_groups_free(names, n);
    free(buf);
    free(gids);
    return r;
}
