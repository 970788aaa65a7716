/* Unit tests for pam_ciba/sudo_args.c against the real sudo: the parser's command is the one sudo runs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sudo_args.h"

#define SUDO_BIN "/usr/bin/sudo"
#define MAXW 16

/* Argument vectors for sudo, '|' between words, "@" = a recorder program that writes its
 * argv and environment where the test finds them. Each either runs the recorder as the
 * command, runs it through the shell (-s/-i), or runs nothing (refused, list, help). */
static const char *const vectors[] = {
    "sudo|@|a|b",
    "sudo|--pro|apt upgrade        |@|x",
    "sudo|--prompt=p|@",
    "sudo|-p|p|@|-u|bob",
    "sudo|-uroot|@|x",
    "sudo|--us=root|@",
    "sudo|--use|root|@",
    "sudo|-Hnu|root|@|-n",
    "sudo|-u|root|-g|root|@",
    "sudo|--|@|--pro",
    "sudo|FOO=1|-u|root|BAR=2|@|x",
    "sudo|LD_LIBRARY_PATH=/nonexistent|@",
    "sudo|--|FOO=1|@",
    "sudo|-E|@",
    "sudo|--preserve-env=PATH|@",
    "sudo|-k|@",
    "sudo|-N|-P|-S|@",
    "sudo|--no-up|@",
    "sudo|-C|3|@",
    "sudo|-C|2|@",
    "sudo|-h",
    "sudo|-V",
    "sudo|-l|@",
    "sudo|-lhotherhost|@",
    "sudo|-h|otherhost|@",
    "sudo|--pr|x|@",
    "sudo|--preserve|@",
    "sudo|--re|@",
    "sudo|--bogus|@",
    "sudo|-X|@",
    "sudo|-a|x|@",
    "sudo|-c|x|@",
    "sudo|-u||@",
    "sudo|-u|root|-u|root|@",
    "sudo|--list=x|@",
    "sudo|-i|-s|@",
    "sudo|-v|@",
    "sudo|-U|root|@",
    "sudo|-k|-N|@",
    "sudo|-e|A=1|/etc/hosts",
    "sudo|-s|@|a b|c;d",
    "sudo|-iu|root|@|x",
    "sudo|--login|--user=root|@",
    "sudo|/nonexistent=1|@",
    "sudo|-|@",
    "sudo|--=x|@",
    "sudo|-:|@",
    "sudoedit|-s|x",
    "sudo|-u",
};

static char dir[64], rec[128], out_args[128], out_env[128];

static int setup(void **state)
{
    FILE *f;
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/pam_ciba_sudo.XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    chmod(dir, 0755);
    snprintf(rec, sizeof(rec), "%s/rec", dir);
    snprintf(out_args, sizeof(out_args), "%s/args", dir);
    snprintf(out_env, sizeof(out_env), "%s/env", dir);
    f = fopen(rec, "w");
    if (!f)
        return -1;
    fprintf(f, "#!/bin/sh\nfor a in \"$@\"; do printf '%%s\\0' \"$a\"; done > %s\nenv -0 > %s\n", out_args, out_env);
    fclose(f);
    return chmod(rec, 0755);
}

static int teardown(void **state)
{
    (void)state;
    unlink(rec);
    unlink(out_args);
    unlink(out_env);
    rmdir(dir);
    return 0;
}

static size_t slurp(const char *path, char *buf, size_t cap, bool *exists)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    size_t len = 0;
    ssize_t n;

    *exists = fd >= 0;
    if (fd < 0)
        return 0;
    while (len < cap && (n = read(fd, buf + len, cap - len)) > 0)
        len += (size_t)n;
    close(fd);
    return len;
}

/* Run the real sudo on argv (as root: no password) and wait for it, at most 20 s. */
static int run_sudo(char **argv)
{
    char shell[160];
    char *envp[] = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", shell, "LANG=C", NULL};
    struct timespec start, now;
    pid_t pid;
    int status;

    snprintf(shell, sizeof(shell), "SHELL=%s", rec);
    pid = fork();
    if (pid == 0) {
        int null = open("/dev/null", O_RDWR);
        dup2(null, 0);
        dup2(null, 1);
        dup2(null, 2);
        setsid(); /* no controlling terminal: sudo has nothing to prompt on */
        execve(SUDO_BIN, argv, envp);
        _exit(127);
    }
    assert_true(pid > 0);
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        pid_t w = waitpid(pid, &status, WNOHANG);
        if (w == pid)
            return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec - start.tv_sec > 20) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            fail_msg("sudo did not finish");
        }
        /* waitpid has no timeout; a short pause between looks at the child's state. */
        nanosleep(&(struct timespec){0, 5 * 1000 * 1000}, NULL);
    }
}

/* sudo -s/-i hand the shell "-c" and the words joined, each non-alphanumeric byte except
 * _ - $ escaped with a backslash. */
static void shell_string(char **words, int n, char *out, size_t cap)
{
    size_t o = 0;
    for (int i = 0; i < n; i++) {
        for (const char *p = words[i]; *p && o + 3 < cap; p++) {
            if (!isalnum((unsigned char)*p) && *p != '_' && *p != '-' && *p != '$')
                out[o++] = '\\';
            out[o++] = *p;
        }
        if (i + 1 < n && o + 1 < cap)
            out[o++] = ' ';
    }
    out[o] = '\0';
}

static void check_vector(const char *bars)
{
    char copy[512], *argv[MAXW + 1], got[4096], env[65536], want[1024];
    int argc = 0, rc;
    struct sudo_args a;
    bool ran, dummy, runs_rec;
    size_t glen, elen;

    snprintf(copy, sizeof(copy), "%s", bars);
    for (char *p = copy, *bar;; p = bar + 1) {
        bar = strchr(p, '|');
        if (bar)
            *bar = '\0';
        argv[argc++] = strcmp(p, "@") == 0 ? rec : p;
        if (!bar || argc == MAXW)
            break;
    }
    argv[argc] = NULL;
    sudo_args_parse(argc, argv, strcmp(argv[0], "sudoedit") == 0, &a);
    unlink(out_args);
    unlink(out_env);
    if (strcmp(argv[0], "sudoedit") == 0) {
        /* sudo decides sudoedit mode from argv[0], as the test asks for it. */
        argv[0] = "sudoedit";
    }
    rc = run_sudo(argv);
    glen = slurp(out_args, got, sizeof(got), &ran);
    elen = slurp(out_env, env, sizeof(env) - 1, &dummy);
    env[elen] = '\0';

    runs_rec = a.certain && a.cmd < argc && argv[a.cmd] == rec &&
               (a.mode == SUDO_RUN || a.mode == SUDO_SHELL || a.mode == SUDO_LOGIN_SHELL);
    if (!runs_rec) {
        if (ran)
            fail_msg("%s: sudo ran the recorder (rc %d) but the parser says certain=%d mode=%d cmd=%d", bars, rc,
                     a.certain, a.mode, a.cmd);
        if (!a.certain && rc == 0 && a.mode != SUDO_OTHER)
            fail_msg("%s: sudo accepted it (rc 0) but the parser is not sure (%s)", bars, a.why);
        return;
    }
    if (!ran)
        fail_msg("%s: the parser expects the recorder to run, sudo did not (rc %d)", bars, rc);
    /* -i: root's login shell runs "rec args" from the escaped string: the same words. */
    if (a.mode == SUDO_RUN || a.mode == SUDO_LOGIN_SHELL) {
        size_t o = 0;
        for (int i = a.cmd + 1; i < argc; i++) {
            size_t l = strlen(argv[i]) + 1;
            if (o + l > glen || memcmp(got + o, argv[i], l) != 0)
                fail_msg("%s: argument %d differs", bars, i - a.cmd);
            o += l;
        }
        if (o != glen)
            fail_msg("%s: sudo passed more arguments than the parser sees", bars);
    } else {
        shell_string(argv + a.cmd, argc - a.cmd, want, sizeof(want));
        if (glen < 3 || memcmp(got, "-c", 3) != 0 || strcmp(got + 3, want) != 0)
            fail_msg("%s: the shell was given something else than -c '%s'", bars, want);
    }
    for (int e = 0; e < a.n_env; e++) {
        bool found = false;
        for (size_t o = 0; o < elen; o += strlen(env + o) + 1)
            found = found || strcmp(env + o, a.env[e]) == 0;
        if (!found && strncmp(a.env[e], "LD_", 3) != 0) /* sudo drops LD_* itself */
            fail_msg("%s: %s is not in the command's environment", bars, a.env[e]);
    }
}

static void test_against_real_sudo(void **state)
{
    (void)state;
    if (geteuid() != 0 || access(SUDO_BIN, X_OK) != 0)
        skip(); /* needs root and sudo; ./dev.sh check has both */
    for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++)
        check_vector(vectors[i]);
}

/* The option table is the one this sudo lists in its help. */
static void test_option_table_matches_help(void **state)
{
    FILE *p;
    char line[256];
    int longs = 0;
    (void)state;
    if (access(SUDO_BIN, X_OK) != 0)
        skip();
    p = popen(SUDO_BIN " -h 2>&1", "r");
    assert_non_null(p);
    while (fgets(line, sizeof(line), p)) {
        char *dd = strstr(line, "--"), name[64];
        char *argv[4] = {"sudo", NULL, "x", NULL};
        char opt[80];
        struct sudo_args a;
        size_t n;
        if (!dd || dd[2] == ' ' || dd[2] == '\n')
            continue;
        n = strcspn(dd + 2, "= \n");
        assert_true(n < sizeof(name));
        memcpy(name, dd + 2, n);
        name[n] = '\0';
        /* The exact name is accepted; with "=v" exactly when help shows an argument. */
        snprintf(opt, sizeof(opt), "--%s%s", name, dd[2 + n] == '=' ? "=v" : "");
        argv[1] = opt;
        sudo_args_parse(3, argv, false, &a);
        if (a.why && strstr(a.why, "unknown"))
            fail_msg("sudo -h lists --%s, the parser does not know it", name);
        if (a.why && strstr(a.why, "argument to an option"))
            fail_msg("--%s: argument mismatch with sudo -h", name);
        longs++;
    }
    pclose(p);
    assert_true(longs >= 25);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_option_table_matches_help),
        cmocka_unit_test(test_against_real_sudo),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
