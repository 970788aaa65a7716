/* What is being authorised: the command a sudo user asked for, from the process's own argv. */
#ifndef PAM_CIBA_COMMAND_H
#define PAM_CIBA_COMMAND_H
#include <stddef.h>

/* Room for a description; the binding message shortens it further to fit 64 characters. */
#define COMMAND_MAX 256

/* Describe the command in argv (len bytes of NUL-separated arguments, as in
 * /proc/PID/cmdline) into out (outlen bytes, at most COMMAND_MAX used):
 *   sudo / sudoedit: the command after sudo's own options ("apt upgrade"), "edit FILE..."
 *   for -e or sudoedit, "shell" for -i/-s without a command, "list" for -l, "validate" for -v;
 *   any other program: its base name and arguments ("login -- alice").
 * Control characters become spaces; an over-long description is cut. Returns out. */
const char *command_describe(const char *argv, size_t len, char *out, size_t outlen);

/* command_describe() of this process's /proc/self/cmdline; "" if it cannot be read. */
const char *command_of_self(char *out, size_t outlen);

#endif
