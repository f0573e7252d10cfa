/*  procstat: CPU time of a process (e.g. a Postgres backend) as the kernel
    counts it, so that a bench can tell its own backend's work from the
    rest of the cluster's.
*/
#ifndef CRM_BENCH_PROCSTAT_H
#define CRM_BENCH_PROCSTAT_H

#include "db.h"

/*  utime + stime of process pid from /proc/<pid>/stat, in ms; 0 if it is
    gone or unreadable. */
double procstat_cpu_ms (int pid);

/*  The pid of db's backend (SELECT pg_backend_pid ()), or 0 on error. */
int procstat_backend_pid (db_t *db);

#endif
