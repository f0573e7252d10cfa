/*  procstat: see procstat.h. */
#include "procstat.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

double
procstat_cpu_ms (int pid)
{
    char path[64];
    snprintf (path, sizeof path, "/proc/%d/stat", pid);
    FILE *f = fopen (path, "r");
    if (!f)
        return 0;
    char buf[1024];
    size_t n = fread (buf, 1, sizeof buf - 1, f);
    fclose (f);
    buf[n] = 0;
    char *p = strrchr (buf, ')');  // the command name may hold spaces and parentheses
    unsigned long utime = 0, stime = 0;
    //  proc(5): after the name, state ppid pgrp session tty_nr tpgid flags
    //  minflt cminflt majflt cmajflt, then utime and stime in clock ticks.
    if (!p || sscanf (p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime, &stime) != 2)
        return 0;
    return (double) (utime + stime) * 1000.0 / (double) sysconf (_SC_CLK_TCK);
}

int
procstat_backend_pid (db_t *db)
{
    PGresult *res = NULL;
    int pid = 0;
    if (db_exec (db, &res, "SELECT pg_backend_pid ()", 0, NULL, NULL, NULL) == DB_OK)
        pid = atoi (PQgetvalue (res, 0, 0));
    PQclear (res);
    return pid;
}

long
procstat_kb (int pid, const char *field)
{
    char path[64], line[256];
    snprintf (path, sizeof path, "/proc/%d/status", pid);
    FILE *f = fopen (path, "r");
    if (!f)
        return -1;
    long kb = -1;
    size_t len = strlen (field);
    while (fgets (line, sizeof line, f))
        if (strncmp (line, field, len) == 0 && line[len] == ':')
            kb = strtol (line + len + 1, NULL, 10);
    fclose (f);
    return kb;
}
