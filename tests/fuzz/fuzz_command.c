/* libFuzzer target: command_describe (sudo's argument rules) and command_cut. Input: one
 * selector byte (executable, truncation, $SHELL), then a NUL-separated argv. Oracles: every
 * output is NUL-terminated within its size and printable ASCII; a certain description
 * starts with the program sudo would run (or the mode's label); an uncertain one shows
 * nothing but "unknown ..."; a cut keeps the program first and fits. */
#include "fuzz_common.h"
#include "command.h"
#include "sudo_args.h"
#include "template.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void printable(const char *s, size_t cap)
{
    size_t n = strnlen(s, cap + 1);
    FUZZ_ASSERT(n <= cap);
    for (size_t i = 0; i < n; i++)
        FUZZ_ASSERT((unsigned char)s[i] >= 0x20 && (unsigned char)s[i] < 0x7f);
}

/* The %C form of one argument, as command.h promises it. */
static void short_word(const char *a, char *out, size_t cap)
{
    size_t o = 0;
    if (!*a) {
        snprintf(out, cap, "''");
        return;
    }
    for (; *a && o + 1 < cap; a++) {
        unsigned char c = (unsigned char)*a;
        out[o++] = (c == ' ' || (c >= '\t' && c <= '\r')) ? '_' : (c < 0x21 || c > 0x7e) ? '?' : (char)c;
    }
    out[o] = '\0';
}

/* The first word must be want, or (an absurd program) a prefix of it followed by "...". */
static void starts_with_program(const char *text, const char *want)
{
    size_t w = strcspn(text, " ");
    if (w == strlen(want) && memcmp(text, want, w) == 0)
        return;
    FUZZ_ASSERT(w >= 3 && memcmp(text + w - 3, "...", 3) == 0);
    FUZZ_ASSERT(memcmp(text, want, w - 3) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const exes[] = {"/usr/bin/sudo", "/usr/bin/sudo", "/usr/bin/sudo", "/bin/login", NULL};
    static const char *const shells[] = {"/bin/bash", "", NULL, "/tmp/a b"};
    struct command_info ci;
    const char *exe, *argv;
    char **args, want[COMMAND_MAX * 4 + 8], cut[COMMAND_MAX + 1], msg[BINDING_MESSAGE_MAX + 1];
    size_t len, argc = 0;
    bool truncated;
    char *buf;

    if (size < 1)
        return 0;
    exe = exes[data[0] % 5];
    truncated = (data[0] & 0x80) != 0 && (data[0] & 0x40) != 0;
    argv = (const char *)data + 1;
    len = size - 1;
    command_describe(exe, argv, len, truncated, shells[(data[0] >> 3) & 3], "alice", &ci);

    printable(ci.text, COMMAND_MAX);
    printable(ci.full, COMMAND_FULL_MAX);
    printable(ci.target, sizeof(ci.target) - 1);
    FUZZ_ASSERT(ci.is_sudo == (exe && strcmp(exe, "/usr/bin/sudo") == 0));
    if (!ci.certain) {
        const char *unknown = ci.is_sudo ? COMMAND_UNKNOWN_SUDO : COMMAND_UNKNOWN;
        FUZZ_ASSERT(strcmp(ci.text, unknown) == 0 && strcmp(ci.full, unknown) == 0);
        FUZZ_ASSERT(strcmp(ci.target, ci.is_sudo ? "unknown" : "") == 0);
    } else {
        FUZZ_ASSERT(!truncated && exe);
        FUZZ_ASSERT(ci.text[0] != ' ' && !strstr(ci.text, "  "));
        /* Split the same bytes and ask the parser what runs. */
        buf = malloc(len + 1);
        args = calloc(len + 1, sizeof(char *));
        FUZZ_ASSERT(buf && args);
        memcpy(buf, argv, len);
        buf[len] = '\0';
        for (size_t i = 0; i < len; i += strlen(buf + i) + 1)
            args[argc++] = buf + i;
        if (ci.is_sudo) {
            struct sudo_args a;
            const char *b = strrchr(args[0], '/') ? strrchr(args[0], '/') + 1 : args[0];
            sudo_args_parse((int)argc, args, strcmp(b, "sudoedit") == 0, &a);
            FUZZ_ASSERT(a.certain);
            if (a.mode == SUDO_RUN)
                short_word(args[a.cmd], want, sizeof(want));
            else if (a.mode == SUDO_SHELL)
                short_word(shells[(data[0] >> 3) & 3] && *shells[(data[0] >> 3) & 3] ? shells[(data[0] >> 3) & 3]
                                                                                     : "shell", want, sizeof(want));
            else
                snprintf(want, sizeof(want), "%s",
                         a.mode == SUDO_LOGIN_SHELL ? "login-shell" : a.mode == SUDO_EDIT ? "sudoedit"
                         : a.mode == SUDO_LIST ? "list" : a.mode == SUDO_VALIDATE ? "validate" : "sudo");
        } else {
            short_word("login", want, sizeof(want));
        }
        starts_with_program(ci.text, want);
        for (size_t cap = 4; cap < 64; cap += 7) {
            FUZZ_ASSERT(command_cut(ci.text, cap, cut) <= cap);
            FUZZ_ASSERT(strlen(cut) <= cap);
            printable(cut, cap);
            if (strlen(want) + 3 <= cap && strlen(ci.text) > cap)
                starts_with_program(cut, want);
        }
        free(buf);
        free(args);
    }
    {
        struct template_vars v = {"alice", "web01", NULL, "sudo", NULL, NULL, "K7QF", ci.text, ci.target, ci.full,
                                  NULL, NULL, NULL};
        FUZZ_ASSERT(binding_message_build("%h %u as %U: %C #%c", &v, msg) == RES_OK);
        FUZZ_ASSERT(strlen(msg) <= BINDING_MESSAGE_MAX);
    }
    return 0;
}
