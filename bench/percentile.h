/*  percentile: nearest-rank percentiles of latency samples, as the bus
    benches report them.
*/
#ifndef CRM_BENCH_PERCENTILE_H
#define CRM_BENCH_PERCENTILE_H

#include <stddef.h>

/*  Sorts values (n of them) in ascending order, in place. */
void percentile_sort (double *values, size_t n);

/*  The nearest-rank p-quantile (0 < p <= 1: the ceil (p * n)-th smallest)
    of sorted (n values, ascending); 0 when n is 0. */
double percentile_of (const double *sorted, size_t n, double p);

#endif
