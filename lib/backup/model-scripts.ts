/**
 * The model files of seed 002 §11.2 (模型文件备份：定期备份到对象存储): the model volume archived to
 * object storage and fetched back onto an empty volume. The archive is a folder
 * `<prefix>/models/<id>/` in the layout of the logical backups (`logical-scripts.ts`), so their
 * verified upload, retention and fetch are reused as they are:
 * - `models.tar`: the volume's files (uncompressed: model weights do not compress, and tar
 *   `--compare` can then check the archive against the volume),
 * - `models.sha256`: every file's checksum, relative to the volume, checked again after a restore,
 * - `SHA256SUMS`: checksums of both, uploaded last by UPLOAD_SCRIPT.
 * These steps run in the postgres image (Debian: GNU tar, sha256sum, bash), uid 999.
 */
import { S3_HELPERS, scriptPrelude } from './logical-scripts';

/** The backup scripts' prelude, and a helper: what a volume holds, without the filesystem's own lost+found. */
function prelude(name: string): string {
  return `${scriptPrelude(name, 'lib/backup/model-scripts.ts')}# What a volume holds, without the filesystem's own lost+found.
volume_files() { find "$1" -mindepth 1 -maxdepth 1 ! -name lost+found -print -quit; }
`;
}

/**
 * Step 1 of the model backup: archive MODEL_DIR into `$BACKUP_DIR/<id>/`, compare the archive
 * with the volume (a file that changed or could not be read fails the backup), checksum it. An
 * empty volume is refused: uploading it would make the newest backup an empty one.
 * Env: MODEL_DIR, BACKUP_DIR; BACKUP_ID optional.
 */
export const MODEL_ARCHIVE_SCRIPT = `${prelude('model-archive')}: "\${MODEL_DIR:?MODEL_DIR is not set}" "\${BACKUP_DIR:?BACKUP_DIR is not set}"
id="\${BACKUP_ID:-$(date -u +%Y%m%dT%H%M%SZ)}"
[[ "$id" =~ ^[0-9]{8}T[0-9]{6}Z$ ]] || fail "BACKUP_ID '$id' is not a UTC time like 20261125T020000Z"
[[ -n "$(volume_files "$MODEL_DIR")" ]] || fail "$MODEL_DIR is empty: nothing to back up (an empty archive would become the newest backup)"
out="$BACKUP_DIR/$id"
mkdir -p "$out"
(cd "$MODEL_DIR" && find . -path ./lost+found -prune -o -type f -print0 | sort -z | xargs -0 -r sha256sum) > "$out/models.sha256" \\
  || fail "could not checksum the files of $MODEL_DIR"
tar --create --file "$out/models.tar" --directory "$MODEL_DIR" --sort=name --exclude=./lost+found . || fail "tar of $MODEL_DIR failed"
# Reads the whole archive back and compares every member with the volume.
tar --compare --file "$out/models.tar" --directory "$MODEL_DIR" >&2 || fail "the archive does not match $MODEL_DIR (a file changed while it was archived?)"
(cd "$out" && sha256sum models.tar models.sha256 > SHA256SUMS)
printf '%s\\n' "$id" > "$BACKUP_DIR/BACKUP_ID"
log "archived $(wc -l < "$out/models.sha256") files of $MODEL_DIR, $(du -h "$out/models.tar" | cut -f1); verified"
`;

/**
 * Step 1 of the restore (aws-cli image), before FETCH_SCRIPT: a volume that holds files is left
 * alone (the restore Job runs on every install and must never overwrite live models); only an
 * empty one is filled. Env: MODEL_DIR, BACKUP_DIR, and FETCH_SCRIPT's.
 */
export const MODEL_FETCH_IF_EMPTY_SCRIPT = `${prelude('model-fetch')}: "\${MODEL_DIR:?MODEL_DIR is not set}" "\${BACKUP_DIR:?BACKUP_DIR is not set}"
if [[ -n "$(volume_files "$MODEL_DIR")" ]]; then
  log "$MODEL_DIR already holds model files: nothing to restore"
  touch "$BACKUP_DIR/NOT_EMPTY"
  exit 0
fi
# A new site has no archive yet (the backup refuses an empty volume, so none can exist before the
# first models are placed): the Job runs on every install, and failing it would fail the install.
${S3_HELPERS}if [[ "\${BACKUP_ID:-latest}" == latest ]]; then
  objects=$(list_objects) || fail "cannot list $base/"
  if [[ -z "$(complete_in "$objects")" ]]; then
    log "$MODEL_DIR is empty and $base/ holds no complete archive yet (a new site): nothing to restore"
    touch "$BACKUP_DIR/NOTHING_TO_RESTORE"
    exit 0
  fi
fi
log "$MODEL_DIR is empty: fetching the model files"
exec bash "$(dirname "$0")/fetch.sh"
`;

/**
 * Step 2 of the restore (postgres image): unpack the fetched archive into the empty MODEL_DIR and
 * check every file against `models.sha256`. Env: MODEL_DIR, BACKUP_DIR.
 */
export const MODEL_UNPACK_SCRIPT = `${prelude('model-unpack')}: "\${MODEL_DIR:?MODEL_DIR is not set}" "\${BACKUP_DIR:?BACKUP_DIR is not set}"
[[ ! -e "$BACKUP_DIR/NOT_EMPTY" ]] || { log "the volume was not empty: nothing restored"; exit 0; }
[[ ! -e "$BACKUP_DIR/NOTHING_TO_RESTORE" ]] || { log "no archive to restore yet: the volume stays empty"; exit 0; }
id=$(cat "$BACKUP_DIR/BACKUP_ID") || fail "no fetched archive in $BACKUP_DIR"
src="$BACKUP_DIR/$id"
(cd "$src" && sha256sum --check --quiet SHA256SUMS) || fail "archive $id is corrupt: its files do not match SHA256SUMS; nothing restored"
[[ -z "$(volume_files "$MODEL_DIR")" ]] || fail "$MODEL_DIR filled up while the archive was fetched; nothing restored"
tar --extract --file "$src/models.tar" --directory "$MODEL_DIR" --no-same-owner || fail "unpacking $id into $MODEL_DIR failed"
(cd "$MODEL_DIR" && sha256sum --check --quiet "$src/models.sha256") || fail "the files unpacked into $MODEL_DIR do not match the checksums of $id"
log "restored $(wc -l < "$src/models.sha256") model files of $id into $MODEL_DIR; checksums match"
`;
