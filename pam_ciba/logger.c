/* Formatting for the core's log messages; the sink decides where they go. */
#include "logger.h"
#include <stdarg.h>
#include <stdio.h>
#include <syslog.h>

void log_msg(const struct logger *lg, int prio, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;

    if (!lg || !lg->write)
        return;
    if (prio == LOG_DEBUG && !lg->debug)
        return;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    lg->write(lg->ctx, prio, buf);
}

void log_escape(const char *s, char *out, size_t outlen)
{
    size_t o = 0;

    if (outlen == 0)
        return;
    if (!s)
        s = "";
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c >= 0x20 && c < 0x7f && c != '\\') {
            if (o + 1 >= outlen)
                break;
            out[o++] = (char)c;
        } else {
            if (o + 4 >= outlen)
                break;
            snprintf(out + o, outlen - o, "\\x%02x", c);
            o += 4;
        }
    }
    out[o] = '\0';
}
