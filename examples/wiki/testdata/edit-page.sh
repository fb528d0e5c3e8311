#!/bin/sh
# Used by integration/wiki_test.go, run inside the wiki container:
#   edit-page.sh USER PASSWORD TITLE TEXT
# logs in through MediaWiki's API and creates (or replaces) a page, as a client would.
set -eu
user=$1 pass=$2 title=$3 text=$4
api=http://127.0.0.1/mediawiki/api.php
jar=$(mktemp)
trap 'rm -f "$jar"' EXIT
json() { php -r '$d = json_decode(file_get_contents("php://stdin"), true); $v = $d; foreach (array_slice($argv, 1) as $k) { $v = $v[$k] ?? null; } if ($v === null) { fwrite(STDERR, "no " . implode(".", array_slice($argv, 1)) . " in " . json_encode($d) . "\n"); exit(1); } echo $v;' "$@"; }

logintoken=$(curl -fsS -c "$jar" -b "$jar" "$api?action=query&meta=tokens&type=login&format=json" | json query tokens logintoken)
result=$(curl -fsS -c "$jar" -b "$jar" "$api" --data-urlencode action=login --data-urlencode format=json \
	--data-urlencode "lgname=$user" --data-urlencode "lgpassword=$pass" --data-urlencode "lgtoken=$logintoken" | json login result)
[ "$result" = Success ] || { echo "login failed: $result" >&2; exit 1; }
csrf=$(curl -fsS -c "$jar" -b "$jar" "$api?action=query&meta=tokens&format=json" | json query tokens csrftoken)
edit=$(curl -fsS -c "$jar" -b "$jar" "$api" --data-urlencode action=edit --data-urlencode format=json \
	--data-urlencode "title=$title" --data-urlencode "text=$text" --data-urlencode "token=$csrf" | json edit result)
[ "$edit" = Success ] || { echo "edit failed: $edit" >&2; exit 1; }
echo "edited $title"

# With a fifth argument, also upload that file (as File:<its name>) into the wiki's uploads.
if [ $# -ge 5 ]; then
	up=$(curl -fsS -c "$jar" -b "$jar" "$api" -F action=upload -F format=json -F ignorewarnings=1 \
		-F "filename=${5##*/}" -F "file=@$5" -F "token=$csrf" | json upload result)
	[ "$up" = Success ] || { echo "upload failed: $up" >&2; exit 1; }
	echo "uploaded ${5##*/}"
fi
