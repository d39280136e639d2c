#!/usr/bin/env bash
# persist-stores.sh INCOMING_DIR
#
# Merges INCOMING_DIR/<QUARTER>/*.db (shard stores, or what a report captured) into
# stores/<QUARTER>.db.xz on the evidence branch and pushes one commit. Several runs may
# persist at once (a capture and a report of the same quarter): a rejected push starts again
# from the branch's new tip, and since `soc2-audit merge` is idempotent and never lets an
# emptier row replace a fuller one, nothing captured by either run is lost.
#
# Needs: soc2-audit on PATH, xz, GH_TOKEN (contents: write), EVIDENCE_BRANCH, and GitHub's
# GITHUB_SERVER_URL / GITHUB_REPOSITORY / GITHUB_RUN_ID.
set -euo pipefail
incoming="$1"
limit=95000000 # GitHub refuses files over 100 MB
remote="${GITHUB_SERVER_URL}/${GITHUB_REPOSITORY}.git"
basic="$(printf 'x-access-token:%s' "$GH_TOKEN" | base64 -w0)"
echo "::add-mask::${basic}"
git_auth() { git -c http.extraheader="AUTHORIZATION: basic ${basic}" "$@"; }

quarters=()
for dir in "$incoming"/*/; do
  [ -d "$dir" ] && compgen -G "$dir*.db" > /dev/null && quarters+=("$(basename "$dir")")
done
if [ ${#quarters[@]} -eq 0 ]; then echo "no store to persist"; exit 0; fi

for attempt in 1 2 3 4 5; do
  rm -rf store
  if git_auth clone --quiet --depth 1 --filter=blob:none --sparse --branch "$EVIDENCE_BRANCH" "$remote" store; then
    git -C store sparse-checkout set --no-cone $(printf '/stores/%s.db.xz ' "${quarters[@]}")
  else
    git init --quiet --initial-branch "$EVIDENCE_BRANCH" store
  fi
  mkdir -p store/stores
  for quarter in "${quarters[@]}"; do
    merged="$RUNNER_TEMP/$quarter.db"
    rm -f "$merged"
    if [ -f "store/stores/$quarter.db.xz" ]; then xz -dc "store/stores/$quarter.db.xz" > "$merged"; fi
    summary="$(soc2-audit merge --into "$merged" "$incoming/$quarter"/*.db 2>&1)"
    echo "$summary"
    if [ -f "store/stores/$quarter.db.xz" ] && [[ "$summary" == *" 0 extractions, 0 rows added, 0 rows replaced"* ]]; then
      continue # nothing new: keep the stored file byte for byte
    fi
    xz -T0 -6 -c "$merged" > "store/stores/$quarter.db.xz"
    size="$(stat -c %s "store/stores/$quarter.db.xz")"
    echo "stores/$quarter.db.xz: $size bytes" >> "${GITHUB_STEP_SUMMARY:-/dev/null}"
    if [ "$size" -gt "$limit" ]; then
      echo "::error::stores/$quarter.db.xz is $size bytes; GitHub refuses files over 100 MB (README: Where the store lives)"
      exit 1
    fi
  done
  git -C store add stores
  if git -C store diff --cached --quiet; then echo "no new evidence"; exit 0; fi
  git -C store -c user.name="soc2-audit" -c user.email="41898282+github-actions[bot]@users.noreply.github.com" \
    commit --quiet -m "Evidence for ${quarters[*]}, run ${GITHUB_RUN_ID} attempt ${GITHUB_RUN_ATTEMPT:-1}"
  if git_auth -C store push --quiet "$remote" "HEAD:refs/heads/${EVIDENCE_BRANCH}"; then exit 0; fi
  echo "the evidence branch moved (another run persisted): merging again (attempt $attempt)"
  sleep $((attempt * 15))
done
echo "::error::could not push to ${EVIDENCE_BRANCH} after 5 attempts"
exit 1
