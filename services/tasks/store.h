/*  store: every SQL statement of the tasks service, in one place. Each
    runs inside the caller's (the batch's) transaction.

    Reads return a result set (store_*_t) that owns the rows: the messages
    in it point into the PGresult, so a reply is packed straight from them;
    free it with the matching *_free. Every function returns DB_OK or the
    db error (DB_PERMANENT on out-of-memory).
*/
#ifndef CRM_TASKS_STORE_H
#define CRM_TASKS_STORE_H

#include "db.h"
#include "task.h"
#include "crm/v1/tasks.pb-c.h"

#include <stdbool.h>
#include <stdint.h>

extern const db_migration_t tasks_migrations[];
extern const int tasks_migrations_count;

typedef struct store_rows_t store_rows_t;

/*  Rows read by a listing (store_task_get and the others): count
    messages, through the member of the listing's type: tasks (store_task_get,
    store_task_list), comments (store_comments), attachments
    (store_attachments, store_attachment_get; data set only by the latter)
    or activities (store_activity_list). Free with store_list_free. */
typedef struct {
    size_t count;
    union {
        Crm__V1__Task **tasks;
        Crm__V1__Comment **comments;
        Crm__V1__Attachment **attachments;
        Crm__V1__Activity **activities;
    };
    store_rows_t *rows;
} store_list_t;

typedef store_list_t store_tasks_t;
typedef store_list_t store_comments_t;
typedef store_list_t store_attachments_t;
typedef store_list_t store_activities_t;

/*  Frees a listing and the rows it points into; nulls *self_p. Safe on
    NULL. */
void store_list_free (store_list_t **self_p);

/*  Inserts a task unless one with its (non-empty) request_key exists.
    Sets *id (the new task's or the existing one's) and *created. */
db_rc_t store_task_insert (db_t *db, const task_spec_t *spec, uint64_t *id, bool *created);

/*  Reads task id (count 0 if there is none); lock: FOR UPDATE, so that
    two completions of one task take turns. */
db_rc_t store_task_get (db_t *db, uint64_t id, bool lock, store_tasks_t **tasks_p);

/*  The tasks of user (responsible or co-executor; "" : everyone's), only
    open ones if open_only, of record ("" : any), newest first, at most
    limit. */
db_rc_t store_task_list (db_t *db, const char *user, bool open_only, const char *record, uint32_t limit,
                         store_tasks_t **tasks_p);

/*  Marks an open task completed by login; sets *completed_ms (ms UTC), or
    *done false if the task was not open. */
db_rc_t store_task_complete (db_t *db, uint64_t id, const char *by, bool *done, int64_t *completed_ms);

/*  Adds a comment by author to task id. */
db_rc_t store_comment_add (db_t *db, uint64_t id, const char *author, const char *text);

/*  The comments of task id, oldest first. */
db_rc_t store_comments (db_t *db, uint64_t id, store_comments_t **comments_p);

/*  Stores an attachment of task id: its bytes, their sha256 (hex) and who
    added it. content_type "" is stored as application/octet-stream. */
db_rc_t store_attachment_add (db_t *db, uint64_t id, const Crm__V1__AttachmentData *attachment,
                              const char *sha256, const char *added_by);

/*  The attachments of task id, by name, without their bytes. */
db_rc_t store_attachments (db_t *db, uint64_t id, store_attachments_t **attachments_p);

/*  The attachment name of task id with its bytes (count 0 if none). */
db_rc_t store_attachment_get (db_t *db, uint64_t id, const char *name, store_attachments_t **attachments_p);

/*  Creates or moves the activity of request->request_key (new title,
    time, responsible; planned again). */
db_rc_t store_activity_upsert (db_t *db, const Crm__V1__ActivityRequested *request);

/*  Cancels the activity of key if it is planned; *cancelled says so. */
db_rc_t store_activity_cancel (db_t *db, const char *key, bool *cancelled);

/*  The activities of user by time: planned ones, or all if include_done;
    at most limit. */
db_rc_t store_activity_list (db_t *db, const char *user, bool include_done, uint32_t limit,
                             store_activities_t **activities_p);

#endif
