/*  benchbus_sink: see benchbus_sink.h. */
#include "benchbus_sink.h"
#include "client.h"
#include "config.h"
#include "crm/v1/command.pb-c.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct benchbus_sink_t {
    client_t *client;
    char source[CONFIG_NAME_MAX];
    int64_t asked_ms;  // monotonic ms of the Status in flight, 0: none
    int64_t last_ms;   // of the last one sent
    long asked;        // command ids
    uint64_t applied;
};

benchbus_sink_t *
benchbus_sink_new (const char *source)
{
    char endpoint[128];
    if (config_peer_endpoint ("benchsink", CONFIG_CMD, endpoint, sizeof endpoint))
        return NULL;
    benchbus_sink_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    snprintf (self->source, sizeof self->source, "%s", source);
    self->client = client_new (endpoint);
    if (!self->client)
        benchbus_sink_destroy (&self);
    return self;
}

void
benchbus_sink_destroy (benchbus_sink_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    client_destroy (&(*self_p)->client);
    free (*self_p);
    *self_p = NULL;
}

zsock_t *
benchbus_sink_sock (benchbus_sink_t *self)
{
    return client_sock (self->client);
}

void
benchbus_sink_ask (benchbus_sink_t *self, int64_t now_ms)
{
    if ((self->asked_ms && now_ms - self->asked_ms < 1000) || now_ms - self->last_ms < 5)
        return;
    char id[32];
    snprintf (id, sizeof id, "status-%ld", ++self->asked);
    if (client_send (self->client, "Status", NULL, id) == 0)
        self->asked_ms = self->last_ms = now_ms ? now_ms : 1;
}

bool
benchbus_sink_read (benchbus_sink_t *self)
{
    bool answered = false;
    Crm__V1__Reply *reply = NULL;
    while (client_recv (self->client, 0, &reply) == 0) {
        Crm__V1__StatusReply *status =
            reply->error ? NULL
                         : crm__v1__status_reply__unpack (NULL, reply->payload.len, reply->payload.data);
        for (size_t i = 0; status && i < status->n_sources; i++)
            if (strcmp (status->sources[i]->source, self->source) == 0)
                self->applied = status->sources[i]->applied_sequence;
        answered |= status != NULL;
        self->asked_ms = 0;
        crm__v1__status_reply__free_unpacked (status, NULL);
        crm__v1__reply__free_unpacked (reply, NULL);
    }
    return answered;
}

uint64_t
benchbus_sink_applied (const benchbus_sink_t *self)
{
    return self->applied;
}
