#!/bin/sh
# Tocsin's database backup: one pg_dump -Fc of DATABASE_URL, then dumps older than
# TOCSIN_BACKUP_KEEP_DAYS deleted. Run nightly by tocsin-backup.timer (as tocsin, with
# /etc/tocsin/tocsin.env); README "Backups and restoring" has the restore steps.
# pg_dump must be the server's major version or newer (apt-get install postgresql-client-NN).
set -eu
dir="${TOCSIN_BACKUP_DIR:-/var/lib/tocsin/backups}"
keep="${TOCSIN_BACKUP_KEEP_DAYS:-14}"
case "$keep" in '' | *[!0-9]*) echo "TOCSIN_BACKUP_KEEP_DAYS must be a number of days" >&2; exit 2 ;; esac
umask 077
mkdir -p "$dir"
name="$dir/tocsin-$(date -u +%Y%m%dT%H%M%SZ).dump"
# Written aside, renamed when complete: a dump cut short by a crash never looks like a backup.
pg_dump --format=custom --no-owner --no-privileges --file="$name.partial" "$DATABASE_URL"
mv "$name.partial" "$name"
# Only after a good dump: a failing backup never deletes the last good ones.
find "$dir" -maxdepth 1 -name 'tocsin-*.dump' -mtime +"$keep" -delete
find "$dir" -maxdepth 1 -name 'tocsin-*.dump.partial' -mmin +1440 -delete
echo "backed up to $name"
