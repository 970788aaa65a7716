/* Reads a sudo argument vector by sudo 1.9.13's rules (getopt_long, "+" ordering, NAME=value words). */
#include "sudo_args.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

enum has_arg { NO_ARG, REQ_ARG, OPT_ARG };

/* A value for --host, which has no short letter of its own (sudo's -h is help or host). */
#define OPT_HOST 1

struct long_opt {
    const char *name;
    enum has_arg arg;
    int val;
};

/* sudo 1.9.13's table, in its order: the first 11 are refused when invoked as sudoedit,
 * so abbreviations are unique over a smaller set there. "auth-type" and "login-class" are
 * in the table but sudo built without BSD auth / login classes (Linux) refuses them. */
static const struct long_opt sudo_long[] = {
    {"background", NO_ARG, 'b'},  {"preserve-env", OPT_ARG, 'E'},  {"edit", NO_ARG, 'e'},
    {"set-home", NO_ARG, 'H'},    {"login", NO_ARG, 'i'},          {"remove-timestamp", NO_ARG, 'K'},
    {"list", NO_ARG, 'l'},        {"preserve-groups", NO_ARG, 'P'}, {"shell", NO_ARG, 's'},
    {"other-user", REQ_ARG, 'U'}, {"validate", NO_ARG, 'v'},
    {"askpass", NO_ARG, 'A'},     {"auth-type", REQ_ARG, 'a'},     {"bell", NO_ARG, 'B'},
    {"close-from", REQ_ARG, 'C'}, {"login-class", REQ_ARG, 'c'},   {"chdir", REQ_ARG, 'D'},
    {"group", REQ_ARG, 'g'},      {"help", NO_ARG, 'h'},           {"host", REQ_ARG, OPT_HOST},
    {"reset-timestamp", NO_ARG, 'k'}, {"no-update", NO_ARG, 'N'},  {"non-interactive", NO_ARG, 'n'},
    {"prompt", REQ_ARG, 'p'},     {"chroot", REQ_ARG, 'R'},        {"role", REQ_ARG, 'r'},
    {"stdin", NO_ARG, 'S'},       {"command-timeout", REQ_ARG, 'T'}, {"type", REQ_ARG, 't'},
    {"user", REQ_ARG, 'u'},       {"version", NO_ARG, 'V'},
};
#define SUDO_LONG_N (sizeof(sudo_long) / sizeof(sudo_long[0]))
#define SUDOEDIT_LONG_FIRST 11

static const char sudo_short[] = "Aa:BbC:c:D:Eeg:Hh::iKklNnPp:R:r:SsT:t:U:u:Vv";
static const char sudoedit_short[] = "Aa:BC:c:D:g:h::KkNnp:R:r:ST:t:u:V";

/* Mode flags as sudo keeps them; which ones a mode accepts decides whether sudo refuses. */
enum {
    F_BACKGROUND = 1 << 0, F_PRESERVE_ENV = 1 << 1, F_SET_HOME = 1 << 2, F_LOGIN_SHELL = 1 << 3,
    F_NONINTERACTIVE = 1 << 4, F_PRESERVE_GROUPS = 1 << 5, F_SHELL = 1 << 6, F_LONG_LIST = 1 << 7,
};
#define RUN_FLAGS (F_BACKGROUND | F_PRESERVE_ENV | F_SET_HOME | F_LOGIN_SHELL | F_NONINTERACTIVE | \
                   F_PRESERVE_GROUPS | F_SHELL)

enum raw_mode { M_NONE, M_RUN, M_EDIT, M_LIST, M_CHECK, M_VALIDATE, M_HELP, M_VERSION, M_KILL, M_INVALIDATE };

struct state {
    struct sudo_args *out;
    enum raw_mode mode;
    int flags, valid;
    bool sudoedit, askpass, stdin_pw, ignore_ticket, no_update;
    const char *prompt, *chdir, *chroot, *role, *type, *timeout, *close_from;
};

static bool refuse(struct state *s, const char *why)
{
    if (s->out->certain) {
        s->out->certain = false;
        s->out->why = why;
    }
    return false;
}

/* sudo's test for a NAME=value word between its options and the command. */
static bool is_envar(const char *a)
{
    return a[0] != '/' && a[0] != '=' && strchr(a, '=') != NULL;
}

/* A value that sudo refuses to see twice, or empty where it needs one. */
static bool set_once(struct state *s, const char **slot, const char *v, bool may_be_empty)
{
    if (*slot || (!may_be_empty && *v == '\0'))
        return refuse(s, "an option given twice or with an empty value");
    *slot = v;
    return true;
}

static bool set_mode(struct state *s, enum raw_mode m, int valid)
{
    if (s->mode != M_NONE && s->mode != m)
        return refuse(s, "options for two modes");
    s->mode = m;
    s->valid = valid;
    return true;
}

static bool number_at_least_3(const char *v)
{
    char *end;
    long n;
    if (*v < '0' || *v > '9')
        return false;
    n = strtol(v, &end, 10);
    return *end == '\0' && n >= 3 && n <= INT_MAX;
}

/* One option as sudo's switch handles it; argv and *i for -h's separate host word. */
static bool apply(struct state *s, int c, const char *arg, int argc, char *const *argv, int *i, bool bare_h)
{
    struct sudo_args *o = s->out;

    switch (c) {
    case 'A': s->askpass = true; return true;
    case 'a': case 'c': return refuse(s, "an option this sudo does not support");
    case 'b': s->flags |= F_BACKGROUND; return true;
    case 'B': return true;
    case 'C':
        if (!number_at_least_3(arg))
            return refuse(s, "a bad -C value");
        return set_once(s, &s->close_from, arg, false);
    case 'D': return set_once(s, &s->chdir, arg, false);
    case 'E':
        if (!arg) {
            o->preserve_env = true;
            s->flags |= F_PRESERVE_ENV;
            return true;
        }
        if (strchr(arg, '=') || o->preserve_list)
            return refuse(s, "a --preserve-env list this parser does not follow");
        o->preserve_list = arg;
        return true;
    case 'e':
        /* sudoedit already is in edit mode; -e then is no option of its table. */
        return set_mode(s, M_EDIT, F_NONINTERACTIVE);
    case 'g': return set_once(s, &o->group, arg, false);
    case 'H': s->flags |= F_SET_HOME; return true;
    case 'h':
        if (!arg) {
            /* "-h host" (a separate word) only right after a word that is exactly "-h". */
            if (bare_h && *i + 1 < argc && argv[*i + 1][0] != '-' && !is_envar(argv[*i + 1])) {
                (*i)++;
                return set_once(s, &o->host, argv[*i], false);
            }
            if (s->mode != M_NONE && s->mode != M_HELP && !s->sudoedit)
                return refuse(s, "options for two modes");
            s->mode = M_HELP;
            s->valid = 0;
            return true;
        }
        return set_once(s, &o->host, arg, false);
    case OPT_HOST: return set_once(s, &o->host, arg, false);
    case 'i': s->flags |= F_LOGIN_SHELL; return true;
    case 'K':
        if (!set_mode(s, M_KILL, 0))
            return false;
        /* FALLTHROUGH - -K implies -k */
    case 'k':
        if (s->no_update)
            return refuse(s, "-k/-K with -N");
        s->ignore_ticket = true;
        return true;
    case 'l':
        if (s->mode == M_LIST)
            s->flags |= F_LONG_LIST;
        return set_mode(s, M_LIST, F_NONINTERACTIVE | F_LONG_LIST);
    case 'N':
        if (s->ignore_ticket)
            return refuse(s, "-k/-K with -N");
        s->no_update = true;
        return true;
    case 'n': s->flags |= F_NONINTERACTIVE; return true;
    case 'P': s->flags |= F_PRESERVE_GROUPS; return true;
    case 'p': return set_once(s, &s->prompt, arg, true);
    case 'R': return set_once(s, &s->chroot, arg, false);
    case 'r': return set_once(s, &s->role, arg, false);
    case 't': return set_once(s, &s->type, arg, false);
    case 'T': return set_once(s, &s->timeout, arg, true);
    case 'S': s->stdin_pw = true; return true;
    case 's': s->flags |= F_SHELL; return true;
    case 'U': return set_once(s, &o->other_user, arg, false);
    case 'u': return set_once(s, &o->user, arg, false);
    case 'v': return set_mode(s, M_VALIDATE, F_NONINTERACTIVE);
    case 'V':
        if (s->mode != M_NONE && s->mode != M_VERSION && !s->sudoedit)
            return refuse(s, "options for two modes");
        s->mode = M_VERSION;
        s->valid = 0;
        return true;
    default: return refuse(s, "an unknown option");
    }
}

/* getopt_long's matching: an exact name, else a prefix of exactly one name. */
static const struct long_opt *find_long(const char *name, size_t n, bool sudoedit, bool *ambiguous)
{
    const struct long_opt *found = NULL;
    size_t first = sudoedit ? SUDOEDIT_LONG_FIRST : 0;

    *ambiguous = false;
    for (size_t k = first; k < SUDO_LONG_N; k++)
        if (strlen(sudo_long[k].name) == n && strncmp(sudo_long[k].name, name, n) == 0)
            return &sudo_long[k];
    for (size_t k = first; k < SUDO_LONG_N; k++) {
        if (strncmp(sudo_long[k].name, name, n) != 0)
            continue;
        if (found) {
            /* Every entry of sudo's table has its own value: two prefixes = ambiguous. */
            *ambiguous = true;
            return NULL;
        }
        found = &sudo_long[k];
    }
    return found;
}

static bool long_option(struct state *s, int argc, char *const *argv, int *i)
{
    const char *a = argv[*i] + 2, *eq = strchr(a, '=');
    size_t n = eq ? (size_t)(eq - a) : strlen(a);
    bool ambiguous;
    const struct long_opt *lo = find_long(a, n, s->sudoedit, &ambiguous);
    const char *arg = NULL;

    if (ambiguous)
        return refuse(s, "an ambiguous option abbreviation");
    if (!lo)
        return refuse(s, "an unknown option");
    if (lo->arg == NO_ARG && eq)
        return refuse(s, "an argument to an option that takes none");
    if (eq) {
        arg = eq + 1;
    } else if (lo->arg == REQ_ARG) {
        if (*i + 1 >= argc)
            return refuse(s, "an option without its argument");
        arg = argv[++*i];
    }
    return apply(s, lo->val, arg, argc, argv, i, false);
}

static bool short_options(struct state *s, int argc, char *const *argv, int *i)
{
    const char *word = argv[*i];
    const char *opts = s->sudoedit ? sudoedit_short : sudo_short;

    for (const char *p = word + 1; *p; p++) {
        const char *spec = *p == ':' ? NULL : strchr(opts, *p);
        int c = (unsigned char)*p;
        if (!spec)
            return refuse(s, "an unknown option");
        if (spec[1] == ':' && spec[2] == ':') /* optional: only attached */
            return apply(s, c, p[1] ? p + 1 : NULL, argc, argv, i, p[1] == '\0' && p == word + 1);
        if (spec[1] == ':') {
            if (p[1])
                return apply(s, c, p + 1, argc, argv, i, false);
            if (*i + 1 >= argc)
                return refuse(s, "an option without its argument");
            ++*i;
            return apply(s, c, argv[*i], argc, argv, i, false);
        }
        if (!apply(s, c, NULL, argc, argv, i, false))
            return false;
    }
    return true;
}

/* sudo's checks after the options: the combinations it refuses with a usage message. */
static void finish(struct state *s, int argc)
{
    struct sudo_args *o = s->out;
    bool has_cmd = o->cmd < argc;

    if (s->mode == M_NONE) {
        if (s->ignore_ticket && !has_cmd && !(s->flags & (F_SHELL | F_LOGIN_SHELL))) {
            s->mode = M_INVALIDATE;
            s->valid = 0;
        } else {
            s->mode = M_RUN;
            s->valid = RUN_FLAGS;
        }
    }
    if (has_cmd && s->mode == M_LIST)
        s->mode = M_CHECK;
    if (s->flags & F_LOGIN_SHELL) {
        if (s->flags & F_SHELL)
            refuse(s, "both -i and -s");
        if (s->flags & F_PRESERVE_ENV)
            refuse(s, "both -i and -E");
    }
    /* -i implies -s for this check, as in sudo. */
    if ((s->flags | (s->flags & F_LOGIN_SHELL ? F_SHELL : 0)) & ~s->valid)
        refuse(s, "an option that does not go with the mode");
    if (s->mode == M_EDIT && (s->flags & F_PRESERVE_ENV || o->n_env || o->preserve_list))
        refuse(s, "environment settings in edit mode");
    if ((o->user || o->group) && s->mode != M_EDIT && s->mode != M_RUN && s->mode != M_CHECK &&
        s->mode != M_VALIDATE)
        refuse(s, "-u/-g in a mode that runs nothing");
    if (o->other_user && s->mode != M_LIST && s->mode != M_CHECK)
        refuse(s, "-U without -l");
    if (s->askpass && s->stdin_pw)
        refuse(s, "both -A and -S");
    if ((!has_cmd && s->mode == M_EDIT) ||
        (has_cmd && s->mode != M_RUN && s->mode != M_EDIT && s->mode != M_CHECK))
        refuse(s, "a command where sudo takes none, or none where it needs one");
    /* The sudoers policy honours a remote host only when listing. */
    if (o->host && s->mode != M_LIST && s->mode != M_CHECK && s->mode != M_HELP)
        refuse(s, "-h host outside list mode");

    switch (s->mode) {
    case M_RUN:
        o->mode = s->flags & F_LOGIN_SHELL ? SUDO_LOGIN_SHELL : s->flags & F_SHELL ? SUDO_SHELL : SUDO_RUN;
        if (o->mode == SUDO_RUN && !has_cmd)
            o->mode = SUDO_SHELL; /* sudo with no command: an implied -s */
        break;
    case M_EDIT: o->mode = SUDO_EDIT; break;
    case M_LIST: case M_CHECK: o->mode = SUDO_LIST; break;
    case M_VALIDATE: o->mode = SUDO_VALIDATE; break;
    default: o->mode = SUDO_OTHER; break;
    }
}

void sudo_args_parse(int argc, char *const *argv, bool as_sudoedit, struct sudo_args *out)
{
    struct state s;
    int i = 1;

    memset(out, 0, sizeof(*out));
    memset(&s, 0, sizeof(s));
    out->certain = true;
    out->cmd = argc;
    s.out = out;
    s.sudoedit = as_sudoedit;
    if (as_sudoedit) {
        s.mode = M_EDIT;
        s.valid = F_NONINTERACTIVE;
    }
    if (argc < 1) {
        refuse(&s, "no argument vector");
        return;
    }
    while (i < argc) {
        const char *a = argv[i];
        bool ok;
        if (strcmp(a, "--") == 0) {
            i++; /* the command starts here, even if it looks like NAME=value */
            break;
        }
        if (a[0] != '-' || a[1] == '\0') {
            if (!is_envar(a))
                break;
            if (out->n_env == SUDO_ENV_MAX) {
                refuse(&s, "too many environment assignments");
                return;
            }
            out->env[out->n_env++] = a;
            i++;
            continue;
        }
        ok = a[1] == '-' ? long_option(&s, argc, argv, &i) : short_options(&s, argc, argv, &i);
        if (!ok)
            return;
        i++;
    }
    out->cmd = i;
    finish(&s, argc);
}
