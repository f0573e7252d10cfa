/*  config: see config.h. */
#define _POSIX_C_SOURCE 200809L
#include "config.h"

#include <ctype.h>
#include <stdbool.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
    const char *name;
    int port;
    const char *sources;    // who it listens to by default
} s_services[] = {
    {"leads", 5550, "tasks,timer"},
    {"deals", 5560, "leads,tasks,timer"},
    {"tasks", 5570, "leads,deals,timer"},
    {"notifier", 5580, "leads,deals,tasks,timer"},
    {"timer", 5590, "leads,deals,tasks"},
    {"bench", 5600, ""},
    {"benchsink", 5610, "bench"},  // bench/benchsink.c: the bus bench's subscriber
};

const char *
config_str (const char *name, const char *dflt)
{
    const char *value = getenv (name);
    return value && *value ? value : dflt;
}

int
config_int (const char *name, int dflt, int min, int max, int *out)
{
    const char *value = getenv (name);
    if (!value || !*value) {
        *out = dflt;
        return 0;
    }
    char *end;
    errno = 0;
    long n = strtol (value, &end, 10);
    if (errno || *end || n < min || n > max)
        return -1;
    *out = (int) n;
    return 0;
}

static void
s_var (char *out, size_t size, const char *service, const char *suffix)
{
    int n = snprintf (out, size, "CRM_%s_%s", service, suffix);
    for (int i = 4; i < n && out[i]; i++)
        out[i] = (char) toupper ((unsigned char) out[i]);
}

int
config_base_port (const char *service)
{
    for (size_t i = 0; i < sizeof s_services / sizeof s_services[0]; i++)
        if (strcmp (s_services[i].name, service) == 0) {
            char var[64];
            int port;
            s_var (var, sizeof var, service, "PORT");
            if (config_int (var, s_services[i].port, 1, 65532, &port))
                return -1;
            return port;
        }
    return -1;
}

int
config_peer_endpoint (const char *service, int kind, char *out, size_t size)
{
    int port = config_base_port (service);
    if (port < 0)
        return -1;
    char var[64];
    s_var (var, sizeof var, service, "HOST");
    int n = snprintf (out, size, "tcp://%s:%d", config_str (var, "127.0.0.1"), port + kind);
    return n < 0 || (size_t) n >= size ? -1 : 0;
}

int
config_bind_endpoint (const config_t *cfg, int kind, char *out, size_t size)
{
    int n = snprintf (out, size, "tcp://%s:%d", cfg->bind_addr, cfg->base_port + kind);
    return n < 0 || (size_t) n >= size ? -1 : 0;
}

static bool
s_known (const char *service)
{
    for (size_t i = 0; i < sizeof s_services / sizeof s_services[0]; i++)
        if (strcmp (s_services[i].name, service) == 0)
            return true;
    return false;
}

static int
s_parse_sources (config_t *cfg, const char *list, char *err, size_t errsize)
{
    char copy[256];
    snprintf (copy, sizeof copy, "%s", list);
    char *save = NULL;
    char var[64], port_var[64];
    s_var (var, sizeof var, cfg->service, "SOURCES");
    if (strcmp (list, "none") == 0)
        return 0;
    for (char *tok = strtok_r (copy, ", ", &save); tok; tok = strtok_r (NULL, ", ", &save)) {
        if (!s_known (tok) || strcmp (tok, cfg->service) == 0) {
            snprintf (err, errsize, "%s: '%s' is not another known service", var, tok);
            return -1;
        }
        s_var (port_var, sizeof port_var, tok, "PORT");
        if (config_base_port (tok) < 0) {
            snprintf (err, errsize, "%s must be a port number from 1 to 65532", port_var);
            return -1;
        }
        for (int i = 0; i < cfg->source_count; i++)
            if (strcmp (cfg->sources[i], tok) == 0) {
                snprintf (err, errsize, "%s: '%s' is listed twice", var, tok);
                return -1;
            }
        if (cfg->source_count == CONFIG_MAX_SOURCES) {
            snprintf (err, errsize, "%s: more than %d sources", var, CONFIG_MAX_SOURCES);
            return -1;
        }
        snprintf (cfg->sources[cfg->source_count++], CONFIG_NAME_MAX, "%s", tok);
    }
    return 0;
}

int
config_load (config_t *cfg, const char *service, char *err, size_t errsize)
{
    memset (cfg, 0, sizeof *cfg);
    snprintf (cfg->service, sizeof cfg->service, "%s", service);
    const char *dflt_sources = NULL;
    for (size_t i = 0; i < sizeof s_services / sizeof s_services[0]; i++)
        if (strcmp (s_services[i].name, service) == 0)
            dflt_sources = s_services[i].sources;
    if (!dflt_sources) {
        snprintf (err, errsize, "unknown service '%s'", service);
        return -1;
    }
    cfg->base_port = config_base_port (service);
    if (cfg->base_port < 0) {
        char var[64];
        s_var (var, sizeof var, service, "PORT");
        snprintf (err, errsize, "%s must be a port number from 1 to 65532", var);
        return -1;
    }
    snprintf (cfg->bind_addr, sizeof cfg->bind_addr, "%s", config_str ("CRM_BIND_ADDR", "127.0.0.1"));
    char http_var[64];
    s_var (http_var, sizeof http_var, service, "HTTP_PORT");
    int http_dflt = cfg->base_port + CONFIG_HTTP_OFFSET;
    if (config_int (http_var, http_dflt <= 65535 ? http_dflt : -1, 0, 65535, &cfg->http_port)) {
        snprintf (err, errsize, "%s must be a port number from 1 to 65535, or 0 for no HTTP server",
                  http_var);
        return -1;
    }
    if (cfg->http_port < 0) {
        snprintf (err, errsize,
                  "%s is unset and the base port + %d is past 65535: set it (0: no HTTP server)", http_var,
                  CONFIG_HTTP_OFFSET);
        return -1;
    }

    static const struct {
        const char *var;
        int dflt, min, max;
        size_t offset;
    } ints[] = {
        {"CRM_HEARTBEAT_MS", 1000, 10, 60000, offsetof (config_t, heartbeat_ms)},
        {"CRM_REPLAY_TIMEOUT_MS", 2000, 50, 600000, offsetof (config_t, replay_timeout_ms)},
        {"CRM_BATCH_MAX", 1000, 1, 100000, offsetof (config_t, batch_max)},
        {"CRM_OUTBOX_RETENTION_S", 7 * 86400, 60, 365 * 86400, offsetof (config_t, outbox_retention_s)},
        {"CRM_MAX_MESSAGE_BYTES", CONFIG_MAX_MESSAGE_BYTES_DEFAULT, 1024, 64 << 20,
         offsetof (config_t, max_message_bytes)},
        {"CRM_HTTP_MAX_BODY_BYTES", CONFIG_HTTP_MAX_BODY_DEFAULT, 256, 16 << 20,
         offsetof (config_t, http_max_body)},
    };
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++)
        if (config_int (ints[i].var, ints[i].dflt, ints[i].min, ints[i].max,
                        (int *) ((char *) cfg + ints[i].offset))) {
            snprintf (err, errsize, "%s must be an integer from %d to %d", ints[i].var, ints[i].min,
                      ints[i].max);
            return -1;
        }

    char var[64];
    s_var (var, sizeof var, service, "SOURCES");
    if (s_parse_sources (cfg, config_str (var, dflt_sources), err, errsize))
        return -1;

    char dflt_user[64];
    snprintf (dflt_user, sizeof dflt_user, "crm_%s", service);
    snprintf (cfg->db_user, sizeof cfg->db_user, "%s", config_str ("CRM_DB_USER", dflt_user));
    snprintf (cfg->db_password, sizeof cfg->db_password, "%s", config_str ("CRM_DB_PASSWORD", ""));
    return 0;
}
