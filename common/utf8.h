/*  utf8: strict UTF-8 checks, for the texts people and other systems send
    (Cyrillic throughout). PostgreSQL refuses invalid UTF-8, so input is
    checked at the edge and texts are cut only between characters.
    Definition: RFC 3629, section 4 (no overlong forms, no surrogates,
    nothing above U+10FFFF).
*/
#ifndef CRM_UTF8_H
#define CRM_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/*  Length in bytes (1 to 4) of the well-formed character at s, or 0 if the
    bytes there are not one (or s is at its NUL). */
size_t utf8_char (const char *s);

/*  true when the NUL-terminated s is well-formed UTF-8. */
bool utf8_valid (const char *s);

/*  Replaces, in place, every byte of s that is not part of a well-formed
    character with '?', so that s can be stored and logged. Returns s. */
char *utf8_scrub (char *s);

/*  Length of the longest prefix of s[0..len) that ends on a character
    boundary: cutting there never splits a character. */
size_t utf8_boundary (const char *s, size_t len);

#endif
