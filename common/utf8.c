/*  utf8: see utf8.h. */
#include "utf8.h"

size_t
utf8_char (const char *s)
{
    const unsigned char *p = (const unsigned char *) s;
    unsigned c = p[0];
    if (c == 0)
        return 0;
    if (c < 0x80)
        return 1;
    size_t extra;
    unsigned cp, min;
    if ((c & 0xE0) == 0xC0)
        extra = 1, cp = c & 0x1F, min = 0x80;
    else if ((c & 0xF0) == 0xE0)
        extra = 2, cp = c & 0x0F, min = 0x800;
    else if ((c & 0xF8) == 0xF0)
        extra = 3, cp = c & 0x07, min = 0x10000;
    else
        return 0;
    for (size_t i = 1; i <= extra; i++) {
        if ((p[i] & 0xC0) != 0x80)     // also stops at the NUL
            return 0;
        cp = (cp << 6) | (p[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return extra + 1;
}

bool
utf8_valid (const char *s)
{
    while (*s) {
        //  Ids and types are ASCII: step over it a byte at a time without
        //  decoding (every event's envelope is checked).
        while ((unsigned char) *s - 1u < 0x7Fu)
            s++;
        if (!*s)
            break;
        size_t n = utf8_char (s);
        if (n == 0)
            return false;
        s += n;
    }
    return true;
}

char *
utf8_scrub (char *s)
{
    for (char *p = s; *p;) {
        size_t n = utf8_char (p);
        if (n == 0)
            *p++ = '?';
        else
            p += n;
    }
    return s;
}

size_t
utf8_boundary (const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *) s;
    size_t start = len;
    //  Step back over continuation bytes to the lead byte of the last char.
    while (start > 0 && (p[start - 1] & 0xC0) == 0x80 && len - start < 3)
        start--;
    if (start == 0)
        return len > 0 && (p[0] & 0xC0) == 0x80 ? 0 : len;
    unsigned lead = p[start - 1];
    size_t need = lead < 0x80 ? 1 : (lead & 0xE0) == 0xC0 ? 2 : (lead & 0xF0) == 0xE0 ? 3 : 4;
    return len - (start - 1) >= need ? len : start - 1;
}
