/*
 * The verifier's small persistent state: open TPM challenges (single use),
 * the last TPM counters seen per node, and first-use records of static
 * evidence (AWS instance identity documents).
 *
 * Layout under a state directory the operator chooses (created 0700):
 *
 *   challenges/<id>.json   one open challenge, 0600; taken (read and
 *                          unlinked) by the verify step, so a quote can be
 *                          verified against it once only
 *   tpm/<ek-sha256>.json   {"resetCount","restartCount","clock"} of the
 *                          last accepted quote of that EK; updated under
 *                          an exclusive lock, written atomically
 *   aws_iid/<instance-id>  created exclusively on first use; its presence
 *                          refuses every later use of that instance
 *
 * Any failure to read or write the state refuses the evidence
 * (attest.state_unavailable): a verifier that cannot remember cannot
 * detect replay.
 */
#ifndef WID_ATTEST_STATE_H
#define WID_ATTEST_STATE_H

#include "attest_tpm.h"
#include "reason.h"

/* Store an open challenge; id receives its name (hex, 64 chars). */
wid_reason_t wid_attest_state_challenge_put(const char *dir,
                                            const wid_tpm_challenge *ch,
                                            char id[65]);

/*
 * Take (read and remove) the challenge id.  Unknown, already taken or
 * unreadable as a challenge: attest.challenge_unknown.  The caller wipes
 * *ch after use.
 */
wid_reason_t wid_attest_state_challenge_take(const char *dir,
                                             const char *id,
                                             wid_tpm_challenge *ch);

typedef struct {
    int  fd;                  /* the held lock, -1 when none */
    char path[4096];          /* the node's counter file */
} wid_attest_node_lock;

/*
 * Lock the node's counter record and load the last counters (present = 0
 * when the node was never seen).  Always pair with _node_end.
 */
wid_reason_t wid_attest_state_node_begin(const char *dir,
                                         const unsigned char ek_sha256[32],
                                         wid_attest_node_lock *lk,
                                         wid_tpm_counters *last);

/* Replace the record with c (atomic rename) while the lock is held. */
wid_reason_t wid_attest_state_node_commit(wid_attest_node_lock *lk,
                                          const wid_tpm_counters *c);

void wid_attest_state_node_end(wid_attest_node_lock *lk);

/*
 * Record the first use of key in namespace ns ("aws_iid").  key must be
 * [A-Za-z0-9._-], 1..128 bytes, not starting with '.'.  Returns WID_OK on
 * first use, replay_code when already recorded.
 */
wid_reason_t wid_attest_state_first_use(const char *dir, const char *ns,
                                        const char *key, const char *note,
                                        wid_reason_t replay_code);

#endif
