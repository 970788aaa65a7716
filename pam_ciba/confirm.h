/* confirm = "type": the terminal asks for the code the phone shows; the pure parts (issue 12). */
#ifndef PAM_CIBA_CONFIRM_H
#define PAM_CIBA_CONFIRM_H
#include <stdbool.h>
#include <stddef.h>
#include "result.h"

/* What follows the message in the prompt. */
#define CONFIRM_TYPE_SUFFIX ", then type the code it shows: "
/* Longer answers are wrong without a look: no code is this long. */
#define CONFIRM_ANSWER_MAX 64

/* Whether the typed answer is the code: surrounding blanks and one leading '#' are
 * ignored, letters compare without regard to case. Constant time in the code's
 * content (CRYPTO_memcmp over fixed-size buffers). A NULL or empty answer never matches. */
bool confirm_code_matches(const char *typed, const char *code);

/* Whether the answer holds nothing but blanks (or a lone '#'): the user typed no code. */
bool confirm_answer_empty(const char *typed);

/* Config check for confirm = "type": the binding message must carry %c, and the terminal
 * text must not (%b is fine: there it shows the binding message with the code masked).
 * RES_CONFIG with which key and why. */
result confirm_check_config(const char *binding_tmpl, const char *message_tmpl, const char **key, char *why,
                            size_t whylen);

/* Copy binding into out (outlen bytes) with every occurrence of code replaced by '*': what
 * the terminal and the debug log show of the binding message with confirm = "type". */
void confirm_mask(const char *binding, const char *code, char *out, size_t outlen);

#endif
