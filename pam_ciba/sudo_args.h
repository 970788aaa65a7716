/* sudo 1.9's own reading of its argument vector, without PAM: what sudo will do, or "not sure". */
#ifndef PAM_CIBA_SUDO_ARGS_H
#define PAM_CIBA_SUDO_ARGS_H
#include <stdbool.h>

/* What sudo was asked to do (sudo(8) DESCRIPTION and OPTIONS). */
enum sudo_mode {
    SUDO_RUN,         /* run the command argv[cmd..] */
    SUDO_SHELL,       /* -s: the caller's $SHELL, with "-c command" when a command follows */
    SUDO_LOGIN_SHELL, /* -i: the target user's login shell, with "-c command" when one follows */
    SUDO_EDIT,        /* -e or sudoedit: edit the files argv[cmd..] */
    SUDO_LIST,        /* -l: list privileges; with a command: check whether it is allowed */
    SUDO_VALIDATE,    /* -v */
    SUDO_OTHER,       /* -k/-K alone, -V, -h: no command and no privilege */
};

#define SUDO_ENV_MAX 64

struct sudo_args {
    /* false: sudo would refuse this vector, or it is outside what this parser is sure
     * about (an ambiguous or unknown option, a missing argument, ...). Nothing else in
     * the structure may then be shown as the command. */
    bool certain;
    const char *why;        /* when !certain: a fixed English reason */
    enum sudo_mode mode;
    const char *user;       /* -u, --user: NULL = sudo's default (root) */
    const char *group;      /* -g, --group: NULL = the target user's primary group */
    const char *other_user; /* -U, --other-user (with -l) */
    const char *host;       /* -h host, --host */
    bool preserve_env;      /* -E, --preserve-env without a list: keep the caller's environment */
    const char *preserve_list; /* --preserve-env=LIST */
    /* NAME=value words before the command: sudo puts them into the command's environment. */
    int n_env;
    const char *env[SUDO_ENV_MAX];
    int cmd;                /* index of the first command word (== argc when none) */
};

/* Parse argv[0..argc-1] as sudo 1.9.13 (Debian 12) does; as_sudoedit: sudo was invoked
 * under the name "sudoedit" (sudo decides that from argv[0]'s base name). Pure: looks at
 * nothing but its arguments. Pointers in *out point into argv. */
void sudo_args_parse(int argc, char *const *argv, bool as_sudoedit, struct sudo_args *out);

#endif
