/* libFuzzer target: bg_parse/bg_format on break-glass files, bg_normalise on typed codes.
 * Oracles: a file that parses re-formats to exactly its own bytes (one text, one meaning)
 * and passes the limits a login relies on (KDF cost, slot count, user name); a typed
 * answer that normalises is 10 symbols of the alphabet and normalises to itself again. */
#include "breakglass.h"
#include "fuzz_common.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct bg_record rec;
static char again[BREAKGLASS_FILE_MAX + 1];

static void file_round_trips(const uint8_t *data, size_t size)
{
    size_t n;

    if (bg_parse((const char *)data, size, &rec) != RES_OK)
        return;
    FUZZ_ASSERT(bg_kdf_ok(&rec.kdf) && bg_user_ok(rec.user));
    FUZZ_ASSERT(rec.n >= 1 && rec.n <= BREAKGLASS_MAX_CODES);
    FUZZ_ASSERT(bg_live_count(&rec) <= rec.n);
    n = bg_format(&rec, again, sizeof(again));
    FUZZ_ASSERT(n == size && memcmp(again, data, size) == 0);
}

static void typed_code(const uint8_t *data, size_t size)
{
    char typed[80], out[BREAKGLASS_CODE_LEN + 1], out2[BREAKGLASS_CODE_LEN + 1];
    size_t n = size < sizeof(typed) - 1 ? size : sizeof(typed) - 1;

    memcpy(typed, data, n);
    typed[n] = '\0';
    if (!bg_normalise(typed, out))
        return;
    FUZZ_ASSERT(strlen(out) == BREAKGLASS_CODE_LEN);
    FUZZ_ASSERT(strspn(out, "0123456789ABCDEFGHJKMNPQRSTVWXYZ") == BREAKGLASS_CODE_LEN);
    FUZZ_ASSERT(bg_normalise(out, out2) && strcmp(out, out2) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    file_round_trips(data, size);
    typed_code(data, size);
    return 0;
}
