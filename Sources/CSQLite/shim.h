#ifndef REARVIEW_CSQLITE_SHIM_H
#define REARVIEW_CSQLITE_SHIM_H
#include <sqlite3.h>

/* GRDB opens the index; these are the few SQLite calls rearview adds, for opening an index that may
   come from a compromised host. Names are prefixed; result codes are SQLite's. */

/* sqlite3_db_config(db, SQLITE_DBCONFIG_DEFENSIVE, 1, 0): variadic, so Swift cannot call it. */
static inline int rearview_sqlite3_enable_defensive(sqlite3 *db) {
    return sqlite3_db_config(db, SQLITE_DBCONFIG_DEFENSIVE, 1, (int *)0);
}

/* Extended result codes Swift does not import (macros built from other macros). */
static const int rearview_sqlite3_ok_symlink = SQLITE_OK_SYMLINK;
static const int rearview_sqlite3_cantopen_symlink = SQLITE_CANTOPEN_SYMLINK;
#endif
