#!/bin/sh
# Enables <codename>-backports from the same archive the image already uses,
# so no mirror host is ever written into a recipe.
# Usage: add-backports.sh [APT_DIR [CODENAME]]   (defaults: /etc/apt, from /etc/os-release)
set -eu

APT_DIR="${1:-/etc/apt}"
CODENAME="${2:-}"
if [ -z "$CODENAME" ] && [ -r /etc/os-release ]; then
    CODENAME=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
fi
if [ -z "$CODENAME" ]; then
    echo "add-backports: cannot tell the distribution codename (no VERSION_CODENAME in /etc/os-release)" >&2
    exit 1
fi

OUT="$APT_DIR/sources.list.d/interop-backports.list"
LINES=""

# One-line format: "deb [options] URI SUITE COMPONENT..." in sources.list(.d/*.list).
for f in "$APT_DIR/sources.list" "$APT_DIR"/sources.list.d/*.list; do
    [ -r "$f" ] || continue
    [ "$f" = "$OUT" ] && continue
    FOUND=$(awk -v suite="$CODENAME" '
        $1 == "deb" {
            opts = ""; i = 2
            if ($2 ~ /^\[/) {
                while (i <= NF) { opts = opts (opts == "" ? "" : " ") $i; if ($i ~ /\]$/) { i++; break } i++ }
            }
            uri = $i; s = $(i + 1)
            if (s == suite) print "deb " (opts == "" ? "" : opts " ") uri " " suite "-backports main"
        }' "$f")
    [ -n "$FOUND" ] && LINES="$LINES$FOUND
"
done

# deb822 format: stanzas with Types/URIs/Suites/Signed-By in sources.list.d/*.sources.
for f in "$APT_DIR"/sources.list.d/*.sources; do
    [ -r "$f" ] || continue
    FOUND=$(awk -v suite="$CODENAME" '
        function flush() {
            if (types ~ /(^| )deb( |$)/ && (" " suites " ") ~ (" " suite " ") && uris != "") {
                n = split(uris, u, " ")
                for (k = 1; k <= n; k++)
                    print "deb " (signed == "" ? "" : "[signed-by=" signed "] ") u[k] " " suite "-backports main"
            }
            types = ""; uris = ""; suites = ""; signed = ""
        }
        /^[ \t]*$/ { flush(); next }
        /^#/ { next }
        {
            key = $1; sub(/:$/, "", key); val = $0; sub(/^[^:]*:[ \t]*/, "", val)
            if (key == "Types") types = val
            else if (key == "URIs") uris = val
            else if (key == "Suites") suites = val
            else if (key == "Signed-By") signed = val
        }
        END { flush() }' "$f")
    [ -n "$FOUND" ] && LINES="$LINES$FOUND
"
done

# One line per archive: apt rejects one URI listed with conflicting options.
LINES=$(printf '%s' "$LINES" | awk 'NF && !seen[$(NF - 2)]++')
if [ -z "$LINES" ]; then
    echo "add-backports: no 'deb' source for suite $CODENAME in $APT_DIR, so there is no archive to take $CODENAME-backports from" >&2
    exit 1
fi
mkdir -p "$APT_DIR/sources.list.d"
printf '%s\n' "$LINES" > "$OUT"
echo "add-backports: wrote $OUT:"
cat "$OUT"
