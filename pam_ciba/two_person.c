/* When a login needs two people, and how the user's and approvers' answers decide it. */
#include "two_person.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

static bool listed(char *const *list, const char *s, const char **hit)
{
    for (size_t i = 0; s && list && list[i]; i++) {
        if (strcmp(list[i], s) == 0) {
            *hit = list[i];
            return true;
        }
    }
    return false;
}

bool two_person_needed(const struct config *cfg, enum command_action action, const char *service,
                       const char *const *groups, size_t n_groups, char *reason, size_t len)
{
    const char *hit = NULL;

    if (action == CMD_TWO_PERSON) {
        snprintf(reason, len, "a two_person command rule");
        return true;
    }
    if (listed(cfg->two_person_services, service, &hit)) {
        snprintf(reason, len, "service %.64s is in two_person_services", hit);
        return true;
    }
    for (size_t g = 0; g < n_groups; g++) {
        if (listed(cfg->two_person_groups, groups[g], &hit)) {
            snprintf(reason, len, "group %.64s is in two_person_groups", hit);
            return true;
        }
    }
    return false;
}

bool two_person_same_subject(const char *a, const char *b)
{
    return a && b && strcasecmp(a, b) == 0;
}

void two_person_start(struct two_person_state *s, size_t n_approvers)
{
    s->user_ok = false;
    s->approver = -1;
    s->approvers_left = n_approvers;
}

enum two_person_verdict two_person_update(struct two_person_state *s, bool is_user, size_t index, result r)
{
    if (is_user) {
        if (r != RES_OK)
            return TP_FAILED;
        s->user_ok = true;
    } else if (s->approver < 0) {
        if (s->approvers_left > 0)
            s->approvers_left--;
        if (r == RES_OK)
            s->approver = (int)index;
        else if (r != RES_EXPIRED || s->approvers_left == 0)
            return TP_FAILED;
    }
    return s->user_ok && s->approver >= 0 ? TP_APPROVED : TP_WAIT;
}
