/* libFuzzer target: the typed code of confirm = "type" (confirm.c). Input: 4 bytes that pick
 * the code from the binding-code alphabet, then the typed answer. Oracles: the answer
 * matches exactly when a plain reference (trim blanks, drop one leading '#', upper-case,
 * compare) says so, and never when longer than CONFIRM_ANSWER_MAX; "empty" agrees with the
 * reference; masking leaves the same length and no copy of the code. */
#include "fuzz_common.h"
#include "confirm.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char alphabet[] = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789";

/* The reference: obviously right, not constant time. */
static size_t reference_trim(const char *s, const char **start)
{
    size_t n;
    while (*s == ' ' || *s == '\t')
        s++;
    if (*s == '#')
        s++;
    while (*s == ' ' || *s == '\t')
        s++;
    n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    *start = s;
    return n;
}

static bool reference_match(const char *typed, const char *code)
{
    const char *s;
    size_t n;
    if (strlen(typed) > CONFIRM_ANSWER_MAX)
        return false;
    n = reference_trim(typed, &s);
    if (n != strlen(code))
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i] >= 'a' && s[i] <= 'z' ? (char)(s[i] - 32) : s[i];
        if (c != code[i])
            return false;
    }
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char code[5], *typed, *masked;
    const char *s;

    if (size < 4)
        return 0;
    for (size_t i = 0; i < 4; i++)
        code[i] = alphabet[data[i] & 31];
    code[4] = '\0';
    typed = malloc(size - 4 + 1);
    masked = malloc(size - 4 + 1);
    FUZZ_ASSERT(typed && masked);
    memcpy(typed, data + 4, size - 4);
    typed[size - 4] = '\0'; /* a NUL inside ends the answer, as in a C string from PAM */

    FUZZ_ASSERT(confirm_code_matches(typed, code) == reference_match(typed, code));
    FUZZ_ASSERT(confirm_answer_empty(typed) == (reference_trim(typed, &s) == 0));
    FUZZ_ASSERT(confirm_code_matches(code, code));

    confirm_mask(typed, code, masked, size - 4 + 1);
    FUZZ_ASSERT(strlen(masked) == strlen(typed));
    FUZZ_ASSERT(strstr(masked, code) == NULL);
    free(typed);
    free(masked);
    return 0;
}
