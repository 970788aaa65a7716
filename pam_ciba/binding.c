/* Fits an expanded binding message to a provider's limits: refused characters replaced,
 * the least important facts shortened first, the code never touched. */
#include "binding.h"
#include "command.h"
#include "text.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const binding_preset_names[] = {"auth0", "node-oidc", "keycloak", "custom", NULL};

/* Facts checked against each provider's documentation or source (issue 13). */
static const struct {
    size_t max;
    const char *charset;
} presets[] = {
    [BINDING_PRESET_AUTH0] = {64, "a-zA-Z0-9 +-_.,:#"},
    [BINDING_PRESET_NODE_OIDC] = {20, "a-zA-Z0-9-._+/!?#"},
    [BINDING_PRESET_KEYCLOAK] = {50, "a-zA-Z0-9-._+/!?#"},
    [BINDING_PRESET_CUSTOM] = {64, "a-zA-Z0-9 +-_.,:#"},
};

/* Shortening: every variable first down to SHARE characters (least important first), then
 * each down to MIN, or out entirely when even MIN is too much. */
#define FLOOR_SHARE 8
#define FLOOR_MIN 4
/* What a message with nothing left says. */
#define FALLBACK "Login request"
/* Variables from least to most important; one not listed is shortened before all of them.
 * %K, %T and %k are the SSH key's (issue 13 item 1): the short fingerprint ranks above the
 * command, as what shows a stolen key. */
static const char rank_order[] = "FKtsTHrCkhUu";

static char first_allowed(const struct binding_profile *p, const char *choices)
{
    for (; *choices; choices++)
        if (p->allowed[(unsigned char)*choices])
            return *choices;
    return 0;
}

/* The replacements follow from the set, so the same set always gives the same text. */
static void derive(struct binding_profile *p)
{
    p->space = p->allowed[' '] ? ' ' : first_allowed(p, "-_.");
    p->other = first_allowed(p, "_-.?");
    p->marker = first_allowed(p, "+~.");
}

static int char_class(unsigned char c)
{
    if (c >= 'a' && c <= 'z')
        return 1;
    if (c >= 'A' && c <= 'Z')
        return 2;
    if (c >= '0' && c <= '9')
        return 3;
    return 0;
}

result binding_profile_set_charset(struct binding_profile *p, const char *charset, char *why, size_t whylen)
{
    bool set[128] = {false};

    if (!charset || !*charset) {
        snprintf(why, whylen, "is empty");
        return RES_CONFIG;
    }
    if (strlen(charset) >= sizeof(p->charset)) {
        snprintf(why, whylen, "is longer than %zu characters", sizeof(p->charset) - 1);
        return RES_CONFIG;
    }
    for (size_t i = 0; charset[i]; i++) {
        unsigned char c = (unsigned char)charset[i];
        unsigned char hi = charset[i + 1] ? (unsigned char)charset[i + 2] : 0;
        if (c < 0x20 || c > 0x7e) {
            snprintf(why, whylen, "character %zu is not printable ASCII", i + 1);
            return RES_CONFIG;
        }
        if (charset[i + 1] == '-' && hi && char_class(c) && char_class(hi)) {
            if (char_class(c) != char_class(hi)) {
                snprintf(why, whylen, "range %c-%c mixes letter cases or letters and digits", c, hi);
                return RES_CONFIG;
            }
            if (hi < c) {
                snprintf(why, whylen, "range %c-%c is reversed", c, hi);
                return RES_CONFIG;
            }
            for (unsigned x = c; x <= hi; x++)
                set[x] = true;
            i += 2;
        } else {
            set[c] = true;
        }
    }
    memcpy(p->allowed, set, sizeof(set));
    snprintf(p->charset, sizeof(p->charset), "%s", charset);
    derive(p);
    return RES_OK;
}

void binding_profile_preset(enum binding_preset preset, struct binding_profile *p)
{
    char why[8];

    if ((unsigned)preset > BINDING_PRESET_CUSTOM)
        preset = BINDING_PRESET_AUTH0;
    memset(p, 0, sizeof(*p));
    p->max = presets[preset].max;
    (void)binding_profile_set_charset(p, presets[preset].charset, why, sizeof(why));
}

static bool code_alphabet_allowed(const struct binding_profile *p)
{
    for (const char *a = BINDING_CODE_ALPHABET; *a; a++)
        if (!p->allowed[(unsigned char)*a])
            return false;
    return true;
}

/* One ASCII character per character of s: an allowed one as it is, a blank as a space
 * (replaced at the end, after runs are joined), anything else p->other or nothing; a
 * multi-byte UTF-8 character counts as one. out holds strlen(s) + 1 bytes. */
static size_t map_text(const struct binding_profile *p, const char *s, char *out)
{
    size_t o = 0;

    for (size_t i = 0; s[i]; i++) {
        unsigned char c = (unsigned char)s[i];
        char m;
        if (c >= 0x80) {
            while (((unsigned char)s[i + 1] & 0xC0) == 0x80)
                i++;
            m = p->other;
        } else if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
            m = ' ';
        } else {
            m = p->allowed[c] ? (char)c : p->other;
        }
        if (m)
            out[o++] = m;
    }
    out[o] = '\0';
    return o;
}

/* Join runs of spaces, trim both ends, then give spaces the profile's form. */
static size_t normalise(char *s, char space)
{
    size_t o = 0, w = 0;

    for (size_t i = 0; s[i]; i++) {
        if (s[i] == ' ' && (o == 0 || s[o - 1] == ' '))
            continue;
        s[o++] = s[i];
    }
    while (o > 0 && s[o - 1] == ' ')
        o--;
    for (size_t i = 0; i < o; i++) {
        if (s[i] != ' ')
            s[w++] = s[i];
        else if (space)
            s[w++] = space;
    }
    s[w] = '\0';
    return w;
}

enum piece_kind { PIECE_TEXT, PIECE_CODE, PIECE_VAR };

struct piece {
    enum piece_kind kind;
    char var;     /* PIECE_VAR: the variable's letter */
    char *text;   /* mapped text (PIECE_CODE: the code as it is) */
    size_t len;
    size_t cap;   /* PIECE_VAR: at most this many characters; SIZE_MAX = all */
    size_t shown; /* PIECE_VAR: characters in the last build */
};

struct pieces {
    struct piece *p;
    size_t n, alloc;
};

static void pieces_free(struct pieces *ps)
{
    for (size_t i = 0; i < ps->n; i++)
        free(ps->p[i].text);
    free(ps->p);
}

/* Takes text (malloc'd) whatever happens. */
static result add_piece(struct pieces *ps, enum piece_kind kind, char var, char *text)
{
    if (!text)
        return RES_INTERNAL;
    if (ps->n == ps->alloc) {
        size_t na = ps->alloc ? 2 * ps->alloc : 8;
        struct piece *np = realloc(ps->p, na * sizeof(*np));
        if (!np) {
            free(text);
            return RES_INTERNAL;
        }
        ps->p = np;
        ps->alloc = na;
    }
    ps->p[ps->n++] = (struct piece){kind, var, text, strlen(text), SIZE_MAX, 0};
    return RES_OK;
}

static char *mapped(const struct binding_profile *p, const char *s)
{
    char *out = malloc(strlen(s) + 1);
    if (out)
        map_text(p, s, out);
    return out;
}

static result flush_text(struct pieces *ps, const struct binding_profile *p, char *lit, size_t *litlen)
{
    if (*litlen == 0)
        return RES_OK;
    lit[*litlen] = '\0';
    *litlen = 0;
    return add_piece(ps, PIECE_TEXT, 0, mapped(p, lit));
}

/* Split tmpl into literal text, the code and variables, each already mapped to p. */
static result parse(const char *tmpl, const struct template_vars *v, const struct binding_profile *p,
                    struct pieces *ps)
{
    char *lit = malloc(strlen(tmpl) + 1);
    size_t litlen = 0;
    result r = RES_OK;

    if (!lit)
        return RES_INTERNAL;
    for (const char *q = tmpl; *q && r == RES_OK; q++) {
        const char *val;
        if (*q != '%') {
            lit[litlen++] = *q;
            continue;
        }
        if (q[1] == '%') {
            lit[litlen++] = '%';
            q++;
            continue;
        }
        if (!q[1] || !template_var(q[1], v, &val)) {
            r = RES_CONFIG;
            break;
        }
        q++;
        if ((r = flush_text(ps, p, lit, &litlen)) != RES_OK)
            break;
        if (*q == 'c') {
            /* The code goes out as it is or not at all. */
            for (const char *c = val ? val : ""; *c; c++)
                if ((unsigned char)*c >= 0x80 || !p->allowed[(unsigned char)*c] || *c == ' ')
                    r = RES_CONFIG;
            if (r == RES_OK)
                r = add_piece(ps, PIECE_CODE, 'c', strdup(val ? val : ""));
        } else {
            /* Login facts come from the caller: controls and bad UTF-8 become '?' first,
             * as everywhere else (template_expand). */
            char *fact = strdup(val ? val : "");
            if (!fact) {
                r = RES_INTERNAL;
                break;
            }
            text_sanitise(fact);
            r = add_piece(ps, PIECE_VAR, *q, mapped(p, fact));
            free(fact);
        }
    }
    if (r == RES_OK)
        r = flush_text(ps, p, lit, &litlen);
    free(lit);
    return r;
}

/* Write the pieces with their current caps into buf and normalise; returns the length. */
static size_t build(struct pieces *ps, const struct binding_profile *p, char *buf)
{
    size_t o = 0;

    for (size_t i = 0; i < ps->n; i++) {
        struct piece *pc = &ps->p[i];
        size_t start = o;
        if (pc->kind != PIECE_VAR || pc->cap >= pc->len) {
            memcpy(buf + o, pc->text, pc->len);
            o += pc->len;
        } else if (pc->cap == 0) {
            /* dropped */
        } else if (pc->var == 'C') {
            /* The command keeps its program and counts the words it lost ("+2 more"). */
            char *cut = malloc(pc->cap + 1);
            if (cut) {
                command_cut(pc->text, pc->cap, cut);
                o += map_text(p, cut, buf + o);
                free(cut);
            }
        } else if (p->marker && pc->cap >= 2) {
            memcpy(buf + o, pc->text, pc->cap - 1);
            o += pc->cap - 1;
            buf[o++] = p->marker;
        } else {
            memcpy(buf + o, pc->text, pc->cap);
            o += pc->cap;
        }
        if (pc->kind == PIECE_VAR)
            pc->shown = o - start;
    }
    buf[o] = '\0';
    return normalise(buf, p->space);
}

static size_t rank_of(char var)
{
    const char *q = strchr(rank_order, var);
    return q ? (size_t)(q - rank_order) + 1 : 0;
}

/* Variables in the order they are shortened: least important first, and of one variable
 * the later use first. */
static size_t *shorten_order(const struct pieces *ps, size_t *n)
{
    size_t *ord = malloc((ps->n ? ps->n : 1) * sizeof(*ord)), k = 0;

    if (!ord)
        return NULL;
    for (size_t rank = 0; rank <= sizeof(rank_order); rank++)
        for (size_t i = ps->n; i-- > 0;)
            if (ps->p[i].kind == PIECE_VAR && rank_of(ps->p[i].var) == rank)
                ord[k++] = i;
    *n = k;
    return ord;
}

/* binding_fit; *need: the length that did not fit (RES_CONFIG from too long a template). */
static result fit(const char *tmpl, const struct template_vars *v, const struct binding_profile *p, char *out,
                  size_t *need)
{
    struct binding_profile auth0;
    struct pieces ps = {NULL, 0, 0};
    size_t total = 0, len, nord = 0, *ord = NULL;
    char *buf = NULL;
    result r;

    *need = 0;
    out[0] = '\0';
    if (!p || p->max == 0) {
        binding_profile_preset(BINDING_PRESET_AUTH0, &auth0);
        p = &auth0;
    }
    if (p->max > BINDING_MESSAGE_MAX || !code_alphabet_allowed(p))
        return RES_CONFIG;
    if ((r = parse(tmpl, v, p, &ps)) != RES_OK)
        goto out;
    for (size_t i = 0; i < ps.n; i++)
        total += ps.p[i].len;
    if (!(buf = malloc(total + sizeof(FALLBACK))) || !(ord = shorten_order(&ps, &nord))) {
        r = RES_INTERNAL;
        goto out;
    }
    len = build(&ps, p, buf);
    for (int phase = 0; phase < 2 && len > p->max; phase++) {
        for (size_t k = 0; k < nord && len > p->max; k++) {
            struct piece *pc = &ps.p[ord[k]];
            while (len > p->max && pc->shown > 0) {
                size_t cur = pc->shown, want = cur > len - p->max ? cur - (len - p->max) : 0;
                if (phase == 0) {
                    if (cur <= FLOOR_SHARE)
                        break;
                    if (want < FLOOR_SHARE)
                        want = FLOOR_SHARE;
                } else if (want < FLOOR_MIN) {
                    want = 0;
                }
                pc->cap = want;
                len = build(&ps, p, buf);
            }
        }
    }
    if (len > p->max) {
        /* Only the template's own text and the code are left. */
        *need = len;
        r = RES_CONFIG;
        goto out;
    }
    if (len == 0) {
        if (map_text(p, FALLBACK, buf) > p->max)
            buf[p->max] = '\0';
        len = normalise(buf, p->space);
    }
    memcpy(out, buf, len + 1);
    r = RES_OK;
out:
    free(ord);
    free(buf);
    pieces_free(&ps);
    return r;
}

result binding_fit(const char *tmpl, const struct template_vars *v, const struct binding_profile *p, char *out)
{
    size_t need;
    return fit(tmpl, v, p, out, &need);
}

result binding_profile_check(const struct binding_profile *p, const char *tmpl, char *why, size_t whylen)
{
    char code[BINDING_CODE_LEN + 1], out[BINDING_MESSAGE_MAX + 1];
    struct template_vars none = {0};
    size_t need;
    result r;

    if (!code_alphabet_allowed(p)) {
        snprintf(why, whylen, "the character set must allow every character of the code (%s)",
                 BINDING_CODE_ALPHABET);
        return RES_CONFIG;
    }
    memset(code, BINDING_CODE_ALPHABET[0], BINDING_CODE_LEN);
    code[BINDING_CODE_LEN] = '\0';
    none.code = code;
    r = fit(tmpl, &none, p, out, &need);
    if (r == RES_CONFIG && need)
        snprintf(why, whylen, "its own text and the code take %zu characters even with every variable left out, "
                 "more than the provider's %zu", need, p->max);
    else if (r == RES_CONFIG)
        snprintf(why, whylen, "is not a valid template");
    return r;
}
