/*  procstat: CPU time and memory of a process (e.g. a Postgres backend, a
    service) as the kernel counts them, so that a bench can tell its own
    backend's work from the rest of the cluster's and report a service's
    peak memory.
*/
#ifndef CRM_BENCH_PROCSTAT_H
#define CRM_BENCH_PROCSTAT_H

#include "db.h"

/*  utime + stime of process pid from /proc/<pid>/stat, in ms; 0 if it is
    gone or unreadable. */
double procstat_cpu_ms (int pid);

/*  The pid of db's backend (SELECT pg_backend_pid ()), or 0 on error. */
int procstat_backend_pid (db_t *db);

/*  A field of /proc/<pid>/status given in kB, e.g. "VmHWM" (peak RSS) or
    "VmRSS"; -1 if the process is gone or the field unreadable. */
long procstat_kb (int pid, const char *field);

#endif
