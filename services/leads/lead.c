/*  lead: see lead.h. */
#include "lead.h"
#include "utf8.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static bool
s_phone_ok (const char *phone)
{
    int digits = 0;
    for (const char *p = phone; *p; p++) {
        if (*p >= '0' && *p <= '9')
            digits++;
        else if (!strchr ("+-() .", *p))
            return false;
    }
    return digits >= 5 && digits <= 15;
}

static bool
s_email_ok (const char *email)
{
    const char *at = strchr (email, '@');
    return at && at > email && strchr (at + 1, '.') && !strchr (at + 1, '@') && !strpbrk (email, " \t<>");
}

static bool
s_named (const char **fields, int n, const char *field)
{
    for (int i = 0; i < n && i < LEAD_MAX_INVALID; i++)
        if (strcmp (fields[i], field) == 0)
            return true;
    return false;
}

int
lead_validate (const Crm__V1__LeadReceived *lead, const char **fields, char *message, size_t size)
{
    int n = 0;
    message[0] = 0;
//  Names each field once, with the first problem found in it.
#define INVALID(field, ...)                                 \
    do {                                                    \
        if (s_named (fields, n, field))                     \
            break;                                          \
        if (n == 0)                                         \
            snprintf (message, size, __VA_ARGS__);          \
        if (n < LEAD_MAX_INVALID)                           \
            fields[n] = field;                              \
        n++;                                                \
    } while (0)

    const struct {
        const char *name;
        const char *value;
        size_t max;
    } texts[] = {
        {"source_system", lead->source_system, 100}, {"external_id", lead->external_id, 200},
        {"name", lead->name, LEAD_FIELD_MAX},        {"phone", lead->phone, 50},
        {"email", lead->email, 254},                 {"company", lead->company, LEAD_FIELD_MAX},
        {"comment", lead->comment, (size_t) 4 * LEAD_FIELD_MAX}, {"responsible", lead->responsible, 100},
    };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        if (strlen (texts[i].value) > texts[i].max)
            INVALID (texts[i].name, "%s is longer than %zu bytes", texts[i].name, texts[i].max);
        else if (!utf8_valid (texts[i].value))
            INVALID (texts[i].name, "%s is not valid UTF-8", texts[i].name);
    }
    if (!*lead->source_system)
        INVALID ("source_system", "source_system is required");
    if (!*lead->external_id)
        INVALID ("external_id", "external_id is required");
    if (!*lead->name && !*lead->phone && !*lead->email) {
        INVALID ("name", "a lead needs a name, a phone or an email");
        INVALID ("phone", "a lead needs a name, a phone or an email");
        INVALID ("email", "a lead needs a name, a phone or an email");
    }
    if (*lead->phone && strlen (lead->phone) <= 50 && !s_phone_ok (lead->phone))
        INVALID ("phone", "phone must be 5 to 15 digits, with + - ( ) . or spaces");
    if (*lead->email && strlen (lead->email) <= 254 && !s_email_ok (lead->email))
        INVALID ("email", "email must look like name@example.com");
#undef INVALID
    return n;
}

void
lead_new_lead_text (char *buf, size_t size, uint64_t lead_id, const Crm__V1__LeadReceived *lead)
{
    //  "New lead #42: contact the client (name, phone, email, company)"
    int n = snprintf (buf, size, "Новый лид #%llu: свяжитесь с клиентом", (unsigned long long) lead_id);
    const char *parts[] = {lead->name, lead->phone, lead->email, lead->company};
    const char *sep = " (";
    for (size_t i = 0; i < 4 && n >= 0 && (size_t) n < size; i++)
        if (*parts[i]) {
            n += snprintf (buf + n, size - (size_t) n, "%s%s", sep, parts[i]);
            sep = ", ";
        }
    if (n >= 0 && (size_t) n < size && strcmp (sep, ", ") == 0)
        snprintf (buf + n, size - (size_t) n, ")");
    //  Cut between characters: a split Cyrillic letter is invalid UTF-8.
    size_t len = strlen (buf);
    buf[utf8_boundary (buf, len)] = 0;
}
