/* Delivery into the store for delivery sources (host->deliver and
 * host->user_enrolled): parse once, append through the storage plugin,
 * wake the user's sessions. */
#ifndef VIMAP_DELIVER_H
#define VIMAP_DELIVER_H

#include <vimap/host.h>

/* 1 when `user` (any case) is enrolled, 0 when not or not a user id, -1
   when the store cannot say (error_r says why). */
int deliver_user_enrolled(const char *user, const char **error_r);

/* Stores msg in the user's mailbox (INBOX when msg->mailbox is NULL);
   VIMAP_DELIVER_OK once it is durable.  Blocks: never call it on an I/O
   thread.  error_r explains anything else. */
enum vimap_deliver_result deliver_message(const struct vimap_delivery *msg,
					  const char **error_r);

#endif
