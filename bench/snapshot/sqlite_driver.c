// SQLite (third-party code, amalgamation from the better-sqlite3 npm package,
// fetched at bench time) as a WAGI handler: `wizer.initialize` loads 100k
// rows into an in-memory database with an index; `handle` runs one query.
// Built with SQLITE_OS_OTHER and the minimal VFS below: an in-memory
// database needs no files, only randomness, time and sleep.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sqlite3.h"

static int vfs_open(sqlite3_vfs* v, const char* name, sqlite3_file* f, int flags, int* out) {
  return SQLITE_CANTOPEN;
}
static int vfs_delete(sqlite3_vfs* v, const char* name, int sync) { return SQLITE_OK; }
static int vfs_access(sqlite3_vfs* v, const char* name, int flags, int* res) {
  *res = 0;
  return SQLITE_OK;
}
static int vfs_fullpath(sqlite3_vfs* v, const char* name, int n, char* out) {
  sqlite3_snprintf(n, out, "%s", name);
  return SQLITE_OK;
}
static int vfs_random(sqlite3_vfs* v, int n, char* out) {
  for (int i = 0; i < n; ++i) out[i] = (char)(rand() >> 7);
  return n;
}
static int vfs_sleep(sqlite3_vfs* v, int us) { return us; }
static int vfs_time(sqlite3_vfs* v, double* t) {
  *t = 2440587.5 + (double)time(NULL) / 86400.0;
  return SQLITE_OK;
}
static int vfs_error(sqlite3_vfs* v, int n, char* out) { return 0; }
static sqlite3_vfs mem_vfs = {1, 0, 256, NULL, "wink-mem", NULL, vfs_open, vfs_delete, vfs_access,
                              vfs_fullpath, NULL, NULL, NULL, NULL, vfs_random, vfs_sleep, vfs_time,
                              vfs_error};
int sqlite3_os_init(void) { return sqlite3_vfs_register(&mem_vfs, 1); }
int sqlite3_os_end(void) { return SQLITE_OK; }

static sqlite3* db;
static sqlite3_stmt* query;
static int ready;
void __wasilibc_deinitialize_environ(void);

static void die(const char* what) {
  fprintf(stderr, "%s: %s\n", what, db ? sqlite3_errmsg(db) : "?");
  abort();
}

static void init_db(void) {
  if (sqlite3_open(":memory:", &db) != SQLITE_OK) die("open");
  if (sqlite3_exec(db,
                   "CREATE TABLE items(id INTEGER PRIMARY KEY, category INTEGER, name TEXT, price REAL);"
                   "BEGIN;",
                   NULL, NULL, NULL) != SQLITE_OK)
    die("schema");
  sqlite3_stmt* ins;
  if (sqlite3_prepare_v2(db, "INSERT INTO items VALUES(?,?,?,?)", -1, &ins, NULL) != SQLITE_OK) die("prepare");
  char name[32];
  unsigned seed = 42;
  for (int i = 0; i < 100000; ++i) {
    seed = seed * 1103515245u + 12345u;
    snprintf(name, sizeof name, "item-%08x", seed);
    sqlite3_bind_int(ins, 1, i);
    sqlite3_bind_int(ins, 2, (int)(seed >> 8) % 1000);
    sqlite3_bind_text(ins, 3, name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_double(ins, 4, (double)((seed >> 4) % 100000) / 100.0);
    if (sqlite3_step(ins) != SQLITE_DONE) die("insert");
    sqlite3_reset(ins);
  }
  sqlite3_finalize(ins);
  if (sqlite3_exec(db, "COMMIT; CREATE INDEX items_cat ON items(category);", NULL, NULL, NULL) != SQLITE_OK)
    die("index");
  if (sqlite3_prepare_v2(db, "SELECT count(*), avg(price), max(name) FROM items WHERE category = ?", -1,
                         &query, NULL) != SQLITE_OK)
    die("query");
  ready = 1;
}

__attribute__((export_name("wizer.initialize"))) void wizer_initialize(void) {
  init_db();
  __wasilibc_deinitialize_environ();
}

__attribute__((export_name("handle"))) void handle(void) {
  if (!ready) init_db();
  const char* q = getenv("QUERY_STRING");
  int cat = q && *q ? atoi(q) : 7;
  sqlite3_reset(query);
  sqlite3_bind_int(query, 1, cat);
  if (sqlite3_step(query) != SQLITE_ROW) die("step");
  printf("Content-Type: text/plain\n\ncategory=%d count=%d avg=%.2f max=%s\n", cat, sqlite3_column_int(query, 0),
         sqlite3_column_double(query, 1), (const char*)sqlite3_column_text(query, 2));
  fflush(stdout);
}
