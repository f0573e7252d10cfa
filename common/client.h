/*  client: a command client for one service's command endpoint.

    A client is one DEALER socket connected to the service's ROUTER. It sends
    a crm.v1.Command in one frame and reads crm.v1.Reply frames back. Replies
    arrive in any order, and may belong to commands the caller has already
    given up on, so they are matched by command_id, never by position.

    Sends never block: a command to a service that is not up yet is queued
    by ZeroMQ and delivered when it comes up (up to the socket's high-water
    mark), so the caller's timeout is the only wait. Commands are safe to
    resend only if the command is idempotent (SubmitLead, Status, reads).

    The module logs nothing: it returns codes and the caller decides what
    to tell whom.
*/
#ifndef CRM_CLIENT_H
#define CRM_CLIENT_H

#include "crm/v1/command.pb-c.h"

#include <czmq.h>
#include <protobuf-c/protobuf-c.h>
#include <stddef.h>

typedef struct client_t client_t;

/*  Creates a client connected to endpoint (e.g. "tcp://127.0.0.1:5550",
    from config_peer_endpoint). Connecting is asynchronous: this succeeds
    whether or not the service is up. Linger is 0, so destroying the client
    drops unsent commands. Returns a new client owned by the caller, or NULL
    if the socket cannot be created or the endpoint is malformed. */
client_t *client_new (const char *endpoint);

/*  Closes the socket and frees the client; nulls *self_p. Safe on NULL. */
void client_destroy (client_t **self_p);

/*  Sets who the commands are from (Command.sender: a person's login or a
    system's name), instead of $USER or "crmctl". Copied. Returns 0, or -1
    if it is longer than 127 bytes (the sender is then unchanged). */
int client_set_sender (client_t *self, const char *sender);

/*  The endpoint given to client_new; owned by the client. */
const char *client_endpoint (client_t *self);

/*  Sends one command of the given type (e.g. "SubmitLead") and waits for
    its reply. payload is encoded into the command (NULL: empty payload);
    the command_id is a fresh UUID, the sender $USER or "crmctl" (see
    client_set_sender). Waits up
    to timeout_ms milliseconds (negative: forever), discarding replies to
    other command ids (late answers to earlier calls that timed out); an
    error reply without command id (a command the service could not read:
    MALFORMED, TOO_LARGE) is taken as this call's.
    Returns 0 and sets *reply_p to a reply owned by the caller (free it with
    crm__v1__reply__free_unpacked; it may carry an error), or -1 on timeout,
    on a reply that is not a crm.v1.Reply, on a send refused because too
    many commands are queued, or when interrupted (SIGINT). */
int client_call (client_t *self, const char *type, const ProtobufCMessage *payload, int timeout_ms,
                 Crm__V1__Reply **reply_p);

/*  Sends one command without waiting: type and payload as for client_call;
    command_id is the caller's (copied; the caller matches replies with it).
    Returns 0, or -1 if the command could not be queued (out of memory, or
    the high-water mark is reached because the service has been away). */
int client_send (client_t *self, const char *type, const ProtobufCMessage *payload, const char *command_id);

/*  Waits up to timeout_ms milliseconds (0: just look; negative: forever)
    for the next reply to any command. Returns 0 and sets *reply_p (owned by
    the caller, free with crm__v1__reply__free_unpacked); 1 if none came in
    time or the wait was interrupted (SIGINT); -1 if a message arrived that
    is not one frame holding a crm.v1.Reply (it is consumed and dropped). */
int client_recv (client_t *self, int timeout_ms, Crm__V1__Reply **reply_p);

/*  The client's socket, for zpoller/zmq_poll over several clients; owned
    by the client. Readable means client_recv (self, 0, ...) has a message. */
zsock_t *client_sock (client_t *self);

/*  Writes "CODE: message (fields: a, b)" for error into buf (size bytes,
    always NUL-terminated, cut if too short); the fields part is left out
    when there are none. NULL error writes "OK". Returns buf. */
const char *client_error_text (const Crm__V1__Error *error, char *buf, size_t size);

#endif
