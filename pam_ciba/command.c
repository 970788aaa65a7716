/* Turns a process's argv into a short description of the command being authorised (%C). */
#include "command.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define CMDLINE_READ_MAX 8192
#define MAX_ARGS 256

/* sudo 1.9's options that take an argument: short letters, and long names without "=". */
static const char sudo_short_with_arg[] = "aCcDgpRrTtUu";
static const char *const sudo_long_with_arg[] = {
    "auth-type", "close-from", "login-class", "chdir", "group", "host", "prompt", "chroot",
    "role", "type", "command-timeout", "other-user", "user", NULL,
};

static bool long_takes_arg(const char *name, size_t n)
{
    for (int i = 0; sudo_long_with_arg[i]; i++)
        if (strlen(sudo_long_with_arg[i]) == n && strncmp(sudo_long_with_arg[i], name, n) == 0)
            return true;
    return false;
}

struct sudo_mode {
    bool edit, shell, list, validate;
};

/* Index of the first argument of the command after sudo's options (argc if none). */
static int skip_sudo_options(int argc, char **args, struct sudo_mode *m)
{
    int i = 1;

    while (i < argc) {
        const char *a = args[i];
        if (strcmp(a, "--") == 0)
            return i + 1;
        if (a[0] != '-' || a[1] == '\0')
            return i; /* sudo stops at the first non-option (its getopt string starts with +) */
        if (a[1] == '-') {
            size_t n = strcspn(a + 2, "=");
            if (n == 5 && strncmp(a + 2, "login", 5) == 0)
                m->shell = true;
            else if (n == 5 && strncmp(a + 2, "shell", 5) == 0)
                m->shell = true;
            else if (n == 4 && strncmp(a + 2, "edit", 4) == 0)
                m->edit = true;
            else if (n == 4 && strncmp(a + 2, "list", 4) == 0)
                m->list = true;
            else if (n == 8 && strncmp(a + 2, "validate", 8) == 0)
                m->validate = true;
            i += (a[2 + n] != '=' && long_takes_arg(a + 2, n)) ? 2 : 1;
            continue;
        }
        for (const char *p = a + 1; *p; p++) {
            if (*p == 'e')
                m->edit = true;
            else if (*p == 'i' || *p == 's')
                m->shell = true;
            else if (*p == 'l')
                m->list = true;
            else if (*p == 'v')
                m->validate = true;
            if (*p == 'h')
                break; /* -h takes an optional argument, attached */
            if (strchr(sudo_short_with_arg, *p)) {
                if (p[1] == '\0')
                    i++; /* the argument is the next word */
                break;
            }
        }
        i++;
    }
    return argc;
}

static void append(char *out, size_t outlen, size_t *len, const char *s)
{
    for (; *s && *len + 1 < outlen; s++) {
        unsigned char c = (unsigned char)*s;
        out[(*len)++] = (c < 0x20 || c == 0x7f) ? ' ' : (char)c;
    }
    out[*len] = '\0';
}

static void append_words(char *out, size_t outlen, size_t *len, int from, int argc, char **args)
{
    for (int i = from; i < argc; i++) {
        if (*len > 0)
            append(out, outlen, len, " ");
        append(out, outlen, len, args[i]);
    }
}

const char *command_describe(const char *argv, size_t len, char *out, size_t outlen)
{
    char buf[CMDLINE_READ_MAX + 1];
    char *args[MAX_ARGS];
    int argc = 0;
    size_t olen = 0;
    const char *prog;

    if (outlen == 0)
        return out;
    if (outlen > COMMAND_MAX + 1)
        outlen = COMMAND_MAX + 1;
    out[0] = '\0';
    if (!argv || len == 0)
        return out;
    if (len > CMDLINE_READ_MAX)
        len = CMDLINE_READ_MAX;
    memcpy(buf, argv, len);
    buf[len] = '\0';
    for (size_t i = 0; i < len && argc < MAX_ARGS; i += strlen(buf + i) + 1)
        args[argc++] = buf + i;
    prog = strrchr(args[0], '/') ? strrchr(args[0], '/') + 1 : args[0];
    if (strcmp(prog, "sudo") == 0 || strcmp(prog, "sudoedit") == 0) {
        struct sudo_mode m = {strcmp(prog, "sudoedit") == 0, false, false, false};
        int first = skip_sudo_options(argc, args, &m);
        if (m.edit) {
            append(out, outlen, &olen, "edit");
            append_words(out, outlen, &olen, first, argc, args);
        } else if (first < argc) {
            append_words(out, outlen, &olen, first, argc, args);
        } else {
            append(out, outlen, &olen, m.shell ? "shell" : m.list ? "list" : m.validate ? "validate" : "sudo");
        }
    } else {
        append(out, outlen, &olen, prog);
        append_words(out, outlen, &olen, 1, argc, args);
    }
    return out;
}

const char *command_of_self(char *out, size_t outlen)
{
    char buf[CMDLINE_READ_MAX];
    size_t len = 0;
    int fd;

    if (outlen > 0)
        out[0] = '\0';
    fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return out;
    while (len < sizeof(buf)) {
        ssize_t n = read(fd, buf + len, sizeof(buf) - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    close(fd);
    return command_describe(buf, len, out, outlen);
}
