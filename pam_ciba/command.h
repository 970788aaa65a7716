/* What is being authorised: the command this process (sudo or another host) will run. */
#ifndef PAM_CIBA_COMMAND_H
#define PAM_CIBA_COMMAND_H
#include <stdbool.h>
#include <stddef.h>

/* Room for the short description (%C); the binding message shortens it further. */
#define COMMAND_MAX 256
/* Room for the full description (%F, for authorization_details). */
#define COMMAND_FULL_MAX 4096
/* What %C, %F say when the command cannot be known for sure. */
#define COMMAND_UNKNOWN_SUDO "unknown sudo command"
#define COMMAND_UNKNOWN "unknown command"

struct command_info {
    bool certain;
    bool is_sudo;
    /* %C: words separated by single spaces, the program (or a mode label such as
     * "sudoedit", "list", "login-shell") first; a word never holds a space: blanks inside
     * an argument show as '_', other control or non-ASCII bytes as '?', an empty argument
     * as ''. NAME=value words sudo puts into the command's environment follow the program
     * as "+env:NAME=value" (-E as "+env:all", --preserve-env=L as "+env:L"). Words that do
     * not fit are replaced by " +N more"; an over-long program is cut with "...". */
    char text[COMMAND_MAX + 1];
    /* %F: the same words shell-quoted ('it'\''s', $'a\nb'), the whole command up to
     * COMMAND_FULL_MAX; for another program its full executable path first. */
    char full[COMMAND_FULL_MAX + 1];
    /* %U: whom sudo runs it as, "user" or "user:group" ("root" by default; with only -g
     * the caller); with -l -U the user whose privileges are listed; "unknown" when not
     * certain; "" for programs other than sudo. */
    char target[128];
    /* For command_rules (command_policy.h), sudo only, raw bytes (not rendered). */
    int mode;                           /* enum sudo_mode; -1: not sudo, or not certain */
    char program[COMMAND_FULL_MAX + 1]; /* the program as given; for -s, -i, -e, -l, -v the
                                         * labels shell, login-shell, sudoedit, list, validate */
    char args[COMMAND_FULL_MAX + 1];    /* the words after it, joined by single spaces */
    bool args_known;                    /* false: args did not fit */
    bool has_command;                   /* words follow the options (a command, files) */
};

/* Describe a process: exe = its running executable (readlink of /proc/PID/exe, NULL if
 * unknown), argv = len bytes of NUL-separated arguments as in /proc/PID/cmdline,
 * truncated = the command line was longer than what was read, shell = the caller's
 * $SHELL (what sudo -s runs; NULL or "" = the caller's login shell), caller = the name of
 * the real user (sudo -g without -u runs as the caller). The process is sudo when exe's
 * base name is "sudo"; argv[0] then only tells sudoedit mode, as it does for sudo. */
void command_describe(const char *exe, const char *argv, size_t len, bool truncated, const char *shell,
                      const char *caller, struct command_info *out);

/* command_describe() of this process: /proc/self/exe, /proc/self/cmdline, $SHELL, the
 * real uid's name. */
void command_of_self(struct command_info *out);

/* Shorten a %C description to at most cap bytes (cap >= 1) by the same rule: drop words
 * from the end into a " +N more" marker (adding to a marker already there), never the
 * program; an over-long program is cut with "...". out holds cap + 1 bytes; returns the
 * length written. */
size_t command_cut(const char *desc, size_t cap, char *out);

#endif
