/* Two-person approval (issue 13): when a login needs it, and when the answers decide it. */
#ifndef PAM_CIBA_TWO_PERSON_H
#define PAM_CIBA_TWO_PERSON_H
#include <stdbool.h>
#include <stddef.h>
#include "command_policy.h"
#include "config.h"
#include "result.h"

/* Whether a login needs an approver's approval besides the user's: a two_person command
 * rule matched (action), the user is in one of two_person_groups, or the service is one
 * of two_person_services. reason says which. */
bool two_person_needed(const struct config *cfg, enum command_action action, const char *service,
                       const char *const *groups, size_t n_groups, char *reason, size_t len);

/* Whether two subjects may be the same person: compared without regard to ASCII case, so
 * "Alice@example.com" can never approve for "alice@example.com". */
bool two_person_same_subject(const char *a, const char *b);

enum two_person_verdict { TP_WAIT, TP_APPROVED, TP_FAILED };

/* The state of one two-person login: the user's own request and n approvers' requests. */
struct two_person_state {
    bool user_ok;          /* the user's token is verified */
    int approver;          /* index of the approver whose token is verified, or -1 */
    size_t approvers_left; /* approvers' requests still pending */
};

void two_person_start(struct two_person_state *s, size_t n_approvers);

/* Feed the end of one request: the user's (is_user) or approver index's; r = RES_OK for a
 * verified approval, else why it ended. The user's failure fails the login. An approver's
 * approval counts once the user has approved too (either order). An approver's request
 * that expires drops out; the login fails when none is left. Any other end of an
 * approver's request (a denial, a token for the wrong subject, a protocol error) fails the
 * login: one approver's "no" is a veto, and a bad token is never ignored. */
enum two_person_verdict two_person_update(struct two_person_state *s, bool is_user, size_t index, result r);

#endif
