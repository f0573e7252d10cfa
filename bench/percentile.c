/*  percentile: see percentile.h. */
#include "percentile.h"

#include <stdlib.h>

static int
s_cmp (const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;
    return x < y ? -1 : x > y;
}

void
percentile_sort (double *values, size_t n)
{
    qsort (values, n, sizeof *values, s_cmp);
}

double
percentile_of (const double *sorted, size_t n, double p)
{
    if (n == 0)
        return 0;
    double exact = p * (double) n;
    size_t rank = (size_t) exact;
    if ((double) rank < exact)
        rank++;
    return sorted[rank < 1 ? 0 : rank > n ? n - 1 : rank - 1];
}
