/*  config: a service's settings, from environment variables with defaults.

    Every variable and its default is listed in docs/operations.md. Ports:
    each service has a base port P (CRM_<NAME>_PORT): its command endpoint
    listens on P, its PUB socket on P+1, its replay endpoint on P+2 (the
    leads intake on P+3), its HTTP server (metrics, health, the leads' HTTP
    intake) on CRM_<NAME>_HTTP_PORT, default P+5. Peers are found at
    CRM_<NAME>_HOST (default 127.0.0.1) and that same base port.
*/
#ifndef CRM_CONFIG_H
#define CRM_CONFIG_H

#include <stddef.h>

#define CONFIG_MAX_SOURCES 8
#define CONFIG_MAX_MESSAGE_BYTES_DEFAULT (16 << 20)  // CRM_MAX_MESSAGE_BYTES: a 10 MiB attachment fits
#define CONFIG_NAME_MAX 16
#define CONFIG_HTTP_OFFSET 5                         // the HTTP port's default: base port + 5
#define CONFIG_HTTP_MAX_BODY_DEFAULT (64 << 10)

enum { CONFIG_CMD = 0, CONFIG_PUB = 1, CONFIG_REPLAY = 2, CONFIG_INTAKE = 3 };

typedef struct {
    char service[CONFIG_NAME_MAX];      // leads, deals, tasks, notifier, timer
    char bind_addr[64];                 // CRM_BIND_ADDR, default 127.0.0.1
    int base_port;                      // CRM_<NAME>_PORT
    int http_port;                      // CRM_<NAME>_HTTP_PORT, default base_port + 5; 0: none
    int http_max_body;                  // CRM_HTTP_MAX_BODY_BYTES, default 64 KiB
    char sources[CONFIG_MAX_SOURCES][CONFIG_NAME_MAX];  // CRM_<NAME>_SOURCES
    int source_count;
    int heartbeat_ms;                   // CRM_HEARTBEAT_MS, default 1000
    int replay_timeout_ms;              // CRM_REPLAY_TIMEOUT_MS, default 2000
    int batch_max;                      // CRM_BATCH_MAX, default 1000 (events per transaction)
    int outbox_retention_s;             // CRM_OUTBOX_RETENTION_S, default 7 days
    int max_message_bytes;              // CRM_MAX_MESSAGE_BYTES, default 16 MiB
    char db_user[64];                   // CRM_DB_USER, default crm_<name>
    char db_password[128];              // CRM_DB_PASSWORD, default unset (libpq's own)
} config_t;

/*  Fills cfg for the named service from the environment. On a malformed or
    out-of-range variable returns -1 and writes one sentence naming it into
    err (errsize bytes); returns 0 on success. */
int config_load (config_t *cfg, const char *service, char *err, size_t errsize);

/*  Base port of a known service (CRM_<NAME>_PORT or its default), or -1 for
    an unknown name or a malformed variable. */
int config_base_port (const char *service);

/*  Writes the endpoint "tcp://host:port" where peers reach the socket of
    the given kind (CONFIG_CMD, CONFIG_PUB, CONFIG_REPLAY, CONFIG_INTAKE) of a
    service into out (size bytes). Returns 0, or -1 for an unknown service. */
int config_peer_endpoint (const char *service, int kind, char *out, size_t size);

/*  Writes the endpoint this service binds for a socket kind: "tcp://" +
    bind_addr + port. Returns 0, or -1 if out is too short. */
int config_bind_endpoint (const config_t *cfg, int kind, char *out, size_t size);

/*  Reads an environment variable as a string: returns its value, or dflt
    when unset or empty. The returned pointer is the environment's or dflt;
    not owned by the caller. */
const char *config_str (const char *name, const char *dflt);

/*  Reads an integer variable into *out (dflt when unset). Returns 0, or -1
    if it is not a decimal integer within [min, max]. */
int config_int (const char *name, int dflt, int min, int max, int *out);

#endif
