/*  pipeline_staff: the staff directory of pipeline.h (staff_*): who holds
    each role, the company's time zone, how new leads are assigned.
*/
#include "config.h"
#include "pipeline.h"
#include "pipeline_private.h"
#include "tz.h"
#include "utf8.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool
s_holds (const staff_person_t *person, const char *role)
{
    for (size_t i = 0; i < person->n_roles; i++)
        if (strcmp (person->roles[i], role) == 0)
            return true;
    return false;
}

static int
s_roles_ref (yamltree_t *t, const yaml_node_t *item, const char *role)
{
    if (pipeline_want_word (t, item, "role", role, PIPELINE_NAME_CHARS))
        return -1;
    if (strcmp (role, "responsible") == 0)
        return yamltree_fail (t, item,
                              "'responsible' is not a role: rules use it for a record's responsible");
    return 0;
}

//  An e-mail address as SMTP takes it in MAIL/RCPT and a header takes it
//  bare: printable ASCII, no blanks, angle brackets, quotes or commas, one
//  '@' between a local part and a domain with a dot.
static bool
s_address (const char *text)
{
    const char *at = strchr (text, '@');
    if (!at || at == text || strchr (at + 1, '@') || !strchr (at + 1, '.') || strlen (text) > 254)
        return false;
    for (const unsigned char *p = (const unsigned char *) text; *p; p++)
        if (*p <= ' ' || *p >= 0x7f || strchr ("<>()[],;:\\\"", *p))
            return false;
    const char *last = text + strlen (text) - 1;
    return at[1] != '.' && *last != '.';
}

//  An http(s) URL with a host and nothing a request line cannot carry.
static bool
s_url (const char *text)
{
    const char *rest = strncmp (text, "https://", 8) == 0 ? text + 8
                     : strncmp (text, "http://", 7) == 0  ? text + 7
                                                          : NULL;
    if (!rest || !*rest || *rest == '/' || strlen (text) > 2000)
        return false;
    for (const unsigned char *p = (const unsigned char *) text; *p; p++)
        if (*p <= ' ' || *p >= 0x7f)
            return false;
    return true;
}

static bool
s_env_name (const char *text)
{
    if (!*text || isdigit ((unsigned char) *text))
        return false;
    for (const char *p = text; *p; p++)
        if (!isupper ((unsigned char) *p) && !isdigit ((unsigned char) *p) && *p != '_')
            return false;
    return true;
}

static int
s_webhook (yamltree_t *t, staff_channel_t *ch, const yaml_node_t *node)
{
    static const char *const keys[] = {"url", "secret_env", "secret_file", NULL};
    if (yamltree_want_map (t, node, "'webhook'"))
        return -1;
    yaml_node_t *inline_secret = yamltree_key (t, node, "secret");
    if (inline_secret)
        return yamltree_fail (t, inline_secret,
                              "a secret never goes in this file: name the variable holding it with "
                              "secret_env (or a mounted file with secret_file)");
    if (yamltree_keys (t, node, "'webhook'", keys))
        return -1;
    yaml_node_t *url = yamltree_need (t, node, "url");
    const char *text = url ? yamltree_scalar (t, url, "'url'") : NULL;
    if (!text)
        return -1;
    if (!s_url (text))
        return yamltree_fail (
            t, url, "webhook url '%s' must be an http:// or https:// URL with a host (no blanks)", text);
    if (!(ch->url = pipeline_dup (t, url, text)))
        return -1;
    int bad = 0;
    const char *env = yamltree_opt_scalar (t, node, "secret_env", &bad);
    const char *file = yamltree_opt_scalar (t, node, "secret_file", &bad);
    if (bad)
        return -1;
    if (!env && !file)
        return yamltree_fail (t, node,
                              "webhook needs secret_env (the name of the variable holding its HMAC key) "
                              "or secret_file");
    if (env && file)
        return yamltree_fail (t, node, "webhook: give secret_env or secret_file, not both");
    if (env && !s_env_name (env))
        return yamltree_fail (t, yamltree_get (t, node, "secret_env"),
                              "secret_env '%s' must be a variable name (A-Z, 0-9, _)", env);
    if (file && file[0] != '/')
        return yamltree_fail (t, yamltree_get (t, node, "secret_file"),
                              "secret_file '%s' must be an absolute path", file);
    if (env && !(ch->secret_env = pipeline_dup (t, node, env)))
        return -1;
    if (file && !(ch->secret_file = pipeline_dup (t, node, file)))
        return -1;
    return 0;
}

static int
s_email (yamltree_t *t, staff_channel_t *ch, const yaml_node_t *node)
{
    static const char *const keys[] = {"to", NULL};
    if (yamltree_want_map (t, node, "'email'") || yamltree_keys (t, node, "'email'", keys))
        return -1;
    yaml_node_t *to = yamltree_need (t, node, "to");
    const char *text = to ? yamltree_scalar (t, to, "'to'") : NULL;
    if (!text)
        return -1;
    if (!s_address (text))
        return yamltree_fail (t, to, "'to' must be one e-mail address like name@example.com, got '%s'", text);
    return (ch->to = pipeline_dup (t, to, text)) ? 0 : -1;
}

static int
s_channels (yamltree_t *t, staff_person_t *person, const yaml_node_t *node)
{
    static const char *const kinds[] = {"webhook", "email", NULL};
    if (yamltree_want_seq (t, node, "'channels'"))
        return -1;
    if (!(person->channels = calloc (yamltree_len (node) + 1, sizeof *person->channels)))
        return yamltree_fail (t, node, "out of memory");
    for (size_t i = 0; i < yamltree_len (node); i++) {
        yaml_node_t *item = yamltree_item (t, node, i);
        if (yamltree_want_map (t, item, "each channel") || yamltree_keys (t, item, "each channel", kinds))
            return -1;
        if (yamltree_len (item) != 1)
            return yamltree_fail (t, item,
                                  "each channel is one item: '- webhook: {...}' or '- email: {...}'");
        yaml_node_t *key, *value;
        yamltree_pair (t, item, 0, &key, &value);
        staff_channel_t *ch = &person->channels[person->n_channels++];
        ch->line = yamltree_line (item);
        ch->kind =
            strcmp ((const char *) key->data.scalar.value, "webhook") == 0 ? STAFF_WEBHOOK : STAFF_EMAIL;
        if (ch->kind == STAFF_WEBHOOK ? s_webhook (t, ch, value) : s_email (t, ch, value))
            return -1;
        for (size_t j = 0; j + 1 < person->n_channels; j++) {
            const staff_channel_t *other = &person->channels[j];
            if (other->kind == ch->kind
                && strcmp (ch->kind == STAFF_WEBHOOK ? other->url : other->to,
                           ch->kind == STAFF_WEBHOOK ? ch->url : ch->to)
                       == 0)
                return yamltree_fail (t, item, "the same %s channel twice ('%s')", kinds[ch->kind],
                                      ch->kind == STAFF_WEBHOOK ? ch->url : ch->to);
        }
    }
    return 0;
}

static int
s_person (yamltree_t *t, staff_t *self, const yaml_node_t *node, size_t index)
{
    static const char *const keys[] = {"login", "name", "roles", "channels", NULL};
    staff_person_t *person = &self->people[index];
    yamltree_context (t, "person #%zu", index + 1);
    if (yamltree_want_map (t, node, "each person"))
        return -1;
    yaml_node_t *login = yamltree_need (t, node, "login");
    const char *text = login ? yamltree_scalar (t, login, "'login'") : NULL;
    if (!text || pipeline_want_word (t, login, "login", text, PIPELINE_LOGIN_CHARS))
        return -1;
    if (staff_find (self, text))
        return yamltree_fail (t, login, "login '%s' given twice", text);
    if (!(person->login = pipeline_dup (t, login, text)))
        return -1;
    self->n_people++;
    yamltree_context (t, "person '%s'", text);
    if (yamltree_keys (t, node, "each person", keys))
        return -1;
    yaml_node_t *name = yamltree_need (t, node, "name");
    if (!name || !(text = yamltree_scalar (t, name, "'name'")))
        return -1;
    if (!*text || !utf8_valid (text))
        return yamltree_fail (t, name, "'name' must be a non-empty UTF-8 text");
    if (!(person->name = pipeline_dup (t, name, text)))
        return -1;
    yaml_node_t *roles = yamltree_need (t, node, "roles");
    if (!roles || yamltree_want_seq (t, roles, "'roles'"))
        return -1;
    if (yamltree_len (roles) == 0)
        return yamltree_fail (t, roles, "'roles' is empty: give at least one");
    if (!(person->roles = calloc (yamltree_len (roles), sizeof (char *))))
        return yamltree_fail (t, roles, "out of memory");
    for (size_t i = 0; i < yamltree_len (roles); i++) {
        yaml_node_t *item = yamltree_item (t, roles, i);
        const char *role = yamltree_scalar (t, item, "each role");
        if (!role || s_roles_ref (t, item, role))
            return -1;
        if (s_holds (person, role))
            return yamltree_fail (t, item, "role '%s' twice", role);
        if (!(person->roles[person->n_roles] = pipeline_dup (t, item, role)))
            return -1;
        person->n_roles++;
    }
    yaml_node_t *channels = yamltree_get (t, node, "channels");
    return channels ? s_channels (t, person, channels) : 0;
}

staff_t *
staff_load (const char *path, const char *time_zone_override, char *err, size_t err_size)
{
    static const char *const keys[] = {"time_zone", "lead_assignment", "staff", NULL};
    yamltree_t *t = yamltree_load (path, err, err_size);
    if (!t)
        return NULL;
    yaml_node_t *root = yamltree_root (t);
    staff_t *self = calloc (1, sizeof *self);
    if (!self || !(self->path = strdup (path))) {
        yamltree_fail (t, root, "out of memory");
        goto cleanup;
    }
    if (yamltree_keys (t, root, "the staff file", keys))
        goto cleanup;

    yaml_node_t *zone = yamltree_need (t, root, "time_zone");
    const char *text = zone ? yamltree_scalar (t, zone, "'time_zone'") : NULL;
    if (!text)
        goto cleanup;
    bool overridden = time_zone_override && *time_zone_override;
    if (overridden)
        text = time_zone_override;
    if (!tz_exists (text)) {
        yamltree_fail (t, zone, "%stime zone '%s' is unknown (not in tzdata; e.g. Europe/Moscow)",
                       overridden ? "CRM_TIME_ZONE: " : "", text);
        goto cleanup;
    }
    if (!(self->time_zone = pipeline_dup (t, zone, text)))
        goto cleanup;

    yaml_node_t *people = yamltree_need (t, root, "staff");
    if (!people || yamltree_want_seq (t, people, "'staff'"))
        goto cleanup;
    if (yamltree_len (people) == 0) {
        yamltree_fail (t, people, "'staff' is empty: list the people and their roles");
        goto cleanup;
    }
    if (!(self->people = calloc (yamltree_len (people), sizeof *self->people))) {
        yamltree_fail (t, people, "out of memory");
        goto cleanup;
    }
    for (size_t i = 0; i < yamltree_len (people); i++)
        if (s_person (t, self, yamltree_item (t, people, i), i))
            goto cleanup;
    yamltree_context (t, "%s", "");

    yaml_node_t *assign = yamltree_need (t, root, "lead_assignment");
    if (!assign || !(text = yamltree_scalar (t, assign, "'lead_assignment'")))
        goto cleanup;
    const staff_person_t *person = staff_find (self, text);
    if (strcmp (text, "round_robin") == 0) {
        if (staff_holders (self, "manager", NULL, 0) == 0)
            yamltree_fail (t, assign, "lead_assignment: round_robin needs someone with role manager");
    }
    else if (!person)
        yamltree_fail (t, assign, "lead_assignment: '%s' is neither round_robin nor a login in 'staff'",
                       text);
    else if (!s_holds (person, "manager"))
        yamltree_fail (t, assign, "lead_assignment: '%s' does not hold role manager", text);
    if (!yamltree_failed (t))
        self->lead_assignment = pipeline_dup (t, assign, text);
cleanup:
    if (yamltree_failed (t))
        staff_destroy (&self);
    yamltree_destroy (&t);
    return self;
}

void
staff_destroy (staff_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    staff_t *self = *self_p;
    for (size_t i = 0; i < self->n_people; i++) {
        free (self->people[i].login);
        free (self->people[i].name);
        pipeline_strv_free (self->people[i].roles, self->people[i].n_roles);
        for (size_t j = 0; j < self->people[i].n_channels; j++) {
            staff_channel_t *ch = &self->people[i].channels[j];
            free (ch->url);
            free (ch->secret_env);
            free (ch->secret_file);
            free (ch->to);
        }
        free (self->people[i].channels);
    }
    free (self->people);
    free (self->path);
    free (self->time_zone);
    free (self->lead_assignment);
    free (self);
    *self_p = NULL;
}

const staff_person_t *
staff_find (const staff_t *self, const char *login)
{
    for (size_t i = 0; self && login && i < self->n_people; i++)
        if (strcmp (self->people[i].login, login) == 0)
            return &self->people[i];
    return NULL;
}

size_t
staff_holders (const staff_t *self, const char *role, const char **logins, size_t max)
{
    size_t count = 0;
    for (size_t i = 0; self && role && i < self->n_people; i++)
        if (s_holds (&self->people[i], role)) {
            if (logins && count < max)
                logins[count] = self->people[i].login;
            count++;
        }
    return count;
}

int
pipeline_setup (const char *path_var, const char *dflt, staff_t **staff_p, pipeline_t **pipeline_p, char *err,
                size_t err_size)
{
    *staff_p = NULL;
    *pipeline_p = NULL;
    staff_t *staff = staff_load (config_str ("CRM_STAFF_FILE", PIPELINE_STAFF_FILE),
                                 config_str ("CRM_TIME_ZONE", NULL), err, err_size);
    if (!staff)
        return -1;
    if (tz_init (staff->time_zone, err, err_size)) {
        staff_destroy (&staff);
        return -1;
    }
    if (path_var) {
        *pipeline_p = pipeline_load (config_str (path_var, dflt), staff, config_str ("CRM_DURATIONS", NULL),
                                     err, err_size);
        if (!*pipeline_p) {
            staff_destroy (&staff);
            return -1;
        }
    }
    *staff_p = staff;
    return 0;
}
