/*  client: see client.h. */
#include "client.h"
#include "clock.h"
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct client_t {
    zsock_t *sock;
    char *endpoint;
    char sender[128];
};

client_t *
client_new (const char *endpoint)
{
    client_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->endpoint = strdup (endpoint);
    self->sock = zsock_new (ZMQ_DEALER);
    if (!self->endpoint || !self->sock)
        goto fail;
    //  A client process exits right after its last reply; lingering would
    //  only delay that exit for commands nobody waits for any more.
    zsock_set_linger (self->sock, 0);
    if (zsock_connect (self->sock, "%s", endpoint) < 0)
        goto fail;
    snprintf (self->sender, sizeof self->sender, "%s", config_str ("USER", "crmctl"));
    return self;

fail:
    client_destroy (&self);
    return NULL;
}

void
client_destroy (client_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    client_t *self = *self_p;
    zsock_destroy (&self->sock);
    free (self->endpoint);
    free (self);
    *self_p = NULL;
}

int
client_set_sender (client_t *self, const char *sender)
{
    if (strlen (sender) >= sizeof self->sender)
        return -1;
    snprintf (self->sender, sizeof self->sender, "%s", sender);
    return 0;
}

const char *
client_endpoint (client_t *self)
{
    return self->endpoint;
}

zsock_t *
client_sock (client_t *self)
{
    return self->sock;
}

int
client_send (client_t *self, const char *type, const ProtobufCMessage *payload, const char *command_id)
{
    int rc = -1;
    uint8_t *body = NULL;
    zframe_t *frame = NULL;
    Crm__V1__Command command = CRM__V1__COMMAND__INIT;
    command.type = (char *) type;
    command.command_id = (char *) command_id;
    command.sender = self->sender;
    if (payload) {
        size_t len = protobuf_c_message_get_packed_size (payload);
        body = malloc (len ? len : 1);
        if (!body)
            goto cleanup;
        protobuf_c_message_pack (payload, body);
        command.payload.data = body;
        command.payload.len = len;
    }
    frame = zframe_new (NULL, crm__v1__command__get_packed_size (&command));
    if (!frame)
        goto cleanup;
    crm__v1__command__pack (&command, zframe_data (frame));
    //  Never block: at the high-water mark the service has been away for a
    //  long while, and the caller's timeout/retry logic should decide.
    if (zframe_send (&frame, self->sock, ZFRAME_DONTWAIT) < 0)
        goto cleanup;
    rc = 0;

cleanup:
    zframe_destroy (&frame);
    free (body);
    return rc;
}

//  Waits for the socket to become readable. Returns 1 readable, 0 timed
//  out or interrupted by SIGINT.
static int
s_wait (client_t *self, int timeout_ms)
{
    int64_t deadline = timeout_ms < 0 ? -1 : clock_mono_ms () + timeout_ms;
    zmq_pollitem_t item = {zsock_resolve (self->sock), 0, ZMQ_POLLIN, 0};
    while (true) {
        long wait = deadline < 0 ? -1 : (long) (deadline - clock_mono_ms ());
        if (deadline >= 0 && wait < 0)
            wait = 0;
        int n = zmq_poll (&item, 1, wait);
        if (n > 0)
            return 1;
        if (n == 0)
            return 0;
        //  Another signal than SIGINT (e.g. SIGCHLD): keep waiting.
        if (zmq_errno () != EINTR || zsys_interrupted)
            return 0;
    }
}

int
client_recv (client_t *self, int timeout_ms, Crm__V1__Reply **reply_p)
{
    *reply_p = NULL;
    if (!s_wait (self, timeout_ms))
        return 1;
    zmsg_t *msg = zmsg_recv_nowait (self->sock);
    if (!msg)
        return 1;
    if (zmsg_size (msg) == 1) {
        zframe_t *frame = zmsg_first (msg);
        *reply_p = crm__v1__reply__unpack (NULL, zframe_size (frame), zframe_data (frame));
    }
    zmsg_destroy (&msg);
    return *reply_p ? 0 : -1;
}

int
client_call (client_t *self, const char *type, const ProtobufCMessage *payload, int timeout_ms,
             Crm__V1__Reply **reply_p)
{
    *reply_p = NULL;
    zuuid_t *uuid = zuuid_new ();
    if (!uuid)
        return -1;
    char command_id[40];
    snprintf (command_id, sizeof command_id, "%s", zuuid_str_canonical (uuid));
    zuuid_destroy (&uuid);
    if (client_send (self, type, payload, command_id))
        return -1;

    int64_t deadline = timeout_ms < 0 ? -1 : clock_mono_ms () + timeout_ms;
    while (true) {
        int wait = -1;
        if (deadline >= 0) {
            int64_t left = deadline - clock_mono_ms ();
            wait = left > 0 ? (int) left : 0;
        }
        Crm__V1__Reply *reply;
        int rc = client_recv (self, wait, &reply);
        if (rc)
            return -1;  // timed out, interrupted, or malformed
        //  No id: the service could not read the command (MALFORMED, or
        //  TOO_LARGE to be read), and this call's is the one in flight.
        if (strcmp (reply->command_id, command_id) == 0 || (!*reply->command_id && reply->error)) {
            *reply_p = reply;
            return 0;
        }
        crm__v1__reply__free_unpacked (reply, NULL);
        if (deadline >= 0 && clock_mono_ms () >= deadline)
            return -1;
    }
}

const char *
client_error_text (const Crm__V1__Error *error, char *buf, size_t size)
{
    if (size == 0)
        return buf;
    if (!error) {
        snprintf (buf, size, "OK");
        return buf;
    }
    size_t n = (size_t) snprintf (buf, size, "%s: %s", *error->code ? error->code : "ERROR", error->message);
    for (size_t i = 0; i < error->n_fields && n < size; i++)
        n += (size_t) snprintf (buf + n, size - n, "%s%s", i == 0 ? " (fields: " : ", ", error->fields[i]);
    if (error->n_fields > 0 && n < size)
        snprintf (buf + n, size - n, ")");
    return buf;
}
