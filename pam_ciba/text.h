/* Login-fact text hygiene: UTF-8 validation and control-character replacement. */
#ifndef PAM_CIBA_TEXT_H
#define PAM_CIBA_TEXT_H
#include <stdbool.h>
#include <stddef.h>

/* Well-formed UTF-8 (no overlong forms, surrogates or code points past U+10FFFF) with
 * no C0 control (U+0000-U+001F), DEL (U+007F) or C1 control (U+0080-U+009F). */
bool text_is_clean(const char *s);

/* Make s clean in place: each control character, each byte that is not part of a
 * well-formed UTF-8 sequence, becomes '?'. Returns the new length. */
size_t text_sanitise(char *s);

/* The longest prefix of s, at most max bytes, that does not end inside a UTF-8
 * sequence. */
size_t text_cut(const char *s, size_t max);

#endif
