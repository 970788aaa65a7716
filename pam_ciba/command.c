/* Turns a process's executable and argv into the descriptions %C, %F and the target %U. */
#include "command.h"
#include "sudo_args.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

/* ARG_MAX is larger, but no command anyone approves on a phone is: past this, "unknown". */
#define CMDLINE_READ_MAX 65536

enum word_kind { W_LABEL, W_ARG, W_ENV };

struct word {
    enum word_kind kind;
    const char *s;
};

static bool is_blank(unsigned char c)
{
    return c == ' ' || (c >= '\t' && c <= '\r');
}

/* %C form: one word stays one word; nothing but printable ASCII. */
static char *render_short(const struct word *w)
{
    size_t n = strlen(w->s), o = 0;
    char *r = malloc(n + 8);

    if (!r)
        return NULL;
    if (w->kind == W_ENV)
        o += (size_t)sprintf(r, "+env:");
    if (n == 0 && w->kind != W_LABEL) {
        memcpy(r + o, "''", 3);
        return r;
    }
    for (const unsigned char *p = (const unsigned char *)w->s; *p; p++)
        r[o++] = is_blank(*p) ? '_' : (*p < 0x21 || *p > 0x7e) ? '?' : (char)*p;
    r[o] = '\0';
    return r;
}

static bool full_safe(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c && strchr("_@%+=:,./-", c));
}

/* %F form: shell quoting a reader can undo exactly. */
static char *render_full(const struct word *w)
{
    const unsigned char *s = (const unsigned char *)w->s;
    size_t n = strlen(w->s), o = 0;
    bool safe = n > 0, printable = true;
    char *r = malloc(4 * n + 16);

    if (!r)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        safe = safe && full_safe(s[i]);
        printable = printable && s[i] >= 0x20 && s[i] < 0x7f;
    }
    if (w->kind == W_ENV)
        o += (size_t)sprintf(r, "+env:");
    if (w->kind == W_LABEL || safe) {
        memcpy(r + o, w->s, n + 1);
        return r;
    }
    if (printable) {
        r[o++] = '\'';
        for (size_t i = 0; i < n; i++) {
            if (s[i] == '\'') {
                memcpy(r + o, "'\\''", 4);
                o += 4;
            } else {
                r[o++] = (char)s[i];
            }
        }
        r[o++] = '\'';
    } else {
        r[o++] = '$';
        r[o++] = '\'';
        for (size_t i = 0; i < n; i++) {
            if (s[i] == '\n')
                o += (size_t)sprintf(r + o, "\\n");
            else if (s[i] == '\t')
                o += (size_t)sprintf(r + o, "\\t");
            else if (s[i] == '\'' || s[i] == '\\')
                o += (size_t)sprintf(r + o, "\\%c", s[i]);
            else if (s[i] < 0x20 || s[i] >= 0x7f)
                o += (size_t)sprintf(r + o, "\\x%02x", s[i]);
            else
                r[o++] = (char)s[i];
        }
        r[o++] = '\'';
    }
    r[o] = '\0';
    return r;
}

static size_t marker_len(size_t dropped)
{
    char m[48];
    return dropped ? (size_t)snprintf(m, sizeof(m), " +%zu more", dropped) : 0;
}

/* Write the first words that fit in cap bytes, the rest counted in a marker (extra: words
 * dropped before). Word 0 is never dropped; cut with "..." when it alone does not fit. */
static size_t fit(char *const *w, size_t n, size_t extra, size_t cap, char *out)
{
    size_t k, len = 0, o = 0, dropped;

    out[0] = '\0';
    if (n == 0)
        return 0;
    for (k = 0; k < n; k++)
        len += strlen(w[k]) + (k ? 1 : 0);
    for (k = n; k >= 1; k--) {
        if (len + marker_len(n - k + extra) <= cap)
            break;
        len -= strlen(w[k - 1]) + (k > 1 ? 1 : 0);
    }
    if (k == 0) {
        size_t l0 = strlen(w[0]), ml, room;
        dropped = n - 1 + extra;
        ml = marker_len(dropped);
        if (dropped && l0 + 4 <= cap) {
            /* The program fits but the count does not: "..." alone says words are missing. */
            return (size_t)sprintf(out, "%s ...", w[0]);
        }
        if (cap < ml + 4)
            ml = dropped = 0;
        if (cap < 4) {
            memcpy(out, "...", cap);
            out[cap] = '\0';
            return cap;
        }
        room = cap - 3 - ml < l0 ? cap - 3 - ml : l0;
        memcpy(out, w[0], room);
        memcpy(out + room, "...", 4);
        o = room + 3;
        if (dropped)
            o += (size_t)sprintf(out + o, " +%zu more", dropped);
        return o;
    }
    for (size_t i = 0; i < k; i++)
        o += (size_t)sprintf(out + o, "%s%s", i ? " " : "", w[i]);
    dropped = n - k + extra;
    if (dropped)
        o += (size_t)sprintf(out + o, " +%zu more", dropped);
    return o;
}

/* Render the words in one form and fit them into cap bytes; false only when out of memory. */
static bool render(const struct word *words, size_t n, bool full, size_t cap, char *out)
{
    char **r = calloc(n ? n : 1, sizeof(char *));
    bool ok = r != NULL;

    for (size_t i = 0; ok && i < n; i++)
        ok = (r[i] = full ? render_full(&words[i]) : render_short(&words[i])) != NULL;
    if (ok)
        fit(r, n, 0, cap, out);
    for (size_t i = 0; r && i < n; i++)
        free(r[i]);
    free(r);
    return ok;
}

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

static void uncertain(struct command_info *out)
{
    out->certain = false;
    out->mode = -1;
    out->program[0] = out->args[0] = '\0';
    out->args_known = out->has_command = false;
    snprintf(out->text, sizeof(out->text), "%s", out->is_sudo ? COMMAND_UNKNOWN_SUDO : COMMAND_UNKNOWN);
    snprintf(out->full, sizeof(out->full), "%s", out->text);
    snprintf(out->target, sizeof(out->target), "%s", out->is_sudo ? "unknown" : "");
}

static void target_of(const struct sudo_args *a, const char *caller, struct command_info *out)
{
    struct word u = {W_ARG, a->user ? a->user : a->group ? (caller ? caller : "") : "root"};
    struct word g = {W_ARG, a->group ? a->group : ""};
    char *us, *gs = NULL;

    if (a->mode == SUDO_LIST && a->other_user)
        u.s = a->other_user;
    us = render_short(&u);
    if (a->group && a->mode != SUDO_LIST)
        gs = render_short(&g);
    if (us && (gs || !a->group || a->mode == SUDO_LIST)) {
        size_t n = (size_t)snprintf(out->target, sizeof(out->target), "%s%s%s", us, gs ? ":" : "", gs ? gs : "");
        if (n >= sizeof(out->target))
            memcpy(out->target + sizeof(out->target) - 4, "...", 4);
    } else {
        snprintf(out->target, sizeof(out->target), "unknown");
    }
    free(us);
    free(gs);
}

/* The raw program and arguments command_rules match on (command_policy.h). */
static void rule_facts(const struct sudo_args *a, int argc, char **args, struct command_info *out)
{
    static const char *const labels[] = {NULL, "shell", "login-shell", "sudoedit", "list", "validate", "sudo"};
    int i = a->cmd;
    size_t o = 0;
    int n;

    out->mode = (int)a->mode;
    out->has_command = a->cmd < argc;
    if (a->mode == SUDO_RUN && i < argc)
        n = snprintf(out->program, sizeof(out->program), "%s", args[i++]);
    else
        n = snprintf(out->program, sizeof(out->program), "%s", labels[a->mode] ? labels[a->mode] : "sudo");
    out->args_known = n >= 0 && (size_t)n < sizeof(out->program);
    if (!out->args_known)
        out->program[0] = '\0'; /* empty: command_rules treat the command as not known */
    for (; out->args_known && i < argc; i++) {
        n = snprintf(out->args + o, sizeof(out->args) - o, "%s%s", o ? " " : "", args[i]);
        if (n < 0 || (size_t)n >= sizeof(out->args) - o)
            out->args_known = false;
        else
            o += (size_t)n;
    }
    if (!out->args_known)
        out->args[0] = '\0';
}

static bool describe_sudo(int argc, char **args, const char *shell, const char *caller, struct command_info *out)
{
    struct sudo_args a;
    struct word *w = calloc((size_t)argc + SUDO_ENV_MAX + 4, sizeof(struct word));
    size_t n = 0;
    int i;
    bool ok;

    if (!w)
        return false;
    sudo_args_parse(argc, args, strcmp(base_name(args[0]), "sudoedit") == 0, &a);
    if (!a.certain) {
        free(w);
        return false;
    }
    i = a.cmd;
    switch (a.mode) {
    case SUDO_RUN: w[n++] = (struct word){W_ARG, args[i++]}; break;
    case SUDO_SHELL:
        w[n++] = shell && *shell ? (struct word){W_ARG, shell} : (struct word){W_LABEL, "shell"};
        break;
    case SUDO_LOGIN_SHELL: w[n++] = (struct word){W_LABEL, "login-shell"}; break;
    case SUDO_EDIT: w[n++] = (struct word){W_LABEL, "sudoedit"}; break;
    case SUDO_LIST: w[n++] = (struct word){W_LABEL, "list"}; break;
    case SUDO_VALIDATE: w[n++] = (struct word){W_LABEL, "validate"}; break;
    case SUDO_OTHER: w[n++] = (struct word){W_LABEL, "sudo"}; break;
    }
    for (int e = 0; e < a.n_env; e++)
        w[n++] = (struct word){W_ENV, a.env[e]};
    if (a.preserve_env)
        w[n++] = (struct word){W_LABEL, "+env:all"};
    if (a.preserve_list)
        w[n++] = (struct word){W_ENV, a.preserve_list};
    if ((a.mode == SUDO_SHELL || a.mode == SUDO_LOGIN_SHELL) && i < argc)
        w[n++] = (struct word){W_LABEL, "-c"};
    for (; i < argc; i++)
        w[n++] = (struct word){W_ARG, args[i]};
    ok = render(w, n, false, COMMAND_MAX, out->text) && render(w, n, true, COMMAND_FULL_MAX, out->full);
    free(w);
    if (ok) {
        target_of(&a, caller, out);
        rule_facts(&a, argc, args, out);
    }
    return ok;
}

static bool describe_other(const char *exe, int argc, char **args, struct command_info *out)
{
    struct word *w = calloc((size_t)argc + 1, sizeof(struct word));
    size_t n = 0;
    bool ok;

    if (!w)
        return false;
    w[n++] = (struct word){W_ARG, base_name(exe)};
    for (int i = 1; i < argc; i++)
        w[n++] = (struct word){W_ARG, args[i]};
    ok = render(w, n, false, COMMAND_MAX, out->text);
    /* The full form names the executable by its whole path. */
    w[0].s = exe;
    ok = ok && render(w, n, true, COMMAND_FULL_MAX, out->full);
    free(w);
    return ok;
}

void command_describe(const char *exe, const char *argv, size_t len, bool truncated, const char *shell,
                      const char *caller, struct command_info *out)
{
    char *buf = NULL, **args = NULL, exe_name[4096];
    int argc = 0;
    bool ok = false;

    memset(out, 0, sizeof(*out));
    out->mode = -1;
    if (exe) {
        /* A binary replaced while it runs reads "PATH (deleted)"; it is still that binary. */
        size_t el = strlen(exe);
        snprintf(exe_name, sizeof(exe_name), "%s", exe);
        if (el > 10 && el < sizeof(exe_name) && strcmp(exe + el - 10, " (deleted)") == 0)
            exe_name[el - 10] = '\0';
        out->is_sudo = strcmp(base_name(exe_name), "sudo") == 0;
    }
    if (!exe || !*exe || truncated || (!argv && len))
        goto out;
    buf = malloc(len + 1);
    args = calloc(len + 1, sizeof(char *));
    if (!buf || !args)
        goto out;
    if (len)
        memcpy(buf, argv, len);
    buf[len] = '\0';
    for (size_t i = 0; i < len; i += strlen(buf + i) + 1)
        args[argc++] = buf + i;
    if (out->is_sudo)
        ok = argc > 0 && describe_sudo(argc, args, shell, caller, out);
    else
        ok = describe_other(exe_name, argc, args, out);
    out->certain = ok;
out:
    if (!ok)
        uncertain(out);
    free(buf);
    free(args);
}

size_t command_cut(const char *desc, size_t cap, char *out)
{
    char *copy = strdup(desc), **w = NULL;
    size_t n = 0, extra = 0, len;

    if (cap == 0) {
        out[0] = '\0';
        free(copy);
        return 0;
    }
    if (!copy || strlen(desc) <= cap || strcmp(desc, COMMAND_UNKNOWN_SUDO) == 0 ||
        strcmp(desc, COMMAND_UNKNOWN) == 0) {
        /* The "unknown" sentences are never cut into words: the binding message cuts them. */
        len = strlen(desc) < cap ? strlen(desc) : cap;
        memcpy(out, desc, len);
        out[len] = '\0';
        free(copy);
        return len;
    }
    w = calloc(strlen(desc) / 2 + 2, sizeof(char *));
    if (!w) {
        free(copy);
        out[0] = '\0';
        return 0;
    }
    for (char *save = NULL, *t = strtok_r(copy, " ", &save); t; t = strtok_r(NULL, " ", &save))
        w[n++] = t;
    /* A marker from an earlier cut: " +N more" at the end. */
    if (n >= 3 && strcmp(w[n - 1], "more") == 0 && w[n - 2][0] == '+' && w[n - 2][1] &&
        strspn(w[n - 2] + 1, "0123456789") == strlen(w[n - 2] + 1) && strlen(w[n - 2]) < 12) {
        extra = strtoul(w[n - 2] + 1, NULL, 10);
        n -= 2;
    }
    len = fit(w, n, extra, cap, out);
    free(w);
    free(copy);
    return len;
}

static bool read_cmdline(char **buf, size_t *len, bool *truncated)
{
    int fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC | O_NOCTTY);
    char *b = malloc(CMDLINE_READ_MAX + 1);
    size_t l = 0;

    *truncated = false;
    if (fd < 0 || !b) {
        if (fd >= 0)
            close(fd);
        free(b);
        return false;
    }
    /* One byte more than we use tells a command line that does not fit. */
    while (l < CMDLINE_READ_MAX + 1) {
        ssize_t n = read(fd, b + l, CMDLINE_READ_MAX + 1 - l);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        l += (size_t)n;
    }
    close(fd);
    if (l > CMDLINE_READ_MAX) {
        *truncated = true;
        l = CMDLINE_READ_MAX;
    }
    *buf = b;
    *len = l;
    return true;
}

void command_of_self(struct command_info *out)
{
    char exe[4096], pwbuf[1024], caller[64];
    struct passwd pw, *res = NULL;
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    char *cmd = NULL;
    size_t len = 0;
    bool truncated = false;

    if (n > 0)
        exe[n] = '\0';
    if (getpwuid_r(getuid(), &pw, pwbuf, sizeof(pwbuf), &res) == 0 && res)
        snprintf(caller, sizeof(caller), "%s", res->pw_name);
    else
        snprintf(caller, sizeof(caller), "#%lu", (unsigned long)getuid()); /* sudo's own #uid form */
    if (!read_cmdline(&cmd, &len, &truncated)) {
        command_describe(NULL, NULL, 0, false, NULL, caller, out);
        return;
    }
    command_describe(n > 0 && (size_t)n < sizeof(exe) - 1 ? exe : NULL, cmd, len, truncated, getenv("SHELL"),
                     caller, out);
    free(cmd);
}
