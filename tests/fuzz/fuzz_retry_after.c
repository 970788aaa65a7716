/* libFuzzer target: http_parse_retry_after and http_parse_date (Retry-After and Date headers).
 * Input: the header value. Oracle: the wait is -1 or 0..HTTP_RETRY_AFTER_MAX; a value of
 * digits only is its number (capped), anything else with a digit first is -1; a date that
 * parses lies in 1970..9999 and prints back (IMF-fixdate) to a date that parses to the same
 * time, and the wait it gives is that time minus now, clamped. */
#include "fuzz_common.h"
#include "http.h"

#include <stdint.h>
#include <string.h>
#include <time.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const mon[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    const time_t now = 1700000000;
    char text[128], again[64];
    time_t t, t2;
    long w;
    size_t digits = 0;

    if (size >= sizeof(text))
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    if (strlen(text) != size) /* a header value never holds a NUL */
        return 0;
    w = http_parse_retry_after(text, now);
    FUZZ_ASSERT(w == -1 || (w >= 0 && w <= HTTP_RETRY_AFTER_MAX));
    while (digits < size && text[digits] >= '0' && text[digits] <= '9')
        digits++;
    if (size > 0 && digits == size) {
        /* digits only: the number itself, or the cap */
        long v = 0;
        for (size_t i = 0; i < size && v <= HTTP_RETRY_AFTER_MAX; i++)
            v = v * 10 + (text[i] - '0');
        FUZZ_ASSERT(w == (v > HTTP_RETRY_AFTER_MAX ? HTTP_RETRY_AFTER_MAX : v));
    } else if (digits > 0) {
        FUZZ_ASSERT(w == -1);
    }
    if (http_parse_date(text, &t)) {
        struct tm tm;
        FUZZ_ASSERT(t >= 0 && t <= 253402300799); /* 9999-12-31T23:59:59Z */
        FUZZ_ASSERT(gmtime_r(&t, &tm));
        snprintf(again, sizeof(again), "Mon, %02d %s %04d %02d:%02d:%02d GMT", tm.tm_mday, mon[tm.tm_mon],
                 tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
        FUZZ_ASSERT(http_parse_date(again, &t2) && t2 == t);
        if (digits == 0)
            FUZZ_ASSERT(w == (t <= now ? 0 : (t - now > HTTP_RETRY_AFTER_MAX ? HTTP_RETRY_AFTER_MAX : t - now)));
    } else if (digits == 0) {
        FUZZ_ASSERT(w == -1);
    }
    return 0;
}
