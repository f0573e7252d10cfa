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
#define INVALID(field, ...)                        \
    do {                                           \
        if (s_named (fields, n, field))            \
            break;                                 \
        if (n == 0)                                \
            snprintf (message, size, __VA_ARGS__); \
        if (n < LEAD_MAX_INVALID)                  \
            fields[n] = field;                     \
        n++;                                       \
    } while (0)

    const struct {
        const char *name;
        const char *value;
        size_t max;
    } texts[] = {
        {"source_system", lead->source_system, 100},
        {"external_id", lead->external_id, 200},
        {"name", lead->name, LEAD_FIELD_MAX},
        {"phone", lead->phone, 50},
        {"email", lead->email, 254},
        {"company", lead->company, LEAD_FIELD_MAX},
        {"comment", lead->comment, (size_t) 4 * LEAD_FIELD_MAX},
        {"responsible", lead->responsible, 100},
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

size_t
lead_phone_key (const char *phone, char *out, size_t size)
{
    size_t n = 0;
    for (const char *p = phone; *p; p++)
        if (*p >= '0' && *p <= '9' && n + 1 < size)
            out[n++] = *p;
    if (size)
        out[n < size ? n : size - 1] = 0;
    //  Russian numbers are written 8 XXX... at home and +7 XXX... abroad:
    //  one number either way.
    if (n == 11 && out[0] == '8')
        out[0] = '7';
    return n;
}

//  Appends the UTF-8 encoding of the BMP code point cp.
static size_t
s_put (char *out, size_t n, size_t size, unsigned cp)
{
    char buf[3];
    size_t len;
    if (cp < 0x80) {
        buf[0] = (char) cp;
        len = 1;
    }
    else if (cp < 0x800) {
        buf[0] = (char) (0xC0 | (cp >> 6));
        buf[1] = (char) (0x80 | (cp & 0x3F));
        len = 2;
    }
    else {
        buf[0] = (char) (0xE0 | (cp >> 12));
        buf[1] = (char) (0x80 | ((cp >> 6) & 0x3F));
        buf[2] = (char) (0x80 | (cp & 0x3F));
        len = 3;
    }
    if (n + len >= size)
        return n;
    memcpy (out + n, buf, len);
    return n + len;
}

size_t
lead_name_key (const char *name, char *out, size_t size)
{
    size_t n = 0;
    bool space = false;
    if (!size)
        return 0;
    const unsigned char *p = (const unsigned char *) name;
    while (*p) {
        size_t len = utf8_char ((const char *) p);
        unsigned cp = len == 0 ? 0x110000  // not UTF-8: kept as it is
                    : len == 1 ? p[0]
                    : len == 2 ? ((p[0] & 0x1Fu) << 6) | (p[1] & 0x3Fu)
                    : len == 3 ? ((p[0] & 0x0Fu) << 12) | ((p[1] & 0x3Fu) << 6) | (p[2] & 0x3Fu)
                               : 0x110000;
        if (cp == ' ' || cp == '\t' || cp == '\n' || cp == '\r' || cp == 0xA0) {
            space = n > 0;
            p += len;
            continue;
        }
        if (space)
            n = s_put (out, n, size, ' ');
        space = false;
        //  Lower case for the scripts a company's name is written in here:
        //  Latin and Cyrillic (А-Я, Ѐ-Џ); Ё is U+0401, in the second range.
        if (cp >= 'A' && cp <= 'Z')
            cp += 0x20;
        else if (cp >= 0x410 && cp <= 0x42F)
            cp += 0x20;
        else if (cp >= 0x400 && cp <= 0x40F)
            cp += 0x50;
        if (len == 0)
            len = 1;
        if (cp < 0x10000)
            n = s_put (out, n, size, cp);
        else if (n + len < size) {
            memcpy (out + n, p, len);
            n += len;
        }
        p += len;
    }
    out[n] = 0;
    return n;
}

size_t
lead_email_key (const char *email, char *out, size_t size)
{
    size_t n = 0;
    for (const char *p = email; *p && n + 1 < size; p++)
        out[n++] = *p >= 'A' && *p <= 'Z' ? (char) (*p + 0x20) : *p;
    if (size)
        out[n] = 0;
    return n;
}
