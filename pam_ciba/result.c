/* Names for result codes, used in the decision log line. */
#include "result.h"

const char *result_name(result r)
{
    switch (r) {
    case RES_OK: return "approved";
    case RES_DENIED: return "denied";
    case RES_EXPIRED: return "expired";
    case RES_TIMEOUT: return "timeout";
    case RES_INVALID_TOKEN: return "invalid_token";
    case RES_PROTOCOL: return "protocol_error";
    case RES_REJECTED: return "rejected";
    case RES_UNAVAILABLE: return "unavailable";
    case RES_CONFIG: return "config_error";
    case RES_USER_UNKNOWN: return "user_unknown";
    case RES_CONV: return "conversation_error";
    case RES_INTERRUPTED: return "interrupted";
    case RES_INTERNAL: return "internal_error";
    case RES_IGNORE: return "ignored";
    case RES_WRONG_CODE: return "wrong_code";
    case RES_BREAKGLASS: return "breakglass";
    case RES_BREAKGLASS_WRONG: return "breakglass_wrong";
    case RES_PROVIDER_LIMIT: return "provider_limited";
    case RES_AUTH_STRENGTH: return "auth_strength";
    case RES_NO_COMMAND: return "no_command";
    case RES_NO_APPROVER: return "no_approver";
    case RES_LOCKED_OUT: return "locked_out";
    case RES_RATE_LIMITED: return "rate_limited";
    case RES_PENDING_EXISTS: return "pending_exists";
    }
    return "unknown";
}
