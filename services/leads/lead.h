/*  lead: the leads service's pure rules for an incoming lead: what makes it
    valid, and the keys that recognise its contact and company again.
    No sockets, no database: unit-tested in tests/unit/test_lead.c.
*/
#ifndef CRM_LEAD_H
#define CRM_LEAD_H

#include "crm/v1/leads.pb-c.h"

#include <stddef.h>
#include <stdint.h>

#define LEAD_FIELD_MAX 1000  // bytes per text field (comment: 4000)
#define LEAD_MAX_INVALID 9

/*  Checks a received lead. Returns the number of invalid fields (0: valid)
    and names them in fields (up to LEAD_MAX_INVALID pointers to static
    strings), with one sentence about the first in message (size bytes). */
int lead_validate (const Crm__V1__LeadReceived *lead, const char **fields, char *message, size_t size);

/*  The keys that find a contact or company again whatever way people wrote
    it, written into out (size bytes, NUL-terminated, cut if too short);
    each returns the key's length (0: no key, e.g. no phone).
    - phone: its digits only; 11 digits starting with 8 (a Russian number
      written the domestic way) start with 7 instead;
    - name: lower case (Latin and Cyrillic), spaces trimmed and collapsed;
    - email: lower case (ASCII). */
size_t lead_phone_key (const char *phone, char *out, size_t size);
size_t lead_name_key (const char *name, char *out, size_t size);
size_t lead_email_key (const char *email, char *out, size_t size);

#endif
