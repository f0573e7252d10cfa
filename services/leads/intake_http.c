/*  intake_http: see intake_http.h. */
#include "intake_http.h"
#include "config.h"
#include "log.h"
#include "utf8.h"
#include "crm/v1/leads.pb-c.h"

#include <ctype.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define KEY_MIN 16  // bytes: shorter keys are guessable
#define KEY_MAX 256
#define SOURCE_MAX 100  // as lead_validate's source_system
#define DIGEST 32       // SHA-256
#define MAX_BAD_FIELDS 16

typedef struct {
    char source[SOURCE_MAX + 1];
    unsigned char digest[DIGEST];
} api_key_t;

struct intake_http_t {
    api_key_t *keys;
    size_t count;
    size_t cap;
};

//  What the answer's log line needs, kept with the request (http_data).
typedef struct {
    char source[SOURCE_MAX + 1];
    char external_id[201];
} note_t;

//  --------------------------------------------------------------------------
//  Keys

static bool
s_digest (const char *key, size_t len, unsigned char digest[DIGEST])
{
    unsigned int n = 0;
    return EVP_Digest (key, len, digest, &n, EVP_sha256 (), NULL) == 1 && n == DIGEST;
}

//  Adds source's key; where names the setting (e.g. "keys.txt:3") for the
//  error, which quotes nothing of the line: a line written the wrong way
//  round would have the key where the source system should be.
static int
s_add_key (intake_http_t *self, const char *source, const char *key, const char *where, char *err,
           size_t size)
{
    size_t source_len = strlen (source), key_len = strlen (key);
    if (source_len == 0 || source_len > SOURCE_MAX || !utf8_valid (source)) {
        snprintf (err, size, "%s: the source system must be 1 to %d bytes of UTF-8", where, SOURCE_MAX);
        return -1;
    }
    bool printable = true;
    for (const char *p = key; *p; p++)
        printable &= *p > 0x20 && *p < 0x7f;
    if (key_len < KEY_MIN || key_len > KEY_MAX || !printable) {
        snprintf (err, size, "%s: the key must be %d to %d printable ASCII characters, no spaces", where,
                  KEY_MIN, KEY_MAX);
        return -1;
    }
    api_key_t entry;
    snprintf (entry.source, sizeof entry.source, "%s", source);
    if (!s_digest (key, key_len, entry.digest)) {
        snprintf (err, size, "%s: cannot hash the key (libcrypto)", where);
        return -1;
    }
    for (size_t i = 0; i < self->count; i++)
        if (memcmp (self->keys[i].digest, entry.digest, DIGEST) == 0) {
            snprintf (err, size, "%s: the same key is given before (a key names one source system, once)",
                      where);
            return -1;
        }
    if (self->count == self->cap) {
        size_t cap = self->cap ? self->cap * 2 : 8;
        api_key_t *keys = realloc (self->keys, cap * sizeof *keys);
        if (!keys) {
            snprintf (err, size, "out of memory");
            return -1;
        }
        self->keys = keys;
        self->cap = cap;
    }
    self->keys[self->count++] = entry;
    return 0;
}

static int
s_load_file (intake_http_t *self, const char *path, char *err, size_t size)
{
    FILE *file = fopen (path, "r");
    if (!file) {
        snprintf (err, size, "CRM_LEADS_API_KEYS_FILE: cannot read %s", path);
        return -1;
    }
    char *line = NULL;
    size_t cap = 0;
    int rc = 0, number = 0;
    while (rc == 0 && getline (&line, &cap, file) >= 0) {
        number++;
        char where[300], *save = NULL;
        snprintf (where, sizeof where, "%s:%d", path, number);
        char *source = strtok_r (line, " \t\r\n", &save);
        if (!source || *source == '#')
            continue;
        char *key = strtok_r (NULL, " \t\r\n", &save);
        char *extra = key ? strtok_r (NULL, " \t\r\n", &save) : NULL;
        if (!key || (extra && *extra != '#')) {
            snprintf (err, size, "%s: expected 'source_system key'", where);
            rc = -1;
        }
        else
            rc = s_add_key (self, source, key, where, err, size);
    }
    if (line)
        explicit_bzero (line, cap);
    free (line);
    fclose (file);
    return rc;
}

static int
s_load_list (intake_http_t *self, const char *list, char *err, size_t size)
{
    char *copy = strdup (list), *save = NULL;
    if (!copy) {
        snprintf (err, size, "out of memory");
        return -1;
    }
    int rc = 0, number = 0;
    for (char *item = strtok_r (copy, ", \t", &save); rc == 0 && item;
         item = strtok_r (NULL, ", \t", &save)) {
        char where[64];
        snprintf (where, sizeof where, "CRM_LEADS_API_KEYS, entry %d", ++number);
        char *eq = strchr (item, '=');
        if (!eq) {
            snprintf (err, size, "%s: expected source_system=key", where);
            rc = -1;
            break;
        }
        *eq = 0;
        rc = s_add_key (self, item, eq + 1, where, err, size);
    }
    explicit_bzero (copy, strlen (list));
    free (copy);
    return rc;
}

//  The source system whose key the request carries, or NULL with why.
static const char *
s_authenticate (intake_http_t *self, http_request_t *req, const char **why)
{
    const char *key = NULL, *auth = http_header (req, "Authorization");
    if (auth && strncasecmp (auth, "Bearer ", 7) == 0)
        for (key = auth + 7; *key == ' '; key++)
            ;
    else if (!auth)
        key = http_header (req, "X-API-Key");
    if (!key || !*key) {
        *why =
            auth ? "the Authorization header is not 'Bearer KEY'" : "no API key (Authorization: Bearer KEY)";
        return NULL;
    }
    unsigned char digest[DIGEST];
    if (!s_digest (key, strlen (key), digest)) {
        *why = "cannot hash the key";
        return NULL;
    }
    //  Every key is compared, whatever matched, so that timing says nothing.
    const char *found = NULL;
    for (size_t i = 0; i < self->count; i++)
        if (CRYPTO_memcmp (self->keys[i].digest, digest, DIGEST) == 0)
            found = self->keys[i].source;
    *why = found ? NULL : "unknown API key";
    return found;
}

//  --------------------------------------------------------------------------
//  Answers

//  {"error":{"code","message","fields"}}; logs the refusal.
static void
s_refuse (http_request_t *req, int status, const char *code, const char *message, const char *const *fields,
          size_t n_fields)
{
    note_t *note = http_data (req, sizeof *note);
    char text[8];
    snprintf (text, sizeof text, "%d", status);
    log_warn ("http lead refused", "status", text, "code", code, "error", message, "peer", http_peer (req),
              "source_system", note && *note->source ? note->source : NULL, "external_id",
              note && *note->external_id ? note->external_id : NULL, NULL);
    if (status == 401)
        http_add_header (req, "WWW-Authenticate", "Bearer");
    if (status == 503)
        http_add_header (req, "Retry-After", "1");
    http_respond_error (req, status, code, message, fields, n_fields);
}

//  The SubmitLead's reply, after the batch's commit.
static void
s_done (service_t *svc, const Crm__V1__Reply *reply, void *arg)
{
    (void) svc;
    http_request_t *req = arg;
    if (reply->error) {
        const char *code = reply->error->code;
        int status = strcmp (code, "INVALID_ARGUMENT") == 0 || strcmp (code, "MALFORMED") == 0 ? 400
                   : strcmp (code, "TOO_LARGE") == 0                                           ? 413
                   : strcmp (code, "UNAVAILABLE") == 0                                         ? 503
                                                                                               : 500;
        s_refuse (req, status, code, reply->error->message, (const char *const *) reply->error->fields,
                  reply->error->n_fields);
        return;
    }
    Crm__V1__SubmitLeadReply *result =
        crm__v1__submit_lead_reply__unpack (NULL, reply->payload.len, reply->payload.data);
    if (!result) {
        s_refuse (req, 500, "INTERNAL", "the lead's reply did not decode", NULL, 0);
        return;
    }
    json_object *root = json_object_new_object ();
    int rc = http_json_add (root, "lead_id", json_object_new_uint64 (result->lead_id));
    rc |= http_json_add (root, "created", json_object_new_boolean (result->created));
    if (rc != 0) {
        json_object_put (root);
        root = NULL;  // out of memory: http_respond_json answers 500
    }
    note_t *note = http_data (req, sizeof *note);
    char id[24], correlation[32];
    snprintf (correlation, sizeof correlation, "lead:%" PRIu64, result->lead_id);
    log_info ("http lead accepted", "status", result->created ? "201" : "200", "lead_id",
              log_u64 (id, result->lead_id), "correlation_id", correlation, "source_system",
              note ? note->source : NULL, "external_id", note ? note->external_id : NULL, "peer",
              http_peer (req), NULL);
    http_respond_json (req, result->created ? 201 : 200, root);
    crm__v1__submit_lead_reply__free_unpacked (result, NULL);
}

//  --------------------------------------------------------------------------
//  POST /v1/leads

//  Reads field of the body into *out (a string of the JSON tree, or of buf
//  for a number). Returns false when its type is wrong.
static bool
s_field (json_object *value, bool numeric, const char **out, char *buf, size_t size)
{
    json_type type = json_object_get_type (value);
    if (type == json_type_null)
        *out = "";
    else if (type == json_type_string) {
        *out = json_object_get_string (value);
        return strlen (*out) == (size_t) json_object_get_string_len (value);  // no NUL inside
    }
    else if (numeric && type == json_type_int && json_object_get_int64 (value) >= 0) {
        snprintf (buf, size, "%" PRId64, json_object_get_int64 (value));
        *out = buf;
    }
    else
        return false;
    return true;
}

//  Fills lead from the body's object; names the fields that are not of
//  LeadReceived or of the wrong type in bad. Returns their count.
static size_t
s_read_lead (json_object *body, Crm__V1__LeadReceived *lead, char numbers[2][24], const char **bad)
{
    static const char *names[] = {"source_system", "external_id", "name",    "phone",
                                  "email",         "company",     "comment", "responsible"};
    char **slots[] = {&lead->source_system, &lead->external_id, &lead->name,    &lead->phone,
                      &lead->email,         &lead->company,     &lead->comment, &lead->responsible};
    size_t n_bad = 0;
    json_object_object_foreach (body, key, value)
    {
        size_t i = 0;
        while (i < 8 && strcmp (names[i], key) != 0)
            i++;
        bool numeric = i == 1 || i == 3;  // ids and phone numbers often come as numbers
        const char *text = NULL;
        if (i < 8 && s_field (value, numeric, &text, numbers[i == 3], sizeof numbers[0]))
            *slots[i] = (char *) text;
        else if (n_bad < MAX_BAD_FIELDS)
            bad[n_bad++] = i < 8 ? names[i] : key;
    }
    return n_bad;
}

static json_object *
s_parse (const char *body, size_t len, const char **why)
{
    while (len > 0 && isspace ((unsigned char) body[len - 1]))
        len--;
    json_tokener *tok = json_tokener_new ();
    if (!tok) {
        *why = "out of memory";
        return NULL;
    }
    json_tokener_set_flags (tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    json_object *root = json_tokener_parse_ex (tok, body, (int) len);
    enum json_tokener_error jerr = json_tokener_get_error (tok);
    if (root && (jerr != json_tokener_success || json_tokener_get_parse_end (tok) != len)) {
        json_object_put (root);
        root = NULL;
    }
    if (!root)
        *why = jerr == json_tokener_continue ? "the JSON ends too early"
             : jerr != json_tokener_success  ? json_tokener_error_desc (jerr)
                                             : "text after the JSON object";
    json_tokener_free (tok);
    if (root && !json_object_is_type (root, json_type_object)) {
        json_object_put (root);
        root = NULL;
        *why = "the body must be a JSON object";
    }
    return root;
}

static void
s_post (service_t *svc, http_request_t *req, void *arg)
{
    intake_http_t *self = arg;
    note_t *note = http_data (req, sizeof *note);
    if (!note) {
        http_respond (req, 500, "text/plain", "out of memory\n", 14);
        return;
    }
    const char *why = NULL, *source = s_authenticate (self, req, &why);
    if (!source) {
        s_refuse (req, 401, "UNAUTHENTICATED", why, NULL, 0);
        return;
    }
    snprintf (note->source, sizeof note->source, "%s", source);
    const char *type = http_header (req, "Content-Type");
    if (type && strncasecmp (type, "application/json", 16) != 0) {
        s_refuse (req, 415, "MALFORMED", "the body must be application/json", NULL, 0);
        return;
    }
    size_t len;
    const char *text = http_body (req, &len);
    json_object *body = s_parse (text, len, &why);
    if (!body) {
        char message[256];
        snprintf (message, sizeof message, "the body is not a JSON object: %s", why);
        s_refuse (req, 400, "MALFORMED", message, NULL, 0);
        return;
    }
    Crm__V1__LeadReceived lead = CRM__V1__LEAD_RECEIVED__INIT;
    char numbers[2][24];
    const char *bad[MAX_BAD_FIELDS];
    size_t n_bad = s_read_lead (body, &lead, numbers, bad);
    snprintf (note->external_id, sizeof note->external_id, "%s", lead.external_id);
    utf8_scrub (note->external_id);
    if (n_bad) {
        s_refuse (req, 400, "INVALID_ARGUMENT",
                  "unknown fields, or of the wrong type (strings; external_id and phone may be numbers)", bad,
                  n_bad);
        json_object_put (body);
        return;
    }
    if (*lead.source_system && strcmp (lead.source_system, source) != 0) {
        char message[300];
        snprintf (message, sizeof message, "this API key is for source system '%s', not the body's", source);
        s_refuse (req, 401, "UNAUTHENTICATED", message, (const char *[]){"source_system"}, 1);
        json_object_put (body);
        return;
    }
    lead.source_system = (char *) source;

    //  SubmitLead, as if from the command endpoint.
    char command_id[160];
    snprintf (command_id, sizeof command_id, "http:%.60s:%.90s", source, lead.external_id);
    utf8_scrub (command_id);
    size_t size = crm__v1__lead_received__get_packed_size (&lead);
    uint8_t *payload = malloc (size ? size : 1);
    int rc = -1;
    if (payload) {
        crm__v1__lead_received__pack (&lead, payload);
        Crm__V1__Command command = CRM__V1__COMMAND__INIT;
        command.type = "SubmitLead";
        command.command_id = command_id;
        command.sender = (char *) source;
        command.payload.data = payload;
        command.payload.len = size;
        //  Deferred first: the answer may come before service_submit returns.
        http_defer (req);
        rc = service_submit (svc, &command, s_done, req);
    }
    free (payload);
    json_object_put (body);
    if (rc)
        s_refuse (req, 500, "INTERNAL", "out of memory", NULL, 0);
}

//  --------------------------------------------------------------------------

intake_http_t *
intake_http_new (char *err, size_t err_size)
{
    intake_http_t *self = calloc (1, sizeof *self);
    if (!self) {
        snprintf (err, err_size, "out of memory");
        return NULL;
    }
    const char *file = config_str ("CRM_LEADS_API_KEYS_FILE", NULL);
    const char *list = config_str ("CRM_LEADS_API_KEYS", NULL);
    if ((file && s_load_file (self, file, err, err_size))
        || (list && s_load_list (self, list, err, err_size))) {
        intake_http_destroy (&self);
        return NULL;
    }
    return self;
}

void
intake_http_serve (intake_http_t *self, service_t *svc)
{
    service_on_http (svc, "POST", "/v1/leads", s_post, self);
}

void
intake_http_destroy (intake_http_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    intake_http_t *self = *self_p;
    free (self->keys);
    free (self);
    *self_p = NULL;
}

size_t
intake_http_keys (const intake_http_t *self)
{
    return self->count;
}
