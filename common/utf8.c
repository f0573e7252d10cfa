/*  utf8: see utf8.h. */
#include "utf8.h"

bool
utf8_valid (const char *s)
{
    const unsigned char *p = (const unsigned char *) s;
    while (*p) {
        unsigned c = *p++;
        if (c < 0x80)
            continue;
        int extra;
        unsigned cp, min;
        if ((c & 0xE0) == 0xC0)
            extra = 1, cp = c & 0x1F, min = 0x80;
        else if ((c & 0xF0) == 0xE0)
            extra = 2, cp = c & 0x0F, min = 0x800;
        else if ((c & 0xF8) == 0xF0)
            extra = 3, cp = c & 0x07, min = 0x10000;
        else
            return false;
        for (int i = 0; i < extra; i++, p++) {
            if ((*p & 0xC0) != 0x80)
                return false;
            cp = (cp << 6) | (*p & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
    }
    return true;
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
